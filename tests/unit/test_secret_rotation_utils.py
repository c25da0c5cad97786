"""Unit tests of the secret rotation logic that needs no cluster: schedules, keyed fingerprints,
redaction, JWT key ids (RFC 7638 vector) and the Redis ACL steps against a real redis-server."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from ansible_collections.agentic.platform.plugins.module_utils.secret_rotation import common, jwt_keys
from ansible_collections.agentic.platform.plugins.module_utils.secret_rotation.audit import (
    append_jsonl,
    assert_no_values,
)
from ansible_collections.agentic.platform.plugins.module_utils.secret_rotation.engine import Options
from ansible_collections.agentic.platform.plugins.module_utils.secret_rotation.redis_acl import (
    RedisAcl,
    RedisEndpoint,
)

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))

NOW = dt.datetime(2026, 11, 26, 12, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(("schedule", "age_days", "due"), [
    ("daily", 0.5, False), ("daily", 1, True), ("weekly", 6.9, False), ("weekly", 7, True),
    ("monthly", 29, False), ("monthly", 30, True), ("quarterly", 89, False), ("quarterly", 91, True),
])
def test_schedule_decides_due(schedule, age_days, due):
    got, next_due = common.is_due(schedule, NOW - dt.timedelta(days=age_days), NOW)
    assert got is due
    assert next_due == NOW - dt.timedelta(days=age_days) + common.SCHEDULES[schedule]


def test_never_rotated_is_due_and_unknown_schedule_is_named():
    assert common.is_due("monthly", None, NOW) == (True, None)
    with pytest.raises(common.RotationError, match="'hourly' is not one of daily, weekly, monthly, quarterly"):
        common.is_due("hourly", NOW, NOW)


def test_fingerprint_is_keyed_not_a_plain_hash():
    value = "hunter22"
    fp1, fp2 = common.fingerprint(b"key-one", value), common.fingerprint(b"key-two", value)
    assert fp1 != fp2 and fp1.startswith("hmac-sha256:")
    assert hashlib.sha256(value.encode()).hexdigest()[:32] not in fp1
    assert common.fingerprint(b"key-one", value) == fp1
    assert common.fingerprint(None, value) is None


def test_redact_plain_and_base64_forms_but_not_short_words():
    secret = "s3cr3t-value-xyz"
    text = f"ERR modifier '<{secret}' and {common.b64(secret)} from user agent"
    out = common.redact(text, [secret, "agent"])
    assert secret not in out and common.b64(secret) not in out and "user agent" in out


def test_audit_guard_refuses_a_record_holding_a_value(tmp_path):
    with pytest.raises(common.RotationError, match="would contain a secret value"):
        assert_no_values({"message": "pw is 0123456789abcdef"}, ["0123456789abcdef"])
    path = tmp_path / "sub" / "audit.jsonl"
    append_jsonl(str(path), {"a": 1})
    append_jsonl(str(path), {"a": 2})
    assert [json.loads(x)["a"] for x in path.read_text().splitlines()] == [1, 2]
    assert oct(path.stat().st_mode & 0o777) == "0o600"


def test_audit_guard_catches_multi_line_values_json_escaped():
    """A PEM appears in a JSON record with its newlines escaped; each body line is secret too."""
    pem = jwt_keys.generate("ES256")[0]
    assert "\n" in pem
    for leaked in (pem, pem.splitlines()[1]):
        with pytest.raises(common.RotationError, match="would contain a secret value"):
            assert_no_values({"message": f"bad key {leaked}"}, [pem])
    assert pem.splitlines()[1] not in common.redact(json.dumps({"m": pem}), [pem])
    assert_no_values({"message": "-----BEGIN PRIVATE KEY----- is a header, not a value"}, [pem])


def test_audit_log_is_never_written_through_a_symlink_and_is_reset_to_owner_only(tmp_path):
    target = tmp_path / "elsewhere.txt"
    target.write_text("not an audit log\n")
    link = tmp_path / "audit.jsonl"
    link.symlink_to(target)
    with pytest.raises(OSError):
        append_jsonl(str(link), {"a": 1})
    assert target.read_text() == "not an audit log\n"
    loose = tmp_path / "loose.jsonl"
    loose.write_text("")
    loose.chmod(0o644)
    append_jsonl(str(loose), {"a": 1})
    assert oct(loose.stat().st_mode & 0o777) == "0o600"
    fifo = tmp_path / "fifo.jsonl"
    os.mkfifo(fifo)
    with pytest.raises(OSError):  # at once, not blocked waiting for a reader
        append_jsonl(str(fifo), {"a": 1})


def test_binary_secret_values_round_trip():
    raw = b"\x00\xff\xfe binary \x80 keystore"
    encoded = base64.b64encode(raw).decode()
    value = common.unb64(encoded)
    assert common.b64(value) == encoded and not common.is_text(value) and common.is_text("text ok")
    assert common.fingerprint(b"k", value) == common.fingerprint(b"k", raw)
    assert "********" in common.redact(f"got {value}!", [value])


def test_annotation_names_and_their_limits():
    assert common.annotation_names("redis-password") == (
        "rotation.agentic.platform/redis-password", "rotation.agentic.platform/redis-password.last-rotated")
    with pytest.raises(common.RotationError, match="cannot name an annotation"):
        common.annotation_names("bad key!")


def test_options_validation_names_the_problem():
    with pytest.raises(common.RotationError, match="kind 'ldap' is not one of redis, jwt, external"):
        Options(namespace="n", kind="ldap")
    with pytest.raises(common.RotationError, match="key is required for kind=external"):
        Options(namespace="n", kind="external")
    with pytest.raises(common.RotationError, match="redis_host is required"):
        Options(namespace="n", kind="redis")
    assert Options(namespace="n", kind="jwt").key == "jwt"
    with pytest.raises(common.RotationError, match="deployments is empty"):
        Options(namespace="n", kind="jwt", deployments=[])


@pytest.mark.parametrize("key", ["redis-password", "redis-password-next", "redis-password-previous",
                                 "redis-admin-password", "jwt-private-key", "jwt-next-kid", "llm-key-previous"])
def test_external_kind_refuses_the_keys_of_the_other_kinds_and_their_slots(key):
    with pytest.raises(common.RotationError, match=f"kind=external cannot rotate key '{key}'"):
        Options(namespace="n", kind="external", key=key, new_value="x" * 20)
    assert Options(namespace="n", kind="external", key="openai-api-key").key == "openai-api-key"


def test_jwk_thumbprint_matches_rfc7638_example():
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    n_b64 = ("0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPeb"
             "WKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAta"
             "Sqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-"
             "G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw")
    import base64

    n = int.from_bytes(base64.urlsafe_b64decode(n_b64 + "=" * (-len(n_b64) % 4)), "big")
    pem = rsa.RSAPublicNumbers(65537, n).public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    assert jwt_keys.kid_of(pem) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


@pytest.mark.parametrize("alg", ["ES256", "RS256"])
def test_generated_keys_publish_in_jwks_in_slot_order(alg):
    priv1, pub1 = jwt_keys.generate(alg, rsa_bits=2048)
    _priv2, pub2 = jwt_keys.generate(alg, rsa_bits=2048)
    assert jwt_keys.public_from_private(priv1) == pub1
    doc = json.loads(jwt_keys.jwks(pub2, pub1, None))
    assert [k["kid"] for k in doc["keys"]] == [jwt_keys.kid_of(pub2), jwt_keys.kid_of(pub1)]
    assert all(k["alg"] == alg and k["use"] == "sig" for k in doc["keys"])
    assert "PRIVATE" not in json.dumps(doc) and "d" not in doc["keys"][0]


def test_algorithm_of_an_existing_key_is_kept():
    _ec_private, ec_pub = jwt_keys.generate("ES256")
    _rsa_private, rsa_pub = jwt_keys.generate("RS256", rsa_bits=2048)
    assert jwt_keys.algorithm_of(ec_pub) == ("ES256", 0)
    assert jwt_keys.algorithm_of(rsa_pub) == ("RS256", 2048)


def test_fault_hook_kills_only_at_the_named_boundary():
    code = ("import sys; sys.path.insert(0, '.collections');"
            "from ansible_collections.agentic.platform.plugins.module_utils.secret_rotation.common import fault_hook;"
            "fault_hook('staged'); fault_hook('acl-added', recorded=False); print('survived')")
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, common.FAULT_ENV: "acl-added!"}
    res = subprocess.run([sys.executable, "-c", code], cwd=root, env=env, capture_output=True, text=True, check=False)
    assert res.returncode == -9 and "survived" not in res.stdout
    env[common.FAULT_ENV] = "rolled"
    res = subprocess.run([sys.executable, "-c", code], cwd=root, env=env, capture_output=True, text=True, check=False)
    assert res.returncode == 0 and "survived" in res.stdout


@pytest.fixture
def redis_server(tmp_path):
    from rotation_support import RedisServer

    srv = RedisServer(tmp_path / "redis", "admin-pass-0123456789", "old-pass-0123456789").start()
    yield srv
    srv.stop()


def test_redis_acl_two_passwords_then_old_removed(redis_server):
    acl = RedisAcl(RedisEndpoint("127.0.0.1", redis_server.port, admin_password="admin-pass-0123456789"))
    old, new = "old-pass-0123456789", "new-pass-9876543210"
    assert acl.authenticates(old) and not acl.authenticates(new)
    acl.add_password(new)
    acl.add_password(new)  # idempotent
    assert acl.authenticates(old) and acl.authenticates(new)
    assert acl.remove_password(old) is True
    assert acl.remove_password(old) is False  # already gone: no error
    assert not acl.authenticates(old) and acl.authenticates(new)
    # ACL SAVE persisted it: a restart keeps the new password only
    redis_server.stop()
    redis_server.start()
    assert redis_server.agent_accepts(new) and not redis_server.agent_accepts(old)


def test_redis_errors_are_clear_and_never_hold_a_value(redis_server):
    bad = RedisAcl(RedisEndpoint("127.0.0.1", redis_server.port, admin_password="wrong-admin-password"))
    with pytest.raises(common.RotationError) as err:
        bad.add_password("never-shown-password-1")
    assert "authenticating as admin user 'admin'" in str(err.value)
    assert "never-shown-password-1" not in str(err.value) and "wrong-admin-password" not in str(err.value)
    from rotation_support import free_port

    port = free_port()
    closed = RedisAcl(RedisEndpoint("127.0.0.1", port, admin_password="x"))
    with pytest.raises(common.RotationError, match=f"Redis at 127.0.0.1:{port}: connecting"):
        closed.ping_admin()

"""Plain-Python logic behind the namespace and secrets roles: quantities, data plan, fingerprints."""

from __future__ import annotations

import base64

import pytest
from ansible_collections.agentic.platform.plugins.filter.k8s_quantity import parse_quantity
from ansible_collections.agentic.platform.plugins.module_utils import secret_data, secret_fingerprint
from ansible_collections.agentic.platform.plugins.module_utils.inputs.secrets import json_object

GROUPS = {"redis-password": ["redis-password"], "jwt": ["jwt-private-key", "jwt-public-key"]}


@pytest.mark.parametrize(("text", "value"), [
    ("100", 100.0), ("250m", 0.25), ("400Gi", 400 * 2**30), ("1e3", 1000.0), ("1.5", 1.5), ("2k", 2000.0),
    ("-5", -5.0), (20, 20.0), ("0", 0.0), ("1E30", 1e30),
])
def test_quantities_parse(text, value):
    assert parse_quantity(text) == pytest.approx(value)


@pytest.mark.parametrize("text", ["lots", "", "1Gb", "1 Gi", "Gi", None, True, [1], "1e", "0x10"])
def test_non_quantities_are_none(text):
    assert parse_quantity(text) is None


def test_json_object_accepts_only_objects():
    assert json_object('{"type": "service_account"}') == {"type": "service_account"}
    assert json_object("[1]") is None and json_object("not json") is None and json_object(None) is None


def test_first_run_generates_every_group_nobody_gave():
    assert secret_data.plan(GROUPS, {"redis-password": "", "jwt-private-key": "", "jwt-public-key": ""}, {}) \
        == ["redis-password", "jwt"]


def test_values_in_the_cluster_are_reused_never_regenerated():
    existing = {"redis-password": "from-cluster", "jwt-private-key": "k", "jwt-public-key": "p"}
    given = {"openai-api-key": "sk", "redis-password": "", "jwt-private-key": "", "jwt-public-key": ""}
    assert secret_data.plan(GROUPS, given, existing) == []
    out = secret_data.assemble(GROUPS, given, existing, {}, [], ["openai-api-key"])
    assert out == {"data": {"openai-api-key": "sk", "redis-password": "from-cluster", "jwt-private-key": "k",
                            "jwt-public-key": "p"}, "kept": [], "generated": []}


def test_inventory_wins_over_the_cluster():
    given = {"redis-password": "given-password-1234", "jwt-private-key": "", "jwt-public-key": ""}
    existing = {"redis-password": "old", "jwt-private-key": "k", "jwt-public-key": "p"}
    out = secret_data.assemble(GROUPS, given, existing, {}, [], [])
    assert out["data"]["redis-password"] == "given-password-1234"


def test_a_half_present_group_is_generated_whole():
    existing = {"jwt-private-key": "k"}
    given = {"redis-password": "x" * 20, "jwt-private-key": "", "jwt-public-key": ""}
    assert secret_data.plan(GROUPS, given, existing) == ["jwt"]
    out = secret_data.assemble(GROUPS, given, existing, {"jwt-private-key": "k2", "jwt-public-key": "p2"})
    assert out["data"]["jwt-private-key"] == "k2" and out["generated"] == ["jwt-private-key", "jwt-public-key"]


def test_sealed_keys_are_kept_not_regenerated():
    given = {"redis-password": "", "jwt-private-key": "", "jwt-public-key": ""}
    sealed = ["redis-password", "jwt-private-key", "jwt-public-key"]
    assert secret_data.plan(GROUPS, given, {}, sealed) == []
    out = secret_data.assemble(GROUPS, given, {}, {}, sealed, [])
    assert out == {"data": {}, "kept": sorted(sealed), "generated": []}


def test_assemble_refuses_a_missing_generated_value():
    with pytest.raises(ValueError, match="redis-password"):
        secret_data.assemble(GROUPS, {}, {}, {"jwt-private-key": "k", "jwt-public-key": "p"})


def test_b64decode_values():
    assert secret_data.b64decode_values({"a": base64.b64encode(b"v").decode()}) == {"a": "v"}
    assert secret_data.b64decode_values(None) == {}


def test_secrets_version_is_keyed_and_changes_with_any_value():
    data = {"redis-admin-password": "A" * 32, "openai-api-key": "sk-1"}
    version = secret_fingerprint.secrets_version(data)
    assert len(version) == 16 and version == secret_fingerprint.secrets_version(dict(reversed(data.items())))
    assert secret_fingerprint.secrets_version({**data, "openai-api-key": "sk-2"}) != version
    # keyed: the same other values under another key give another version
    assert secret_fingerprint.secrets_version({**data, "redis-admin-password": "B" * 32}) != version
    assert "sk-1" not in version
    with pytest.raises(ValueError):
        secret_fingerprint.secrets_version({"openai-api-key": "sk"})


def test_sealed_fingerprint_matches_only_the_same_data():
    data = {"values": {"openai-api-key": "sk-1"}, "opaque": ["redis-password"]}
    stored = secret_fingerprint.sealed_fingerprint(data)
    assert stored.startswith("scrypt$") and "sk-1" not in stored
    assert secret_fingerprint.sealed_fingerprint_matches(data, stored)
    assert not secret_fingerprint.sealed_fingerprint_matches({**data, "opaque": []}, stored)
    assert not secret_fingerprint.sealed_fingerprint_matches({"values": {"openai-api-key": "sk-2"},
                                                              "opaque": ["redis-password"]}, stored)
    assert secret_fingerprint.sealed_fingerprint(data) != stored  # a fresh salt each time
    for bad in (None, "", "md5$x$y", "scrypt$!!$x", "scrypt$only"):
        assert not secret_fingerprint.sealed_fingerprint_matches(data, bad)


def test_rotation_conflicts_name_variables_never_values():
    from ansible_collections.agentic.platform.plugins.module_utils.secret_data import rotation_conflicts

    annotations = {"rotation.agentic.platform/redis-password.last-rotated": "2026-11-01T00:00:00Z",
                   "rotation.agentic.platform/jwt.last-rotated": "2026-11-02T00:00:00Z",
                   "rotation.agentic.platform/redis-password": "{}"}
    existing = {"redis-password": "rotated-value", "jwt-private-key": "k2", "openai-api-key": "o1"}
    key_vars = {"redis-password": "secrets_redis_password", "jwt-private-key": "secrets_jwt_private_key",
                "openai-api-key": "secrets_openai_api_key"}
    given = {"redis-password": "old-value", "jwt-private-key": "k1", "openai-api-key": "o2"}
    conflicts = rotation_conflicts(annotations, existing, given, key_vars)
    assert conflicts == ["secrets_jwt_private_key (key jwt-private-key, rotated 2026-11-02T00:00:00Z)",
                         "secrets_redis_password (key redis-password, rotated 2026-11-01T00:00:00Z)"]
    assert "old-value" not in str(conflicts) and "rotated-value" not in str(conflicts)
    # the same value, an empty inventory value, or no rotation: no conflict
    assert rotation_conflicts(annotations, existing, dict(given, **{"redis-password": "rotated-value",
                                                                    "jwt-private-key": ""}), key_vars) == []
    assert rotation_conflicts({}, existing, given, key_vars) == []

"""Secret rotation against real components: the local cluster (Secret, a kwok-run mcp-agent
Deployment that the controller-manager really rolls), a real redis-server on loopback with an
ACL file, and ansible-playbook playbooks/rotate_secrets.yml as an operator runs it."""

from __future__ import annotations

import base64
import json
import secrets
import sys
import time
from pathlib import Path

import pytest
from kubernetes import client as k8s

sys.path.insert(0, str(Path(__file__).resolve().parent))

from rotation_support import (
    ClientLoad,
    KubeletSync,
    RedisServer,
    api_client,
    create_agent_deployment,
    create_secret,
    free_port,
    read_secret,
    recap,
    rotation_state,
    run_playbook,
    wait_deployment_available,
)

pytestmark = pytest.mark.cluster

REDIS_ONLY = {"rotation_jwt_enabled": False}


class Env:
    """One test's world: namespace, Secret, Deployment, redis-server, audit file."""

    def __init__(self, namespace: str, tmp: Path, replicas: int = 3, secret_extra: dict | None = None):
        self.ns, self.tmp = namespace, tmp
        self.api = api_client()
        self.admin_password = "adm-" + secrets.token_urlsafe(24)
        self.first_password = "agt-" + secrets.token_urlsafe(24)
        self.redis = RedisServer(tmp / "redis", self.admin_password, self.first_password).start()
        self.audit = tmp / "audit" / "rotation.jsonl"
        data = {"redis-password": self.first_password, "redis-admin-password": self.admin_password}
        data.update(secret_extra or {})
        create_secret(self.api, namespace, data)
        create_agent_deployment(self.api, namespace, replicas)
        wait_deployment_available(self.api, namespace)
        self.values_seen: set[str] = set(data.values())

    def play(self, *extra: str, extra_vars: dict | None = None, **kw):
        res = run_playbook(self.ns, self.redis.port, self.audit, *extra,
                           extra_vars={**REDIS_ONLY, **(extra_vars or {})}, **kw)
        self.remember_secret()
        return res

    def secret(self) -> tuple[dict[str, str], dict[str, str]]:
        return read_secret(self.api, self.ns)

    def remember_secret(self) -> None:
        """Every secret value the Secret has held (JWT public keys, key ids and the JWKS are public)."""
        data, _ = self.secret()
        self.values_seen.update(v for k, v in data.items() if not k.endswith(("-public-key", "-kid", "jwks.json")))

    def assert_consistent(self) -> str:
        """Secret and Redis agree: the Secret's password authenticates; a pending one never alone."""
        data, _ = self.secret()
        assert self.redis.agent_accepts(data["redis-password"]), "the Secret's redis-password is refused by Redis"
        return data["redis-password"]

    def assert_completed(self, old: str) -> str:
        data, ann = self.secret()
        state = rotation_state(self.api, self.ns)
        assert state["phase"] == "completed", state
        assert "redis-password-next" not in data and "redis-password-previous" not in data, sorted(data)
        new = data["redis-password"]
        assert new != old
        assert self.redis.agent_accepts(new)
        assert not self.redis.agent_accepts(old), "old password still accepted after the rotation"
        # every pod runs the template of the Secret's version
        version = ann["agentic.platform/secrets-version"]
        pods = k8s.CoreV1Api(self.api).list_namespaced_pod(
            self.ns, label_selector="app.kubernetes.io/name=mcp-agent").items
        assert pods and all(p.metadata.annotations["agentic.platform/secrets-version"] == version for p in pods)
        return new

    def audit_records(self) -> list[dict]:
        if not self.audit.exists():
            return []
        return [json.loads(line) for line in self.audit.read_text().splitlines() if line.strip()]

    def close(self) -> None:
        self.redis.stop()


@pytest.fixture
def env(namespace, tmp_path):
    e = Env(namespace, tmp_path)
    yield e
    e.close()


def test_full_redis_rotation_under_client_load(env):
    sync = KubeletSync(env.api, env.ns, env.tmp / "mounted")
    sync.start()
    load = ClientLoad(env.redis.port, sync.path, threads=6, connections=4, reconnect_every=3).start()
    time.sleep(1)
    res = env.play(extra_vars={"rotation_force": True, "rotation_redis_drain_seconds": 2})
    time.sleep(1)  # clients keep reconnecting with the new file after the old password is gone
    load.stop()
    sync.stop()
    assert res.returncode == 0, res.stdout[-4000:]
    assert recap(res.stdout)["changed"] == 1
    assert load.connects > 100 and len(load.acked) > 1000, (load.connects, len(load.acked))
    assert load.auth_failures == 0
    assert load.errors == 0
    assert load.lost_writes(env.redis.admin()) == 0
    env.assert_completed(env.first_password)
    state = rotation_state(env.api, env.ns)
    assert [p for p, _ in state["history"]] == ["staged", "acl-adding", "acl-added", "secret-updated", "rolled",
                                                "drained", "old-removed", "completed"]
    records = env.audit_records()
    assert records[-1]["outcome"] == "completed" and records[-1]["version_before"] == 1
    assert records[-1]["version_after"] == 2 and records[-1]["actor"]


# "<phase>" kills the module right after the phase is recorded on the Secret; "<phase>!" kills it
# after the phase's action but before it is recorded.
PHASES = ["staged", "acl-adding", "acl-added!", "acl-added", "secret-updated", "rolled", "drained",
          "old-removed!", "old-removed"]


@pytest.mark.parametrize("fault", PHASES)
def test_killed_at_each_phase_then_rerun_is_consistent(env, fault):
    sync = KubeletSync(env.api, env.ns, env.tmp / "mounted")
    sync.start()
    load = ClientLoad(env.redis.port, sync.path, threads=3, connections=3, reconnect_every=3).start()
    killed = env.play(extra_vars={"rotation_force": True},
                      env={"AGENTIC_ROTATION_FAULT_AFTER_PHASE": fault})
    assert killed.returncode != 0, killed.stdout[-3000:]
    phase = rotation_state(env.api, env.ns)["phase"]
    expected = fault.rstrip("!")
    if fault.endswith("!"):  # the action ran, the phase before it is what the Secret says
        expected = {"acl-added": "acl-adding", "old-removed": "drained"}[expected]
    assert phase == expected
    time.sleep(0.5)
    env.assert_consistent()
    resumed = env.play()  # no force: an interrupted rotation is resumed whatever the schedule
    time.sleep(0.5)
    load.stop()
    sync.stop()
    assert resumed.returncode == 0, resumed.stdout[-4000:]
    env.assert_completed(env.first_password)
    assert load.auth_failures == 0 and load.errors == 0
    assert load.lost_writes(env.redis.admin()) == 0
    again = env.play()
    assert again.returncode == 0 and recap(again.stdout)["changed"] == 0


def test_redis_unreachable_after_phase_one_fails_clearly_and_rolls_back(env):
    killed = env.play(extra_vars={"rotation_force": True}, env={"AGENTIC_ROTATION_FAULT_AFTER_PHASE": "staged"})
    assert killed.returncode != 0
    data, _ = env.secret()
    assert "redis-password-next" in data
    closed = free_port()
    res = env.play(extra_vars={"rotation_redis_port": closed})
    assert res.returncode != 0
    assert f"Redis at 127.0.0.1:{closed}" in res.stdout and "rolled back" in res.stdout, res.stdout[-3000:]
    data, _ = env.secret()
    assert "redis-password-next" not in data
    assert data["redis-password"] == env.first_password
    assert rotation_state(env.api, env.ns)["phase"] == "rolled-back"
    assert rotation_state(env.api, env.ns)["version"] == 1
    assert env.redis.agent_accepts(env.first_password)
    assert env.audit_records()[-1]["outcome"] == "rolled-back"
    # unreachable from the start: nothing is staged at all
    res = env.play(extra_vars={"rotation_redis_port": closed, "rotation_force": True})
    assert res.returncode != 0 and f"Redis at 127.0.0.1:{closed}" in res.stdout
    assert env.secret()[0]["redis-password"] == env.first_password
    # and a later run with Redis back completes
    ok = env.play(extra_vars={"rotation_force": True})
    assert ok.returncode == 0, ok.stdout[-3000:]
    env.assert_completed(env.first_password)


def test_redis_stopped_during_drain_fails_clearly_and_next_run_completes(env):
    proc = env.play(extra_vars={"rotation_force": True, "rotation_redis_drain_seconds": 8}, background=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and rotation_state(env.api, env.ns).get("phase") != "rolled":
        time.sleep(0.2)
    assert rotation_state(env.api, env.ns)["phase"] == "rolled"
    env.redis.stop()
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode != 0
    assert "Redis at 127.0.0.1" in out and "next run completes" in out, out[-3000:]
    env.redis.start()  # its ACL file kept both passwords (ACL SAVE)
    data, _ = env.secret()
    assert data["redis-password"] != env.first_password
    assert env.redis.agent_accepts(data["redis-password"])
    assert env.redis.agent_accepts(env.first_password), "the old password must still work"
    res = env.play()
    assert res.returncode == 0, res.stdout[-3000:]
    env.assert_completed(env.first_password)


def test_another_writer_during_the_rotation_is_tolerated(env):
    """A converge writing the Secret mid-rotation (another key) does not break or revert the rotation."""
    proc = env.play(extra_vars={"rotation_force": True, "rotation_redis_drain_seconds": 5}, background=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and rotation_state(env.api, env.ns).get("phase") != "rolled":
        time.sleep(0.2)
    other = base64.b64encode(b"converged-by-another-writer").decode()
    k8s.CoreV1Api(env.api).patch_namespaced_secret("agentic-ai-secrets", env.ns, {"data": {"other-key": other}})
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 0, out[-3000:]
    env.assert_completed(env.first_password)
    assert env.secret()[0]["other-key"] == "converged-by-another-writer"


def test_not_due_is_changed_0_and_check_mode_changes_nothing(env):
    core = k8s.CoreV1Api(env.api)
    rv = core.read_namespaced_secret("agentic-ai-secrets", env.ns).metadata.resource_version
    # a Secret created just now is not due (monthly): nothing happens
    res = env.play()
    assert res.returncode == 0 and recap(res.stdout)["changed"] == 0
    # check mode reports what a forced run would do, and writes nothing anywhere
    hashes = env.redis.admin().acl_getuser("agent")["passwords"]
    chk = env.play(extra_vars={"rotation_force": True}, check=True, verbosity="-v")
    assert chk.returncode == 0, chk.stdout[-3000:]
    assert recap(chk.stdout)["changed"] == 1 and "would-rotate" in chk.stdout
    assert core.read_namespaced_secret("agentic-ai-secrets", env.ns).metadata.resource_version == rv
    assert env.redis.admin().acl_getuser("agent")["passwords"] == hashes
    assert not env.audit.exists()
    # after a real rotation the key is not due again
    assert env.play(extra_vars={"rotation_force": True}).returncode == 0
    res = env.play()
    assert res.returncode == 0 and recap(res.stdout)["changed"] == 0
    chk = env.play(check=True)
    assert chk.returncode == 0 and recap(chk.stdout)["changed"] == 0


def test_bad_input_fails_before_any_write(env):
    core = k8s.CoreV1Api(env.api)
    rv = core.read_namespaced_secret("agentic-ai-secrets", env.ns).metadata.resource_version
    res = env.play(extra_vars={"rotation_force": True, "rotation_redis_port": 70000})
    assert res.returncode != 0 and "rotation_redis_port must be between 1 and 65535" in res.stdout
    res = env.play(extra_vars={"rotation_force": True, "rotation_jwt_algorithm": "HS256", "rotation_jwt_enabled": True})
    assert res.returncode != 0 and "rotation_jwt_algorithm" in res.stdout
    assert core.read_namespaced_secret("agentic-ai-secrets", env.ns).metadata.resource_version == rv


def _jwt_secret_extra() -> dict[str, str]:
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / ".collections"))
    from ansible_collections.agentic.platform.plugins.module_utils.secret_rotation import jwt_keys

    priv, pub = jwt_keys.generate("RS256", rsa_bits=3072)  # what the secrets role generates
    return {"jwt-private-key": priv, "jwt-public-key": pub}


@pytest.fixture
def jwt_env(namespace, tmp_path):
    e = Env(namespace, tmp_path, replicas=2, secret_extra=_jwt_secret_extra())
    yield e
    e.close()


def test_jwt_next_current_previous_with_overlap(jwt_env):
    env = jwt_env
    from ansible_collections.agentic.platform.plugins.module_utils.secret_rotation import jwt_keys

    first = env.secret()[0]
    old_kid = jwt_keys.kid_of(first["jwt-public-key"])
    jwt_vars = {"rotation_jwt_enabled": True, "rotation_redis_enabled": False}
    hour = {"rotation_jwt_max_token_lifetime": 3600, "rotation_jwt_publish_lead": 3600}
    # run 1: the next key is published (JWKS + roll) but does not sign yet (publish lead not over)
    res = env.play(extra_vars={**jwt_vars, **hour, "rotation_force": True})
    assert res.returncode == 0, res.stdout[-3000:]
    data, _ = env.secret()
    assert data["jwt-private-key"] == first["jwt-private-key"]
    next_kid = data["jwt-next-kid"]
    assert {k["kid"] for k in json.loads(data["jwt-jwks.json"])["keys"]} == {old_kid, next_kid}
    assert rotation_state(env.api, env.ns, "jwt")["phase"] == "published"
    # run 2 (lead not over): nothing changes
    res = env.play(extra_vars={**jwt_vars, **hour})
    assert res.returncode == 0 and recap(res.stdout)["changed"] == 0
    # run 3 (lead over): promote: next becomes current, the old public key stays as previous
    res = env.play(extra_vars={**jwt_vars, **hour, "rotation_jwt_publish_lead": 0})
    assert res.returncode == 0 and recap(res.stdout)["changed"] == 1, res.stdout[-3000:]
    data, _ = env.secret()
    assert jwt_keys.kid_of(data["jwt-public-key"]) == next_kid == data["jwt-kid"]
    assert jwt_keys.kid_of(jwt_keys.public_from_private(data["jwt-private-key"])) == next_kid
    assert jwt_keys.algorithm_of(data["jwt-public-key"]) == ("RS256", 3072)  # auto keeps the key type
    assert data["jwt-previous-kid"] == old_kid and "jwt-next-private-key" not in data
    assert {k["kid"] for k in json.loads(data["jwt-jwks.json"])["keys"]} == {old_kid, next_kid}
    # run 4 (inside the token overlap): previous kept
    res = env.play(extra_vars={**jwt_vars, **hour})
    assert res.returncode == 0 and recap(res.stdout)["changed"] == 0
    assert "jwt-previous-public-key" in env.secret()[0]
    # run 5 (tokens live at most 1 s, and more than that has passed since the switch): previous dropped
    time.sleep(1.5)
    short = {**jwt_vars, "rotation_jwt_max_token_lifetime": 1}
    res = env.play(extra_vars=short)
    assert res.returncode == 0 and recap(res.stdout)["changed"] == 1
    data, _ = env.secret()
    assert "jwt-previous-public-key" not in data
    assert [k["kid"] for k in json.loads(data["jwt-jwks.json"])["keys"]] == [next_kid]
    history = [p for p, _ in rotation_state(env.api, env.ns, "jwt")["history"]]
    assert history.index("published") < history.index("promoting")  # published before it signs
    res = env.play(extra_vars=short)
    assert res.returncode == 0 and recap(res.stdout)["changed"] == 0


def test_external_key_rotation_keeps_previous_and_rolls_back(env, tmp_path):
    core = k8s.CoreV1Api(env.api)
    old = "sk-old-" + secrets.token_urlsafe(20)
    core.patch_namespaced_secret("agentic-ai-secrets", env.ns,
                                 {"data": {"openai-api-key": base64.b64encode(old.encode()).decode()}})
    new = "sk-new-" + secrets.token_urlsafe(20)
    source = tmp_path / "openai-api-key"
    source.write_text(new)
    ext = {"rotation_redis_enabled": False, "rotation_force": True,
           "rotation_external_keys": [{"key": "openai-api-key",
                                       "value": "{{ lookup('ansible.builtin.file', '" + str(source) + "') }}"}]}
    version_before = env.secret()[1].get("agentic.platform/secrets-version")
    res = env.play(extra_vars=ext)
    assert res.returncode == 0, res.stdout[-3000:]
    data, ann = env.secret()
    assert data["openai-api-key"] == new and data["openai-api-key-previous"] == old
    assert ann["agentic.platform/secrets-version"] != version_before
    assert new not in res.stdout and old not in res.stdout
    # same value again: nothing to do
    res = env.play(extra_vars=ext)
    assert res.returncode == 0 and recap(res.stdout)["changed"] == 0
    # rollback puts the previous value back and rolls the pods
    rb = {**ext, "rotation_external_keys": [{"key": "openai-api-key", "rollback": True}]}
    res = env.play(extra_vars=rb)
    assert res.returncode == 0, res.stdout[-3000:]
    data, _ = env.secret()
    assert data["openai-api-key"] == old and "openai-api-key-previous" not in data
    res = env.play(extra_vars=rb)
    assert res.returncode == 0 and recap(res.stdout)["changed"] == 0


def test_no_secret_value_in_output_annotations_events_or_audit(jwt_env, tmp_path):
    env = jwt_env
    core = k8s.CoreV1Api(env.api)
    llm_old, llm_new = "sk-old-" + secrets.token_urlsafe(20), "sk-new-" + secrets.token_urlsafe(20)
    core.patch_namespaced_secret("agentic-ai-secrets", env.ns,
                                 {"data": {"anthropic-api-key": base64.b64encode(llm_old.encode()).decode()}})
    env.remember_secret()
    everything = {"rotation_jwt_enabled": True, "rotation_force": True, "rotation_jwt_max_token_lifetime": 1,
                  "rotation_external_keys": [{"key": "anthropic-api-key",
                                              "value": "{{ lookup('ansible.builtin.env', 'TEST_LLM_KEY') }}"}]}
    outputs = []
    for extra in (everything, {**everything, "rotation_force": False}):
        res = env.play("--diff", verbosity="-vvv", extra_vars=extra, env={"TEST_LLM_KEY": llm_new})
        assert res.returncode == 0, res.stdout[-4000:]
        outputs.append(res.stdout + res.stderr)
        time.sleep(1.2)
    data, ann = env.secret()
    assert data["anthropic-api-key"] == llm_new and data["redis-password"] != env.first_password
    audit_key = core.read_namespaced_secret("agentic-rotation-audit-key", env.ns).data["hmac-key"]
    values = set(env.values_seen) | {llm_old, llm_new, base64.b64decode(audit_key).decode()}
    events = core.list_namespaced_event(env.ns).items
    assert any(e.reason == "SecretRotated" for e in events)
    cm = core.read_namespaced_config_map("agentic-rotation-audit", env.ns).data
    assert len(cm) >= 3
    haystacks = {
        "ansible -vvv --diff output": "\n".join(outputs),
        "Secret annotations": json.dumps(ann),
        "Events": json.dumps([env.api.sanitize_for_serialization(e) for e in events]),
        "audit ConfigMap": json.dumps(cm),
        "audit JSON lines": env.audit.read_text(),
    }
    assert len(values) >= 8
    for value in values:
        forms = {value, base64.b64encode(value.encode()).decode()}
        if "PRIVATE KEY" in value:  # PEMs: every base64 body line is itself secret
            forms |= {line for line in value.splitlines() if len(line) > 20}
        for where, text in haystacks.items():
            for form in forms:
                at = text.find(form)
                assert at < 0, f"a secret value appears in {where}, after: {text[max(0, at - 400):at]!r}"
    assert "hmac-sha256:" in haystacks["audit JSON lines"]


def test_cronjob_example_passes_strict_server_side_dry_run(kubectl, namespace):
    manifest = (Path(__file__).resolve().parents[2] / "docs/examples/rotation-cronjob.yaml").read_text()
    manifest = manifest.replace("namespace: agentic-ai-prod", f"namespace: {namespace}")
    res = kubectl.run("apply", "--server-side", "--dry-run=server", "--validate=strict",
                      "--field-manager=pytest", "-f", "-", input_text=manifest, check=False)
    assert res.returncode == 0, res.stderr
    assert "cronjob.batch/agentic-secret-rotation serverside-applied (server dry run)" in res.stdout

"""Secret rotation against real components: the local cluster (Secret, a kwok-run mcp-agent
Deployment that the controller-manager really rolls), a real redis-server on loopback with an
ACL file, and ansible-playbook playbooks/rotate_secrets.yml as an operator runs it."""

from __future__ import annotations

import base64
import datetime as dt
import json
import secrets
import sys
import time
from pathlib import Path

import pytest
from kubernetes import client as k8s

sys.path.insert(0, str(Path(__file__).resolve().parent))

from rotation_support import (
    SECRET,
    ClientLoad,
    KubeletSync,
    RedisServer,
    api_client,
    create_agent_deployment,
    create_secret,
    free_port,
    kube_client,
    lease,
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
    assert lease(env.api, env.ns) is None  # the lock is released on a failed run too
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
    assert res.returncode != 0 and "rotation_redis_port must be a whole number from 1 to 65535" in res.stdout
    # no Deployment to roll: the old Redis password would go while pods still use it
    res = env.play(extra_vars={"rotation_force": True, "rotation_deployments": []})
    assert res.returncode != 0 and "rotation_deployments must list at least one Deployment" in res.stdout
    # keys of the redis and jwt kinds (and their slots) are not external keys
    for key in ("redis-password-next", "jwt-private-key", "redis-admin-password"):
        res = env.play(extra_vars={"rotation_force": True, "rotation_external_keys": [
            {"key": key, "value": "ext-" + secrets.token_urlsafe(20)}]})
        assert res.returncode != 0 and f"(key '{key}')" in res.stdout, res.stdout[-2000:]
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


# ---- hardening (issue 11, items 1-7) ------------------------------------------------------------

def engine_run(env, **options):
    """One rotation in this process, over the collection's client, as the module runs it."""
    from ansible_collections.agentic.platform.plugins.module_utils.secret_rotation.engine import Options, Rotation
    from ansible_collections.agentic.platform.plugins.module_utils.secret_rotation.kube import Kube
    from ansible_collections.agentic.platform.plugins.module_utils.secret_rotation.redis_acl import RedisEndpoint

    after_phase = options.pop("after_phase", None)
    opts = Options(namespace=env.ns, audit_log=str(env.audit), **{
        "redis": RedisEndpoint("127.0.0.1", env.redis.port), "wait_timeout": 120, "drain_seconds": 1, **options})
    client = kube_client()
    try:
        return Rotation(Kube(client, env.ns, "pytest.rotation"), opts, after_phase=after_phase).run()
    finally:
        client.close()


def secret_rv(env) -> str:
    return k8s.CoreV1Api(env.api).read_namespaced_secret(SECRET, env.ns).metadata.resource_version


def set_key(env, key: str, value: str | bytes) -> None:
    raw = value if isinstance(value, bytes) else value.encode()
    k8s.CoreV1Api(env.api).patch_namespaced_secret(SECRET, env.ns, {"data": {key: base64.b64encode(raw).decode()}})


def test_an_empty_external_value_is_refused_naming_the_key_and_nothing_changes(env):
    old = "sk-old-" + secrets.token_urlsafe(20)
    set_key(env, "openai-api-key", old)
    rv = secret_rv(env)
    unset = {"rotation_redis_enabled": False, "rotation_force": True, "rotation_external_keys": [
        {"key": "openai-api-key", "value": "{{ lookup('ansible.builtin.env', 'AGENTIC_TEST_UNSET_VARIABLE') }}"}]}
    res = env.play(extra_vars=unset)
    assert res.returncode != 0 and "(key 'openai-api-key'): value is empty" in res.stdout, res.stdout[-3000:]
    # the module refuses it too, whoever calls it
    result = engine_run(env, kind="external", key="openai-api-key", new_value="", force=True)
    assert result["failed"] and "key openai-api-key is due but its new value is empty" in result["msg"]
    assert secret_rv(env) == rv and env.secret()[0]["openai-api-key"] == old
    assert lease(env.api, env.ns) is None


def test_rollback_never_removes_a_password_the_secret_holds(env):
    """Another writer moves the rotation on (to secret-updated, the Secret on the new password)
    while this run still acts on its copy from acl-added: the run fails, and the guarded
    rolling-back write keeps it from removing the new password from Redis."""
    core = k8s.CoreV1Api(env.api)

    def other_run_moves_on(phase: str) -> None:
        if phase != "acl-added":
            return
        obj = core.read_namespaced_secret(SECRET, env.ns)
        state = json.loads(obj.metadata.annotations["rotation.agentic.platform/redis-password"])
        state["phase"] = "secret-updated"
        core.patch_namespaced_secret(SECRET, env.ns, {
            "metadata": {"annotations": {"rotation.agentic.platform/redis-password": json.dumps(state),
                                         "agentic.platform/secrets-version": state["secrets_version"]}},
            "data": {"redis-password": obj.data["redis-password-next"],
                     "redis-password-previous": obj.data["redis-password"], "redis-password-next": None}})

    result = engine_run(env, kind="redis", force=True, after_phase=other_run_moves_on)
    assert result["failed"], result
    data, _ = env.secret()
    assert rotation_state(env.api, env.ns)["phase"] == "secret-updated"
    assert env.redis.agent_accepts(data["redis-password"]), "Redis lost the password the Secret holds"
    assert env.redis.agent_accepts(env.first_password)
    assert lease(env.api, env.ns) is None
    # and the next run completes the rotation the other writer moved on
    res = env.play()
    assert res.returncode == 0, res.stdout[-3000:]
    env.assert_completed(env.first_password)


def test_a_rollback_interrupted_after_rolling_back_is_finished_by_the_next_run(env):
    killed = env.play(extra_vars={"rotation_force": True}, env={"AGENTIC_ROTATION_FAULT_AFTER_PHASE": "acl-added"})
    assert killed.returncode != 0
    pending = env.secret()[0]["redis-password-next"]
    env.redis.admin().execute_command("ACL", "SETUSER", "agent", "<" + pending)  # Redis lost its ACL change
    stopped = env.play(env={"AGENTIC_ROTATION_FAULT_AFTER_PHASE": "rolling-back"})
    assert stopped.returncode != 0
    assert rotation_state(env.api, env.ns)["phase"] == "rolling-back"
    res = env.play()
    assert res.returncode == 0, res.stdout[-3000:]
    data, _ = env.secret()
    assert rotation_state(env.api, env.ns)["phase"] == "rolled-back" and "redis-password-next" not in data
    assert data["redis-password"] == env.first_password and env.redis.agent_accepts(env.first_password)
    assert not env.redis.agent_accepts(pending)


def test_a_second_run_waits_for_the_lock_then_fails_naming_the_holder(env):
    first = env.play(extra_vars={"rotation_force": True, "rotation_redis_drain_seconds": 20,
                                 "rotation_actor": "first-operator"}, background=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and rotation_state(env.api, env.ns).get("phase") != "rolled":
        time.sleep(0.2)
    held = lease(env.api, env.ns)
    assert held is not None and held.spec.lease_duration_seconds == 30 and held.spec.holder_identity
    rv = secret_rv(env)
    second = env.play(extra_vars={"rotation_force": True, "rotation_lock_timeout": 2, "rotation_actor": "second"})
    assert second.returncode != 0
    assert "is being rotated by first-operator" in second.stdout and held.spec.holder_identity in second.stdout
    assert secret_rv(env) == rv
    out, _ = first.communicate(timeout=120)
    assert first.returncode == 0, out[-3000:]
    env.assert_completed(env.first_password)
    assert lease(env.api, env.ns) is None


def test_an_expired_lock_is_taken_over(env):
    stale = (dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    k8s.CoordinationV1Api(env.api).create_namespaced_lease(env.ns, {
        "metadata": {"name": f"{SECRET}.rotation", "annotations": {"rotation.agentic.platform/actor": "ghost"}},
        "spec": {"holderIdentity": "elsewhere/1/dead", "leaseDurationSeconds": 30, "acquireTime": stale,
                 "renewTime": stale}})
    res = env.play(extra_vars={"rotation_force": True, "rotation_lock_timeout": 0})
    assert res.returncode == 0, res.stdout[-3000:]
    env.assert_completed(env.first_password)
    assert lease(env.api, env.ns) is None


def test_binary_values_in_the_secret_are_kept_through_rotations(env):
    keystore, binary_credential = bytes(range(256)) + b"\xff\xfe not UTF-8", b"\x80\x81 binary credential \xfe"
    set_key(env, "keystore.p12", keystore)
    set_key(env, "gcp-service-account", binary_credential)
    res = env.play(extra_vars={"rotation_force": True})
    assert res.returncode == 0, res.stdout[-3000:]
    env.assert_completed(env.first_password)
    new = "gcp-new-" + secrets.token_urlsafe(20)
    res = env.play(extra_vars={"rotation_redis_enabled": False, "rotation_force": True, "rotation_external_keys": [
        {"key": "gcp-service-account", "value": new}]})
    assert res.returncode == 0, res.stdout[-3000:]
    data, _ = env.secret()
    assert data["keystore.p12"] == keystore
    assert data["gcp-service-account"] == new and data["gcp-service-account-previous"] == binary_credential


def test_check_mode_without_an_audit_key_reports_a_due_external_key(env):
    set_key(env, "openai-api-key", "sk-old-" + secrets.token_urlsafe(20))
    assert k8s.CoreV1Api(env.api).list_namespaced_secret(
        env.ns, field_selector="metadata.name=agentic-rotation-audit-key").items == []
    ext = {"rotation_redis_enabled": False, "rotation_force": True, "rotation_external_keys": [
        {"key": "openai-api-key", "value": "sk-new-" + secrets.token_urlsafe(20)}]}
    chk = env.play(extra_vars=ext, check=True)
    assert chk.returncode == 0, chk.stdout[-3000:]
    assert recap(chk.stdout)["changed"] == 1 and "equals the current value" not in chk.stdout, chk.stdout[-3000:]


def test_an_audit_key_secret_without_its_key_is_a_clear_error(env):
    k8s.CoreV1Api(env.api).create_namespaced_secret(env.ns, {
        "metadata": {"name": "agentic-rotation-audit-key"}, "data": {"other": base64.b64encode(b"x").decode()}})
    rv = secret_rv(env)
    res = env.play(extra_vars={"rotation_force": True})
    assert res.returncode != 0
    assert "agentic-rotation-audit-key has no (or an empty) data key hmac-key" in res.stdout, res.stdout[-3000:]
    assert secret_rv(env) == rv


def test_audit_log_is_owner_only_never_through_a_symlink_and_a_write_error_is_reported(env, tmp_path):
    ext = {"rotation_redis_enabled": False, "rotation_jwt_enabled": False, "rotation_force": True}

    def rotate(audit: Path):
        value = "sk-" + secrets.token_urlsafe(20)
        return run_playbook(env.ns, env.redis.port, audit, extra_vars={**ext, "rotation_external_keys": [
            {"key": "openai-api-key", "value": value}]})

    loose = tmp_path / "loose.jsonl"
    loose.write_text("")
    loose.chmod(0o644)
    res = rotate(loose)
    assert res.returncode == 0, res.stdout[-3000:]
    assert oct(loose.stat().st_mode & 0o777) == "0o600" and json.loads(loose.read_text())["outcome"] == "completed"
    target = tmp_path / "not-an-audit-log"
    target.write_text("untouched\n")
    link = tmp_path / "link.jsonl"
    link.symlink_to(target)
    res = rotate(link)
    assert res.returncode == 0 and "audit record not written to" in res.stdout + res.stderr, res.stdout[-3000:]
    assert target.read_text() == "untouched\n"
    directory = tmp_path / "a-directory.jsonl"
    directory.mkdir()
    res = rotate(directory)
    assert res.returncode == 0 and "audit record not written to" in res.stdout + res.stderr, res.stdout[-3000:]
    assert "Traceback" not in res.stdout + res.stderr
    assert env.secret()[1]["rotation.agentic.platform/openai-api-key.last-rotated"]


def test_a_binary_value_in_the_secret_survives_a_converge(kubectl, namespace):
    """The secrets step (site.yml's converge path) on a Secret holding values that are not UTF-8:
    another writer's key and one of the values the step reuses stay byte for byte."""
    from site_support import run_site

    playbook = Path(__file__).resolve().parent / "playbooks" / "namespace_config_secrets.yml"
    first = run_site(namespace, playbook=playbook)
    assert first.rc == 0, first.output[-4000:]
    keystore, password = bytes(range(256)), b"\xfe\xff reused \x80"
    kubectl.run("-n", namespace, "patch", "secret", SECRET, "--type=merge", "-p", json.dumps({"data": {
        "keystore.p12": base64.b64encode(keystore).decode(),
        "redis-password": base64.b64encode(password).decode()}}))
    again = run_site(namespace, playbook=playbook)
    assert again.rc == 0, again.output[-4000:]
    data = kubectl.json("-n", namespace, "get", "secret", SECRET)["data"]
    assert base64.b64decode(data["keystore.p12"]) == keystore
    assert base64.b64decode(data["redis-password"]) == password
    third = run_site(namespace, playbook=playbook)
    assert third.rc == 0 and third.changed_tasks() == [], third.output[-4000:]

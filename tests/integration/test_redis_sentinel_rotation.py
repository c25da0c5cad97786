"""Rotation of the agents' Redis password across every node of a sentinel-mode Redis: one primary,
two replicas and three Sentinels (real processes on loopback, run from the role's renderer), the
Secret and a stand-in agent Deployment on the local cluster, the rotation engine with every node
(redis_nodes). Under client load through Sentinel discovery (password read from the mounted file
at each connection): zero authentication failures, zero lost acknowledged writes, the old
password refused on every node afterwards. Killed at a phase and re-run: every node and the
Secret agree.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis
from ansible_collections.agentic.platform.plugins.module_utils import redis_topology as topology
from redis_topology_support import PASSWORDS, SentinelLoad, Topology
from rotation_support import (
    KubeletSync,
    api_client,
    create_agent_deployment,
    create_secret,
    read_secret,
    rotation_state,
    wait_deployment_available,
)

pytestmark = pytest.mark.cluster
ROOT = Path(__file__).resolve().parents[2]

# The engine in a child process, as the module runs it, so that a fault can kill it (SIGKILL).
RUNNER = """
import json, sys
sys.path[:0] = [sys.argv[2] + "/.collections", sys.argv[2] + "/tests/integration"]
from rotation_support import kube_client
from ansible_collections.agentic.platform.plugins.module_utils.secret_rotation.engine import Options, Rotation
from ansible_collections.agentic.platform.plugins.module_utils.secret_rotation.kube import Kube
from ansible_collections.agentic.platform.plugins.module_utils.secret_rotation.redis_acl import RedisEndpoint
args = json.loads(sys.argv[1])
nodes = [RedisEndpoint("127.0.0.1", port) for port in args.pop("ports")]
client = kube_client()
result = Rotation(Kube(client, args["namespace"], "pytest.rotation"), Options(redis_nodes=nodes, **args)).run()
print(json.dumps({"failed": bool(result.get("failed")), "msg": result.get("msg", "")}))
sys.exit(1 if result.get("failed") else 0)
"""


@pytest.fixture
def world(namespace, tmp_path):
    topo = Topology(tmp_path / "redis")
    topo.start_all()
    api = api_client()
    create_secret(api, namespace, dict(PASSWORDS))
    create_agent_deployment(api, namespace, 2)
    wait_deployment_available(api, namespace)
    sync = KubeletSync(api, namespace, tmp_path / "mounted")
    sync.start()
    yield {"topo": topo, "api": api, "ns": namespace, "sync": sync, "tmp": tmp_path}
    sync.stop()
    topo.stop()


def rotate(world, fault: str | None = None, force: bool = True) -> subprocess.CompletedProcess:
    args = {"namespace": world["ns"], "kind": "redis", "force": force, "drain_seconds": 1, "wait_timeout": 120,
            "audit_log": str(world["tmp"] / "audit.jsonl"),
            "ports": [n.port for n in world["topo"].data + world["topo"].sentinels]}
    env = {**os.environ, **({"AGENTIC_ROTATION_FAULT_AFTER_PHASE": fault} if fault else {})}
    return subprocess.run([sys.executable, "-c", RUNNER, json.dumps(args), str(ROOT)], env=env,
                          capture_output=True, text=True, timeout=300, check=False)


def accepted_by(world, password: str) -> list[bool]:
    out = []
    for node in world["topo"].data + world["topo"].sentinels:
        try:
            out.append(bool(node.client("agent", password).ping()))
        except redis.AuthenticationError:
            out.append(False)
    return out


def assert_every_node_agrees_with_the_secret(world) -> str:
    """The Secret's password works on every node; a pending or previous one is accepted by every
    node or by none (a run killed after removing it everywhere, before recording that)."""
    data, _ = read_secret(world["api"], world["ns"])
    assert all(accepted_by(world, data["redis-password"])), "the Secret's redis-password is refused by some node"
    for key in ("redis-password-next", "redis-password-previous"):
        if key in data:
            assert len(set(accepted_by(world, data[key]))) == 1, f"the nodes disagree on {key}"
    return data["redis-password"]


def assert_completed(world, old: str) -> None:
    data, _ = read_secret(world["api"], world["ns"])
    assert rotation_state(world["api"], world["ns"])["phase"] == "completed"
    assert "redis-password-next" not in data and "redis-password-previous" not in data
    new = data["redis-password"]
    assert new != old
    assert all(accepted_by(world, new)), "the new password is refused by some node"
    assert not any(accepted_by(world, old)), "the old password is still accepted by some node"
    for node in world["topo"].data + world["topo"].sentinels:  # exactly one password left on every node
        info = node.client().execute_command("ACL", "GETUSER", "agent")
        info = dict(zip(info[0::2], info[1::2], strict=False)) if isinstance(info, list) else info
        assert len(info[b"passwords"] if b"passwords" in info else info["passwords"]) == 1, node.name


def test_rotation_across_every_node_under_load(world):
    old = PASSWORDS[topology.AGENT_KEY]
    load = SentinelLoad(world["topo"], world["sync"].path).start()
    time.sleep(1)
    res = rotate(world)
    time.sleep(1)  # clients keep reconnecting with the new file after the old password is gone
    load.stop()
    assert res.returncode == 0, res.stdout + res.stderr[-3000:]
    assert load.connects > 20 and len(load.acked) > 100, (load.connects, len(load.acked))
    assert load.auth_failures == 0
    assert load.errors == 0, load.error_kinds
    assert load.lost_writes() == 0
    assert_completed(world, old)


@pytest.mark.parametrize("fault", ["acl-added!", "acl-added", "secret-updated", "old-removed!"])
def test_killed_at_a_phase_then_rerun_every_node_agrees(world, fault):
    old = PASSWORDS[topology.AGENT_KEY]
    load = SentinelLoad(world["topo"], world["sync"].path).start()
    killed = rotate(world, fault)
    assert killed.returncode != 0
    time.sleep(0.5)
    assert_every_node_agrees_with_the_secret(world)
    resumed = rotate(world, force=False)  # an interrupted rotation is resumed whatever the schedule
    time.sleep(0.5)
    load.stop()
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr[-3000:]
    assert load.auth_failures == 0 and load.errors == 0, load.error_kinds
    assert load.lost_writes() == 0
    assert_completed(world, old)

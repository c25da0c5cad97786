"""Sentinel mode with real processes: one primary, two replicas and three Sentinels on loopback,
run from the role's renderer (redis_topology_support). Killing the primary's process promotes a
replica, a client using Sentinel discovery reconnects by itself, no write acknowledged by a
replica (WAIT 1, min-replicas-to-write 1) is lost, and the old primary rejoins as a replica.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
import redis
from ansible_collections.agentic.platform.plugins.module_utils import redis_topology as topology
from redis_topology_support import MASTER, PASSWORDS, Topology, wait_until


@pytest.fixture(scope="module")
def topo(tmp_path_factory):
    t = Topology(tmp_path_factory.mktemp("sentinel"), down_after_ms=1000, failover_timeout_ms=10000)
    try:
        t.start_all()
        yield t
    finally:
        t.stop()


class Writer(threading.Thread):
    """Writes key i = i through Sentinel discovery; a write counts as acknowledged when WAIT says a
    replica has it (SET and WAIT on one connection: a non-transactional pipeline)."""

    def __init__(self, master: redis.Redis):
        super().__init__(daemon=True)
        self.master, self.acked, self.failed = master, [], 0
        self.stopping = threading.Event()

    def run(self):
        i = 0
        while not self.stopping.is_set():
            i += 1
            try:
                pipe = self.master.pipeline(transaction=False)
                pipe.set(f"k:{i}", i).execute_command("WAIT", 1, 1000)
                _ok, replicas = pipe.execute()
                if replicas >= 1:
                    self.acked.append(i)
            except redis.RedisError:
                self.failed += 1
                self.stopping.wait(0.05)


def test_the_acl_on_every_node(topo):
    """default off; the replication and Sentinel users can do only their part; the agent user
    reaches the Sentinels only to discover."""
    primary = topo.primary()
    for node in topo.data + topo.sentinels:
        with pytest.raises(redis.AuthenticationError):
            redis.Redis(port=node.port, socket_timeout=5).ping()
    replica_user = primary.client("replica", PASSWORDS[topology.REPLICATION_KEY])
    assert replica_user.ping()
    with pytest.raises(redis.exceptions.NoPermissionError):
        replica_user.get("k")
    with pytest.raises(redis.exceptions.NoPermissionError):
        primary.client("sentinel", PASSWORDS[topology.SENTINEL_KEY]).get("k")
    discovery = topo.sentinels[0].client("agent", PASSWORDS[topology.AGENT_KEY])
    assert discovery.execute_command("SENTINEL", "GET-MASTER-ADDR-BY-NAME", MASTER)
    with pytest.raises(redis.exceptions.NoPermissionError):
        discovery.execute_command("SENTINEL", "SET", MASTER, "quorum", "1")


def test_no_password_on_a_command_line_or_in_a_file_in_clear_but_the_runtime_ones(topo):
    """Processes' command lines hold no password; users.acl holds hashes only. (masterauth and
    Sentinel's auth-pass must be in clear: they are in the pod's memory volume, mode 0600.)"""
    for node in topo.data + topo.sentinels:
        cmdline = Path(f"/proc/{node.proc.pid}/cmdline").read_bytes().decode()
        assert not any(v in cmdline for v in PASSWORDS.values())
    for node in topo.data:
        acl = (node.run / "users.acl").read_text()
        assert not any(v in acl for v in PASSWORDS.values()) and acl.count("#") == 4
        assert (node.run / "runtime.conf").stat().st_mode & 0o077 == 0


def test_a_write_without_a_replica_is_refused(topo, tmp_path):
    """min-replicas-to-write: a primary left alone refuses writes instead of acknowledging them."""
    alone = Topology(tmp_path, data_nodes=1, sentinels=0)
    try:
        alone.start(alone.data[0])
        with pytest.raises(redis.ResponseError, match="NOREPLICAS"):
            alone.data[0].client("agent", PASSWORDS[topology.AGENT_KEY]).set("k", "v")
    finally:
        alone.stop()


def test_failover_keeps_every_acknowledged_write_and_the_old_primary_rejoins(topo):
    old = topo.primary()
    master = topo.sentinel_client().master_for(MASTER, socket_timeout=1)
    writer = Writer(master)
    writer.start()
    try:
        wait_until("200 acknowledged writes before the failover", lambda: len(writer.acked) >= 200)
        old.kill()
        new = wait_until("a replica promoted", lambda: next(
            (n for n in topo.data if n is not old and n.client().execute_command("ROLE")[0] in (b"master", "master")),
            None), timeout=60)
        before = len(writer.acked)
        wait_until("200 acknowledged writes through the new primary", lambda: len(writer.acked) >= before + 200,
                   timeout=60)
    finally:
        writer.stopping.set()
        writer.join(timeout=10)
    assert writer.failed > 0, "the writer never saw the primary go: the test did not test a failover"
    assert topo.sentinel_client().discover_master(MASTER) == ("127.0.0.1", new.port)
    stored = new.client().mget([f"k:{i}" for i in writer.acked])
    lost = [i for i, value in zip(writer.acked, stored, strict=True) if value is None]
    assert lost == [], f"{len(lost)} of {len(writer.acked)} acknowledged writes lost"

    topo.start(old)  # its init script asks the Sentinels for the primary now
    assert "replicaof" in (old.run / "runtime.conf").read_text()
    wait_until("the old primary in sync with the new one", lambda: old.client().info("replication")
               .get("master_link_status") == "up" and old.client().info("replication")["master_port"] == new.port)
    wait_until("the old primary to hold every acknowledged write", lambda: all(
        v is not None for v in old.client().mget([f"k:{i}" for i in writer.acked])))
    wait_until("the Sentinels to see two replicas again", topo.sentinels_agree)

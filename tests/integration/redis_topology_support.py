"""A sentinel-mode Redis topology on loopback: real redis-server and Sentinel processes run from
the role's renderer (plugins/module_utils/redis_topology.py), as its pods would run them.

Each "pod" gets the ConfigMap's files (one directory, shared), the Secret's files (one directory,
shared: every pod mounts the same Secret), its own memory volume (run/) and data volume (data/);
its init script runs with the environment the pod spec gives (announced address, seed,
Sentinels), then the process starts on the files the script wrote.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import redis
from ansible_collections.agentic.platform.plugins.module_utils import redis_topology as topology
from redis.credentials import CredentialProvider

HOST = "127.0.0.1"
MASTER = "agentic"
PASSWORDS = {  # spaces, quotes, backslashes and $ must survive the shell and Redis's config parser
    topology.AGENT_KEY: "agent-pw 'with' $pecial \"chars\" \\ too",
    topology.ADMIN_KEY: "admin-Pw-0123456789",
    topology.REPLICATION_KEY: "repl pw \"quoted\" \\backslash",
    topology.SENTINEL_KEY: "sentinel-pw $HOME `x`",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def wait_until(what: str, check, timeout: float = 30.0, interval: float = 0.1):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            value = check()
            if value:
                return value
        except (redis.RedisError, OSError) as exc:
            last = exc
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what} (last error: {last!r})")


@dataclass
class Node:
    name: str
    kind: str  # "data" or "sentinel"
    port: int
    root: Path
    proc: subprocess.Popen | None = None
    log: Path = field(init=False)

    def __post_init__(self):
        self.run = self.root / self.name / "run"
        self.data = self.root / self.name / "data"
        for d in (self.run, self.data):
            d.mkdir(parents=True, exist_ok=True)
        self.log = self.root / self.name / "log"

    @property
    def address(self) -> str:
        return f"{HOST}:{self.port}"

    def client(self, user: str = "admin", password: str | None = None, **kwargs) -> redis.Redis:
        if password is None:
            password = PASSWORDS[topology.ADMIN_KEY]
        return redis.Redis(host=HOST, port=self.port, username=user, password=password, socket_timeout=5, **kwargs)

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)


class Topology:
    """One primary, replicas and Sentinels, all run from the role's renderer."""

    def __init__(self, root: Path, data_nodes: int = 3, sentinels: int = 3, **conf):
        self.root = root
        self.auth, self.conf = root / "auth", root / "etc"
        for d in (self.auth, self.conf):
            d.mkdir(parents=True, exist_ok=True)
        self.write_secret(PASSWORDS)
        self.files = topology.config_files(
            mode="sentinel", agent_user="agent",
            agent_rules="~* &* +@read +@write +@connection +@transaction -@dangerous",
            master_name=MASTER, quorum=2, bind=HOST, data_dir=".", sentinel_dir=".", **conf)
        for name, text in self.files.items():
            (self.conf / name).write_text(text)
        self.data = [Node(f"redis-{i}", "data", free_port(), root) for i in range(data_nodes)]
        self.sentinels = [Node(f"sentinel-{i}", "sentinel", free_port(), root) for i in range(sentinels)]

    def write_secret(self, values: dict) -> None:
        """The Secret's files as the kubelet projects them: one file a key, absent keys removed."""
        for old in self.auth.iterdir():
            if old.name not in values:
                old.unlink()
        for key, value in values.items():
            (self.auth / key).write_text(value + "\n")  # a trailing newline as kubectl create often leaves

    def env(self, node: Node) -> dict:
        return {**os.environ, "REDIS_ANNOUNCE_HOST": HOST, "REDIS_PORT": str(node.port),
                "REDIS_SEED": self.data[0].address,
                "REDIS_SENTINELS": " ".join(s.address for s in self.sentinels)}

    def start(self, node: Node) -> None:
        dirs = {"auth_dir": str(self.auth), "config_dir": str(self.conf), "run_dir": str(node.run)}
        if node.kind == "data":
            script = topology.data_init_script("sentinel", **dirs)
            conf = self.root / node.name / "redis.conf"
            # The ConfigMap's redis.conf with the pod's own memory volume (aclfile, include).
            conf.write_text(self.files["redis.conf"].replace(topology.RUN_DIR, str(node.run)))
            command = ["redis-server", str(conf)]
        else:
            script = topology.sentinel_init_script(**dirs)
            command = ["redis-server", str(node.run / "sentinel.conf"), "--sentinel"]
        subprocess.run(["sh", "-c", script], env=self.env(node), check=True, timeout=60)
        with node.log.open("ab") as log:
            node.proc = subprocess.Popen(command, cwd=node.data, stdout=log, stderr=subprocess.STDOUT)
        wait_until(f"{node.name} to answer", lambda: node.client().ping(), timeout=20)

    def start_all(self) -> None:
        for node in self.data:
            self.start(node)
        wait_until("both replicas in sync", lambda: self.data[0].client().info("replication")["connected_slaves"]
                   == len(self.data) - 1)
        for node in self.sentinels:
            self.start(node)
        wait_until("every Sentinel to know the replicas and the other Sentinels", self.sentinels_agree)

    def sentinels_agree(self) -> bool:
        for node in self.sentinels:
            info = node.client().execute_command("SENTINEL", "MASTER", MASTER)
            info = dict(zip(info[0::2], info[1::2], strict=False)) if isinstance(info, list) else info
            info = {(k.decode() if isinstance(k, bytes) else k): v for k, v in info.items()}
            if int(info["num-slaves"]) != len(self.data) - 1 or int(info["num-other-sentinels"]) != \
                    len(self.sentinels) - 1:
                return False
        return True

    def primary(self) -> Node:
        return next(n for n in self.data if n.proc and n.proc.poll() is None
                    and n.client().execute_command("ROLE")[0] in (b"master", "master"))

    def sentinel_client(self, password: str | None = None, **kwargs) -> redis.Sentinel:
        """A client that finds the primary through the Sentinels, as the agents do."""
        password = password or PASSWORDS[topology.AGENT_KEY]
        auth = {"username": "agent", "password": password}
        return redis.Sentinel([(HOST, s.port) for s in self.sentinels], socket_timeout=1, **auth,
                              sentinel_kwargs={**auth, "socket_timeout": 1}, **kwargs)

    def stop(self) -> None:
        for node in self.sentinels + self.data:
            if node.proc and node.proc.poll() is None:
                node.proc.terminate()
                try:
                    node.proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    node.kill()


class MountedPassword(CredentialProvider):
    """The agent's credentials as a pod sees them: the mounted file, read at each new connection."""

    def __init__(self, path: Path):
        self.path = path

    def get_credentials(self):
        return "agent", self.path.read_text()


class SentinelLoad:
    """Writers through Sentinel discovery; each reconnects every few writes (a fresh AUTH with the
    file's password). A write counts when WAIT says a replica has it."""

    def __init__(self, topo: Topology, password_file: Path, threads: int = 3, reconnect_every: int = 4):
        self.topo, self.creds = topo, MountedPassword(password_file)
        self.nthreads, self.reconnect_every = threads, reconnect_every
        self.stop_event, self.lock = threading.Event(), threading.Lock()
        self.auth_failures, self.errors, self.acked, self.connects = 0, 0, {}, 0
        self.refused = 0
        self.error_kinds: set[str] = set()
        self.latencies: list[tuple[float, float, bool]] = []  # (start, seconds, acknowledged)
        self.threads: list[threading.Thread] = []

    def _worker(self, index: int) -> None:
        sentinel = redis.Sentinel([("127.0.0.1", s.port) for s in self.topo.sentinels], socket_timeout=5,
                                  credential_provider=self.creds,
                                  sentinel_kwargs={"credential_provider": self.creds, "socket_timeout": 5})
        master = sentinel.master_for(MASTER, socket_timeout=5, credential_provider=self.creds)
        i = 0
        while not self.stop_event.is_set():
            i += 1
            if i % self.reconnect_every == 0:
                master.connection_pool.disconnect()
                for s in sentinel.sentinels:
                    s.connection_pool.disconnect()
            key = f"rot:{index}:{i}"
            started = time.monotonic()
            try:
                pipe = master.pipeline(transaction=False)
                pipe.set(key, i).execute_command("WAIT", 1, 1000)
                _ok, replicas = pipe.execute()
                with self.lock:
                    self.latencies.append((started, time.monotonic() - started, replicas >= 1))
                    self.connects += i % self.reconnect_every == 0
                    if replicas >= 1:
                        self.acked[key] = str(i)
            except redis.AuthenticationError:
                with self.lock:
                    self.auth_failures += 1
            except redis.RedisError as exc:
                if "WRONGPASS" in str(exc) or "NOAUTH" in str(exc):
                    with self.lock:
                        self.auth_failures += 1
                elif "NOREPLICAS" in str(exc):
                    # min-replicas-to-write refused the write (no replica acknowledged in time, e.g.
                    # on a starved machine): never acknowledged, so never lost; counted apart.
                    with self.lock:
                        self.refused += 1
                else:
                    with self.lock:
                        self.errors += 1
                        self.error_kinds.add(f"{type(exc).__name__}: {str(exc)[:80]}")
                self.stop_event.wait(0.05)

    def start(self) -> SentinelLoad:
        for i in range(self.nthreads):
            t = threading.Thread(target=self._worker, args=(i,), daemon=True)
            t.start()
            self.threads.append(t)
        return self

    def stop(self) -> None:
        self.stop_event.set()
        for t in self.threads:
            t.join(timeout=30)

    def lost_writes(self) -> int:
        primary = self.topo.primary().client()
        keys = list(self.acked)
        return sum(1 for key, got in zip(keys, primary.mget(keys), strict=True) if got is None
                   or got.decode() != self.acked[key])

"""Real components for the secret rotation tests and benchmark: a loopback redis-server with an
ACL file, the Secret and the mcp-agent Deployment in a test namespace, a "kubelet" that keeps a
credential file in sync with the Secret, and a client load that re-reads that file."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import socket
import subprocess
import threading
import time
from pathlib import Path

import redis
from kubernetes import client as k8s
from kubernetes import config as k8s_config

ROOT = Path(__file__).resolve().parents[2]
SECRET = "agentic-ai-secrets"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RedisServer:
    """redis-server on loopback with its own port, dir and aclfile; stopped by PID."""

    def __init__(self, workdir: Path, admin_password: str, agent_password: str, port: int | None = None):
        self.dir = Path(workdir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.admin_password = admin_password
        self.aclfile = self.dir / "users.acl"
        self.conf = self.dir / "redis.conf"
        self.proc: subprocess.Popen | None = None
        sha = lambda v: hashlib.sha256(v.encode()).hexdigest()  # noqa: E731
        self.aclfile.write_text(
            "user default off\n"
            f"user admin on #{sha(admin_password)} ~* &* +@all\n"
            f"user agent on #{sha(agent_password)} ~* &* +@all -@admin -@dangerous\n")
        self.conf.write_text(
            f"port {self.port}\nbind 127.0.0.1\ndir {self.dir}\naclfile {self.aclfile}\n"
            "save \"\"\nappendonly no\ndaemonize no\nprotected-mode yes\nmaxclients 2000\n"
            f"logfile {self.dir / 'redis.log'}\n")

    def start(self) -> RedisServer:
        self.proc = subprocess.Popen(["redis-server", str(self.conf)], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                self.admin().ping()
                return self
            except redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError(f"redis-server did not start on port {self.port}")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=20)
        self.proc = None

    def admin(self) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.port, username="admin", password=self.admin_password,
                           socket_timeout=5)

    def agent_accepts(self, password: str) -> bool:
        conn = redis.Redis(host="127.0.0.1", port=self.port, username="agent", password=password, socket_timeout=5)
        try:
            return bool(conn.ping())
        except redis.AuthenticationError:
            return False
        finally:
            conn.close()


def kubeconfig() -> Path:
    if os.environ.get("AGENTIC_STATE"):
        return Path(os.environ["AGENTIC_STATE"]) / "clusters/local/kubeconfig"
    return Path.home() / ".local/share/agentic-platform/clusters/local/kubeconfig"


def api_client():
    return k8s_config.new_client_from_config(config_file=str(kubeconfig()), context="agentic-local")


def kube_client():
    """The collection's own client (what the module uses) on the local cluster."""
    from ansible_collections.agentic.platform.plugins.module_utils.kube_client import KubeClient

    return KubeClient.from_config(kubeconfig=str(kubeconfig()), context="agentic-local")


def create_secret(api, namespace: str, data: dict[str, str | bytes], schedule: str = "monthly") -> None:
    import base64

    def raw(v: str | bytes) -> bytes:
        return v if isinstance(v, bytes) else v.encode()

    body = {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
            "metadata": {"name": SECRET, "namespace": namespace,
                         "labels": {"rotation-schedule": schedule, "security-tier": "high",
                                    "app.kubernetes.io/name": "agentic-ai-secrets",
                                    "app.kubernetes.io/managed-by": "agentic.platform"}},
            "data": {k: base64.b64encode(raw(v)).decode() for k, v in data.items()}}
    k8s.CoreV1Api(api).create_namespaced_secret(namespace, body)


def create_agent_deployment(api, namespace: str, replicas: int = 3) -> None:
    """A stand-in mcp-agent Deployment (kwok runs its pods) mounting the Secret as files."""
    labels = {"app.kubernetes.io/name": "mcp-agent"}
    body = {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "mcp-agent", "namespace": namespace, "labels": labels},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}},
            "template": {
                "metadata": {"labels": labels, "annotations": {"agentic.platform/secrets-version": "initial"}},
                "spec": {
                    "containers": [{
                        "name": "agent", "image": "example.invalid/mcp-agent:test",
                        "volumeMounts": [{"name": "secrets", "mountPath": "/etc/agentic/secrets", "readOnly": True}],
                        "securityContext": {"allowPrivilegeEscalation": False, "runAsNonRoot": True,
                                            "capabilities": {"drop": ["ALL"]},
                                            "seccompProfile": {"type": "RuntimeDefault"}},
                    }],
                    "volumes": [{"name": "secrets", "secret": {"secretName": SECRET}}],
                },
            },
        },
    }
    k8s.AppsV1Api(api).create_namespaced_deployment(namespace, body)


def wait_deployment_available(api, namespace: str, name: str = "mcp-agent", timeout: float = 120) -> None:
    apps = k8s.AppsV1Api(api)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        dep = apps.read_namespaced_deployment(name, namespace)
        st = dep.status
        if (st.available_replicas or 0) == dep.spec.replicas and (st.updated_replicas or 0) == dep.spec.replicas:
            return
        time.sleep(0.5)
    raise AssertionError(f"Deployment {namespace}/{name} not available in {timeout}s")


def read_secret(api, namespace: str) -> tuple[dict[str, str], dict[str, str]]:
    """(data decoded, annotations) of the Secret; a value that is not UTF-8 stays bytes."""
    import base64

    def text(raw: bytes) -> str | bytes:
        try:
            return raw.decode()
        except UnicodeDecodeError:
            return raw

    obj = k8s.CoreV1Api(api).read_namespaced_secret(SECRET, namespace)
    data = {k: text(base64.b64decode(v)) for k, v in (obj.data or {}).items()}
    return data, dict(obj.metadata.annotations or {})


def lease(api, namespace: str):
    """The rotation lock of the Secret (None when nobody holds it)."""
    try:
        return k8s.CoordinationV1Api(api).read_namespaced_lease(f"{SECRET}.rotation", namespace)
    except k8s.ApiException as exc:
        if exc.status == 404:
            return None
        raise


def rotation_state(api, namespace: str, key: str = "redis-password") -> dict:
    _, ann = read_secret(api, namespace)
    raw = ann.get(f"rotation.agentic.platform/{key}")
    return json.loads(raw) if raw else {}


class KubeletSync(threading.Thread):
    """Keeps <dir>/<key> equal to the Secret's value, atomically (write + rename), as kubelet does."""

    def __init__(self, api, namespace: str, directory: Path, key: str = "redis-password", interval: float = 0.1):
        super().__init__(daemon=True)
        self.api, self.namespace, self.key, self.interval = api, namespace, key, interval
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.path = self.dir / key
        self.stop_event = threading.Event()
        self.sync_once()

    def sync_once(self) -> None:
        data, _ = read_secret(self.api, self.namespace)
        value = data[self.key]
        if not self.path.exists() or self.path.read_text() != value:
            tmp = self.dir / f".{self.key}.tmp"
            tmp.write_text(value)
            os.replace(tmp, self.path)

    def run(self) -> None:
        while not self.stop_event.is_set():
            with contextlib.suppress(Exception):
                self.sync_once()
            self.stop_event.wait(self.interval)

    def stop(self) -> None:
        self.stop_event.set()
        self.join(timeout=10)


class ClientLoad:
    """Worker threads, each holding several connections that re-authenticate from the credential file.

    Every `reconnect_every` operations a connection is dropped and a new one AUTHs with the
    password read from the file at that moment. Counts auth failures, other errors, acknowledged
    writes (verified at the end: a lost write is acknowledged but missing), and SET/GET latencies.
    """

    def __init__(self, port: int, password_file: Path, threads: int = 6, connections: int = 4,
                 reconnect_every: int = 5):
        self.port, self.password_file = port, Path(password_file)
        self.nthreads, self.nconns, self.reconnect_every = threads, connections, reconnect_every
        self.stop_event = threading.Event()
        self.lock = threading.Lock()
        self.auth_failures = 0
        self.errors = 0
        self.connects = 0
        self.acked: dict[str, str] = {}
        self.latencies: list[tuple[float, str, float]] = []  # (t, op, seconds)
        self.threads: list[threading.Thread] = []
        self.run_id = secrets.token_hex(4)

    def _connect(self) -> redis.Redis | None:
        password = self.password_file.read_text()
        conn = redis.Redis(host="127.0.0.1", port=self.port, username="agent", password=password,
                           socket_timeout=5, single_connection_client=True)
        try:
            conn.ping()
        except redis.AuthenticationError:
            with self.lock:
                self.auth_failures += 1
            return None
        except redis.RedisError:
            with self.lock:
                self.errors += 1
            return None
        with self.lock:
            self.connects += 1
        return conn

    def _worker(self, index: int) -> None:
        conns: list[redis.Redis | None] = [None] * self.nconns
        ops = 0
        while not self.stop_event.is_set():
            slot = ops % self.nconns
            if conns[slot] is None or ops % (self.reconnect_every * self.nconns) < self.nconns:
                if conns[slot] is not None:
                    conns[slot].close()
                conns[slot] = self._connect()
                if conns[slot] is None:
                    time.sleep(0.01)
                    ops += 1
                    continue
            conn = conns[slot]
            key = f"load:{self.run_id}:{index}:{ops}"
            value = secrets.token_hex(8)
            try:
                t0 = time.perf_counter()
                conn.set(key, value)
                t1 = time.perf_counter()
                with self.lock:
                    self.acked[key] = value
                got = conn.get(key)
                t2 = time.perf_counter()
                if got is None or got.decode() != value:
                    with self.lock:
                        self.errors += 1
                with self.lock:
                    self.latencies.append((t0, "SET", t1 - t0))
                    self.latencies.append((t1, "GET", t2 - t1))
            except redis.AuthenticationError:
                with self.lock:
                    self.auth_failures += 1
                conns[slot] = None
            except redis.RedisError:
                with self.lock:
                    self.errors += 1
                conns[slot] = None
            ops += 1
        for conn in conns:
            if conn is not None:
                conn.close()

    def start(self) -> ClientLoad:
        for i in range(self.nthreads):
            t = threading.Thread(target=self._worker, args=(i,), daemon=True)
            t.start()
            self.threads.append(t)
        return self

    def stop(self) -> None:
        self.stop_event.set()
        for t in self.threads:
            t.join(timeout=30)

    def lost_writes(self, admin: redis.Redis) -> int:
        keys = list(self.acked)
        lost = 0
        for i in range(0, len(keys), 500):
            chunk = keys[i:i + 500]
            for key, got in zip(chunk, admin.mget(chunk), strict=True):
                if got is None or got.decode() != self.acked[key]:
                    lost += 1
        return lost


def run_playbook(namespace: str, redis_port: int, audit_log: Path, *extra: str, env: dict | None = None,
                 check: bool = False, verbosity: str = "", extra_vars: dict | None = None,
                 background: bool = False):
    """ansible-playbook playbooks/rotate_secrets.yml against the local inventory, pointed at the test namespace."""
    evars = {"agentic_namespace": namespace, "rotation_redis_port": redis_port,
             "rotation_redis_host": "127.0.0.1", "rotation_audit_log": str(audit_log),
             "rotation_redis_drain_seconds": 1, "rotation_wait_timeout": 120}
    evars.update(extra_vars or {})
    cmd = [str(ROOT / ".venv/bin/ansible-playbook"), "playbooks/rotate_secrets.yml", "-i", "inventories/local",
           "-e", json.dumps(evars), *extra]
    if check:
        cmd.append("--check")
    if verbosity:
        cmd.append(verbosity)
    full_env = {**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1",
                "ANSIBLE_FORCE_COLOR": "0", **(env or {})}
    if background:
        return subprocess.Popen(cmd, cwd=ROOT, env=full_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True)
    return subprocess.run(cmd, cwd=ROOT, env=full_env, capture_output=True, text=True, check=False)


def recap(output: str) -> dict[str, int]:
    """The PLAY RECAP counters of the single host."""
    for line in output.splitlines():
        if line.startswith("local") and "ok=" in line:
            return {k: int(v) for k, v in (p.split("=") for p in line.split(":", 1)[1].split())}
    raise AssertionError(f"no PLAY RECAP in output:\n{output[-3000:]}")

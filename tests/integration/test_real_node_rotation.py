"""Secret rotation against the real node: site.yml deploys the agent and Redis onto real pods
(localcluster/real-node-vars.yml), then playbooks/rotate_secrets.yml rotates as an operator runs
it, and the pods' own view of the mounted Secret (the real kubelet's refresh) is what is judged.

- Redis: client pods that mount the agent's Secret volume but are NOT rolled by the rotation keep
  writing through the Service, re-reading the password file for each connection: zero
  authentication failures, zero lost writes, Redis never restarted nor taken out of its Service,
  with the role's default drain (which must cover the kubelet's refresh of the mounted files).
- JWT: the new public key is in the running pods' files (JWKS) before it signs, and after the
  switch the previous key stays there for the overlap.
- The rotation CronJob of docs/examples/ runs as a Job on the real node (its image built here by
  localcluster/images.py) under the namespace step's NetworkPolicies and rotates: the policies let
  it reach the API server and Redis. The istiod egress policy is checked as the API server stored it.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import re
import subprocess
import threading
import time
import uuid
from pathlib import Path

import pytest
import yaml
from site_support import ROOT, ansible_env, recycle_volumes, run_site

from localcluster import cluster, images, node

pytestmark = pytest.mark.cluster

VARS = f"@{ROOT / 'localcluster' / 'real-node-vars.yml'}"
AGENT_PODS = "app.kubernetes.io/name=mcp-agent,app.kubernetes.io/instance"  # not the writers
ROLE_DEFAULTS = yaml.safe_load((ROOT / "roles" / "rotation" / "defaults" / "main.yml").read_text())

# A client of Redis as the agents are: one connection per batch of writes, the password read
# from the mounted file each time (what a client that reconnects does). It waits until Redis
# answers at all (kube-router admits a new pod's address a moment after it starts), then counts
# until /tmp/stop appears; the password is never printed.
WRITER = r"""
import hashlib, json, os, socket, sys, time
PATH, USER, KEY = "/etc/agentic/secrets/redis-password", "agent", "writes:" + os.environ["HOSTNAME"]

def command(sock, *args):
    sock.sendall(("*%d\r\n" % len(args) + "".join("$%d\r\n%s\r\n" % (len(a.encode()), a) for a in args)).encode())
    reply = b""
    while not reply.endswith(b"\r\n"):
        chunk = sock.recv(4096)
        if not chunk:
            raise OSError("connection closed")
        reply += chunk
    return reply.decode().strip()

def session(password):
    sock = socket.create_connection(("redis", 6379), 3)
    sock.settimeout(3)
    return sock, command(sock, "AUTH", USER, password)

first = open(PATH).read().strip()
deadline = time.monotonic() + 120
while True:
    try:
        sock, reply = session(first)
        sock.close()
        if reply == "+OK":
            break
    except OSError:
        pass
    if time.monotonic() > deadline:
        sys.exit("Redis never answered")
    time.sleep(1)
open("/tmp/ready", "w").close()
stats = {"acked": 0, "auth_failures": 0, "errors": 0, "passwords_seen": 1, "last_error": ""}
seen, n = {hashlib.sha256(first.encode()).hexdigest()}, 0
while not os.path.exists("/tmp/stop"):
    password = open(PATH).read().strip()
    digest = hashlib.sha256(password.encode()).hexdigest()
    if digest not in seen:
        seen.add(digest)
        stats["passwords_seen"] += 1
        stats["new_file_at"] = time.time()  # the kubelet's refresh, as this pod sees it
    try:
        sock, reply = session(password)
        with sock:
            if reply != "+OK":
                stats["auth_failures"] += 1
                stats["last_error"] = reply[:60]
            else:
                for _ in range(10):
                    n += 1
                    if command(sock, "RPUSH", KEY, str(n)).startswith(":"):
                        stats["acked"] += 1
                    else:
                        stats["errors"] += 1
    except OSError as e:
        stats["errors"] += 1
        stats["last_error"] = str(e)[:60]
    time.sleep(0.05)
sock, reply = session(open(PATH).read().strip())
with sock:
    stats["stored"] = int(command(sock, "LLEN", KEY)[1:]) if reply == "+OK" else reply[:60]
sock, reply = session(first)
sock.close()
stats["first_password_now"] = reply.split(" ")[0]
print(json.dumps(stats), flush=True)
"""

SECRET_FILES = r"""
import hashlib, json, os, sys
d = "/etc/agentic/secrets"
out = {}
for name in sorted(os.listdir(d)):
    if name.startswith(".."):
        continue
    raw = open(os.path.join(d, name), "rb").read()
    out[name] = raw.decode() if name.endswith(("-kid", "jwks.json", "-public-key")) else hashlib.sha256(raw).hexdigest()
print(json.dumps(out))
"""


def _connection(kubectl) -> list[str]:
    return ["-e", f"agentic_kubeconfig={kubectl.kubeconfig}", "-e", f"agentic_context=agentic-{kubectl.name}"]


def _apiserver_endpoints(kubectl) -> dict:
    """The namespace step's API server egress narrowed to this cluster's endpoints, as an operator
    does (docs/rotation.md): what a NetworkPolicy sees after the Service's address is translated."""
    slices = kubectl.json("-n", "default", "get", "endpointslices", "-l", "kubernetes.io/service-name=kubernetes")
    addresses = sorted({a for s in slices["items"] for e in s["endpoints"] for a in e["addresses"]})
    ports = sorted({p["port"] for s in slices["items"] for p in s["ports"]})
    return {"namespace_apiserver_cidrs": [{"cidr": f"{a}/32"} for a in addresses], "namespace_apiserver_ports": ports}


@pytest.fixture(scope="module")
def converged(real_node):
    ns = f"rr-{uuid.uuid4().hex[:8]}"
    run = run_site(ns, "-e", VARS, *_connection(real_node), "-e", json.dumps(_apiserver_endpoints(real_node)),
                   as_json=False)
    assert run.rc == 0, run.output[-3000:]
    yield ns
    real_node.run("delete", "namespace", ns, "--wait=false", check=False)
    recycle_volumes(real_node, ns)


def _rotate(kubectl, ns: str, tmp: Path, extra_vars: dict) -> subprocess.CompletedProcess:
    evars = {"agentic_namespace": ns, "rotation_force": True, "rotation_wait_timeout": 300,
             "rotation_audit_log": str(tmp / "audit.jsonl"), **extra_vars}
    cmd = [str(ROOT / ".venv" / "bin" / "ansible-playbook"), "playbooks/rotate_secrets.yml", "-i", "inventories/local",
           *_connection(kubectl), "-e", json.dumps(evars)]
    return subprocess.run(cmd, cwd=ROOT, env=ansible_env(as_json=False), capture_output=True, text=True, check=False)


def _secret(kubectl, ns: str) -> dict[str, str]:
    data = kubectl.json("-n", ns, "get", "secret", "agentic-ai-secrets")["data"]
    return {k: base64.b64decode(v).decode() for k, v in data.items()}


class PortForward:
    """kubectl port-forward to Redis's Service: how a play outside the cluster reaches it (the
    tunnel enters the pod's own network namespace, as an operator's does). kubectl exits when a
    forwarded stream fails; it is started again on the same local port."""

    def __init__(self, kubectl, ns: str):
        self.argv = [kubectl.binary, f"--kubeconfig={kubectl.kubeconfig}", "-n", ns, "port-forward", "svc/redis"]
        self.stopping = threading.Event()
        self.proc = self._start(":6379")
        self.port = self.listening
        self.supervisor = threading.Thread(target=self._keep_up, daemon=True)
        self.supervisor.start()

    def _start(self, ports: str) -> subprocess.Popen:
        proc = subprocess.Popen([*self.argv, ports], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        line = proc.stdout.readline()
        match = re.search(r"127\.0\.0\.1:(\d+)", line)
        if not match:
            proc.kill()
            raise AssertionError(f"port-forward did not start: {line}")
        self.listening = int(match.group(1))
        threading.Thread(target=proc.stdout.read, daemon=True).start()  # keep its pipe drained
        return proc

    def _keep_up(self) -> None:
        while not self.stopping.is_set():
            if self.proc.poll() is not None:
                self.proc = self._start(f"{self.port}:6379")
            time.sleep(0.2)

    def close(self) -> None:
        self.stopping.set()
        self.supervisor.join()
        self.proc.terminate()
        self.proc.wait(timeout=10)


def _writer_pod(kubectl, ns: str, name: str) -> dict:
    """A pod with the agent's Pod labels for the NetworkPolicies (name only: no Service, PDB or
    ReplicaSet selects it) and the agent Deployment's own Secret volume."""
    template = kubectl.json("-n", ns, "get", "deployment", "mcp-agent")["spec"]["template"]["spec"]
    volume = next(v for v in template["volumes"] if v["name"] == "secrets")
    small = {"cpu": "10m", "memory": "32Mi", "ephemeral-storage": "16Mi"}
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "labels": {"app.kubernetes.io/name": "mcp-agent", "test": "rotation-writer"}},
        "spec": {
            "restartPolicy": "Never", "automountServiceAccountToken": False, "enableServiceLinks": False,
            "terminationGracePeriodSeconds": 2,
            "nodeSelector": {"kubernetes.io/hostname": node.NODE_NAME},
            "tolerations": [{**node.TAINT, "operator": "Equal"}],
            "securityContext": {"runAsNonRoot": True, "runAsUser": 10001, "runAsGroup": 10001, "fsGroup": 10001,
                                "seccompProfile": {"type": "RuntimeDefault"}},
            "containers": [{
                "name": "writer", "image": images.AGENT_IMAGE, "imagePullPolicy": "Never",
                "command": ["python3", "-c", WRITER],
                "readinessProbe": {"exec": {"command": ["test", "-f", "/tmp/ready"]}, "periodSeconds": 1},
                "resources": {"requests": small, "limits": {**small, "cpu": "200m", "memory": "64Mi"}},
                "securityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                                    "capabilities": {"drop": ["ALL"]}},
                "volumeMounts": [{"name": "secrets", "mountPath": "/etc/agentic/secrets", "readOnly": True},
                                 {"name": "tmp", "mountPath": "/tmp"}],
            }],
            "volumes": [volume, {"name": "tmp", "emptyDir": {"sizeLimit": "16Mi"}}],
        },
    }


def _redis_ready_endpoints(kubectl, ns: str) -> int:
    slices = kubectl.json("-n", ns, "get", "endpointslices", "-l", "kubernetes.io/service-name=redis")["items"]
    return sum(1 for s in slices for e in s.get("endpoints") or [] if e["conditions"].get("ready"))


def _fast_agent_roll(kubectl, ns: str) -> None:
    """The agent's probes without their initial delays (agentic_runtime is Ready within seconds):
    the rotation's roll then ends well before the kubelet's next sync of other pods, the case in
    which a drain shorter than the kubelet's refresh removes a password those pods still read."""
    probes = ("startupProbe", "readinessProbe")
    patch = [{"op": "replace", "path": f"/spec/template/spec/containers/0/{probe}/{field}", "value": value}
             for probe in probes for field, value in (("initialDelaySeconds", 0), ("periodSeconds", 1))]
    kubectl.run("-n", ns, "patch", "deployment", "mcp-agent", "--type=json", "-p", json.dumps(patch))
    kubectl.run("-n", ns, "rollout", "status", "deployment/mcp-agent", "--timeout=300s")


def test_redis_rotation_with_in_cluster_writers_loses_nothing(converged, real_node, tmp_path):
    ns, kubectl = converged, real_node
    _fast_agent_roll(kubectl, ns)
    writers = [f"writer-{i}" for i in range(2)]
    for name in writers:
        kubectl.apply(_writer_pod(kubectl, ns, name), "-n", ns)
    for name in writers:
        kubectl.run("-n", ns, "wait", "--for=condition=Ready", f"pod/{name}", "--timeout=180s")
    before = _secret(kubectl, ns)
    samples: list[int] = []
    done = threading.Event()

    def watch_redis():  # what Redis's Service routes to, through the rotation
        while not done.is_set():
            samples.append(_redis_ready_endpoints(kubectl, ns))
            time.sleep(1)

    watcher = threading.Thread(target=watch_redis)
    forward = PortForward(kubectl, ns)
    watcher.start()
    try:
        # The role's default drain: the rotation alone must wait out the kubelet's refresh.
        run = _rotate(kubectl, ns, tmp_path, {
            "rotation_jwt_enabled": False, "rotation_redis_host": "127.0.0.1", "rotation_redis_port": forward.port,
            "rotation_redis_drain_seconds": ROLE_DEFAULTS["rotation_redis_drain_seconds"]})
        again = _rotate(kubectl, ns, tmp_path, {
            "rotation_force": False, "rotation_jwt_enabled": False, "rotation_redis_host": "127.0.0.1",
            "rotation_redis_port": forward.port})
    finally:
        done.set()
        watcher.join()
        forward.close()
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert again.returncode == 0 and "changed=0" in again.stdout, again.stdout[-2000:]
    time.sleep(3)  # writes after the old password went
    stats = {}
    for name in writers:
        kubectl.run("-n", ns, "exec", name, "--", "touch", "/tmp/stop")
    for name in writers:
        kubectl.run("-n", ns, "wait", "--for=jsonpath={.status.phase}=Succeeded", f"pod/{name}", "--timeout=60s")
        stats[name] = json.loads(kubectl.run("-n", ns, "logs", name).stdout.strip().splitlines()[-1])
    after = _secret(kubectl, ns)
    history = json.loads(kubectl.json("-n", ns, "get", "secret", "agentic-ai-secrets")["metadata"]["annotations"][
        "rotation.agentic.platform/redis-password"])["history"]
    old_removed = dt.datetime.fromisoformat(next(at for phase, at in history if phase == "old-removed")).timestamp()
    assert after["redis-password"] != before["redis-password"]
    assert "redis-password-previous" not in after and "redis-password-next" not in after
    for name, s in stats.items():
        assert s["auth_failures"] == 0 and s["errors"] == 0, (name, s)
        assert s["acked"] > 0 and s["stored"] == s["acked"], (name, s)  # every acknowledged write is there
        assert s["passwords_seen"] == 2, (name, s)  # the kubelet delivered the new file to the running pod
        assert s["new_file_at"] < old_removed, (name, s, history)  # ... before the drain ended
        assert s["first_password_now"] == "-WRONGPASS", (name, s)  # and the old password is gone
    redis_pod = kubectl.json("-n", ns, "get", "pod", "redis-0")
    status = redis_pod["status"]["containerStatuses"][0]
    assert status["restartCount"] == 0 and status["ready"], status
    assert samples and min(samples) == 1, samples  # never taken out of its Service
    output = run.stdout + run.stderr + again.stdout + again.stderr
    for value in (before["redis-password"], after["redis-password"], before["redis-admin-password"]):
        assert value not in output


def _agent_files(kubectl, ns: str) -> dict[str, dict]:
    pods = [p["metadata"]["name"] for p in kubectl.json("-n", ns, "get", "pods", "-l", AGENT_PODS)["items"]
            if not p["metadata"].get("deletionTimestamp")]
    assert pods
    return {pod: json.loads(kubectl.run("-n", ns, "exec", pod, "-c", "mcp-agent", "--", "python3", "-c",
                                        SECRET_FILES).stdout) for pod in pods}


def _kids(jwks: str) -> set[str]:
    return {key["kid"] for key in json.loads(jwks)["keys"]}


def _sha(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def test_jwt_rotation_publishes_the_new_key_to_running_pods_before_it_signs(converged, real_node, tmp_path):
    ns, kubectl = converged, real_node
    jwt_only = {"rotation_redis_enabled": False, "rotation_jwt_max_token_lifetime": 3600}
    first_private = _secret(kubectl, ns)["jwt-private-key"]
    # Publish, and wait an hour before signing: the run stops at "published" (pods rolled).
    published = _rotate(kubectl, ns, tmp_path, {**jwt_only, "rotation_jwt_publish_lead": 3600})
    assert published.returncode == 0, published.stdout[-3000:]
    secret = _secret(kubectl, ns)
    old_kid, new_kid = secret["jwt-kid"], secret["jwt-next-kid"]
    for pod, files in _agent_files(kubectl, ns).items():
        assert _kids(files.get("jwt-jwks.json", '{"keys": []}')) == {old_kid, new_kid}, (pod, sorted(files))
        assert files["jwt-kid"] == old_kid, pod
        assert files["jwt-private-key"] == _sha(secret["jwt-private-key"]), pod  # still signing with the old key
        assert "jwt-next-private-key" not in files, pod
    # Sign with the new key: the previous public key stays published in the pods for the overlap.
    promoted = _rotate(kubectl, ns, tmp_path, {**jwt_only, "rotation_force": False, "rotation_jwt_publish_lead": 0})
    assert promoted.returncode == 0, promoted.stdout[-3000:]
    secret = _secret(kubectl, ns)
    assert secret["jwt-kid"] == new_kid
    for pod, files in _agent_files(kubectl, ns).items():
        assert files["jwt-kid"] == new_kid and files.get("jwt-previous-kid") == old_kid, (pod, sorted(files))
        assert _kids(files["jwt-jwks.json"]) == {old_kid, new_kid}, pod
        assert files["jwt-previous-public-key"] == secret["jwt-previous-public-key"], pod
        assert files["jwt-private-key"] == _sha(secret["jwt-private-key"]), pod
    output = published.stdout + promoted.stdout + published.stderr + promoted.stderr
    for private in (first_private, secret["jwt-private-key"]):
        assert private.splitlines()[1] not in output  # a PEM body line of either signing key


def _example_objects(ns: str) -> list[dict]:
    """docs/examples/rotation-cronjob.yaml in the test namespace, with the image built here, placed
    on the real node, rotating the Redis password now (a short drain: no other client here)."""
    objects = list(yaml.safe_load_all((ROOT / "docs" / "examples" / "rotation-cronjob.yaml").read_text()))
    for obj in objects:
        obj["metadata"]["namespace"] = ns
        if obj["kind"] == "RoleBinding":
            obj["subjects"][0]["namespace"] = ns
        if obj["kind"] == "CronJob":
            pod = obj["spec"]["jobTemplate"]["spec"]["template"]["spec"]
            pod.update(nodeSelector={"kubernetes.io/hostname": node.NODE_NAME},
                       tolerations=[{**node.TAINT, "operator": "Equal"}])
            container = pod["containers"][0]
            container.update(image=images.ROTATION_IMAGE, imagePullPolicy="Never")
            container["args"] += ["-e", json.dumps({"agentic_namespace": ns, "rotation_force": True,
                                                    "rotation_jwt_enabled": False, "rotation_redis_drain_seconds": 5})]
    return objects


def test_the_rotation_cronjob_example_runs_under_the_shipped_network_policies(converged, real_node):
    ns, kubectl = converged, real_node
    node.import_images(cluster.cluster_dir(kubectl.name), images.rotation_image())
    before = _secret(kubectl, ns)
    for obj in _example_objects(ns):
        kubectl.apply(obj)
    kubectl.run("-n", ns, "create", "job", "--from=cronjob/agentic-secret-rotation", "rotate-now")
    done = kubectl.run("-n", ns, "wait", "--for=condition=Complete", "job/rotate-now", "--timeout=420s", check=False)
    logs = kubectl.run("-n", ns, "logs", "job/rotate-now", "--tail=40", check=False).stdout
    assert done.returncode == 0, logs
    assert re.search(r"ok=\d+\s+changed=[1-9]", logs), logs
    after = _secret(kubectl, ns)
    assert after["redis-password"] != before["redis-password"] and "redis-password-previous" not in after
    for value in (before["redis-password"], after["redis-password"], after["redis-admin-password"]):
        assert value not in logs


def test_sidecars_may_reach_istiod(converged, real_node):
    policy = real_node.json("-n", converged, "get", "networkpolicy", "allow-istiod-egress")["spec"]
    assert policy["podSelector"] == {} and policy["policyTypes"] == ["Egress"]
    (rule,) = policy["egress"]
    assert rule["to"] == [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "istio-system"}},
                           "podSelector": {"matchLabels": {"app": "istiod"}}}]
    assert rule["ports"] == [{"protocol": "TCP", "port": 15012}]

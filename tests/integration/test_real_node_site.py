"""site.yml converges the local inventory onto the real node (localcluster/real-node-vars.yml),
and the service it deploys works from inside the cluster: what `make demo` ends with."""

from __future__ import annotations

import json
import threading
import time
import uuid

import pytest
from site_support import ROOT, recycle_volumes, run_site

from localcluster import demo, node

pytestmark = pytest.mark.cluster


VARS = f"@{ROOT / 'localcluster' / 'real-node-vars.yml'}"


@pytest.fixture(scope="module")
def converged(real_node):
    ns = f"rs-{uuid.uuid4().hex[:8]}"
    run = run_site(ns, "-e", VARS, as_json=False)
    yield ns, run
    real_node.run("delete", "namespace", ns, "--wait=false", check=False)
    recycle_volumes(real_node, ns)


def test_the_agent_answers_from_real_pods_and_redis_serves_with_its_acl(converged, real_node):
    ns, run = converged
    assert run.rc == 0, run.output[-3000:]
    result = demo.check(real_node.name, ns)
    assert result["nodes"] == [node.NODE_NAME]
    for path in ("/health", "/ready"):
        status, body = result["http"][path]
        assert status == 200 and '"status":"healthy"' in body, (path, status, body)
    # Redis refuses a client without credentials and accepts the agent's ACL user with the
    # password file its pod mounts, through the Service name and the shipped NetworkPolicies.
    assert result["redis"]["unauthenticated"].startswith("-NOAUTH")
    assert (result["redis"]["auth"], result["redis"]["ping"]) == ("+OK", "+PONG")


def test_restricted_pod_security_admits_the_stack_and_it_runs_non_root_read_only(converged, real_node):
    ns, _run = converged
    labels = real_node.json("get", "namespace", ns)["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"
    for selector, container in (("app.kubernetes.io/name=mcp-agent", "mcp-agent"), ("app.kubernetes.io/name=redis",
                                                                                    "redis")):
        pod = real_node.run("-n", ns, "get", "pod", "-l", selector, "-o",
                            "jsonpath={.items[0].metadata.name}").stdout
        uid = real_node.run("-n", ns, "exec", pod, "-c", container, "--", "id", "-u").stdout.strip()
        assert int(uid) >= 10000, (selector, uid)
        denied = real_node.run("-n", ns, "exec", pod, "-c", container, "--", "touch", "/written", check=False)
        assert denied.returncode != 0 and "Read-only file system" in denied.stderr, (selector, denied.stderr)


def test_a_config_change_rolls_the_agent_pods_and_never_drops_below_the_pdb(converged, real_node):
    ns, run = converged
    assert run.rc == 0, run.output[-3000:]
    selector = "app.kubernetes.io/name=mcp-agent"
    pdb_min = real_node.json("-n", ns, "get", "pdb", "-l", selector)["items"][0]["spec"]["minAvailable"]
    before = set(real_node.run("-n", ns, "get", "pods", "-l", selector, "-o",
                               "jsonpath={.items[*].metadata.name}").stdout.split())
    ready_counts: list[int] = []
    done = threading.Event()

    def watch_endpoints():  # what the Service really routes to, sampled through the rollout
        while not done.is_set():
            slices = real_node.json("-n", ns, "get", "endpointslices", "-l",
                                    "kubernetes.io/service-name=mcp-agent")["items"]
            ready_counts.append(sum(1 for s in slices for e in s.get("endpoints") or []
                                    if e["conditions"].get("ready")))
            time.sleep(0.2)

    watcher = threading.Thread(target=watch_endpoints)
    watcher.start()
    try:
        again = run_site(ns, "-e", VARS, "-e", "config_agent_max_concurrent_workflows=99", as_json=False)
    finally:
        done.set()
        watcher.join()
    assert again.rc == 0, again.output[-3000:]
    after = {p["metadata"]["name"] for p in real_node.json("-n", ns, "get", "pods", "-l", selector)["items"]
             if not p["metadata"].get("deletionTimestamp")}
    assert before and after and not before & after  # every pod was replaced
    assert len(ready_counts) > 10 and min(ready_counts) >= pdb_min, ready_counts


CONNECT = """
import json, socket, sys
out = {}
for port in sys.argv[2:]:
    try:
        socket.create_connection((sys.argv[1], int(port)), 3).close()
        out[port] = "ok"
    except ConnectionRefusedError:
        out[port] = "refused"
    except OSError as e:
        out[port] = str(e)
print(json.dumps(out))
"""


def _client_pod(kubectl, namespace: str) -> str:
    """A long-running pod on the real node to connect from (kube-router admits a new pod's address
    into the policies' sets a moment after it starts, so a pod that connects at once is refused)."""
    name = "client-" + uuid.uuid4().hex[:6]
    pod = demo._probe_pod(name, "")
    pod["spec"]["containers"][0]["command"] = ["sleep", "infinity"]
    kubectl.apply(pod, "-n", namespace)
    kubectl.run("-n", namespace, "wait", "--for=condition=Ready", f"pod/{name}", "--timeout=120s")
    return name


def _connects(kubectl, namespace: str, pod: str, host: str, expected: dict, timeout: float = 60) -> dict:
    """TCP connects from the pod until they give `expected` (port -> ok/refused) or time runs out."""
    deadline = time.monotonic() + timeout
    while True:
        out = json.loads(kubectl.run("-n", namespace, "exec", pod, "--", "python3", "-c", CONNECT, host,
                                     *expected).stdout.strip())
        if out == expected or time.monotonic() > deadline:
            return out
        time.sleep(2)


def test_the_metrics_port_answers_only_from_the_monitoring_namespace(converged, real_node):
    ns, run = converged
    assert run.rc == 0, run.output[-3000:]
    host = f"mcp-agent.{ns}.svc.cluster.local"
    # Kept afterwards: where the monitoring stack lives (a later run may find it terminating otherwise).
    real_node.run("create", "namespace", "monitoring", check=False)
    other = f"other-{uuid.uuid4().hex[:6]}"
    real_node.run("create", "namespace", other)
    scraper = _client_pod(real_node, "monitoring")
    try:
        assert _connects(real_node, "monitoring", scraper, host, {"9090": "ok"}) == {"9090": "ok"}
        # From elsewhere the API port answers (its policy admits any source) and metrics do not.
        stranger = _client_pod(real_node, other)
        expected = {"8080": "ok", "9090": "refused"}
        assert _connects(real_node, other, stranger, host, expected) == expected
    finally:
        real_node.run("-n", "monitoring", "delete", "pod", scraper, "--wait=false", check=False)
        real_node.run("delete", "namespace", other, "--wait=false", check=False)

"""Behavior on the local cluster's real node (containerd + runc, kubelet, kube-proxy,
kube-router's NetworkPolicy firewall, CoreDNS): real pods, real packets, real policies.

One namespace holds Redis (Debian's redis-server with an ACL user `agent`), an agent built
from agent-runtime/ whose readiness depends on Redis, and two client pods: one with the
agent's labels, one without. The NetworkPolicies are the shape the namespace step ships:
deny all, DNS to kube-dns, agent -> Redis 6379.

Each test was seen failing with what it proves removed (a copy of the checkout against the
cluster `selftest`): kube-router killed and its KUBE-ROUTER-* chains flushed -> the stranger and
the client's egress to the API server connect ("ok" != "refused"); kube-proxy killed and its
nftables table deleted -> `redis` by Service name fails, so do DNS and the agent's readiness; the
agent's readinessProbe removed -> its endpoint stays ready with Redis gone; the namespace's
restricted label removed -> a root pod is admitted; kube-router's certificate in system:masters
-> the identity test; `up` rewriting the node's configuration -> the up-again test.
"""

from __future__ import annotations

import ipaddress
import json
import secrets
import time
import uuid

import pytest

from localcluster import cluster, images, node

pytestmark = pytest.mark.cluster

NODE_PLACEMENT = {
    "nodeSelector": {"kubernetes.io/hostname": node.NODE_NAME},
    "tolerations": [{**node.TAINT, "operator": "Equal"}],
}
RESTRICTED = {
    "allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True, "runAsNonRoot": True,
    "runAsUser": 10001, "runAsGroup": 10001, "capabilities": {"drop": ["ALL"]},
    "seccompProfile": {"type": "RuntimeDefault"},
}
SMALL = {"requests": {"cpu": "10m", "memory": "32Mi"}, "limits": {"cpu": "500m", "memory": "128Mi"}}


def _pod_spec(containers: list[dict], **extra) -> dict:
    for c in containers:
        c.setdefault("imagePullPolicy", "Never")
        c.setdefault("securityContext", RESTRICTED)
        c.setdefault("resources", SMALL)
        c.setdefault("volumeMounts", [{"name": "tmp", "mountPath": "/tmp"}])
    return {**NODE_PLACEMENT, "automountServiceAccountToken": False, "enableServiceLinks": False,
            "terminationGracePeriodSeconds": 2, "containers": containers,
            "volumes": [{"name": "tmp", "emptyDir": {}}], **extra}


def _deployment(name: str, labels: dict, containers: list[dict]) -> dict:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "labels": labels},
            "spec": {"replicas": 1, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels}, "spec": _pod_spec(containers)}}}


def _service(name: str, labels: dict, port: int) -> dict:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
            "spec": {"selector": labels, "ports": [{"port": port, "targetPort": port}]}}


def policies() -> list[dict]:
    def policy(name, spec):
        return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": name},
                "spec": spec}
    dns = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
           "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}
    redis_port = [{"protocol": "TCP", "port": 6379}]
    return [
        policy("default-deny", {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}),
        policy("allow-dns-egress", {"podSelector": {}, "policyTypes": ["Egress"], "egress": [
            {"to": [dns], "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]}]}),
        policy("agent-to-redis", {"podSelector": {"matchLabels": {"app": "agent"}}, "policyTypes": ["Egress"],
                                  "egress": [{"to": [{"podSelector": {"matchLabels": {"app": "redis"}}}],
                                              "ports": redis_port}]}),
        policy("redis-from-agent", {"podSelector": {"matchLabels": {"app": "redis"}}, "policyTypes": ["Ingress"],
                                    "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "agent"}}}],
                                                 "ports": redis_port}]}),
    ]


@pytest.fixture(scope="module")
def stack(real_node):
    kubectl = real_node
    ns = f"rn-{uuid.uuid4().hex[:8]}"
    password = secrets.token_hex(16)
    kubectl.run("create", "namespace", ns)
    kubectl.run("label", "namespace", ns, "pod-security.kubernetes.io/enforce=restricted")
    sleeper = {"image": images.REDIS_IMAGE, "command": ["sleep", "infinity"]}
    objects = [
        *policies(),
        _deployment("redis", {"app": "redis"}, [{
            "name": "redis", "image": images.REDIS_IMAGE,
            # The pod's own network namespace: all its addresses are the pod's.
            "command": ["redis-server", "--bind", "0.0.0.0", "--port", "6379", "--dir", "/tmp", "--save", "",  # noqa: S104
                        "--user", "default", "off",
                        "--user", "agent", "on", f">{password}", "~*", "+@read", "+@write", "+ping", "+acl|whoami"],
            "ports": [{"containerPort": 6379}]}]),
        _service("redis", {"app": "redis"}, 6379),
        _deployment("agent", {"app": "agent", "component": "api"}, [{
            "name": "agent", "image": images.AGENT_IMAGE, "args": ["--ready-tcp", "redis:6379"],
            "ports": [{"containerPort": 8080}],
            "readinessProbe": {"httpGet": {"path": "/ready", "port": 8080}, "periodSeconds": 1,
                               "failureThreshold": 1}}]),
        _service("agent", {"app": "agent", "component": "api"}, 8080),
        _deployment("agent-client", {"app": "agent", "role": "client"}, [{"name": "client", **sleeper}]),
        _deployment("stranger", {"app": "stranger"}, [{"name": "client", **sleeper}]),
    ]
    for obj in objects:
        kubectl.apply(obj, "-n", ns)
    kubectl.run("-n", ns, "wait", "--for=condition=Available", "deployment", "--all", "--timeout=240s")
    yield {"ns": ns, "password": password, "kubectl": kubectl}
    kubectl.run("delete", "namespace", ns, "--wait=false", check=False)


def _exec(stack, app: str, *command: str, check: bool = True):
    pod = stack["kubectl"].run("-n", stack["ns"], "get", "pod", "-l", app, "-o",
                               "jsonpath={.items[0].metadata.name}").stdout
    return stack["kubectl"].run("-n", stack["ns"], "exec", pod, "--", *command, check=check)


# kube-router's firewall answers a connection that no policy allows with ICMP port-unreachable
# (REJECT), so the client sees "refused" at once rather than a timeout.
BLOCKED = "refused"


def _connect(stack, app: str, host: str, port: int):
    """A TCP connect from a pod: 'ok', 'refused', 'timeout' or the error."""
    code = ("import socket,sys\ntry:\n socket.create_connection((sys.argv[1], int(sys.argv[2])), 3).close()\n"
            " print('ok')\nexcept TimeoutError:\n print('timeout')\nexcept ConnectionRefusedError:\n"
            " print('refused')\nexcept OSError as e:\n print(e)\n")
    return _exec(stack, app, "python3", "-c", code, host, str(port)).stdout.strip()


def _redis(stack, app: str, *command: str):
    return _exec(stack, app, "redis-cli", "-h", "redis", "--user", "agent", "--pass", stack["password"],
                 "--no-auth-warning", *command, check=False)


def test_the_agent_reaches_redis_by_service_name_and_authenticates_as_agent(stack):
    assert _redis(stack, "role=client", "SET", "k", "v").stdout.strip() == "OK"
    assert _redis(stack, "role=client", "ACL", "WHOAMI").stdout.strip() == "agent"
    # The ACL is real: the agent user cannot run what it was not granted.
    assert "NOPERM" in _redis(stack, "role=client", "CONFIG", "GET", "maxmemory").stdout


def test_a_pod_without_the_allowed_labels_times_out_until_the_policy_is_removed(stack):
    kubectl, ns = stack["kubectl"], stack["ns"]
    assert _connect(stack, "app=stranger", "redis", 6379) == BLOCKED
    assert _connect(stack, "role=client", "redis", 6379) == "ok"  # Redis listens: the policy refused it
    kubectl.run("-n", ns, "delete", "networkpolicy", "--all")
    try:
        deadline = time.monotonic() + 30
        while (result := _connect(stack, "app=stranger", "redis", 6379)) != "ok" and time.monotonic() < deadline:
            time.sleep(1)
        assert result == "ok"
    finally:
        for policy in policies():
            kubectl.apply(policy, "-n", ns)
    deadline = time.monotonic() + 30
    while (result := _connect(stack, "app=stranger", "redis", 6379)) != BLOCKED and time.monotonic() < deadline:
        time.sleep(1)
    assert result == BLOCKED


def test_dns_egress_works_and_other_egress_is_blocked(stack):
    ns = stack["ns"]
    resolved = _exec(stack, "app=stranger", "getent", "hosts", f"redis.{ns}.svc.cluster.local").stdout.split()
    service_ip = stack["kubectl"].run("-n", ns, "get", "service", "redis", "-o",
                                      "jsonpath={.spec.clusterIP}").stdout
    assert resolved[:1] == [service_ip]
    # Egress that no policy names is dropped, in the cluster as well.
    assert _connect(stack, "role=client", "kubernetes.default.svc.cluster.local", 443) == BLOCKED
    assert _connect(stack, "role=client", "agent", 8080) == BLOCKED


def test_restricted_pods_run_as_non_root_with_a_read_only_root_filesystem(stack):
    assert _exec(stack, "app=redis", "id", "-u").stdout.strip() == "10001"
    denied = _exec(stack, "component=api", "touch", "/written", check=False)
    assert denied.returncode != 0 and "Read-only file system" in denied.stderr
    pods = stack["kubectl"].json("-n", stack["ns"], "get", "pods")["items"]
    assert pods and all(p["spec"]["nodeName"] == node.NODE_NAME for p in pods)
    # Addresses of the node's own network, never one a kwok pod may hold (the policies match by address).
    assert all(ipaddress.ip_address(p["status"]["podIP"]) in ipaddress.ip_network(node.POD_CIDR) for p in pods)
    assert not ipaddress.ip_network(node.POD_CIDR).overlaps(ipaddress.ip_network(cluster.KWOK_POD_CIDR))
    # Pod Security "restricted" is enforced: a root pod is refused at admission.
    refused = stack["kubectl"].apply({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "root"},
                                      "spec": {"containers": [{"name": "c", "image": images.REDIS_IMAGE}]}},
                                     "-n", stack["ns"], check=False)
    assert refused.returncode != 0 and "restricted" in refused.stderr


def _agent_endpoints(stack) -> list[bool]:
    slices = stack["kubectl"].json("-n", stack["ns"], "get", "endpointslices", "-l",
                                   "kubernetes.io/service-name=agent")["items"]
    return [e["conditions"].get("ready", False) for s in slices for e in s.get("endpoints") or []]


def _wait_for(check, timeout: float = 60) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(1)
    return False


def test_an_agent_whose_ready_fails_leaves_the_endpoints_and_comes_back(stack):
    kubectl, ns = stack["kubectl"], stack["ns"]
    assert _agent_endpoints(stack) == [True]
    kubectl.run("-n", ns, "scale", "deployment", "redis", "--replicas=0")
    try:
        assert _wait_for(lambda: _agent_endpoints(stack) == [False]), _agent_endpoints(stack)
        status = json.loads(kubectl.run("-n", ns, "get", "pods", "-l", "component=api", "-o", "json").stdout)
        assert status["items"][0]["status"]["phase"] == "Running"  # taken out of rotation, not killed
    finally:
        kubectl.run("-n", ns, "scale", "deployment", "redis", "--replicas=1")
    assert _wait_for(lambda: _agent_endpoints(stack) == [True], 120), _agent_endpoints(stack)


def test_up_again_keeps_every_node_process_and_kube_proxy_keeps_programming_services(stack):
    """`up` on a running cluster rewrites nothing that a running component watches."""
    kubectl, ns = stack["kubectl"], stack["ns"]
    d = cluster.cluster_dir(kubectl.name)
    before = node.read_pids(d)
    cluster.up(kubectl.name, quiet=True)
    kubectl.apply(_service("redis-again", {"app": "redis"}, 6379), "-n", ns)
    deadline = time.monotonic() + 30
    while (result := _connect(stack, "role=client", "redis-again", 6379)) != "ok" and time.monotonic() < deadline:
        time.sleep(1)
    assert result == "ok"
    assert node.read_pids(d) == before and all(cluster._alive(pid) for pid in before.values())


def test_kube_router_runs_as_its_own_read_only_identity_not_system_masters(real_node):
    """Its kubeconfig's client certificate names a user bound to a read-only ClusterRole; the
    policy tests above show that this is enough for it to enforce NetworkPolicies."""
    d = cluster.cluster_dir(real_node.name)
    kubeconfig = node.node_dir(d) / "kube-router-firewall.kubeconfig"
    assert f"--kubeconfig={kubeconfig}" in cluster._cmdline(node.read_pids(d)["kube-router"])

    def as_kube_router(*args: str) -> str:
        return real_node.run(f"--kubeconfig={kubeconfig}", *args, check=False).stdout.strip()

    review = json.loads(as_kube_router("auth", "whoami", "-o", "json"))
    assert review["status"]["userInfo"]["username"] == node.KUBE_ROUTER_USER
    assert "system:masters" not in review["status"]["userInfo"].get("groups", [])
    for resource in ("pods", "namespaces", "nodes", "networkpolicies.networking.k8s.io"):
        assert as_kube_router("auth", "can-i", "watch", resource, "--all-namespaces") == "yes", resource
    for verb, resource in (("get", "secrets"), ("create", "pods"), ("update", "networkpolicies.networking.k8s.io"),
                           ("delete", "nodes"), ("create", "clusterrolebindings.rbac.authorization.k8s.io")):
        assert as_kube_router("auth", "can-i", verb, resource, "--all-namespaces") == "no", (verb, resource)

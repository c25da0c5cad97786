"""The local cluster is a real control plane: each test proves one component does its job.

Each would fail if the component it proves were missing: the scheduler (GPU placement),
the controller-manager + kwok (Deployment Available), PodSecurity admission, ResourceQuota
admission on an extended resource, and the API server's strict field validation against
Istio's real CRD schema.
"""

from __future__ import annotations

import json
import time

import pytest

pytestmark = pytest.mark.cluster


def _pod(name: str, gpus: int = 0, **spec_extra) -> dict:
    resources = {"requests": {"cpu": "100m", "memory": "64Mi"}, "limits": {"cpu": "100m", "memory": "64Mi"}}
    if gpus:
        resources["requests"]["nvidia.com/gpu"] = str(gpus)
        resources["limits"]["nvidia.com/gpu"] = str(gpus)
    return {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
        "spec": {"containers": [{"name": "c", "image": "busybox", "resources": resources}], **spec_extra},
    }


def _wait_for(fn, timeout: float = 60, interval: float = 0.5):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s (last value: {last!r})")


def _gpu_nodes(kubectl) -> dict[str, int]:
    nodes = kubectl.json("get", "nodes", "-l", "nvidia.com/gpu.present=true,node-pool=gpu")["items"]
    return {n["metadata"]["name"]: int(n["status"]["allocatable"]["nvidia.com/gpu"]) for n in nodes}


def test_gpu_pod_lands_only_on_gpu_nodes_and_waits_when_gpus_run_out(kubectl, namespace):
    gpu_nodes = _gpu_nodes(kubectl)
    assert gpu_nodes, "the local cluster must have GPU nodes"
    # Take every GPU of the pool with one pod per node, then ask for one more.
    for i, (_node, count) in enumerate(sorted(gpu_nodes.items())):
        kubectl.apply(_pod(f"gpu-all-{i}", gpus=count), "-n", namespace)
    kubectl.apply(_pod("gpu-one-more", gpus=1), "-n", namespace)

    def placed():
        pods = kubectl.json("get", "pods", "-n", namespace)["items"]
        full = [p for p in pods if p["metadata"]["name"].startswith("gpu-all-")]
        return full if all(p["spec"].get("nodeName") for p in full) and len(full) == len(gpu_nodes) else None

    full = _wait_for(placed)
    assert {p["spec"]["nodeName"] for p in full} == set(gpu_nodes)
    # ExtendedResourceToleration admission added the toleration for the GPU taint.
    assert any(t.get("key") == "nvidia.com/gpu" for t in full[0]["spec"].get("tolerations", []))

    def unschedulable():
        pod = kubectl.json("get", "pod", "gpu-one-more", "-n", namespace)
        conds = {c["type"]: c for c in pod["status"].get("conditions", [])}
        sched = conds.get("PodScheduled")
        return pod if sched and sched["status"] == "False" and sched.get("reason") == "Unschedulable" else None

    pod = _wait_for(unschedulable)
    assert not pod["spec"].get("nodeName")
    assert pod["status"]["phase"] == "Pending"
    assert "nvidia.com/gpu" in next(c["message"] for c in pod["status"]["conditions"] if c["type"] == "PodScheduled")


def test_deployment_becomes_available(kubectl, namespace):
    kubectl.apply({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": namespace},
        "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}},
                              "spec": {"containers": [{"name": "web", "image": "nginx"}]}}},
    })
    kubectl.run("wait", "-n", namespace, "--for=condition=Available", "deployment/web", "--timeout=90s")
    dep = kubectl.json("get", "deployment", "web", "-n", namespace)
    assert dep["status"]["availableReplicas"] == 3
    pods = kubectl.json("get", "pods", "-n", namespace, "-l", "app=web")["items"]
    assert len(pods) == 3 and all(p["status"]["phase"] == "Running" for p in pods)


def test_restricted_pod_security_rejects_privileged_pod(kubectl, namespace):
    kubectl.run("label", "namespace", namespace, "pod-security.kubernetes.io/enforce=restricted")
    privileged = _pod("priv")
    privileged["spec"]["containers"][0]["securityContext"] = {"privileged": True}
    res = kubectl.apply(privileged, "-n", namespace, check=False)
    assert res.returncode != 0
    assert "violates PodSecurity" in res.stderr and "restricted" in res.stderr
    # The same pod is admitted where no policy is enforced: the rejection is PodSecurity's.
    kubectl.run("label", "namespace", namespace, "pod-security.kubernetes.io/enforce-")
    assert kubectl.apply(privileged, "-n", namespace, check=False).returncode == 0


def test_resource_quota_on_gpu_requests_refuses_pod_over_quota(kubectl, namespace):
    kubectl.apply({"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "gpu", "namespace": namespace},
                   "spec": {"hard": {"requests.nvidia.com/gpu": "2"}}})
    _wait_for(lambda: kubectl.json("get", "resourcequota", "gpu", "-n", namespace)["status"].get("hard"))
    assert kubectl.apply(_pod("two", gpus=2), "-n", namespace, check=False).returncode == 0
    res = kubectl.apply(_pod("three", gpus=1), "-n", namespace, check=False)
    assert res.returncode != 0
    assert "exceeded quota" in res.stderr and "requests.nvidia.com/gpu" in res.stderr


def test_strict_server_side_apply_rejects_unknown_destination_rule_field(kubectl, namespace):
    rule = {
        "apiVersion": "networking.istio.io/v1", "kind": "DestinationRule",
        "metadata": {"name": "agent", "namespace": namespace},
        "spec": {"host": "agent", "trafficPolicy": {
            "outlierDetection": {"consecutive5xxErrors": 5, "interval": "30s", "baseEjectionTime": "30s",
                                 "maxEjectionPercent": 50}}},
    }
    assert kubectl.apply(rule, "--validate=strict", "--dry-run=server", check=False).returncode == 0
    bad = json.loads(json.dumps(rule))
    bad["spec"]["trafficPolicy"]["circuitBreaker"] = {"consecutiveErrors": 5}
    res = kubectl.apply(bad, "--validate=strict", check=False)
    assert res.returncode != 0
    assert "spec.trafficPolicy.circuitBreaker: field not declared in schema" in res.stderr
    assert kubectl.run("get", "destinationrule", "agent", "-n", namespace, check=False).returncode != 0
    # Without strictness a plain create silently prunes the field: why we validate strictly.
    kubectl.run("create", "--validate=false", "-f", "-", input_text=json.dumps(bad))
    stored = kubectl.json("get", "destinationrule", "agent", "-n", namespace)
    assert "circuitBreaker" not in stored["spec"]["trafficPolicy"]

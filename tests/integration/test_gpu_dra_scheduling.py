"""GPUs through DRA on the real local cluster: the real kube-scheduler allocates devices that kwok
GPU nodes publish in ResourceSlices (plugins/module_utils/gpu_dra.py), and the real
controller-manager releases them.

Each test module makes a pool of its own: two kwok nodes (node-pool=t-<random>), one
ResourceSlice per node with one GPU each, a DeviceClass of its own selecting the NVIDIA driver's
devices, and pods that ask for one GPU through a ResourceClaimTemplate, pinned to the pool.
"""

from __future__ import annotations

import time
import uuid

import pytest
import yaml
from ansible_collections.agentic.platform.plugins.module_utils import gpu_cluster, gpu_dra
from ansible_collections.agentic.platform.plugins.module_utils.kube_client import KubeClient
from site_support import run_site
from test_gpu_cluster import GATE, ROLE_PLAY

pytestmark = pytest.mark.cluster

WAIT = 120  # seconds: the 2-core machine is shared with other tests


@pytest.fixture(scope="module")
def dra_pool(kubectl):
    pool = f"t-{uuid.uuid4().hex[:8]}"
    nodes = [f"{pool}-{i}" for i in range(2)]
    # The nodes also advertise nvidia.com/gpu, as while a cluster switches from the device plugin.
    capacity = {"cpu": "96", "memory": "1024Gi", "ephemeral-storage": "1Ti", "pods": "110", "nvidia.com/gpu": "1"}
    items = [{"apiVersion": "v1", "kind": "Node",
              "metadata": {"name": n, "labels": {"node-pool": pool, "type": "kwok", "kubernetes.io/hostname": n,
                                                 "dra": "published" if n in nodes else "none"},
                           "annotations": {"kwok.x-k8s.io/node": "fake"}},
              "status": {"capacity": capacity, "allocatable": capacity}}
             for n in [*nodes, f"{pool}-noslice"]]  # the last: its DRA driver publishes nothing
    items += [gpu_dra.resource_slice(n, 1, "NVIDIA H200", "141Gi", labels={"node-pool": pool}) for n in nodes]
    items.append(gpu_dra.device_class(f"{pool}-gpu", labels={"node-pool": pool}))
    try:
        kubectl.apply({"apiVersion": "v1", "kind": "List", "items": items})
        yield {"name": pool, "nodes": nodes, "class": f"{pool}-gpu"}
    finally:
        kubectl.run("delete", "resourceslices,deviceclasses", "-l", f"node-pool={pool}", "--wait=false", check=False)
        kubectl.run("delete", f"deviceclass/{pool}-role", "clusterrole/nvidia-dra-driver-gpu",
                    "clusterrolebinding/nvidia-dra-driver-gpu", "--wait=false", "--ignore-not-found", check=False)
        kubectl.run("delete", "node", "-l", f"node-pool={pool}", "--wait=false", check=False)


def gpu_pod(name: str, pool: str) -> dict:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"nodeSelector": {"node-pool": pool},
                     "resourceClaims": [{"name": "gpu", "resourceClaimTemplateName": "one-gpu"}],
                     "containers": [{"name": "c", "image": "busybox", "resources": {"claims": [{"name": "gpu"}]}}]}}


def wait_for(what, fn, timeout=WAIT):
    deadline = time.monotonic() + timeout
    while True:
        value = fn()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} within {timeout}s")
        time.sleep(1)


def test_the_scheduler_allocates_a_free_device_and_a_deleted_pod_frees_it(kubectl, namespace, dra_pool):
    pool = dra_pool["name"]
    kubectl.apply(gpu_dra.claim_template("one-gpu", namespace, dra_pool["class"], 1))
    pods = {}
    for name in ("a", "b"):
        kubectl.apply(gpu_pod(name, pool), "-n", namespace)
    for name in ("a", "b"):
        pods[name] = wait_for(f"pod {name} scheduled", lambda n=name: kubectl.json(
            "-n", namespace, "get", "pod", n)["spec"].get("nodeName"))
    # one device a node: the two pods are on the two nodes, each with a claim allocated there
    assert sorted(pods.values()) == sorted(dra_pool["nodes"])
    claims = {c["metadata"]["ownerReferences"][0]["name"]: c
              for c in kubectl.json("-n", namespace, "get", "resourceclaims")["items"]}
    assert sorted(claims) == ["a", "b"]
    for owner, claim in claims.items():
        result = claim["status"]["allocation"]["devices"]["results"]
        assert [(r["driver"], r["pool"], r["device"]) for r in result] == [("gpu.nvidia.com", pods[owner], "gpu-0")]
    # kwok runs pods whose claims are allocated like any other
    wait_for("pod a Running", lambda: kubectl.json("-n", namespace, "get", "pod", "a")["status"].get(
        "phase") == "Running")

    # every device taken: the third pod stays Pending, unschedulable for its claim
    kubectl.apply(gpu_pod("c", pool), "-n", namespace)
    reason = wait_for("pod c marked unschedulable", lambda: next(
        (c.get("message") for c in kubectl.json("-n", namespace, "get", "pod", "c")["status"].get("conditions", [])
         if c["type"] == "PodScheduled" and c.get("reason") == "Unschedulable"), None))
    assert "cannot allocate all claims" in reason, reason
    assert kubectl.json("-n", namespace, "get", "pod", "c")["spec"].get("nodeName") is None

    # deleting pod a frees its device (its claim is deleted with it): pod c lands on a's node
    kubectl.run("-n", namespace, "delete", "pod", "a", "--grace-period=0", "--force")
    assert wait_for("pod c scheduled after pod a was deleted", lambda: kubectl.json(
        "-n", namespace, "get", "pod", "c")["spec"].get("nodeName")) == pods["a"]


def test_readiness_counts_the_devices_each_node_publishes(kubectl, dra_pool):
    api = KubeClient.from_config(kubectl.kubeconfig)
    spec = {"selector": f"node-pool={dra_pool['name']}", "gpus_per_node": 1, "dra": {"driver": "gpu.nvidia.com"}}
    res = gpu_cluster.evaluate(api, spec)
    checks = {name: r["checks"]["dra_devices"] for name, r in res["nodes"].items()}
    for name in dra_pool["nodes"]:
        assert checks[name]["status"] == "pass", checks[name]
    assert checks[f"{dra_pool['name']}-noslice"]["reason"].startswith("no gpu.nvidia.com device published")
    assert res["requests"] == 2  # the pool's nodes and the driver's slices: a list each
    assert gpu_cluster.evaluate(api, {**spec, "gpus_per_node": 2})["nodes"][dra_pool["nodes"][0]]["checks"][
        "dra_devices"]["reason"] == "1 gpu.nvidia.com device(s) published, expected 2"


def test_role_switches_between_device_plugin_and_dra_and_converges(kubectl, namespace, dra_pool, tmp_path):
    """gpu_nodes with gpu_nodes_allocation dra: the DeviceClass and the DRA driver (strict-validated
    by the API server), no device plugin, and a gate that counts the published devices; a second run
    changes nothing; switching back to the device plugin removes the DRA driver."""
    pool = dra_pool["name"]
    play = tmp_path / "play.yml"
    play.write_text(ROLE_PLAY)
    pools = [{"name": "dra", "selector": {"node-pool": pool, "dra": "published"}, "nodes": 2, "gpus_per_node": 1,
              "labels": {"workload": "ai-agents"}, "taints": []}]

    def converge(allocation):
        vars_file = tmp_path / f"{allocation}.yml"
        vars_file.write_text(yaml.safe_dump({
            "gpu_nodes_pools": pools, "gpu_nodes_device_plugin_namespace": namespace,
            "gpu_nodes_allocation": allocation, "gpu_nodes_dra_device_class": f"{pool}-role",
            "gpu_nodes_gate_timeout": 120, "gpu_nodes_gate_interval": 1}))
        return run_site(None, "-e", f"@{vars_file}", playbook=play)

    def daemonsets():
        return sorted(d["metadata"]["name"] for d in kubectl.json("-n", namespace, "get", "daemonsets")["items"])

    run = converge("dra")
    gate = next(r for name, r in run.task_results().items() if name.endswith(GATE))["results"][0]
    assert run.rc == 0, gate.get("failures") or run.output[-4000:]
    assert gate["ready"] is True and gate["node_count"] == 2
    for node in gate["nodes"].values():
        assert node["checks"]["dra_devices"]["reason"] == "1 gpu.nvidia.com device(s) published == expected 1"
        assert node["checks"]["device_plugin"]["status"] == "pass"  # the DRA driver's pod on the node
        assert "gpu_capacity" not in node["checks"]
    assert daemonsets() == ["nvidia-dra-driver-gpu"]
    device_class = kubectl.json("get", "deviceclass", f"{pool}-role")
    assert device_class["spec"]["selectors"] == [{"cel": {
        "expression": 'device.driver == "gpu.nvidia.com" && device.attributes["gpu.nvidia.com"].type == "gpu"'}}]
    again = converge("dra")
    assert again.rc == 0 and again.stats()["changed"] == 0, again.changed_tasks()

    back = converge("device-plugin")
    assert back.rc == 0, back.output[-4000:]
    assert daemonsets() == ["nvidia-device-plugin"]
    assert kubectl.run("get", "deviceclass", f"{pool}-role", check=False).returncode != 0
    again = converge("device-plugin")
    assert again.rc == 0 and again.stats()["changed"] == 0, again.changed_tasks()


def test_quota_counts_dra_devices_per_device_class_and_only_under_its_own_key(kubectl, namespace):
    """Which ResourceQuota keys the real API server enforces for DRA: <class>.deviceclass.resource.k8s.io/devices
    counts the devices claims ask for and refuses one too many; the same key under requests. is
    accepted but never counted (as limits.nvidia.com/gpu for extended resources)."""
    counted, ignored = f"{namespace}-a", f"{namespace}-b"
    kubectl.apply({"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "gpus", "namespace": namespace},
                   "spec": {"hard": {f"{counted}.deviceclass.resource.k8s.io/devices": "1",
                                     f"requests.{ignored}.deviceclass.resource.k8s.io/devices": "1"}}})

    def claim(name, class_name):
        return {"apiVersion": gpu_dra.API_VERSION, "kind": "ResourceClaim",
                "metadata": {"name": name, "namespace": namespace},
                "spec": {"devices": {"requests": [{"name": "gpu", "exactly": {"deviceClassName": class_name}}]}}}

    # the quota controller fills status.hard first; until then admission refuses every claim
    wait_for("quota status", lambda: kubectl.json("-n", namespace, "get", "resourcequota", "gpus")["status"].get(
        "hard"))
    assert kubectl.apply(claim("first", counted)).returncode == 0
    refused = kubectl.apply(claim("second", counted), check=False)
    assert refused.returncode != 0 and "exceeded quota: gpus" in refused.stderr, refused.stderr
    for name in ("third", "fourth"):
        assert kubectl.apply(claim(name, ignored)).returncode == 0
    used = kubectl.json("-n", namespace, "get", "resourcequota", "gpus")["status"]["used"]
    assert used == {f"{counted}.deviceclass.resource.k8s.io/devices": "1",
                    f"requests.{ignored}.deviceclass.resource.k8s.io/devices": "0"}


def test_local_cluster_gpu_pool_publishes_its_devices(kubectl):
    """localcluster's own kwok GPU pool (clusters.yml: 2 nodes of 8 H200) publishes ResourceSlices
    that gpu_readiness counts."""
    api = KubeClient.from_config(kubectl.kubeconfig)
    spec = {"selector": "node-pool=gpu", "gpus_per_node": 8, "dra": {"driver": "gpu.nvidia.com"}}
    res = gpu_cluster.evaluate(api, spec)
    assert {n: r["checks"]["dra_devices"]["status"] for n, r in res["nodes"].items()} == {
        "gpu-0": "pass", "gpu-1": "pass"}
    device = kubectl.json("get", "resourceslice", "gpu-0-gpu.nvidia.com")["spec"]["devices"][0]
    assert device["attributes"]["productName"] == {"string": "NVIDIA H200"}
    assert device["capacity"]["memory"] == {"value": "141Gi"}

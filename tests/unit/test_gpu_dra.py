"""DRA objects and the per-node device count the readiness gate reads from ResourceSlices."""

from __future__ import annotations

from ansible_collections.agentic.platform.plugins.module_utils import gpu_cluster, gpu_dra
from test_gpu_cluster_checks import NODE, node


def summaries(*slices):
    return [gpu_dra.slice_summary(s) for s in slices]


def test_resource_slice_publishes_a_pool_per_node_with_product_and_memory():
    s = gpu_dra.resource_slice("gpu-0", 2, "NVIDIA H200", "141Gi")
    assert s["spec"]["pool"] == {"name": "gpu-0", "generation": 1, "resourceSliceCount": 1}
    assert s["spec"]["driver"] == "gpu.nvidia.com" and s["spec"]["nodeName"] == "gpu-0"
    dev = s["spec"]["devices"][1]
    assert dev["name"] == "gpu-1" and dev["attributes"]["productName"] == {"string": "NVIDIA H200"}
    assert dev["capacity"]["memory"] == {"value": "141Gi"}


def test_devices_by_node_counts_the_newest_generation_only():
    old = gpu_dra.resource_slice("gpu-0", 8, "NVIDIA H200", "141Gi")
    new = gpu_dra.resource_slice("gpu-0", 7, "NVIDIA H200", "141Gi")
    new["spec"]["pool"]["generation"] = 2
    other = gpu_dra.resource_slice("gpu-1", 8, "NVIDIA H200", "141Gi", driver="example.com/other")
    assert gpu_dra.devices_by_node(summaries(old, new, other)) == {"gpu-0": 7}
    assert gpu_dra.devices_by_node(summaries(new, old)) == {"gpu-0": 7}
    split = gpu_dra.resource_slice("gpu-0", 4, "NVIDIA H200", "141Gi")
    assert gpu_dra.devices_by_node(summaries(split, split)) == {"gpu-0": 8}


def test_dra_pool_counts_published_devices_instead_of_the_extended_resource():
    dra_node = node(status__capacity={}, status__allocatable={})  # no nvidia.com/gpu with DRA
    spec = {"selector": "node-pool=gpu", "gpus_per_node": 8, "dra": {"driver": "gpu.nvidia.com"}}
    checks = gpu_cluster.node_checks(dra_node, spec, None, 8)
    assert checks["dra_devices"]["status"] == "pass"
    assert "gpu_capacity" not in checks and "device_plugin_health" not in checks
    assert gpu_cluster.node_checks(dra_node, spec, None, 7)["dra_devices"]["reason"] == (
        "7 gpu.nvidia.com device(s) published, expected 8")
    assert gpu_cluster.node_checks(dra_node, spec, None, None)["dra_devices"]["status"] == "fail"
    assert NODE["status"]["capacity"]  # the shared node is unchanged


def test_local_cluster_gpu_nodes_publish_what_the_driver_would():
    """localcluster's kwok GPU nodes publish the slices gpu_dra renders (one definition of the shape)."""
    from localcluster import cluster
    spec = cluster.cluster_spec("local")
    gpu_pool = next(p for p in spec["node_pools"] if p.get("gpus"))
    slices = cluster.resource_slice_manifests(spec, {"gpu-0": "uid-0", "gpu-1": "uid-1", "cpu-0": "uid-2"})
    assert [s["metadata"]["name"] for s in slices] == ["gpu-0-gpu.nvidia.com", "gpu-1-gpu.nvidia.com"]
    want = gpu_dra.resource_slice("gpu-0", gpu_pool["gpus"], "NVIDIA H200", gpu_pool["gpu_memory"])
    assert slices[0]["spec"] == want["spec"]
    assert slices[0]["metadata"]["ownerReferences"] == [{"apiVersion": "v1", "kind": "Node", "name": "gpu-0",
                                                         "uid": "uid-0"}]


def test_namespace_quota_refuses_the_dra_key_the_api_server_never_counts():
    """tests/integration/test_gpu_dra_scheduling.py: requests.<class>.deviceclass.resource.k8s.io/devices is
    accepted by the API server and never counted; <class>.deviceclass.resource.k8s.io/devices is."""
    from test_inputs_namespace import VALID, problems
    hard = {**VALID["namespace_quota_hard"], "gpu.nvidia.com.deviceclass.resource.k8s.io/devices": "16"}
    assert problems(namespace_quota_hard=hard) == []
    hard["requests.gpu.nvidia.com.deviceclass.resource.k8s.io/devices"] = "16"
    found = problems(namespace_quota_hard=dict(hard))
    assert len(found) == 1 and found[0].startswith(
        "namespace_quota_hard['requests.gpu.nvidia.com.deviceclass.resource.k8s.io/devices'] = '16': ")
    assert "DRA devices take <deviceclass>.deviceclass.resource.k8s.io/devices" in found[0]

"""Cluster-mode node checks on Node objects shaped like the local cluster's GPU nodes
(localcluster/cluster.py node_manifests; the kwok node-initialize stage adds the conditions).
The same checks run against the real API server in tests/integration/test_gpu_cluster.py."""

from __future__ import annotations

import copy

from ansible_collections.agentic.platform.plugins.module_utils import gpu_cluster

NODE = {
    "metadata": {"name": "gpu-0", "labels": {"node-pool": "gpu", "nvidia.com/gpu.present": "true",
                                             "workload": "ai-agents"}},
    "spec": {"taints": [{"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}]},
    "status": {"capacity": {"nvidia.com/gpu": "8"}, "allocatable": {"nvidia.com/gpu": "8"},
               "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady"}]},
}
SPEC = {"selector": "node-pool=gpu", "gpus_per_node": 8, "labels": {"workload": "ai-agents"},
        "taints": [{"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}]}
POD = {"metadata": {"name": "nvidia-device-plugin-x"}, "spec": {"nodeName": "gpu-0"},
       "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}}


def node(**changes):
    n = copy.deepcopy(NODE)
    for path, value in changes.items():
        target = n
        keys = path.split("__")
        for k in keys[:-1]:
            target = target[k]
        target[keys[-1]] = value
    return n


def statuses(checks):
    return {k: v["status"] for k, v in checks.items()}


def test_healthy_node_passes_every_check():
    assert set(statuses(gpu_cluster.node_checks(node(), SPEC, [POD])).values()) == {"pass"}


def test_cordoned_node_fails_ready():
    checks = gpu_cluster.node_checks(node(spec__unschedulable=True), SPEC, [POD])
    assert checks["ready"]["status"] == "fail" and "cordoned" in checks["ready"]["reason"]


def test_node_without_gpu_capacity_fails():
    checks = gpu_cluster.node_checks(node(status__capacity={}, status__allocatable={}), SPEC, None)
    assert checks["gpu_capacity"]["status"] == "fail"
    assert "device plugin has not registered" in checks["gpu_capacity"]["reason"]
    assert "device_plugin" not in checks  # not asked for


def test_capacity_other_than_expected_fails():
    n = node(status__capacity={"nvidia.com/gpu": "4"}, status__allocatable={"nvidia.com/gpu": "4"})
    assert gpu_cluster.node_checks(n, SPEC, None)["gpu_capacity"]["reason"] == "capacity nvidia.com/gpu 4, expected 8"


def test_wrong_label_value_and_missing_taint_fail():
    n = node(metadata__labels={"node-pool": "gpu", "workload": "general"}, spec__taints=[])
    checks = gpu_cluster.node_checks(n, SPEC, None)
    assert checks["labels"]["reason"] == "label workload=general, expected ai-agents"
    assert checks["taints"]["reason"] == "missing taint(s) nvidia.com/gpu=present:NoSchedule"


def test_device_plugin_pod_not_ready_fails():
    pending = copy.deepcopy(POD)
    pending["status"] = {"phase": "Pending"}
    checks = gpu_cluster.node_checks(node(), SPEC, [pending])
    assert checks["device_plugin"]["status"] == "fail"
    assert "not Ready (phase Pending)" in checks["device_plugin"]["reason"]
    assert gpu_cluster.node_checks(node(), SPEC, [])["device_plugin"]["reason"] == "no device-plugin pod on this node"


def test_smoke_job_asks_for_one_gpu_on_the_pool():
    job = gpu_cluster.smoke_job({**SPEC, "selector": "node-pool=gpu,zone!=x"},
                                {"image": "img", "command": ["nvidia-smi", "-L"], "timeout": 60})
    pod = job["spec"]["template"]["spec"]
    assert pod["nodeSelector"] == {"node-pool": "gpu"}
    assert pod["containers"][0]["resources"]["limits"] == {"nvidia.com/gpu": 1}
    assert pod["restartPolicy"] == "Never" and job["spec"]["backoffLimit"] == 0
    assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in pod["tolerations"]


# Readiness beyond the GPU Operator: each named check fails on the state its reason names.

def test_allocatable_below_capacity_fails_device_plugin_health():
    n = node(status__allocatable={"nvidia.com/gpu": "6"})
    checks = gpu_cluster.node_checks(n, SPEC, None)
    assert checks["gpu_capacity"]["status"] == "pass"
    assert checks["device_plugin_health"]["status"] == "fail"
    assert checks["device_plugin_health"]["reason"] == (
        "allocatable nvidia.com/gpu 6 < capacity 8: the device plugin reports 2 GPU(s) unhealthy")


def test_mig_config_state_other_than_success_fails():
    labels = {**NODE["metadata"]["labels"], "nvidia.com/mig.config": "all-1g.18gb"}
    for state in ("failed", "pending", "rebooting"):
        checks = gpu_cluster.node_checks(node(metadata__labels={**labels, "nvidia.com/mig.config.state": state}),
                                         SPEC, None)
        assert checks["mig_config"]["status"] == "fail", state
        assert checks["mig_config"]["reason"] == (
            f"nvidia.com/mig.config.state={state}: MIG layout all-1g.18gb not applied")
    ok = node(metadata__labels={**labels, "nvidia.com/mig.config.state": "success"})
    assert gpu_cluster.node_checks(ok, SPEC, None)["mig_config"]["status"] == "pass"


def test_driver_upgrade_failed_label_fails():
    labels = NODE["metadata"]["labels"]
    failed = node(metadata__labels={**labels, "nvidia.com/gpu-driver-upgrade-state": "upgrade-failed"})
    checks = gpu_cluster.node_checks(failed, SPEC, None)
    assert checks["driver_upgrade"]["status"] == "fail"
    assert "driver upgrade failed" in checks["driver_upgrade"]["reason"]
    done = node(metadata__labels={**labels, "nvidia.com/gpu-driver-upgrade-state": "upgrade-done"})
    assert gpu_cluster.node_checks(done, SPEC, None)["driver_upgrade"]["status"] == "pass"


def test_gpu_fault_taint_fails_but_the_pools_own_taint_does_not():
    taints = [*NODE["spec"]["taints"], {"key": "nvidia.com/gpu-xid", "value": "79", "effect": "NoExecute"},
              {"key": "example.com/maintenance", "effect": "NoSchedule"}]
    checks = gpu_cluster.node_checks(node(spec__taints=taints), SPEC, None)
    assert checks["gpu_fault"]["status"] == "fail"
    assert checks["gpu_fault"]["observed"]["faults"] == ["taint nvidia.com/gpu-xid=79:NoExecute"]


def test_gpu_fault_condition_fails_by_node_problem_detector_convention():
    conditions = [*NODE["status"]["conditions"],
                  {"type": "AcceleratedHardwareReady", "status": "False", "reason": "NvidiaXID79",
                   "message": "GPU has fallen off the bus"},
                  {"type": "GpuXidError", "status": "True", "reason": "Xid48"},
                  {"type": "GpuThermalWatch", "status": "False", "reason": "NoIssue"},
                  {"type": "KernelDeadlock", "status": "True"}]
    checks = gpu_cluster.node_checks(node(status__conditions=conditions), SPEC, None)
    assert checks["gpu_fault"]["observed"]["faults"] == [
        "condition AcceleratedHardwareReady=False (NvidiaXID79: GPU has fallen off the bus)",
        "condition GpuXidError=True (Xid48: )"]
    assert checks["ready"]["status"] == "pass"  # the kubelet's Ready says nothing about the GPUs

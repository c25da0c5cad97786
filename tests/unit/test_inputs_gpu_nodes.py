"""The gpu_nodes step's input checks (plugins/module_utils/inputs/gpu_nodes.py), in plain Python."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml
from ansible_collections.agentic.platform.plugins.module_utils.inputs import gpu_nodes
from ansible_collections.agentic.platform.plugins.module_utils.inputs.common import MISSING

ROOT = Path(__file__).resolve().parents[2]

POOL = {"name": "gpu", "selector": {"node-pool": "gpu"}, "nodes": 2, "gpus_per_node": 8, "resource": "nvidia.com/gpu",
        "labels": {"workload": "ai-agents"},
        "taints": [{"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}]}

# What a valid inventory gives: the role defaults (no inventory overrides them), templated
# (gpu_nodes_gate_timeout is agentic_wait_timeout, 300).
VALID = {
    "gpu_nodes_pools": [POOL],
    "gpu_nodes_device_plugin_namespace": "kube-system",
    "gpu_nodes_device_plugin_version": "v0.18.2",
    "gpu_nodes_time_slicing_replicas": 0,
    "gpu_nodes_mig_strategy": "none",
    "gpu_nodes_runtime_class_name": "nvidia",
    "gpu_nodes_gate_timeout": 300,
    "gpu_nodes_gate_interval": 5,
    "gpu_nodes_device_plugin_image": "nvcr.io/nvidia/k8s-device-plugin",
    "gpu_nodes_device_plugin_priority_class": "system-node-critical",
    "gpu_nodes_runtime_handler": "nvidia",
    "gpu_nodes_gate_smoke_image": "nvcr.io/nvidia/cuda:12.8.1-base-ubuntu24.04",
    "gpu_nodes_allocation": "device-plugin",
    "gpu_nodes_dra_driver_image": "nvcr.io/nvidia/k8s-dra-driver-gpu",
    "gpu_nodes_dra_driver_version": "v25.8.0",
    "gpu_nodes_dra_device_class": "gpu.nvidia.com",
    "gpu_nodes_dcgm_exporter_image": "nvcr.io/nvidia/k8s/dcgm-exporter",
    "gpu_nodes_dcgm_exporter_version": "4.2.3-4.1.3-ubuntu22.04",
    "gpu_nodes_dcgm_exporter_monitor_labels": {"release": "kube-prometheus-stack"},
    "gpu_nodes_gate_smoke_test": False,
}


def problems(**changes) -> list[str]:
    return gpu_nodes.check({**copy.deepcopy(VALID), **changes})


def pool(**changes) -> list[dict]:
    """gpu_nodes_pools of one default pool with these changes (None removes a field)."""
    changed = {**copy.deepcopy(POOL), **changes}
    return [{k: v for k, v in changed.items() if changes.get(k, 0) is not None}]


def test_valid_is_what_the_defaults_give_and_every_variable_is_read():
    defaults = yaml.safe_load((ROOT / "roles/gpu_nodes/defaults/main.yml").read_text())
    assert {k: defaults[k] for k in VALID if k != "gpu_nodes_gate_timeout"} == {
        k: v for k, v in VALID.items() if k != "gpu_nodes_gate_timeout"}
    assert defaults["gpu_nodes_gate_timeout"] == "{{ agentic_wait_timeout }}"
    assert set(VALID) == set(gpu_nodes.VARIABLES)


def test_valid_inventory_has_no_problem():
    assert problems() == []


@pytest.mark.parametrize("changes", [
    {"gpu_nodes_pools": pool(nodes=None, gpus_per_node=None, labels=None, taints=None, resource=None)},
    {"gpu_nodes_pools": pool(nodes=0, labels={}, taints=[])},
    {"gpu_nodes_pools": [POOL, {**POOL, "name": "gpu-b", "selector": {"node-pool": "gpu-b", "zone": 1}}]},
    {"gpu_nodes_pools": pool(taints=[{"key": "dedicated", "effect": "NoExecute"}])},
    {"gpu_nodes_time_slicing_replicas": 4},
    {"gpu_nodes_time_slicing_replicas": 64, "gpu_nodes_mig_strategy": "none"},
    {"gpu_nodes_mig_strategy": "mixed", "gpu_nodes_time_slicing_replicas": 1},
    {"gpu_nodes_device_plugin_version": "v0.17.0-rc.1"},
    {"gpu_nodes_gate_timeout": "300", "gpu_nodes_gate_interval": 300},
], ids=",".join)
def test_other_valid_values_pass(changes):
    assert problems(**changes) == []


POOLS_MESSAGE = "gpu_nodes_pools must be a non-empty list of pools with unique DNS-1123 names"

BAD = {
    # name: (changes, what the (only) message must contain)
    "pools-empty": ({"gpu_nodes_pools": []}, POOLS_MESSAGE + ", a non-empty selector"),
    "pools-mapping": ({"gpu_nodes_pools": POOL}, POOLS_MESSAGE),
    "pools-string": ({"gpu_nodes_pools": "gpu"}, 'got "gpu"'),
    "pools-entry-string": ({"gpu_nodes_pools": ["gpu"]}, POOLS_MESSAGE),
    "pools-undefined": ({"gpu_nodes_pools": MISSING}, "got (undefined)"),
    "pool-duplicate-name": ({"gpu_nodes_pools": [POOL, POOL]}, POOLS_MESSAGE),
    "pool-bad-name": ({"gpu_nodes_pools": pool(name="GPU pool")}, '"name": "GPU pool"'),
    "pool-no-name": ({"gpu_nodes_pools": pool(name=None)}, POOLS_MESSAGE),
    "pool-no-selector": ({"gpu_nodes_pools": pool(selector=None)}, POOLS_MESSAGE),
    "pool-empty-selector": ({"gpu_nodes_pools": pool(selector={})}, POOLS_MESSAGE),
    "pool-selector-string": ({"gpu_nodes_pools": pool(selector="node-pool=gpu")}, POOLS_MESSAGE),
    "pool-selector-bad-value": ({"gpu_nodes_pools": pool(selector={"node-pool": "g p u"})}, POOLS_MESSAGE),
    "pool-selector-bad-key": ({"gpu_nodes_pools": pool(selector={"node pool": "gpu"})}, POOLS_MESSAGE),
    "pool-labels-list": ({"gpu_nodes_pools": pool(labels=["workload"])}, POOLS_MESSAGE),
    "pool-labels-bad-value": ({"gpu_nodes_pools": pool(labels={"workload": "ai agents"})}, POOLS_MESSAGE),
    "pool-labels-bool": ({"gpu_nodes_pools": pool(labels={"workload": True})}, POOLS_MESSAGE),
    "pool-labels-app": ({"gpu_nodes_pools": pool(labels={"app.kubernetes.io/name": "x"})}, POOLS_MESSAGE),
    "pool-nodes-negative": ({"gpu_nodes_pools": pool(nodes=-1)}, POOLS_MESSAGE),
    "pool-nodes-word": ({"gpu_nodes_pools": pool(nodes="two")}, POOLS_MESSAGE),
    "pool-gpus-zero": ({"gpu_nodes_pools": pool(gpus_per_node=0)}, POOLS_MESSAGE),
    "pool-gpus-fraction": ({"gpu_nodes_pools": pool(gpus_per_node=0.5)}, POOLS_MESSAGE),
    "pool-taints-mapping": ({"gpu_nodes_pools": pool(taints=POOL["taints"][0])}, POOLS_MESSAGE),
    "pool-taint-string": ({"gpu_nodes_pools": pool(taints=["nvidia.com/gpu=present:NoSchedule"])}, POOLS_MESSAGE),
    "pool-taint-bad-key": ({"gpu_nodes_pools": pool(taints=[{"key": "bad key", "effect": "NoSchedule"}])},
                           POOLS_MESSAGE),
    "pool-taint-no-key": ({"gpu_nodes_pools": pool(taints=[{"effect": "NoSchedule"}])}, POOLS_MESSAGE),
    "pool-taint-bad-effect": ({"gpu_nodes_pools": pool(taints=[{"key": "a", "effect": "Never"}])}, POOLS_MESSAGE),
    "pool-taint-bad-value": ({"gpu_nodes_pools": pool(taints=[{"key": "a", "value": "has space",
                                                               "effect": "NoSchedule"}])}, POOLS_MESSAGE),
    "pool-taint-long-value": ({"gpu_nodes_pools": pool(taints=[{"key": "a", "value": "v" * 64,
                                                                "effect": "NoSchedule"}])}, POOLS_MESSAGE),
    "pool-taint-bad-prefix": ({"gpu_nodes_pools": pool(taints=[{"key": "-a.com/b", "effect": "NoSchedule"}])},
                              POOLS_MESSAGE),
    "pool-taint-duplicate": ({"gpu_nodes_pools": pool(taints=[{"key": "a", "effect": "NoSchedule"},
                                                              {"key": "a", "value": "b", "effect": "NoSchedule"}])},
                             POOLS_MESSAGE),
    "pool-label-long-value": ({"gpu_nodes_pools": pool(labels={"tier": "v" * 64})}, POOLS_MESSAGE),
    "pool-resource-bad": ({"gpu_nodes_pools": pool(resource="gpu")}, POOLS_MESSAGE),
    "gate-timeout-absurd": ({"gpu_nodes_gate_timeout": 86400}, "gpu_nodes_gate_timeout"),
    "plugin-image-with-tag": ({"gpu_nodes_device_plugin_image": "nvcr.io/nvidia/k8s-device-plugin:v0.18.2"},
                              "gpu_nodes_device_plugin_image"),
    "plugin-image-with-digest": ({"gpu_nodes_device_plugin_image": "nvcr.io/nvidia/k8s-device-plugin@sha256:"
                                  + "a" * 64}, "gpu_nodes_device_plugin_image"),
    "plugin-image-malformed": ({"gpu_nodes_device_plugin_image": "NVCR io/plugin"}, "gpu_nodes_device_plugin_image"),
    "smoke-image-latest": ({"gpu_nodes_gate_smoke_image": "nvcr.io/nvidia/cuda:latest"}, "gpu_nodes_gate_smoke_image"),
    "priority-class-bad": ({"gpu_nodes_device_plugin_priority_class": "System Node Critical"},
                           "gpu_nodes_device_plugin_priority_class"),
    "runtime-handler-bad": ({"gpu_nodes_runtime_handler": "nvidia.runc"}, "gpu_nodes_runtime_handler"),
    "plugin-namespace-upper": ({"gpu_nodes_device_plugin_namespace": "Kube-System"},
                               "gpu_nodes_device_plugin_namespace 'Kube-System' must be a DNS-1123 label"),
    "plugin-namespace-number": ({"gpu_nodes_device_plugin_namespace": 1}, "gpu_nodes_device_plugin_namespace"),
    "plugin-version-no-v": ({"gpu_nodes_device_plugin_version": "0.18.2"},
                            "gpu_nodes_device_plugin_version '0.18.2' must be a release tag like v0.18.2"),
    "plugin-version-latest": ({"gpu_nodes_device_plugin_version": "latest"}, "gpu_nodes_device_plugin_version"),
    "time-slicing-negative": ({"gpu_nodes_time_slicing_replicas": -1},
                              "gpu_nodes_time_slicing_replicas must be 0 (off) to 64, got '-1'"),
    "time-slicing-absurd": ({"gpu_nodes_time_slicing_replicas": 65}, "gpu_nodes_time_slicing_replicas"),
    "time-slicing-word": ({"gpu_nodes_time_slicing_replicas": "some"}, "gpu_nodes_time_slicing_replicas"),
    "mig-with-time-slicing": ({"gpu_nodes_mig_strategy": "single", "gpu_nodes_time_slicing_replicas": 4},
                              "gpu_nodes_mig_strategy 'single' with gpu_nodes_time_slicing_replicas 4: this role "
                              "shares whole GPUs only"),
    "runtime-class-upper": ({"gpu_nodes_runtime_class_name": "NVIDIA"},
                            "gpu_nodes_runtime_class_name 'NVIDIA' must be a DNS-1123 label"),
    "gate-timeout-zero": ({"gpu_nodes_gate_timeout": 0},
                          "gpu_nodes_gate_timeout must be 1 to 3600 seconds, got '0'"),
    "gate-timeout-word": ({"gpu_nodes_gate_timeout": "soon"}, "gpu_nodes_gate_timeout"),
    "gate-interval-zero": ({"gpu_nodes_gate_interval": 0},
                           "gpu_nodes_gate_interval must be 1 to gpu_nodes_gate_timeout seconds, got '0'"),
    "gate-interval-over-timeout": ({"gpu_nodes_gate_interval": 301}, "gpu_nodes_gate_interval"),
    "gate-interval-word": ({"gpu_nodes_gate_interval": "often"}, "gpu_nodes_gate_interval"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_value_is_named(case):
    changes, needle = BAD[case]
    found = problems(**changes)
    assert len(found) == 1, found
    assert needle in found[0]


def test_every_problem_is_reported_at_once():
    found = problems(gpu_nodes_pools=[], gpu_nodes_device_plugin_version="latest", gpu_nodes_gate_interval=-1)
    assert [m.split()[0] for m in found] == ["gpu_nodes_pools", "gpu_nodes_device_plugin_version",
                                             "gpu_nodes_gate_interval"]


@pytest.mark.parametrize("value", [None, 5, "x", [1, "a"], [{"name": 1, "selector": [1], "taints": 5}],
                                   {"a": {"b": 1}}, MISSING])
def test_no_crash_on_any_type(value):
    found = gpu_nodes.check(dict.fromkeys(gpu_nodes.VARIABLES, value))
    assert found and all(isinstance(m, str) for m in found)


def test_dra_allocation_inputs():
    assert problems(gpu_nodes_allocation="dra") == []
    assert problems(gpu_nodes_dra_driver_image="nvcr.io/nvidia/k8s-dra-driver-gpu:v25.8.0") == [
        "gpu_nodes_dra_driver_image 'nvcr.io/nvidia/k8s-dra-driver-gpu:v25.8.0' must be an image repository without "
        "a tag or digest (like nvcr.io/nvidia/k8s-dra-driver-gpu): the role appends gpu_nodes_dra_driver_version"]
    assert problems(gpu_nodes_dra_driver_version="latest") == [
        "gpu_nodes_dra_driver_version 'latest' must be a release tag like v25.8.0"]
    assert problems(gpu_nodes_dra_device_class="GPU class") == [
        "gpu_nodes_dra_device_class 'GPU class' must be a DeviceClass name (a DNS-1123 subdomain, like gpu.nvidia.com)"]
    assert problems(gpu_nodes_allocation="dra", gpu_nodes_time_slicing_replicas=4) == [
        "gpu_nodes_allocation dra hands out whole GPUs: set gpu_nodes_mig_strategy none and "
        "gpu_nodes_time_slicing_replicas 0 (got 'none' and '4')"]
    assert problems(gpu_nodes_allocation="dra", gpu_nodes_gate_smoke_test=True) == [
        "gpu_nodes_gate_smoke_test asks for a GPU as nvidia.com/gpu: it needs gpu_nodes_allocation device-plugin"]
    assert problems(gpu_nodes_gate_smoke_test=True) == []


@pytest.mark.parametrize(("values", "phrase"), [
    ({"gpu_nodes_dcgm_exporter_image": "nvcr.io/nvidia/k8s/dcgm-exporter:4.2.3"}, "gpu_nodes_dcgm_exporter_image"),
    ({"gpu_nodes_dcgm_exporter_version": "latest"}, "gpu_nodes_dcgm_exporter_version 'latest' must be a DCGM"),
    ({"gpu_nodes_dcgm_exporter_version": "v4.2.3"}, "gpu_nodes_dcgm_exporter_version"),
    ({"gpu_nodes_dcgm_exporter_monitor_labels": {"release": "kube prometheus"}},
     "gpu_nodes_dcgm_exporter_monitor_labels must map label keys"),
])
def test_dcgm_exporter_inputs(values, phrase):
    found = gpu_nodes.check({**VALID, **values})
    assert len(found) == 1 and phrase in found[0], found


def test_dcgm_exporter_tags_of_its_releases_pass():
    for tag in ("4.2.3-4.1.3-ubuntu22.04", "3.3.9-3.6.1-ubi9", "4.4.0-4.5.1"):
        assert gpu_nodes.check({**VALID, "gpu_nodes_dcgm_exporter_version": tag}) == []

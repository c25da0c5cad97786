"""Arguments and run of gpu_readiness: shared by the module (host mode, on the GPU host) and its
action plugin (cluster mode, in the controller)."""

from __future__ import annotations

from ansible_collections.agentic.platform.plugins.module_utils import gpu_cluster, gpu_host
from ansible_collections.agentic.platform.plugins.module_utils.gpu_verdict import failure_message, poll
from ansible_collections.agentic.platform.plugins.module_utils.kube_args import AUTH_ARG_SPEC, client_from_args
from ansible_collections.agentic.platform.plugins.module_utils.kube_client import ApiError, KubeError

ARG_SPEC = {
    **AUTH_ARG_SPEC,
    "mode": {"type": "str", "required": True, "choices": ["host", "cluster"]},
    "wait": {"type": "bool", "default": False},
    "timeout": {"type": "int", "default": 300},
    "interval": {"type": "int", "default": 5},
    "strict": {"type": "bool", "default": False},
    "fail_on_not_ready": {"type": "bool", "default": True},
    "gpu_count": {"type": "int"},
    "product": {"type": "str"},
    "driver_version": {"type": "str"},
    "persistence_mode": {"type": "bool", "default": True},
    "ecc_mode": {"type": "str", "choices": ["enabled", "disabled", "any"], "default": "enabled"},
    "mig_mode": {"type": "str", "choices": ["enabled", "disabled", "any"], "default": "any"},
    "pcie_gen": {"type": "int"},
    "pcie_width": {"type": "int"},
    "fatal_xids": {"type": "list", "elements": "int"},
    "source": {"type": "str", "choices": ["auto", "nvml", "nvidia-smi"], "default": "auto"},
    "replay_dir": {"type": "list", "elements": "path"},
    "label_selector": {"type": "str"},
    "expected_nodes": {"type": "int"},
    "gpus_per_node": {"type": "int"},
    "gpu_resource": {"type": "str", "default": "nvidia.com/gpu"},
    "expected_labels": {"type": "dict", "default": {}},
    "expected_taints": {"type": "list", "elements": "dict", "default": []},
    "device_plugin_namespace": {"type": "str", "default": "kube-system"},
    "device_plugin_selector": {"type": "str", "default": "app.kubernetes.io/name=nvidia-device-plugin"},
    "smoke_test": {"type": "bool", "default": False},
    "smoke_namespace": {"type": "str", "default": "kube-system"},
    "smoke_image": {"type": "str", "default": "nvcr.io/nvidia/cuda:12.8.1-base-ubuntu24.04"},
    "smoke_command": {"type": "list", "elements": "str", "default": ["nvidia-smi", "-L"]},
    "smoke_runtime_class": {"type": "str", "default": ""},
}


def problem(p: dict) -> str | None:
    """What is wrong with the arguments, or None."""
    for name in ("timeout", "interval"):
        if p[name] <= 0:
            return f"{name} must be a positive number of seconds, got {p[name]}"
    for name in ("gpu_count", "expected_nodes", "gpus_per_node", "pcie_gen", "pcie_width"):
        if p[name] is not None and p[name] < 0:
            return f"{name} must be zero or more, got {p[name]}"
    for i, taint in enumerate(p["expected_taints"]):
        if not taint.get("key") or taint.get("effect") not in ("NoSchedule", "PreferNoSchedule", "NoExecute"):
            return (f"expected_taints[{i}] needs a key and an effect of NoSchedule, "
                    f"PreferNoSchedule or NoExecute, got {taint!r}")
    if p["mode"] == "cluster" and not p["label_selector"]:
        return "label_selector is required with mode=cluster (for example node-pool=gpu)"
    return None


def run_host(p: dict) -> dict:
    reader = gpu_host.ReplayReader(*p["replay_dir"]) if p["replay_dir"] else gpu_host.SystemReader()
    expect = {"gpu_count": p["gpu_count"], "product": p["product"], "driver_version": p["driver_version"],
              "persistence_mode": p["persistence_mode"], "ecc_mode": p["ecc_mode"], "mig_mode": p["mig_mode"],
              "pcie_gen": p["pcie_gen"], "pcie_width": p["pcie_width"], "fatal_xids": p["fatal_xids"]}
    return poll(lambda: gpu_host.evaluate(reader, expect, p["source"], p["strict"]),
                p["wait"], p["timeout"], p["interval"])


def run_cluster(p: dict, check_mode: bool) -> dict:
    client = client_from_args(p)
    spec = {"selector": p["label_selector"], "expected_nodes": p["expected_nodes"],
            "gpus_per_node": p["gpus_per_node"], "resource": p["gpu_resource"],
            "labels": {k: str(v) for k, v in p["expected_labels"].items()}, "taints": p["expected_taints"]}
    if p["device_plugin_selector"]:
        spec["device_plugin"] = {"namespace": p["device_plugin_namespace"], "selector": p["device_plugin_selector"]}
    smoke = None
    if p["smoke_test"]:
        smoke = {"namespace": p["smoke_namespace"], "image": p["smoke_image"], "command": p["smoke_command"],
                 "runtime_class": p["smoke_runtime_class"], "timeout": p["timeout"],
                 "interval": min(p["interval"], 2)}
    try:
        return gpu_cluster.readiness(client, spec, smoke, wait=p["wait"], timeout=p["timeout"],
                                     interval=p["interval"], strict=p["strict"], check_mode=check_mode)
    finally:
        client.close()


def run(p: dict, check_mode: bool) -> tuple[dict, str | None]:
    """(result, failure message or None)."""
    try:
        if p["mode"] == "host":
            result, title = run_host(p), "GPU host not ready"
        else:
            result, title = run_cluster(p, check_mode), f"GPU pool '{p['label_selector']}' not ready"
    except (ApiError, KubeError, gpu_host.ReplayError, OSError, ValueError) as exc:
        return {}, f"gpu_readiness ({p['mode']}) could not read its evidence: {exc}"
    if not result["ready"] and p["fail_on_not_ready"]:
        return result, failure_message(title, result)
    return result, None

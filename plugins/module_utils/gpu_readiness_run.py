"""Arguments of gpu_readiness and its host mode (the module, on the GPU host).

The cluster mode runs in the controller, in the action plugin (plugins/action/gpu_readiness.py):
nothing here imports the Kubernetes client, so the module does not carry it to GPU hosts.
"""

from __future__ import annotations

import time

from ansible_collections.agentic.platform.plugins.module_utils.gpu_host_check import evaluate
from ansible_collections.agentic.platform.plugins.module_utils.gpu_host_read import (
    ReplayError,
    ReplayReader,
    SystemReader,
)
from ansible_collections.agentic.platform.plugins.module_utils.gpu_verdict import failure_message
from ansible_collections.agentic.platform.plugins.module_utils.kube_args import AUTH_ARG_SPEC
from ansible_collections.agentic.platform.plugins.module_utils.poll import poll

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
    "dra_driver": {"type": "str"},
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


def until_ready(evaluate_once, wait: bool, timeout: float, interval: float, clock=time.monotonic,
                sleep=time.sleep) -> dict:
    """``evaluate_once()`` (a verdict with ``ready``) until ready, once without ``wait``. The verdict
    carries ``attempts`` and ``elapsed`` (seconds)."""
    def attempt():
        verdict = evaluate_once()
        return verdict["ready"], verdict

    polled = poll(attempt, timeout if wait else 0, interval, clock=clock, sleep=sleep)
    return {**polled.value, "attempts": polled.attempts, "elapsed": round(polled.elapsed, 3)}


def run_host(p: dict) -> dict:
    reader = ReplayReader(*p["replay_dir"]) if p["replay_dir"] else SystemReader()
    expect = {"gpu_count": p["gpu_count"], "product": p["product"], "driver_version": p["driver_version"],
              "persistence_mode": p["persistence_mode"], "ecc_mode": p["ecc_mode"], "mig_mode": p["mig_mode"],
              "pcie_gen": p["pcie_gen"], "pcie_width": p["pcie_width"], "fatal_xids": p["fatal_xids"]}
    return until_ready(lambda: evaluate(reader, expect, p["source"], p["strict"]),
                       p["wait"], p["timeout"], p["interval"])


def outcome(result: dict, title: str, p: dict) -> str | None:
    """The failure message of a verdict, or None when it is ready or the task must not fail."""
    if not result["ready"] and p["fail_on_not_ready"]:
        return failure_message(title, result)
    return None


def run(p: dict) -> tuple[dict, str | None]:
    """Host mode: (result, failure message or None)."""
    if p["mode"] != "host":
        return {}, "mode=cluster runs in the controller (the action plugin), not on a host"
    try:
        result = run_host(p)
    except (ReplayError, OSError, ValueError) as exc:
        return {}, f"gpu_readiness (host) could not read its evidence: {exc}"
    return result, outcome(result, "GPU host not ready", p)

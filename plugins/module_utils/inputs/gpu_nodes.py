"""The gpu_nodes step (role gpu_nodes): GPU pools, the device plugin, the RuntimeClass and the gate."""

from __future__ import annotations

import json
import re

from ansible_collections.agentic.platform.plugins.module_utils.inputs.common import (
    DNS1123_LABEL,
    DNS1123_SUBDOMAIN,
    LABEL_KEY,
    LABEL_VALUE,
    MISSING,
    Problems,
    as_int,
    is_image_reference,
    is_labels,
    is_taint,
    text,
)

VARIABLES = (
    "gpu_nodes_pools", "gpu_nodes_device_plugin_namespace", "gpu_nodes_device_plugin_version",
    "gpu_nodes_time_slicing_replicas", "gpu_nodes_mig_strategy", "gpu_nodes_runtime_class_name",
    "gpu_nodes_gate_timeout", "gpu_nodes_gate_interval", "gpu_nodes_device_plugin_image",
    "gpu_nodes_device_plugin_priority_class", "gpu_nodes_runtime_handler", "gpu_nodes_gate_smoke_image",
    "gpu_nodes_allocation", "gpu_nodes_dra_driver_image", "gpu_nodes_dra_driver_version",
    "gpu_nodes_dra_device_class", "gpu_nodes_gate_smoke_test",
    "gpu_nodes_dcgm_exporter_image", "gpu_nodes_dcgm_exporter_version", "gpu_nodes_dcgm_exporter_monitor_labels",
)

RELEASE_TAG = re.compile(r"^v[0-9]+\.[0-9]+\.[0-9]+([-.][0-9A-Za-z.-]+)?$")
EXTENDED_RESOURCE = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?/[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")
# The DCGM exporter's tags: <exporter version>-<DCGM version>[-<base image>].
DCGM_EXPORTER_TAG = re.compile(r"^[0-9]+\.[0-9]+\.[0-9]+-[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.]+)?$")
MAX_GATE_SECONDS = 3600
OWN_LABEL_PREFIX = "app.kubernetes.io/"  # the role sets these on the pools' nodes
MAX_TIME_SLICING_REPLICAS = 64


def _full(pattern: re.Pattern, value) -> bool:
    return isinstance(value, str) and pattern.fullmatch(value) is not None


def _labels(value, own_allowed: bool) -> bool:
    """A map of label keys to label values (rendered quoted: strings or numbers)."""
    return isinstance(value, dict) and all(
        _full(LABEL_KEY, k) and (own_allowed or not k.startswith(OWN_LABEL_PREFIX))
        and isinstance(x, str | int | float) and not isinstance(x, bool) and _full(LABEL_VALUE, str(x))
        for k, x in value.items())


def _taints(value) -> bool:
    """Taints the API server accepts, at most one per key and effect."""
    return isinstance(value, list) and all(is_taint(t) for t in value) and len(
        {(t["key"], t["effect"]) for t in value}) == len(value)


def _pool(pool) -> bool:
    if not isinstance(pool, dict):
        return False
    nodes, gpus = as_int(pool.get("nodes")), as_int(pool.get("gpus_per_node"))
    return (_full(DNS1123_LABEL, pool.get("name"))
            and isinstance(pool.get("selector"), dict) and len(pool["selector"]) > 0
            and _labels(pool["selector"], own_allowed=True)
            and _labels(pool.get("labels", {}), own_allowed=False)
            and ("nodes" not in pool or pool["nodes"] is None or (nodes is not None and nodes >= 0))
            and ("gpus_per_node" not in pool or (gpus is not None and gpus >= 1))
            and ("resource" not in pool or _full(EXTENDED_RESOURCE, pool["resource"]))
            and _taints(pool.get("taints", [])))


def _pools(value) -> bool:
    if not isinstance(value, list) or not value or not all(_pool(pool) for pool in value):
        return False
    names = [pool["name"] for pool in value]
    return len(set(names)) == len(names)


def _repository(value) -> bool:
    """An image repository ([registry[:port]/]path), with neither a tag nor a digest."""
    return (isinstance(value, str) and "@" not in value and ":" not in value.rsplit("/", 1)[-1]
            and is_image_reference(value + ":v1"))


def _json(value) -> str:
    return text(value) if value is MISSING else json.dumps(value, default=str)


def check(v: dict) -> list[str]:
    p = Problems()
    p.add(_pools(v["gpu_nodes_pools"]),
          "gpu_nodes_pools must be a non-empty list of pools with unique DNS-1123 names, a non-empty selector and "
          "labels of valid label keys and values (no app.kubernetes.io/ keys: the role sets those), nodes >= 0, "
          "gpus_per_node >= 1, resource an extended resource name (like nvidia.com/gpu) and taints {key, value, "
          "effect} with a label key, a label value and an effect NoSchedule, PreferNoSchedule or NoExecute, one per "
          "key and effect; "
          f"got {_json(v['gpu_nodes_pools'])}")
    p.add(_full(DNS1123_LABEL, v["gpu_nodes_device_plugin_namespace"]),
          f"gpu_nodes_device_plugin_namespace '{text(v['gpu_nodes_device_plugin_namespace'])}' must be a DNS-1123 "
          "label")
    p.add(_full(RELEASE_TAG, v["gpu_nodes_device_plugin_version"]),
          f"gpu_nodes_device_plugin_version '{text(v['gpu_nodes_device_plugin_version'])}' must be a release tag "
          "like v0.18.2")
    replicas = as_int(v["gpu_nodes_time_slicing_replicas"])
    p.add(replicas is not None and 0 <= replicas <= MAX_TIME_SLICING_REPLICAS,
          f"gpu_nodes_time_slicing_replicas must be 0 (off) to 64, got '{text(v['gpu_nodes_time_slicing_replicas'])}'")
    # Compared only with a valid replica count (the check above reports the others).
    p.add(v["gpu_nodes_mig_strategy"] == "none" or replicas is None or replicas <= 1,
          f"gpu_nodes_mig_strategy '{text(v['gpu_nodes_mig_strategy'])}' with gpu_nodes_time_slicing_replicas "
          f"{text(v['gpu_nodes_time_slicing_replicas'])}: this role shares whole GPUs only (use mig_strategy none "
          "with time-slicing)")
    p.add(_full(DNS1123_LABEL, v["gpu_nodes_runtime_class_name"]),
          f"gpu_nodes_runtime_class_name '{text(v['gpu_nodes_runtime_class_name'])}' must be a DNS-1123 label")
    timeout = as_int(v["gpu_nodes_gate_timeout"])
    p.add(timeout is not None and 0 < timeout <= MAX_GATE_SECONDS,
          f"gpu_nodes_gate_timeout must be 1 to {MAX_GATE_SECONDS} seconds, got '{text(v['gpu_nodes_gate_timeout'])}'")
    # Compared with the timeout only when that is valid (its own check reports the others).
    interval = as_int(v["gpu_nodes_gate_interval"])
    p.add(interval is not None and interval > 0 and (timeout is None or timeout <= 0 or interval <= timeout),
          "gpu_nodes_gate_interval must be 1 to gpu_nodes_gate_timeout seconds, "
          f"got '{text(v['gpu_nodes_gate_interval'])}'")
    # The device plugin's image is a repository: the role appends ':' and gpu_nodes_device_plugin_version.
    repository = v["gpu_nodes_device_plugin_image"]
    p.add(_repository(repository),
          f"gpu_nodes_device_plugin_image '{text(repository)}' must be an image repository without a tag or digest "
          "(like nvcr.io/nvidia/k8s-device-plugin): the role appends gpu_nodes_device_plugin_version")
    p.add(is_image_reference(v["gpu_nodes_gate_smoke_image"]),
          f"gpu_nodes_gate_smoke_image '{text(v['gpu_nodes_gate_smoke_image'])}' must be an image reference with a "
          "tag other than 'latest' or a sha256 digest")
    p.add(_full(DNS1123_SUBDOMAIN, v["gpu_nodes_device_plugin_priority_class"]),
          "gpu_nodes_device_plugin_priority_class "
          f"'{text(v['gpu_nodes_device_plugin_priority_class'])}' must be a PriorityClass name (a DNS-1123 subdomain)")
    p.add(_full(DNS1123_LABEL, v["gpu_nodes_runtime_handler"]),
          f"gpu_nodes_runtime_handler '{text(v['gpu_nodes_runtime_handler'])}' must be a RuntimeClass handler "
          "(a DNS-1123 label, like nvidia)")
    p.add(_repository(v["gpu_nodes_dcgm_exporter_image"]),
          f"gpu_nodes_dcgm_exporter_image '{text(v['gpu_nodes_dcgm_exporter_image'])}' must be an image repository "
          "without a tag or digest (like nvcr.io/nvidia/k8s/dcgm-exporter): the role appends "
          "gpu_nodes_dcgm_exporter_version")
    p.add(_full(DCGM_EXPORTER_TAG, v["gpu_nodes_dcgm_exporter_version"]),
          f"gpu_nodes_dcgm_exporter_version '{text(v['gpu_nodes_dcgm_exporter_version'])}' must be a DCGM exporter "
          "tag like 4.2.3-4.1.3-ubuntu22.04 (<exporter>-<DCGM>[-<base image>])")
    p.add(is_labels(v["gpu_nodes_dcgm_exporter_monitor_labels"]),
          "gpu_nodes_dcgm_exporter_monitor_labels must map label keys to label values (e.g. release: "
          f"kube-prometheus-stack), got {text(v['gpu_nodes_dcgm_exporter_monitor_labels'])}")
    dra = v["gpu_nodes_allocation"] == "dra"
    p.add(_repository(v["gpu_nodes_dra_driver_image"]),
          f"gpu_nodes_dra_driver_image '{text(v['gpu_nodes_dra_driver_image'])}' must be an image repository without "
          "a tag or digest (like nvcr.io/nvidia/k8s-dra-driver-gpu): the role appends gpu_nodes_dra_driver_version")
    p.add(_full(RELEASE_TAG, v["gpu_nodes_dra_driver_version"]),
          f"gpu_nodes_dra_driver_version '{text(v['gpu_nodes_dra_driver_version'])}' must be a release tag like "
          "v25.8.0")
    p.add(_full(DNS1123_SUBDOMAIN, v["gpu_nodes_dra_device_class"]),
          f"gpu_nodes_dra_device_class '{text(v['gpu_nodes_dra_device_class'])}' must be a DeviceClass name (a "
          "DNS-1123 subdomain, like gpu.nvidia.com)")
    # The DRA driver hands out whole GPUs here; sharing and MIG profiles are the device plugin's.
    p.add(not dra or (v["gpu_nodes_mig_strategy"] == "none" and (replicas is None or replicas <= 1)),
          "gpu_nodes_allocation dra hands out whole GPUs: set gpu_nodes_mig_strategy none and "
          f"gpu_nodes_time_slicing_replicas 0 (got '{text(v['gpu_nodes_mig_strategy'])}' and "
          f"'{text(v['gpu_nodes_time_slicing_replicas'])}')")
    p.add(not dra or v["gpu_nodes_gate_smoke_test"] is not True,
          "gpu_nodes_gate_smoke_test asks for a GPU as nvidia.com/gpu: it needs gpu_nodes_allocation device-plugin")
    return p

"""GPUs through Dynamic Resource Allocation (resource.k8s.io/v1): the objects, rendered from data.

With DRA a GPU is a device a driver publishes in a ResourceSlice (one pool per node), a
DeviceClass selects the driver's devices, and a pod asks for them through a ResourceClaim (made
from a ResourceClaimTemplate) that the kube-scheduler allocates; no nvidia.com/gpu extended
resource is involved.
"""

from __future__ import annotations

# NVIDIA's DRA driver for GPUs publishes its devices under this driver name, and names its
# DeviceClass after it.
DRIVER = "gpu.nvidia.com"
API_VERSION = "resource.k8s.io/v1"


def device_class(name: str, driver: str = DRIVER, labels: dict | None = None) -> dict:
    """A DeviceClass selecting every device of ``driver`` (a CEL selector the API server compiles)."""
    return {"apiVersion": API_VERSION, "kind": "DeviceClass",
            "metadata": {"name": name, **({"labels": labels} if labels else {})},
            "spec": {"selectors": [{"cel": {"expression": f"device.driver == {_cel_string(driver)}"}}]}}


def resource_slice(node: str, gpus: int, product: str, memory: str, driver: str = DRIVER,
                   labels: dict | None = None) -> dict:
    """What the driver publishes for one node: a pool named after the node, one slice, ``gpus``
    devices (gpu-0..) with the product name and memory as attributes and capacity."""
    return {"apiVersion": API_VERSION, "kind": "ResourceSlice",
            "metadata": {"name": f"{node}-{driver}", **({"labels": labels} if labels else {})},
            "spec": {"driver": driver, "nodeName": node,
                     "pool": {"name": node, "generation": 1, "resourceSliceCount": 1},
                     "devices": [{"name": f"gpu-{i}",
                                  "attributes": {"type": {"string": "gpu"}, "productName": {"string": product},
                                                 "index": {"int": i}},
                                  "capacity": {"memory": {"value": memory}}}
                                 for i in range(gpus)]}}


def claim_template(name: str, namespace: str, class_name: str, count: int, labels: dict | None = None) -> dict:
    """A ResourceClaimTemplate asking for ``count`` devices of the class: one claim per pod."""
    return {"apiVersion": API_VERSION, "kind": "ResourceClaimTemplate",
            "metadata": {"name": name, "namespace": namespace, **({"labels": labels} if labels else {})},
            "spec": {"spec": {"devices": {"requests": [
                {"name": "gpu", "exactly": {"deviceClassName": class_name, "allocationMode": "ExactCount",
                                            "count": count}}]}}}}


def slice_summary(resource_slice: dict, driver: str = DRIVER) -> tuple[str, int, int] | None:
    """(node, pool generation, devices) of a node-local slice of ``driver``; None for any other."""
    spec = resource_slice.get("spec", {})
    if spec.get("driver") != driver or not spec.get("nodeName"):
        return None
    return spec["nodeName"], int((spec.get("pool") or {}).get("generation", 0)), len(spec.get("devices") or [])


def devices_by_node(summaries) -> dict[str, int]:
    """Devices published per node, counting the newest generation of each node's pool only (the
    slices of an older generation are being replaced). ``summaries``: slice_summary results."""
    latest: dict[str, tuple[int, int]] = {}
    for summary in summaries:
        if summary is None:
            continue
        node, gen, count = summary
        have_gen, have = latest.get(node, (gen, 0))
        if gen > have_gen:
            latest[node] = (gen, count)
        elif gen == have_gen:
            latest[node] = (gen, have + count)
    return {node: count for node, (_gen, count) in latest.items()}


def _cel_string(value: str) -> str:
    """A CEL string literal of ``value`` (driver names are DNS subdomains: no quote to escape)."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'

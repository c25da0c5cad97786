"""Cluster-side GPU readiness: is every node of a GPU pool really ready for GPU work?

Reads are two paged lists whatever the pool size: the pool's nodes (label selector) and the
device plugin's pods (label selector), PAGE_SIZE objects a page. Never one call per node. An optional smoke Job asks for
one GPU on the pool and must complete; it is deleted afterwards.
"""

from __future__ import annotations

import secrets
import time
from concurrent.futures import Future, ThreadPoolExecutor
from urllib.parse import quote

from ansible_collections.agentic.platform.plugins.module_utils.gpu_dra import devices_by_node, slice_summary
from ansible_collections.agentic.platform.plugins.module_utils.gpu_readiness_run import until_ready
from ansible_collections.agentic.platform.plugins.module_utils.gpu_verdict import (
    FAIL,
    NO_EVIDENCE,
    PASS,
    check,
    summarize,
)
from ansible_collections.agentic.platform.plugins.module_utils.kube_client import APPLY_PATCH, ApiError, KubeClient
from ansible_collections.agentic.platform.plugins.module_utils.poll import poll

SMOKE_LABEL = "app.kubernetes.io/name"
SMOKE_NAME = "gpu-readiness-smoke"
# Labels of the GPU Operator's MIG manager and driver upgrade controller.
MIG_CONFIG = "nvidia.com/mig.config"
MIG_CONFIG_STATE = "nvidia.com/mig.config.state"
DRIVER_UPGRADE_STATE = "nvidia.com/gpu-driver-upgrade-state"
# A taint key or condition type naming one of these is about the node's GPUs.
GPU_WORDS = ("gpu", "nvidia", "accelerat")
HEALTHY_CONDITION_SUFFIXES = ("Ready", "Healthy")
# Objects a list page carries: one page of Node objects is what the gate holds at once.
PAGE_SIZE = 500
# Distinct check results shared between nodes (past it, results are kept as they are).
MAX_SHARED = 4096


# ---------------------------------------------------------------------------------------------
# Checks
# ---------------------------------------------------------------------------------------------

def _qty(raw) -> int | None:
    if raw is None:
        return None
    try:
        return int(str(raw))
    except ValueError:
        return None


def _condition(obj: dict, kind: str) -> dict | None:
    for cond in obj.get("status", {}).get("conditions") or []:
        if cond.get("type") == kind:
            return cond
    return None


def pod_ready(pod: dict) -> bool:
    if pod.get("metadata", {}).get("deletionTimestamp") or pod.get("status", {}).get("phase") != "Running":
        return False
    cond = _condition(pod, "Ready")
    return bool(cond and cond.get("status") == "True")


def device_plugin_health(res: str, cap: int | None, alloc: int | None) -> dict:
    """The device plugin withdraws a GPU it finds unhealthy (an Xid, a lost GPU) from allocatable,
    leaving capacity as it was: the GPU Operator's validator does not look at that gap."""
    seen = {"capacity": cap, "allocatable": alloc}
    if cap is None:
        return check(NO_EVIDENCE, f"no {res} capacity reported", **seen)
    if alloc is None or alloc < cap:
        return check(FAIL, f"allocatable {res} {alloc} < capacity {cap}: the device plugin reports "
                           f"{cap - (alloc or 0)} GPU(s) unhealthy", **seen)
    return check(PASS, f"allocatable {res} {alloc} == capacity {cap}: every GPU healthy", **seen)


def mig_config(labels: dict) -> dict:
    """The GPU Operator's MIG manager writes the outcome of nvidia.com/mig.config in
    nvidia.com/mig.config.state: anything but success means the layout asked for is not in place."""
    state = labels.get(MIG_CONFIG_STATE)
    wanted = labels.get(MIG_CONFIG)
    if state is None:
        return check(PASS, f"no {MIG_CONFIG_STATE} label: no MIG layout managed on this node")
    if state != "success":
        return check(FAIL, f"{MIG_CONFIG_STATE}={state}: MIG layout {wanted or '(unnamed)'} not applied",
                     state=state, config=wanted)
    return check(PASS, f"MIG layout {wanted or '(unnamed)'} applied ({MIG_CONFIG_STATE}=success)",
                 state=state, config=wanted)


def driver_upgrade(labels: dict) -> dict:
    """The GPU Operator's driver upgrade controller marks a node whose driver upgrade failed; its
    validator may still report the old driver Ready."""
    state = labels.get(DRIVER_UPGRADE_STATE)
    if state == "upgrade-failed":
        return check(FAIL, f"{DRIVER_UPGRADE_STATE}=upgrade-failed: the driver upgrade failed on this node",
                     state=state)
    return check(PASS, f"driver upgrade state {state or 'not labelled'}", state=state)


def _gpu_related(name: str) -> bool:
    return any(word in name.lower() for word in GPU_WORDS)


def gpu_fault(node: dict, expected_taints: list[dict]) -> dict:
    """A GPU health monitor (node-problem-detector, NVSentinel, a cloud's node agent) marks a faulty
    node with a GPU taint or a GPU node condition. A GPU taint the pool does not expect keeps GPU
    work off the node; a GPU condition in its bad state (node-problem-detector's convention: a
    ...Ready or ...Healthy condition is bad unless True, any other problem condition is bad when
    True) names the fault."""
    expected = {(t["key"], t.get("value") or "", t["effect"]) for t in expected_taints}
    faults = [f"taint {t.get('key')}={t.get('value') or ''}:{t.get('effect')}"
              for t in node.get("spec", {}).get("taints") or []
              if t.get("effect") in ("NoSchedule", "NoExecute") and _gpu_related(t.get("key") or "")
              and (t.get("key"), t.get("value") or "", t.get("effect")) not in expected]
    for cond in node.get("status", {}).get("conditions") or []:
        kind = cond.get("type") or ""
        if kind == "Ready" or not _gpu_related(kind):
            continue
        healthy = "True" if kind.endswith(HEALTHY_CONDITION_SUFFIXES) else "False"
        if cond.get("status") != healthy:
            faults.append(f"condition {kind}={cond.get('status')} ({cond.get('reason') or 'no reason'}: "
                          f"{(cond.get('message') or '')[:120]})")
    if faults:
        return check(FAIL, "GPU fault reported: " + "; ".join(faults), faults=faults)
    return check(PASS, "no GPU fault taint or condition")


def dra_devices(published: int | None, driver: str, want: int | None) -> dict:
    """With DRA the node's GPUs are the devices its driver publishes in ResourceSlices (a pool
    per node): none means the DRA driver is not running there, fewer than expected a lost GPU."""
    seen = {"published": published, "expected": want}
    if not published:
        return check(FAIL, f"no {driver} device published in a ResourceSlice for this node "
                     "(DRA driver not running here?)", **seen)
    if want is not None and published != want:
        return check(FAIL, f"{published} {driver} device(s) published, expected {want}", **seen)
    expected = f" == expected {want}" if want is not None else ""
    return check(PASS, f"{published} {driver} device(s) published{expected}", **seen)


def node_checks(node: dict, spec: dict, plugin_pods: list[dict] | None, dra_published: int | None = None) -> dict:
    out: dict = {}
    res = spec.get("resource", "nvidia.com/gpu")
    status = node.get("status", {})
    ready = _condition(node, "Ready")
    if node.get("spec", {}).get("unschedulable"):
        out["ready"] = check(FAIL, "cordoned (spec.unschedulable)")
    elif ready is None:
        out["ready"] = check(FAIL, "no Ready condition reported (kubelet never registered?)")
    elif ready.get("status") != "True":
        out["ready"] = check(FAIL, f"Ready={ready.get('status')} ({ready.get('reason') or 'no reason'}: "
                                   f"{(ready.get('message') or '')[:120]})")
    else:
        out["ready"] = check(PASS, "Ready")

    want = spec.get("gpus_per_node")
    dra = spec.get("dra")
    if dra:
        out["dra_devices"] = dra_devices(dra_published, dra["driver"], want)
    cap = _qty(status.get("capacity", {}).get(res))
    alloc = _qty(status.get("allocatable", {}).get(res))
    seen = {"capacity": cap, "allocatable": alloc, "expected": want}
    if dra:
        pass  # the GPUs are DRA devices: no extended resource to count
    elif cap is None:
        out["gpu_capacity"] = check(FAIL, f"no {res} capacity: the device plugin has not registered GPUs", **seen)
    elif want is not None and cap != want:
        out["gpu_capacity"] = check(FAIL, f"capacity {res} {cap}, expected {want}", **seen)
    else:
        expected = f" == expected {want}" if want is not None else ""
        out["gpu_capacity"] = check(PASS, f"{res} capacity {cap}{expected}", **seen)
    if not dra:
        out["device_plugin_health"] = device_plugin_health(res, cap, alloc)

    labels = node.get("metadata", {}).get("labels") or {}
    out["mig_config"] = mig_config(labels)
    out["driver_upgrade"] = driver_upgrade(labels)
    out["gpu_fault"] = gpu_fault(node, spec.get("taints") or [])

    wrong = []
    for key, val in (spec.get("labels") or {}).items():
        if key not in labels:
            wrong.append(f"missing label {key}={val}")
        elif labels[key] != str(val):
            wrong.append(f"label {key}={labels[key]}, expected {val}")
    out["labels"] = check(FAIL, "; ".join(wrong)) if wrong else check(
        PASS, f"{len(spec.get('labels') or {})} expected label(s) present")

    taints = node.get("spec", {}).get("taints") or []
    have = {(t.get("key"), t.get("value") or "", t.get("effect")) for t in taints}
    missing = [f"{t['key']}={t.get('value') or ''}:{t['effect']}" for t in spec.get("taints") or []
               if (t["key"], t.get("value") or "", t["effect"]) not in have]
    out["taints"] = check(FAIL, "missing taint(s) " + ", ".join(missing)) if missing else check(
        PASS, f"{len(spec.get('taints') or [])} expected taint(s) present")

    if plugin_pods is not None:
        if not plugin_pods:
            out["device_plugin"] = check(FAIL, "no device-plugin pod on this node")
        else:
            ready_pods = [p for p in plugin_pods if pod_ready(p)]
            if ready_pods:
                out["device_plugin"] = check(PASS, f"device-plugin pod {ready_pods[0]['metadata']['name']} Ready")
            else:
                p = plugin_pods[0]
                out["device_plugin"] = check(FAIL, f"device-plugin pod {p['metadata']['name']} not Ready "
                                                   f"(phase {p.get('status', {}).get('phase')})")
    return out


def _pages(api: KubeClient, path: str, selector: str, field_selector: str = ""):
    """The items of a list, a page (PAGE_SIZE objects) at a time, following the server's continue
    token: the caller judges each page and drops it, so memory does not grow with raw objects."""
    token = None
    while True:
        query = {"limit": PAGE_SIZE, **({"labelSelector": selector} if selector else {}),
                 **({"fieldSelector": field_selector} if field_selector else {}),
                 **({"continue": token} if token else {})}
        body = api.call("GET", path, query)
        yield body.get("items") or []
        token = (body.get("metadata") or {}).get("continue")
        if not token:
            return


def _pod_summary(pod: dict) -> dict:
    """What pod_ready and the device_plugin check read of a pod, without the rest of it."""
    meta, status = pod.get("metadata", {}), pod.get("status", {})
    return {"metadata": {"name": meta.get("name"), "deletionTimestamp": meta.get("deletionTimestamp")},
            "status": {"phase": status.get("phase"), "conditions": [_condition(pod, "Ready") or {}]}}


def _plugin_pods_by_node(api: KubeClient, plugin: dict) -> dict[str, list[dict]]:
    by_node: dict[str, list[dict]] = {}
    for page in _pages(api, f"/api/v1/namespaces/{quote(plugin['namespace'])}/pods", plugin["selector"]):
        for pod in page:
            by_node.setdefault(pod.get("spec", {}).get("nodeName") or "", []).append(_pod_summary(pod))
    return by_node


def _dra_devices_by_node(api: KubeClient, driver: str) -> dict[str, int]:
    return devices_by_node(slice_summary(s, driver) for page in _pages(
        api, "/apis/resource.k8s.io/v1/resourceslices", "", f"spec.driver={driver}") for s in page)


def _shared(checks: dict, seen: dict) -> dict:
    """The node's checks with every result equal to one seen before replaced by that one: a
    healthy pool's nodes share their passing results, so the verdict grows by a small dict a node."""
    out = {}
    for name, res in checks.items():
        key = (name, repr(res))
        out[name] = seen.setdefault(key, res) if len(seen) < MAX_SHARED else res
    return out


def evaluate(api: KubeClient, spec: dict, strict: bool = False) -> dict:
    """One look at the pool: a paged list of its nodes (and one of the device-plugin pods), then
    every check on every node, a page at a time. The number of list calls does not depend on the
    pool's size (pages of PAGE_SIZE); never one call per node."""
    try:
        return _evaluate(api, spec, strict)
    except ApiError as exc:
        if exc.status != 410:
            raise
        # A continue token expired (the pool changed faster than etcd keeps history): look again.
        return _evaluate(api, spec, strict)


def _evaluate(api: KubeClient, spec: dict, strict: bool) -> dict:
    before = api.requests
    selector = spec["selector"]
    plugin = spec.get("device_plugin")
    with ThreadPoolExecutor(max_workers=1) as pool:
        # the plugin's pods are listed while the first page of nodes comes (client permitting)
        if not plugin:
            pods = None
        elif api.parallel:
            pods = pool.submit(_plugin_pods_by_node, api, plugin)
        else:
            pods = Future()
            pods.set_result(_plugin_pods_by_node(api, plugin))
        dra = spec.get("dra")
        published = _dra_devices_by_node(api, dra["driver"]) if dra else {}
        results, seen = {}, {}
        for page in _pages(api, "/api/v1/nodes", selector):
            by_node = pods.result() if pods else None
            for node in page:
                name = node["metadata"]["name"]
                checks = node_checks(node, spec, None if by_node is None else by_node.get(name, []),
                                     published.get(name))
                results[name] = {"checks": _shared(checks, seen)}
            del page
        if pods:
            pods.result()
    results = dict(sorted(results.items()))
    count = len(results)

    want = spec.get("expected_nodes")
    if not count:
        size = check(FAIL, f"no node matches selector '{selector}'", nodes=0, expected=want)
    elif want is not None and count < want:
        size = check(FAIL, f"{count} node(s) match selector '{selector}', expected at least {want}",
                     nodes=count, expected=want)
    else:
        size = check(PASS, f"{count} node(s) match selector '{selector}'"
                     + (f", expected at least {want}" if want is not None else ""), nodes=count, expected=want)
    pool_checks = {"pool_size": size}
    scopes = [("pool", pool_checks)] + [(f"node {name}", r["checks"]) for name, r in results.items()]
    verdict = summarize(scopes, strict=strict)
    return {
        "mode": "cluster", "ready": verdict["ready"], "selector": selector, "node_count": count,
        "pool": {"checks": pool_checks}, "nodes": results, "counts": verdict["counts"],
        "failures": verdict["failures"], "no_evidence": verdict["no_evidence"],
        "requests": api.requests - before,
    }


# ---------------------------------------------------------------------------------------------
# Smoke Job
# ---------------------------------------------------------------------------------------------

def _equality_labels(selector: str) -> dict:
    """The 'k=v' / 'k==v' terms of a label selector (set-based terms are left to the scheduler)."""
    out = {}
    for term in selector.split(","):
        term = term.strip()
        if "!=" in term or " in " in term or " notin " in term or "=" not in term:
            continue
        key, val = term.replace("==", "=").split("=", 1)
        out[key.strip()] = val.strip()
    return out


def smoke_job(spec: dict, smoke: dict, name: str = SMOKE_NAME) -> dict:
    res = spec.get("resource", "nvidia.com/gpu")
    tolerations = [{"key": t["key"], "operator": "Exists", "effect": t["effect"]} for t in spec.get("taints") or []]
    tolerations.append({"key": res, "operator": "Exists", "effect": "NoSchedule"})
    labels = {SMOKE_LABEL: SMOKE_NAME, "app.kubernetes.io/managed-by": "agentic.platform",
              "app.kubernetes.io/component": "gpu-readiness"}
    return {
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": name, "labels": labels},
        "spec": {
            "backoffLimit": 0, "activeDeadlineSeconds": int(smoke["timeout"]), "ttlSecondsAfterFinished": 300,
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "restartPolicy": "Never",
                    "nodeSelector": _equality_labels(spec["selector"]),
                    "tolerations": tolerations,
                    "runtimeClassName": smoke.get("runtime_class") or None,
                    "securityContext": {"runAsNonRoot": True, "runAsUser": 65534,
                                        "seccompProfile": {"type": "RuntimeDefault"}},
                    "containers": [{
                        "name": "smoke", "image": smoke["image"], "command": list(smoke["command"]),
                        "resources": {"limits": {res: 1}, "requests": {"cpu": "10m", "memory": "16Mi"}},
                        "securityContext": {"allowPrivilegeEscalation": False,
                                            "capabilities": {"drop": ["ALL"]}},
                    }],
                },
            },
        },
    }


def run_smoke(api: KubeClient, spec: dict, smoke: dict, clock=time.monotonic, sleep=time.sleep) -> dict:
    """Create the smoke Job, wait for it to succeed or fail, delete it. Returns a check."""
    ns = quote(smoke["namespace"])
    # A name of our own, created by server-side apply: sending it again after a lost answer
    # (the client retries applies) cannot create a second Job, as a POST with generateName would.
    name = f"{SMOKE_NAME}-{secrets.token_hex(4)}"
    job = smoke_job(spec, smoke, name)
    if not job["spec"]["template"]["spec"]["runtimeClassName"]:
        del job["spec"]["template"]["spec"]["runtimeClassName"]
    path = f"/apis/batch/v1/namespaces/{ns}/jobs/{quote(name)}"
    api.call("PATCH", path, {"fieldManager": "agentic.platform", "fieldValidation": "Strict"}, job,
             content_type=APPLY_PATCH)

    def finished():
        status = api.call("GET", path).get("status", {})
        return bool(status.get("succeeded") or status.get("failed")), status

    try:
        polled = poll(finished, smoke["timeout"], smoke.get("interval", 1), clock=clock, sleep=sleep)
        if polled.value.get("succeeded"):
            pods = api.list(f"/api/v1/namespaces/{ns}/pods", f"job-name={name}")
            where = sorted({p.get("spec", {}).get("nodeName") or "?" for p in pods})
            return check(PASS, f"smoke Job {name} requesting 1 GPU succeeded on {', '.join(where) or '?'} "
                               f"in {polled.elapsed:.1f}s", job=name, nodes=where)
        if polled.value.get("failed"):
            return check(FAIL, f"smoke Job {name} requesting 1 GPU failed", job=name)
        return check(FAIL, f"smoke Job {name} requesting 1 GPU did not complete within {smoke['timeout']}s",
                     job=name)
    finally:
        try:
            api.call("DELETE", path, {"propagationPolicy": "Background"})
        except ApiError as exc:
            if exc.status != 404:
                raise


def skipped_smoke(reason: str) -> dict:
    return check(NO_EVIDENCE, reason)


def readiness(api: KubeClient, spec: dict, smoke: dict | None = None, wait: bool = False, timeout: float = 300,
              interval: float = 5, strict: bool = False, check_mode: bool = False,
              clock=time.monotonic, sleep=time.sleep) -> dict:
    """Poll the pool until ready (or once without ``wait``); then, if asked, the smoke Job."""
    started, before = clock(), api.requests
    result = until_ready(lambda: evaluate(api, spec, strict), wait, timeout, interval, clock=clock, sleep=sleep)
    if smoke:
        if check_mode:
            result["pool"]["checks"]["smoke"] = skipped_smoke("check mode: the smoke Job was not created")
        elif not result["ready"]:
            result["pool"]["checks"]["smoke"] = skipped_smoke("pool not ready: the smoke Job was not created")
        else:
            left = max(1.0, timeout - (clock() - started))
            result["pool"]["checks"]["smoke"] = run_smoke(
                api, spec, {**smoke, "timeout": min(float(smoke.get("timeout", 120)), left)}, clock=clock, sleep=sleep)
        scopes = [("pool", result["pool"]["checks"])] + [
            (f"node {n}", r["checks"]) for n, r in result["nodes"].items()]
        verdict = summarize(scopes, strict=strict)
        result.update(ready=verdict["ready"], counts=verdict["counts"], failures=verdict["failures"],
                      no_evidence=verdict["no_evidence"])
    result["requests"] = api.requests - before
    return result

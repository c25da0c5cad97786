"""Cluster-mode GPU readiness and the gpu_nodes role on kwok GPU nodes of the real local cluster.

The tests create their own fake GPU nodes under a pool label of their own
(node-pool=t-<random>), one group per case (label case=...), and delete them afterwards.
kwok keeps nodes with the annotation kwok.x-k8s.io/node=fake Ready; the NotReady node has no
such annotation and its Ready=False is written through the status subresource.
"""

from __future__ import annotations

import json
import time
import uuid

import pytest
import yaml
from ansible_collections.agentic.platform.plugins.module_utils import gpu_cluster
from ansible_collections.agentic.platform.plugins.module_utils.gpu_node_taints import merged_taints
from ansible_collections.agentic.platform.plugins.module_utils.gpu_verdict import failure_message
from ansible_collections.agentic.platform.plugins.module_utils.kube_apply import Applier, ApplyError
from ansible_collections.agentic.platform.plugins.module_utils.kube_client import KubeClient
from site_support import run_site

pytestmark = pytest.mark.cluster

GPU_TAINT = {"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}
XID_TAINT = {"key": "nvidia.com/gpu-xid", "value": "79", "effect": "NoExecute"}  # a GPU health monitor's
GATE = "Gate - wait until every GPU pool is really ready"
POOL_LABELS = {"nvidia.com/gpu.present": "true", "workload": "ai-agents"}


def gpu_node(name: str, pool: str, case: str, *, gpus: int = 8, allocatable: int | None = None,
             labels: dict | None = None, kwok: bool = True) -> dict:
    capacity = {"cpu": "96", "memory": "1024Gi", "ephemeral-storage": "1Ti", "pods": "110",
                "nvidia.com/gpu": str(gpus)}
    alloc = {**capacity, "nvidia.com/gpu": str(gpus if allocatable is None else allocatable)}
    return {
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": name,
                     "labels": {"node-pool": pool, "case": case, "type": "kwok", "kubernetes.io/hostname": name,
                                **(POOL_LABELS if labels is None else labels)},
                     "annotations": {"kwok.x-k8s.io/node": "fake"} if kwok else {}},
        "spec": {"taints": [GPU_TAINT]},
        "status": {"capacity": capacity, "allocatable": alloc},
    }


@pytest.fixture(scope="module")
def pool(kubectl):
    """Fake GPU nodes of a pool of this module: healthy x2, allocatable < capacity, NotReady,
    missing a label, and a CPU node of the same pool (no nvidia.com/gpu.present)."""
    name = f"t-{uuid.uuid4().hex[:8]}"
    nodes = [
        gpu_node(f"{name}-healthy-0", name, "healthy"),
        gpu_node(f"{name}-healthy-1", name, "healthy"),
        gpu_node(f"{name}-alloc-0", name, "alloc", allocatable=7),
        gpu_node(f"{name}-notready-0", name, "notready", kwok=False),
        gpu_node(f"{name}-nolabel-0", name, "nolabel", labels={"nvidia.com/gpu.present": "true"}),
        gpu_node(f"{name}-mig-0", name, "mig", labels={**POOL_LABELS, "nvidia.com/mig.config": "all-1g.18gb",
                                                        "nvidia.com/mig.config.state": "failed"}),
        gpu_node(f"{name}-upgrade-0", name, "upgrade",
                 labels={**POOL_LABELS, "nvidia.com/gpu-driver-upgrade-state": "upgrade-failed"}),
        gpu_node(f"{name}-fault-0", name, "fault"),
        gpu_node(f"{name}-faultcond-0", name, "faultcond", kwok=False),
        gpu_node(f"{name}-cpu-0", name, "cpu", gpus=0, labels={"workload": "general"}),
    ]
    nodes[-3]["spec"]["taints"].append(XID_TAINT)
    del nodes[-1]["status"]["capacity"]["nvidia.com/gpu"], nodes[-1]["status"]["allocatable"]["nvidia.com/gpu"]
    nodes[-1]["spec"]["taints"] = []
    try:
        kubectl.apply({"apiVersion": "v1", "kind": "List", "items": nodes})
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        kubectl.run("patch", "node", f"{name}-notready-0", "--subresource=status", "--type=merge", "-p", json.dumps(
            {"status": {"conditions": [{"type": "Ready", "status": "False", "reason": "KubeletNotReady",
                                        "message": "container runtime network not ready", "lastHeartbeatTime": now,
                                        "lastTransitionTime": now}]}}))
        kubectl.run("patch", "node", f"{name}-faultcond-0", "--subresource=status", "--type=merge", "-p", json.dumps(
            {"status": {"conditions": [
                {"type": "Ready", "status": "True", "reason": "KubeletReady", "lastHeartbeatTime": now,
                 "lastTransitionTime": now},
                {"type": "AcceleratedHardwareReady", "status": "False", "reason": "NvidiaXID79",
                 "message": "GPU has fallen off the bus", "lastHeartbeatTime": now, "lastTransitionTime": now}]}}))
        yield name
    finally:
        kubectl.run("delete", "node", "-l", f"node-pool={name}", "--wait=false", check=False)


@pytest.fixture(scope="module")
def api(kubectl) -> KubeClient:
    return KubeClient.from_config(kubectl.kubeconfig)


def spec(pool: str, case: str, **extra) -> dict:
    return {"selector": f"node-pool={pool},case={case}", "expected_nodes": 1, "gpus_per_node": 8,
            "labels": POOL_LABELS, "taints": [GPU_TAINT], **extra}


@pytest.fixture(scope="module")
def kwok_ready(api, pool):
    """kwok marks new nodes Ready within seconds: wait for every kwok node of the pool."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        res = gpu_cluster.evaluate(api, {"selector": f"node-pool={pool},case notin (notready,faultcond)"})
        if res["node_count"] == 8 and all(n["checks"]["ready"]["status"] == "pass" for n in res["nodes"].values()):
            return pool
        time.sleep(0.5)
    raise AssertionError(f"kwok did not make the pool's nodes Ready: {res['failures']}")


def wait_ready(api, s: dict) -> dict:
    return gpu_cluster.readiness(api, s, wait=False)


def test_healthy_pool_passes_with_one_list_call(api, kwok_ready):
    pool = kwok_ready
    res = wait_ready(api, spec(pool, "healthy", expected_nodes=2))
    assert res["ready"], res["failures"]
    assert res["node_count"] == 2
    assert sorted(res["nodes"]) == [f"{pool}-healthy-0", f"{pool}-healthy-1"]
    for node in res["nodes"].values():
        assert {c["status"] for c in node["checks"].values()} == {"pass"}
    once = gpu_cluster.evaluate(api, spec(pool, "healthy", expected_nodes=2))
    assert once["requests"] == 1  # one list of the pool's nodes, nothing per node


def test_paged_lists_reach_the_same_verdict_with_a_constant_number_of_lists(api, kwok_ready, monkeypatch):
    """The API server's continue tokens, followed page by page: 8 nodes in pages of 3 are 3 list
    requests of one list, and the verdict is the one a single page gives (the kwok nodes only:
    the others' Ready ages between two looks)."""
    pool = kwok_ready
    kwok_nodes = {"selector": f"node-pool={pool},case notin (notready,faultcond)", "gpus_per_node": 8}
    whole = gpu_cluster.evaluate(api, kwok_nodes)
    assert whole["node_count"] == 8 and whole["requests"] == 1
    monkeypatch.setattr(gpu_cluster, "PAGE_SIZE", 3)
    paged = gpu_cluster.evaluate(api, kwok_nodes)
    assert paged["requests"] == 3
    assert paged["nodes"] == whole["nodes"] and paged["failures"] == whole["failures"]


def test_allocatable_below_capacity_fails_naming_node_and_check(api, kwok_ready):
    pool = kwok_ready
    res = wait_ready(api, spec(pool, "alloc"))
    assert not res["ready"]
    msg = failure_message("GPU pool not ready", res)
    assert (f"node {pool}-alloc-0: device_plugin_health: allocatable nvidia.com/gpu 7 < capacity 8: "
            "the device plugin reports 1 GPU(s) unhealthy") in msg
    assert res["nodes"][f"{pool}-alloc-0"]["checks"]["ready"]["status"] == "pass"


@pytest.mark.parametrize(("case", "check", "reason"), [
    ("mig", "mig_config", "nvidia.com/mig.config.state=failed: MIG layout all-1g.18gb not applied"),
    ("upgrade", "driver_upgrade", "nvidia.com/gpu-driver-upgrade-state=upgrade-failed: the driver upgrade failed "
                                  "on this node"),
    ("fault", "gpu_fault", "GPU fault reported: taint nvidia.com/gpu-xid=79:NoExecute"),
    ("faultcond", "gpu_fault", "GPU fault reported: condition AcceleratedHardwareReady=False (NvidiaXID79: GPU has "
                               "fallen off the bus)"),
])
def test_gpu_operator_blind_spots_fail_on_kwok_nodes(api, kwok_ready, case, check, reason):
    """What the GPU Operator's validator reports Ready through, as the API server returns it."""
    pool = kwok_ready
    res = gpu_cluster.evaluate(api, spec(pool, case))
    assert f"node {pool}-{case}-0: {check}: {reason}" in res["failures"], res["failures"]
    if case != "faultcond":  # kwok keeps it Ready; the other node's Ready is ours, and ages
        assert [f for f in res["failures"] if f": {check}: " not in f] == []


def test_not_ready_node_fails(api, kwok_ready):
    pool = kwok_ready
    res = gpu_cluster.evaluate(api, spec(pool, "notready"))
    assert not res["ready"]
    assert any(f.startswith(f"node {pool}-notready-0: ready: Ready=") for f in res["failures"]), res["failures"]
    assert res["nodes"][f"{pool}-notready-0"]["checks"]["ready"]["status"] == "fail"


def test_missing_label_fails(api, kwok_ready):
    pool = kwok_ready
    res = wait_ready(api, spec(pool, "nolabel"))
    assert not res["ready"]
    assert f"node {pool}-nolabel-0: labels: missing label workload=ai-agents" in res["failures"]


def test_pool_smaller_than_expected_fails(api, kwok_ready):
    pool = kwok_ready
    res = wait_ready(api, spec(pool, "healthy", expected_nodes=3))
    assert not res["ready"]
    assert res["failures"] == [
        f"pool: pool_size: 2 node(s) match selector 'node-pool={pool},case=healthy', expected at least 3"]


def test_empty_pool_fails(api, kwok_ready):
    pool = kwok_ready
    res = gpu_cluster.evaluate(api, spec(pool, "nothing-here"))
    assert res["failures"] == [f"pool: pool_size: no node matches selector 'node-pool={pool},case=nothing-here'"]


def test_missing_device_plugin_fails_per_node(api, kwok_ready, namespace):
    pool = kwok_ready
    res = wait_ready(api, spec(pool, "healthy", device_plugin={
        "namespace": namespace, "selector": "app.kubernetes.io/name=nvidia-device-plugin"}))
    assert not res["ready"]
    assert f"node {pool}-healthy-0: device_plugin: no device-plugin pod on this node" in res["failures"]
    assert res["requests"] >= 2


def test_smoke_job_requesting_one_gpu_completes_and_is_deleted(api, kwok_ready, namespace, kubectl):
    pool = kwok_ready
    res = gpu_cluster.readiness(api, spec(pool, "healthy"), smoke={
        "namespace": namespace, "image": "nvcr.io/nvidia/cuda:12.8.1-base-ubuntu24.04",
        "command": ["nvidia-smi", "-L"], "timeout": 90, "interval": 1}, wait=True, timeout=90, interval=1)
    smoke = res["pool"]["checks"]["smoke"]
    assert smoke["status"] == "pass", smoke
    assert smoke["observed"]["nodes"][0].startswith(f"{pool}-healthy-")
    job = kubectl.run("-n", namespace, "get", "job", smoke["observed"]["job"], check=False)
    assert job.returncode != 0 and "NotFound" in job.stderr


def test_smoke_job_is_not_created_in_check_mode(api, kwok_ready, namespace, kubectl):
    pool = kwok_ready
    res = gpu_cluster.readiness(api, spec(pool, "healthy"), smoke={
        "namespace": namespace, "image": "x", "command": ["true"], "timeout": 30}, wait=True, timeout=60,
        interval=1, check_mode=True)
    assert res["pool"]["checks"]["smoke"]["status"] == "no_evidence"
    assert kubectl.json("-n", namespace, "get", "jobs")["items"] == []


ROLE_PLAY = """
- name: gpu_nodes on a test pool
  hosts: agentic_regions
  gather_facts: false
  module_defaults:
    group/kubernetes.core.k8s:
      kubeconfig: "{{ agentic_kubeconfig }}"
      context: "{{ agentic_context | default(omit, true) }}"
    group/agentic.platform.platform:
      kubeconfig: "{{ agentic_kubeconfig }}"
      context: "{{ agentic_context | default(omit, true) }}"
  roles:
    - role: agentic.platform.agentic
    - role: agentic.platform.gpu_nodes
"""


def test_role_device_plugin_lands_only_on_gpu_nodes_and_gate_passes(kwok_ready, namespace, kubectl, tmp_path):
    pool = kwok_ready
    play = tmp_path / "play.yml"
    play.write_text(ROLE_PLAY)
    pools = [{"name": "test", "selector": {"node-pool": pool, "case": "healthy"}, "nodes": 2, "gpus_per_node": 8,
              "labels": {"workload": "ai-agents", "gpu-test": "yes"}, "taints": [GPU_TAINT]}]
    extra = {"gpu_nodes_pools": pools, "gpu_nodes_device_plugin_namespace": namespace,
             "gpu_nodes_gate_timeout": 90, "gpu_nodes_gate_interval": 1}
    vars_file = tmp_path / "vars.yml"
    vars_file.write_text(yaml.safe_dump(extra))
    run = run_site(None, "-e", f"@{vars_file}", playbook=play)
    assert run.rc == 0, run.output[-4000:]
    gate = next(r for name, r in run.task_results().items() if name.endswith(GATE))
    result = gate["results"][0]
    assert result["ready"] is True and result["node_count"] == 2
    assert {c["device_plugin"]["status"] for c in (n["checks"] for n in result["nodes"].values())} == {"pass"}

    # the role labelled the pool's nodes
    node = kubectl.json("get", "node", f"{pool}-healthy-0")
    assert node["metadata"]["labels"]["gpu-test"] == "yes"
    assert node["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "agentic.platform"

    # the DaemonSet's pods: only on nodes with nvidia.com/gpu.present=true, Ready on the kwok ones
    pods = kubectl.json("-n", namespace, "get", "pods", "-l", "app.kubernetes.io/name=nvidia-device-plugin")["items"]
    nodes = {n["metadata"]["name"]: n for n in kubectl.json("get", "nodes")["items"]}
    on = {p["spec"].get("nodeName") or p["spec"]["affinity"]["nodeAffinity"][
        "requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"][0]["matchFields"][0]["values"][0]
        for p in pods}
    gpu_nodes = {n for n, obj in nodes.items() if obj["metadata"]["labels"].get("nvidia.com/gpu.present") == "true"}
    assert on <= gpu_nodes
    assert f"{pool}-cpu-0" not in on and "cpu-0" not in on
    assert {f"{pool}-healthy-0", f"{pool}-healthy-1", "gpu-0", "gpu-1"} <= on
    ready_on = {p["spec"]["nodeName"] for p in pods if gpu_cluster.pod_ready(p)}
    assert {f"{pool}-healthy-0", f"{pool}-healthy-1"} <= ready_on
    ds = kubectl.json("-n", namespace, "get", "daemonset", "nvidia-device-plugin")
    assert ds["spec"]["template"]["spec"]["nodeSelector"] == {"nvidia.com/gpu.present": "true"}

    again = run_site(None, "-e", f"@{vars_file}", playbook=play)
    assert again.rc == 0 and again.stats()["changed"] == 0, again.changed_tasks()


def test_site_stops_before_the_namespace_step_when_the_gate_fails(kubectl):
    """site.yml on the local region with a pool that cannot be met: 3 nodes of node-pool=gpu."""
    ns = f"gate-{uuid.uuid4().hex[:8]}"
    pools = [{"name": "gpu", "selector": {"node-pool": "gpu"}, "nodes": 3, "gpus_per_node": 8,
              "labels": {"workload": "ai-agents"}, "taints": [GPU_TAINT]}]
    run = run_site(ns, "-e", json.dumps({"gpu_nodes_pools": pools, "gpu_nodes_gate_timeout": 4,
                                         "gpu_nodes_gate_interval": 1}))
    try:
        assert run.rc != 0
        results = run.task_results()
        gate = next(r for name, r in results.items() if name.endswith(GATE))
        assert gate.get("failed")
        msg = gate["results"][0]["msg"]
        assert "GPU pool 'node-pool=gpu' not ready: pool: pool_size: 2 node(s) match selector 'node-pool=gpu', " \
               "expected at least 3" in msg
        assert run.stats()["failures"] == 1
        # the gate was the last task run: nothing of the namespace step (or any later one) ran
        executed = [t["task"]["name"] for play in run.data["plays"] for t in play["tasks"]]
        assert executed[-1].endswith(GATE), executed
        assert "Apply the namespace, quota, limits, service accounts, RBAC and network policies" not in executed
        assert kubectl.run("get", "namespace", ns, check=False).returncode != 0
    finally:
        kubectl.run("delete", "namespace", ns, "--wait=false", check=False)



def test_role_keeps_other_owners_taints_and_removes_only_its_own(kubectl, tmp_path):
    """gpu_nodes on a node that carries taints of other owners (kubectl taint: the operator's
    out-of-service and maintenance taints). They survive every converge, a second converge reports
    changed=0, and a pool taint removed from the inventory is removed from the node."""
    pool = f"t-{uuid.uuid4().hex[:8]}"
    name = f"{pool}-taints-0"
    dedicated = {"key": "dedicated", "value": "gpu", "effect": "NoExecute"}
    kubectl.apply(gpu_node(name, pool, "taints"))
    try:
        kubectl.run("taint", "node", name, "node.kubernetes.io/out-of-service=nodeshutdown:NoExecute")
        kubectl.run("taint", "node", name, "maintenance=disk:PreferNoSchedule")
        theirs = [t for t in kubectl.json("get", "node", name)["spec"]["taints"] if t["key"] != GPU_TAINT["key"]]
        assert sorted(t["key"] for t in theirs) == ["maintenance", "node.kubernetes.io/out-of-service"]
        play = tmp_path / "play.yml"
        play.write_text(ROLE_PLAY)

        def converge(taints, *args):
            pools = [{"name": "taints", "selector": {"node-pool": pool}, "nodes": 1, "gpus_per_node": 8,
                      "labels": {"workload": "ai-agents"}, "taints": taints}]
            vars_file = tmp_path / "vars.yml"
            vars_file.write_text(yaml.safe_dump({
                "gpu_nodes_pools": pools, "gpu_nodes_gate_enabled": False, "gpu_nodes_device_plugin_enabled": False,
                "gpu_nodes_runtime_class_enabled": False}))
            run = run_site(None, "-e", f"@{vars_file}", *args, playbook=play)
            assert run.rc == 0, run.output[-4000:]
            return run, kubectl.json("get", "node", name)["spec"]["taints"]

        _, taints = converge([GPU_TAINT, dedicated])
        assert [t for t in taints if t["key"] not in ("nvidia.com/gpu", "dedicated")] == theirs  # timeAdded too
        assert {"key": "dedicated", "value": "gpu", "effect": "NoExecute"} in [
            {k: t[k] for k in ("key", "value", "effect")} for t in taints if "value" in t]

        again, same = converge([GPU_TAINT, dedicated])
        assert again.stats()["changed"] == 0, again.changed_tasks()
        assert same == taints

        check, unchanged = converge([GPU_TAINT], "--check")
        assert check.stats()["changed"] == 1 and unchanged == taints
        _, fewer = converge([GPU_TAINT])
        assert sorted(t["key"] for t in fewer) == ["maintenance", "node.kubernetes.io/out-of-service", "nvidia.com/gpu"]
        assert [t for t in fewer if t["key"] != "nvidia.com/gpu"] == theirs
        again, _ = converge([GPU_TAINT])
        assert again.stats()["changed"] == 0, again.changed_tasks()
    finally:
        kubectl.run("delete", "node", name, "--wait=false", check=False)


def test_a_taint_added_between_read_and_apply_is_never_dropped(api, kubectl):
    """What gpu_nodes' template applies (the merged taints and the resourceVersion of the node as
    read), through the collection's Applier: a taint another owner adds after the read makes the
    apply fail instead of vanishing; merged again from a fresh read, the apply keeps it."""
    name = f"t-{uuid.uuid4().hex[:8]}-race-0"
    kubectl.apply(gpu_node(name, name, "race"))
    try:
        def partial(node):
            merged = merged_taints(node, [GPU_TAINT])
            return {"apiVersion": "v1", "kind": "Node",
                    "metadata": {"name": name, "resourceVersion": node["metadata"]["resourceVersion"],
                                 "annotations": merged["annotations"]},
                    "spec": {"taints": merged["taints"]}}

        stale = partial(api.get("v1", "Node", name))
        kubectl.run("taint", "node", name, "node.kubernetes.io/out-of-service=nodeshutdown:NoExecute")
        applier = Applier(api, "agentic.platform")
        with pytest.raises(ApplyError, match="has been modified"):
            applier.apply(stale)
        keys = {t["key"] for t in kubectl.json("get", "node", name)["spec"]["taints"]}
        assert keys == {"nvidia.com/gpu", "node.kubernetes.io/out-of-service"}
        applier.apply(partial(api.get("v1", "Node", name)))
        keys = {t["key"] for t in kubectl.json("get", "node", name)["spec"]["taints"]}
        assert keys == {"nvidia.com/gpu", "node.kubernetes.io/out-of-service"}
    finally:
        kubectl.run("delete", "node", name, "--wait=false", check=False)

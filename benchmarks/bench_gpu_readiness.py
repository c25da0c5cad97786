"""gpu_readiness: cluster mode on 1,000 / 2,000 / 5,000 / 10,000 GPU nodes, and host mode on the replay.

    .venv/bin/python benchmarks/bench_gpu_readiness.py [--sizes 1000,2000,5000,10000] [--repeat 3] [--keep]

Cluster mode runs against the throwaway `gpu-bench` local cluster (clusters.yml; started here, and
stopped with --purge at the end unless it was already running or --keep is given). The nodes are
Node objects created Ready by server-side apply in batches (kwok does not manage them: its
heartbeats for 10,000 nodes would be the load measured on this 2-core machine; the cluster's
controller-manager is paused meanwhile so that the node lifecycle controller does not mark them
unreachable), each with a device-plugin pod bound to it whose status says Running and Ready.
For every size, in the same run:
  module   what the gate does: the pool's nodes and the device-plugin pods in paged lists
           (gpu_cluster.PAGE_SIZE a page, pods listed while the first page of nodes comes),
           every check on each page, then the page dropped
  one-page the same with a single unpaged page (every Node object held at once)
  naive    the per-node baseline: GET each node by name (and one list of the device-plugin
           pods), then the same checks
Each is timed (median of --repeat), its HTTP requests counted by the client, and its peak Python
memory measured by tracemalloc in a separate run (tracemalloc slows what it traces).
Target: module <= 3 s at 10,000 nodes; a constant number of lists (requests = pages).

Host mode: evaluate on the real capture (shared/fixtures/gpu/h200-driver-580.159.04)
through the replay reader, per call, nvidia-smi and NVML sources; the captured wall time of a
real `nvidia-smi --query-gpu` call (timing.txt) is printed next to it for scale.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import signal
import statistics
import subprocess
import sys
import time
import tracemalloc
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / ".collections")]

from ansible_collections.agentic.platform.plugins.module_utils import gpu_cluster  # noqa: E402
from ansible_collections.agentic.platform.plugins.module_utils.gpu_host_check import evaluate  # noqa: E402
from ansible_collections.agentic.platform.plugins.module_utils.gpu_host_read import ReplayReader  # noqa: E402
from ansible_collections.agentic.platform.plugins.module_utils.kube_client import (  # noqa: E402
    APPLY_PATCH,
    KubeClient,
)

from localcluster import build, cluster  # noqa: E402

FIXTURE = Path(os.environ.get("AGENTIC_GPU_FIXTURE", "/work/shared/fixtures/gpu/h200-driver-580.159.04"))
CLUSTER = "gpu-bench"
POOL = "bench-gpu"
PLUGIN_NS = "kube-system"
PLUGIN_SELECTOR = "app.kubernetes.io/name=nvidia-device-plugin,bench=gpu-readiness"
TAINT = {"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}
LABELS = {"nvidia.com/gpu.present": "true", "workload": "ai-agents"}
BATCH = 250
SIZES: list[int] = []  # set by main(); node i belongs to the tier of the smallest size above i


def tier(i: int) -> str:
    return str(next(size for size in SIZES if i < size))


def kubectl(*args: str, input_text: str | None = None) -> str:
    res = subprocess.run([str(build.binary("kubectl")), f"--kubeconfig={cluster.kubeconfig_path(CLUSTER)}", *args],
                         input=input_text, capture_output=True, text=True, check=False)
    if res.returncode != 0:
        raise RuntimeError(f"kubectl {' '.join(args[:3])}: {res.stderr[-2000:]}")
    return res.stdout


def node(i: int) -> dict:
    """A Ready 8-GPU node as a kubelet and the device plugin would report it (status kept on create)."""
    name = f"{POOL}-{i:05d}"
    capacity = {"cpu": "96", "memory": "1024Gi", "pods": "110", "nvidia.com/gpu": "8"}
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    return {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "labels": {"node-pool": POOL, "bench-tier": tier(i),
                                                  "kubernetes.io/hostname": name, **LABELS}},
            "spec": {"taints": [TAINT]},
            "status": {"capacity": capacity, "allocatable": capacity,
                       "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                                       "message": "kubelet is posting ready status", "lastHeartbeatTime": now,
                                       "lastTransitionTime": now}]}}


def plugin_pod(i: int) -> dict:
    name = f"{POOL}-{i:05d}"
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": f"nvidia-device-plugin-{name}", "namespace": PLUGIN_NS,
                         "labels": {"app.kubernetes.io/name": "nvidia-device-plugin", "bench": "gpu-readiness"}},
            "spec": {"nodeName": name, "tolerations": [{"operator": "Exists"}],
                     "containers": [{"name": "plugin", "image": "nvcr.io/nvidia/k8s-device-plugin:v0.18.2"}]}}


POD_RUNNING = {"apiVersion": "v1", "kind": "Pod",
               "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}}


def grow(api: KubeClient, have: int, want: int) -> None:
    existing = set(kubectl("get", "nodes", "-l", f"node-pool={POOL}", "-o", "name").split())
    while have < want and f"node/{POOL}-{have:05d}" in existing:  # left by an earlier --keep run
        have += 1
    for start in range(have, want, BATCH):
        idx = range(start, min(want, start + BATCH))
        kubectl("apply", "--server-side", "--field-manager=bench", "-f", "-",
                input_text=json.dumps({"apiVersion": "v1", "kind": "List", "items": [node(i) for i in idx]}))
        kubectl("apply", "--server-side", "--field-manager=bench", "-f", "-",
                input_text=json.dumps({"apiVersion": "v1", "kind": "List", "items": [plugin_pod(i) for i in idx]}))

    def running(i: int) -> None:  # no kubelet: the pod's status is written as one would
        name = f"nvidia-device-plugin-{POOL}-{i:05d}"
        api.call("PATCH", f"/api/v1/namespaces/{PLUGIN_NS}/pods/{name}/status", {"fieldManager": "bench"},
                 {**POD_RUNNING, "metadata": {"name": name, "namespace": PLUGIN_NS}}, content_type=APPLY_PATCH)

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(running, range(have, want)))


def spec(size: int) -> dict:
    tiers = ",".join(str(t) for t in SIZES if t <= size)
    return {"selector": f"node-pool={POOL},bench-tier in ({tiers})", "expected_nodes": size, "gpus_per_node": 8,
            "labels": LABELS, "taints": [TAINT], "device_plugin": {"namespace": PLUGIN_NS, "selector": PLUGIN_SELECTOR}}


def naive(api: KubeClient, names: list[str], s: dict) -> dict:
    """The per-node baseline: one GET per node by name (the pods in one list, which favours it)."""
    failures = []
    by_node: dict[str, list] = {}
    for pod in api.list(f"/api/v1/namespaces/{PLUGIN_NS}/pods", PLUGIN_SELECTOR):
        by_node.setdefault(pod["spec"].get("nodeName"), []).append(pod)
    for name in names:
        node_obj = api.call("GET", f"/api/v1/nodes/{name}")
        for check_name, res in gpu_cluster.node_checks(node_obj, s, by_node.get(name, [])).items():
            if res["status"] == "fail":
                failures.append(f"node {name}: {check_name}: {res['reason']}")
    return {"ready": not failures, "failures": failures}


def one_page(api: KubeClient, s: dict) -> dict:
    """The module with a page as large as the pool: every Node object held at once."""
    saved = gpu_cluster.PAGE_SIZE
    gpu_cluster.PAGE_SIZE = 1_000_000
    try:
        return gpu_cluster.evaluate(api, s)
    finally:
        gpu_cluster.PAGE_SIZE = saved


def timed(fn, repeat: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def measured(api: KubeClient, fn, repeat: int) -> tuple[float, float, float, object]:
    """(median seconds, HTTP requests per call, peak MiB of one traced call, result)."""
    api.requests = 0
    seconds, out = timed(fn, repeat)
    requests = api.requests / repeat
    gc.collect()
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return seconds, requests, peak, out


def bench_cluster(sizes: list[int], repeat: int, keep: bool, purge: bool) -> None:
    was_running = any(p["running"] for p in cluster.status(CLUSTER)["processes"].values())
    t0 = time.monotonic()
    if not was_running:  # (re-running `up` on a running cluster re-applies its bootstrap nodes)
        subprocess.run([sys.executable, "-m", "localcluster", "up", CLUSTER], cwd=ROOT, check=True,
                       capture_output=True, text=True)
    print(f"{CLUSTER} cluster {'reused' if was_running else 'up'} in {time.monotonic() - t0:.1f}s")
    api = KubeClient.from_config(str(cluster.kubeconfig_path(CLUSTER)))
    procs = cluster.status(CLUSTER)["processes"]
    # The node lifecycle controller would mark nodes without a kubelet unreachable after 40 s;
    # kwok heartbeats only its own few nodes. Both paused while the pool exists and is measured.
    paused = [procs["kube-controller-manager"]["pid"], procs["kwok"]["pid"]]
    rows = []
    have = 0
    for pid in paused:
        os.kill(pid, signal.SIGSTOP)
    try:
        for size in sizes:
            t0 = time.monotonic()
            grow(api, have, size)
            have = size
            print(f"{size:>6} nodes: pool grown in {time.monotonic() - t0:.1f}s", flush=True)
            s = spec(size)
            t_mod, req_mod, mem_mod, res = measured(api, lambda s=s: gpu_cluster.evaluate(api, s), repeat)
            assert res["ready"] and res["node_count"] == size, res["failures"][:3]
            t_one, req_one, mem_one, _ = measured(api, lambda s=s: one_page(api, s), repeat)
            names = [f"{POOL}-{i:05d}" for i in range(size)]
            t_naive, req_naive, mem_naive, naive_res = measured(api, lambda s=s, nm=names: naive(api, nm, s), 1)
            assert naive_res["ready"] == res["ready"], "the baseline must reach the same verdict"
            rows.append((size, t_mod, req_mod, mem_mod, t_one, req_one, mem_one, t_naive, req_naive, mem_naive))
            print(f"{size:>6} nodes: module {t_mod:.3f}s {req_mod:.0f} req {mem_mod:.1f} MiB; one page "
                  f"{t_one:.3f}s {mem_one:.1f} MiB; naive {t_naive:.3f}s {req_naive:.0f} req", flush=True)
    finally:
        for pid in paused:
            os.kill(pid, signal.SIGCONT)
        if keep or (was_running and not purge):
            print(f"{CLUSTER} cluster left running" + (" (it was already running)" if was_running else ""))
        else:
            subprocess.run([sys.executable, "-m", "localcluster", "down", CLUSTER, "--purge"], cwd=ROOT,
                           check=False, capture_output=True, text=True)
            print(f"{CLUSTER} cluster stopped and purged")

    print()
    print("cluster mode (median of runs; HTTP requests counted by the client; peak Python memory by tracemalloc)")
    print(f"{'nodes':>6} {'module s':>9} {'req':>4} {'MiB':>6} {'1-page s':>9} {'MiB':>6} "
          f"{'naive s':>8} {'naive req':>9} {'MiB':>6} {'speedup':>8} {'s/1k nodes':>10} {'KiB/node':>8}")
    for size, t_mod, req_mod, mem_mod, t_one, _req_one, mem_one, t_naive, req_naive, mem_naive in rows:
        print(f"{size:>6} {t_mod:>9.3f} {req_mod:>4.0f} {mem_mod:>6.1f} {t_one:>9.3f} {mem_one:>6.1f} "
              f"{t_naive:>8.3f} {req_naive:>9.0f} {mem_naive:>6.1f} {t_naive / t_mod:>7.1f}x "
              f"{t_mod / size * 1000:>10.3f} {mem_mod * 1024 / size:>8.2f}")
    print("(module = the gate: paged lists, pages judged and dropped; 1-page = the same with one unpaged "
          "list; naive = one GET per node, the per-node baseline. requests = list pages; they grow with "
          f"the pool by one per {gpu_cluster.PAGE_SIZE} nodes, the lists stay two)")
    if rows:
        size, t_mod, *_ = rows[-1]
        print(f"target at {size} nodes: <= 3 s -> {t_mod:.3f} s ({'met' if t_mod <= 3 else 'MISSED'})")


def bench_host(repeat: int) -> None:
    print()
    print("host mode on the real capture (replay reader), per call")
    for source in ("nvidia-smi", "nvml"):
        reader = ReplayReader(FIXTURE)
        t, res = timed(lambda r=reader, s=source: evaluate(r, {"gpu_count": 1}, s), repeat)
        print(f"  source {source:<10} {t * 1000:8.2f} ms/call  ready={res['ready']} "
              f"(replayed commands per call: {len(reader.calls) // repeat})")
    timing = (FIXTURE / "timing.txt").read_text().split()
    real = [float(timing[i - 1]) for i, w in enumerate(timing) if w == "s"]
    if real:
        print(f"  for scale: one real nvidia-smi --query-gpu call took {statistics.median(real) * 1000:.0f} ms "
              f"on the captured host (timing.txt); NVML init+query {0.0696 + 0.0158:.3f} s (nvml.json)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="1000,2000,5000,10000")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--keep", action="store_true", help=f"leave the {CLUSTER} cluster running")
    ap.add_argument("--purge", action="store_true", help=f"stop and purge the {CLUSTER} cluster even if it was running")
    ap.add_argument("--host-only", action="store_true")
    args = ap.parse_args()
    SIZES[:] = sorted(int(s) for s in args.sizes.split(","))
    if not args.host_only:
        bench_cluster(SIZES, args.repeat, args.keep, args.purge)
    bench_host(max(args.repeat, 50))


if __name__ == "__main__":
    main()

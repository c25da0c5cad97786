"""Real node figures: node start to Ready, agent pod start to Ready, site.yml onto the real node
against site.yml onto kwok (same run, same cluster); cold build with --cold.

    .venv/bin/python benchmarks/bench_real_node.py [--runs 3] [--cold] [--cluster bench]

--cold builds the node's components (kubelet + kube-proxy, containerd, CoreDNS, kube-router)
and its images into empty caches with empty Go build and module caches: what a new machine
pays once on top of the control plane's build.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "integration"))

from site_support import recycle_volumes, run_site  # noqa: E402

from localcluster import build, cluster, images, node, versions  # noqa: E402

NAME = "bench"  # stopped and purged here (--cluster): never the shared `local`


def cold_build() -> None:
    scratch = Path(tempfile.mkdtemp(prefix="agentic-cold-node-"))
    env = {**os.environ, "AGENTIC_CACHE": str(scratch / "cache"), "GOCACHE": str(scratch / "gocache"),
           "GOMODCACHE": str(scratch / "gomodcache")}
    code = ("import sys, time\nfrom localcluster import build, images\n"
            "for c in sys.argv[1:]:\n t = time.monotonic(); build.build_component(c)\n"
            " print(f'{c}: {time.monotonic() - t:.0f} s', flush=True)\n"
            "t = time.monotonic(); images.build_images(); print(f'images: {time.monotonic() - t:.0f} s')\n")
    started = time.monotonic()
    out = subprocess.run([sys.executable, "-c", code, *versions.NODE_COMPONENTS], cwd=ROOT, env=env, check=True,
                         capture_output=True, text=True).stdout
    print(f"cold build of the node (empty Go build and module caches): {time.monotonic() - started:.0f} s: "
          + "; ".join(out.split("\n")).strip("; "))
    subprocess.run(["chmod", "-R", "u+w", scratch], check=False)  # module cache files are read-only
    shutil.rmtree(scratch, ignore_errors=True)


def agent_pod_start(kubectl: list[str], ns: str) -> float:
    """Seconds from creating an agent Deployment on the real node to its pod Ready."""
    name = f"agent-{uuid.uuid4().hex[:6]}"
    deployment = {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": ns},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}}, "template": {
            "metadata": {"labels": {"app": name}},
            "spec": {"nodeSelector": {"kubernetes.io/hostname": node.NODE_NAME},
                     "tolerations": [{**node.TAINT, "operator": "Equal"}], "terminationGracePeriodSeconds": 1,
                     "containers": [{"name": "agent", "image": images.AGENT_IMAGE, "imagePullPolicy": "Never",
                                     "readinessProbe": {"httpGet": {"path": "/ready", "port": 8080},
                                                        "periodSeconds": 1}}]}}},
    }
    started = time.monotonic()
    subprocess.run([*kubectl, "apply", "-f", "-"], input=json.dumps(deployment), text=True, check=True,
                   capture_output=True)
    subprocess.run([*kubectl, "-n", ns, "wait", "--for=condition=Available", f"deployment/{name}",
                    "--timeout=180s"], check=True, capture_output=True)
    elapsed = time.monotonic() - started
    subprocess.run([*kubectl, "-n", ns, "delete", "deployment", name, "--wait=false"], check=True,
                   capture_output=True)
    return elapsed


def converges(kubectl: list[str]) -> dict[str, float]:
    """site.yml of the local inventory into a new namespace: onto kwok, then onto the real node
    (localcluster/real-node-vars.yml: the pods really start), on this cluster."""
    target = ["-e", f"agentic_kubeconfig={cluster.kubeconfig_path(NAME)}",
              "-e", f"agentic_context={cluster.context_name(NAME)}"]
    placements = {"kwok": [], "real node": ["-e", f"@{ROOT / 'localcluster' / 'real-node-vars.yml'}"]}
    seconds = {}
    for placement, extra in placements.items():
        ns = f"bench-{uuid.uuid4().hex[:6]}"
        run = run_site(ns, *target, *extra, as_json=False)
        if run.rc != 0:
            raise SystemExit(f"site.yml onto {placement} failed:\n{run.output[-4000:]}")
        seconds[placement] = run.seconds
        subprocess.run([*kubectl, "delete", "namespace", ns, "--wait=false"], check=True, capture_output=True)
        recycle_volumes(_Kubectl(), ns)
    return seconds


class _Kubectl:
    """What recycle_volumes needs of the tests' Kubectl, on this cluster."""

    def run(self, *args: str, check: bool = True, input_text: str | None = None):
        return subprocess.run([str(build.binary("kubectl")), f"--kubeconfig={cluster.kubeconfig_path(NAME)}", *args],
                              input=input_text, capture_output=True, text=True, check=check)

    def json(self, *args: str) -> dict:
        return json.loads(self.run(*args, "-o", "json").stdout)


def main() -> None:
    global NAME  # the functions above measure this cluster
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--cold", action="store_true", help="also time a from-scratch build (many minutes)")
    parser.add_argument("--cluster", default=NAME, help="a cluster with real_node, stopped and purged here")
    args = parser.parse_args()
    spec = cluster.cluster_spec(args.cluster)
    # site.yml converges the local inventory there: its zones must be the cluster's.
    if args.cluster == "local" or not spec.get("real_node") or spec["zones"] != cluster.cluster_spec("local")["zones"]:
        raise SystemExit(f"--cluster {args.cluster}: a cluster with real_node and the local inventory's zones, "
                         "other than the shared local (bench, molecule)")
    NAME = args.cluster
    if args.cold:
        cold_build()

    build.build_all(node=True)
    images.build_images()
    cluster.down(NAME, purge=True)
    first = cluster.up(NAME, quiet=True)["seconds"]
    starts = []
    for _ in range(args.runs):
        cluster.down(NAME)
        starts.append(cluster.up(NAME, quiet=True)["seconds"])
    kubectl = [str(build.binary("kubectl")), f"--kubeconfig={cluster.kubeconfig_path(NAME)}"]
    ns = f"bench-{uuid.uuid4().hex[:6]}"
    subprocess.run([*kubectl, "create", "namespace", ns], check=True, capture_output=True)
    pods = [agent_pod_start(kubectl, ns) for _ in range(args.runs)]
    subprocess.run([*kubectl, "delete", "namespace", ns, "--wait=false"], check=True, capture_output=True)
    site = converges(kubectl)

    print(f"first start (new state: PKI, etcd, images imported, node registered, DNS Ready): {first:.1f} s")
    print(f"restart of a stopped cluster with its real node to all nodes and DNS Ready: median "
          f"{statistics.median(starts):.1f} s (runs: {', '.join(f'{s:.1f}' for s in starts)})")
    print(f"agent pod start to Ready on the real node: median {statistics.median(pods):.1f} s "
          f"(runs: {', '.join(f'{s:.1f}' for s in pods)})")
    print(f"site.yml into a new namespace, same cluster: onto the real node {site['real node']:.1f} s, "
          f"onto kwok {site['kwok']:.1f} s ({site['real node'] / site['kwok']:.1f}x)")


if __name__ == "__main__":
    main()

"""Local cluster figures: warm start to all nodes Ready, stop, memory; cold build with --cold.

    .venv/bin/python benchmarks/bench_localcluster.py [--runs 3] [--cold]

--cold builds every component into an empty cache with empty Go build and module caches,
which is what a new machine pays once (minutes: module downloads, then compiling).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from localcluster import build, cluster  # noqa: E402

NAME = "selftest"


def rss_mib(pid: int) -> float:
    total = 0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            total = int(line.split()[1])
    return total / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--cold", action="store_true", help="also time a from-scratch build (minutes)")
    args = parser.parse_args()

    if args.cold:
        scratch = Path(tempfile.mkdtemp(prefix="agentic-cold-"))
        env = {**os.environ, "AGENTIC_CACHE": str(scratch / "cache"), "GOCACHE": str(scratch / "gocache"),
               "GOMODCACHE": str(scratch / "gomodcache")}
        started = time.monotonic()
        subprocess.run([sys.executable, "-m", "localcluster", "build"], cwd=ROOT, env=env, check=True,
                       stdout=subprocess.DEVNULL)
        print(f"cold build (empty Go build and module caches): {time.monotonic() - started:.0f} s")
        subprocess.run(["chmod", "-R", "u+w", scratch], check=False)  # module cache files are read-only
        shutil.rmtree(scratch, ignore_errors=True)

    build.build_all()
    cluster.down(NAME, purge=True)
    first = cluster.up(NAME, quiet=True)["seconds"]  # fresh: PKI, etcd data, CRDs, nodes
    starts, stops = [], []
    memory = {}
    for _ in range(args.runs):
        pids = cluster._read_pids(NAME)
        memory = {c: rss_mib(pid) for c, pid in pids.items()}
        t = time.monotonic()
        cluster.down(NAME)
        stops.append(time.monotonic() - t)
        leftovers = [c for c, pid in pids.items() if cluster._alive(pid)]
        assert not leftovers, f"still running after stop: {leftovers}"
        starts.append(cluster.up(NAME, quiet=True)["seconds"])
    cluster.down(NAME, purge=True)

    nodes = sum(p["count"] for p in cluster.cluster_spec(NAME)["node_pools"])
    print(f"first start (new state: PKI, etcd, CRDs, {nodes} nodes) to all nodes Ready: {first:.1f} s")
    print(f"warm start to all nodes Ready: median {statistics.median(starts):.1f} s "
          f"(runs: {', '.join(f'{s:.1f}' for s in starts)})")
    print(f"stop (all processes gone): median {statistics.median(stops):.2f} s; no process left behind")
    print(f"warm start / first start ratio: {statistics.median(starts) / first:.2f}")
    print("memory of a running cluster (RSS): " + ", ".join(f"{c} {m:.0f} MiB" for c, m in memory.items())
          + f"; total {sum(memory.values()):.0f} MiB")


if __name__ == "__main__":
    main()

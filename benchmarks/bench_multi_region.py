"""Three regions converged in parallel vs one region alone, measured in the same run.

Each measurement converges the autoscaling and mesh steps (after common) into a fresh
namespace holding the agent Deployment, on the local region clusters us-east, eu-west and
ap-northeast (started or reused): the single-region baseline runs `-i inventories/us-east`,
the parallel run gives all three inventories to one ansible-playbook (one fork per region).
Then the same for a re-run on the converged namespaces (no change). Rounds alternate the
order so that drift on the shared machine hits both sides alike. The figures are medians.

    .venv/bin/python benchmarks/bench_multi_region.py [--rounds 2] [--sequential]

--sequential also times the three regions converged one after another (three runs), the
alternative the parallel run replaces.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / ".collections"), str(ROOT / "tests"), str(ROOT / "tests" / "integration")]

from conftest import Kubectl  # noqa: E402
from scaling_mesh_support import converge, deployment  # noqa: E402

from localcluster import build, cluster  # noqa: E402

REGIONS = ["us-east", "eu-west", "ap-northeast"]
TARGET = 1.3


def prepare(clusters: dict[str, Kubectl], regions: list[str]) -> str:
    ns = f"bench-mr-{uuid.uuid4().hex[:6]}"
    for region in regions:
        clusters[region].run("create", "namespace", ns)
        clusters[region].apply(deployment(), "-n", ns)
    return ns


def timed(ns: str, regions: list[str]) -> float:
    run = converge(ns, inventories=[f"inventories/{r}" for r in regions])
    if run.rc != 0:
        raise SystemExit(f"converge of {regions} failed:\n{run.output[-3000:]}")
    return run.seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--sequential", action="store_true", help="also time the three regions one after another")
    args = parser.parse_args()

    build.build_all()
    for region in REGIONS:
        cluster.up(region, quiet=True)
    clusters = {r: Kubectl(r) for r in REGIONS}
    print(f"machine: {os.cpu_count()} CPUs; regions: {', '.join(REGIONS)}; rounds: {args.rounds}")

    figures: dict[str, list[float]] = {k: [] for k in ("one", "three", "one_rerun", "three_rerun", "sequential")}
    namespaces: list[tuple[str, list[str]]] = []
    for i in range(args.rounds):
        order = [("one", REGIONS[:1]), ("three", REGIONS)]
        if i % 2:
            order.reverse()
        for key, regions in order:
            ns = prepare(clusters, regions)
            namespaces.append((ns, regions))
            figures[key].append(timed(ns, regions))
            figures[f"{key}_rerun"].append(timed(ns, regions))
            print(f"round {i + 1}: {key:5} region(s) converge {figures[key][-1]:6.1f} s, "
                  f"re-run {figures[f'{key}_rerun'][-1]:6.1f} s", flush=True)
        if args.sequential:
            ns = prepare(clusters, REGIONS)
            namespaces.append((ns, REGIONS))
            figures["sequential"].append(sum(timed(ns, [r]) for r in REGIONS))
            print(f"round {i + 1}: three regions one after another {figures['sequential'][-1]:6.1f} s", flush=True)

    for ns, regions in namespaces:
        for region in regions:
            clusters[region].run("delete", "namespace", ns, "--wait=false", check=False)

    med = {k: statistics.median(v) for k, v in figures.items() if v}
    print()
    print(f"{'':34}{'median s':>10}{'ratio':>8}")
    print(f"{'one region alone (baseline)':34}{med['one']:10.1f}{1.0:8.2f}")
    print(f"{'three regions in parallel':34}{med['three']:10.1f}{med['three'] / med['one']:8.2f}")
    if "sequential" in med:
        print(f"{'three regions one after another':34}{med['sequential']:10.1f}{med['sequential'] / med['one']:8.2f}")
    print(f"{'re-run, one region (baseline)':34}{med['one_rerun']:10.1f}{1.0:8.2f}")
    print(f"{'re-run, three regions in parallel':34}{med['three_rerun']:10.1f}"
          f"{med['three_rerun'] / med['one_rerun']:8.2f}")
    ratio = med["three"] / med["one"]
    print(f"\nparallel/one-region ratio {ratio:.2f} (target <= {TARGET}): {'met' if ratio <= TARGET else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

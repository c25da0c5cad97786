"""Release figures: how long after a canary starts to fail it is rolled back, against the analysis
interval, and what one analysis round costs.

    .venv/bin/python benchmarks/bench_release.py [--interval 6] [--rounds 20]

Real components: the local cluster (the agent and mesh objects as the steps render them, kwok
pods, the real Istio CRDs), a Prometheus scraping two reference agent processes (stable v1.0.0,
canary v2.0.0) every second, and the traffic driver of the tests, which splits requests by the
live VirtualService's weights (standing in for Envoy). The canary is healthy until its first
step starts, then fails 30 % of its workflows; the release runs the engine in this process.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / ".collections"))
sys.path.insert(0, str(ROOT / "tests" / "integration"))

from ansible_collections.agentic.platform.plugins.module_utils.kube_client import KubeClient  # noqa: E402
from ansible_collections.agentic.platform.plugins.module_utils.release import engine  # noqa: E402
from ansible_collections.agentic.platform.plugins.module_utils.release.analysis import (  # noqa: E402
    Limits,
    PrometheusSource,
    judge,
)
from release_support import STABLE, Prometheus, TrafficDriver, apply_region, render_region  # noqa: E402

from localcluster import cluster  # noqa: E402
from tests.monitoring_support import AgentProcess, wait_for  # noqa: E402

NEW = {"version": "v2.0.0", "image": "agent-registry/mcp-agent:v2.0.0"}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--interval", type=int, default=6, help="analysis interval (s); scrapes every second")
    ap.add_argument("--rounds", type=int, default=20, help="analysis rounds timed")
    args = ap.parse_args()
    info = cluster.up("local", quiet=True)
    client = KubeClient.from_config(kubeconfig=info["kubeconfig"])
    ns = f"bench-release-{uuid.uuid4().hex[:5]}"
    work = Path(tempfile.mkdtemp(prefix="bench-release-"))
    client.call("POST", "/api/v1/namespaces", None, {"apiVersion": "v1", "kind": "Namespace",
                                                      "metadata": {"name": ns}})
    procs = [AgentProcess("--service-version", v, "--workflow-type", "research")
             for v in (STABLE["version"], NEW["version"])]
    prometheus = Prometheus(work, {ns: [p.metrics_port for p in procs]})
    driver = TrafficDriver(client, ns, procs[0].api_port, procs[1].api_port)
    try:
        apply_region(client, render_region(work), ns)
        wait_for(lambda: prometheus.targets_up() == 2, 90, what="agent targets up")
        driver.start()
        limits = Limits(checks=("http_success", "workflow_success", "request_p95"), min_requests=20)
        source = PrometheusSource(prometheus.url, ns, "mcp-agent")

        failing_since: dict[str, float] = {}

        def fail_once_canary_has_traffic() -> None:
            wait_for(lambda: driver.canary_first_sent, 600, 0.05, what="canary traffic")
            driver.canary_failure_share = 0.3
            failing_since["t"] = time.monotonic()
        threading.Thread(target=fail_once_canary_has_traffic, daemon=True).start()

        spec = engine.ReleaseSpec(namespace=ns, field_manager="bench", steps=(50, 100), interval_s=args.interval,
                                  max_inconclusive=5, limits=limits, wait_timeout=120, region="bench", **NEW)
        try:
            engine.Release(client, spec, source).run()
            print("the canary was not rolled back: no figure")
            return
        except engine.ReleaseFailed as failed:
            rolled_back = time.monotonic()
            took = rolled_back - failing_since["t"]
            print(f"rollback: {failed}")
            print(f"canary failing -> rollback finished: {took:.1f} s = {took / args.interval:.2f} analysis intervals "
                  f"({args.interval} s); verdicts: {[v['result'] for v in failed.result['verdicts']]}")

        times = []
        for _ in range(args.rounds):
            started = time.perf_counter()
            canary, stable = source.samples((NEW["version"], STABLE["version"]), args.interval)
            judge(canary, stable, limits)
            times.append(time.perf_counter() - started)
        print(f"one analysis round (14 PromQL queries: 7 per side, + verdict): median "
              f"{statistics.median(times) * 1000:.1f} ms, max {max(times) * 1000:.1f} ms over {args.rounds} rounds "
              f"= {statistics.median(times) / args.interval * 100:.2f} % of the interval")
    finally:
        driver.stop()
        for p in procs:
            p.stop()
        prometheus.stop()
        client.call("DELETE", f"/api/v1/namespaces/{ns}")
        client.close()


if __name__ == "__main__":
    main()

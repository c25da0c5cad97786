"""Redis sentinel mode figures, one run: the time from killing the primary's process to the first
write acknowledged (WAIT 1) through Sentinel discovery, and the writers' latency (p50/p99 of
SET + WAIT 1) during the failover and during a password rotation across every node, against the
steady state measured just before, same processes, same load.

    .venv/bin/python benchmarks/bench_redis_failover.py [--steady 6] [--threads 3] [--down-after 5000]

Real components: one primary, two replicas and three Sentinels (redis-server on loopback, run from
the role's renderer, as tests/integration/redis_topology_support.py does); for the rotation, the
local cluster (Secret + a kwok-run mcp-agent Deployment the controller-manager rolls) and the
rotation engine with every node. The writers re-read the agent's password from a file kept equal
to the Secret, as a pod's mounted file.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / ".collections"))
sys.path.insert(0, str(ROOT / "tests" / "integration"))

from ansible_collections.agentic.platform.plugins.module_utils.secret_rotation.engine import (  # noqa: E402
    Options,
    Rotation,
)
from ansible_collections.agentic.platform.plugins.module_utils.secret_rotation.kube import Kube  # noqa: E402
from ansible_collections.agentic.platform.plugins.module_utils.secret_rotation.redis_acl import (  # noqa: E402
    RedisEndpoint,
)
from kubernetes import client as k8s  # noqa: E402
from redis_topology_support import PASSWORDS, SentinelLoad, Topology, wait_until  # noqa: E402
from rotation_support import (  # noqa: E402
    KubeletSync,
    api_client,
    create_agent_deployment,
    create_secret,
    kube_client,
    wait_deployment_available,
)


def figures(load: SentinelLoad, start: float, end: float) -> str:
    window = [seconds for t, seconds, ok in load.latencies if start <= t < end and ok]
    failed = sum(1 for t, _s, ok in load.latencies if start <= t < end and not ok)
    if len(window) < 2:
        return f"{len(window)} writes"
    q = statistics.quantiles(window, n=100)
    return (f"p50 {statistics.median(window) * 1000:7.2f} ms  p99 {q[98] * 1000:7.2f} ms  "
            f"({len(window)} acknowledged, {failed} not)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steady", type=float, default=6, help="seconds of steady state before each event")
    parser.add_argument("--threads", type=int, default=3)
    parser.add_argument("--down-after", type=int, default=5000, help="Sentinel down-after-milliseconds (role default)")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="bench-redis-failover-"))
    ns = f"bench-sentinel-{uuid.uuid4().hex[:6]}"
    api = api_client()
    k8s.CoreV1Api(api).create_namespace({"metadata": {"name": ns}})
    topo = Topology(tmp / "redis", down_after_ms=args.down_after, failover_timeout_ms=max(10000, 2 * args.down_after))
    try:
        topo.start_all()
        create_secret(api, ns, dict(PASSWORDS))
        create_agent_deployment(api, ns, 2)
        wait_deployment_available(api, ns)
        sync = KubeletSync(api, ns, tmp / "mounted")
        sync.start()
        load = SentinelLoad(topo, sync.path, threads=args.threads, reconnect_every=20).start()

        steady_from = time.monotonic()
        time.sleep(args.steady)
        old = topo.primary()
        killed_at = time.monotonic()
        old.kill()
        first = wait_until("a write acknowledged after the kill", lambda: next(
            (t + s for t, s, ok in sorted(load.latencies[-2000:]) if ok and t > killed_at), None), timeout=120,
            interval=0.01)
        failover_end = max(first, killed_at) + 1
        time.sleep(max(0.0, failover_end - time.monotonic()))
        topo.start(old)  # rejoins as a replica
        wait_until("the old primary in sync", lambda: old.client().info("replication").get("master_link_status")
                   == "up", timeout=60)

        steady2_from = time.monotonic()
        time.sleep(args.steady)
        rotation_from = time.monotonic()
        client = kube_client()
        nodes = [RedisEndpoint("127.0.0.1", n.port) for n in topo.data + topo.sentinels]
        result = Rotation(Kube(client, ns, "bench.rotation"), Options(
            namespace=ns, kind="redis", force=True, drain_seconds=2, wait_timeout=120, redis_nodes=nodes,
            audit_log=str(tmp / "audit.jsonl"))).run()
        client.close()
        rotation_end = time.monotonic()
        time.sleep(1)
        load.stop()
        sync.stop()
        if result.get("failed"):
            raise SystemExit(f"rotation failed: {result.get('msg')}")

        print(f"Sentinel mode on loopback: 1 primary, 2 replicas, 3 Sentinels (down-after {args.down_after} ms), "
              f"{args.threads} writers through Sentinel discovery, SET + WAIT 1")
        print(f"  kill primary -> first acknowledged write: {(first - killed_at) * 1000:8.0f} ms")
        print(f"  steady state (before the kill)   {figures(load, steady_from, killed_at)}")
        print(f"  failover (kill -> 1 s after)     {figures(load, killed_at, failover_end)}")
        print(f"  steady state (before rotation)   {figures(load, steady2_from, rotation_from)}")
        print(f"  rotation across 6 nodes ({rotation_end - rotation_from:5.1f} s)  "
              f"{figures(load, rotation_from, rotation_end)}")
        print(f"  auth failures {load.auth_failures}, other errors {load.errors} (the failover's), "
              f"lost acknowledged writes {load.lost_writes()}")
    finally:
        topo.stop()
        k8s.CoreV1Api(api).delete_namespace(ns)


if __name__ == "__main__":
    main()

"""Secret rotation figures: Redis rotation wall time split by phase, and the latency clients see
(p50/p99 of SET and GET) during the rotation against a baseline measured just before it, in the
same run, on the same redis-server, with the same load.

    .venv/bin/python benchmarks/bench_rotation.py [--baseline 8] [--threads 4] [--replicas 3] [--drain 2]

Real components: the local cluster (Secret + a kwok-run mcp-agent Deployment that the
controller-manager rolls), a redis-server on loopback with an ACL file, and a client load in a
separate process whose connections re-read a credential file kept in sync with the Secret.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import secrets
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
from rotation_support import (  # noqa: E402
    ClientLoad,
    KubeletSync,
    RedisServer,
    api_client,
    create_agent_deployment,
    create_secret,
    kube_client,
    wait_deployment_available,
)


def load_process(namespace: str, port: int, workdir: str, threads: int, out: str, stop, ready) -> None:
    """Kubelet-like file sync + client load, in its own process (own GIL); latencies to `out`."""
    api = api_client()
    sync = KubeletSync(api, namespace, Path(workdir) / "mounted")
    sync.start()
    load = ClientLoad(port, sync.path, threads=threads, connections=4, reconnect_every=5).start()
    ready.set()
    stop.wait()
    load.stop()
    sync.stop()
    Path(out).write_text(json.dumps({"latencies": load.latencies, "auth_failures": load.auth_failures,
                                     "errors": load.errors, "acked": load.acked, "connects": load.connects}))


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--baseline", type=float, default=8.0, help="seconds of load measured before the rotation")
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--replicas", type=int, default=3)
    ap.add_argument("--drain", type=float, default=2.0)
    args = ap.parse_args()

    api = api_client()
    core = k8s.CoreV1Api(api)
    ns = f"bench-rot-{uuid.uuid4().hex[:6]}"
    core.create_namespace({"metadata": {"name": ns}})
    tmp = Path(tempfile.mkdtemp(prefix="bench-rotation-"))
    admin, agent = "adm-" + secrets.token_urlsafe(24), "agt-" + secrets.token_urlsafe(24)
    srv = RedisServer(tmp / "redis", admin, agent).start()
    proc = None
    try:
        create_secret(api, ns, {"redis-password": agent, "redis-admin-password": admin})
        create_agent_deployment(api, ns, args.replicas)
        wait_deployment_available(api, ns)
        stop, ready = mp.Event(), mp.Event()
        out = tmp / "load.json"
        proc = mp.Process(target=load_process, args=(ns, srv.port, str(tmp), args.threads, str(out), stop, ready))
        proc.start()
        ready.wait(60)
        t_load = time.perf_counter()
        time.sleep(args.baseline)

        marks: list[tuple[str, float]] = []
        opts = Options(namespace=ns, kind="redis", force=True, drain_seconds=args.drain, wait_timeout=300,
                       redis=RedisEndpoint("127.0.0.1", srv.port), audit_log=str(tmp / "audit.jsonl"),
                       audit_events=False)
        t_rot = time.perf_counter()
        client = kube_client()
        result = Rotation(Kube(client, ns, "agentic.platform.rotation"), opts,
                          after_phase=lambda phase: marks.append((phase, time.perf_counter()))).run()
        client.close()
        t_end = time.perf_counter()
        time.sleep(1)
        stop.set()
        proc.join(120)
        data = json.loads(out.read_text())
    finally:
        if proc is not None and proc.is_alive():
            proc.terminate()
        srv.stop()
        core.delete_namespace(ns)

    if result.get("failed"):
        print(f"rotation failed: {result.get('msg')}")
        return 1
    print(f"Redis rotation with {args.threads} client threads x 4 connections, {args.replicas} agent pods, "
          f"drain {args.drain:g}s")
    print(f"{'phase reached':<16}{'seconds':>10}   (time spent getting there from the previous phase)")
    prev = t_rot
    for phase, t in marks:
        print(f"{phase:<16}{t - prev:>10.3f}")
        prev = t
    total = t_end - t_rot
    print(f"{'total':<16}{total:>10.3f}   (without the drain window: {total - args.drain:.3f})")

    lat = data["latencies"]
    warm = t_load + 1.0  # first second: connection set-up
    offset = 0.0  # perf_counter is CLOCK_MONOTONIC on Linux: the load process's stamps compare directly
    print(f"\nclient-observed latency (ms), baseline {args.baseline - 1:g}s before vs during the rotation")
    print(f"{'op':<5}{'window':<8}{'count':>8}{'p50':>9}{'p99':>9}")
    ratios = {}
    for op in ("SET", "GET"):
        before = [d * 1000 for t, o, d in lat if o == op and warm <= t - offset < t_rot]
        during = [d * 1000 for t, o, d in lat if o == op and t_rot <= t - offset <= t_end]
        for name, vals in (("before", before), ("during", during)):
            print(f"{op:<5}{name:<8}{len(vals):>8}{pct(vals, 0.5):>9.3f}{pct(vals, 0.99):>9.3f}")
        ratios[op] = (pct(during, 0.5) / pct(before, 0.5), pct(during, 0.99) / pct(before, 0.99))
    for op, (r50, r99) in ratios.items():
        print(f"ratio during/before {op}: p50 x{r50:.2f}, p99 x{r99:.2f}")
    ops_before = sum(1 for t, o, _ in lat if warm <= t - offset < t_rot) / max(1e-9, t_rot - warm)
    ops_during = sum(1 for t, o, _ in lat if t_rot <= t - offset <= t_end) / max(1e-9, t_end - t_rot)
    print(f"throughput ops/s: before {ops_before:.0f}, during {ops_during:.0f} (x{ops_during / ops_before:.2f})")
    print(f"auth failures {data['auth_failures']}, errors {data['errors']}, acknowledged writes "
          f"{len(data['acked'])}, connections opened {data['connects']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Throughput and tail latency of the agent runtime's /metrics and /health under wrk.

    .venv/bin/python benchmarks/bench_runtime_http.py [--duration 5] [--threads 2] [--connections 32] [--rounds 3]

In the same run, on loopback, each server in its own process with the same populated registry
(5 workflow types, 3 MCP servers x 5 tools, HTTP routes: a realistic agent's series count):
  runtime  /metrics   agentic_runtime.AgentServer (asyncio, keep-alive), metrics port
  baseline /metrics   prometheus_client.start_http_server serving the same registry
  runtime  /health    AgentServer's liveness probe running the same HealthChecker
  baseline /health    the stdlib threaded WSGI server prometheus_client builds on, running the
                      same HealthChecker per request
  runtime, otel on    AgentServer again with tracing on (spans over OTLP/HTTP to a real
                      OpenTelemetry Collector, gomod/otelcol, started here; probes and scrapes make
                      none) and the GenAI/MCP instruments exported as OTLP metrics every 10 s
Every registry holds the same GenAI/MCP series too (3 models, 15 tools), so on/off compares the
switches alone.
Prints requests/s, p50 and p99 latency from wrk, the ratios runtime/baseline and otel on/off.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


# --- the servers (run as `bench_runtime_http.py serve ...` in a child process) ---------------

def populated(endpoint: str | None = None):
    """The registry (with GenAI/MCP series) and checks; with `endpoint`, tracing and OTLP metrics on."""
    from agentic_runtime import AgentMetrics, HealthChecker, Telemetry

    workflow_types = ["research", "summarize", "plan", "code", "review"]
    servers = {"web": ["search", "fetch", "crawl", "screenshot", "extract"],
               "fs": ["read", "write", "list", "stat", "delete"],
               "db": ["query", "insert", "update", "schema", "explain"]}
    telemetry = Telemetry(endpoint, metrics=True) if endpoint else None
    metrics = AgentMetrics("mcp-agent", "0.1.0", "production", workflow_types=workflow_types,
                           routes=["/health", "/ready", "/startup", "/api/v1/workflows", "/metrics"],
                           telemetry=telemetry)
    for i, wt in enumerate(workflow_types):
        for status in ("completed", "failed", "timeout"):
            metrics.record_workflow_execution(wt, status, 0.5 * (i + 1))
    for server, tools in servers.items():
        for tool in tools:
            for status in ("success", "error"):
                metrics.record_mcp_tool_call(server, tool, status, 1.5)
    for route in ("/health", "/ready", "/api/v1/workflows"):
        metrics.record_request("GET", route, 200, 0.002)
    for kind in ("sent", "received"):
        metrics.record_a2a_message(kind, "task_request")
    metrics.record_error("TimeoutError", "mcp")
    # The same GenAI/MCP series in every variant: on/off compares the switches alone.
    for provider, model in (("openai", "gpt-4o"), ("anthropic", "claude-sonnet"), ("openai", "gpt-4o-mini")):
        for error in (None, "timeout"):
            metrics.record_llm_call("chat", provider, model, duration=1.2, input_tokens=900, output_tokens=150,
                                    error_type=error)
    for tools in servers.values():
        for tool in tools:
            metrics.record_tool_execution(tool, duration=0.4)
            metrics.record_mcp_operation("tools/call", duration=0.4, tool=tool)
    health = HealthChecker(default_timeout=2.0, metrics=metrics)

    async def event_loop() -> bool:
        await asyncio.sleep(0)
        return True

    health.register_liveness_check("event_loop", event_loop)
    health.register_liveness_check("config_loaded", lambda: True)
    return metrics, health


def serve(mode: str, port: int, endpoint: str | None = None) -> None:
    from prometheus_client import disable_created_metrics

    disable_created_metrics()
    metrics, health = populated(endpoint)
    mode = mode.removesuffix("-otel")
    if mode == "runtime-metrics" or mode == "runtime-health":
        from agentic_runtime import AgentServer

        async def main() -> None:
            server = AgentServer(metrics, health, host="127.0.0.1", api_port=port, metrics_port=0)
            if mode == "runtime-metrics":
                server = AgentServer(metrics, health, host="127.0.0.1", api_port=0, metrics_port=port)
            await server.start()
            print("ready", flush=True)
            await asyncio.Event().wait()

        asyncio.run(main())
    elif mode == "baseline-metrics":
        from prometheus_client import start_http_server

        start_http_server(port, addr="127.0.0.1", registry=metrics.registry)
        print("ready", flush=True)
        while True:
            time.sleep(3600)
    elif mode == "baseline-health":
        from wsgiref.simple_server import WSGIRequestHandler, make_server

        from prometheus_client.exposition import ThreadingWSGIServer

        class Quiet(WSGIRequestHandler):
            def log_message(self, *args):
                pass

        def app(environ, start_response):
            report = asyncio.run(health.run("liveness"))
            status = "200 OK" if report["status"] == "healthy" else "503 Service Unavailable"
            body = json.dumps(report, separators=(",", ":")).encode()
            start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
            return [body]

        httpd = make_server("127.0.0.1", port, app, ThreadingWSGIServer, handler_class=Quiet)
        print("ready", flush=True)
        httpd.serve_forever()
    else:
        raise SystemExit(f"unknown mode {mode}")


def dispatch_cpu(endpoint: str | None = None, requests: int = 2000) -> None:
    """Print the CPU microseconds per /health and per /metrics request through the server's own
    dispatch, no sockets: the cost of the request path alone, steadier than wrk on a busy machine."""
    from agentic_runtime import AgentServer
    from agentic_runtime.server import Request
    from prometheus_client import disable_created_metrics

    disable_created_metrics()
    metrics, health = populated(endpoint)

    async def main() -> None:
        server = AgentServer(metrics, health, host="127.0.0.1", api_port=0, metrics_port=0)
        await server.start()
        figures = {}
        for name, http, path, n in (("health", server._api, "/health", requests * 5),
                                    ("metrics", server._metrics, "/metrics", requests // 30)):
            request = Request("GET", path, "", "HTTP/1.1", {"host": "bench"})
            for _ in range(n // 10):
                await http._dispatch(request)  # warm-up
            started = time.process_time()  # every thread of the process: exporters included
            for _ in range(n):
                await http._dispatch(request)
            figures[name] = (time.process_time() - started) / n * 1e6
        await server.close()
        print(json.dumps(figures), flush=True)

    asyncio.run(main())


# --- the harness ---------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(mode: str, endpoint: str | None) -> tuple[subprocess.Popen, int]:
    port = free_port()
    extra = [endpoint] if mode.endswith("-otel") else []
    proc = subprocess.Popen([sys.executable, __file__, "serve", mode, str(port), *extra], stdout=subprocess.PIPE,
                            text=True)
    if proc.stdout.readline().strip() != "ready":
        proc.kill()
        raise RuntimeError(f"{mode} server did not start")
    return proc, port


def to_ms(value: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", value).groups()
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def wrk(url: str, duration: int, threads: int, connections: int) -> dict:
    out = subprocess.run(["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--latency", url],
                         capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    p50 = to_ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1))
    p99 = to_ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: (.*)", out)
    return {"rps": rps, "requests": requests, "p50": p50, "p99": p99, "non2xx": int(errors.group(1)) if errors else 0,
            "socket_errors": socket_errors.group(1) if socket_errors else ""}


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (from /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_collector() -> tuple[subprocess.Popen, str]:
    """The OpenTelemetry Collector of the tracing tests, printing one line per batch it receives."""
    import tempfile

    sys.path.insert(0, str(ROOT))
    from localcluster import build

    binary = build.build_component("otelcol") / "otelcol"
    port = free_port()
    pipeline = {"receivers": ["otlp"], "exporters": ["debug"]}
    config = {"receivers": {"otlp": {"protocols": {"http": {"endpoint": f"127.0.0.1:{port}"}}}},
              "exporters": {"debug": {"verbosity": "basic"}},
              "service": {"telemetry": {"metrics": {"level": "none"}, "logs": {"level": "warn"}},
                          "pipelines": {"traces": pipeline, "metrics": pipeline}}}
    path = Path(tempfile.mkstemp(suffix=".yaml")[1])
    path.write_text(json.dumps(config))
    proc = subprocess.Popen([str(binary), "--config", f"file:{path}"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc, f"http://127.0.0.1:{port}"
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("the collector did not start")


def measure(mode: str, path: str, args, endpoint: str | None = None) -> dict:
    proc, port = start(mode, endpoint)
    try:
        url = f"http://127.0.0.1:{port}{path}"
        with urllib.request.urlopen(url, timeout=10) as resp:
            size = len(resp.read())
        wrk(url, 1, args.threads, args.connections)  # warm-up
        cpu_before = cpu_seconds(proc.pid)
        result = wrk(url, args.duration, args.threads, args.connections)
        result["cpu_ms"] = (cpu_seconds(proc.pid) - cpu_before) * 1000 / max(result["requests"], 1)
        result["bytes"] = size
        return result
    finally:
        proc.terminate()  # by PID
        proc.wait(10)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "serve":
        serve(sys.argv[2], int(sys.argv[3]), *sys.argv[4:5])
        return
    if len(sys.argv) > 1 and sys.argv[1] == "dispatch":
        dispatch_cpu(*sys.argv[2:3])
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=5, help="seconds of load per measurement")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3, help="measurements per variant (medians are printed)")
    args = parser.parse_args()

    print(f"wrk -t{args.threads} -c{args.connections} -d{args.duration}s on loopback, one server process each, "
          f"median of {args.rounds} interleaved rounds")
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs "
          "(the server, wrk and everything else share them; CPU ms/req is the server's own CPU time per request)")
    print(f"{'endpoint':<10} {'server':<47} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'CPU ms/req':>10} "
          f"{'bytes':>7}  errors")
    collector, endpoint = start_collector()
    rows = {}
    try:
        for endpoint_path, ours, base in (("/metrics", "runtime-metrics", "baseline-metrics"),
                                          ("/health", "runtime-health", "baseline-health")):
            variants = (("agentic_runtime AgentServer", ours),
                        ("agentic_runtime AgentServer, otel on", f"{ours}-otel"),
                        ("baseline: prometheus_client start_http_server" if endpoint_path == "/metrics"
                         else "baseline: stdlib threaded WSGI server", base))
            runs: dict[str, list[dict]] = {mode: [] for _, mode in variants}
            for _ in range(args.rounds):  # interleaved, so that a burst of load hits every variant alike
                for _, mode in variants:
                    runs[mode].append(measure(mode, endpoint_path, args, endpoint))
            for label, mode in variants:
                r = {key: statistics.median(run[key] for run in runs[mode])
                     for key in ("rps", "p50", "p99", "cpu_ms", "bytes", "non2xx")}
                r["socket_errors"] = "; ".join(run["socket_errors"] for run in runs[mode] if run["socket_errors"])
                rows[(endpoint_path, mode)] = r
                errors = f"non-2xx {r['non2xx']}" if r["non2xx"] else ""
                errors += f" socket {r['socket_errors']}" if r["socket_errors"] else ""
                print(f"{endpoint_path:<10} {label:<47} {r['rps']:>8.0f} {r['p50']:>8.2f} {r['p99']:>8.2f} "
                      f"{r['cpu_ms']:>10.3f} {r['bytes']:>7.0f}  {errors.strip()}")
        # The request path alone, in process: CPU per request, otel off and on, interleaved.
        cpu: dict[str, list[dict]] = {"off": [], "on": []}
        for _ in range(args.rounds):
            for state in cpu:
                out = subprocess.run([sys.executable, __file__, "dispatch", *([endpoint] if state == "on" else [])],
                                     capture_output=True, text=True, check=True).stdout
                cpu[state].append(json.loads(out.splitlines()[-1]))
    finally:
        collector.terminate()  # by PID
        collector.wait(10)
    print()
    for path in ("health", "metrics"):
        off, on = (statistics.median(run[path] for run in cpu[state]) for state in ("off", "on"))
        print(f"/{path:<9} in-process dispatch, CPU per request: otel off {off:.0f} us, on {on:.0f} us "
              f"({on / off:.2f}x)")
    print()
    for endpoint_path, ours, base in (("/metrics", "runtime-metrics", "baseline-metrics"),
                                      ("/health", "runtime-health", "baseline-health")):
        o, b, t = rows[(endpoint_path, ours)], rows[(endpoint_path, base)], rows[(endpoint_path, f"{ours}-otel")]
        print(f"{endpoint_path:<10} runtime/baseline: throughput {o['rps'] / b['rps']:.2f}x, "
              f"p99 latency {o['p99'] / b['p99']:.2f}x, CPU per request {o['cpu_ms'] / b['cpu_ms']:.2f}x")
        print(f"{endpoint_path:<10} otel on/off:      throughput {t['rps'] / o['rps']:.2f}x, "
              f"p99 latency {t['p99'] / o['p99']:.2f}x, CPU per request {t['cpu_ms'] / o['cpu_ms']:.2f}x")


if __name__ == "__main__":
    main()

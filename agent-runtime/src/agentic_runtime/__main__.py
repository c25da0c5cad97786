"""The reference agent server: `python -m agentic_runtime [options]`.

Serves /health, /ready, /startup and POST /api/v1/workflows on the API port and /metrics on
the metrics port, with the checks a minimal agent has:
- liveness `event_loop`: the event loop answers within the check timeout;
- readiness `dependency:<host:port>` for each --ready-tcp (e.g. Redis), a TCP connect;
- startup `initialized`: passes once the servers are listening.
With the configuration's `jaeger.enabled=true` (environment, from the ConfigMap) it sends spans
over OTLP/HTTP to `jaeger.endpoint` (agentic_runtime.telemetry).
On SIGTERM it first fails readiness for --shutdown-grace seconds (so endpoints drop the pod
before it stops answering), then exits.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal

from prometheus_client import disable_created_metrics

from . import __version__
from .health import HealthChecker
from .metrics import AgentMetrics
from .server import AgentServer, workflow_handler
from .telemetry import Telemetry

logger = logging.getLogger("agentic_runtime")


def _env(name: str, default: str) -> str:
    return os.environ.get(name, default)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m agentic_runtime", description=__doc__.split("\n\n")[0])
    p.add_argument("--host", default=_env("AGENT_HOST", "0.0.0.0"), help="API bind address")  # noqa: S104
    p.add_argument("--api-port", type=int, default=int(_env("AGENT_API_PORT", "8080")))
    p.add_argument("--metrics-host", default=None, help="metrics bind address (default: --host)")
    p.add_argument("--metrics-port", type=int, default=int(_env("AGENT_METRICS_PORT", "9090")))
    p.add_argument("--service", default=_env("AGENT_SERVICE", "mcp-agent"))
    p.add_argument("--service-version", default=_env("AGENT_VERSION", __version__))
    p.add_argument("--environment", default=_env("AGENT_ENVIRONMENT", "production"))
    p.add_argument("--workflow-type", action="append", default=None,
                   help="a known workflow type (repeatable); others are counted as 'other'")
    p.add_argument("--genai-model", action="append", default=None, metavar="MODEL",
                   help="a model the agent calls (repeatable); others (all, if none is given) count as 'other'")
    p.add_argument("--mcp-server", action="append", default=[], metavar="NAME=URL",
                   help="an MCP server (streamable HTTP endpoint) the reference workflow may call (repeatable)")
    p.add_argument("--ready-tcp", action="append", default=[], metavar="HOST:PORT",
                   help="readiness depends on a TCP connect to HOST:PORT (repeatable)")
    p.add_argument("--check-timeout", type=float, default=2.0, help="seconds per health check")
    p.add_argument("--shutdown-grace", type=float, default=5.0,
                   help="seconds readiness fails after SIGTERM before the server stops")
    p.add_argument("--log-level", default=_env("AGENT_LOG_LEVEL", "INFO"))
    args = p.parse_args(argv)
    for port_arg in ("api_port", "metrics_port"):
        if not 0 <= getattr(args, port_arg) <= 65535:
            p.error(f"--{port_arg.replace('_', '-')} must be 0..65535")
    for target in args.ready_tcp:
        host, sep, port = target.rpartition(":")
        if not sep or not host or not port.isdigit():
            p.error(f"--ready-tcp {target!r} must be HOST:PORT")
    for server in args.mcp_server:
        name, sep, url = server.partition("=")
        if not sep or not name or not url.startswith(("http://", "https://")):
            p.error(f"--mcp-server {server!r} must be NAME=http(s)://...")
    try:
        args.telemetry = Telemetry.from_environ(service=args.service, version=args.service_version,
                                                environment=args.environment)
    except ValueError as err:
        p.error(str(err))
    return args


def tcp_check(host: str, port: int):
    async def check() -> bool:
        _, writer = await asyncio.open_connection(host, port)
        writer.close()
        await writer.wait_closed()
        return True
    return check


async def serve(args: argparse.Namespace) -> None:
    disable_created_metrics()  # no *_created series: they double the series count for no alert
    workflow_types = args.workflow_type or ["default"]
    mcp_servers = dict(server.partition("=")[::2] for server in args.mcp_server)
    metrics = AgentMetrics(args.service, args.service_version, args.environment, workflow_types=workflow_types,
                           routes=["/health", "/ready", "/startup", "/api/v1/workflows", "/metrics"],
                           mcp_servers=list(mcp_servers), genai_models=args.genai_model or [], telemetry=args.telemetry)
    health = HealthChecker(default_timeout=args.check_timeout, metrics=metrics)
    started = asyncio.Event()

    async def event_loop() -> bool:
        await asyncio.sleep(0)
        return True

    health.register_liveness_check("event_loop", event_loop)
    health.register_startup_check("initialized", started.is_set)
    for target in args.ready_tcp:
        host, _, port = target.rpartition(":")
        health.register_readiness_check(f"dependency:{target}", tcp_check(host.strip("[]"), int(port)))

    server = AgentServer(metrics, health, host=args.host, api_port=args.api_port,
                         metrics_port=args.metrics_port, metrics_host=args.metrics_host)
    server.route("POST", "/api/v1/workflows", workflow_handler(metrics, mcp_servers))
    api_port, metrics_port = await server.start()
    started.set()
    # One line on stdout that drivers and tests can parse for the bound ports.
    print(f"agentic_runtime listening api_port={api_port} metrics_port={metrics_port}", flush=True)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    server.draining = True
    logger.info("draining for %.3gs before shutdown", args.shutdown_grace)
    await asyncio.sleep(args.shutdown_grace)
    await server.close()
    args.telemetry.shutdown()  # flushes the spans still queued


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s")
    asyncio.run(serve(args))


if __name__ == "__main__":
    main()

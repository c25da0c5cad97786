"""The agent's HTTP endpoints on asyncio: probes and API on one port, metrics on another.

API port (8080 in the agent Deployment):
    GET  /health            liveness checks   (200 healthy, 503 unhealthy; JSON report)
    GET  /ready             readiness checks  (503 also while draining after SIGTERM)
    GET  /startup           startup checks
    POST /api/v1/workflows  the reference agent's workflow endpoint (see `run_workflow`)
Metrics port (9090):
    GET  /metrics           Prometheus text format (OpenMetrics and gzip when asked for)

A small HTTP/1.1 implementation on asyncio streams: keep-alive, Content-Length bodies,
bounded header and body sizes. It serves probes and scrapes, not the open internet: the
mesh or an ingress sits in front of the agent's API.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import logging
import time
import urllib.request
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from http import HTTPStatus

from prometheus_client.exposition import choose_encoder, gzip_accepted

from . import semconv
from .health import HealthChecker
from .metrics import HTTP_METHODS, WORKFLOW_STATUSES, AgentMetrics
from .telemetry import DISABLED

logger = logging.getLogger(__name__)

MAX_HEADER_BYTES = 16 * 1024
MAX_BODY_BYTES = 1024 * 1024
IDLE_TIMEOUT = 75.0  # seconds a keep-alive connection may wait for its next request
# Requests that get no span: the kubelet's probes and Prometheus's scrapes (several a pod every
# 10 s) would bury the traces of the API, and a span costs about as much CPU as the probe itself
# (benchmarks/bench_runtime_http.py measured 1.8x CPU per /health request when it was traced).
UNTRACED = frozenset({"/health", "/ready", "/startup", "/metrics"})


@dataclass
class Request:
    method: str
    path: str
    query: str
    version: str
    headers: dict[str, str]
    body: bytes = b""

    def json(self) -> object:
        return json.loads(self.body or b"{}")


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of_json(cls, status: int, payload: object) -> Response:
        return cls(status, json.dumps(payload, separators=(",", ":")).encode())


Handler = Callable[[Request], Awaitable[Response]]


class HttpError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


class _HttpServer:
    """Routes (method, path) to handlers; records agent_http_* for every request."""

    def __init__(self, routes: dict[tuple[str, str], Handler], metrics: AgentMetrics | None,
                 untraced: frozenset[str] = frozenset()):
        self.routes = routes
        self.paths = {path for _, path in routes}
        self.metrics = metrics
        self.telemetry = metrics.telemetry if metrics is not None else DISABLED
        self.untraced = untraced
        self.server: asyncio.base_events.Server | None = None

    async def start(self, host: str, port: int) -> int:
        self.server = await asyncio.start_server(self._connection, host, port, limit=MAX_HEADER_BYTES,
                                                 reuse_address=True, backlog=1024)
        return self.server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                try:
                    request = await asyncio.wait_for(self._read_request(reader), IDLE_TIMEOUT)
                except HttpError as err:
                    await self._write(writer, Response.of_json(err.status, {"error": str(err)}), keep_alive=False)
                    return
                if request is None:
                    return
                keep_alive = self._keep_alive(request)
                response = await self._dispatch(request)
                await self._write(writer, response, keep_alive, head=request.method == "HEAD")
                if not keep_alive:
                    return
        except (ConnectionError, TimeoutError, asyncio.IncompleteReadError):
            return
        finally:
            writer.close()

    async def _read_request(self, reader: asyncio.StreamReader) -> Request | None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError as exc:
            if exc.partial.strip():
                raise HttpError(400, "incomplete request head") from None
            return None  # the client closed an idle keep-alive connection
        except asyncio.LimitOverrunError:
            raise HttpError(431, "request head too large") from None
        lines = head.decode("latin-1").split("\r\n")
        try:
            method, target, version = lines[0].split(" ")
        except ValueError:
            raise HttpError(400, "malformed request line") from None
        if not version.startswith("HTTP/1."):
            raise HttpError(505, "only HTTP/1.x is served")
        headers: dict[str, str] = {}
        for line in lines[1:]:
            if not line:
                continue
            name, sep, value = line.partition(":")
            if not sep:
                raise HttpError(400, "malformed header line")
            headers[name.strip().lower()] = value.strip()
        if "chunked" in headers.get("transfer-encoding", "").lower():
            raise HttpError(411, "chunked request bodies are not supported; send Content-Length")
        try:
            length = int(headers.get("content-length", "0"))
        except ValueError:
            raise HttpError(400, "bad Content-Length") from None
        if length < 0 or length > MAX_BODY_BYTES:
            raise HttpError(413, f"body must be at most {MAX_BODY_BYTES} bytes")
        body = await reader.readexactly(length) if length else b""
        path, _, query = target.partition("?")
        return Request(method.upper(), path, query, version, headers, body)

    @staticmethod
    def _keep_alive(request: Request) -> bool:
        connection = request.headers.get("connection", "").lower()
        if request.version == "HTTP/1.0":
            return connection == "keep-alive"
        return connection != "close"

    async def _dispatch(self, request: Request) -> Response:
        started = time.perf_counter()
        method = "GET" if request.method == "HEAD" else request.method
        handler = self.routes.get((method, request.path))
        route = request.path if request.path in self.paths else "other"
        traced = request.method if request.method in HTTP_METHODS else "_OTHER"
        # A SERVER span per request (a no-op unless tracing is on), continuing the caller's trace;
        # none for probes and scrapes (see UNTRACED).
        telemetry = DISABLED if request.path in self.untraced else self.telemetry
        with telemetry.span(f"{traced} {route}" if route != "other" else traced, "server",
                                 {semconv.HTTP_REQUEST_METHOD: traced, semconv.HTTP_ROUTE: route},
                                 request.headers) as span:
            if handler is None:
                status = 405 if request.path in self.paths else 404
                response = Response.of_json(status, {"error": HTTPStatus(status).phrase})
            else:
                try:
                    response = await handler(request)
                except HttpError as err:
                    response = Response.of_json(err.status, {"error": str(err)})
                except Exception:  # a handler bug answers 500 and is counted, never kills the server
                    logger.exception("handler for %s %s failed", request.method, request.path)
                    if self.metrics is not None:
                        self.metrics.record_error("unhandled_exception", "http")
                    response = Response.of_json(500, {"error": "internal error"})
            span.set_attribute(semconv.HTTP_RESPONSE_STATUS_CODE, response.status)
        if self.metrics is not None:
            self.metrics.record_request(request.method, route, response.status, time.perf_counter() - started)
        return response

    @staticmethod
    async def _write(writer: asyncio.StreamWriter, response: Response, keep_alive: bool, head: bool = False) -> None:
        reason = HTTPStatus(response.status).phrase
        lines = [f"HTTP/1.1 {response.status} {reason}",
                 f"Content-Type: {response.content_type}",
                 f"Content-Length: {len(response.body)}",
                 "Connection: keep-alive" if keep_alive else "Connection: close"]
        lines += [f"{k}: {v}" for k, v in response.headers.items()]
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        if not head:
            writer.write(response.body)
        await writer.drain()


class AgentServer:
    """Serves the probes and API on `api_port` and /metrics on `metrics_port`.

    Port 0 picks a free port; `start()` returns the ports actually bound.
    """

    def __init__(self, metrics: AgentMetrics, health: HealthChecker, *, host: str = "0.0.0.0",  # noqa: S104
                 api_port: int = 8080, metrics_port: int = 9090, metrics_host: str | None = None):
        self.metrics = metrics
        self.health = health
        self.host = host
        self.metrics_host = metrics_host or host
        self.api_port = api_port
        self.metrics_port = metrics_port
        self.draining = False
        self.extra_routes: dict[tuple[str, str], Handler] = {}
        self._api: _HttpServer | None = None
        self._metrics: _HttpServer | None = None

    def route(self, method: str, path: str, handler: Handler) -> None:
        """Add an API route (before `start()`)."""
        self.extra_routes[(method.upper(), path)] = handler

    async def start(self) -> tuple[int, int]:
        routes: dict[tuple[str, str], Handler] = {
            ("GET", "/health"): self._probe("liveness"),
            ("GET", "/ready"): self._probe("readiness"),
            ("GET", "/startup"): self._probe("startup"),
            **self.extra_routes,
        }
        self._api = _HttpServer(routes, self.metrics, UNTRACED)
        self._metrics = _HttpServer({("GET", "/metrics"): self._serve_metrics}, self.metrics, UNTRACED)
        self.api_port = await self._api.start(self.host, self.api_port)
        self.metrics_port = await self._metrics.start(self.metrics_host, self.metrics_port)
        logger.info("serving probes and API on %s:%d, metrics on %s:%d",
                    self.host, self.api_port, self.metrics_host, self.metrics_port)
        return self.api_port, self.metrics_port

    async def close(self) -> None:
        for server in (self._api, self._metrics):
            if server is not None:
                await server.close()

    def _probe(self, probe: str) -> Handler:
        async def handler(request: Request) -> Response:
            report = await self.health.run(probe)
            if probe == "readiness" and self.draining:
                report["status"] = "unhealthy"
                report["draining"] = True
            status = 200 if report["status"] == "healthy" else 503
            return Response.of_json(status, report)
        return handler

    async def _serve_metrics(self, request: Request) -> Response:
        encoder, content_type = choose_encoder(request.headers.get("accept", ""))
        # Encoding a large registry takes milliseconds of CPU: do it in a worker thread so the
        # event loop keeps answering the kubelet's probes during a scrape.
        body = await asyncio.to_thread(encoder, self.metrics.registry)
        headers = {}
        if gzip_accepted(request.headers.get("accept-encoding", "")) and len(body) > 1024:
            body = gzip.compress(body, compresslevel=1)
            headers["Content-Encoding"] = "gzip"
        return Response(200, body, content_type, headers)


MAX_CALLS = 16  # LLM or tool calls one reference workflow may ask for
MAX_TOKENS = 10**9
MCP_TIMEOUT = 30.0


def _calls(body: dict, key: str, fields: dict[str, type]) -> list[dict]:
    """The reference workflow's `llm_calls` / `tool_calls`: a short list of objects of known fields."""
    calls = body.get(key, [])
    if not isinstance(calls, list) or len(calls) > MAX_CALLS or not all(isinstance(c, dict) for c in calls):
        raise HttpError(400, f"{key} must be a list of at most {MAX_CALLS} objects")
    for call in calls:
        for name, kind in fields.items():
            value = call.get(name)
            if kind is int and value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                                      or not 0 <= value <= MAX_TOKENS):
                raise HttpError(400, f"{key}[].{name} must be a whole number from 0 to {MAX_TOKENS}")
            if kind is str and (not isinstance(value, str) or not value):
                raise HttpError(400, f"{key}[].{name} must be a non-empty string")
            if kind is dict and value is not None and not isinstance(value, dict):
                raise HttpError(400, f"{key}[].{name} must be an object")
    return calls


def _post_json(url: str, payload: dict, headers: dict[str, str]) -> dict:
    data = json.dumps(payload).encode()
    req = urllib.request.Request(url, data, {"Content-Type": "application/json", **headers},  # noqa: S310
                                 method="POST")  # the URL is an http(s) one from --mcp-server
    with urllib.request.urlopen(req, timeout=MCP_TIMEOUT) as resp:  # noqa: S310 (URL from the agent's options)
        return json.loads(resp.read() or b"{}")


def workflow_handler(metrics: AgentMetrics, mcp_servers: dict[str, str] | None = None) -> Handler:
    """The reference agent's POST /api/v1/workflows.

    Body: {"workflow_type": str, "duration_seconds": float (0..60), "outcome": "completed" |
    "failed" | "cancelled" | "timeout", "llm_calls": [{"operation", "provider", "model",
    "input_tokens", "output_tokens"}], "tool_calls": [{"server", "tool", "arguments"}]}. The
    reference agent has no model: each LLM call is recorded as the body describes it (GenAI
    metrics and a span). Each tool call is a real MCP `tools/call` JSON-RPC request over HTTP to
    the server's URL in `mcp_servers`, with the trace context in its `traceparent` header and
    `params._meta`. Then it holds the workflow active for the duration
    (agent_active_workflows) and finishes it with the requested outcome, exactly as a real
    workflow's outcome is recorded.
    """
    servers = dict(mcp_servers or {})

    async def call_tool(call: dict, request_id: int) -> None:
        with metrics.track_tool_call(call["server"], call["tool"]) as outcome:
            payload = metrics.telemetry.mcp_request(
                "tools/call", {"name": call["tool"], "arguments": call.get("arguments") or {}}, request_id)
            try:
                reply = await asyncio.to_thread(_post_json, servers[call["server"]], payload,
                                                metrics.telemetry.inject({}))
            except TimeoutError:
                outcome["status"] = "timeout"
                return
            except (OSError, ValueError):
                outcome["status"] = "error"
                return
            if "error" in reply or (reply.get("result") or {}).get("isError"):
                outcome["status"] = "error"

    async def handler(request: Request) -> Response:
        try:
            body = request.json()
        except ValueError:
            raise HttpError(400, "body must be JSON") from None
        if not isinstance(body, dict):
            raise HttpError(400, "body must be a JSON object")
        workflow_type = body.get("workflow_type", "default")
        outcome = body.get("outcome", "completed")
        duration = body.get("duration_seconds", 0)
        if not isinstance(workflow_type, str) or not workflow_type:
            raise HttpError(400, "workflow_type must be a non-empty string")
        if outcome not in WORKFLOW_STATUSES:
            raise HttpError(400, f"outcome must be one of {', '.join(sorted(WORKFLOW_STATUSES))}")
        if not isinstance(duration, int | float) or not 0 <= duration <= 60:
            raise HttpError(400, "duration_seconds must be a number from 0 to 60")
        llm_calls = _calls(body, "llm_calls", {"operation": str, "provider": str, "model": str,
                                               "input_tokens": int, "output_tokens": int})
        tool_calls = _calls(body, "tool_calls", {"server": str, "tool": str, "arguments": dict})
        unknown = sorted({c["server"] for c in tool_calls} - set(servers))
        if unknown:
            raise HttpError(400, f"tool_calls[].server {unknown[0]!r} is not an MCP server of this agent "
                                 f"(known: {', '.join(sorted(servers)) or 'none'})")
        with metrics.track_workflow(workflow_type) as result:
            for call in llm_calls:
                with metrics.track_llm_call(call["operation"], call["provider"], call["model"]) as usage:
                    usage["input_tokens"] = call.get("input_tokens")
                    usage["output_tokens"] = call.get("output_tokens")
            for request_id, call in enumerate(tool_calls, 1):
                await call_tool(call, request_id)
            if duration:
                await asyncio.sleep(duration)
            result["status"] = outcome
        if outcome != "completed":
            metrics.record_error(f"workflow_{outcome}", "workflow")
        return Response.of_json(200, {"workflow_type": workflow_type, "status": outcome})

    return handler

"""Prometheus metrics every agent exports.

Each `AgentMetrics` owns its own `CollectorRegistry`, so several instances (tests, several
agents in one process) never collide. Names follow the Prometheus conventions: an `agent_`
prefix, base units in the name (`_seconds`, `_bytes`), `_total` on counters. Label values
are bounded: every label either has a fixed vocabulary (statuses, HTTP methods) or a cap on
how many distinct values it may take; past the cap, new values are counted as `other`, so a
bug that feeds request IDs into a label cannot blow up Prometheus.

The alert rules and the dashboard of the `monitoring` role read these names; the test
`tests/unit/test_monitoring_metric_names.py` checks that they match exactly.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    Info,
    PlatformCollector,
    ProcessCollector,
)

OTHER = "other"

HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
WORKFLOW_STATUSES = frozenset({"completed", "failed", "cancelled", "timeout"})
MCP_STATUSES = frozenset({"success", "error", "timeout"})
A2A_DIRECTIONS = frozenset({"sent", "received"})
PROBES = frozenset({"liveness", "readiness", "startup"})

# Buckets, in seconds. The MCP tool buckets reach far past the 10 s latency alert so that a
# p95 above the threshold is measurable (with the default buckets the largest finite bucket
# is 10 s and histogram_quantile can never report more than that).
HTTP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
WORKFLOW_BUCKETS = (0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0)
MCP_TOOL_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 7.5, 10.0, 15.0, 20.0, 30.0, 60.0, 120.0)


class BoundedLabel:
    """Keeps one label's value set bounded.

    With `allowed`, only those values pass and anything else becomes `other`. Without it, the
    first `limit` distinct values pass and later new ones become `other`.
    """

    def __init__(self, name: str, allowed: Iterable[str] | None = None, limit: int = 50):
        if limit < 1:
            raise ValueError(f"limit for label {name!r} must be at least 1, got {limit}")
        self.name = name
        self.allowed = frozenset(allowed) if allowed is not None else None
        self.limit = limit
        self._seen: set[str] = set()
        self._lock = threading.Lock()

    def __call__(self, value: object) -> str:
        text = str(value)
        if self.allowed is not None:
            return text if text in self.allowed else OTHER
        if text in self._seen:
            return text
        with self._lock:
            if text in self._seen:
                return text
            if len(self._seen) >= self.limit:
                return OTHER
            self._seen.add(text)
            return text


class AgentMetrics:
    """The agent's metrics, registered in a registry of their own.

    `workflow_types`, `mcp_servers`, `mcp_tools`, `message_types`, `error_types`,
    `components` and `routes` may list the known values of those labels; left out, the first
    `max_label_values` distinct values are kept and later ones count as `other`.
    """

    def __init__(
        self,
        service: str = "mcp-agent",
        version: str = "0.1.0",
        environment: str = "production",
        *,
        registry: CollectorRegistry | None = None,
        routes: Iterable[str] | None = None,
        workflow_types: Iterable[str] | None = None,
        mcp_servers: Iterable[str] | None = None,
        mcp_tools: Iterable[str] | None = None,
        message_types: Iterable[str] | None = None,
        error_types: Iterable[str] | None = None,
        components: Iterable[str] | None = None,
        max_label_values: int = 50,
        process_metrics: bool = True,
    ):
        self.registry = registry if registry is not None else CollectorRegistry(auto_describe=True)
        r = self.registry
        n = max_label_values
        self._method = BoundedLabel("method", HTTP_METHODS)
        self._route = BoundedLabel("route", routes, n)
        self._status_code = BoundedLabel("status_code", limit=n)
        self._workflow_type = BoundedLabel("workflow_type", workflow_types, n)
        self._workflow_status = BoundedLabel("status", WORKFLOW_STATUSES)
        self._server = BoundedLabel("server", mcp_servers, n)
        self._tool = BoundedLabel("tool", mcp_tools, n)
        self._mcp_status = BoundedLabel("status", MCP_STATUSES)
        self._direction = BoundedLabel("direction", A2A_DIRECTIONS)
        self._message_type = BoundedLabel("message_type", message_types, n)
        self._error_type = BoundedLabel("error_type", error_types, n)
        self._component = BoundedLabel("component", components, n)
        self._probe = BoundedLabel("probe", PROBES)
        self._check = BoundedLabel("check", limit=n)

        self.info = Info("agent", "Service, version and environment of this agent", registry=r)
        self.info.info({"service": service, "version": version, "environment": environment})

        self.http_requests = Counter(
            "agent_http_requests", "HTTP requests served, by method, route template and status code",
            ["method", "route", "status_code"], registry=r)
        self.http_request_duration = Histogram(
            "agent_http_request_duration_seconds", "Time to serve an HTTP request",
            ["method", "route"], buckets=HTTP_BUCKETS, registry=r)
        self.active_workflows = Gauge(
            "agent_active_workflows", "Workflows running now (the autoscaler's pods metric)", registry=r)
        self.workflow_executions = Counter(
            "agent_workflow_executions", "Finished workflow executions, by type and final status",
            ["workflow_type", "status"], registry=r)
        self.workflow_duration = Histogram(
            "agent_workflow_duration_seconds", "Duration of finished workflows, by type and final status",
            ["workflow_type", "status"], buckets=WORKFLOW_BUCKETS, registry=r)
        self.mcp_tool_calls = Counter(
            "agent_mcp_tool_calls", "MCP tool calls, by MCP server, tool and outcome",
            ["server", "tool", "status"], registry=r)
        self.mcp_tool_duration = Histogram(
            "agent_mcp_tool_duration_seconds", "Duration of MCP tool calls (every outcome), by server and tool",
            ["server", "tool"], buckets=MCP_TOOL_BUCKETS, registry=r)
        self.a2a_messages = Counter(
            "agent_a2a_messages", "Agent-to-agent messages, by direction and message type",
            ["direction", "message_type"], registry=r)
        self.errors = Counter(
            "agent_errors", "Errors, by error type and component", ["error_type", "component"], registry=r)
        self.health_check_status = Gauge(
            "agent_health_check_status", "Outcome of the last run of each health check (1 pass, 0 fail)",
            ["probe", "check"], registry=r)
        # Known label values start at zero, so the first failure is a visible increase
        # (rate() cannot see the increment that creates a series).
        for wt in workflow_types or ():
            for st in sorted(WORKFLOW_STATUSES):
                self.workflow_executions.labels(wt, st)
        if process_metrics:
            # process_resident_memory_bytes, process_cpu_seconds_total, ... and python_info.
            ProcessCollector(registry=r)
            PlatformCollector(registry=r)

    # -- recording -------------------------------------------------------------------------

    def record_request(self, method: str, route: str, status_code: int, duration: float) -> None:
        m, rt = self._method(method.upper()), self._route(route)
        self.http_requests.labels(m, rt, self._status_code(int(status_code))).inc()
        self.http_request_duration.labels(m, rt).observe(max(duration, 0.0))

    def record_workflow_execution(self, workflow_type: str, status: str, duration: float) -> None:
        wt, st = self._workflow_type(workflow_type), self._workflow_status(status)
        self.workflow_executions.labels(wt, st).inc()
        self.workflow_duration.labels(wt, st).observe(max(duration, 0.0))

    @contextmanager
    def track_workflow(self, workflow_type: str) -> Iterator[dict]:
        """Count a workflow as active while the block runs, then record its outcome.

        The block may set `outcome["status"]` (default `completed`); an exception records
        `failed` (`cancelled` for cancellation) and is re-raised.
        """
        outcome = {"status": "completed"}
        self.active_workflows.inc()
        start = time.perf_counter()
        try:
            yield outcome
        except BaseException as exc:
            outcome["status"] = "cancelled" if type(exc).__name__ == "CancelledError" else "failed"
            raise
        finally:
            self.active_workflows.dec()
            self.record_workflow_execution(workflow_type, outcome["status"], time.perf_counter() - start)

    def record_mcp_tool_call(self, server: str, tool: str, status: str, duration: float) -> None:
        sv, tl = self._server(server), self._tool(tool)
        self.mcp_tool_calls.labels(sv, tl, self._mcp_status(status)).inc()
        self.mcp_tool_duration.labels(sv, tl).observe(max(duration, 0.0))

    def record_a2a_message(self, direction: str, message_type: str) -> None:
        self.a2a_messages.labels(self._direction(direction), self._message_type(message_type)).inc()

    def record_error(self, error_type: str, component: str) -> None:
        self.errors.labels(self._error_type(error_type), self._component(component)).inc()

    def set_health_check(self, probe: str, check: str, passed: bool) -> None:
        self.health_check_status.labels(self._probe(probe), self._check(check)).set(1 if passed else 0)

    # -- introspection ---------------------------------------------------------------------

    def exported_names(self) -> set[str]:
        """Every series name this registry exposes, e.g. `agent_mcp_tool_duration_seconds_bucket`.

        Derived from each family's type, so families without samples yet (labelled metrics
        nothing has recorded) count too.
        """
        suffixes = {
            "counter": ("_total",), "histogram": ("_bucket", "_count", "_sum"), "gaugehistogram": ("_bucket",),
            "summary": ("", "_count", "_sum"), "info": ("_info",), "gauge": ("",), "stateset": ("",),
            "unknown": ("",),
        }
        names: set[str] = set()
        for family in self.registry.collect():
            names.update(family.name + suffix for suffix in suffixes[family.type])
            names.update(sample.name for sample in family.samples if not sample.name.endswith("_created"))
        return names

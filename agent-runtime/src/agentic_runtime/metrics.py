"""Prometheus metrics every agent exports.

Each `AgentMetrics` owns its own `CollectorRegistry`, so several instances (tests, several
agents in one process) never collide. Names follow the Prometheus conventions: an `agent_`
prefix, base units in the name (`_seconds`, `_bytes`), `_total` on counters. Label values
are bounded: every label either has a fixed vocabulary (statuses, HTTP methods) or a cap on
how many distinct values it may take; past the cap, new values are counted as `other`, so a
bug that feeds request IDs into a label cannot blow up Prometheus.

LLM, tool and MCP calls are also recorded under the OpenTelemetry GenAI and MCP conventions
(`semconv.py`: `gen_ai_client_token_usage`, `gen_ai_client_operation_duration_seconds`,
`gen_ai_execute_tool_duration_seconds`, `mcp_client_operation_duration_seconds`, the names the
OpenTelemetry-to-Prometheus mapping gives), and, when `Telemetry` is enabled, as OpenTelemetry
metrics too. Those conventions are still changing (the token histogram may become counters), so
the library also keeps two counters of its own that rules can rely on whatever the conventions
become: `agent_gen_ai_tokens_total` (tokens by type) and `agent_gen_ai_operations_total`.

The alert rules and the dashboard of the `monitoring` role read these names; the test
`tests/unit/test_monitoring_metric_names.py` checks that they match exactly.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    Info,
    PlatformCollector,
    ProcessCollector,
)

from . import semconv
from .telemetry import DISABLED, Telemetry

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

# The library's own GenAI counters: stable names for rules, whatever the conventions' instrument
# types become. Their labels are the conventions' attribute names, mapped as for the
# conventions' own series, so a rule can move from one to the other without relabelling.
GENAI_TOKENS_TOTAL = "agent_gen_ai_tokens_total"
GENAI_OPERATIONS_TOTAL = "agent_gen_ai_operations_total"


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
    `components`, `routes` and `genai_models` may list the known values of those labels; left
    out, the first `max_label_values` distinct values are kept and later ones count as `other`.
    `genai_providers` defaults to the conventions' well-known provider names. With an enabled
    `telemetry`, workflows, LLM calls and tool calls are spans too, and the conventions'
    instruments are also OpenTelemetry metrics when it exports metrics.
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
        genai_providers: Iterable[str] | None = None,
        genai_models: Iterable[str] | None = None,
        max_label_values: int = 50,
        process_metrics: bool = True,
        telemetry: Telemetry | None = None,
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
        self._operation = BoundedLabel(semconv.GEN_AI_OPERATION_NAME, semconv.OPERATION_NAMES)
        self._provider = BoundedLabel(semconv.GEN_AI_PROVIDER_NAME,
                                      semconv.PROVIDER_NAMES if genai_providers is None else genai_providers)
        self._model = BoundedLabel(semconv.GEN_AI_REQUEST_MODEL, genai_models, n)
        self._mcp_method = BoundedLabel(semconv.MCP_METHOD_NAME, semconv.MCP_METHODS)
        self._tool_type = BoundedLabel(semconv.GEN_AI_TOOL_TYPE, semconv.TOOL_TYPES)
        self._error_class = BoundedLabel(semconv.ERROR_TYPE, limit=n)
        self.telemetry = DISABLED if telemetry is None else telemetry
        # OpenTelemetry instruments when the telemetry exports metrics (None: Prometheus only).
        self.otel_instruments: dict[str, Any] | None = self.telemetry.instruments()

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
        # The GenAI and MCP conventions' histograms, under their Prometheus names.
        self.semconv_histograms = {
            inst.name: Histogram(inst.prometheus_name, inst.description, list(inst.prometheus_labels),
                                 buckets=inst.buckets, registry=r)
            for inst in semconv.INSTRUMENTS
        }
        genai_labels = [semconv.prometheus_label(a) for a in (
            semconv.GEN_AI_OPERATION_NAME, semconv.GEN_AI_PROVIDER_NAME, semconv.GEN_AI_REQUEST_MODEL)]
        self.genai_tokens = Counter(
            GENAI_TOKENS_TOTAL.removesuffix("_total"),
            "Tokens used by GenAI operations, by operation, provider, model and token type (input, output)",
            [*genai_labels, semconv.prometheus_label(semconv.GEN_AI_TOKEN_TYPE)], registry=r)
        self.genai_operations = Counter(
            GENAI_OPERATIONS_TOTAL.removesuffix("_total"),
            "GenAI operations (LLM calls), by operation, provider, model and error type ('' when it succeeded)",
            [*genai_labels, semconv.prometheus_label(semconv.ERROR_TYPE)], registry=r)
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
        `failed` (`cancelled` for cancellation) and is re-raised. With tracing on, the block
        runs in an `invoke_workflow {type}` span, the parent of its LLM and tool call spans.
        """
        outcome = {"status": "completed"}
        wt = self._workflow_type(workflow_type)
        with self.telemetry.span(semconv.workflow_span_name(wt), attributes={
                semconv.GEN_AI_OPERATION_NAME: "invoke_workflow", semconv.GEN_AI_WORKFLOW_NAME: wt}) as span:
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
                if outcome["status"] != "completed":
                    span.set_attribute(semconv.ERROR_TYPE, self._workflow_status(outcome["status"]))

    @contextmanager
    def track_llm_call(self, operation: str, provider: str, model: str) -> Iterator[dict]:
        """Time an LLM call and record it under the GenAI conventions (metrics, and a span).

        The block sets `call["input_tokens"]` / `call["output_tokens"]` from the provider's
        reported usage (left None: not recorded) and may set `call["error_type"]`; an exception
        records its class name as `error.type` and is re-raised.
        """
        call: dict[str, Any] = {"input_tokens": None, "output_tokens": None, "error_type": None}
        attrs = self.genai_attributes(operation, provider, model)
        name = semconv.llm_span_name(attrs[semconv.GEN_AI_OPERATION_NAME], attrs[semconv.GEN_AI_REQUEST_MODEL])
        with self.telemetry.span(name, "client", attrs) as span:
            start = time.perf_counter()
            try:
                yield call
            except BaseException as exc:
                call["error_type"] = call["error_type"] or type(exc).__name__
                raise
            finally:
                self.record_llm_call(operation, provider, model, duration=time.perf_counter() - start,
                                     input_tokens=call["input_tokens"], output_tokens=call["output_tokens"],
                                     error_type=call["error_type"])
                for key, count in ((semconv.GEN_AI_USAGE_INPUT_TOKENS, call["input_tokens"]),
                                   (semconv.GEN_AI_USAGE_OUTPUT_TOKENS, call["output_tokens"])):
                    if count is not None:
                        span.set_attribute(key, max(int(count), 0))
                if call["error_type"]:
                    span.set_attribute(semconv.ERROR_TYPE, self.error_attribute(call["error_type"]))

    @contextmanager
    def track_tool_call(self, server: str, tool: str, method: str = "tools/call") -> Iterator[dict]:
        """Time an MCP tool call: agent_mcp_tool_* and the GenAI/MCP conventions, and a client span.

        The block may set `call["status"]` (success, error, timeout; default success); an
        exception records `error` (`timeout` for TimeoutError) and is re-raised. Build the request
        inside the block with `metrics.telemetry.mcp_request(...)`, so that its `params._meta`
        carries this span's trace context.
        """
        call: dict[str, Any] = {"status": "success"}
        tl = self._tool(tool)
        attrs = {semconv.MCP_METHOD_NAME: self._mcp_method(method), semconv.GEN_AI_OPERATION_NAME: "execute_tool",
                 semconv.GEN_AI_TOOL_NAME: tl}
        with self.telemetry.span(semconv.tool_span_name(attrs[semconv.MCP_METHOD_NAME], tl), "client", attrs) as span:
            start = time.perf_counter()
            try:
                yield call
            except BaseException as exc:
                call["status"] = "timeout" if isinstance(exc, TimeoutError) else "error"
                raise
            finally:
                duration = time.perf_counter() - start
                status = self._mcp_status(call["status"])
                error = None if status == "success" else status
                self.record_mcp_tool_call(server, tool, status, duration)
                self.record_tool_execution(tool, duration=duration, error_type=error)
                self.record_mcp_operation(method, duration=duration, tool=tool, error_type=error)
                if error:
                    span.set_attribute(semconv.ERROR_TYPE, error)

    def record_mcp_tool_call(self, server: str, tool: str, status: str, duration: float) -> None:
        sv, tl = self._server(server), self._tool(tool)
        self.mcp_tool_calls.labels(sv, tl, self._mcp_status(status)).inc()
        self.mcp_tool_duration.labels(sv, tl).observe(max(duration, 0.0))

    # -- GenAI and MCP conventions -----------------------------------------------------------

    def _observe(self, instrument: semconv.Instrument, value: float, attributes: dict[str, str]) -> None:
        """One measurement of a conventions instrument: Prometheus always, OpenTelemetry when enabled.

        `attributes` holds every attribute of the instrument, already bounded; an empty value
        means "not set" (Prometheus reads a missing label as empty; OpenTelemetry omits it).
        """
        self.semconv_histograms[instrument.name].labels(*(attributes[a] for a in instrument.attributes)).observe(value)
        if self.otel_instruments is not None:
            self.otel_instruments[instrument.name].record(value, {k: v for k, v in attributes.items() if v != ""})

    def genai_attributes(self, operation: str, provider: str, model: str) -> dict[str, str]:
        """The bounded `gen_ai.*` attributes of an LLM call (for its metrics and its span)."""
        return {semconv.GEN_AI_OPERATION_NAME: self._operation(operation),
                semconv.GEN_AI_PROVIDER_NAME: self._provider(provider),
                semconv.GEN_AI_REQUEST_MODEL: self._model(model)}

    def error_attribute(self, error_type: str | None) -> str:
        return "" if not error_type else self._error_class(error_type)

    def record_llm_call(self, operation: str, provider: str, model: str, *, duration: float,
                        input_tokens: int | None = None, output_tokens: int | None = None,
                        error_type: str | None = None) -> None:
        """An LLM call: gen_ai.client.operation.duration, gen_ai.client.token.usage per token type
        reported, and the stable agent_gen_ai_* counters."""
        attrs = self.genai_attributes(operation, provider, model)
        error = self.error_attribute(error_type)
        self._observe(semconv.OPERATION_DURATION, max(duration, 0.0), {**attrs, semconv.ERROR_TYPE: error})
        self.genai_operations.labels(*attrs.values(), error).inc()
        for token_type, count in (("input", input_tokens), ("output", output_tokens)):
            if count is None:
                continue  # not reported by the provider: no measurement (the conventions forbid guessing)
            count = max(int(count), 0)
            self._observe(semconv.TOKEN_USAGE, count, {**attrs, semconv.GEN_AI_TOKEN_TYPE: token_type})
            self.genai_tokens.labels(*attrs.values(), token_type).inc(count)

    def record_tool_execution(self, tool: str, *, duration: float, tool_type: str = "extension",
                              error_type: str | None = None) -> None:
        """gen_ai.execute_tool.duration: one tool execution, MCP or not."""
        self._observe(semconv.EXECUTE_TOOL_DURATION, max(duration, 0.0),
                      {semconv.GEN_AI_TOOL_NAME: self._tool(tool), semconv.GEN_AI_TOOL_TYPE: self._tool_type(tool_type),
                       semconv.ERROR_TYPE: self.error_attribute(error_type)})

    def record_mcp_operation(self, method: str, *, duration: float, tool: str = "",
                             error_type: str | None = None) -> None:
        """mcp.client.operation.duration: one MCP request as the client saw it."""
        self._observe(semconv.MCP_CLIENT_OPERATION_DURATION, max(duration, 0.0),
                      {semconv.MCP_METHOD_NAME: self._mcp_method(method),
                       semconv.GEN_AI_TOOL_NAME: self._tool(tool) if tool else "",
                       semconv.ERROR_TYPE: self.error_attribute(error_type)})

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

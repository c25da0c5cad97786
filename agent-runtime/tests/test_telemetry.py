"""Telemetry: spans of a workflow with its LLM and tool calls, W3C context in MCP requests, the
conventions as OpenTelemetry metrics, configuration from the ConfigMap keys, nothing when off."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys

import pytest
from agentic_runtime.metrics import AgentMetrics
from agentic_runtime.telemetry import Telemetry, base_endpoint
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode


@pytest.fixture
def traced():
    exporter = InMemorySpanExporter()
    reader = InMemoryMetricReader()
    telemetry = Telemetry(span_exporter=exporter, metric_reader=reader, service="mcp-agent", version="1.2.3")
    metrics = AgentMetrics(workflow_types=["research"], mcp_servers=["web"], genai_models=["gpt-4o"],
                           telemetry=telemetry)
    yield metrics, exporter, reader
    telemetry.shutdown()


def spans_by_name(metrics, exporter):
    metrics.telemetry.flush()
    return {span.name: span for span in exporter.get_finished_spans()}


def test_workflow_span_parents_llm_and_tool_spans_with_convention_attributes(traced):
    metrics, exporter, _ = traced
    with metrics.track_workflow("research"):
        with metrics.track_llm_call("chat", "openai", "gpt-4o") as call:
            call["input_tokens"], call["output_tokens"] = 120, 30
        with metrics.track_tool_call("web", "search"):
            request = metrics.telemetry.mcp_request("tools/call", {"name": "search", "arguments": {"q": "x"}}, 7)
    spans = spans_by_name(metrics, exporter)
    workflow, llm, tool = spans["invoke_workflow research"], spans["chat gpt-4o"], spans["tools/call search"]
    assert workflow.parent is None
    assert llm.parent.span_id == workflow.context.span_id and tool.parent.span_id == workflow.context.span_id
    assert llm.context.trace_id == tool.context.trace_id == workflow.context.trace_id
    assert workflow.attributes["gen_ai.operation.name"] == "invoke_workflow"
    assert workflow.attributes["gen_ai.workflow.name"] == "research"
    assert llm.kind == SpanKind.CLIENT
    assert dict(llm.attributes) == {"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai",
                                    "gen_ai.request.model": "gpt-4o", "gen_ai.usage.input_tokens": 120,
                                    "gen_ai.usage.output_tokens": 30}
    assert dict(tool.attributes) == {"mcp.method.name": "tools/call", "gen_ai.operation.name": "execute_tool",
                                     "gen_ai.tool.name": "search"}
    assert workflow.resource.attributes["service.name"] == "mcp-agent"
    # the MCP request carries the tool span's context in params._meta (W3C traceparent)
    assert request["params"]["arguments"] == {"q": "x"} and request["id"] == 7
    version, trace_id, span_id, flags = request["params"]["_meta"]["traceparent"].split("-")
    assert version == "00" and int(flags, 16) & 1  # sampled
    assert int(trace_id, 16) == tool.context.trace_id and int(span_id, 16) == tool.context.span_id


def test_failures_mark_spans_as_errors(traced):
    metrics, exporter, _ = traced
    with pytest.raises(RuntimeError), metrics.track_workflow("research"):
        with pytest.raises(TimeoutError), metrics.track_tool_call("web", "search"):
            raise TimeoutError
        raise RuntimeError("planner failed")
    spans = spans_by_name(metrics, exporter)
    assert spans["tools/call search"].attributes["error.type"] == "timeout"
    assert spans["tools/call search"].status.status_code == StatusCode.ERROR
    assert spans["invoke_workflow research"].attributes["error.type"] == "failed"
    assert spans["invoke_workflow research"].status.status_code == StatusCode.ERROR


def test_conventions_are_also_opentelemetry_metrics(traced):
    metrics, _, reader = traced
    metrics.record_llm_call("chat", "openai", "gpt-4o", duration=0.5, input_tokens=120, output_tokens=30)
    data = reader.get_metrics_data()
    points = {m.name: m for rm in data.resource_metrics for sm in rm.scope_metrics for m in sm.metrics}
    usage = points["gen_ai.client.token.usage"]
    assert usage.unit == "{token}"
    by_type = {p.attributes["gen_ai.token.type"]: p for p in usage.data.data_points}
    assert by_type["input"].sum == 120 and by_type["output"].sum == 30
    assert dict(by_type["input"].attributes) == {"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai",
                                                 "gen_ai.request.model": "gpt-4o", "gen_ai.token.type": "input"}
    assert list(by_type["input"].explicit_bounds)[:3] == [1, 4, 16]
    duration = points["gen_ai.client.operation.duration"].data.data_points[0]
    assert duration.count == 1 and "error.type" not in duration.attributes  # unset, not empty


def test_incoming_traceparent_becomes_the_parent_and_outgoing_headers_carry_it(traced):
    metrics, exporter, _ = traced
    parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    with metrics.telemetry.span("GET /health", "server", carrier={"traceparent": parent}):
        headers = metrics.telemetry.inject({})
    span = spans_by_name(metrics, exporter)["GET /health"]
    assert span.context.trace_id == 0x0AF7651916CD43DD8448EB211C80319C
    assert span.parent.span_id == 0xB7AD6B7169203331
    assert headers["traceparent"].split("-")[1] == "0af7651916cd43dd8448eb211c80319c"


@pytest.mark.parametrize(("environ", "message"), [
    ({"jaeger.enabled": "yes"}, "jaeger.enabled must be 'true' or 'false'"),
    ({"jaeger.enabled": "true", "jaeger.endpoint": "jaeger:4318"}, "jaeger.endpoint must be the http:// or https://"),
    ({"jaeger.enabled": "true"}, "jaeger.endpoint must be"),
    ({"jaeger.enabled": "true", "jaeger.endpoint": "http://jaeger:14268/api/traces"}, "path empty or /v1/traces"),
])
def test_bad_configuration_names_the_key(environ, message):
    with pytest.raises(ValueError, match=message):
        Telemetry.from_environ(environ)


def test_missing_sdk_is_a_clear_error():
    code = """
import sys
sys.modules["opentelemetry.sdk.resources"] = None  # as if the otlp extra were not installed
from agentic_runtime.telemetry import Telemetry
try:
    Telemetry.from_environ({"jaeger.enabled": "true", "jaeger.endpoint": "http://collector:4318"})
except ValueError as err:
    print(err)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "jaeger.enabled is true but the OpenTelemetry SDK is not installed" in out
    assert "agentic-runtime[otlp]" in out


def test_configuration_keys_drive_it():
    assert not Telemetry.from_environ({}).enabled
    assert not Telemetry.from_environ({"jaeger.enabled": "false", "jaeger.endpoint": "nonsense"}).enabled
    on = Telemetry.from_environ({"jaeger.enabled": "True", "jaeger.endpoint": "http://collector:4318"})
    try:
        assert on.enabled and on.endpoint == "http://collector:4318" and not on.metrics
    finally:
        on.shutdown()
    assert base_endpoint("http://c:4318/v1/traces") == base_endpoint("http://c:4318/") == "http://c:4318"


def test_off_imports_nothing_and_starts_no_thread():
    """In a fresh interpreter: a whole workflow with tracing off loads no OpenTelemetry module
    and runs no thread besides the main one."""
    code = """
import asyncio, json, sys, threading
from agentic_runtime.metrics import AgentMetrics
from agentic_runtime.telemetry import Telemetry
t = Telemetry.from_environ({"jaeger.enabled": "false", "jaeger.endpoint": "http://collector:4318"})
m = AgentMetrics(telemetry=t)
with m.track_workflow("w"):
    with m.track_llm_call("chat", "openai", "gpt-4o") as c:
        c["input_tokens"] = 1
    with m.track_tool_call("web", "search"):
        r = m.telemetry.mcp_request("tools/call", {"name": "search"}, 1)
print(json.dumps({"modules": sorted(n for n in sys.modules if n.startswith("opentelemetry")),
                  "threads": threading.active_count(), "meta": "_meta" in r["params"],
                  "headers": t.inject({})}))
"""
    out = json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)
    assert out == {"modules": [], "threads": 1, "meta": False, "headers": {}}


def test_on_starts_the_exporter_thread():
    """The counterpart of the test above, so that it could fail: on, the SDK runs its batch thread."""
    code = """
import json, sys, threading
from agentic_runtime.telemetry import Telemetry
t = Telemetry.from_environ({"jaeger.enabled": "true", "jaeger.endpoint": "http://127.0.0.1:9"})
print(json.dumps({"otel": "opentelemetry.sdk.trace" in sys.modules, "threads": threading.active_count()}))
"""
    out = json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)
    assert out["otel"] and out["threads"] > 1


def test_server_spans_for_api_requests_none_for_probes(traced):
    from agentic_runtime import AgentServer, HealthChecker
    from agentic_runtime.server import Response

    metrics, exporter, _ = traced
    parent = b"traceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\r\n"

    async def ping(request):
        return Response.of_json(200, {"pong": True})

    async def main() -> None:
        server = AgentServer(metrics, HealthChecker(), host="127.0.0.1", api_port=0, metrics_port=0)
        server.route("GET", "/api/v1/ping", ping)
        await server.start()
        for path in (b"/api/v1/ping", b"/health", b"/ready"):
            reader, writer = await asyncio.open_connection("127.0.0.1", server.api_port)
            writer.write(b"GET " + path + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" + parent + b"\r\n")
            await reader.read()
            writer.close()
        await server.close()

    asyncio.run(main())
    spans = spans_by_name(metrics, exporter)
    assert set(spans) == {"GET /api/v1/ping"}  # probes make no span
    span = spans["GET /api/v1/ping"]
    assert span.kind == SpanKind.SERVER
    assert dict(span.attributes) == {"http.request.method": "GET", "http.route": "/api/v1/ping",
                                     "http.response.status_code": 200}
    assert span.context.trace_id == 0x0AF7651916CD43DD8448EB211C80319C

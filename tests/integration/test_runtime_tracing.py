"""End to end: the reference agent's spans reach a real trace backend.

An OpenTelemetry Collector (core components, built from its Go module by localcluster.build:
gomod/otelcol) receives OTLP/HTTP and prints what it gets with its debug exporter (detailed).
A real reference agent process, configured the way the ConfigMap configures it (environment
`jaeger.enabled`, `jaeger.endpoint`), runs one workflow with one LLM call and one tool call,
the tool call a real MCP `tools/call` over HTTP to a small MCP server in this test. The
collector must have the workflow span with its LLM and tool child spans and their attributes,
and the MCP server must have the tool span's trace context in `params._meta` and the
`traceparent` header. With `jaeger.enabled=false`, nothing reaches the collector.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from localcluster import build
from tests.monitoring_support import free_port, wait_for

WORKFLOW = {
    "workflow_type": "research",
    "llm_calls": [{"operation": "chat", "provider": "openai", "model": "gpt-4o",
                   "input_tokens": 120, "output_tokens": 30}],
    "tool_calls": [{"server": "web", "tool": "search", "arguments": {"query": "burn rate"}}],
}


# --- the collector and what it printed ------------------------------------------------------

@pytest.fixture(scope="module")
def collector(tmp_path_factory):
    binary = build.build_component("otelcol") / "otelcol"
    work = tmp_path_factory.mktemp("otelcol")
    port = free_port()
    config = {
        "receivers": {"otlp": {"protocols": {"http": {"endpoint": f"127.0.0.1:{port}"}}}},
        "exporters": {"debug": {"verbosity": "detailed", "use_internal_logger": False}},
        "service": {"telemetry": {"metrics": {"level": "none"}},  # no :8888 listener to collide on
                    "pipelines": {"traces": {"receivers": ["otlp"], "exporters": ["debug"]}}},
    }
    (work / "config.yaml").write_text(json.dumps(config))  # JSON is YAML
    out, err = work / "stdout.log", work / "stderr.log"
    with out.open("w") as stdout, err.open("w") as stderr:
        proc = subprocess.Popen([str(binary), "--config", f"file:{work / 'config.yaml'}"],
                                stdout=stdout, stderr=stderr)
    try:
        wait_for(lambda: "Everything is ready" in err.read_text() or proc.poll() is not None, 60,
                 what="collector start")
        assert proc.poll() is None, f"collector exited:\n{err.read_text()[-3000:]}"
        yield {"endpoint": f"http://127.0.0.1:{port}", "output": out}
    finally:
        proc.terminate()  # by PID
        proc.wait(10)


ATTRIBUTE = re.compile(r"^\s+-> ([\w.]+): (\w+)\((.*)\)$")
FIELD = re.compile(r"^\s+(Trace ID|Parent ID|ID|Name|Kind)\s*: ?(.*)$")


def received_spans(output: Path) -> list[dict]:
    """The spans in the debug exporter's detailed output, each with its resource's attributes."""
    spans: list[dict] = []
    resource: dict = {}
    section = None
    for line in output.read_text().splitlines():
        if line.startswith("ResourceSpans #"):
            resource, section = {}, "resource"
        elif line.startswith("Span #"):
            spans.append({"resource": resource, "attributes": {}})
            section = "span"
        elif line.startswith("Attributes:") and section == "span":
            section = "attributes"
        elif line.startswith(("ScopeSpans", "InstrumentationScope")):
            section = None
        elif (match := ATTRIBUTE.match(line)) and section in ("resource", "attributes"):
            key, kind, value = match.groups()
            target = resource if section == "resource" else spans[-1]["attributes"]
            target[key] = int(value) if kind == "Int" else value
        elif (match := FIELD.match(line)) and section == "span":
            spans[-1][match.group(1)] = match.group(2).strip()
    return spans


# --- a small MCP server (streamable HTTP: one JSON-RPC request per POST) --------------------

@pytest.fixture
def mcp_server():
    received: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            received.append({"headers": {k.lower(): v for k, v in self.headers.items()}, "body": request})
            reply = json.dumps({"jsonrpc": "2.0", "id": request["id"],
                                "result": {"content": [{"type": "text", "text": "ok"}], "isError": False}}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/mcp", received
    server.shutdown()
    server.server_close()


def run_workflow(service: str, environ: dict[str, str], mcp_url: str) -> None:
    """Start the reference agent with these ConfigMap keys, run WORKFLOW, stop it (SIGTERM flushes)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "agentic_runtime", "--host", "127.0.0.1", "--api-port", "0", "--metrics-port", "0",
         "--shutdown-grace", "0", "--log-level", "WARNING", "--service", service, "--service-version", "9.9.9",
         "--workflow-type", "research", "--genai-model", "gpt-4o", "--mcp-server", f"web={mcp_url}"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, **environ})
    try:
        match = re.search(r"api_port=(\d+)", proc.stdout.readline())
        assert match, f"agent did not start: {proc.stderr.read()}"
        request = urllib.request.Request(f"http://127.0.0.1:{match.group(1)}/api/v1/workflows",
                                         json.dumps(WORKFLOW).encode(), {"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as resp:  # noqa: S310 (http on loopback)
            assert json.loads(resp.read()) == {"workflow_type": "research", "status": "completed"}
    finally:
        proc.terminate()
        _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 0, stderr
    assert "Failed to export" not in stderr and "Transient error" not in stderr, stderr


def test_workflow_spans_reach_the_collector_and_the_mcp_server_gets_the_context(collector, mcp_server):
    mcp_url, received = mcp_server
    # First with tracing off (the same endpoint configured): nothing may arrive from it.
    run_workflow("agent-tracing-off", {"jaeger.enabled": "false", "jaeger.endpoint": collector["endpoint"]}, mcp_url)
    off_call = received.pop()
    assert "_meta" not in off_call["body"]["params"] and "traceparent" not in off_call["headers"]

    run_workflow("agent-tracing-on", {"jaeger.enabled": "true", "jaeger.endpoint": collector["endpoint"]}, mcp_url)

    def spans_of_the_run():
        spans = {s["Name"]: s for s in received_spans(collector["output"])
                 if s["resource"].get("service.name") == "agent-tracing-on"}
        return spans if len(spans) >= 4 else None

    spans = wait_for(spans_of_the_run, 60, what="the run's 4 spans at the collector")
    assert not [s for s in received_spans(collector["output"])
                if s["resource"].get("service.name") == "agent-tracing-off"], "tracing off, yet spans arrived"

    http, workflow = spans["POST /api/v1/workflows"], spans["invoke_workflow research"]
    llm, tool = spans["chat gpt-4o"], spans["tools/call search"]
    assert {s["Trace ID"] for s in (http, workflow, llm, tool)} == {http["Trace ID"]}
    assert http["Parent ID"] == "" and http["Kind"] == "Server"
    assert workflow["Parent ID"] == http["ID"]
    assert llm["Parent ID"] == workflow["ID"] and tool["Parent ID"] == workflow["ID"]
    assert (llm["Kind"], tool["Kind"]) == ("Client", "Client")
    assert http["attributes"] == {"http.request.method": "POST", "http.route": "/api/v1/workflows",
                                  "http.response.status_code": 200}
    assert workflow["attributes"] == {"gen_ai.operation.name": "invoke_workflow", "gen_ai.workflow.name": "research"}
    assert llm["attributes"] == {"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai",
                                 "gen_ai.request.model": "gpt-4o", "gen_ai.usage.input_tokens": 120,
                                 "gen_ai.usage.output_tokens": 30}
    assert tool["attributes"] == {"mcp.method.name": "tools/call", "gen_ai.operation.name": "execute_tool",
                                  "gen_ai.tool.name": "search"}
    assert workflow["resource"]["service.version"] == "9.9.9"

    # The MCP request carried the tool span's W3C context, in params._meta and as a header.
    (call,) = received
    assert call["body"]["method"] == "tools/call"
    assert call["body"]["params"]["name"] == "search" and call["body"]["params"]["arguments"] == {"query": "burn rate"}
    for traceparent in (call["body"]["params"]["_meta"]["traceparent"], call["headers"]["traceparent"]):
        _, trace_id, parent_id, _ = traceparent.split("-")
        assert (trace_id, parent_id) == (tool["Trace ID"], tool["ID"])

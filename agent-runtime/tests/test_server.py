"""AgentServer over real HTTP on loopback: probes, /metrics, the workflow endpoint."""

from __future__ import annotations

import asyncio
import gzip
import http.client
import json
import socket
import threading

import pytest
from agentic_runtime import AgentMetrics, AgentServer, HealthChecker, workflow_handler
from prometheus_client.parser import text_string_to_metric_families


class Running:
    """An AgentServer on its own event loop in a thread."""

    def __init__(self, server: AgentServer):
        self.server = server
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.api_port, self.metrics_port = asyncio.run_coroutine_threadsafe(server.start(), self.loop).result(10)

    def stop(self):
        asyncio.run_coroutine_threadsafe(self.server.close(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)

    def request(self, method: str, path: str, body: object | None = None, port: int | None = None,
                headers: dict | None = None) -> tuple[int, dict, bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", port or self.api_port, timeout=10)
        data = json.dumps(body).encode() if body is not None else None
        conn.request(method, path, body=data, headers=headers or {})
        resp = conn.getresponse()
        payload = resp.read()
        conn.close()
        return resp.status, dict(resp.getheaders()), payload


class Switch:
    """A readiness dependency the test turns ok / failing / hanging."""

    def __init__(self):
        self.mode = "ok"

    async def __call__(self) -> bool:
        if self.mode == "hang":
            await asyncio.sleep(60)
        if self.mode == "raise":
            raise ConnectionError("redis unreachable")
        return self.mode == "ok"


@pytest.fixture
def agent():
    metrics = AgentMetrics(workflow_types=["research"], routes=["/health", "/ready", "/startup",
                                                                "/api/v1/workflows", "/metrics"])
    health = HealthChecker(default_timeout=5, metrics=metrics)
    switch = Switch()

    async def loop_alive():
        return True

    health.register_liveness_check("event_loop", loop_alive)
    health.register_readiness_check("redis", switch, timeout=0.5)
    health.register_readiness_check("config_loaded", lambda: True)
    health.register_startup_check("initialized", lambda: True)
    server = AgentServer(metrics, health, host="127.0.0.1", api_port=0, metrics_port=0)
    server.route("POST", "/api/v1/workflows", workflow_handler(metrics))
    running = Running(server)
    running.switch = switch
    running.metrics = metrics
    yield running
    running.stop()


def test_ready_turns_503_on_failure_and_timeout_and_back(agent):
    status, _, body = agent.request("GET", "/ready")
    assert status == 200 and json.loads(body)["status"] == "healthy"

    for mode, error in (("fail", "check returned False"), ("raise", "ConnectionError: redis unreachable"),
                        ("hang", "timed out after 0.5s")):
        agent.switch.mode = mode
        status, headers, body = agent.request("GET", "/ready")
        report = json.loads(body)
        assert status == 503, mode
        assert headers["Content-Type"] == "application/json"
        assert report["status"] == "unhealthy"
        assert report["checks"]["redis"]["status"] == "fail"
        assert report["checks"]["redis"]["error"] == error
        assert report["checks"]["config_loaded"]["status"] == "pass"  # the other check still reported

    agent.switch.mode = "ok"
    status, _, body = agent.request("GET", "/ready")
    assert status == 200 and json.loads(body)["checks"]["redis"]["status"] == "pass"


def test_health_reports_each_check(agent):
    status, _, body = agent.request("GET", "/health")
    report = json.loads(body)
    assert status == 200
    assert set(report) >= {"status", "timestamp", "checks", "duration_ms"}
    assert report["checks"]["event_loop"]["status"] == "pass"
    assert {"status", "checked_at", "duration_ms"} <= set(report["checks"]["event_loop"])
    status, _, body = agent.request("GET", "/startup")
    assert status == 200 and json.loads(body)["checks"]["initialized"]["status"] == "pass"


def test_readiness_fails_while_draining(agent):
    agent.server.draining = True
    status, _, body = agent.request("GET", "/ready")
    assert status == 503 and json.loads(body)["draining"] is True
    assert agent.request("GET", "/health")[0] == 200  # still alive: do not restart a draining pod


def test_metrics_port_serves_prometheus_text_and_the_api_port_does_not(agent):
    agent.request("POST", "/api/v1/workflows", {"workflow_type": "research", "outcome": "failed"})
    agent.switch.mode = "fail"
    agent.request("GET", "/ready")
    status, headers, body = agent.request("GET", "/metrics", port=agent.metrics_port)
    assert status == 200
    assert headers["Content-Type"].startswith("text/plain; version=0.0.4")
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for fam in text_string_to_metric_families(body.decode()) for s in fam.samples}
    assert samples[("agent_workflow_executions_total", (("status", "failed"), ("workflow_type", "research")))] == 1
    assert samples[("agent_health_check_status", (("check", "redis"), ("probe", "readiness")))] == 0
    assert samples[("agent_http_requests_total", (("method", "GET"), ("route", "/ready"), ("status_code", "503")))] == 1
    assert agent.request("GET", "/metrics")[0] == 404  # metrics only on the metrics port
    assert agent.request("GET", "/health", port=agent.metrics_port)[0] == 404


def test_metrics_content_negotiation_and_gzip(agent):
    status, headers, body = agent.request("GET", "/metrics", port=agent.metrics_port, headers={
        "Accept": "application/openmetrics-text;version=1.0.0", "Accept-Encoding": "gzip"})
    assert status == 200
    assert headers["Content-Type"].startswith("application/openmetrics-text")
    assert headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(body).rstrip().endswith(b"# EOF")


def test_workflow_endpoint_validates_input(agent):
    assert agent.request("POST", "/api/v1/workflows", {"outcome": "exploded"})[0] == 400
    assert agent.request("POST", "/api/v1/workflows", {"duration_seconds": 600})[0] == 400
    assert agent.request("POST", "/api/v1/workflows", ["not", "an", "object"])[0] == 400
    assert agent.request("GET", "/api/v1/workflows")[0] == 405
    assert agent.request("GET", "/nowhere")[0] == 404
    status, _, body = agent.request("POST", "/api/v1/workflows", {"workflow_type": "research"})
    assert status == 200 and json.loads(body)["status"] == "completed"


def test_keep_alive_and_malformed_requests(agent):
    conn = http.client.HTTPConnection("127.0.0.1", agent.api_port, timeout=10)
    for _ in range(3):  # one connection, several requests
        conn.request("GET", "/health")
        resp = conn.getresponse()
        resp.read()
        assert resp.status == 200 and resp.getheader("Connection") == "keep-alive"
    conn.close()
    with socket.create_connection(("127.0.0.1", agent.api_port), timeout=10) as sock:
        sock.sendall(b"NONSENSE\r\n\r\n")
        assert sock.recv(1024).startswith(b"HTTP/1.1 400")
    with socket.create_connection(("127.0.0.1", agent.api_port), timeout=10) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nX: " + b"a" * 20000 + b"\r\n\r\n")
        assert sock.recv(1024).startswith(b"HTTP/1.1 431")
    # the server is still fine afterwards
    assert agent.request("GET", "/health")[0] == 200


def test_a_handler_bug_answers_500_and_is_counted():
    metrics = AgentMetrics()
    server = AgentServer(metrics, HealthChecker(), host="127.0.0.1", api_port=0, metrics_port=0)

    async def broken(request):
        raise KeyError("bug")

    server.route("GET", "/api/v1/broken", broken)
    running = Running(server)
    try:
        assert running.request("GET", "/api/v1/broken")[0] == 500
        assert running.request("GET", "/health")[0] == 200
        assert metrics.errors.labels("unhandled_exception", "http")._value.get() == 1
    finally:
        running.stop()

"""AgentMetrics: names, units, bounded labels, workflow tracking."""

from __future__ import annotations

import pytest
from agentic_runtime.metrics import MCP_TOOL_BUCKETS, OTHER, AgentMetrics, BoundedLabel
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families


def key(name: str, **labels: str) -> tuple[str, frozenset]:
    return name, frozenset(labels.items())


def samples(metrics: AgentMetrics) -> dict[tuple[str, frozenset], float]:
    text = generate_latest(metrics.registry).decode()
    return {(s.name, frozenset(s.labels.items())): s.value
            for fam in text_string_to_metric_families(text) for s in fam.samples}


def test_each_instance_has_its_own_registry():
    a, b = AgentMetrics(), AgentMetrics()  # would raise "Duplicated timeseries" on a shared registry
    a.record_error("timeout", "redis")
    assert samples(a)[("agent_errors_total", frozenset({"error_type": "timeout", "component": "redis"}.items()))] == 1
    assert not [k for k in samples(b) if k[0] == "agent_errors_total"]


def test_names_follow_prometheus_conventions():
    names = AgentMetrics().exported_names()
    agent = {n for n in names if n.startswith("agent_")}
    assert {"agent_active_workflows", "agent_info", "agent_http_requests_total", "agent_workflow_executions_total",
            "agent_mcp_tool_calls_total", "agent_a2a_messages_total", "agent_errors_total",
            "agent_mcp_tool_duration_seconds_bucket", "agent_workflow_duration_seconds_bucket",
            "agent_http_request_duration_seconds_bucket", "agent_health_check_status"} <= agent
    assert "process_resident_memory_bytes" in names  # process memory, standard name and unit
    for name in agent:
        assert not name.endswith("_created")
    for hist in ("agent_http_request_duration", "agent_workflow_duration", "agent_mcp_tool_duration"):
        assert f"{hist}_seconds_bucket" in names  # base unit in the name


def test_info_carries_service_version_environment():
    m = AgentMetrics("mcp-agent", "1.2.3", "staging")
    key = ("agent_info", frozenset({"service": "mcp-agent", "version": "1.2.3", "environment": "staging"}.items()))
    assert samples(m)[key] == 1


def test_mcp_buckets_reach_past_the_latency_alert():
    assert max(MCP_TOOL_BUCKETS) >= 60
    m = AgentMetrics()
    for _ in range(20):
        m.record_mcp_tool_call("web", "search", "success", 25.0)
    s = samples(m)
    lbl = {"server": "web", "tool": "search"}
    assert s[("agent_mcp_tool_duration_seconds_bucket", frozenset({**lbl, "le": "10.0"}.items()))] == 0
    assert s[("agent_mcp_tool_duration_seconds_bucket", frozenset({**lbl, "le": "30.0"}.items()))] == 20


def test_workflow_tracking_counts_active_and_outcomes():
    m = AgentMetrics(workflow_types=["research"])
    s = samples(m)
    # known types start at zero for every status, so the first failure is a visible increase
    assert s[key("agent_workflow_executions_total", workflow_type="research", status="failed")] == 0
    with m.track_workflow("research"):
        assert samples(m)[("agent_active_workflows", frozenset())] == 1
    with pytest.raises(RuntimeError), m.track_workflow("research"):
        raise RuntimeError("tool failed")
    with m.track_workflow("research") as outcome:
        outcome["status"] = "timeout"
    s = samples(m)
    assert s[("agent_active_workflows", frozenset())] == 0
    for status in ("completed", "failed", "timeout"):
        assert s[key("agent_workflow_executions_total", workflow_type="research", status=status)] == 1
    assert s[("agent_workflow_duration_seconds_count",
              frozenset({"workflow_type": "research", "status": "failed"}.items()))] == 1


def test_labels_stay_bounded():
    m = AgentMetrics(workflow_types=["research"], max_label_values=3)
    for i in range(100):
        m.record_workflow_execution(f"type-{i}", "failed", 0.1)  # unknown types -> other
        m.record_mcp_tool_call("web", f"tool-{i}", "success", 0.1)  # first 3 tools kept
        m.record_request("GET", f"/items/{i}", 200, 0.01)
    m.record_workflow_execution("research", "exploded", 0.1)  # unknown status -> other
    m.record_request("BREW", "/pot", 418, 0.01)
    s = samples(m)
    wf = {dict(k[1])["workflow_type"] for k in s if k[0] == "agent_workflow_executions_total"}
    assert wf == {"research", OTHER}
    tools = {dict(k[1])["tool"] for k in s if k[0] == "agent_mcp_tool_calls_total"}
    assert tools == {"tool-0", "tool-1", "tool-2", OTHER}
    routes = {dict(k[1])["route"] for k in s if k[0] == "agent_http_requests_total"}
    assert len(routes) == 4
    methods = {dict(k[1])["method"] for k in s if k[0] == "agent_http_requests_total"}
    assert methods == {"GET", OTHER}
    statuses = {dict(k[1])["status"] for k in s if k[0] == "agent_workflow_executions_total"}
    assert OTHER in statuses and "exploded" not in statuses


def test_bounded_label_rejects_nonsense_limit():
    with pytest.raises(ValueError, match="at least 1"):
        BoundedLabel("x", limit=0)


def test_a2a_and_errors():
    m = AgentMetrics()
    m.record_a2a_message("sent", "task_request")
    m.record_a2a_message("sideways", "task_request")
    m.record_error("ValueError", "planner")
    s = samples(m)
    assert s[key("agent_a2a_messages_total", direction="sent", message_type="task_request")] == 1
    assert s[("agent_a2a_messages_total", frozenset({"direction": OTHER, "message_type": "task_request"}.items()))] == 1
    assert s[("agent_errors_total", frozenset({"error_type": "ValueError", "component": "planner"}.items()))] == 1

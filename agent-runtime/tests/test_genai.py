"""GenAI and MCP conventions: names (OpenTelemetry and Prometheus), values, bounded labels, one pin."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from agentic_runtime import semconv
from agentic_runtime.metrics import GENAI_OPERATIONS_TOTAL, GENAI_TOKENS_TOTAL, OTHER, AgentMetrics
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

SRC = Path(__file__).resolve().parents[1] / "src" / "agentic_runtime"


def samples(metrics: AgentMetrics) -> dict[tuple[str, frozenset], float]:
    text = generate_latest(metrics.registry).decode()
    return {(s.name, frozenset(s.labels.items())): s.value
            for fam in text_string_to_metric_families(text) for s in fam.samples}


def value(metrics: AgentMetrics, name: str, **labels: str) -> float:
    return samples(metrics)[(name, frozenset(labels.items()))]


INPUT, OUTPUT = {"gen_ai_token_type": "input"}, {"gen_ai_token_type": "output"}
CHAT = {"gen_ai_operation_name": "chat", "gen_ai_provider_name": "openai", "gen_ai_request_model": "gpt-4o"}


@pytest.mark.parametrize(("name", "unit", "kind", "expected"), [
    ("gen_ai.client.token.usage", "{token}", "histogram", "gen_ai_client_token_usage"),
    ("gen_ai.client.operation.duration", "s", "histogram", "gen_ai_client_operation_duration_seconds"),
    ("mcp.client.operation.duration", "s", "histogram", "mcp_client_operation_duration_seconds"),
    ("gen_ai.client.token.usage", "{token}", "counter", "gen_ai_client_token_usage_total"),
    ("http.server.request.duration_seconds", "s", "histogram", "http_server_request_duration_seconds"),
    ("system.memory.usage", "By", "gauge", "system_memory_usage_bytes"),
])
def test_prometheus_names_follow_the_opentelemetry_mapping(name, unit, kind, expected):
    assert semconv.prometheus_name(name, unit, kind) == expected


def test_conventions_series_are_exported_under_their_prometheus_names():
    names = AgentMetrics().exported_names()
    for series in ("gen_ai_client_token_usage", "gen_ai_client_operation_duration_seconds",
                   "gen_ai_execute_tool_duration_seconds", "mcp_client_operation_duration_seconds"):
        assert {f"{series}_bucket", f"{series}_sum", f"{series}_count"} <= names
    assert {GENAI_TOKENS_TOTAL, GENAI_OPERATIONS_TOTAL} <= names
    assert semconv.TOKEN_USAGE.prometheus_labels == (
        "gen_ai_operation_name", "gen_ai_provider_name", "gen_ai_request_model", "gen_ai_token_type")


def test_llm_call_records_tokens_by_type_in_the_histogram_and_the_stable_counter():
    m = AgentMetrics(genai_models=["gpt-4o"])
    m.record_llm_call("chat", "openai", "gpt-4o", duration=1.5, input_tokens=120, output_tokens=30)
    m.record_llm_call("chat", "openai", "gpt-4o", duration=0.5, input_tokens=80)  # output not reported
    assert value(m, "gen_ai_client_token_usage_sum", **CHAT, **INPUT) == 200
    assert value(m, "gen_ai_client_token_usage_count", **CHAT, **INPUT) == 2
    assert value(m, "gen_ai_client_token_usage_count", **CHAT, **OUTPUT) == 1
    assert value(m, GENAI_TOKENS_TOTAL, **CHAT, **INPUT) == 200
    assert value(m, GENAI_TOKENS_TOTAL, **CHAT, **OUTPUT) == 30
    assert value(m, "gen_ai_client_operation_duration_seconds_count", **CHAT, error_type="") == 2
    assert value(m, "gen_ai_client_operation_duration_seconds_sum", **CHAT, error_type="") == 2.0
    assert value(m, GENAI_OPERATIONS_TOTAL, **CHAT, error_type="") == 2


def test_failed_llm_call_records_its_error_type_and_reraises():
    m = AgentMetrics(genai_models=["gpt-4o"])
    with pytest.raises(TimeoutError), m.track_llm_call("chat", "openai", "gpt-4o") as call:
        call["input_tokens"] = 5
        raise TimeoutError
    assert value(m, GENAI_OPERATIONS_TOTAL, **CHAT, error_type="TimeoutError") == 1
    assert value(m, GENAI_TOKENS_TOTAL, **CHAT, **INPUT) == 5


def test_genai_labels_stay_bounded():
    m = AgentMetrics(genai_models=["gpt-4o"], max_label_values=2)
    for i in range(50):
        m.record_llm_call(f"op-{i}", f"provider-{i}", f"model-{i}", duration=0.1, input_tokens=1,
                          error_type=f"Error{i}")
        m.record_mcp_operation(f"method/{i}", duration=0.1, tool=f"tool-{i}")
    s = samples(m)
    token_series = [dict(k[1]) for k in s if k[0] == GENAI_TOKENS_TOTAL]
    assert token_series == [{"gen_ai_operation_name": OTHER, "gen_ai_provider_name": OTHER,
                             "gen_ai_request_model": OTHER, "gen_ai_token_type": "input"}]
    errors = {dict(k[1])["error_type"] for k in s if k[0] == GENAI_OPERATIONS_TOTAL}
    assert errors == {"Error0", "Error1", OTHER}
    methods = {dict(k[1])["mcp_method_name"] for k in s if k[0] == "mcp_client_operation_duration_seconds_count"}
    assert methods == {OTHER}
    # well-known providers pass without an allow-list of the caller's
    m.record_llm_call("chat", "anthropic", "gpt-4o", duration=0.1, input_tokens=1)
    assert value(m, GENAI_TOKENS_TOTAL, gen_ai_operation_name="chat", gen_ai_provider_name="anthropic",
                 gen_ai_request_model="gpt-4o", **INPUT) == 1


def test_tool_call_records_agent_and_convention_series():
    m = AgentMetrics(mcp_servers=["web"])
    with m.track_tool_call("web", "search"):
        pass
    with pytest.raises(TimeoutError), m.track_tool_call("web", "search"):
        raise TimeoutError
    with m.track_tool_call("web", "search") as call:
        call["status"] = "error"
    assert value(m, "agent_mcp_tool_calls_total", server="web", tool="search", status="success") == 1
    assert value(m, "agent_mcp_tool_calls_total", server="web", tool="search", status="timeout") == 1
    assert value(m, "agent_mcp_tool_calls_total", server="web", tool="search", status="error") == 1
    tool = {"gen_ai_tool_name": "search", "gen_ai_tool_type": "extension"}
    assert value(m, "gen_ai_execute_tool_duration_seconds_count", **tool, error_type="") == 1
    assert value(m, "gen_ai_execute_tool_duration_seconds_count", **tool, error_type="timeout") == 1
    mcp = {"mcp_method_name": "tools/call", "gen_ai_tool_name": "search"}
    assert value(m, "mcp_client_operation_duration_seconds_count", **mcp, error_type="error") == 1


def test_convention_names_are_written_only_in_semconv():
    """The pin is one place: no other module spells a gen_ai.* / mcp.* name or the version."""
    pattern = re.compile(r"""["'](gen_ai|mcp)\.[a-z_.]+["']|genai-\d""")
    for path in SRC.glob("*.py"):
        if path.name == "semconv.py":
            continue
        found = pattern.findall(path.read_text())
        assert not found, f"{path.name} spells convention names itself: {found}"
    assert re.fullmatch(r"genai-\d+\.\d+\.\d+", semconv.SEMCONV_VERSION)

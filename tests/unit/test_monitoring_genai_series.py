"""Alert rules and the dashboard read the library's own GenAI counters, never the conventions'
series: those are still in Development and may change type or name (the token histogram may
become counters), which would silently empty a rule that read them."""

from __future__ import annotations

import json

import pytest
import yaml
from agentic_runtime import semconv
from agentic_runtime.metrics import GENAI_OPERATIONS_TOTAL, GENAI_TOKENS_TOTAL, AgentMetrics

from tests.monitoring_support import DASHBOARD, promql_metric_names, render

CONVENTION_PREFIXES = tuple(inst.prometheus_name for inst in semconv.INSTRUMENTS)


@pytest.fixture(scope="module")
def read_names(tmp_path_factory) -> set[str]:
    out = render(tmp_path_factory.mktemp("genai"))
    exprs = [rule["expr"] for path in out.glob("*rules*.yml")
             for group in (yaml.safe_load(path.read_text()) or {}).get("groups", []) for rule in group["rules"]]
    dash = json.loads(DASHBOARD.read_text())
    exprs += [t["expr"] for panel in dash["panels"] for t in panel.get("targets", [])]
    assert exprs, "found no rule or panel expression"
    return set().union(*(promql_metric_names(e) for e in exprs))


def test_rules_and_dashboard_read_no_conventions_series(read_names):
    unstable = sorted(n for n in read_names if n.startswith(CONVENTION_PREFIXES))
    assert not unstable, (f"rules or dashboard read the conventions' series {unstable}: read "
                          f"{GENAI_TOKENS_TOTAL} / {GENAI_OPERATIONS_TOTAL} instead")


def test_the_stable_counters_carry_the_conventions_label_names():
    """So that a rule can move between the two by renaming the metric only."""
    metrics = AgentMetrics()
    assert {GENAI_TOKENS_TOTAL, GENAI_OPERATIONS_TOTAL} <= metrics.exported_names()
    assert metrics.genai_tokens._labelnames == semconv.TOKEN_USAGE.prometheus_labels
    assert metrics.genai_operations._labelnames == semconv.OPERATION_DURATION.prometheus_labels
    assert "gen_ai_client_token_usage_sum".startswith(CONVENTION_PREFIXES)  # what the check above catches

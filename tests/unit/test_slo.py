"""The SLO rules as data (plugins/module_utils/slo.py), without Ansible or Prometheus: windows,
thresholds, matchers and the time scale the end-to-end test uses."""

from __future__ import annotations

from decimal import Decimal

import pytest
from ansible_collections.agentic.platform.plugins.module_utils import slo


def _rules(**kwargs):
    args = {"namespace": "agentic-ai-prod", "job": "mcp-agent", "availability_percent": 99.99,
            "latency_percent": 99, "latency_seconds": 30, **kwargs}
    return slo.slo_rule_groups(**args)[0]["rules"]


def _alert(rules, name):
    return next(rule for rule in rules if rule.get("alert") == name)


def test_every_window_is_recorded_per_slo():
    records = [(r["record"], r["labels"]["slo"]) for r in _rules() if "record" in r]
    expected = [(f"slo:sli_error:ratio_rate{w}", s) for s in ("availability", "latency")
                for w in ("5m", "30m", "1h", "2h", "6h", "1d", "3d", "30d")]
    expected += [("slo:error_budget_remaining:ratio", "availability"), ("slo:error_budget_remaining:ratio", "latency")]
    assert sorted(records) == sorted(expected)


def test_burn_rate_thresholds_are_the_workbooks_exactly():
    """99.99 % leaves 0.01 %: page at 14.4x (1h/5m) or 6x (6h/30m), ticket at 3x (1d/2h) or 1x (3d/6h)."""
    rules = _rules()
    fast = _alert(rules, "AgentAvailabilitySLOFastBurn")["expr"]
    assert "slo:sli_error:ratio_rate1h{" in fast and "slo:sli_error:ratio_rate5m{" in fast
    assert fast.count("> 0.00144") == 2 and fast.count("> 0.0006") == 2
    slow = _alert(rules, "AgentAvailabilitySLOSlowBurn")["expr"]
    assert slow.count("> 0.0003") == 2 and slow.count("> 0.0001") == 2
    assert "ratio_rate1d{" in slow and "ratio_rate2h{" in slow and "ratio_rate3d{" in slow and "ratio_rate6h{" in slow
    latency = _alert(rules, "AgentLatencySLOFastBurn")["expr"]
    assert latency.count("> 0.144") == 2 and latency.count("> 0.06") == 2
    assert _alert(rules, "AgentAvailabilitySLOFastBurn")["labels"]["severity"] == "critical"
    assert _alert(rules, "AgentLatencySLOSlowBurn")["labels"]["severity"] == "warning"


def test_objective_and_bound_flow_into_the_rules():
    rules = _rules(availability_percent="99.9", latency_percent=95, latency_seconds=2.5)
    assert _alert(rules, "AgentAvailabilitySLOFastBurn")["expr"].count("> 0.0144") == 2
    assert _alert(rules, "AgentLatencySLOSlowBurn")["expr"].count("> 0.15") == 2
    latency_5m = next(r for r in rules
                      if r.get("record") == "slo:sli_error:ratio_rate5m" and r["labels"]["slo"] == "latency")
    assert r'le=~"2\\.5"' in latency_5m["expr"]
    budget = next(r for r in rules if r.get("record") == "slo:error_budget_remaining:ratio"
                  and r["labels"]["slo"] == "availability")
    assert budget["expr"].endswith("/ 0.001")


@pytest.mark.parametrize(("seconds", "pattern"), [(30, r"30(\.0)?"), (30.0, r"30(\.0)?"), (2.5, r"2\.5"),
                                                  (0.5, r"0\.5"), (3600, r"3600(\.0)?")])
def test_bucket_matcher_takes_the_client_and_the_prometheus_3_spelling(seconds, pattern):
    assert slo.bucket_matcher(seconds) == pattern


def test_names_are_quoted_so_they_cannot_change_the_expression():
    rules = _rules(namespace='a"} or vector(1) #', job="j\\")
    expr = rules[0]["expr"]
    assert r'namespace="a\"} or vector(1) #"' in expr and 'job="j\\\\"' in expr


def test_time_scale_divides_windows_not_objectives():
    rules = _rules(time_scale=60)
    five = next(r for r in rules if r.get("record") == "slo:sli_error:ratio_rate5m")
    hour = next(r for r in rules if r.get("record") == "slo:sli_error:ratio_rate1h")
    month = next(r for r in rules if r.get("record") == "slo:sli_error:ratio_rate30d")
    # the recorded names stay the production ones, so the alerts read the same series
    assert "[5s]" in five["expr"] and "[1m]" in hour["expr"] and "[12h]" in month["expr"]
    fast = _alert(rules, "AgentAvailabilitySLOFastBurn")
    assert fast["expr"] == _alert(_rules(), "AgentAvailabilitySLOFastBurn")["expr"]
    assert "14.4x over 1m and 5s" in fast["annotations"]["description"]


@pytest.mark.parametrize("scale", [0, -1, 7, 1.5, True, "60"])
def test_time_scale_must_leave_whole_seconds(scale):
    with pytest.raises(ValueError, match="time_scale"):
        _rules(time_scale=scale)


def test_scaled():
    assert [slo.scaled(w, 60) for w in ("5m", "30m", "1h", "2h", "6h", "1d", "3d", "30d")] == [
        "5s", "30s", "1m", "2m", "6m", "24m", "72m", "12h"]
    assert slo.scaled("1h", 1) == "1h"


def test_error_budget_is_exact():
    assert slo.error_budget(99.99) == Decimal("0.0001")
    assert slo.error_budget("99.9") == Decimal("0.001")
    assert Decimal("14.4") == slo.FASTEST_BURN

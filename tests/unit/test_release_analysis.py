"""The canary verdict: pass only on enough data that meets every limit; missing data or too few
requests is inconclusive, never a pass."""

from __future__ import annotations

import pytest
from ansible_collections.agentic.platform.plugins.module_utils.release.analysis import (
    FAIL,
    INCONCLUSIVE,
    PASS,
    Limits,
    Sample,
    judge,
    queries,
)

LIMITS = Limits(min_requests=50)


def good(**kw) -> Sample:
    base = {"requests": 200, "errors_5xx": 0, "workflows": 100, "workflows_failed": 0, "request_p95": 0.1,
            "mcp_tool_p95": 1.0, "mcp_tool_calls": 40}
    return Sample(**{**base, **kw})


def test_a_healthy_canary_passes():
    assert judge(good(), good(), LIMITS).result == PASS


@pytest.mark.parametrize("canary, metric, observed, limit", [
    (good(errors_5xx=10), "http_success", 0.95, 0.99),
    (good(workflows_failed=30), "workflow_success", 0.7, 0.99),
    (good(request_p95=3.0), "request_p95", 3.0, 2.0),
    (good(mcp_tool_p95=12.0), "mcp_tool_p95", 12.0, 10.0),
])
def test_each_absolute_limit_fails_with_metric_observed_and_limit(canary, metric, observed, limit):
    verdict = judge(canary, good(), LIMITS)
    assert (verdict.result, verdict.metric, verdict.observed, verdict.limit) == (FAIL, metric, observed, limit)


def test_relative_to_stable():
    # within the absolute limits, but worse than stable by more than allowed
    slow = judge(good(request_p95=0.4), good(request_p95=0.1), LIMITS)
    assert (slow.result, slow.metric, slow.limit) == (FAIL, "request_p95", 0.15)
    limits = Limits(min_success_ratio=0.9, max_success_drop=0.001)
    worse = judge(good(requests=1000, errors_5xx=5), good(requests=1000), limits)
    assert (worse.result, worse.metric) == (FAIL, "http_success")


def test_stable_without_traffic_leaves_the_absolute_limits():
    # at 100 % canary the stable subset has no requests: no relative comparison, absolute still applies
    assert judge(good(), Sample(), LIMITS).result == PASS
    assert judge(good(request_p95=2.5), Sample(), LIMITS).result == FAIL


@pytest.mark.parametrize("canary", [
    Sample(),                                             # no data at all
    good(requests=49),                                    # below the minimum
    good(request_p95=None),                               # histogram without data
    good(workflows=0, workflows_failed=0),                # no finished workflow
    good(mcp_tool_calls=0),                               # no tool call
])
def test_missing_data_is_inconclusive_never_pass(canary):
    assert judge(canary, good(), LIMITS).result == INCONCLUSIVE


def test_failures_below_the_minimum_are_not_judged_yet():
    assert judge(good(requests=10, errors_5xx=10), good(), LIMITS).result == INCONCLUSIVE


def test_only_the_chosen_checks():
    limits = Limits(min_requests=50, checks=("http_success", "request_p95"))
    assert judge(good(mcp_tool_calls=0, workflows=0), good(), limits).result == PASS


def test_queries_are_per_version_of_the_info_metric():
    q = queries("ns-a", "mcp-agent", 30, 'version!="v2"')
    assert set(q) == {"requests", "errors_5xx", "workflows", "workflows_failed", "request_p95", "mcp_tool_p95",
                      "mcp_tool_calls"}
    for expr in q.values():
        assert 'agent_info{namespace="ns-a",service="mcp-agent",version!="v2"}' in expr
        assert "on(job, instance) group_left()" in expr
    assert "[30s]" in q["requests"] and 'route!~"/health|/ready|/startup|/metrics"' in q["requests"]

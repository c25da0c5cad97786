"""The monitoring step's input checks (plugins/module_utils/inputs/monitoring.py), without Ansible."""

from __future__ import annotations

import pytest
from ansible_collections.agentic.platform.plugins.module_utils.inputs import monitoring
from ansible_collections.agentic.platform.plugins.module_utils.inputs.common import MISSING

# roles/monitoring/defaults/main.yml, monitoring_dashboard_namespace being agentic_namespace's default.
VALID = {
    "monitoring_selector_labels": {"release": "kube-prometheus-stack"},
    "monitoring_service_selector": {"app.kubernetes.io/name": "mcp-agent"},
    "monitoring_metrics_port": "http-metrics",
    "monitoring_metrics_path": "/metrics",
    "monitoring_scrape_interval": "30s",
    "monitoring_scrape_timeout": "10s",
    "monitoring_job": "mcp-agent",
    "monitoring_agent_container": "mcp-agent",
    "monitoring_hpa_name": "mcp-agent",
    "monitoring_redis_statefulset": "redis",
    "monitoring_rate_window": "5m",
    "monitoring_workflow_failure_ratio": 0.1,
    "monitoring_workflow_min_executions": 20,
    "monitoring_workflow_failure_for": "3m",
    "monitoring_mcp_latency_seconds": 10,
    "monitoring_mcp_latency_for": "2m",
    "monitoring_memory_ratio": 0.8,
    "monitoring_memory_for": "5m",
    "monitoring_cpu_throttling_ratio": 0.25,
    "monitoring_cpu_throttling_for": "15m",
    "monitoring_target_down_for": "5m",
    "monitoring_hpa_max_for": "15m",
    "monitoring_redis_down_for": "2m",
    "monitoring_gpu_fatal_xids": [48, 61, 62, 63, 64, 74, 79, 94, 95, 119, 120],
    "monitoring_gpu_vanished_for": "5m",
    "monitoring_gpu_throttling_ratio": 0.5,
    "monitoring_gpu_throttling_window": "15m",
    "monitoring_dashboard_namespace": "agentic-ai-prod",
    "monitoring_slo_availability_percent": 99.99,
    "monitoring_slo_latency_percent": 99,
    "monitoring_slo_latency_seconds": 30,
}


def test_variables_are_the_checked_ones():
    assert set(monitoring.VARIABLES) == set(VALID)


def test_valid_inventory_passes():
    assert monitoring.check(dict(VALID)) == []


@pytest.mark.parametrize("values", [
    {"monitoring_selector_labels": {}},
    {"monitoring_selector_labels": {"example.com/team": "ai", "tier": 1, "empty": ""}},
    {"monitoring_metrics_port": "metrics", "monitoring_metrics_path": "/api/v1/metrics"},
    {"monitoring_scrape_interval": "1m", "monitoring_scrape_timeout": "1m", "monitoring_rate_window": "4m"},
    {"monitoring_hpa_max_for": "1h", "monitoring_redis_down_for": "1d"},
    {"monitoring_memory_ratio": 1, "monitoring_mcp_latency_seconds": "119.5"},
    {"monitoring_workflow_failure_ratio": "0.5", "monitoring_workflow_min_executions": "1"},
    {"monitoring_job": "agent_v2.prod"},
    {"monitoring_gpu_fatal_xids": ["79"], "monitoring_gpu_throttling_ratio": "0.9",
     "monitoring_gpu_throttling_window": "1h"},
    {"monitoring_slo_availability_percent": "99.9", "monitoring_slo_latency_percent": 95,
     "monitoring_slo_latency_seconds": "2.5"},
    {"monitoring_slo_availability_percent": 99.999, "monitoring_slo_latency_percent": 93.1,
     "monitoring_slo_latency_seconds": 3600},
])
def test_more_valid_values_pass(values):
    assert monitoring.check({**VALID, **values}) == []


BAD = [
    ({"monitoring_gpu_fatal_xids": []}, "monitoring_gpu_fatal_xids must be a non-empty list of Xid codes"),
    ({"monitoring_gpu_fatal_xids": 79}, "monitoring_gpu_fatal_xids"),
    ({"monitoring_gpu_fatal_xids": [79, "79 or vector(1)"]}, "monitoring_gpu_fatal_xids"),
    ({"monitoring_gpu_fatal_xids": [0]}, "monitoring_gpu_fatal_xids"),
    ({"monitoring_gpu_fatal_xids": [True]}, "monitoring_gpu_fatal_xids"),
    ({"monitoring_gpu_vanished_for": "5"}, "monitoring_gpu_vanished_for must be a Prometheus duration"),
    ({"monitoring_gpu_throttling_window": "15m:1m"}, "monitoring_gpu_throttling_window must be a Prometheus duration"),
    ({"monitoring_gpu_throttling_ratio": 1}, "monitoring_gpu_throttling_ratio must be a ratio"),
    ({"monitoring_gpu_throttling_ratio": 0}, "monitoring_gpu_throttling_ratio"),
    ({"monitoring_selector_labels": ["release"]}, "monitoring_selector_labels"),
    ({"monitoring_selector_labels": {"release": "kube prometheus"}}, "monitoring_selector_labels"),
    ({"monitoring_selector_labels": {"Example.com/team": "ai"}}, "monitoring_selector_labels"),
    ({"monitoring_selector_labels": {"team": None}}, "monitoring_selector_labels"),
    ({"monitoring_service_selector": {}}, "monitoring_service_selector must be a non-empty map"),
    ({"monitoring_service_selector": {"app": "a" * 64}}, "monitoring_service_selector"),
    ({"monitoring_metrics_port": "9090"}, "monitoring_metrics_port"),
    ({"monitoring_metrics_port": 9090}, "monitoring_metrics_port"),
    ({"monitoring_metrics_port": "http-metrics-port-long"}, "monitoring_metrics_port"),
    ({"monitoring_metrics_port": "HTTP"}, "monitoring_metrics_port"),
    ({"monitoring_metrics_path": "metrics"}, "monitoring_metrics_path"),
    ({"monitoring_metrics_path": "/metrics?x=1"}, "monitoring_metrics_path"),
    ({"monitoring_metrics_path": "/met rics"}, "monitoring_metrics_path"),
    ({"monitoring_metrics_path": "/metrics#top"}, "monitoring_metrics_path"),
    ({"monitoring_selector_labels": {"example..com/release": "x"}}, "monitoring_selector_labels"),
    ({"monitoring_job": 'mcp"agent'}, "monitoring_job"),
    ({"monitoring_agent_container": "-agent"}, "monitoring_agent_container"),
    ({"monitoring_hpa_name": ""}, "monitoring_hpa_name"),
    ({"monitoring_redis_statefulset": MISSING}, "monitoring_redis_statefulset"),
    ({"monitoring_scrape_interval": "30"}, "monitoring_scrape_interval"),
    ({"monitoring_scrape_timeout": "0s"}, "monitoring_scrape_timeout"),
    ({"monitoring_rate_window": "1m30s"}, "monitoring_rate_window"),
    ({"monitoring_workflow_failure_for": "3 m"}, "monitoring_workflow_failure_for"),
    ({"monitoring_mcp_latency_for": "2w"}, "monitoring_mcp_latency_for"),
    ({"monitoring_memory_for": 5}, "monitoring_memory_for"),
    ({"monitoring_cpu_throttling_for": "15ms"}, "monitoring_cpu_throttling_for"),
    ({"monitoring_target_down_for": "-5m"}, "monitoring_target_down_for"),
    ({"monitoring_hpa_max_for": "05m"}, "monitoring_hpa_max_for"),
    ({"monitoring_redis_down_for": ""}, "monitoring_redis_down_for"),
    ({"monitoring_scrape_timeout": "1m"}, "monitoring_scrape_timeout (1m) must be at most monitoring_scrape_interval"),
    ({"monitoring_rate_window": "1m"}, "monitoring_rate_window (1m) must be at least 4 x monitoring_scrape_interval"),
    ({"monitoring_workflow_failure_ratio": 1}, "monitoring_workflow_failure_ratio"),
    ({"monitoring_workflow_failure_ratio": 0}, "monitoring_workflow_failure_ratio"),
    ({"monitoring_workflow_failure_ratio": "high"}, "monitoring_workflow_failure_ratio"),
    ({"monitoring_workflow_min_executions": 0}, "monitoring_workflow_min_executions"),
    ({"monitoring_workflow_min_executions": "many"}, "monitoring_workflow_min_executions"),
    ({"monitoring_mcp_latency_seconds": 120}, "monitoring_mcp_latency_seconds"),
    ({"monitoring_mcp_latency_seconds": 0}, "monitoring_mcp_latency_seconds"),
    ({"monitoring_memory_ratio": 1.2}, "monitoring_memory_ratio"),
    ({"monitoring_memory_ratio": 0}, "monitoring_memory_ratio"),
    ({"monitoring_cpu_throttling_ratio": 1}, "monitoring_cpu_throttling_ratio"),
    ({"monitoring_cpu_throttling_ratio": None}, "monitoring_cpu_throttling_ratio"),
    ({"monitoring_dashboard_namespace": "Grafana"}, "monitoring_dashboard_namespace"),
    ({"monitoring_dashboard_namespace": "grafana.ns"}, "monitoring_dashboard_namespace"),
    ({"monitoring_slo_availability_percent": 100}, "monitoring_slo_availability_percent must be a percentage"),
    ({"monitoring_slo_availability_percent": 0}, "monitoring_slo_availability_percent"),
    ({"monitoring_slo_availability_percent": 0.9999}, "monitoring_slo_availability_percent"),  # a ratio, not percent
    ({"monitoring_slo_availability_percent": "high"}, "monitoring_slo_availability_percent"),
    ({"monitoring_slo_availability_percent": True}, "monitoring_slo_availability_percent"),
    ({"monitoring_slo_latency_percent": 93}, "the fast-burn page could never fire"),  # 14.4 x 7 % > 100 %
    ({"monitoring_slo_latency_percent": MISSING}, "monitoring_slo_latency_percent"),
    ({"monitoring_slo_latency_seconds": 2}, "monitoring_slo_latency_seconds must be one of the buckets"),
    ({"monitoring_slo_latency_seconds": 0}, "monitoring_slo_latency_seconds"),
    ({"monitoring_slo_latency_seconds": "fast"}, "monitoring_slo_latency_seconds"),
]


@pytest.mark.parametrize(("values", "phrase"), BAD, ids=[f"{i}-{next(iter(v))}" for i, (v, _phrase) in enumerate(BAD)])
def test_bad_value_names_its_variable(values, phrase):
    problems = monitoring.check({**VALID, **values})
    assert problems, values
    assert any(phrase in message for message in problems), problems


def test_comparisons_skip_durations_that_are_not_ones():
    """A malformed interval fails once, with its own message, not again in the comparisons."""
    problems = monitoring.check({**VALID, "monitoring_scrape_interval": "soon"})
    assert len(problems) == 1 and problems[0].startswith("monitoring_scrape_interval must be a Prometheus duration")


def test_every_failed_check_is_reported():
    problems = monitoring.check({**VALID, "monitoring_memory_ratio": 2, "monitoring_cpu_throttling_ratio": 2,
                                 "monitoring_job": ""})
    assert [m.split(" ")[0] for m in problems] == ["monitoring_job", "monitoring_memory_ratio",
                                                   "monitoring_cpu_throttling_ratio"]


def test_seconds():
    assert [monitoring.seconds(d) for d in ("30s", "5m", "2h", "1d", "0s", "5", 5, "1m30s")] == [
        30, 300, 7200, 86400, None, None, None, None]

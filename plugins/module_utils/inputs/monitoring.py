"""Inputs of the monitoring step (role monitoring): what the ServiceMonitor scrapes, what the rules
match, the alert thresholds and their Prometheus durations, the SLO objectives, the dashboard's namespace."""

from __future__ import annotations

import re

from ansible_collections.agentic.platform.plugins.module_utils.inputs.common import (
    DNS1123_LABEL,
    Problems,
    as_int,
    as_number,
    is_labels,
    text,
)
from ansible_collections.agentic.platform.plugins.module_utils.slo import FASTEST_BURN, error_budget

# The alert durations, each checked as a Prometheus duration.
DURATIONS = (
    "monitoring_scrape_interval",
    "monitoring_scrape_timeout",
    "monitoring_rate_window",
    "monitoring_workflow_failure_for",
    "monitoring_mcp_latency_for",
    "monitoring_memory_for",
    "monitoring_cpu_throttling_for",
    "monitoring_target_down_for",
    "monitoring_hpa_max_for",
    "monitoring_redis_down_for",
    "monitoring_gpu_vanished_for",
    "monitoring_gpu_throttling_window",
)
# Object names the rules match, quoted into PromQL.
NAMES = ("monitoring_job", "monitoring_agent_container", "monitoring_hpa_name", "monitoring_redis_statefulset")

VARIABLES = (
    "monitoring_selector_labels",
    "monitoring_service_selector",
    "monitoring_metrics_port",
    "monitoring_metrics_path",
    *NAMES,
    *DURATIONS,
    "monitoring_workflow_failure_ratio",
    "monitoring_workflow_min_executions",
    "monitoring_mcp_latency_seconds",
    "monitoring_memory_ratio",
    "monitoring_cpu_throttling_ratio",
    "monitoring_gpu_fatal_xids",
    "monitoring_gpu_throttling_ratio",
    "monitoring_dashboard_namespace",
    "monitoring_slo_availability_percent",
    "monitoring_slo_latency_percent",
    "monitoring_slo_latency_seconds",
)

# IANA_SVC_NAME: at most 15 lowercase letters, digits and '-', at least one letter.
PORT_NAME = re.compile(r"[a-z0-9]([-a-z0-9]{0,13}[a-z0-9])?")
HTTP_PATH = re.compile(r"/[A-Za-z0-9._~/-]*")
# Object names matched in the rules are quoted into PromQL: plain names only.
OBJECT_NAME = re.compile(r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,251}[A-Za-z0-9])?")
# A Prometheus duration as these settings take it: a positive whole number and one unit.
DURATION = re.compile(r"([1-9][0-9]*)([smhd])")
DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
# agent_mcp_tool_duration_seconds' largest finite bucket: a higher p95 cannot be measured.
LARGEST_LATENCY_BUCKET = 120
# agent_workflow_duration_seconds' finite buckets: the latency SLO's bound must be one of them.
WORKFLOW_DURATION_BUCKETS = (0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0)
SLO_OBJECTIVES = ("monitoring_slo_availability_percent", "monitoring_slo_latency_percent")


def seconds(value) -> int | None:
    """The seconds of a Prometheus duration like 30s or 5m, None when it is not one."""
    match = DURATION.fullmatch(value) if isinstance(value, str) else None
    return int(match.group(1)) * DURATION_UNITS[match.group(2)] if match else None


def _matches(value, pattern: re.Pattern) -> bool:
    return isinstance(value, str) and bool(pattern.fullmatch(value))


def _between(value, low: float, high: float, high_included: bool = False) -> bool:
    number = as_number(value)
    return number is not None and low < number and (number <= high if high_included else number < high)


def check(v: dict) -> list[str]:
    p = Problems()
    p.add(is_labels(v["monitoring_selector_labels"]),
          "monitoring_selector_labels must map label keys to label values (e.g. release: kube-prometheus-stack), "
          f"got {text(v['monitoring_selector_labels'])}")
    p.add(is_labels(v["monitoring_service_selector"]) and len(v["monitoring_service_selector"]) > 0,
          "monitoring_service_selector must be a non-empty map of label keys to values selecting the agent Service, "
          f"got {text(v['monitoring_service_selector'])}")
    port = v["monitoring_metrics_port"]
    p.add(_matches(port, PORT_NAME) and any(c.isalpha() for c in port),
          "monitoring_metrics_port must be the name of a Service port (IANA_SVC_NAME: lowercase letters, digits, '-', "
          f"at most 15), got '{text(port)}'")
    p.add(_matches(v["monitoring_metrics_path"], HTTP_PATH),
          f"monitoring_metrics_path must be an HTTP path starting with '/', got '{text(v['monitoring_metrics_path'])}'")
    for name in NAMES:
        p.add(_matches(v[name], OBJECT_NAME),
              f"{name} must be a Kubernetes object name (letters, digits, '-', '_', '.'), got '{text(v[name])}'")
    for name in DURATIONS:
        p.add(seconds(v[name]) is not None,
              f"{name} must be a Prometheus duration: a positive number and one unit of s, m, h, d (e.g. 30s, 5m), "
              f"got '{text(v[name])}'")
    # These two compare durations that passed the checks above (the others fail there).
    interval, timeout = seconds(v["monitoring_scrape_interval"]), seconds(v["monitoring_scrape_timeout"])
    window = seconds(v["monitoring_rate_window"])
    p.add(timeout is None or interval is None or timeout <= interval,
          f"monitoring_scrape_timeout ({text(v['monitoring_scrape_timeout'])}) must be at most "
          f"monitoring_scrape_interval ({text(v['monitoring_scrape_interval'])})")
    p.add(window is None or interval is None or window >= 4 * interval,
          f"monitoring_rate_window ({text(v['monitoring_rate_window'])}) must be at least 4 x "
          f"monitoring_scrape_interval ({text(v['monitoring_scrape_interval'])}), or rate() sees too few samples to be "
          "reliable")

    p.add(_between(v["monitoring_workflow_failure_ratio"], 0, 1),
          "monitoring_workflow_failure_ratio must be a ratio greater than 0 and less than 1 (0.1 = 10%), "
          f"got '{text(v['monitoring_workflow_failure_ratio'])}'")
    executions = as_int(v["monitoring_workflow_min_executions"])
    p.add(executions is not None and executions >= 1,
          "monitoring_workflow_min_executions must be a whole number of at least 1, "
          f"got '{text(v['monitoring_workflow_min_executions'])}'")
    p.add(_between(v["monitoring_mcp_latency_seconds"], 0, LARGEST_LATENCY_BUCKET),
          f"monitoring_mcp_latency_seconds must be greater than 0 and less than {LARGEST_LATENCY_BUCKET}, the largest "
          "finite bucket of agent_mcp_tool_duration_seconds (a higher p95 cannot be measured, so the alert could never "
          f"fire); got '{text(v['monitoring_mcp_latency_seconds'])}'")
    p.add(_between(v["monitoring_memory_ratio"], 0, 1, high_included=True),
          "monitoring_memory_ratio must be a ratio of the memory limit, greater than 0 and at most 1, "
          f"got '{text(v['monitoring_memory_ratio'])}'")
    p.add(_between(v["monitoring_cpu_throttling_ratio"], 0, 1),
          "monitoring_cpu_throttling_ratio must be a ratio greater than 0 and less than 1, "
          f"got '{text(v['monitoring_cpu_throttling_ratio'])}'")
    xids = v["monitoring_gpu_fatal_xids"]
    p.add(isinstance(xids, list) and len(xids) > 0
          and all(not isinstance(x, bool) and as_int(x) is not None and 1 <= as_int(x) <= 999 for x in xids),
          "monitoring_gpu_fatal_xids must be a non-empty list of Xid codes, whole numbers from 1 to 999 "
          f"(e.g. [48, 79]), got {text(xids)}")
    p.add(_between(v["monitoring_gpu_throttling_ratio"], 0, 1),
          "monitoring_gpu_throttling_ratio must be a ratio greater than 0 and less than 1, "
          f"got '{text(v['monitoring_gpu_throttling_ratio'])}'")
    for name in SLO_OBJECTIVES:
        # Past 100 - 100/14.4 the fastest burn rate of the budget exceeds 100 % errors: no page.
        p.add(_between(v[name], 0, 100) and error_budget(as_number(v[name])) * FASTEST_BURN < 1,
              f"{name} must be a percentage above {100 - 100 / FASTEST_BURN:.2f} and below 100 (e.g. 99.9): below it "
              f"a {FASTEST_BURN}x burn of the error budget exceeds 100 % errors, so the fast-burn page could never "
              f"fire; got '{text(v[name])}'")
    latency = as_number(v["monitoring_slo_latency_seconds"])
    p.add(latency in WORKFLOW_DURATION_BUCKETS,
          "monitoring_slo_latency_seconds must be one of the buckets of agent_workflow_duration_seconds, "
          f"{', '.join(f'{b:g}' for b in WORKFLOW_DURATION_BUCKETS)} (a share within the bound is exact only at a "
          f"bucket), got '{text(v['monitoring_slo_latency_seconds'])}'")
    p.add(_matches(v["monitoring_dashboard_namespace"], DNS1123_LABEL),
          "monitoring_dashboard_namespace must be a namespace name (DNS-1123 label), "
          f"got '{text(v['monitoring_dashboard_namespace'])}'")
    return p

"""The metric names the alert rules and the dashboard read are exactly the ones the agent
runtime exports (and the few standard cAdvisor / kube-state-metrics / Prometheus ones)."""

from __future__ import annotations

import json
import re

import pytest
import yaml
from agentic_runtime.metrics import MCP_TOOL_BUCKETS, WORKFLOW_BUCKETS, AgentMetrics
from ansible_collections.agentic.platform.plugins.module_utils.inputs import monitoring as monitoring_inputs
from ansible_collections.agentic.platform.plugins.module_utils.inputs.common import MISSING

from tests.monitoring_support import DASHBOARD, ROOT, promql_metric_names, render

# Series from other exporters the rules rely on, each with where it comes from.
EXTERNAL = {
    "up": "Prometheus (scrape health)",
    "container_memory_working_set_bytes": "cAdvisor (kubelet)",
    "container_cpu_cfs_throttled_periods_total": "cAdvisor (kubelet)",
    "container_cpu_cfs_periods_total": "cAdvisor (kubelet)",
    "kube_pod_container_resource_limits": "kube-state-metrics",
    "kube_horizontalpodautoscaler_status_current_replicas": "kube-state-metrics",
    "kube_horizontalpodautoscaler_spec_max_replicas": "kube-state-metrics",
    "kube_statefulset_status_replicas_ready": "kube-state-metrics",
    "kube_node_status_capacity": "kube-state-metrics",
    "DCGM_FI_DEV_GPU_UTIL": "DCGM exporter (gpu_nodes step)",
    "DCGM_FI_DEV_GPU_TEMP": "DCGM exporter (gpu_nodes step)",
    "DCGM_FI_DEV_XID_ERRORS": "DCGM exporter (gpu_nodes step)",
    "DCGM_FI_DEV_ECC_DBE_VOL_TOTAL": "DCGM exporter (gpu_nodes step)",
    "DCGM_FI_DEV_ROW_REMAP_FAILURE": "DCGM exporter (gpu_nodes step)",
}
# Labels every scraped agent series carries from its target, not from the library.
TARGET_LABELS = {"namespace", "job", "pod", "instance", "service", "endpoint", "container"}


@pytest.fixture(scope="module")
def rules(tmp_path_factory) -> list[dict]:
    out = render(tmp_path_factory.mktemp("names"))
    groups = yaml.safe_load((out / "agent-rules.yml").read_text())["groups"]
    return [rule for group in groups for rule in group["rules"]]


@pytest.fixture(scope="module")
def rule_exprs(rules) -> list[str]:
    return [rule["expr"] for rule in rules]


@pytest.fixture(scope="module")
def recorded(rules) -> set[str]:
    """Series the recording rules (the SLOs') write: the alerts and the dashboard may read them."""
    return {rule["record"] for rule in rules if "record" in rule}


@pytest.fixture(scope="module")
def dashboard_exprs() -> list[str]:
    dash = json.loads(DASHBOARD.read_text())
    exprs = [t["expr"] for panel in dash["panels"] for t in panel["targets"]]
    exprs += [v["query"]["query"].removeprefix("label_values(").rsplit(",", 1)[0]
              for v in dash["templating"]["list"] if v["type"] == "query"]
    return exprs


@pytest.fixture(scope="module")
def library() -> AgentMetrics:
    return AgentMetrics()


def _library_labels(library: AgentMetrics) -> dict[str, set[str]]:
    """Series name -> label names, from the registry's own metric objects."""
    labels: dict[str, set[str]] = {}
    for metric in vars(library).values():
        names = getattr(metric, "_labelnames", None)
        if names is None or not hasattr(metric, "_name"):
            continue
        for series in library.exported_names():
            if series == metric._name or series.startswith(metric._name + "_"):
                extra = {"le"} if series.endswith("_bucket") else set()
                labels.setdefault(series, set()).update(names, extra)
    return labels


def test_extractor_finds_names_and_ignores_functions_labels_and_keywords():
    expr = ('sum by (namespace, job) (rate(agent_x_total{status=~"failed|timeout", a="b{c}"}[5m])) '
            '/ on (pod) group_left(node) max without (le) (kube_y) > 0.1 and absent(up{job="j"} == 1) '
            'or histogram_quantile(0.95, rate(z_bucket[$__rate_interval])) offset 5m')
    assert promql_metric_names(expr) == {"agent_x_total", "kube_y", "up", "z_bucket"}


def test_rules_read_only_names_the_library_or_known_exporters_export(rule_exprs, recorded, library):
    used = set().union(*(promql_metric_names(e) for e in rule_exprs))
    # a recorded series read by a rule is written by one (a typo reads nothing, silently)
    assert {n for n in used if ":" in n} <= recorded, f"read but never recorded: {sorted(used - recorded)}"
    # (the budget is for dashboards; the agent pods' GPU utilization for the autoscaling step)
    assert recorded <= used | {"slo:error_budget_remaining:ratio", "pod:dcgm_gpu_utilization:avg"}, \
        f"recorded, never read: {recorded - used}"
    agent_side = {n for n in used if n not in EXTERNAL and n not in recorded}
    assert agent_side, "the rules read no agent metric at all"
    missing = agent_side - library.exported_names()
    assert not missing, f"rules read names the agent runtime does not export: {sorted(missing)}"
    # and every external name is actually used (the list above holds no stale entries)
    assert set(EXTERNAL) <= used, f"unused external names: {set(EXTERNAL) - used}"


def test_dashboard_reads_only_exported_names(dashboard_exprs, recorded, library):
    used = set().union(*(promql_metric_names(e) for e in dashboard_exprs))
    missing = used - library.exported_names() - recorded
    assert not missing, f"dashboard reads names not exported by the runtime nor recorded: {sorted(missing)}"
    assert "agent_active_workflows" in used
    assert "slo:error_budget_remaining:ratio" in used  # the error-budget panel


def test_label_names_used_on_agent_metrics_exist(rule_exprs, dashboard_exprs, library):
    labels = _library_labels(library)
    for expr in rule_exprs + dashboard_exprs:
        for name, matchers in re.findall(r"\b(agent_[a-z0-9_]+)\{([^}]*)\}", expr):
            used = set(re.findall(r"([a-zA-Z_]\w*)\s*(?:=~|!~|!=|=)", matchers))
            unknown = used - labels.get(name, set()) - TARGET_LABELS
            assert not unknown, f"{name} has no label(s) {unknown} (in: {expr})"
        grouped = re.findall(r"\bby\s*\(([^)]*)\)\s*\(\s*(?:(?:rate|increase)\(\s*)?(agent_[a-z0-9_]+)", expr)
        for grouping, name in grouped:
            used = {label.strip() for label in grouping.split(",") if label.strip()}
            unknown = used - labels.get(name, set()) - TARGET_LABELS
            assert not unknown, f"{name} has no label(s) {unknown} to group by (in: {expr})"
    # the labels the rules group MCP latency by exist on the histogram
    assert {"server", "tool", "le"} <= labels["agent_mcp_tool_duration_seconds_bucket"]
    assert {"workflow_type", "status"} <= labels["agent_workflow_executions_total"]


def test_hpa_metric_name_is_the_one_the_autoscaler_reads(library):
    # The HPA of the autoscaling role reads the pods metric agent_active_workflows.
    assert "agent_active_workflows" in library.exported_names()


def test_mcp_latency_threshold_is_measurable_with_the_library_buckets():
    defaults = yaml.safe_load((ROOT / "roles/monitoring/defaults/main.yml").read_text())
    default = defaults["monitoring_mcp_latency_seconds"]
    largest_finite = max(b for b in MCP_TOOL_BUCKETS if b != float("inf"))
    assert default < largest_finite
    # the role refuses a threshold at or past the largest bucket: the bound it checks is this one
    assert largest_finite == monitoring_inputs.LARGEST_LATENCY_BUCKET
    assert any(m.startswith("monitoring_mcp_latency_seconds") for m in monitoring_inputs.check(
        {name: MISSING for name in monitoring_inputs.VARIABLES} | {"monitoring_mcp_latency_seconds": largest_finite}))


def test_slo_latency_bounds_are_the_library_workflow_buckets():
    """The latency SLO's bound must be a bucket of agent_workflow_duration_seconds: the role's list
    of them is the library's, and the default is one."""
    finite = tuple(b for b in WORKFLOW_BUCKETS if b != float("inf"))
    assert finite == monitoring_inputs.WORKFLOW_DURATION_BUCKETS
    defaults = yaml.safe_load((ROOT / "roles/monitoring/defaults/main.yml").read_text())
    assert defaults["monitoring_slo_latency_seconds"] in WORKFLOW_BUCKETS

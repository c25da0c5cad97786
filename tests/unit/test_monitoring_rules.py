"""The agent alert rules: promtool check and promtool unit tests (every alert firing when it
should and silent when it should not), and input validation of the monitoring role."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest
import yaml
from ansible_collections.agentic.platform.plugins.module_utils.slo import slo_rule_groups

from tests.monitoring_support import (
    ANSIBLE_PLAYBOOK,
    GPU_RULE_TESTS,
    RENDER_PLAYBOOK,
    ROOT,
    RULE_TESTS,
    SLO_RULE_TESTS,
    ansible_env,
    render,
)

PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"
ALERTS = {"AgentWorkflowFailureRatioHigh", "AgentMCPToolLatencyHigh", "AgentContainerMemoryNearLimit",
          "AgentCPUThrottlingHigh", "AgentTargetDown", "AgentTargetsAbsent", "AgentHPAAtMaxReplicas", "RedisDown",
          # the SLOs' burn-rate alerts (plugins/module_utils/slo.py), tested in SLO_RULE_TESTS
          "AgentAvailabilitySLOFastBurn", "AgentAvailabilitySLOSlowBurn", "AgentLatencySLOFastBurn",
          "AgentLatencySLOSlowBurn",
          # the GPU alerts on the DCGM exporter's series, tested in GPU_RULE_TESTS
          "GPUFatalXid", "GPUUncorrectableECCError", "GPURowRemapFailure", "GPUVanished", "GPUThermalThrottling",
          "GPUPowerThrottling"}
# The recording rules: per SLO, its error ratio over 8 windows and its remaining budget; the agent
# pods' GPU utilization.
RECORDS = 2 * (8 + 1) + 1


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    """The rules and manifests rendered with the role defaults."""
    return render(tmp_path_factory.mktemp("monitoring"))


def test_promtool_check_rules(rendered):
    res = subprocess.run([PROMTOOL, "check", "rules", str(rendered / "agent-rules.yml")],
                         capture_output=True, text=True, check=False)
    assert res.returncode == 0, res.stdout + res.stderr
    assert f"SUCCESS: {len(ALERTS) + RECORDS} rules found" in res.stdout


def test_promtool_unit_tests_cover_every_alert_firing_and_silent(rendered):
    cases = [case for path in (RULE_TESTS, SLO_RULE_TESTS, GPU_RULE_TESTS)
             for case in yaml.safe_load(path.read_text())["tests"]]
    firing, silent = set(), set()
    for case in cases:
        for check in case.get("alert_rule_test", []):
            (firing if check["exp_alerts"] else silent).add(check["alertname"])
    rules = yaml.safe_load((rendered / "agent-rules.yml").read_text())
    defined = {rule["alert"] for group in rules["groups"] for rule in group["rules"] if "alert" in rule}
    assert defined == ALERTS
    assert firing == defined, f"alerts never shown firing: {defined - firing}"
    assert silent == defined, f"alerts never shown silent: {defined - silent}"


@pytest.mark.parametrize("tests", [RULE_TESTS, SLO_RULE_TESTS, GPU_RULE_TESTS], ids=lambda path: path.name)
def test_promtool_test_rules(rendered, tests):
    shutil.copy(tests, rendered / tests.name)
    res = subprocess.run([PROMTOOL, "test", "rules", tests.name], cwd=rendered,
                         capture_output=True, text=True, check=False)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "SUCCESS" in res.stdout


def test_prometheusrule_spec_is_the_plain_rules_file(rendered):
    """One source: the PrometheusRule's spec equals the plain rules file, rule for rule."""
    plain = yaml.safe_load((rendered / "agent-rules.yml").read_text())
    rule = yaml.safe_load((rendered / "prometheusrule.yml").read_text())
    assert rule["kind"] == "PrometheusRule"
    assert rule["spec"] == plain


def test_slo_group_is_the_slo_functions_output(rendered):
    """The rules file holds slo_rule_groups' output verbatim (the end-to-end test runs the same
    function with a time scale): the role's defaults, time scale 1."""
    defaults = yaml.safe_load((ROOT / "roles/monitoring/defaults/main.yml").read_text())
    groups = yaml.safe_load((rendered / "agent-rules.yml").read_text())["groups"]
    expected = slo_rule_groups("agentic-ai-prod", defaults["monitoring_job"],
                               defaults["monitoring_slo_availability_percent"],
                               defaults["monitoring_slo_latency_percent"], defaults["monitoring_slo_latency_seconds"])
    assert [g for g in groups if g["name"] == "agentic-agent-slo"] == expected


def test_thresholds_flow_from_variables(tmp_path):
    out = render(tmp_path, monitoring_workflow_failure_ratio=0.25, monitoring_rate_window="10m",
                 monitoring_mcp_latency_seconds=30, agentic_namespace="team-a",
                 monitoring_slo_availability_percent=99.9, monitoring_slo_latency_seconds=2.5)
    groups = yaml.safe_load((out / "agent-rules.yml").read_text())["groups"]
    rules = {r["alert"]: r for g in groups for r in g["rules"] if "alert" in r}
    wf = rules["AgentWorkflowFailureRatioHigh"]["expr"]
    assert ") > 0.25" in wf and "[10m]" in wf and 'namespace="team-a"' in wf
    assert "> 30.0" in rules["AgentMCPToolLatencyHigh"]["expr"]
    fast = rules["AgentAvailabilitySLOFastBurn"]["expr"]
    assert "> 0.0144" in fast and 'namespace="team-a"' in fast  # 14.4 x the 0.1 % budget
    latency = [r["expr"] for g in groups for r in g["rules"] if r.get("labels", {}).get("slo") == "latency"]
    assert r'le=~"2\\.5"' in latency[0]
    assert yaml.safe_load((out / "prometheusrule.yml").read_text())["metadata"]["namespace"] == "team-a"


BAD_INPUTS = [
    ("monitoring_workflow_failure_ratio", 1.5),
    ("monitoring_workflow_failure_ratio", 0),
    ("monitoring_workflow_min_executions", 0),
    ("monitoring_mcp_latency_seconds", 300),
    ("monitoring_memory_ratio", 1.2),
    ("monitoring_cpu_throttling_ratio", -0.1),
    ("monitoring_rate_window", "5 minutes"),
    ("monitoring_workflow_failure_for", "1h30m"),
    ("monitoring_scrape_timeout", "1m"),
    ("monitoring_rate_window", "1m"),
    ("monitoring_job", 'mcp-agent"} or vector(1) #'),
    ("monitoring_service_selector", {}),
    ("monitoring_selector_labels", {"release": "not a label value!"}),
    ("monitoring_metrics_port", "HTTP_Metrics"),
    ("monitoring_metrics_path", "metrics"),
    ("monitoring_dashboard_namespace", "Monitoring"),
    ("monitoring_slo_availability_percent", 100),
    ("monitoring_slo_latency_seconds", 2),
]


@pytest.mark.parametrize(("variable", "value"), BAD_INPUTS, ids=[f"{v}={x!r}" for v, x in BAD_INPUTS])
def test_bad_input_fails_naming_the_variable(tmp_path, variable, value):
    out = tmp_path / "out"
    variables = {"agentic_namespace": "agentic-ai-prod", "monitoring_render_dir": str(out), variable: value}
    res = subprocess.run([str(ANSIBLE_PLAYBOOK), str(RENDER_PLAYBOOK), "-e", json.dumps(variables)],
                         cwd=ROOT, env=ansible_env(), capture_output=True, text=True, check=False)
    assert res.returncode != 0
    assert variable in res.stdout, res.stdout[-3000:]
    assert not out.exists(), "nothing may be written before validation passes"

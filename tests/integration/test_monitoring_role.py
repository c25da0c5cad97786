"""The monitoring role against the real local cluster: strict server-side validation of the
ServiceMonitor and PrometheusRule against the real prometheus-operator CRDs, idempotence,
check mode, labels, and a missing dashboard namespace refused before any write."""

from __future__ import annotations

import json
import re
import subprocess

import pytest
import yaml

from tests.monitoring_support import ANSIBLE_PLAYBOOK, CONVERGE_PLAYBOOK, ROOT, ansible_env, render

pytestmark = pytest.mark.cluster
LABELS = ("name", "instance", "version", "component", "part-of", "managed-by")


def converge(namespace: str, *extra: str, check: bool = True) -> subprocess.CompletedProcess:
    res = subprocess.run([str(ANSIBLE_PLAYBOOK), "-i", str(ROOT / "inventories" / "local"), str(CONVERGE_PLAYBOOK),
                          "-e", json.dumps({"agentic_namespace": namespace}), *extra],
                         cwd=ROOT, env=ansible_env(), capture_output=True, text=True, check=False)
    if check:
        assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-2000:]
    return res


def recap(res: subprocess.CompletedProcess) -> dict[str, int]:
    match = re.search(r"local\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", res.stdout)
    assert match, res.stdout[-2000:]
    return dict(zip(("ok", "changed", "unreachable", "failed"), map(int, match.groups()), strict=True))


def test_objects_pass_strict_server_side_validation(kubectl, namespace, tmp_path):
    out = render(tmp_path, agentic_namespace=namespace)
    for name in ("servicemonitor.yml", "prometheusrule.yml", "dashboard-configmap.yml"):
        res = kubectl.run("apply", "--server-side", "--dry-run=server", "--validate=strict",
                          "--field-manager=pytest", "-f", str(out / name), check=False)
        assert res.returncode == 0, f"{name}: {res.stderr}"
    # the strict check is real: an unknown field is refused, not silently pruned
    monitor = yaml.safe_load((out / "servicemonitor.yml").read_text())
    monitor["spec"]["endpoints"][0]["circuitBreaker"] = {"maxConnections": 1}
    res = kubectl.run("apply", "--server-side", "--dry-run=server", "--validate=strict", "--field-manager=pytest",
                      "-f", "-", input_text=json.dumps(monitor), check=False)
    assert res.returncode != 0 and "circuitBreaker" in res.stderr


def test_role_converges_idempotently_with_clean_check_mode(kubectl, namespace, tmp_path):
    rules_file = tmp_path / "agent-rules.yml"
    also_file = ("-e", f"monitoring_rules_file={rules_file}")
    first = converge(namespace, *also_file)
    assert recap(first)["changed"] >= 2 and recap(first)["failed"] == 0  # the objects and the rules file
    assert recap(converge(namespace, *also_file))["changed"] == 0
    assert recap(converge(namespace, "--check", "--diff", *also_file))["changed"] == 0

    monitor = kubectl.json("-n", namespace, "get", "servicemonitor", "mcp-agent", "--show-managed-fields")
    rule = kubectl.json("-n", namespace, "get", "prometheusrule", "mcp-agent", "--show-managed-fields")
    dashboard = kubectl.json("-n", namespace, "get", "configmap", "mcp-agent-dashboard", "--show-managed-fields")
    for obj in (monitor, rule, dashboard):
        labels = obj["metadata"]["labels"]
        assert all(f"app.kubernetes.io/{key}" in labels for key in LABELS), labels
        assert labels["app.kubernetes.io/managed-by"] == "agentic.platform"
        assert "kubectl.kubernetes.io/last-applied-configuration" not in obj["metadata"].get("annotations", {})
        managers = {m["manager"] for m in obj["metadata"]["managedFields"]}
        assert managers == {"agentic.platform"}
    assert monitor["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    assert rule["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    assert dashboard["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert json.loads(dashboard["data"]["mcp-agent.json"])["uid"] == "agentic-mcp-agent"
    alerts = {r["alert"] for g in rule["spec"]["groups"] for r in g["rules"] if "alert" in r}
    assert "AgentWorkflowFailureRatioHigh" in alerts and "RedisDown" in alerts
    assert "AgentAvailabilitySLOFastBurn" in alerts and "AgentLatencySLOSlowBurn" in alerts
    # Every rule reads the region's agent namespace, except the GPU alerts: a GPU belongs to a node
    # of the region's cluster, not to a namespace.
    for group in rule["spec"]["groups"]:
        for r in group["rules"]:
            if not (group["name"] == "agentic-gpu" and "alert" in r):
                assert f'namespace="{namespace}"' in r["expr"], (group["name"], r)
    # the plain rules file for setups without the operator is the same rules, and valid
    assert yaml.safe_load(rules_file.read_text()) == rule["spec"]
    check = subprocess.run(["promtool", "check", "rules", str(rules_file)], capture_output=True, text=True, check=False)
    assert check.returncode == 0, check.stdout + check.stderr

    # The ServiceMonitor selects the agent Service by its labels and its metrics port by name.
    kubectl.apply({"apiVersion": "v1", "kind": "Service",
                   "metadata": {"name": "mcp-agent", "namespace": namespace,
                                "labels": {"app.kubernetes.io/name": "mcp-agent"}},
                   "spec": {"selector": {"app.kubernetes.io/name": "mcp-agent"},
                            "ports": [{"name": "http", "port": 8080}, {"name": "http-metrics", "port": 9090}]}})
    selector = monitor["spec"]["selector"]["matchLabels"]
    label_selector = ",".join(f"{k}={v}" for k, v in selector.items())
    services = kubectl.json("-n", namespace, "get", "service", "-l", label_selector)["items"]
    assert [s["metadata"]["name"] for s in services] == ["mcp-agent"]
    port_names = {p["name"] for p in services[0]["spec"]["ports"]}
    assert monitor["spec"]["endpoints"][0]["port"] in port_names

    # A changed threshold is a change (and check mode reports it without making it).
    changed = converge(namespace, "--check", "-e", "monitoring_memory_ratio=0.7")
    assert recap(changed)["changed"] == 1
    assert "> 0.8" in json.dumps(kubectl.json("-n", namespace, "get", "prometheusrule", "mcp-agent")["spec"])


def test_missing_dashboard_namespace_fails_before_any_write(kubectl, namespace):
    res = converge(namespace, "-e", "monitoring_dashboard_namespace=no-such-grafana-ns", check=False)
    assert res.returncode != 0
    assert "monitoring_dashboard_namespace 'no-such-grafana-ns' does not exist" in res.stdout
    assert kubectl.json("-n", namespace, "get", "servicemonitor,prometheusrule")["items"] == []

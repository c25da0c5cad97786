"""Hostile values the input checks accept reach the real API server as the strings they were
(issue 11 item 13): the namespace step's labels and the monitoring step's annotation, rendered by
tests/support/rendering.py as the roles render them, applied server-side with strict validation."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

pytestmark = pytest.mark.cluster

ROOT = Path(__file__).resolve().parents[2]
# Accepted by the checks, and each one YAML would read as something else if pasted unquoted.
VALUES = {"namespace_owner": "no", "namespace_compliance": "on", "namespace_cost_center": "1e3",
          "agentic_part_of": "off", "agentic_version": "0o17",
          "monitoring_dashboard_folder": "Agents: #1 {prod} 'eu' \"ünï\" 😀"}


def test_accepted_hostile_values_are_stored_verbatim(kubectl):
    ns = f"t-render-{uuid.uuid4().hex[:6]}"
    overrides = {**VALUES, "agentic_namespace": ns}
    res = subprocess.run([sys.executable, str(ROOT / "tests" / "support" / "rendering.py"), "check",
                          json.dumps(overrides)], cwd=ROOT, capture_output=True, text=True, check=False)
    assert res.returncode == 0 and json.loads(res.stdout) == [], res.stdout + res.stderr[-2000:]
    res = subprocess.run([sys.executable, str(ROOT / "tests" / "support" / "rendering.py"), "render",
                          json.dumps(overrides)], cwd=ROOT, capture_output=True, text=True, check=True)
    objects = json.loads(res.stdout)
    namespace = objects["namespace/namespace.yaml.j2"][0]
    dashboard = objects["monitoring/dashboard-configmap.yml.j2"][0]
    try:
        for obj in (namespace, dashboard):
            applied = kubectl.apply(obj, "--validate=strict", check=False)
            assert applied.returncode == 0 and "Warning" not in applied.stderr, applied.stderr
        labels = kubectl.json("get", "namespace", ns)["metadata"]["labels"]
        assert {k: labels[k] for k in ("owner", "compliance", "cost-center")} == {
            "owner": "no", "compliance": "on", "cost-center": "1e3"}
        assert labels["app.kubernetes.io/version"] == "0o17" and labels["app.kubernetes.io/part-of"] == "off"
        stored = kubectl.json("-n", ns, "get", "configmap", "mcp-agent-dashboard")
        assert stored["metadata"]["annotations"]["grafana_folder"] == VALUES["monitoring_dashboard_folder"]
    finally:
        kubectl.run("delete", "namespace", ns, "--wait=false", check=False)

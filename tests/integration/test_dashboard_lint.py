"""The Grafana dashboard passes a real dashboard linter, and the linter refuses broken dashboards.

The linter is dashlint (localcluster/gomod/dashlint, built from its Go module by
localcluster.build): the dashboard decoded strictly into the Grafana Foundation SDK's dashboard
types, then Grafana dashboard-linter's rules re-implemented, PromQL parsed by Prometheus's parser.
Each broken copy below must fail with the rule that names its fault.
"""

from __future__ import annotations

import copy
import json
import subprocess
from pathlib import Path

import pytest

from localcluster import build

DASHBOARD = Path(__file__).resolve().parents[2] / "roles" / "monitoring" / "files" / "agent-dashboard.json"


@pytest.fixture(scope="module")
def dashlint():
    return build.build_component("dashlint") / "dashlint"


def lint(dashlint: Path, path: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(dashlint), str(path)], capture_output=True, text=True, timeout=60, check=False)


def test_dashboard_passes(dashlint):
    result = lint(dashlint, DASHBOARD)
    assert result.returncode == 0, result.stdout + result.stderr


def _unknown_field(d):
    d["panels"][0]["titel"] = "typo"


def _wrong_type(d):
    d["panels"][0]["gridPos"]["h"] = "eight"


def _bad_promql(d):
    d["panels"][1]["targets"][0]["expr"] = "sum by (status) (rate(agent_workflow_executions_total[$__rate_interval])"


def _rate_without_rate_interval(d):
    d["panels"][1]["targets"][0]["expr"] = "sum(rate(agent_workflow_executions_total[5m]))"


def _duplicate_panel_id(d):
    d["panels"][1]["id"] = d["panels"][0]["id"]


def _no_datasource_variable(d):
    d["templating"]["list"] = [v for v in d["templating"]["list"] if v["type"] != "datasource"]


def _fixed_panel_datasource(d):
    d["panels"][0]["datasource"]["uid"] = "prometheus-eu"


def _no_description(d):
    del d["panels"][0]["description"]


def _no_unit(d):
    d["panels"][0]["fieldConfig"]["defaults"].pop("unit", None)


def _invalid_unit(d):
    d["panels"][0]["fieldConfig"]["defaults"]["unit"] = "workflows"


def _unknown_target_field(d):
    d["panels"][0]["targets"][0]["exprr"] = "up"


def _bad_variable_query(d):
    d["templating"]["list"][1]["query"]["query"] = "label_values(agent_info{namespace=, namespace)"


def _variable_not_refreshed_on_time_change(d):
    d["templating"]["list"][1]["refresh"] = 1


@pytest.mark.parametrize(("breakage", "rule"), [
    (_unknown_field, "[schema] dashboard: panels[0].Panel: unexpected field 'titel'"),
    (_wrong_type, "[schema] dashboard: panels[0].gridPos.h"),
    (_unknown_target_field, "[schema] dashboard: panels[0].targets[0].Dataquery: unexpected field 'exprr'"),
    (_bad_promql, "[target-promql-rule] panel 2"),
    (_rate_without_rate_interval, "[target-rate-interval-rule] panel 2"),
    (_duplicate_panel_id, "[panel-id-unique-rule]"),
    (_no_datasource_variable, "[template-datasource-rule] dashboard: does not have a templated data source"),
    (_fixed_panel_datasource, "[panel-datasource-rule] panel 1"),
    (_no_description, "[panel-title-description-rule] panel 1"),
    (_no_unit, "[panel-units-rule] panel 1"),
    (_invalid_unit, "[panel-units-rule] panel 1"),
    (_bad_variable_query, "[template-label-promql-rule] template 'namespace'"),
    (_variable_not_refreshed_on_time_change, "[template-on-time-change-reload-rule] template 'namespace'"),
], ids=lambda v: v.__name__.strip("_") if callable(v) else "")
def test_broken_dashboard_fails(dashlint, tmp_path, breakage, rule):
    dashboard = copy.deepcopy(json.loads(DASHBOARD.read_text()))
    breakage(dashboard)
    broken = tmp_path / "dashboard.json"
    broken.write_text(json.dumps(dashboard))
    result = lint(dashlint, broken)
    assert result.returncode == 1, result.stdout + result.stderr
    assert rule in result.stdout, result.stdout

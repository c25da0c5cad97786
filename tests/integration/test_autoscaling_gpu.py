"""GPU-aware autoscaling against the real local cluster: the HPA and KEDA's ScaledObject read the
agent pods' GPU utilization (the monitoring step's recording rule over the DCGM exporter's series)
beside CPU, memory and workflows, and prometheus-adapter's rule publishes that series.

The adapter rule is evaluated the way prometheus-adapter evaluates it (its metricsQuery with the
series, the pods' label matchers and the group-by filled in) by promtool, over the monitoring
step's rules rendered from the same role defaults and input series shaped like the exporter's.
"""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest
import yaml
from scaling_mesh_support import changed_objects, converge, deployment

from tests.monitoring_support import render

pytestmark = pytest.mark.cluster

PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"
GPU = {"agent_gpu_count": 1}
KEDA = {"autoscaling_provider": "keda", "autoscaling_keda_wait": False}


@pytest.fixture
def agent(kubectl, namespace):
    kubectl.apply(deployment(), "-n", namespace)
    return namespace


def _gpu_metrics(spec: dict) -> list[dict]:
    return [m for m in spec["metrics"] if m["type"] == "Pods" and m["pods"]["metric"]["name"] == "dcgm_gpu_utilization"]


def test_hpa_scales_on_gpu_utilization_only_when_the_agent_has_gpus(kubectl, agent):
    first = converge(agent, extra={**GPU, "autoscaling_gpu_utilization": 60})
    assert first.rc == 0, first.output[-3000:]
    hpa = kubectl.json("-n", agent, "get", "hpa", "mcp-agent")
    # accepted by the real API server, and the real HPA controller could scale the target
    assert {c["type"]: c["status"] for c in hpa["status"]["conditions"]}["AbleToScale"] == "True"
    assert [m["type"] for m in hpa["spec"]["metrics"]] == ["Resource", "Resource", "Pods", "Pods"]
    assert [m["pods"]["target"] for m in _gpu_metrics(hpa["spec"])] == [{"type": "AverageValue", "averageValue": "60"}]
    again = converge(agent, extra={**GPU, "autoscaling_gpu_utilization": 60})
    assert again.rc == 0 and again.stats()["changed"] == 0, changed_objects(again)

    # Pods without GPUs: no GPU metric (one no pod reports would keep the HPA from scaling down).
    without = converge(agent)
    assert without.rc == 0, without.output[-3000:]
    assert _gpu_metrics(kubectl.json("-n", agent, "get", "hpa", "mcp-agent")["spec"]) == []


def test_scaledobject_with_the_gpu_trigger_passes_keda_crd_strict_validation(kubectl, agent):
    run = converge(agent, extra={**GPU, **KEDA})
    assert run.rc == 0, run.output[-3000:]
    so = kubectl.json("-n", agent, "get", "scaledobject", "mcp-agent", "-o", "json")
    queries = {t["metadata"]["query"]: t["metadata"]["threshold"] for t in so["spec"]["triggers"]
               if t["type"] == "prometheus"}
    gpu_query = f'sum(pod:dcgm_gpu_utilization:avg{{namespace="{agent}",pod=~"mcp-agent-.*"}})'
    assert queries[gpu_query] == "75"  # the source design's default threshold
    assert {t["type"] for t in so["spec"]["triggers"]} == {"prometheus", "cpu", "memory"} and len(queries) == 2
    # strict: the applied object, re-applied with --validate=strict against KEDA's CRD schema
    obj = {k: so[k] for k in ("apiVersion", "kind")} | {"metadata": {"name": "mcp-agent"}, "spec": so["spec"]}
    res = kubectl.run("apply", "--server-side", "--dry-run=server", "--validate=strict", "--field-manager=pytest",
                      "-n", agent, "-f", "-", input_text=json.dumps(obj), check=False)
    assert res.returncode == 0 and "unknown field" not in res.stderr and "Warning" not in res.stderr, res.stderr
    again = converge(agent, extra={**GPU, **KEDA})
    assert again.rc == 0 and again.stats()["changed"] == 0, changed_objects(again)


def _adapter_query(rule: dict, namespace: str, pods: list[str]) -> str:
    """The query prometheus-adapter sends for a Pods metric of these pods (its template fields)."""
    return (rule["metricsQuery"].replace("<<.Series>>", rule["seriesQuery"].split("{", 1)[0])
            .replace("<<.LabelMatchers>>", f'namespace="{namespace}",pod=~"{"|".join(pods)}"')
            .replace("<<.GroupBy>>", "pod"))


def test_adapter_rule_serves_the_recorded_gpu_utilization_per_pod(kubectl, agent, tmp_path):
    """The adapter's rule (from the applied ConfigMap) over the monitoring step's recording rule
    and DCGM-shaped series gives each agent pod the mean utilization of its GPUs."""
    assert converge(agent, extra=GPU).rc == 0
    config = kubectl.json("-n", agent, "get", "configmap", "prometheus-adapter-agentic-rules")["data"]["config.yaml"]
    rule = next(r for r in yaml.safe_load(config)["rules"] if r["name"]["as"] == "dcgm_gpu_utilization")
    out = render(tmp_path, agentic_namespace=agent)
    recorded = {r.get("record") for g in yaml.safe_load((out / "agent-rules.yml").read_text())["groups"]
                for r in g["rules"]}
    assert rule["seriesQuery"].split("{", 1)[0] in recorded

    def series(gpu: str, pod: str, container: str = "mcp-agent") -> str:
        return (f'DCGM_FI_DEV_GPU_UTIL{{gpu="{gpu}", UUID="GPU-{pod}-{gpu}", device="nvidia{gpu}", '
                f'modelName="NVIDIA H100 80GB HBM3", Hostname="gpu-node-1", DCGM_FI_DRIVER_VERSION="570.124.06", '
                f'pod="{pod}", namespace="{agent}", container="{container}"}}')

    pods = ["mcp-agent-1", "mcp-agent-2"]
    tests = {"rule_files": ["agent-rules.yml"], "evaluation_interval": "1m", "tests": [{
        "interval": "1m",
        "input_series": [{"series": series("0", pods[0]), "values": "90x5"},
                         {"series": series("1", pods[0]), "values": "50x5"},
                         {"series": series("0", pods[1]), "values": "20x5"},
                         # a sidecar's GPU in the same pod is not the agent's
                         {"series": series("1", pods[1], "sidecar"), "values": "100x5"},
                         {"series": series("0", "other-pod"), "values": "100x5"}],
        "promql_expr_test": [{"expr": _adapter_query(rule, agent, pods), "eval_time": "3m", "exp_samples": [
            {"labels": f'{{pod="{pods[0]}"}}', "value": 70}, {"labels": f'{{pod="{pods[1]}"}}', "value": 20}]}],
    }]}
    (out / "adapter.test.yml").write_text(yaml.safe_dump(tests))
    res = subprocess.run([PROMTOOL, "test", "rules", "adapter.test.yml"], cwd=out, capture_output=True, text=True,
                         check=False)
    assert res.returncode == 0, res.stdout + res.stderr

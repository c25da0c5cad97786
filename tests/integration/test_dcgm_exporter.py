"""The gpu_nodes step's DCGM exporter on the real local cluster: its DaemonSet lands only on GPU
nodes (the kwok GPU pool), tolerating their taint, with the exporter's pod mapping on; its Service
and its ServiceMonitor (the real monitoring.coreos.com CRD) pass strict server-side validation;
a second run changes nothing."""

from __future__ import annotations

import json

import pytest
import yaml
from site_support import run_site

pytestmark = pytest.mark.cluster

PLAY = """
- name: gpu_nodes with the DCGM exporter only
  hosts: agentic_regions
  gather_facts: false
  module_defaults:
    group/agentic.platform.platform:
      kubeconfig: "{{ agentic_kubeconfig }}"
      context: "{{ agentic_context | default(omit, true) }}"
  roles:
    - role: agentic.platform.agentic
    - role: agentic.platform.gpu_nodes
"""


def test_exporter_on_gpu_nodes_with_pod_mapping_strict_and_idempotent(kubectl, namespace, tmp_path):
    play = tmp_path / "play.yml"
    play.write_text(PLAY)
    # Only the exporter: the shared GPU nodes, the device plugin and the gate are other tests' business.
    extra = {"gpu_nodes_dcgm_exporter_enabled": True, "gpu_nodes_device_plugin_namespace": namespace,
             "gpu_nodes_device_plugin_enabled": False, "gpu_nodes_runtime_class_enabled": False,
             "gpu_nodes_manage_nodes": False, "gpu_nodes_gate_enabled": False,
             "gpu_nodes_dcgm_exporter_version": "4.2.3-4.1.3-ubuntu22.04"}
    vars_file = tmp_path / "vars.yml"
    vars_file.write_text(yaml.safe_dump(extra))
    run = run_site(None, "-e", f"@{vars_file}", playbook=play)
    assert run.rc == 0, run.output[-4000:]

    ds = kubectl.json("-n", namespace, "get", "daemonset", "dcgm-exporter")
    pod_spec = ds["spec"]["template"]["spec"]
    container = pod_spec["containers"][0]
    assert container["image"] == "nvcr.io/nvidia/k8s/dcgm-exporter:4.2.3-4.1.3-ubuntu22.04"
    env = {e["name"]: e.get("value", e.get("valueFrom")) for e in container["env"]}
    assert env["DCGM_EXPORTER_KUBERNETES"] == "true"
    assert env["NODE_NAME"] == {"fieldRef": {"apiVersion": "v1", "fieldPath": "spec.nodeName"}}
    assert {"name": "pod-resources", "mountPath": "/var/lib/kubelet/pod-resources", "readOnly": True} \
        in container["volumeMounts"]
    assert pod_spec["nodeSelector"] == {"nvidia.com/gpu.present": "true"}
    assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in pod_spec["tolerations"]

    # the DaemonSet controller places its pods: on every GPU node, on no other
    nodes = kubectl.json("get", "nodes")["items"]
    gpu = {n["metadata"]["name"] for n in nodes if n["metadata"]["labels"].get("nvidia.com/gpu.present") == "true"}
    assert gpu, "the local cluster has no GPU node"
    pods = kubectl.json("-n", namespace, "get", "pods", "-l", "app.kubernetes.io/name=dcgm-exporter")["items"]
    placed = {p["spec"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][
        "nodeSelectorTerms"][0]["matchFields"][0]["values"][0] for p in pods}
    assert placed == gpu

    monitor = kubectl.json("-n", namespace, "get", "servicemonitor", "dcgm-exporter")
    assert monitor["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    assert monitor["spec"]["endpoints"] == [{"port": "metrics", "interval": "15s", "honorLabels": True}]
    service = kubectl.json("-n", namespace, "get", "service", "dcgm-exporter")
    assert service["spec"]["selector"] == monitor["spec"]["selector"]["matchLabels"] == \
        ds["spec"]["selector"]["matchLabels"]

    for obj in (ds, service, monitor):
        live = {"apiVersion": obj["apiVersion"], "kind": obj["kind"],
                "metadata": {"name": obj["metadata"]["name"], "labels": obj["metadata"]["labels"]},
                "spec": {k: v for k, v in obj["spec"].items() if k not in ("clusterIP", "clusterIPs")}}
        res = kubectl.run("apply", "--server-side", "--dry-run=server", "--validate=strict", "--field-manager=pytest",
                          "-n", namespace, "-f", "-", input_text=json.dumps(live), check=False)
        assert res.returncode == 0 and "unknown field" not in res.stderr, f"{obj['kind']}: {res.stderr}"

    again = run_site(None, "-e", f"@{vars_file}", playbook=play)
    assert again.rc == 0 and again.stats()["changed"] == 0, again.changed_tasks()

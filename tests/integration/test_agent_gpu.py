"""The agent's rendered objects on the real local cluster: GPU placement and plain placement.

No playbook converge: the role's template is rendered by Ansible and applied server-side with
strict validation into a namespace of this test that enforces Pod Security `restricted`.
"""

from __future__ import annotations

import json

import pytest
from site_support import render_role_template

pytestmark = pytest.mark.cluster


def _deploy(kubectl, namespace: str, tmp_path, **variables) -> tuple[dict, list[dict]]:
    kubectl.run("label", "namespace", namespace, "pod-security.kubernetes.io/enforce=restricted", "--overwrite")
    kubectl.run("-n", namespace, "create", "serviceaccount", "mcp-agent")
    objects = render_role_template("agent", "agent.yml.j2", {
        "agentic_namespace": namespace, "agentic_region": "local", "agent_replicas": 2,
        "agent_pdb_min_available": 1, "agent_zones": ["local-1a", "local-1b", "local-1c"], **variables}, tmp_path)
    res = kubectl.apply({"apiVersion": "v1", "kind": "List", "items": objects}, "--validate=strict", check=False)
    assert res.returncode == 0 and "Warning" not in res.stderr, res.stderr
    kubectl.run("-n", namespace, "rollout", "status", "deploy/mcp-agent", "--timeout=120s")
    pods = kubectl.json("-n", namespace, "get", "pods", "-l", "app.kubernetes.io/name=mcp-agent")["items"]
    return next(o for o in objects if o["kind"] == "Deployment"), pods


def _node_labels(kubectl, name: str) -> dict:
    return kubectl.json("get", "node", name)["metadata"]["labels"]


def test_gpu_agents_land_on_gpu_nodes(kubectl, namespace, tmp_path):
    deploy, pods = _deploy(kubectl, namespace, tmp_path, agent_gpu_count=1)
    spec = deploy["spec"]["template"]["spec"]
    resources = spec["containers"][0]["resources"]
    assert resources["limits"]["nvidia.com/gpu"] == 1 and resources["requests"]["nvidia.com/gpu"] == 1
    assert spec["nodeSelector"] == {"nvidia.com/gpu.present": "true"}
    assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in spec["tolerations"]
    assert len(pods) == 2
    for pod in pods:
        assert _node_labels(kubectl, pod["spec"]["nodeName"]).get("nvidia.com/gpu.present") == "true"


def test_cpu_agents_spread_over_zones_off_gpu_nodes(kubectl, namespace, tmp_path):
    deploy, pods = _deploy(kubectl, namespace, tmp_path)
    spec = deploy["spec"]["template"]["spec"]
    assert "nvidia.com/gpu" not in json.dumps(spec["containers"][0]["resources"])
    assert "nodeSelector" not in spec and "tolerations" not in spec
    zones = {_node_labels(kubectl, p["spec"]["nodeName"])["topology.kubernetes.io/zone"] for p in pods}
    assert len(zones) == 2  # two replicas, maxSkew 1 across zones
    for pod in pods:
        assert _node_labels(kubectl, pod["spec"]["nodeName"]).get("nvidia.com/gpu.present") != "true"


def test_dra_agents_get_their_gpu_through_a_claim(kubectl, namespace, tmp_path):
    """agent_gpu_allocation dra: no nvidia.com/gpu request; a ResourceClaimTemplate (strict-validated)
    and a claim per pod that the real scheduler allocates on the GPU node it picks, from the
    ResourceSlices the local cluster's kwok GPU nodes publish."""
    from ansible_collections.agentic.platform.plugins.module_utils import gpu_dra
    device_class = f"{namespace}-gpu"
    kubectl.apply(gpu_dra.device_class(device_class))
    try:
        deploy, pods = _deploy(kubectl, namespace, tmp_path, agent_gpu_count=1, agent_gpu_allocation="dra",
                               agent_gpu_device_class=device_class)
        spec = deploy["spec"]["template"]["spec"]
        resources = spec["containers"][0]["resources"]
        assert "nvidia.com/gpu" not in json.dumps(resources) and resources["claims"] == [{"name": "gpu"}]
        assert spec["resourceClaims"] == [{"name": "gpu", "resourceClaimTemplateName": "mcp-agent-gpu"}]
        template = kubectl.json("-n", namespace, "get", "resourceclaimtemplate", "mcp-agent-gpu")
        assert template["spec"]["spec"]["devices"]["requests"][0]["exactly"]["deviceClassName"] == device_class
        assert len(pods) == 2
        claims = {c["metadata"]["ownerReferences"][0]["name"]: c
                  for c in kubectl.json("-n", namespace, "get", "resourceclaims")["items"]}
        for pod in pods:
            result = claims[pod["metadata"]["name"]]["status"]["allocation"]["devices"]["results"]
            assert [(r["driver"], r["pool"]) for r in result] == [("gpu.nvidia.com", pod["spec"]["nodeName"])]
    finally:
        kubectl.run("delete", "deviceclass", device_class, "--wait=false", check=False)

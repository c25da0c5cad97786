"""The objects a release step renders from the live ones: weights that sum to 100, the A/B
route, the canary beside the stable Deployment without sharing its ReplicaSets."""

from __future__ import annotations

import pytest
from ansible_collections.agentic.platform.plugins.module_utils.release import objects

HOST = "mcp-agent.ns.svc.cluster.local"


def live_vs() -> dict:
    dest = {"host": HOST, "port": {"number": 8080}}
    return {"apiVersion": "networking.istio.io/v1", "kind": "VirtualService",
            "metadata": {"name": "mcp-agent", "namespace": "ns", "resourceVersion": "9", "managedFields": []},
            "spec": {"hosts": [HOST], "http": [
                {"name": "api-v1", "match": [{"uri": {"prefix": "/api/v1"}}], "route": [{"destination": dest,
                                                                                        "weight": 100}],
                 "timeout": "30s"},
                {"name": "default", "route": [{"destination": {"host": HOST}}]}]}}


def live_deployment() -> dict:
    sel = {"app.kubernetes.io/name": "mcp-agent", "app.kubernetes.io/instance": "local"}
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "mcp-agent", "namespace": "ns", "uid": "x",
                         "annotations": {"deployment.kubernetes.io/revision": "3"},
                         "labels": {**sel, "app.kubernetes.io/version": "v1"}},
            "spec": {"replicas": 5, "selector": {"matchLabels": sel},
                     "template": {"metadata": {"labels": {**sel, "app.kubernetes.io/version": "v1"}},
                                  "spec": {"containers": [{"name": "mcp-agent", "image": "r/a:v1",
                                                           "envFrom": [{"configMapRef": {"name": "cfg"}}],
                                                           "env": [{"name": "A", "value": "1"}]}]}}},
            "status": {"replicas": 5}}


@pytest.mark.parametrize("weight", [0, 1, 5, 25, 50, 99, 100])
def test_weights_sum_to_100_on_every_route(weight):
    vs = objects.virtual_service(live_vs(), HOST, weight, "x-canary")
    for route in objects.weights(vs, HOST):
        assert sum(route.values()) == 100
        assert route.get("canary", 0) == weight
    assert "resourceVersion" not in vs["metadata"] and "managedFields" not in vs["metadata"]


def test_weight_zero_names_no_canary_and_has_no_ab_route():
    vs = objects.virtual_service(objects.virtual_service(live_vs(), HOST, 50, "x-canary"), HOST, 0, "x-canary")
    assert "canary" not in str(vs["spec"]["http"])
    assert [r["name"] for r in vs["spec"]["http"]] == ["api-v1", "default"]


def test_ab_header_routes_to_the_canary_first_whatever_the_weight():
    vs = objects.virtual_service(live_vs(), HOST, 5, "x-canary")
    first = vs["spec"]["http"][0]
    assert first["name"] == "release-ab-api-v1"
    assert first["match"] == [{"uri": {"prefix": "/api/v1"}, "headers": {"x-canary": {"exact": "canary"}}}]
    assert first["route"] == [{"destination": {"host": HOST, "port": {"number": 8080}, "subset": "canary"},
                               "weight": 100}]
    # applied twice: still one A/B route per route
    again = objects.virtual_service(vs, HOST, 25, "x-canary")
    assert [r["name"] for r in again["spec"]["http"]].count("release-ab-api-v1") == 1


def test_weight_out_of_range_refused():
    with pytest.raises(ValueError):
        objects.virtual_service(live_vs(), HOST, 101, None)


def test_canary_deployment_from_the_stable_one():
    release = {"version": "v2", "image": "r/a:v2", "model_version": "m-7", "config_snapshot": "cfg-abc"}
    canary = objects.canary_deployment(live_deployment(), release, "mcp-agent", 1)
    assert canary["metadata"]["name"] == "mcp-agent-canary"
    assert "status" not in canary and "uid" not in canary["metadata"] and "annotations" not in canary["metadata"]
    sel = canary["spec"]["selector"]["matchLabels"]
    labels = canary["spec"]["template"]["metadata"]["labels"]
    assert sel["agentic.platform/track"] == "canary" and all(labels[k] == v for k, v in sel.items())
    assert labels["app.kubernetes.io/version"] == "v2" and labels["agentic.platform/model-version"] == "m-7"
    c = canary["spec"]["template"]["spec"]["containers"][0]
    assert c["image"] == "r/a:v2" and c["envFrom"] == [{"configMapRef": {"name": "cfg-abc"}}]
    assert {"name": "AGENT_VERSION", "value": "v2"} in c["env"] and {"name": "A", "value": "1"} in c["env"]
    assert canary["spec"]["replicas"] == 1
    assert objects.release_of(canary, "mcp-agent") == release


def test_promoted_stable_is_a_partial_object():
    release = {"version": "v2", "image": "r/a:v2", "model_version": "", "config_snapshot": ""}
    partial = objects.promoted_stable(live_deployment(), release, "mcp-agent")
    c = partial["spec"]["template"]["spec"]["containers"]
    assert c == [{"name": "mcp-agent", "image": "r/a:v2", "env": [{"name": "AGENT_VERSION", "value": "v2"}]}]
    assert "replicas" not in partial["spec"]  # the autoscaler's


def test_destination_rule_subsets():
    dr = {"apiVersion": "networking.istio.io/v1", "kind": "DestinationRule",
          "metadata": {"name": "mcp-agent", "namespace": "ns"}, "spec": {"host": HOST}}
    out = objects.destination_rule(dr, "v1", "v2")
    assert out["spec"]["subsets"] == [{"name": "stable", "labels": {"app.kubernetes.io/version": "v1"}},
                                      {"name": "canary", "labels": {"app.kubernetes.io/version": "v2"}}]
    assert [s["name"] for s in objects.destination_rule(dr, "v2", None)["spec"]["subsets"]] == ["stable"]

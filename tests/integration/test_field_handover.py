"""k8s_apply's released_fields against the real API server and controllers: a field handed over
to another manager (the autoscaled agent's spec.replicas) is set once, then never reset, never
dropped back to its default, and owned by the step's field manager no more."""

from __future__ import annotations

import json

import pytest
from ansible_collections.agentic.platform.plugins.module_utils.kube_apply import run_apply
from ansible_collections.agentic.platform.plugins.module_utils.kube_client import KubeClient

pytestmark = pytest.mark.cluster

MAIN, HOLDER = "pytest-main", "pytest-main/replicas"
RELEASED = [{"kind": "Deployment", "name": "web", "path": "spec.replicas", "manager": HOLDER}]


@pytest.fixture
def client(kubectl) -> KubeClient:
    c = KubeClient.from_config(kubectl.kubeconfig)
    yield c
    c.close()


def deployment(replicas: int, image: str = "registry.example/web:1") -> dict:
    labels = {"app": "web"}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
            "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"containers": [{"name": "web", "image": image}]}}}}


def apply(client, namespace, obj, released=RELEASED, **kw) -> dict:
    return run_apply(client, [obj], field_manager=MAIN, namespace=namespace, released_fields=released, **kw)


def replicas_and_owners(kubectl, namespace) -> tuple[int, set[str]]:
    live = kubectl.json("-n", namespace, "get", "deploy", "web", "--show-managed-fields")
    owners = {m["manager"] for m in live["metadata"]["managedFields"] if m.get("subresource") != "status"
              and '"f:replicas"' in json.dumps(m.get("fieldsV1", {}).get("f:spec", {}))}
    return live["spec"]["replicas"], owners


def test_a_new_object_gets_the_first_value_under_the_holder(client, kubectl, namespace):
    created = apply(client, namespace, deployment(2), wait=True, wait_timeout=120)
    assert created["objects"] == [f"Deployment {namespace}/web created"]
    assert created["resources"][0]["spec"]["replicas"] == 2
    assert replicas_and_owners(kubectl, namespace) == (2, {HOLDER})
    # Another first value (the inventory changed) does not resize it: the field is not ours.
    again = apply(client, namespace, deployment(5))
    assert not again["changed"], again["objects"]
    assert replicas_and_owners(kubectl, namespace) == (2, {HOLDER})


def test_a_scaled_object_keeps_its_scale_and_the_rest_is_still_applied(client, kubectl, namespace):
    apply(client, namespace, deployment(2))
    kubectl.run("-n", namespace, "scale", "deploy/web", "--replicas=3")
    res = apply(client, namespace, deployment(2, image="registry.example/web:2"))
    assert res["objects"] == [f"Deployment {namespace}/web updated"]
    live = kubectl.json("-n", namespace, "get", "deploy", "web")
    assert live["spec"]["template"]["spec"]["containers"][0]["image"] == "registry.example/web:2"
    replicas, owners = replicas_and_owners(kubectl, namespace)
    assert replicas == 3 and MAIN not in owners


def test_a_field_only_the_step_held_is_handed_over_at_its_live_value(client, kubectl, namespace):
    apply(client, namespace, deployment(4), released=[])  # applied before the field was released
    assert replicas_and_owners(kubectl, namespace) == (4, {MAIN})
    dry = apply(client, namespace, deployment(2), check_mode=True, want_diff=True)
    assert not dry["changed"], dry.get("diff")
    assert replicas_and_owners(kubectl, namespace) == (4, {MAIN})
    handed = apply(client, namespace, deployment(2))
    assert not handed["changed"], handed["objects"]
    assert replicas_and_owners(kubectl, namespace) == (4, {HOLDER})  # not reset to its default, 1


def test_without_released_fields_the_step_takes_the_field_back(client, kubectl, namespace):
    apply(client, namespace, deployment(2))
    kubectl.run("-n", namespace, "scale", "deploy/web", "--replicas=3")
    res = apply(client, namespace, deployment(2), released=[])
    assert res["changed"]
    replicas, owners = replicas_and_owners(kubectl, namespace)
    assert replicas == 2 and MAIN in owners


def test_check_mode_shows_a_new_object_with_its_first_value(client, kubectl, namespace):
    dry = apply(client, namespace, deployment(2), check_mode=True)
    assert dry["objects"] == [f"Deployment {namespace}/web created"]
    assert dry["resources"][0]["spec"]["replicas"] == 2
    assert kubectl.run("-n", namespace, "get", "deploy", "web", check=False).returncode != 0

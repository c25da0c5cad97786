"""Fields as dotted paths and their owners in managedFields (k8s_apply's released_fields)."""

from __future__ import annotations

from ansible_collections.agentic.platform.plugins.module_utils.kube_apply import (
    MISSING,
    field_owners,
    get_path,
    partial,
    pop_path,
    releasing,
    set_path,
)

DEPLOYMENT = {"apiVersion": "apps/v1", "kind": "Deployment",
              "metadata": {"name": "web", "namespace": "ns", "labels": {"a": "b"}, "managedFields": [
                  {"manager": "agentic.platform", "operation": "Apply",
                   "fieldsV1": {"f:spec": {"f:template": {}, "f:selector": {}}}},
                  {"manager": "agentic.platform/replicas", "operation": "Apply",
                   "fieldsV1": {"f:spec": {"f:replicas": {}}}},
                  {"manager": "kube-controller-manager", "operation": "Update", "subresource": "status",
                   "fieldsV1": {"f:status": {"f:replicas": {}}, "f:spec": {"f:replicas": {}}}},
                  {"manager": "kubectl", "operation": "Update", "subresource": "scale",
                   "fieldsV1": {"f:spec": {"f:replicas": {}}}},
              ]},
              "spec": {"replicas": 3, "template": {}}}


def test_owners_of_a_field_without_status_entries():
    assert field_owners(DEPLOYMENT, "spec.replicas") == ["agentic.platform/replicas", "kubectl"]
    assert field_owners(DEPLOYMENT, "spec.template") == ["agentic.platform"]


def test_nobody_owns_a_missing_field_or_object():
    assert field_owners(DEPLOYMENT, "spec.paused") == []
    assert field_owners({}, "spec.replicas") == []
    assert field_owners(None, "spec.replicas") == []


def test_paths():
    obj = {"spec": {"replicas": 0}}
    assert get_path(obj, "spec.replicas") == 0
    assert get_path(obj, "spec.paused") is MISSING and get_path(obj, "status.x") is MISSING
    assert set_path(obj, "spec.strategy.type", "Recreate")["spec"]["strategy"] == {"type": "Recreate"}
    pop_path(obj, "spec.replicas")
    pop_path(obj, "status.replicas")  # nothing there: nothing to do
    assert obj == {"spec": {"strategy": {"type": "Recreate"}}}


def test_partial_object_is_the_identity_and_the_field():
    assert partial(DEPLOYMENT, "spec.replicas") == {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "ns"},
        "spec": {"replicas": 3}}


def test_released_fields_match_by_kind_and_name():
    fields = [{"kind": "Deployment", "name": None, "path": "spec.replicas", "manager": "m"},
              {"kind": "Deployment", "name": "other", "path": "spec.paused", "manager": "m"},
              {"kind": "StatefulSet", "name": "web", "path": "spec.replicas", "manager": "m"}]
    assert [f["path"] for f in releasing(DEPLOYMENT, fields)] == ["spec.replicas"]
    assert releasing(DEPLOYMENT, None) == []

"""The field_managers filter, on managedFields as the API server writes them."""

from __future__ import annotations

from ansible_collections.agentic.platform.plugins.filter.field_managers import field_managers

DEPLOYMENT = {"metadata": {"managedFields": [
    {"manager": "agentic.platform", "operation": "Apply",
     "fieldsV1": {"f:spec": {"f:template": {}, "f:selector": {}}}},
    {"manager": "agentic.platform/replicas", "operation": "Apply", "fieldsV1": {"f:spec": {"f:replicas": {}}}},
    {"manager": "kube-controller-manager", "operation": "Update", "subresource": "status",
     "fieldsV1": {"f:status": {"f:replicas": {}}, "f:spec": {"f:replicas": {}}}},
    {"manager": "kubectl", "operation": "Update", "subresource": "scale", "fieldsV1": {"f:spec": {"f:replicas": {}}}},
]}}


def test_owners_of_a_field_without_status_entries():
    assert field_managers(DEPLOYMENT, "spec.replicas") == ["agentic.platform/replicas", "kubectl"]
    assert field_managers(DEPLOYMENT, "spec.template") == ["agentic.platform"]


def test_nobody_owns_a_missing_field_or_object():
    assert field_managers(DEPLOYMENT, "spec.paused") == []
    assert field_managers({}, "spec.replicas") == []
    assert field_managers(None, "spec.replicas") == []

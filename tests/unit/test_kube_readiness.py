"""Readiness (the step's wait), Secret redaction and kubeconfig merging, without a cluster."""

from __future__ import annotations

import base64

import pytest
import yaml
from ansible_collections.agentic.platform.plugins.module_utils.kube_apply import (
    REDACTED,
    REDACTED_CHANGED,
    not_ready,
    redact,
)
from ansible_collections.agentic.platform.plugins.module_utils.kube_client import KubeError, load_kubeconfig


def deployment(**status) -> dict:
    return {"kind": "Deployment", "metadata": {"generation": 2}, "spec": {"replicas": 3},
            "status": {"observedGeneration": 2, **status}}


@pytest.mark.parametrize(("status", "reason"), [
    ({"replicas": 3, "updatedReplicas": 3, "availableReplicas": 3}, None),
    ({"replicas": 3, "updatedReplicas": 2, "availableReplicas": 3}, "2 of 3 replicas updated"),
    ({"replicas": 4, "updatedReplicas": 3, "availableReplicas": 3}, "1 old replicas pending termination"),
    ({"replicas": 3, "updatedReplicas": 3, "availableReplicas": 1}, "1 of 3 updated replicas available"),
    ({"observedGeneration": 1}, "the controller has not seen the latest spec yet"),
])
def test_deployment_readiness_follows_rollout_status(status, reason):
    assert not_ready(deployment(**status)) == reason


def test_a_stalled_rollout_is_fatal():
    stalled = deployment(conditions=[{"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded",
                                      "message": "ReplicaSet has timed out progressing"}])
    assert not_ready(stalled).endswith("(fatal)")


def test_other_kinds():
    sts = {"kind": "StatefulSet", "metadata": {}, "spec": {"replicas": 1},
           "status": {"readyReplicas": 1, "currentRevision": "a", "updateRevision": "b", "updatedReplicas": 0}}
    assert not_ready(sts) == "0 of 1 replicas updated"
    assert not_ready(dict(sts, status={**sts["status"], "currentRevision": "b"})) is None
    quota = {"kind": "ResourceQuota", "spec": {"hard": {"pods": "1"}}, "status": {}}
    assert not_ready(quota) == "the quota is not counted yet"
    hpa = {"kind": "HorizontalPodAutoscaler", "status": {"conditions": [{"type": "AbleToScale", "status": "True"}]}}
    assert not_ready(hpa) is None
    assert not_ready({"kind": "ConfigMap"}) is None
    assert not_ready(None) == "does not exist"
    assert not_ready({"kind": "X", "status": {"conditions": [{"type": "Ready", "status": "False"}]}},
                     {"type": "Ready", "status": "True"}) == "condition Ready is not True"


def test_secret_values_are_redacted_with_a_changed_marker():
    old = {"kind": "Secret", "metadata": {"name": "s", "managedFields": [{}], "resourceVersion": "1"},
           "data": {"a": base64.b64encode(b"one").decode(), "b": base64.b64encode(b"two").decode()}}
    new = {"kind": "Secret", "metadata": {"name": "s"}, "data": {"a": old["data"]["a"]}, "stringData": {"b": "three"}}
    assert redact(new, old)["data"] == {"a": REDACTED, "b": REDACTED_CHANGED}
    assert "stringData" not in redact(new, old)
    assert redact(old)["metadata"] == {"name": "s"}


def test_kubeconfig_files_merge_first_wins(tmp_path):
    def config(path, server, current=None):
        path.write_text(yaml.safe_dump({
            "current-context": current, "clusters": [{"name": "c", "cluster": {"server": server}}],
            "users": [{"name": "u", "user": {"token": "t"}}],
            "contexts": [{"name": "ctx", "context": {"cluster": "c", "user": "u", "namespace": "n"}}]}))
        return str(path)
    first, second = config(tmp_path / "a", "https://first:6443"), config(tmp_path / "b", "https://second:6443", "ctx")
    cfg = load_kubeconfig(f"{first}:{second}")
    assert (cfg["server"], cfg["namespace"], cfg["user"]) == ("https://first:6443", "n", {"token": "t"})
    with pytest.raises(KubeError, match="context 'other' is not in the kubeconfig"):
        load_kubeconfig(first, "other")

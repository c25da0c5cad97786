"""The gpu_nodes step's taint merge (the same merge runs against the real API server in
tests/integration/test_gpu_cluster.py)."""

from __future__ import annotations

from ansible_collections.agentic.platform.plugins.module_utils.gpu_node_taints import (
    OWNED_ANNOTATION,
    merged_taints,
)

GPU = {"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}
OUT_OF_SERVICE = {"key": "node.kubernetes.io/out-of-service", "value": "nodeshutdown", "effect": "NoExecute",
                  "timeAdded": "2026-11-30T22:00:00Z"}
UNREACHABLE = {"key": "node.kubernetes.io/unreachable", "effect": "NoExecute", "timeAdded": "2026-11-30T22:01:00Z"}
ROLE = {"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}
CLOUD = {"key": "node.cloudprovider.kubernetes.io/uninitialized", "value": "true", "effect": "NoSchedule"}
OPERATOR = {"key": "maintenance", "value": "disk", "effect": "PreferNoSchedule"}


def node(taints, owned=None):
    meta = {"name": "gpu-0", "annotations": {OWNED_ANNOTATION: owned} if owned is not None else {}}
    return {"metadata": meta, "spec": {"taints": taints}}


def test_every_other_owners_taint_is_kept_as_it_is():
    others = [OUT_OF_SERVICE, UNREACHABLE, ROLE, CLOUD, OPERATOR]
    res = merged_taints(node(others), [GPU])
    assert res["taints"] == [*others, GPU]
    assert res["annotations"] == {OWNED_ANNOTATION: "nvidia.com/gpu:NoSchedule"}


def test_second_run_is_the_same_list():
    first = merged_taints(node([UNREACHABLE]), [GPU])
    again = merged_taints(node(first["taints"], first["annotations"][OWNED_ANNOTATION]), [GPU])
    assert again == first


def test_a_taint_added_by_another_owner_later_keeps_the_order():
    first = merged_taints(node([OPERATOR]), [GPU])
    live = [*first["taints"], OUT_OF_SERVICE]  # node controller / operator appended theirs
    assert merged_taints(node(live, first["annotations"][OWNED_ANNOTATION]), [GPU])["taints"] == live


def test_a_taint_removed_from_the_pool_is_removed_others_stay():
    dedicated = {"key": "dedicated", "value": "gpu", "effect": "NoExecute"}
    live = [OUT_OF_SERVICE, GPU, dedicated, OPERATOR]
    res = merged_taints(node(live, "dedicated:NoExecute,nvidia.com/gpu:NoSchedule"), [GPU])
    assert res["taints"] == [OUT_OF_SERVICE, GPU, OPERATOR]
    assert res["annotations"] == {OWNED_ANNOTATION: "nvidia.com/gpu:NoSchedule"}


def test_same_key_with_another_effect_is_not_ours():
    """Key and effect identify a taint: nvidia.com/gpu:NoExecute of someone else stays."""
    theirs = {"key": "nvidia.com/gpu", "effect": "NoExecute"}
    res = merged_taints(node([theirs], "nvidia.com/gpu:NoSchedule"), [GPU])
    assert res["taints"] == [theirs, GPU]


def test_a_changed_value_replaces_ours_in_place():
    res = merged_taints(node([OPERATOR, GPU], "nvidia.com/gpu:NoSchedule"), [{**GPU, "value": "h200"}])
    assert res["taints"] == [OPERATOR, {**GPU, "value": "h200"}]


def test_pool_without_taints_removes_only_its_own():
    res = merged_taints(node([GPU, UNREACHABLE], "nvidia.com/gpu:NoSchedule"), [])
    assert res == {"taints": [UNREACHABLE], "annotations": {OWNED_ANNOTATION: ""}}


def test_values_are_strings_and_empty_values_are_omitted():
    res = merged_taints(node(None), [{"key": "k", "value": 1, "effect": "NoSchedule"},
                                     {"key": "j", "value": "", "effect": "NoSchedule"}])
    assert res["taints"] == [{"key": "k", "effect": "NoSchedule", "value": "1"}, {"key": "j", "effect": "NoSchedule"}]

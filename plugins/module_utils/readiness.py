"""What "ready" means for each kind: one table (``RULES``) used by every wait of the collection
(a step's ``k8s_apply`` wait, the rollout a secret rotation waits for).

Workloads follow ``kubectl rollout status``. A rule returns why the object is not ready yet, or
None; a reason ending in ``FATAL`` cannot resolve by waiting.
"""

from __future__ import annotations

FATAL = " (fatal)"


def _conditions(obj: dict) -> dict[str, dict]:
    return {c.get("type"): c for c in (obj.get("status") or {}).get("conditions") or []}


def _condition_true(name: str):
    def rule(obj: dict, spec: dict, status: dict) -> str | None:
        found = _conditions(obj).get(name) or {}
        return None if found.get("status") == "True" else f"condition {name} is not True"
    return rule


def _deployment(obj: dict, spec: dict, status: dict) -> str | None:
    progressing = _conditions(obj).get("Progressing") or {}
    if progressing.get("reason") == "ProgressDeadlineExceeded":
        return f"rollout stalled: {progressing.get('message', '')}{FATAL}"
    want = spec.get("replicas", 1)
    if status.get("updatedReplicas", 0) < want:
        return f"{status.get('updatedReplicas', 0)} of {want} replicas updated"
    if status.get("replicas", 0) > status.get("updatedReplicas", 0):
        return f"{status.get('replicas', 0) - status.get('updatedReplicas', 0)} old replicas pending termination"
    if status.get("availableReplicas", 0) < status.get("updatedReplicas", 0):
        return f"{status.get('availableReplicas', 0)} of {want} updated replicas available"
    return None


def _statefulset(obj: dict, spec: dict, status: dict) -> str | None:
    want = spec.get("replicas", 1)
    if status.get("readyReplicas", 0) < want:
        return f"{status.get('readyReplicas', 0)} of {want} replicas ready"
    strategy = (spec.get("updateStrategy") or {}).get("type", "RollingUpdate")
    if strategy == "RollingUpdate" and status.get("updateRevision") != status.get("currentRevision"):
        return f"{status.get('updatedReplicas', 0)} of {want} replicas updated"
    return None


def _daemonset(obj: dict, spec: dict, status: dict) -> str | None:
    want = status.get("desiredNumberScheduled", 0)
    if status.get("updatedNumberScheduled", 0) < want or status.get("numberAvailable", 0) < want:
        return f"{status.get('numberAvailable', 0)} of {want} daemon pods available"
    return None


def _resourcequota(obj: dict, spec: dict, status: dict) -> str | None:
    # quota admission refuses pods until the quota is counted
    if set(status.get("hard") or {}) != set(spec.get("hard") or {}):
        return "the quota is not counted yet"
    return None


def _namespace(obj: dict, spec: dict, status: dict) -> str | None:
    return None if status.get("phase") == "Active" else f"phase {status.get('phase')}"


RULES = {
    "Deployment": _deployment,
    "StatefulSet": _statefulset,
    "DaemonSet": _daemonset,
    "ResourceQuota": _resourcequota,
    "Namespace": _namespace,
    # Without metrics an HPA is not ScalingActive, but AbleToScale once it can read and update
    # the target's scale: the target exists and the HPA works.
    "HorizontalPodAutoscaler": _condition_true("AbleToScale"),
    "ScaledObject": _condition_true("Ready"),
}
READY_KINDS = frozenset(RULES)
WORKLOADS = frozenset(("Deployment", "StatefulSet", "DaemonSet"))


def not_ready(obj: dict | None, condition: dict | None = None) -> str | None:
    """Why the object is not ready yet, or None when it is: the kind's rule of ``RULES``, or
    ``condition`` ({type, status}) when given (kinds without a rule are ready once they exist)."""
    if obj is None:
        return "does not exist"
    if condition:
        found = _conditions(obj).get(condition["type"])
        if not found or found.get("status") != condition.get("status", "True"):
            return f"condition {condition['type']} is not {condition.get('status', 'True')}"
        return None
    kind, meta = obj.get("kind"), obj.get("metadata") or {}
    status = obj.get("status") or {}
    if kind in WORKLOADS and status.get("observedGeneration", 0) < meta.get("generation", 0):
        return "the controller has not seen the latest spec yet"
    rule = RULES.get(kind)
    return rule(obj, obj.get("spec") or {}, status) if rule else None

"""Kubernetes side of a rotation: the Secret (values + phase annotations), rolling the
Deployments that mount it, and the durable audit objects (ConfigMap, Event)."""

from __future__ import annotations

import json
import time
from typing import Any

from .common import (
    SECRETS_VERSION_ANNOTATION,
    RotationError,
    b64,
    iso,
    unb64,
    utcnow,
)

try:  # the kubernetes client is a documented requirement of the module
    from kubernetes import client as k8s
    from kubernetes.client.rest import ApiException
except ImportError:  # pragma: no cover - reported by the module as a missing requirement
    k8s = None
    ApiException = Exception

COLLECTION_VERSION = "0.1.0"
AUDIT_CONFIGMAP = "agentic-rotation-audit"
AUDIT_KEY_SECRET = "agentic-rotation-audit-key"  # noqa: S105 - a name, not a value
AUDIT_CONFIGMAP_MAX_RECORDS = 200


class ConflictError(RotationError):
    """The Secret's resourceVersion moved under us."""


def _labels(component: str, part_of: str) -> dict[str, str]:
    return {
        "app.kubernetes.io/name": "secret-rotation",
        "app.kubernetes.io/instance": "secret-rotation",
        "app.kubernetes.io/version": COLLECTION_VERSION,
        "app.kubernetes.io/component": component,
        "app.kubernetes.io/part-of": part_of,
        "app.kubernetes.io/managed-by": "agentic.platform",
    }


class Kube:
    """A thin wrapper over the kubernetes client for the objects a rotation touches."""

    def __init__(self, api_client, namespace: str, field_manager: str, part_of: str = "agentic-platform"):
        self.core = k8s.CoreV1Api(api_client)
        self.apps = k8s.AppsV1Api(api_client)
        self.namespace = namespace
        self.field_manager = field_manager
        self.part_of = part_of

    # ---- the rotated Secret -------------------------------------------------------------
    def read_secret(self, name: str) -> dict[str, Any]:
        """The Secret as {'rv', 'labels', 'annotations', 'data' (decoded), 'created'}."""
        try:
            obj = self.core.read_namespaced_secret(name, self.namespace)
        except ApiException as exc:
            if getattr(exc, "status", None) == 404:
                raise RotationError(f"Secret {self.namespace}/{name} does not exist") from None
            raise RotationError(f"reading Secret {self.namespace}/{name} failed: HTTP {exc.status}") from None
        meta = obj.metadata
        return {
            "name": name,
            "rv": meta.resource_version,
            "labels": dict(meta.labels or {}),
            "annotations": dict(meta.annotations or {}),
            "data": {k: unb64(v) for k, v in (obj.data or {}).items()},
            "created": meta.creation_timestamp,
            "uid": meta.uid,
        }

    def patch_secret(self, name: str, rv: str, *, data: dict[str, str | None] | None = None,
                     annotations: dict[str, str | None] | None = None) -> dict[str, Any]:
        """One atomic JSON merge patch guarded by resourceVersion (409 if someone else wrote)."""
        body: dict[str, Any] = {"metadata": {"resourceVersion": rv}}
        if annotations:
            body["metadata"]["annotations"] = annotations
        if data:
            body["data"] = {k: (None if v is None else b64(v)) for k, v in data.items()}
        try:
            self.core.patch_namespaced_secret(name, self.namespace, body, field_manager=self.field_manager,
                                              _content_type="application/merge-patch+json")
        except ApiException as exc:
            if getattr(exc, "status", None) == 409:
                raise ConflictError(
                    f"Secret {self.namespace}/{name} changed while rotating (another rotation or writer); "
                    "re-run to resume") from None
            raise RotationError(f"updating Secret {self.namespace}/{name} failed: HTTP {exc.status}") from None
        return self.read_secret(name)

    # ---- rolling the pods that mount the Secret -------------------------------------------
    def deployment_exists(self, name: str) -> bool:
        try:
            self.apps.read_namespaced_deployment(name, self.namespace)
        except ApiException as exc:
            if getattr(exc, "status", None) == 404:
                return False
            raise RotationError(f"reading Deployment {self.namespace}/{name} failed: HTTP {exc.status}") from None
        return True

    def roll_deployment(self, name: str, version: str) -> bool:
        """Set the pod-template annotation; returns True when that changed the template."""
        dep = self.apps.read_namespaced_deployment(name, self.namespace)
        current = (dep.spec.template.metadata.annotations or {}).get(SECRETS_VERSION_ANNOTATION)
        if current == version:
            return False
        body = {"spec": {"template": {"metadata": {"annotations": {SECRETS_VERSION_ANNOTATION: version}}}}}
        try:
            self.apps.patch_namespaced_deployment(name, self.namespace, body, field_manager=self.field_manager)
        except ApiException as exc:
            raise RotationError(f"rolling Deployment {self.namespace}/{name} failed: HTTP {exc.status}") from None
        return True

    def rollout_state(self, name: str, version: str) -> tuple[bool, str]:
        """(done, why-not): Available, every replica updated, and no pod left on the old template."""
        dep = self.apps.read_namespaced_deployment(name, self.namespace)
        spec_replicas = dep.spec.replicas if dep.spec.replicas is not None else 1
        st = dep.status
        if (st.observed_generation or 0) < (dep.metadata.generation or 0):
            return False, "controller has not observed the new template yet"
        conds = {c.type: c for c in (st.conditions or [])}
        if "Progressing" in conds and conds["Progressing"].reason == "ProgressDeadlineExceeded":
            raise RotationError(f"Deployment {self.namespace}/{name} exceeded its progress deadline")
        updated, available, total = st.updated_replicas or 0, st.available_replicas or 0, st.replicas or 0
        if updated < spec_replicas or available < spec_replicas or total > updated:
            return False, f"{updated}/{spec_replicas} updated, {available} available, {total} total"
        if spec_replicas > 0 and ("Available" not in conds or conds["Available"].status != "True"):
            return False, "not Available"
        selector = ",".join(f"{k}={v}" for k, v in (dep.spec.selector.match_labels or {}).items())
        pods = self.core.list_namespaced_pod(self.namespace, label_selector=selector).items
        stale = [p.metadata.name for p in pods
                 if (p.metadata.annotations or {}).get(SECRETS_VERSION_ANNOTATION) != version]
        if stale:
            return False, f"{len(stale)} pod(s) still on the old template"
        return True, "complete"

    def wait_rollout(self, name: str, version: str, timeout: float, interval: float = 1.0) -> None:
        deadline = time.monotonic() + timeout
        why = ""
        while time.monotonic() < deadline:
            done, why = self.rollout_state(name, version)
            if done:
                return
            time.sleep(interval)
        raise RotationError(f"Deployment {self.namespace}/{name} did not finish rolling out within "
                            f"{timeout:g}s ({why}); the old credential is kept")

    # ---- audit objects ----------------------------------------------------------------------
    def audit_key(self, create: bool) -> bytes | None:
        """The HMAC key for fingerprints, kept in its own Secret (created on first use)."""
        try:
            obj = self.core.read_namespaced_secret(AUDIT_KEY_SECRET, self.namespace)
            return unb64((obj.data or {}).get("hmac-key")).encode() if (obj.data or {}).get("hmac-key") else None
        except ApiException as exc:
            if getattr(exc, "status", None) != 404:
                raise RotationError(
                    f"reading Secret {self.namespace}/{AUDIT_KEY_SECRET} failed: HTTP {exc.status}") from None
        if not create:
            return None
        import secrets as _secrets

        key = _secrets.token_urlsafe(32)
        body = {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                "metadata": {"name": AUDIT_KEY_SECRET, "namespace": self.namespace,
                             "labels": _labels("rotation-audit-key", self.part_of)},
                "data": {"hmac-key": b64(key)}}
        try:
            self.core.create_namespaced_secret(self.namespace, body, field_manager=self.field_manager)
        except ApiException as exc:
            if getattr(exc, "status", None) == 409:  # created concurrently: use theirs
                return self.audit_key(create=False)
            raise RotationError(
                f"creating Secret {self.namespace}/{AUDIT_KEY_SECRET} failed: HTTP {exc.status}") from None
        return key.encode()

    def record_audit(self, record: dict[str, Any]) -> None:
        """Append a record to the ConfigMap agentic-rotation-audit (newest N kept)."""
        key = f"{record['finished'].replace(':', '')}.{record['key']}.{record['rotation_id']}.json"
        text = json.dumps(record, sort_keys=True)
        try:
            cm = self.core.read_namespaced_config_map(AUDIT_CONFIGMAP, self.namespace)
        except ApiException as exc:
            if getattr(exc, "status", None) != 404:
                raise
            body = {"apiVersion": "v1", "kind": "ConfigMap",
                    "metadata": {"name": AUDIT_CONFIGMAP, "namespace": self.namespace,
                                 "labels": _labels("rotation-audit", self.part_of)},
                    "data": {key: text}}
            self.core.create_namespaced_config_map(self.namespace, body, field_manager=self.field_manager)
            return
        data = dict(cm.data or {})
        patch: dict[str, Any] = {key: text}
        keys = sorted([*data, key])
        for old in keys[:-AUDIT_CONFIGMAP_MAX_RECORDS]:
            patch[old] = None
        self.core.patch_namespaced_config_map(
            AUDIT_CONFIGMAP, self.namespace,
            {"metadata": {"resourceVersion": cm.metadata.resource_version}, "data": patch},
            field_manager=self.field_manager, _content_type="application/merge-patch+json")

    def emit_event(self, secret: dict[str, Any], reason: str, message: str, warning: bool = False) -> None:
        now = utcnow()
        body = {
            "apiVersion": "v1", "kind": "Event",
            "metadata": {"generateName": f"{secret['name']}.rotation.", "namespace": self.namespace,
                         "labels": _labels("rotation-audit", self.part_of)},
            "involvedObject": {"apiVersion": "v1", "kind": "Secret", "name": secret["name"],
                               "namespace": self.namespace, "uid": secret.get("uid")},
            "reason": reason, "message": message[:1000], "type": "Warning" if warning else "Normal",
            "source": {"component": "agentic.platform/secret_rotation"},
            "reportingComponent": "agentic.platform/secret_rotation",
            "reportingInstance": "secret_rotation",
            "firstTimestamp": iso(now), "lastTimestamp": iso(now), "count": 1,
        }
        self.core.create_namespaced_event(self.namespace, body)

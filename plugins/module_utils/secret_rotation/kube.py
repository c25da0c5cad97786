"""Kubernetes side of a rotation, over the collection's client (``kube_client.KubeClient``): the
Secret (values + phase annotations), the per-Secret lock (a Lease), rolling the Deployments that
mount the Secret, and the durable audit objects (ConfigMap, Event)."""

from __future__ import annotations

import base64
import contextlib
import datetime as _dt
import json
import os
import secrets
import socket
import threading
from typing import Any
from urllib.parse import quote

from ansible_collections.agentic.platform.plugins.module_utils.kube_client import ApiError, KubeClient, KubeError
from ansible_collections.agentic.platform.plugins.module_utils.poll import poll
from ansible_collections.agentic.platform.plugins.module_utils.readiness import FATAL, not_ready

from .common import (
    SECRETS_VERSION_ANNOTATION,
    RotationError,
    b64,
    iso,
    parse_iso,
    unb64,
    utcnow,
)

COLLECTION_VERSION = "0.1.0"
AUDIT_CONFIGMAP = "agentic-rotation-audit"
AUDIT_KEY_SECRET = "agentic-rotation-audit-key"  # noqa: S105 - a name, not a value
AUDIT_KEY_DATA = "hmac-key"
AUDIT_CONFIGMAP_MAX_RECORDS = 200
# The lock of a Secret: held this long without renewal, renewed three times as often, so a run
# that dies (kill -9, a node lost) blocks the next one at most this long.
LEASE_SECONDS = 30
ACTOR_ANNOTATION = "rotation.agentic.platform/actor"
MERGE_PATCH = "application/merge-patch+json"


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


def _micro(ts: _dt.datetime) -> str:
    """A Lease MicroTime."""
    return ts.astimezone(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class Kube:
    """The calls a rotation makes, each turning API errors into a RotationError that names the object."""

    def __init__(self, client: KubeClient, namespace: str, field_manager: str, part_of: str = "agentic-platform"):
        self.client = client
        self.namespace = namespace
        self.field_manager = field_manager
        self.part_of = part_of
        ns = quote(namespace, safe="")
        self._core = f"/api/v1/namespaces/{ns}"
        self._apps = f"/apis/apps/v1/namespaces/{ns}"
        self._leases = f"/apis/coordination.k8s.io/v1/namespaces/{ns}/leases"

    def _call(self, what: str, method: str, path: str, query: dict | None = None, body=None,
              content_type: str = "application/json", missing_ok: bool = False) -> dict | None:
        try:
            return self.client.call(method, path, query, body, content_type=content_type)
        except ApiError as exc:
            if missing_ok and exc.status == 404:
                return None
            if exc.status == 409:
                raise ConflictError(f"{what} failed: HTTP 409 (changed or created by another writer)") from None
            raise RotationError(f"{what} failed: HTTP {exc.status} {exc.reason}") from None
        except KubeError as exc:
            raise RotationError(f"{what} failed: {exc}") from None

    # ---- the rotated Secret -------------------------------------------------------------
    @staticmethod
    def _secret(obj: dict) -> dict[str, Any]:
        meta = obj.get("metadata") or {}
        return {
            "name": meta.get("name"),
            "rv": meta.get("resourceVersion"),
            "labels": dict(meta.get("labels") or {}),
            "annotations": dict(meta.get("annotations") or {}),
            "data": {k: unb64(v) for k, v in (obj.get("data") or {}).items()},
            "created": parse_iso(meta.get("creationTimestamp")),
            "uid": meta.get("uid"),
        }

    def read_secret(self, name: str) -> dict[str, Any]:
        """The Secret as {'rv', 'labels', 'annotations', 'data' (decoded), 'created'}."""
        obj = self._call(f"reading Secret {self.namespace}/{name}", "GET", f"{self._core}/secrets/{quote(name)}",
                         missing_ok=True)
        if obj is None:
            raise RotationError(f"Secret {self.namespace}/{name} does not exist")
        return self._secret(obj)

    def patch_secret(self, name: str, rv: str, *, data: dict[str, str | None] | None = None,
                     annotations: dict[str, str | None] | None = None) -> dict[str, Any]:
        """One atomic JSON merge patch guarded by resourceVersion (ConflictError if someone else wrote)."""
        body: dict[str, Any] = {"metadata": {"resourceVersion": rv}}
        if annotations:
            body["metadata"]["annotations"] = annotations
        if data:
            body["data"] = {k: (None if v is None else b64(v)) for k, v in data.items()}
        try:
            obj = self._call(f"updating Secret {self.namespace}/{name}", "PATCH", f"{self._core}/secrets/{quote(name)}",
                             {"fieldManager": self.field_manager}, body, content_type=MERGE_PATCH)
        except ConflictError:
            raise ConflictError(f"Secret {self.namespace}/{name} changed while rotating (another rotation or "
                                "writer); re-run to resume") from None
        return self._secret(obj)

    # ---- rolling the pods that mount the Secret -------------------------------------------
    def _deployment(self, name: str) -> dict | None:
        return self._call(f"reading Deployment {self.namespace}/{name}", "GET",
                          f"{self._apps}/deployments/{quote(name)}", missing_ok=True)

    def deployment_exists(self, name: str) -> bool:
        return self._deployment(name) is not None

    def roll_deployment(self, name: str, version: str) -> bool:
        """Set the pod-template annotation; returns True when that changed the template."""
        dep = self._deployment(name) or {}
        current = (((dep.get("spec") or {}).get("template") or {}).get("metadata") or {}).get("annotations") or {}
        if current.get(SECRETS_VERSION_ANNOTATION) == version:
            return False
        body = {"spec": {"template": {"metadata": {"annotations": {SECRETS_VERSION_ANNOTATION: version}}}}}
        self._call(f"rolling Deployment {self.namespace}/{name}", "PATCH", f"{self._apps}/deployments/{quote(name)}",
                   {"fieldManager": self.field_manager}, body, content_type=MERGE_PATCH)
        return True

    def rollout_state(self, name: str, version: str) -> tuple[bool, str]:
        """(done, why-not): the Deployment is ready by the readiness table, and no pod is left on a
        template of another secrets version (a pod being replaced still holds the old credential)."""
        dep = self._deployment(name)
        reason = not_ready(dep)
        if reason and reason.endswith(FATAL):
            raise RotationError(f"Deployment {self.namespace}/{name}: {reason.removesuffix(FATAL)}")
        if reason:
            return False, reason
        labels = ((dep.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
        selector = ",".join(f"{k}={v}" for k, v in labels.items())
        pods = self._call(f"listing the pods of Deployment {self.namespace}/{name}", "GET", f"{self._core}/pods",
                          {"labelSelector": selector}).get("items", [])
        stale = [p for p in pods
                 if ((p.get("metadata") or {}).get("annotations") or {}).get(SECRETS_VERSION_ANNOTATION) != version]
        if stale:
            return False, f"{len(stale)} pod(s) still on the old template"
        return True, "complete"

    def wait_rollout(self, name: str, version: str, timeout: float) -> None:
        polled = poll(lambda: self.rollout_state(name, version), timeout, 0.2, max_interval=1.0)
        if not polled.done:
            raise RotationError(f"Deployment {self.namespace}/{name} did not finish rolling out within "
                                f"{timeout:g}s ({polled.value}); the old credential is kept")

    # ---- the per-Secret lock ----------------------------------------------------------------
    def lock(self, secret_name: str, actor: str, timeout: float) -> Lock:
        """Hold the Secret's rotation Lease (waiting up to ``timeout`` seconds for another holder)."""
        lease = Lock(self, secret_name, actor)
        lease.acquire(timeout)
        return lease

    # ---- audit objects ----------------------------------------------------------------------
    def audit_key(self, create: bool) -> bytes | None:
        """The HMAC key for fingerprints, kept in its own Secret (created on first use; None when
        it does not exist and ``create`` is false)."""
        what = f"Secret {self.namespace}/{AUDIT_KEY_SECRET}"
        obj = self._call(f"reading {what}", "GET", f"{self._core}/secrets/{AUDIT_KEY_SECRET}", missing_ok=True)
        if obj is not None:
            value = (obj.get("data") or {}).get(AUDIT_KEY_DATA)
            if not value:
                raise RotationError(f"{what} has no (or an empty) data key {AUDIT_KEY_DATA}: the audit fingerprints "
                                    f"need it; restore it or delete the Secret so that a new key is made")
            return base64.b64decode(value)
        if not create:
            return None
        key = secrets.token_urlsafe(32)
        body = {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                "metadata": {"name": AUDIT_KEY_SECRET, "namespace": self.namespace,
                             "labels": _labels("rotation-audit-key", self.part_of)},
                "data": {AUDIT_KEY_DATA: b64(key)}}
        try:
            self._call(f"creating {what}", "POST", f"{self._core}/secrets", {"fieldManager": self.field_manager}, body)
        except ConflictError:  # created concurrently: use theirs
            return self.audit_key(create=False)
        return key.encode()

    def record_audit(self, record: dict[str, Any]) -> None:
        """Append a record to the ConfigMap agentic-rotation-audit (newest N kept)."""
        key = f"{record['finished'].replace(':', '')}.{record['key']}.{record['rotation_id']}.json"
        text = json.dumps(record, sort_keys=True)
        what = f"ConfigMap {self.namespace}/{AUDIT_CONFIGMAP}"
        path = f"{self._core}/configmaps/{AUDIT_CONFIGMAP}"
        cm = self._call(f"reading {what}", "GET", path, missing_ok=True)
        if cm is None:
            body = {"apiVersion": "v1", "kind": "ConfigMap",
                    "metadata": {"name": AUDIT_CONFIGMAP, "namespace": self.namespace,
                                 "labels": _labels("rotation-audit", self.part_of)},
                    "data": {key: text}}
            self._call(f"creating {what}", "POST", f"{self._core}/configmaps", {"fieldManager": self.field_manager},
                       body)
            return
        patch: dict[str, Any] = {key: text}
        for old in sorted([*(cm.get("data") or {}), key])[:-AUDIT_CONFIGMAP_MAX_RECORDS]:
            patch[old] = None
        self._call(f"updating {what}", "PATCH", path, {"fieldManager": self.field_manager},
                   {"metadata": {"resourceVersion": cm["metadata"]["resourceVersion"]}, "data": patch},
                   content_type=MERGE_PATCH)

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
        self._call(f"creating an Event on Secret {self.namespace}/{secret['name']}", "POST", f"{self._core}/events",
                   body=body)


class Lock:
    """A ``coordination.k8s.io/v1`` Lease ``<secret>.rotation``: one rotation of a Secret at a time,
    whoever runs it (a CronJob, an AWX job, a person). Renewed in the background while held; a
    holder that stopped renewing for ``LEASE_SECONDS`` is taken over, and so, at once, is one that
    ran on this host in a process that no longer exists."""

    def __init__(self, kube: Kube, secret_name: str, actor: str):
        self.kube, self.actor = kube, actor
        self.name = f"{secret_name}.rotation"
        self.path = f"{kube._leases}/{quote(self.name)}"
        self.what = f"Lease {kube.namespace}/{self.name}"
        self.identity = f"{socket.gethostname()}/{os.getpid()}/{secrets.token_hex(4)}"
        self.lost: str | None = None  # why the lock was lost while held (checked before every write)
        self._lease: dict | None = None
        self._stop = threading.Event()
        self._renewer: threading.Thread | None = None

    # -- what a Lease says
    @staticmethod
    def _expired(lease: dict, now: _dt.datetime) -> bool:
        spec = lease.get("spec") or {}
        renewed = parse_iso(spec.get("renewTime") or spec.get("acquireTime"))
        if not spec.get("holderIdentity") or renewed is None:
            return True
        return (now - renewed).total_seconds() > float(spec.get("leaseDurationSeconds") or LEASE_SECONDS)

    @staticmethod
    def _holder_dead_here(lease: dict) -> bool:
        """The holder ran on this host in a process that is gone (killed before it could release)."""
        parts = str((lease.get("spec") or {}).get("holderIdentity") or "").split("/")
        host, pid = parts[0], parts[1] if len(parts) > 1 else ""
        if host != socket.gethostname() or not pid.isdigit() or int(pid) == os.getpid():
            return False
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False
        return False

    def holder(self, lease: dict) -> str:
        meta, spec = lease.get("metadata") or {}, lease.get("spec") or {}
        actor = (meta.get("annotations") or {}).get(ACTOR_ANNOTATION) or "unknown"
        renewed = parse_iso(spec.get("renewTime"))
        ago = f", renewed {int((utcnow() - renewed).total_seconds())}s ago" if renewed else ""
        return (f"{actor} (holder {spec.get('holderIdentity')}, since {spec.get('acquireTime')}{ago}, "
                f"expires after {spec.get('leaseDurationSeconds')}s without renewal)")

    def _body(self, now: _dt.datetime, current: dict | None) -> dict:
        spec = (current or {}).get("spec") or {}
        ours = spec.get("holderIdentity") == self.identity
        body = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                "metadata": {"name": self.name, "namespace": self.kube.namespace,
                             "labels": _labels("rotation-lock", self.kube.part_of),
                             "annotations": {ACTOR_ANNOTATION: self.actor}},
                "spec": {"holderIdentity": self.identity, "leaseDurationSeconds": LEASE_SECONDS,
                         "acquireTime": spec.get("acquireTime") if ours else _micro(now), "renewTime": _micro(now),
                         "leaseTransitions": int(spec.get("leaseTransitions") or 0) + (0 if ours else 1)}}
        if current is not None:
            body["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
        return body

    # -- acquire, renew, release
    def _try(self) -> tuple[bool, dict | None]:
        current = self.kube._call(f"reading {self.what}", "GET", self.path, missing_ok=True)
        now = utcnow()
        if current is not None and not (self._expired(current, now) or self._holder_dead_here(current)):
            return False, current
        try:
            if current is None:
                self._lease = self.kube._call(f"creating {self.what}", "POST", self.kube._leases,
                                              {"fieldManager": self.kube.field_manager}, self._body(now, None))
            else:
                self._lease = self.kube._call(f"taking over {self.what}", "PUT", self.path,
                                              {"fieldManager": self.kube.field_manager}, self._body(now, current))
        except ConflictError:  # another run took it between the read and the write
            return False, current
        return True, None

    def acquire(self, timeout: float) -> None:
        polled = poll(self._try, timeout, 1.0)
        if not polled.done:
            holder = self.holder(polled.value) if polled.value else "another run"
            raise RotationError(f"Secret {self.kube.namespace}/{self.name.removesuffix('.rotation')} is being rotated "
                                f"by {holder}; waited {timeout:g}s for its {self.what}. Run again when it is done "
                                "(or once the lease expires, if that run died)", phase="lock")
        self._renewer = threading.Thread(target=self._renew_loop, name="rotation-lease", daemon=True)
        self._renewer.start()

    def _renew_loop(self) -> None:
        while not self._stop.wait(LEASE_SECONDS / 3):
            try:
                self._lease = self.kube._call(f"renewing {self.what}", "PUT", self.path,
                                              {"fieldManager": self.kube.field_manager},
                                              self._body(utcnow(), self._lease))
            except ConflictError:
                self.lost = f"{self.what} was taken over by another run"
                return
            except RotationError as exc:  # the API server unreachable for a moment: try again
                renewed = parse_iso(((self._lease or {}).get("spec") or {}).get("renewTime"))
                if renewed is None or (utcnow() - renewed).total_seconds() > LEASE_SECONDS:
                    self.lost = f"{self.what} could not be renewed in time ({exc})"
                    return

    def release(self) -> None:
        """Delete the Lease if it is still ours (never someone else's that took it over)."""
        self._stop.set()
        if self._renewer is not None:
            self._renewer.join(timeout=30)
        if self._lease is None or self.lost:
            return
        meta = self._lease["metadata"]
        with contextlib.suppress(RotationError):  # if it cannot be deleted now, it expires on its own
            self.kube._call(f"releasing {self.what}", "DELETE", self.path, body={
                "apiVersion": "v1", "kind": "DeleteOptions",
                "preconditions": {"uid": meta.get("uid"), "resourceVersion": meta.get("resourceVersion")}},
                missing_ok=True)
        self._lease = None

"""Server-side apply of a step's objects, the step's wait, and reads, for the in-controller
actions ``k8s_apply`` and ``k8s_read``.

Plain Python over ``KubeClient`` so that pytest drives it directly against the local cluster.
Secret values never leave this module: every object returned or diffed has its Secret data
replaced by markers.
"""

from __future__ import annotations

import copy
import json
import time

from ansible_collections.agentic.platform.plugins.module_utils.kube_client import ApiError, KubeClient, KubeError
from ansible_collections.agentic.platform.plugins.module_utils.poll import poll
from ansible_collections.agentic.platform.plugins.module_utils.readiness import (
    FATAL,
    READY_KINDS,
    not_ready,
)

REDACTED = "<redacted>"
REDACTED_CHANGED = "<redacted, changed>"
# Server-maintained metadata left out of results and diffs (noise, or a moving target).
_SERVER_METADATA = ("managedFields", "resourceVersion", "generation", "uid", "creationTimestamp", "selfLink")


class ApplyError(Exception):
    """A step failed; the message names the object and what the API server said."""


def ref(obj: dict) -> str:
    meta = obj.get("metadata") or {}
    ns = f"{meta['namespace']}/" if meta.get("namespace") else ""
    return f"{obj.get('kind')} {ns}{meta.get('name')}"


def with_namespace(obj: dict, client: KubeClient, namespace: str | None) -> dict:
    """A plain copy of the object (no Ansible-tagged strings: it is sent, diffed and returned) with
    the default namespace filled in where its kind is namespaced."""
    obj = json.loads(json.dumps(obj))
    for key in ("apiVersion", "kind"):
        if not obj.get(key):
            raise ApplyError(f"an object has no {key}: {str(obj)[:200]}")
    meta = obj.setdefault("metadata", {})
    if not meta.get("name"):
        raise ApplyError(f"a {obj['kind']} has no metadata.name")
    res = client.resource(obj["apiVersion"], obj["kind"])
    if res["namespaced"]:
        meta["namespace"] = meta.get("namespace") or namespace
        if not meta["namespace"]:
            raise ApplyError(f"{ref(obj)} is namespaced but has no namespace (set `namespace`)")
    else:
        meta.pop("namespace", None)
    return obj


def redact(obj: dict | None, other: dict | None = None) -> dict | None:
    """The object for output: server metadata dropped and, for a Secret, every value replaced by
    a marker (REDACTED_CHANGED where ``other``, the object it is compared with, differs)."""
    if obj is None:
        return None
    out = copy.deepcopy(obj)
    meta = out.get("metadata") or {}
    for key in _SERVER_METADATA:
        meta.pop(key, None)
    annotations = meta.get("annotations") or {}
    annotations.pop("kubectl.kubernetes.io/last-applied-configuration", None)
    if out.get("kind") == "Secret":
        other_data = _secret_values(other) if other is not None else None
        mine = _secret_values(obj)
        out.pop("stringData", None)
        out["data"] = {k: (REDACTED_CHANGED if other_data is not None and other_data.get(k) != v else REDACTED)
                       for k, v in sorted(mine.items())}
    return out


def _secret_values(obj: dict) -> dict:
    import base64
    values = dict(obj.get("data") or {})
    for k, v in (obj.get("stringData") or {}).items():
        values[k] = base64.b64encode(str(v).encode()).decode()
    return values


def _comparable(obj: dict | None) -> dict | None:
    """The object without what controllers write concurrently (status, resourceVersion, ...): an
    apply changed something when this differs before and after it."""
    if obj is None:
        return None
    out = copy.deepcopy(obj)
    out.pop("status", None)
    for key in _SERVER_METADATA:
        (out.get("metadata") or {}).pop(key, None)
    return out


class Applier:
    def __init__(self, client: KubeClient, field_manager: str, force_conflicts: bool = True,
                 check_mode: bool = False, clock=time.monotonic, sleep=time.sleep):
        self.client = client
        self.field_manager = field_manager
        self.force_conflicts = force_conflicts
        self.check_mode = check_mode
        self.clock, self.sleep = clock, sleep
        self._namespaces: dict[str, bool] = {}

    def _namespace_exists(self, name: str) -> bool:
        if name not in self._namespaces:
            self._namespaces[name] = self.client.get("v1", "Namespace", name) is not None
        return self._namespaces[name]

    # ---- apply ---------------------------------------------------------------------------
    def apply(self, obj: dict, before: dict | bool | None = False, manager: str | None = None) -> dict:
        """Server-side apply one object (dry-run in check mode); ``before`` is the live object when
        already read (None: it does not exist); ``manager`` another field manager than the step's.
        Returns {'ref', 'operation', 'changed', 'before', 'after'} with raw objects."""
        meta = obj["metadata"]
        api_version, kind, name, ns = obj["apiVersion"], obj["kind"], meta["name"], meta.get("namespace")
        if ns and self.check_mode and not self._namespace_exists(ns):
            # The namespace is only dry-run created: nothing can be dry-run inside it.
            return {"ref": ref(obj), "operation": "created", "changed": True, "before": None, "after": obj}
        if before is False:
            before = self.client.get(api_version, kind, name, ns)
        query = {"fieldManager": manager or self.field_manager, "fieldValidation": "Strict"}
        if self.force_conflicts:
            query["force"] = "true"
        if self.check_mode:
            query["dryRun"] = "All"
        try:
            after = self.client.call("PATCH", self.client.path(api_version, kind, ns, name), query, obj,
                                     content_type="application/apply-patch+yaml")
        except ApiError as exc:
            raise ApplyError(f"server-side apply of {ref(obj)} failed: {exc}") from None
        if kind == "Namespace" and self.check_mode and before is None:
            self._namespaces[name] = False
        if before is None:
            operation, changed = "created", True
        else:
            # Not the resourceVersion: a controller may write the status between the read and the apply.
            changed = _comparable(before) != _comparable(after)
            operation = "updated" if changed else "unchanged"
        return {"ref": ref(obj), "operation": operation, "changed": changed, "before": before, "after": after}

    def delete(self, obj: dict) -> dict:
        meta = obj["metadata"]
        api_version, kind, name, ns = obj["apiVersion"], obj["kind"], meta["name"], meta.get("namespace")
        before = self.client.get(api_version, kind, name, ns)
        if before is None:
            return {"ref": ref(obj), "operation": "absent", "changed": False, "before": None, "after": None}
        query = {"propagationPolicy": "Background"}  # gone at once; dependents are collected after
        if self.check_mode:
            query["dryRun"] = "All"
        try:
            self.client.call("DELETE", self.client.path(api_version, kind, ns, name), query)
        except ApiError as exc:
            if exc.status != 404:
                raise ApplyError(f"deleting {ref(obj)} failed: {exc}") from None
        return {"ref": ref(obj), "operation": "deleted", "changed": True, "before": before, "after": None}

    def apply_releasing(self, obj: dict, before: dict | None, released: list[dict]) -> dict:
        """Apply ``obj`` without the ``released`` fields ([{path, manager}]): they belong to another
        manager (an autoscaler's replicas). A field nobody else holds would be removed, and reset to
        its default, when the step's manager stops sending it, so that field's ``manager`` takes
        it over first, at its live value; a new object gets the value in ``obj`` that way."""
        sent = copy.deepcopy(obj)
        for field in released:
            pop_path(sent, field["path"])
        held = [f for f in released if get_path(obj, f["path"]) is not MISSING]
        if before is None:
            if self.check_mode:  # what the object would be: created with the first value
                return self.apply(obj, before)
            outcome = self.apply(sent, before)
            for field in held:
                outcome["after"] = self.apply(partial(obj, field["path"]), outcome["after"], field["manager"])["after"]
            return outcome
        for field in held:
            if set(field_owners(before, field["path"])) - {self.field_manager}:
                continue  # held by another manager already
            live = get_path(before, field["path"])
            value = get_path(obj, field["path"]) if live is MISSING else live
            if self.check_mode:  # a dry run cannot take the field over: send the value kept
                set_path(sent, field["path"], value)
            else:
                self.apply(set_path(partial(obj, field["path"]), field["path"], value), before, field["manager"])
        return self.apply(sent, before)

    # ---- wait ----------------------------------------------------------------------------
    def wait(self, objs: list[dict], timeout: float, condition: dict | None = None, deleted: bool = False) -> None:
        """Until every object is ready (see ``readiness.not_ready``), or gone when ``deleted``."""
        # The apply returned every object as stored: only kinds with a notion of ready are polled.
        pending = [o for o in objs if deleted or condition or o["kind"] in READY_KINDS]

        def attempt() -> tuple[bool, list[str]]:
            still, reasons = [], []
            for obj in pending:
                meta = obj["metadata"]
                live = self.client.get(obj["apiVersion"], obj["kind"], meta["name"], meta.get("namespace"))
                reason = ("still exists" if live is not None else None) if deleted else not_ready(live, condition)
                if reason:
                    still.append(obj)
                    reasons.append(f"{ref(obj)}: {reason}")
            pending[:] = still
            if any(r.endswith(FATAL) for r in reasons):
                raise ApplyError(f"not ready after {timeout:g}s: " + "; ".join(r.removesuffix(FATAL) for r in reasons))
            return not still, reasons

        polled = poll(attempt, timeout, 0.1, max_interval=1.0, clock=self.clock, sleep=self.sleep)
        if not polled.done:
            raise ApplyError(f"not ready after {timeout:g}s: " + "; ".join(polled.value))


# ---- the two entry points -----------------------------------------------------------------

def run_apply(client: KubeClient, objects: list[dict], *, field_manager: str, namespace: str | None = None,
              state: str = "present", force_conflicts: bool = True, wait: bool = False,
              wait_timeout: float = 300, wait_condition: dict | None = None, check_mode: bool = False,
              want_diff: bool = False, prune: dict | None = None, released_fields: list[dict] | None = None,
              applier: Applier | None = None) -> dict:
    """Apply (or delete) every object in order, then wait for all of them. Returns the action's
    result: changed, objects (a line each), resources (as stored, redacted) and diff.

    ``released_fields`` ([{kind, name, path, manager}]) are fields of the objects of that kind
    (and name, when given) that belong to another manager once the object exists (see
    ``Applier.apply_releasing``).

    ``prune`` ({api_version, kind, label_selector, keep}) first deletes the objects of that kind
    in ``namespace`` that match the selector, are not among ``objects``, and are not among the
    ``keep`` newest (a bounded history, such as the config snapshots)."""
    applier = applier or Applier(client, field_manager, force_conflicts, check_mode)
    try:
        prepared = [with_namespace(o, client, namespace) for o in objects if o]
        expired = pruned(client, prune, namespace, prepared) if prune else []
        outcomes = [applier.delete(o) for o in expired]
        if state == "absent":
            outcomes += [applier.delete(o) for o in prepared]
        else:
            befores = live_objects(client, prepared)
            outcomes += [applier.apply_releasing(o, before, released) if (released := releasing(o, released_fields))
                         else applier.apply(o, before) for o, before in zip(prepared, befores, strict=True)]
        if wait and not check_mode and prepared:
            applier.wait(prepared, wait_timeout, wait_condition, deleted=state == "absent")
    except (ApiError, KubeError) as exc:
        raise ApplyError(str(exc)) from None
    result: dict = {
        "changed": any(o["changed"] for o in outcomes),
        "objects": [f"{o['ref']} {o['operation']}" for o in outcomes],
        "resources": [redact(o["after"], o["before"]) for o in outcomes if o["after"] is not None],
        "api_requests": client.requests,
    }
    if want_diff:
        result["diff"] = [{"before_header": o["ref"], "after_header": o["ref"],
                           "before": _yaml(redact(o["before"], o["after"])),
                           "after": _yaml(redact(o["after"], o["before"]))}
                          for o in outcomes if o["changed"]]
    return result


def releasing(obj: dict, released_fields: list[dict] | None) -> list[dict]:
    """The released fields that apply to ``obj``."""
    return [f for f in released_fields or [] if f["kind"] == obj["kind"]
            and f.get("name") in (None, obj["metadata"]["name"])]


# ---- fields as dotted paths (spec.replicas) -----------------------------------------------

MISSING = object()


def get_path(obj: dict | None, path: str):
    node = obj
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return MISSING
        node = node[part]
    return node


def set_path(obj: dict, path: str, value) -> dict:
    *parents, last = path.split(".")
    node = obj
    for part in parents:
        node = node.setdefault(part, {})
    node[last] = value
    return obj


def pop_path(obj: dict, path: str) -> None:
    *parents, last = path.split(".")
    node = get_path(obj, ".".join(parents)) if parents else obj
    if isinstance(node, dict):
        node.pop(last, None)


def partial(obj: dict, path: str) -> dict:
    """The object's identity and the one field: what a manager of that field alone applies."""
    meta = obj["metadata"]
    identity = {k: meta[k] for k in ("name", "namespace") if meta.get(k)}
    return set_path({"apiVersion": obj["apiVersion"], "kind": obj["kind"], "metadata": identity}, path,
                    get_path(obj, path))


def field_owners(obj: dict | None, path: str) -> list[str]:
    """The field managers whose managed fields (``metadata.managedFields``) contain the field;
    status-subresource entries aside. Sorted, without repeats."""
    owners = set()
    for entry in ((obj or {}).get("metadata") or {}).get("managedFields") or []:
        if entry.get("subresource") == "status":
            continue
        node = entry.get("fieldsV1") or {}
        for part in path.split("."):
            node = node.get(f"f:{part}") if isinstance(node, dict) else None
            if node is None:
                break
        else:
            owners.add(entry.get("manager", ""))
    return sorted(owners)


def pruned(client: KubeClient, prune: dict, namespace: str | None, keep_these: list[dict]) -> list[dict]:
    """The objects ``prune`` selects for deletion, oldest first."""
    api_version, kind = prune.get("api_version") or "v1", prune["kind"]
    kept = {o["metadata"]["name"] for o in keep_these if o["kind"] == kind}
    items = client.call("GET", client.path(api_version, kind, namespace),
                        {"labelSelector": prune["label_selector"]}).get("items", [])
    candidates = sorted((i for i in items if i["metadata"]["name"] not in kept),
                        key=lambda i: (i["metadata"].get("creationTimestamp", ""), i["metadata"]["name"]))
    expired = candidates[:max(len(candidates) - max(prune.get("keep") or 0, 0), 0)]
    return [{"apiVersion": api_version, "kind": kind,
             "metadata": {"name": i["metadata"]["name"], "namespace": i["metadata"].get("namespace")}}
            for i in expired]


def live_objects(client: KubeClient, objects: list[dict], workers: int = 4) -> list[dict | None]:
    """The live version of each object (None where it does not exist), read a few at a time:
    on a step of 15 objects this halves the time of the reads."""
    def get(obj: dict) -> dict | None:
        meta = obj["metadata"]
        return client.get(obj["apiVersion"], obj["kind"], meta["name"], meta.get("namespace"))

    if len(objects) < 3:
        return [get(o) for o in objects]
    from concurrent.futures import ThreadPoolExecutor
    with ThreadPoolExecutor(max_workers=min(workers, len(objects))) as pool:
        return list(pool.map(get, objects))


def run_read(client: KubeClient, *, api_version: str, kind: str, name: str | None = None,
             namespace: str | None = None, label_selector: str = "") -> dict:
    """The objects found (a list, empty when none), as the API server stores them."""
    try:
        client.resource(api_version, kind)
    except KubeError:
        # An API the cluster does not serve (a CRD not installed) holds no objects.
        return {"changed": False, "resources": [], "api_found": False}
    try:
        if name:
            found = client.get(api_version, kind, name, namespace)
            items = [found] if found else []
        else:
            items = client.call("GET", client.path(api_version, kind, namespace),
                                {"labelSelector": label_selector} if label_selector else None).get("items", [])
            for item in items:
                item.setdefault("apiVersion", api_version)
                item.setdefault("kind", kind)
    except (ApiError, KubeError) as exc:
        raise ApplyError(f"reading {kind} {name or label_selector or ''} failed: {exc}") from None
    return {"changed": False, "resources": items, "api_found": True}


def _yaml(obj) -> str:
    if obj is None:
        return ""
    import yaml
    return yaml.safe_dump(obj, sort_keys=True, default_flow_style=False)

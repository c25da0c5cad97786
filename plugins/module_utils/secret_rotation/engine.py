"""The rotation state machines (redis, jwt, external), resumable from Secret annotations.

Every phase transition is ONE resourceVersion-guarded patch of the Secret that carries
both the values of that phase and its metadata annotation, so a run killed anywhere
leaves the Secret in a recorded phase; the next run resumes from it. Values live only in
the Secret's data (the pending Redis password under ``<key>-next``), never in annotations,
results, errors or audit records.
"""

from __future__ import annotations

import getpass
import hmac
import json
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from . import jwt_keys
from .audit import append_jsonl, assert_no_values
from .common import (
    JWT_PREFIX,
    LEGACY_LAST_ROTATED_ANNOTATION,
    REDIS_KEY,
    SCHEDULE_LABEL,
    SECRETS_VERSION_ANNOTATION,
    RotationError,
    annotation_names,
    fault_hook,
    fingerprint,
    generate_password,
    is_due,
    is_text,
    iso,
    new_rotation_id,
    owned_by_other_kinds,
    parse_iso,
    redact,
    to_bytes,
    utcnow,
)
from .kube import ConflictError
from .redis_acl import RedisAcl, RedisAclSet, RedisEndpoint

KINDS = ("redis", "jwt", "external")
REDIS_PHASES = ("staged", "acl-adding", "acl-added", "secret-updated", "rolled", "drained", "old-removed",
                "rolling-back")
JWT_PHASES = ("next-staged", "published", "promoting", "promoted", "dropping")
EXTERNAL_PHASES = ("secret-updated",)
# Secret data that is public by design (JWT public keys, key ids, the JWKS): not treated as values.
PUBLIC_SUFFIXES = ("-public-key", "-kid", "jwks.json")
DEFAULT_KEYS = {"redis": REDIS_KEY, "jwt": JWT_PREFIX, "external": None}


@dataclass
class Options:
    namespace: str
    kind: str
    key: str | None = None
    secret_name: str = "agentic-ai-secrets"  # noqa: S105 - a name, not a value
    force: bool = False
    schedule: str | None = None
    default_schedule: str = "monthly"
    deployments: list[str] = field(default_factory=lambda: ["mcp-agent"])
    allow_missing_deployments: bool = False
    wait_timeout: float = 300
    drain_seconds: float = 120
    redis: RedisEndpoint | None = None
    redis_admin_key: str = "redis-admin-password"
    # Sentinel mode: every data node and Sentinel (the agents' user lives on each); replaces redis.
    redis_nodes: list[RedisEndpoint] = field(default_factory=list)
    jwt_algorithm: str = "auto"
    jwt_max_token_lifetime: float = 3600
    jwt_publish_lead: float = 0
    new_value: str | None = None
    rollback: bool = False
    audit_log: str | None = None
    audit_configmap: bool = True
    audit_events: bool = True
    audit_key: str | None = None
    actor: str | None = None
    lock_timeout: float = 60
    check_mode: bool = False

    def __post_init__(self):
        if self.kind not in KINDS:
            raise RotationError(f"kind {self.kind!r} is not one of {', '.join(KINDS)}")
        self.key = self.key or DEFAULT_KEYS[self.kind]
        if not self.key:
            raise RotationError("key is required for kind=external (the Secret data key, e.g. openai-api-key)")
        if self.kind == "redis" and self.redis is None and not self.redis_nodes:
            raise RotationError("redis_host is required for kind=redis")
        if self.drain_seconds < 0 or self.wait_timeout <= 0 or self.jwt_max_token_lifetime <= 0:
            raise RotationError("drain_seconds must be >= 0, wait_timeout and jwt_max_token_lifetime > 0")
        if self.lock_timeout < 0:
            raise RotationError("lock_timeout must be >= 0")
        if self.kind == "external":
            why = owned_by_other_kinds(self.key, self.redis_admin_key)
            if why:
                raise RotationError(f"kind=external cannot rotate key {why}; rotate it with that kind")
        if not self.deployments:
            raise RotationError("deployments is empty: a rotation must roll the pods that use the credential "
                                "(name the Deployments that mount the Secret)")


class Rotation:
    """One module run for one (Secret, key)."""

    def __init__(self, kube, opts: Options, *, redis_acl: RedisAcl | None = None,
                 after_phase: Callable[[str], None] | None = None, sleep: Callable[[float], None] = time.sleep):
        self.kube = kube
        self.opts = opts
        self.sleep = sleep
        self.after_phase = after_phase
        self.state_ann, self.last_ann = annotation_names(opts.key)
        self.redis_acl = redis_acl
        self.values: set[str] = set()
        self.phases: list[dict[str, str]] = []
        self.changed = False
        self.warnings: list[str] = []
        self.hmac_key: bytes | None = None
        self.secret: dict[str, Any] = {}
        self.started = utcnow()
        self.lock = None

    # ---- helpers ----------------------------------------------------------------------------
    def _remember(self, *values: str | None) -> None:
        self.values.update(v for v in values if v)

    def _fp(self, value: str | None) -> str | None:
        return fingerprint(self.hmac_key, value)

    @property
    def state(self) -> dict[str, Any]:
        raw = self.secret["annotations"].get(self.state_ann)
        if not raw:
            return {}
        try:
            return json.loads(raw)
        except ValueError:
            raise RotationError(f"annotation {self.state_ann} on the Secret is not valid JSON; "
                                "fix or remove it (it holds rotation metadata only)") from None

    def _data(self, key: str) -> str | None:
        return self.secret["data"].get(key)

    def _record(self, phase: str, *, data: dict[str, str | None] | None = None,
                state: dict[str, Any] | None = None, extra_annotations: dict[str, str | None] | None = None) -> None:
        """Move to `phase`: one guarded patch with the phase's values and metadata."""
        now = iso(utcnow())
        st = dict(state if state is not None else self.state)
        st["phase"] = phase
        st["updated"] = now
        st.setdefault("history", []).append([phase, now])
        annotations = {self.state_ann: json.dumps(st, sort_keys=True, separators=(",", ":"))}
        annotations.update(extra_annotations or {})
        self._remember(*(v for k, v in (data or {}).items() if v and not k.endswith(PUBLIC_SUFFIXES)))
        if self.lock is not None and self.lock.lost:
            raise RotationError(f"stopped before phase {phase}: {self.lock.lost}", phase=phase)
        try:
            self.secret = self.kube.patch_secret(self.opts.secret_name, self.secret["rv"], data=data,
                                                 annotations=annotations)
        except ConflictError:
            # someone else wrote the Secret (another key's rotation, a converge): retry once if the
            # rotation state of THIS key is still what we read; otherwise another run owns it
            fresh = self.kube.read_secret(self.opts.secret_name)
            if fresh["annotations"].get(self.state_ann) != self.secret["annotations"].get(self.state_ann):
                raise
            self._remember(*(v for k, v in fresh["data"].items() if not k.endswith(PUBLIC_SUFFIXES)))
            self.secret = self.kube.patch_secret(self.opts.secret_name, fresh["rv"], data=data,
                                                 annotations=annotations)
        self.phases.append({"phase": phase, "outcome": "ok", "at": now})
        self.changed = True
        if self.after_phase:
            self.after_phase(phase)
        fault_hook(phase)

    def _would(self, result: dict[str, Any], outcome: str) -> str | None:
        """In check mode: the outcome a run would have (result notes that it would rotate); else None."""
        if not self.opts.check_mode:
            return None
        result["would_rotate"] = True
        return outcome

    def _roll_stamped(self, version: str, stamp: str) -> dict[str, Any]:
        """Roll the Deployments to ``version``; the state then, with ``stamp`` set to now."""
        self._roll(version)
        st = self.state
        st[stamp] = iso(utcnow())
        return st

    def _schedule(self) -> tuple[str, bool, Any]:
        schedule = self.opts.schedule or self.secret["labels"].get(SCHEDULE_LABEL) or self.opts.default_schedule
        ann = self.secret["annotations"]
        last = parse_iso(ann.get(self.last_ann)) or parse_iso(ann.get(LEGACY_LAST_ROTATED_ANNOTATION))
        if last is None and self.secret.get("created") is not None:
            last = self.secret["created"].replace(microsecond=0)
        due, next_due = is_due(schedule, last, utcnow())
        return schedule, due, next_due

    def _roll(self, version: str) -> None:
        """Roll every Deployment that mounts the Secret and wait until all pods run the new template."""
        for name in self.opts.deployments:
            if not self.kube.deployment_exists(name):
                if self.opts.allow_missing_deployments:
                    self.warnings.append(f"Deployment {name} not found: nothing to roll")
                    continue
                raise RotationError(f"Deployment {self.opts.namespace}/{name} (option deployments) does not exist; "
                                    "set allow_missing_deployments to rotate without it")
            self.kube.roll_deployment(name, version)
        for name in self.opts.deployments:
            if self.kube.deployment_exists(name):
                self.kube.wait_rollout(name, version, self.opts.wait_timeout)

    def _new_state(self, rotation_id: str) -> dict[str, Any]:
        st = self.state
        version = int(st.get("version", 1))
        return {"kind": self.opts.kind, "id": rotation_id, "version_before": version, "version": version + 1,
                "started": iso(utcnow()), "actor": self._actor(),
                "secrets_version": f"{self.opts.key}.v{version + 1}.{rotation_id}"}

    def _actor(self) -> str:
        if self.opts.actor:
            return self.opts.actor
        try:
            user = getpass.getuser()
        except Exception:
            user = "unknown"
        return f"{user}@{socket.gethostname()}"

    def _check_fp(self, label: str, value: str | None, expected: str | None) -> None:
        if expected and self._fp(value) != expected:
            raise RotationError(f"the {label} value of {self.opts.key} in Secret {self.opts.secret_name} changed "
                                "outside this rotation (fingerprint mismatch); resolve by hand before re-running")

    # ---- entry point ------------------------------------------------------------------------
    def run(self) -> dict[str, Any]:
        """One run, holding the Secret's lock (not in check mode, which writes nothing) from before
        the Secret is read until the audit is written; released on every way out."""
        if self.opts.check_mode:
            return self._run()
        self.lock = self.kube.lock(self.opts.secret_name, self._actor(), self.opts.lock_timeout)
        try:
            return self._run()
        finally:
            self.lock.release()

    def _run(self) -> dict[str, Any]:
        opts = self.opts
        self._remember(opts.new_value, opts.audit_key, opts.redis.admin_password if opts.redis else None)
        self.secret = self.kube.read_secret(opts.secret_name)
        self._remember(*(v for k, v in self.secret["data"].items() if not k.endswith(PUBLIC_SUFFIXES)))
        # In check mode a missing key is not created: fingerprints are then not shown (None), and
        # nothing compares fingerprints (values are compared directly).
        self.hmac_key = opts.audit_key.encode() if opts.audit_key else self.kube.audit_key(create=not opts.check_mode)
        if self.hmac_key:
            self._remember(self.hmac_key.decode("utf-8", "surrogateescape"))
        before = self._summary()
        schedule, due, next_due = self._schedule()
        result: dict[str, Any] = {"kind": opts.kind, "key": opts.key, "secret": opts.secret_name,
                                  "namespace": opts.namespace, "schedule": schedule, "due": due,
                                  "next_due": iso(next_due) if next_due else None, "forced": opts.force}
        error: RotationError | None = None
        outcome = "unchanged"
        try:
            handler = {"redis": self._redis, "jwt": self._jwt, "external": self._external}[opts.kind]
            outcome = handler(due or opts.force, result)
        except RotationError as exc:
            error = exc
            outcome = exc.left_state or "failed"
        except Exception as exc:
            error = RotationError(f"{type(exc).__name__}: {redact(str(exc), self.values)}")
            outcome = "failed"
        after = self._summary()
        if opts.check_mode:  # report what a real run would change; nothing was written
            self.changed = bool(result.get("would_rotate"))
        result.update(changed=self.changed, outcome=outcome, phases=self.phases, warnings=self.warnings,
                      phase=after["phase"], version_before=before["version"], version_after=after["version"],
                      rotation_id=after["rotation_id"], fingerprint_before=before["fingerprint"],
                      fingerprint_after=after["fingerprint"],
                      diff={"before": before, "after": after})
        if error is not None:
            result["msg"] = redact(str(error), self.values)
        if (self.phases or error is not None) and not opts.check_mode:
            self._audit(result, outcome, error)
        assert_no_values(result, self.values)
        if error is not None:
            result["failed"] = True
        return result

    def _summary(self) -> dict[str, Any]:
        st = self.state
        key = {"redis": self.opts.key, "external": self.opts.key, "jwt": f"{self.opts.key}-private-key"}[self.opts.kind]
        return {"phase": st.get("phase", "never-rotated"), "version": int(st.get("version", 1)),
                "rotation_id": st.get("id"), "last_rotated": self.secret["annotations"].get(self.last_ann),
                "fingerprint": self._fp(self._data(key)),
                "secrets_version": self.secret["annotations"].get(SECRETS_VERSION_ANNOTATION)}

    def _audit(self, result: dict[str, Any], outcome: str, error: RotationError | None) -> None:
        st = self.state
        record = {
            "rotation_id": st.get("id") or result.get("rotation_id") or "none",
            "actor": st.get("actor") or self._actor(),
            "namespace": self.opts.namespace, "secret": self.opts.secret_name, "key": self.opts.key,
            "kind": self.opts.kind, "started": iso(self.started), "finished": iso(utcnow()), "outcome": outcome,
            "version_before": result["version_before"], "version_after": result["version_after"],
            "fingerprint_before": result["fingerprint_before"], "fingerprint_after": result["fingerprint_after"],
            "phases": list(self.phases) + ([{"phase": error.phase or "unknown", "outcome": "failed",
                                             "at": iso(utcnow())}] if error else []),
            "forced": self.opts.force, "message": redact(str(error), self.values) if error else None,
        }
        assert_no_values(record, self.values)
        result["audit"] = record
        if self.opts.audit_log:
            try:
                append_jsonl(self.opts.audit_log, record)
            except OSError as exc:  # the rotation itself is done (or failed) as recorded on the Secret
                result["audit_log_error"] = f"{self.opts.audit_log}: {exc.strerror or exc}"
                self.warnings.append(f"audit record not written to {self.opts.audit_log} "
                                     f"({exc.strerror or exc}); it is in the ConfigMap and the Event")
        try:
            if self.opts.audit_configmap:
                self.kube.record_audit(record)
            if self.opts.audit_events:
                reason = {"completed": "SecretRotated", "failed": "SecretRotationFailed",
                          "rolled-back": "SecretRotationRolledBack"}.get(outcome, "SecretRotationProgress")
                msg = (f"{self.opts.kind} key {self.opts.key}: {outcome}, version {record['version_before']} -> "
                       f"{record['version_after']}, rotation {record['rotation_id']}, phases "
                       f"{','.join(p['phase'] for p in record['phases']) or '-'}")
                self.kube.emit_event(self.secret, reason, msg, warning=outcome in ("failed", "rolled-back"))
        except Exception as exc:
            self.warnings.append(f"audit ConfigMap/Event not written: {type(exc).__name__}")

    # ---- redis --------------------------------------------------------------------------------
    def _redis_acl(self) -> RedisAcl | RedisAclSet:
        if self.redis_acl is None:
            endpoints = self.opts.redis_nodes or [self.opts.redis]
            admin = endpoints[0].admin_password
            if not admin:
                admin = self._data(self.opts.redis_admin_key)
                self._remember(admin)
            if not admin:
                raise RotationError(f"Secret {self.opts.secret_name} has no {self.opts.redis_admin_key} and "
                                    "redis_admin_password is not set: cannot administer the Redis ACL")
            for ep in endpoints:
                ep.admin_password = ep.admin_password or admin
            self.redis_acl = RedisAclSet(endpoints) if self.opts.redis_nodes else RedisAcl(endpoints[0])
        return self.redis_acl

    def _redis(self, wanted: bool, result: dict[str, Any]) -> str:
        key = self.opts.key
        next_key, prev_key = f"{key}-next", f"{key}-previous"
        phase = self.state.get("phase")
        if phase == "rolling-back" and not self.opts.check_mode:  # a run stopped while undoing
            error = RotationError("a previous run stopped while rolling back", phase="rolling-back")
            error.left_state = self._redis_rollback(error)
            if error.left_state != "rolled-back":
                raise error
            self.warnings.append(str(error))
            return "rolled-back"
        if phase not in REDIS_PHASES:
            if not wanted:
                return "not-due"
            if outcome := self._would(result, "would-rotate"):
                return outcome
            current = self._data(key)
            if not current:
                raise RotationError(f"Secret {self.opts.secret_name} has no {key} to rotate")
            if not is_text(current):
                raise RotationError(f"Secret {self.opts.secret_name} key {key} is not UTF-8 text: a Redis password "
                                    "must be; fix the Secret first", phase="preflight")
            acl = self._redis_acl()
            if not acl.authenticates(current):
                raise RotationError(f"Secret {self.opts.secret_name} key {key} does not authenticate as Redis user "
                                    f"{acl.ep.user!r} at {acl.ep.describe()}: Secret and Redis already disagree; "
                                    "nothing was changed", phase="preflight")
            new = generate_password()
            self._remember(new)
            st = self._new_state(new_rotation_id())
            st.update(fp_before=self._fp(current), fp_after=self._fp(new))
            self._record("staged", data={next_key: new}, state=st)
        elif self.opts.check_mode:
            result["would_rotate"] = True
            result["would_resume_from"] = phase
            return "would-resume"

        while True:
            st = self.state
            phase = st["phase"]
            try:
                if phase == "staged":
                    self._check_fp("current", self._data(key), st.get("fp_before"))
                    self._check_fp("pending", self._data(next_key), st.get("fp_after"))
                    self._redis_acl().ping_admin()  # unreachable or bad admin: fail while undo is Redis-free
                    # recorded BEFORE Redis is touched: a failure in "staged" is undone without Redis
                    self._record("acl-adding")
                elif phase == "acl-adding":
                    old, new = self._data(key), self._data(next_key)
                    acl = self._redis_acl()
                    acl.add_password(new)
                    fault_hook("acl-added", recorded=False)
                    if not (acl.authenticates(old) and acl.authenticates(new)):
                        raise RotationError("after ACL SETUSER the old and new passwords do not both authenticate")
                    self._record("acl-added")
                elif phase == "acl-added":
                    old, new = self._data(key), self._data(next_key)
                    self._check_fp("pending", new, st.get("fp_after"))
                    if not self._redis_acl().authenticates(new):
                        raise RotationError("the pending password no longer authenticates (Redis restarted without "
                                            "its ACL?); not updating the Secret")
                    self._record("secret-updated", data={key: new, prev_key: old, next_key: None},
                                 extra_annotations={SECRETS_VERSION_ANNOTATION: st["secrets_version"]})
                elif phase == "secret-updated":
                    st = self._roll_stamped(st["secrets_version"], "rolled_at")
                    self._record("rolled", state=st)
                elif phase == "rolled":
                    rolled_at = parse_iso(st.get("rolled_at")) or utcnow()
                    remaining = self.opts.drain_seconds - (utcnow() - rolled_at).total_seconds()
                    if remaining > 0:
                        self.sleep(remaining)
                    self._record("drained")
                elif phase == "drained":
                    old, new = self._data(prev_key), self._data(key)
                    self._check_fp("new", new, st.get("fp_after"))
                    acl = self._redis_acl()
                    if not acl.authenticates(new):
                        raise RotationError("the new password does not authenticate; the old one is kept")
                    if old:
                        self._check_fp("previous", old, st.get("fp_before"))
                        acl.remove_password(old)
                        fault_hook("old-removed", recorded=False)
                        if not acl.refused_everywhere(old):
                            raise RotationError("the old password is still accepted after ACL SETUSER <old")
                    elif acl.password_hashes(self.values) and len(acl.password_hashes(self.values)) > 1:
                        raise RotationError(f"{prev_key} is missing from the Secret and Redis still holds more "
                                            "than one password: cannot tell which to remove")
                    self._record("old-removed")
                elif phase == "old-removed":
                    st = self.state
                    st["finished"] = iso(utcnow())
                    self._record("completed", data={prev_key: None}, state=st,
                                 extra_annotations={self.last_ann: st["finished"]})
                    return "completed"
                else:
                    return phase
            except RotationError as exc:
                exc.phase = exc.phase or phase
                if phase in ("staged", "acl-adding", "acl-added"):
                    exc.left_state = self._redis_rollback(exc)
                else:
                    exc.left_state = "failed"
                    exc.args = (f"{exc.args[0]} [phase {phase}: the Secret holds the new password and Redis still "
                                "accepts the old one; the next run completes the rotation]",)
                raise

    def _redis_rollback(self, exc: RotationError) -> str:
        """Undo a rotation that failed before the Secret changed: Secret and Redis back to the old password only.

        Redis is touched only after the guarded write of phase ``rolling-back`` succeeded: that
        write fails if another run moved this key on (to ``secret-updated``, where the Secret holds
        the new password), so a stale copy of the Secret never removes a password the Secret holds.
        """
        key = self.opts.key
        try:
            if self.state.get("phase") in ("acl-adding", "acl-added", "rolling-back"):
                if self.state.get("phase") != "rolling-back":
                    self._record("rolling-back")
                new = self._data(f"{key}-next")  # as of the guarded write
                fault_hook("rolling-back!", recorded=False)
                if new:
                    self._redis_acl().remove_password(new)
            st = self.state
            st["version"] = st.get("version_before", st.get("version", 1))  # nothing was rotated
            self._record("rolled-back", data={f"{key}-next": None}, state=st)
            self.phases[-1]["outcome"] = "rolled-back"
            exc.args = (f"{exc.args[0]} [rolled back: the Secret and Redis keep the old password]",)
            return "rolled-back"
        except RotationError as inner:
            exc.args = (f"{exc.args[0]} [could not roll back ({inner}); left at phase {self.state.get('phase')}: "
                        "the Secret still holds the old password, which Redis accepts; the next run completes "
                        "the rotation]",)
            return "failed"

    # ---- jwt ----------------------------------------------------------------------------------
    def _jwt_keys(self) -> dict[str, str]:
        p = self.opts.key
        return {"priv": f"{p}-private-key", "pub": f"{p}-public-key", "kid": f"{p}-kid",
                "next_priv": f"{p}-next-private-key", "next_pub": f"{p}-next-public-key", "next_kid": f"{p}-next-kid",
                "prev_pub": f"{p}-previous-public-key", "prev_kid": f"{p}-previous-kid", "jwks": f"{p}-jwks.json"}

    def _jwt(self, wanted: bool, result: dict[str, Any]) -> str:
        k = self._jwt_keys()
        opts = self.opts
        while True:
            st = self.state
            phase = st.get("phase")
            now = utcnow()
            if phase == "next-staged":
                if outcome := self._would(result, "would-resume"):
                    return outcome
                st = self._roll_stamped(st["secrets_version"], "published_at")
                self._record("published", state=st)
            elif phase == "published":
                published_at = parse_iso(st.get("published_at")) or now
                if (now - published_at).total_seconds() < opts.jwt_publish_lead:
                    result["waiting"] = ("next key published; promotion after jwt_publish_lead "
                                         f"({opts.jwt_publish_lead:g}s)")
                    return "waiting"
                if outcome := self._would(result, "would-promote"):
                    return outcome
                cur_pub, nxt_priv, nxt_pub = self._data(k["pub"]), self._data(k["next_priv"]), self._data(k["next_pub"])
                self._check_fp("next", nxt_priv, st.get("fp_after"))
                st["secrets_version"] = f"{opts.key}.v{st['version']}.{st['id']}.promoted"
                self._record("promoting", state=st, data={
                    k["priv"]: nxt_priv, k["pub"]: nxt_pub, k["kid"]: self._data(k["next_kid"]),
                    k["prev_pub"]: cur_pub, k["prev_kid"]: self._data(k["kid"]) or jwt_keys.kid_of(cur_pub),
                    k["next_priv"]: None, k["next_pub"]: None, k["next_kid"]: None,
                    k["jwks"]: jwt_keys.jwks(nxt_pub, cur_pub)},
                    extra_annotations={SECRETS_VERSION_ANNOTATION: st["secrets_version"]})
            elif phase == "promoting":
                if outcome := self._would(result, "would-resume"):
                    return outcome
                st = self._roll_stamped(st["secrets_version"], "promoted_at")
                self._record("promoted", state=st, extra_annotations={self.last_ann: st["promoted_at"]})
            elif phase == "promoted":
                promoted_at = parse_iso(st.get("promoted_at")) or now
                left = opts.jwt_max_token_lifetime - (now - promoted_at).total_seconds()
                if left > 0:
                    result["waiting"] = (f"previous key kept for the token overlap; dropped after "
                                         f"{iso(promoted_at)} + jwt_max_token_lifetime ({left:.0f}s left)")
                    return "waiting"
                if outcome := self._would(result, "would-drop-previous"):
                    return outcome
                st["secrets_version"] = f"{opts.key}.v{st['version']}.{st['id']}.dropped"
                self._record("dropping", state=st, data={
                    k["prev_pub"]: None, k["prev_kid"]: None, k["jwks"]: jwt_keys.jwks(self._data(k["pub"]))},
                    extra_annotations={SECRETS_VERSION_ANNOTATION: st["secrets_version"]})
            elif phase == "dropping":
                if outcome := self._would(result, "would-resume"):
                    return outcome
                st = self._roll_stamped(st["secrets_version"], "finished")
                self._record("completed", state=st)
                return "completed"
            else:
                if not self._data(k["priv"]):
                    if not wanted:
                        return "not-due"
                    raise RotationError(f"Secret {opts.secret_name} has no {k['priv']}: the secrets role creates the "
                                        "first JWT key pair; rotation only replaces it")
                if not wanted:
                    return "not-due"
                if outcome := self._would(result, "would-rotate"):
                    return outcome
                cur_priv = self._data(k["priv"])
                cur_pub = self._data(k["pub"]) or jwt_keys.public_from_private(cur_priv)
                alg, bits = jwt_keys.algorithm_of(cur_pub)
                if opts.jwt_algorithm != "auto":
                    alg, bits = opts.jwt_algorithm, (bits if opts.jwt_algorithm == alg else 0)
                nxt_priv, nxt_pub = jwt_keys.generate(alg, rsa_bits=max(bits, 3072) if alg == "RS256" else 3072)
                self._remember(nxt_priv)
                st = self._new_state(new_rotation_id())
                st.update(fp_before=self._fp(cur_priv), fp_after=self._fp(nxt_priv),
                          kid_before=jwt_keys.kid_of(cur_pub), kid_after=jwt_keys.kid_of(nxt_pub))
                result["kid_before"], result["kid_after"] = st["kid_before"], st["kid_after"]
                self._record("next-staged", state=st, data={
                    k["next_priv"]: nxt_priv, k["next_pub"]: nxt_pub, k["next_kid"]: st["kid_after"],
                    k["kid"]: st["kid_before"], k["pub"]: cur_pub, k["jwks"]: jwt_keys.jwks(nxt_pub, cur_pub)},
                    extra_annotations={SECRETS_VERSION_ANNOTATION: st["secrets_version"]})

    # ---- external -----------------------------------------------------------------------------
    def _external(self, wanted: bool, result: dict[str, Any]) -> str:
        key, prev_key, opts = self.opts.key, f"{self.opts.key}-previous", self.opts
        st = self.state
        if st.get("phase") == "secret-updated":
            if outcome := self._would(result, "would-resume"):
                return outcome
            self._roll(st["secrets_version"])
            return self._external_done()
        if opts.rollback:
            previous = self._data(prev_key)
            if not previous:
                result["msg"] = f"nothing to roll back: the Secret has no {prev_key}"
                return "unchanged"
            if outcome := self._would(result, "would-roll-back"):
                return outcome
            st = self._new_state(new_rotation_id())
            st.update(action="rollback", fp_before=self._fp(self._data(key)), fp_after=self._fp(previous))
            self._record("secret-updated", state=st, data={key: previous, prev_key: None},
                         extra_annotations={SECRETS_VERSION_ANNOTATION: st["secrets_version"]})
            self._roll(st["secrets_version"])
            return self._external_done()
        if not wanted:
            return "not-due"
        current = self._data(key)
        if not opts.new_value:  # an unset environment variable or an empty file: no value
            raise RotationError(f"key {key} is due but its new value is empty (unset variable or empty file?); "
                                "nothing was changed: feed it from a vaulted variable, a file, the environment or "
                                "a lookup", phase="preflight")
        if current is not None and hmac.compare_digest(to_bytes(current), to_bytes(opts.new_value)):
            self.warnings.append(f"{key} is due but new_value equals the current value: issue a new credential")
            return "unchanged"
        if outcome := self._would(result, "would-rotate"):
            return outcome
        st = self._new_state(new_rotation_id())
        st.update(fp_before=self._fp(current), fp_after=self._fp(opts.new_value))
        data = {key: opts.new_value}
        if current is not None:
            data[prev_key] = current
        self._record("secret-updated", state=st, data=data,
                     extra_annotations={SECRETS_VERSION_ANNOTATION: st["secrets_version"]})
        self._roll(st["secrets_version"])
        return self._external_done()

    def _external_done(self) -> str:
        st = self.state
        st["finished"] = iso(utcnow())
        self._record("completed", state=st, extra_annotations={self.last_ann: st["finished"]})
        return "completed"


def run_rotation(kube, opts: Options, **kwargs) -> dict[str, Any]:
    """Run one rotation step sequence for (opts.secret_name, opts.key); never raises RotationError."""
    try:
        return Rotation(kube, opts, **kwargs).run()
    except RotationError as exc:
        values = [opts.new_value, opts.audit_key, opts.redis.admin_password if opts.redis else None]
        return {"failed": True, "changed": False, "msg": redact(str(exc), values), "kind": opts.kind, "key": opts.key}

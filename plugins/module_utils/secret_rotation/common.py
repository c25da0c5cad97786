"""Shared helpers: time, schedules, keyed fingerprints, redaction and the fault hook."""

from __future__ import annotations

import base64
import datetime as _dt
import hashlib
import hmac
import json
import os
import re
import secrets
import signal

# Annotation and label names (metadata only: never a value).
ANNOTATION_PREFIX = "rotation.agentic.platform/"
SECRETS_VERSION_ANNOTATION = "agentic.platform/secrets-version"
LEGACY_LAST_ROTATED_ANNOTATION = "agentic.platform/last-rotated"
LAST_ROTATED_SUFFIX = ".last-rotated"
SCHEDULE_LABEL = "rotation-schedule"

SCHEDULES = {
    "daily": _dt.timedelta(days=1),
    "weekly": _dt.timedelta(days=7),
    "monthly": _dt.timedelta(days=30),
    "quarterly": _dt.timedelta(days=90),
}

# The keys the redis and jwt kinds rotate by default (external keys may not use them).
REDIS_KEY = "redis-password"
JWT_PREFIX = "jwt"
SLOT_SUFFIXES = ("-next", "-previous")


def owned_by_other_kinds(key: str, redis_admin_key: str = "redis-admin-password") -> str | None:
    """Why an external key may not be ``key``: the redis and jwt kinds own their keys and every
    slot derived from them, and ``-next``/``-previous`` name the slots of a rotation."""
    if key in (REDIS_KEY, redis_admin_key) or key.startswith(REDIS_KEY + "-"):
        return f"{key!r} belongs to the redis kind (the Redis ACL holds it)"
    if key == JWT_PREFIX or key.startswith(JWT_PREFIX + "-"):
        return f"{key!r} belongs to the jwt kind (keys {JWT_PREFIX}-*)"
    if key.endswith(SLOT_SUFFIXES):
        return f"{key!r} names a rotation slot (-next / -previous of another key)"
    return None


# Values shorter than this are not searched for in messages (they would match ordinary words).
MIN_SECRET_LEN = 8

FAULT_ENV = "AGENTIC_ROTATION_FAULT_AFTER_PHASE"


class RotationError(Exception):
    """A rotation failed; the message never contains a secret value."""

    def __init__(self, msg: str, *, phase: str | None = None, left_state: str | None = None):
        super().__init__(msg)
        self.phase = phase
        self.left_state = left_state


def utcnow() -> _dt.datetime:
    return _dt.datetime.now(_dt.UTC).replace(microsecond=0)


def iso(ts: _dt.datetime) -> str:
    return ts.astimezone(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(text: str | None) -> _dt.datetime | None:
    if not text:
        return None
    try:
        return _dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=_dt.UTC)
    except ValueError:
        try:
            parsed = _dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=_dt.UTC)


def new_rotation_id(now: _dt.datetime | None = None) -> str:
    now = now or utcnow()
    return f"{now.strftime('%Y%m%dt%H%M%Sz')}-{secrets.token_hex(3)}"


def schedule_interval(schedule: str) -> _dt.timedelta:
    try:
        return SCHEDULES[schedule]
    except KeyError:
        raise RotationError(
            f"rotation schedule {schedule!r} is not one of {', '.join(SCHEDULES)} "
            f"(set the Secret label {SCHEDULE_LABEL} or the module option schedule)"
        ) from None


def is_due(schedule: str, last_rotated: _dt.datetime | None, now: _dt.datetime) -> tuple[bool, _dt.datetime | None]:
    """Return (due, next_due). A key never rotated is due at once."""
    interval = schedule_interval(schedule)
    if last_rotated is None:
        return True, None
    next_due = last_rotated + interval
    return now >= next_due, next_due


def to_bytes(value: str | bytes) -> bytes:
    """A Secret value as its bytes: values are decoded with surrogateescape (see ``unb64``), so a
    value that is not UTF-8 text round-trips unchanged."""
    return value.encode("utf-8", "surrogateescape") if isinstance(value, str) else value


def is_text(value: str) -> bool:
    """Whether a decoded Secret value is UTF-8 text (not bytes carried by surrogateescape)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def fingerprint(key: bytes, value: str | bytes | None) -> str | None:
    """Keyed fingerprint (HMAC-SHA256, 128 bits shown): safe for low-entropy values."""
    if value is None or key is None:
        return None
    return "hmac-sha256:" + hmac.new(key, to_bytes(value), hashlib.sha256).hexdigest()[:32]


def generate_password(nbytes: int = 32) -> str:
    return secrets.token_urlsafe(nbytes)


def b64(value: str | bytes) -> str:
    return base64.b64encode(to_bytes(value)).decode()


def unb64(value: str | None) -> str | None:
    """A Secret's data value as text; bytes that are not UTF-8 (legal in a Secret) are kept as
    surrogates, so ``b64(unb64(v)) == v`` for every value."""
    if value is None:
        return None
    return base64.b64decode(value).decode("utf-8", "surrogateescape")


def forms(value: str) -> set[str]:
    """How a value can appear in text we write: as is, base64, JSON-escaped (a multi-line PEM in
    a JSON record), and each long line of a multi-line value (a PEM's body lines are secret)."""
    out = {value, b64(value), json.dumps(value)[1:-1]}
    out |= {line for line in value.splitlines() if len(line) >= 2 * MIN_SECRET_LEN and not line.startswith("-----")}
    return {f for f in out if len(f) >= MIN_SECRET_LEN}


def redact(text: str, values) -> str:
    """Replace every known secret value (plain and base64) in text by ********."""
    out = str(text)
    for value in values:
        if not value or len(value) < MIN_SECRET_LEN:
            continue
        for form in sorted(forms(value), key=len, reverse=True):
            out = out.replace(form, "********")
    return out


_ANNOTATION_NAME = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")


def annotation_names(slot: str) -> tuple[str, str]:
    """(state annotation, last-rotated annotation) for one rotated slot."""
    if not _ANNOTATION_NAME.match(slot) or len(slot) + len(LAST_ROTATED_SUFFIX) > 63:
        raise RotationError(f"key {slot!r} cannot name an annotation: use letters, digits, '-', '_' or '.'")
    return ANNOTATION_PREFIX + slot, ANNOTATION_PREFIX + slot + LAST_ROTATED_SUFFIX


def fault_hook(phase: str, recorded: bool = True) -> None:
    """Test hook: simulate the run being killed at a phase boundary.

    With AGENTIC_ROTATION_FAULT_AFTER_PHASE=<phase> the process is killed (SIGKILL) right
    after <phase> is recorded on the Secret; with <phase>! it is killed after the phase's
    action but before it is recorded. Unset (always, outside tests) it does nothing.
    """
    wanted = os.environ.get(FAULT_ENV)
    if not wanted:
        return
    if wanted == (phase if recorded else phase + "!"):
        os.kill(os.getpid(), signal.SIGKILL)

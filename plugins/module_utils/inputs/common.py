"""What the step checks share: value coercion like Jinja's filters, Kubernetes name formats."""

from __future__ import annotations

import re

from ansible_collections.agentic.platform.plugins.module_utils.quantity import parse_quantity  # noqa: F401 (re-export)


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING = _Missing()  # an undefined variable

DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")
LABEL_KEY = re.compile(r"^([a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$")


class Problems(list):
    """The messages of one step's check, in order."""

    def add(self, ok: bool, message: str) -> bool:
        if not ok:
            self.append(message)
        return ok


def as_int(value) -> int | None:
    """Like Jinja's ``| int`` but None where that would silently give 0 (not a whole number)."""
    if isinstance(value, bool) or value is None or value is MISSING:
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else None
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            return None
    return None


def as_number(value) -> float | None:
    """An int or float (or a string of one), else None; never a bool."""
    if isinstance(value, bool) or value is None or value is MISSING:
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


def text(value) -> str:
    """The value as a message shows it."""
    return "(undefined)" if value is MISSING else str(value)


def is_label_value(value) -> bool:
    return isinstance(value, str | int | float) and not isinstance(value, bool) and bool(LABEL_VALUE.match(str(value)))


def is_labels(value) -> bool:
    """A mapping of label keys to label values."""
    return isinstance(value, dict) and all(isinstance(k, str) and LABEL_KEY.match(k) and is_label_value(v)
                                           for k, v in value.items())


def plain(value):
    """A value from Ansible (tagged or lazy containers) as plain Python data."""
    if isinstance(value, bool) or value is None or value is MISSING:
        return value
    if isinstance(value, dict):
        return {plain(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, str):
        return str(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    return value

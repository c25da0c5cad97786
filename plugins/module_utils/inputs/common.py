"""What the step checks share: value coercion like Jinja's filters, and one validator per kind of
value (Kubernetes names, label keys and values, taints and tolerations, CIDRs, quantities and
resources, Secret keys, PEM certificates and keys, bounded numbers), used by every step that has
a variable of that kind. The formats and lengths are the API server's (k8s.io/apimachinery
validation), so that a value the cluster would refuse is refused before any write."""

from __future__ import annotations

import ipaddress
import json
import math
import re

from ansible_collections.agentic.platform.plugins.module_utils.quantity import parse_quantity


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING = _Missing()  # an undefined variable

DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
# Dot-separated DNS-1123 labels, at most 253 characters (the lookahead).
DNS1123_SUBDOMAIN = re.compile(r"^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
# [DNS-1123 subdomain/]name, the name at most 63 characters.
LABEL_KEY = re.compile(r"^((?=[^/]{1,253}/)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
                       r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$")
# A key of a Secret or ConfigMap, which becomes a file name when mounted (IsConfigMapKey).
SECRET_KEY = re.compile(r"^(?!\.\.?$)(?!\.\.)[-._a-zA-Z0-9]{1,253}$")
# An OCI image reference: [registry[:port]/]path[:tag][@sha256:digest], never the tag latest.
IMAGE_REFERENCE = re.compile(
    r"^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]{1,5})?/)?"
    r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*"
    r"(?::(?!latest$)[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$")
_TAG = re.compile(r":[^/]+$")
TAINT_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")
TOLERATION_OPERATORS = ("Exists", "Equal")


class Problems(list):
    """The messages of one step's check, in order."""

    def add(self, ok: bool, message: str) -> bool:
        if not ok:
            self.append(message)
        return ok


def _number(value, from_number, from_text):
    """``from_number`` of an int or float, ``from_text`` of a string (None where it raises
    ValueError), else None; never a bool."""
    if isinstance(value, bool) or value is None or value is MISSING:
        return None
    if isinstance(value, int | float):
        return from_number(value)
    if isinstance(value, str):
        try:
            return from_text(value.strip())
        except ValueError:
            return None
    return None


def _whole(value: int | float) -> int | None:
    if isinstance(value, int):
        return value
    return int(value) if value.is_integer() else None


def as_int(value) -> int | None:
    """Like Jinja's ``| int`` but None where that would silently give 0 (not a whole number)."""
    return _number(value, _whole, int)


def as_number(value) -> float | None:
    """An int or float (or a string of one), else None; never a bool."""
    return _number(value, float, float)


def text(value) -> str:
    """The value as a message shows it."""
    return "(undefined)" if value is MISSING else str(value)


def full(pattern: re.Pattern, value) -> bool:
    """The value is a string that the pattern matches whole (a trailing newline does not)."""
    return isinstance(value, str) and pattern.fullmatch(value) is not None


def is_label_key(value) -> bool:
    return full(LABEL_KEY, value)


def is_label_value(value) -> bool:
    return isinstance(value, str | int | float) and not isinstance(value, bool) and full(LABEL_VALUE, str(value))


def is_labels(value) -> bool:
    """A mapping of label keys to label values."""
    return isinstance(value, dict) and all(is_label_key(k) and is_label_value(v) for k, v in value.items())


def is_image_reference(value) -> bool:
    """An image reference with a tag other than latest, or a sha256 digest."""
    return (isinstance(value, str) and IMAGE_REFERENCE.fullmatch(value) is not None
            and (_TAG.search(value) is not None or "@sha256:" in value))


def is_secret_key(value) -> bool:
    """A Secret/ConfigMap key: a file name once mounted (not '.', '..' or starting with '..')."""
    return full(SECRET_KEY, value)


def is_taint(value) -> bool:
    """A node taint {key, value?, effect} the API server accepts."""
    return (isinstance(value, dict) and set(value) <= {"key", "value", "effect"} and is_label_key(value.get("key"))
            and is_label_value(value.get("value", "")) and value.get("effect") in TAINT_EFFECTS)


def is_toleration(value) -> bool:
    """A pod toleration the API server accepts: a key unless the operator is Exists, no value with
    Exists, tolerationSeconds only with NoExecute."""
    if not isinstance(value, dict) or not set(value) <= {"key", "operator", "value", "effect", "tolerationSeconds"}:
        return False
    operator = value.get("operator", "Equal")
    key = value.get("key", "")
    seconds = value.get("tolerationSeconds")
    return (operator in TOLERATION_OPERATORS
            and (is_label_key(key) or (key == "" and operator == "Exists"))
            and (is_label_value(value.get("value", "")) if operator == "Equal" else value.get("value", "") == "")
            and value.get("effect", "") in ("", *TAINT_EFFECTS)
            and (seconds is None or (value.get("effect") == "NoExecute" and as_int(seconds) is not None)))


def ip_network(value):
    """The network a CIDR string names (a.b.c.d/n or an IPv6 one, host bits zero), else None."""
    if not isinstance(value, str) or "/" not in value:
        return None
    try:
        return ipaddress.ip_network(value, strict=True)
    except ValueError:
        return None


def cidr_block_problem(value) -> str | None:
    """What is wrong with a NetworkPolicy ipBlock {cidr, except: [...]}: every except must be a CIDR
    strictly inside cidr, as the API server requires."""
    if not isinstance(value, dict) or not set(value) <= {"cidr", "except"}:
        return f"{to_text(value)} is not {{cidr, except}}"
    network = ip_network(value.get("cidr"))
    if network is None:
        return f"cidr '{text(value.get('cidr'))}' is not a CIDR (a.b.c.d/n with the host bits zero)"
    excepts = value.get("except", [])
    if not isinstance(excepts, list):
        return f"except of {network} must be a list of CIDRs"
    for entry in excepts:
        inner = ip_network(entry)
        if inner is None or inner.version != network.version or not inner.subnet_of(network) or inner == network:
            return f"except '{text(entry)}' must be a CIDR strictly inside {network}"
    return None


def quantity(value) -> float | None:
    """The value of a Kubernetes quantity (a string like 500m or 1Gi, or a number), else None."""
    number = parse_quantity(value) if not (isinstance(value, str) and value != value.strip()) else None
    return None if number is None or math.isnan(number) else number  # NaN is no quantity


def resources_problem(value, kinds=("cpu", "memory", "ephemeral-storage")) -> str | None:
    """What is wrong with a container's resources {requests, limits}: resource names among kinds,
    positive quantities, each request at most its limit (the API server refuses the pod otherwise)."""
    if not isinstance(value, dict) or not set(value) <= {"requests", "limits"}:
        return "must be {requests: {...}, limits: {...}}"
    parts = {part: value.get(part, {}) for part in ("requests", "limits")}
    for part, entries in parts.items():
        if not isinstance(entries, dict):
            return f"{part} must be a map of resource names to quantities"
        for name, amount in entries.items():
            if name not in kinds:
                return f"{part}.{name}: only {', '.join(kinds)} may be set"
            number = quantity(amount)
            if number is None or number <= 0:
                return f"{part}.{name} '{text(amount)}' is not a positive Kubernetes quantity"
    for name, amount in parts["requests"].items():
        if name in parts["limits"] and quantity(amount) > quantity(parts["limits"][name]):
            return f"requests.{name} ({amount}) is above limits.{name} ({parts['limits'][name]})"
    return None


def ephemeral_storage_problem(request, limit) -> str | None:
    """What is wrong with a container's ephemeral-storage request and limit (both undefined: the
    role runs without them)."""
    if request is MISSING and limit is MISSING:
        return None
    amounts = {"request": quantity(request), "limit": quantity(limit)}
    for which, amount in amounts.items():
        if amount is None or amount <= 0:
            return f"the {which} '{text(request if which == 'request' else limit)}' is not a positive quantity"
    if amounts["request"] > amounts["limit"]:
        return f"the request ({request}) is above the limit ({limit})"
    return None


def with_ephemeral_storage(resources, request, limit):
    """Container resources with the ephemeral-storage request and limit merged in, as the roles
    render them (unchanged when those are undefined or not quantities)."""
    if not isinstance(resources, dict) or ephemeral_storage_problem(request, limit) or request is MISSING:
        return resources
    merged = {part: dict(resources.get(part) or {}) for part in ("requests", "limits")}
    merged["requests"]["ephemeral-storage"], merged["limits"]["ephemeral-storage"] = request, limit
    return merged


def bounded_int(value, low: int, high: int) -> bool:
    """A whole number (or a string of one) from low to high."""
    number = as_int(value)
    return number is not None and low <= number <= high


def to_text(value) -> str:
    """A value as JSON for a message (never use it on a secret)."""
    try:
        return json.dumps(value, default=str)
    except (TypeError, ValueError):
        return text(value)


def range_problems(v: dict, ranges) -> list[str]:
    """For each (variable, lowest, highest) of ranges whose value is not a whole number in that range, the message."""
    return [f"{name} must be a whole number from {low} to {high}, got '{text(v[name])}'"
            for name, low, high in ranges if not bounded_int(v[name], low, high)]


def mapping_problem(name: str, value, refused, rule: str) -> str | None:
    """What is wrong with a mapping variable: None when it is a mapping with no entry that
    ``refused(key, value)``; else the rule, after the refused entries (or the variable) it names."""
    bad = [k for k, item in value.items() if refused(k, item)] if isinstance(value, dict) else []
    if isinstance(value, dict) and not bad:
        return None
    where = ", ".join(f"{name}['{k}']" for k in bad) or name
    return f"{where}: {rule}"


def list_problems(name: str, value, problem_of, kind: str) -> list[str]:
    """What is wrong with a list variable: that it is no list (of kind), else each entry's
    ``problem_of(entry)`` (None for a good one), naming its index."""
    if not isinstance(value, list):
        return [f"{name} must be a list of {kind}, got {to_text(value)}"]
    return [f"{name}[{i}]: {problem}" for i, entry in enumerate(value) if (problem := problem_of(entry)) is not None]


_PEM_CERTIFICATE = re.compile(r"-----BEGIN CERTIFICATE-----")


def pem_certificates(value) -> list | None:
    """The X.509 certificates of a PEM bundle (at least one, nothing else in it), else None."""
    from cryptography import x509

    if not isinstance(value, str) or not _PEM_CERTIFICATE.search(value):
        return None
    body = value.strip()
    blocks = re.findall(r"-----BEGIN ([A-Z0-9 ]+)-----", body)
    if any(block != "CERTIFICATE" for block in blocks):
        return None
    try:
        return x509.load_pem_x509_certificates(body.encode())
    except ValueError:
        return None


def pem_private_key(value):
    """(the key, None) for an unencrypted PEM private key, else (None, why) (never the value)."""
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives import serialization

    if not isinstance(value, str) or "-----BEGIN" not in value:
        return None, "is not a PEM private key"
    if "ENCRYPTED" in value or "Proc-Type: 4,ENCRYPTED" in value:
        return None, "is an encrypted private key: give it unencrypted (keep it in Ansible Vault instead)"
    try:
        return serialization.load_pem_private_key(value.strip().encode(), password=None), None
    except TypeError:
        return None, "is an encrypted private key: give it unencrypted (keep it in Ansible Vault instead)"
    except (ValueError, UnsupportedAlgorithm):
        return None, "is not a readable PEM private key"


def public_key_bytes(key) -> bytes:
    """A public key (or a private key's public half) in one comparable form."""
    from cryptography.hazmat.primitives import serialization

    public = key.public_key() if hasattr(key, "private_bytes") else key
    return public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


SPEC_SCALAR_TYPES = {"str": (str, int, float), "path": (str,), "raw": None}


def spec_type_problems(options: dict, given: dict) -> list[str]:
    """What the argument spec lets through by converting: Ansible turns a list, a mapping or a
    boolean given for a str option into its text ("['a']", "True"); a value of the wrong kind is
    refused instead, naming the variable."""
    found = []
    for name, option in options.items():
        allowed = SPEC_SCALAR_TYPES.get((option or {}).get("type", "str"))
        if name not in given or allowed is None or given[name] is None:
            continue
        value = given[name]
        if isinstance(value, bool) or not isinstance(value, allowed):
            # The type only, never the value: the variable may hold a secret.
            kind = "boolean" if isinstance(value, bool) else "list" if isinstance(value, list | tuple) \
                else "mapping" if isinstance(value, dict) else type(value).__name__
            found.append(f"{name} must be a string, got a {kind} (quote it in YAML if it is meant as text)")
    return found


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

"""Kubernetes resource quantities ("250m", "1Gi", "2", "1e3")."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

_SUFFIX = {
    "": 1, "n": Decimal("1e-9"), "u": Decimal("1e-6"), "m": Decimal("1e-3"),
    "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15, "E": 10**18,
    "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60,
}
# The grammar of k8s.io/apimachinery/pkg/api/resource: sign, digits, optional fraction,
# then a binary/decimal suffix or a decimal exponent.
_QUANTITY = re.compile(r"^([+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?[0-9]+)?$")


def parse_quantity(value) -> float | None:
    """The numeric value of a Kubernetes quantity, or None when it is not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if not isinstance(value, str):
        return None
    match = _QUANTITY.match(value.strip())
    if not match:
        return None
    number, suffix = match.group(1), match.group(2) or ""
    try:
        base = Decimal(number)
        if suffix[:1] in ("e", "E"):
            return float(base * (Decimal(10) ** int(suffix[1:])))
        return float(base * Decimal(_SUFFIX[suffix]))
    except (InvalidOperation, OverflowError, ValueError):
        return None

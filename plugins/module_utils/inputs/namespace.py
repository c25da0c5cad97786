"""The namespace step (role namespace): governance labels, quota, LimitRange, NetworkPolicy inputs."""

from __future__ import annotations

import math
import re

from ansible_collections.agentic.platform.plugins.module_utils.inputs.common import (
    DNS1123_LABEL,
    LABEL_KEY,
    LABEL_VALUE,
    Problems,
    parse_quantity,
    text,
)

VARIABLES = (
    "namespace_compliance", "namespace_cost_center", "namespace_owner", "namespace_extra_labels",
    "namespace_quota_hard", "namespace_limit_default", "namespace_limit_default_request", "namespace_limit_max",
    "namespace_agent_pod_labels", "namespace_redis_pod_labels", "namespace_dns_pod_labels",
    "namespace_redis_port", "namespace_agent_api_ports", "namespace_agent_metrics_port",
    "namespace_agent_egress_ports", "namespace_agent_egress_cidrs", "namespace_monitoring_namespace",
    "namespace_dns_namespace",
)

# Labels the role sets on the Namespace: namespace_extra_labels may not override them.
GOVERNANCE_LABELS = ("environment", "compliance", "cost-center", "owner")
OWN_LABEL_PREFIX = re.compile(r"(pod-security|app)\.kubernetes\.io/")
QUOTA_KEY = re.compile(r"^[a-z0-9]([-a-z0-9./]*[a-z0-9])?$")
# limits.<extended resource>: accepted by the API server, never enforced (kubernetes.io/ ones are native).
QUOTA_LIMITS_EXTENDED = re.compile(r"^limits\.[^/]*/")
QUOTA_MAX = 1e15
LIMIT_RESOURCES = ("cpu", "memory", "ephemeral-storage")
CIDR = re.compile(r"^([0-9]{1,3}(\.[0-9]{1,3}){3}|[0-9a-fA-F:]+)/[0-9]{1,3}$")
PORT = re.compile(r"^[0-9]{1,5}$")

_LABEL_VALUE_RULE = ("is not a Kubernetes label value: at most 63 characters of letters, digits, '-', '_' and '.', "
                     "starting and ending with a letter or digit")
_LIMITS_RULE = ("must map cpu, memory or ephemeral-storage to positive Kubernetes quantities "
                '(like {cpu: "500m", memory: 1Gi})')
_PORTS_RULE = "must be TCP port numbers between 1 and 65535"


def _full(pattern: re.Pattern, value) -> bool:
    return isinstance(value, str) and pattern.fullmatch(value) is not None


def _label_value(value) -> bool:
    """A label value as a quoted template renders it (a string or a number, never a bool or null)."""
    return isinstance(value, str | int | float) and not isinstance(value, bool) and _full(LABEL_VALUE, str(value))


def _quantity(value) -> float | None:
    number = parse_quantity(value)
    return None if number is None or math.isnan(number) else number


def _positive_quantities(value) -> dict:
    """The entries of a map whose values are positive quantities (the comparable ones)."""
    if not isinstance(value, dict):
        return {}
    return {k: q for k, q in ((k, _quantity(v)) for k, v in value.items()) if q is not None and q > 0}


def _port(value) -> bool:
    return not isinstance(value, bool) and isinstance(value, int | str) and _full(PORT, str(value)) \
        and 1 <= int(value) <= 65535


def _ports(value) -> bool:
    return isinstance(value, list) and len(value) > 0 and all(_port(p) for p in value)


def _selector_labels(value) -> bool:
    """A non-empty matchLabels map (rendered as JSON: the values must be strings)."""
    return isinstance(value, dict) and len(value) > 0 and all(
        _full(LABEL_KEY, k) and isinstance(v, str) and _full(LABEL_VALUE, v) for k, v in value.items())


def _cidr_entry_ok(entry) -> bool:
    if not isinstance(entry, dict) or not _full(CIDR, entry.get("cidr")):
        return False
    if "except" not in entry:
        return True
    return isinstance(entry["except"], list) and all(_full(CIDR, c) for c in entry["except"])


def check(v: dict) -> list[str]:
    p = Problems()

    for name in ("namespace_compliance", "namespace_cost_center", "namespace_owner"):
        p.add(_label_value(v[name]), f"{name} '{text(v[name])}' {_LABEL_VALUE_RULE}")

    extra = v["namespace_extra_labels"]
    extra_bad = [k for k, value in extra.items()
                 if not _full(LABEL_KEY, k) or not _label_value(value) or k in GOVERNANCE_LABELS
                 or OWN_LABEL_PREFIX.match(k)] if isinstance(extra, dict) else []
    where = ", ".join(f"namespace_extra_labels['{k}']" for k in extra_bad) or "namespace_extra_labels"
    p.add(isinstance(extra, dict) and not extra_bad,
          f"{where}: keys must be label keys ([prefix/]name) other than the governance, "
          "pod-security.kubernetes.io/ and app.kubernetes.io/ labels the role sets; values must be label values "
          "(at most 63 characters of letters, digits, '-', '_', '.')")

    quota = v["namespace_quota_hard"]
    quota_bad = []
    if isinstance(quota, dict):
        for k, value in quota.items():
            number = _quantity(value)
            if (not _full(QUOTA_KEY, k) or number is None or number < 0 or number >= QUOTA_MAX
                    or (QUOTA_LIMITS_EXTENDED.match(k) and "kubernetes.io/" not in k)):
                quota_bad.append(k)
    where = ", ".join(f"namespace_quota_hard['{k}'] = '{quota[k]}'" for k in quota_bad) or "namespace_quota_hard"
    p.add(isinstance(quota, dict) and not quota_bad,
          f"{where}: quota values must be non-negative Kubernetes quantities below 1e15 "
          '(like "100", "400Gi", "500m"); extended resources such as nvidia.com/gpu take only the requests. '
          "prefix (the API server accepts limits.<extended> but never enforces it)")
    # A quantity that is not one fails the check above; these compare only valid ones.
    valid = {k: _quantity(value) for k, value in quota.items() if k not in quota_bad} if isinstance(quota, dict) else {}
    for resource in ("cpu", "memory"):
        request, limit = valid.get(f"requests.{resource}"), valid.get(f"limits.{resource}")
        p.add(request is None or limit is None or request <= limit,
              f"namespace_quota_hard['requests.{resource}'] must not exceed namespace_quota_hard['limits.{resource}']")

    for name in ("namespace_limit_default", "namespace_limit_default_request", "namespace_limit_max"):
        value = v[name]
        p.add(isinstance(value, dict) and len(value) > 0 and all(k in LIMIT_RESOURCES for k in value)
              and all((q := _quantity(x)) is not None and q > 0 for x in value.values()), f"{name} {_LIMITS_RULE}")
    # defaultRequest <= default <= max, compared where both sides are quantities (the checks above catch the rest).
    request, default, maximum = (_positive_quantities(v[name]) for name in (
        "namespace_limit_default_request", "namespace_limit_default", "namespace_limit_max"))
    for resource in LIMIT_RESOURCES:
        low, mid, high = request.get(resource), default.get(resource), maximum.get(resource)
        p.add((low is None or mid is None or low <= mid) and (mid is None or high is None or mid <= high),
              f"namespace_limit_default_request['{resource}'] <= namespace_limit_default['{resource}'] "
              f"<= namespace_limit_max['{resource}'] must hold")

    for name in ("namespace_agent_pod_labels", "namespace_redis_pod_labels", "namespace_dns_pod_labels"):
        p.add(_selector_labels(v[name]), f"{name} must be a non-empty map of label keys to label values")

    # One port, or a non-empty list of them; the message shows a single port as a one-element list.
    for name, many in (("namespace_redis_port", False), ("namespace_agent_api_ports", True),
                       ("namespace_agent_metrics_port", False), ("namespace_agent_egress_ports", True)):
        p.add(_ports(v[name]) if many else _port(v[name]),
              f"{name} {_PORTS_RULE}, got {text(v[name]) if many else [v[name]]}")

    cidrs = v["namespace_agent_egress_cidrs"]
    cidrs_bad = [e for e in cidrs if not _cidr_entry_ok(e)] if isinstance(cidrs, list) else [cidrs]
    p.add(not cidrs_bad, "namespace_agent_egress_cidrs entries must be {cidr: <a.b.c.d/n>, except: [<cidr>, ...]}, "
                         f"got {', '.join(text(e) for e in cidrs_bad)}")

    for name in ("namespace_monitoring_namespace", "namespace_dns_namespace"):
        p.add(_full(DNS1123_LABEL, v[name]), f"{name} '{text(v[name])}' must be a namespace name (a DNS-1123 label)")
    return p

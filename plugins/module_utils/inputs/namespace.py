"""The namespace step (role namespace): governance labels, quota, LimitRange, NetworkPolicy inputs."""

from __future__ import annotations

import math
import re

from ansible_collections.agentic.platform.plugins.module_utils.inputs.common import (
    DNS1123_LABEL,
    LABEL_KEY,
    LABEL_VALUE,
    MISSING,
    Problems,
    as_int,
    cidr_block_problem,
    full,
    is_label_value,
    is_labels,
    list_problems,
    mapping_problem,
    parse_quantity,
    quantity,
    resources_problem,
    text,
    to_text,
    with_ephemeral_storage,
)

VARIABLES = (
    "namespace_compliance", "namespace_cost_center", "namespace_owner", "namespace_extra_labels",
    "namespace_quota_hard", "namespace_limit_default", "namespace_limit_default_request", "namespace_limit_max",
    "namespace_agent_pod_labels", "namespace_redis_pod_labels", "namespace_dns_pod_labels",
    "namespace_redis_port", "namespace_agent_api_ports", "namespace_agent_metrics_port",
    "namespace_agent_egress_ports", "namespace_agent_egress_cidrs", "namespace_monitoring_namespace",
    "namespace_dns_namespace", "namespace_agent_api_peers", "namespace_pod_security_version",
    "namespace_quota_enabled", "namespace_rotation_pod_labels", "namespace_apiserver_cidrs",
    "namespace_apiserver_ports", "namespace_istiod_namespace", "namespace_istiod_pod_labels", "namespace_istiod_ports",
    # What the stack's own pods request (other steps; MISSING when the role runs alone): the quota
    # and the LimitRange must admit them.
    "agent_replicas", "agent_resources", "agent_gpu_count", "agent_gpu_resource", "redis_resources",
    "autoscaling_min_replicas", "agent_ephemeral_storage_request", "agent_ephemeral_storage_limit",
    "redis_ephemeral_storage_request", "redis_ephemeral_storage_limit",
)

# Labels the role sets on the Namespace: namespace_extra_labels may not override them.
GOVERNANCE_LABELS = ("environment", "compliance", "cost-center", "owner")
OWN_LABEL_PREFIX = re.compile(r"(pod-security|app)\.kubernetes\.io/")
QUOTA_KEY = re.compile(r"^[a-z0-9]([-a-z0-9./]*[a-z0-9])?$")
# limits.<extended resource>: accepted by the API server, never enforced (kubernetes.io/ ones are native).
QUOTA_LIMITS_EXTENDED = re.compile(r"^limits\.[^/]*/")
# requests.<class>.deviceclass.resource.k8s.io/devices: accepted, never counted
# (tests/integration/test_gpu_dra_scheduling.py);
# DRA devices are counted under <class>.deviceclass.resource.k8s.io/devices.
QUOTA_REQUESTS_DEVICES = re.compile(r"^requests\..*\.deviceclass\.resource\.k8s\.io/devices$")
QUOTA_MAX = 1e15
LIMIT_RESOURCES = ("cpu", "memory", "ephemeral-storage")
PORT = re.compile(r"^[0-9]{1,5}$")
# Pod Security admission versions: latest or v1.<minor>.
POD_SECURITY_VERSION = re.compile(r"^(latest|v1\.[0-9]{1,3})$")
PEER_KEYS = ("podSelector", "namespaceSelector", "ipBlock")
SELECTOR_OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist")

_LABEL_VALUE_RULE = ("is not a Kubernetes label value: at most 63 characters of letters, digits, '-', '_' and '.', "
                     "starting and ending with a letter or digit")
_LIMITS_RULE = ("must map cpu, memory or ephemeral-storage to positive Kubernetes quantities "
                '(like {cpu: "500m", memory: 1Gi})')
_PORTS_RULE = "must be TCP port numbers between 1 and 65535"


def _quantity(value) -> float | None:
    number = parse_quantity(value)
    return None if number is None or math.isnan(number) else number


def _positive_quantities(value) -> dict:
    """The entries of a map whose values are positive quantities (the comparable ones)."""
    if not isinstance(value, dict):
        return {}
    return {k: q for k, q in ((k, _quantity(v)) for k, v in value.items()) if q is not None and q > 0}


def _port(value) -> bool:
    return not isinstance(value, bool) and isinstance(value, int | str) and full(PORT, str(value)) \
        and 1 <= int(value) <= 65535


def _ports(value) -> bool:
    return isinstance(value, list) and len(value) > 0 and all(_port(p) for p in value)


def _selector_labels(value) -> bool:
    """A non-empty matchLabels map (rendered as JSON: the values must be strings)."""
    return isinstance(value, dict) and len(value) > 0 and all(
        full(LABEL_KEY, k) and isinstance(v, str) and full(LABEL_VALUE, v) for k, v in value.items())


def _label_selector(value) -> bool:
    """A LabelSelector {matchLabels, matchExpressions} (empty selects everything, as in Kubernetes)."""
    if not isinstance(value, dict) or not set(value) <= {"matchLabels", "matchExpressions"}:
        return False
    expressions = value.get("matchExpressions", [])
    return is_labels(value.get("matchLabels", {})) and isinstance(expressions, list) and all(
        isinstance(e, dict) and full(LABEL_KEY, e.get("key")) and e.get("operator") in SELECTOR_OPERATORS
        and isinstance(e.get("values", []), list)
        and (len(e.get("values", [])) > 0) == (e["operator"] in ("In", "NotIn"))
        and all(is_label_value(x) for x in e.get("values", []))
        for e in expressions)


def peer_problem(peer) -> str | None:
    """What is wrong with a NetworkPolicy peer: exactly ipBlock, or pod and/or namespace selectors."""
    if not isinstance(peer, dict) or not peer or not set(peer) <= set(PEER_KEYS):
        return f"{to_text(peer)} must have podSelector, namespaceSelector or ipBlock"
    if "ipBlock" in peer:
        if len(peer) > 1:
            return "ipBlock cannot be combined with a selector in one peer"
        return cidr_block_problem(peer["ipBlock"])
    for key in ("podSelector", "namespaceSelector"):
        if key in peer and not _label_selector(peer[key]):
            return f"{key} {to_text(peer[key])} is not a label selector {{matchLabels, matchExpressions}}"
    return None


def _requests_and_limits(resources) -> tuple[dict, dict]:
    """(requests, limits) as numbers, from a resources value that passed its step's check."""
    return tuple({k: quantity(q) for k, q in (resources.get(part) or {}).items()} for part in ("requests", "limits"))


def stack_problems(v: dict) -> list[str]:
    """The stack's own pods (agent x replicas, Redis) against the quota and the LimitRange, for the
    values their own checks accept (MISSING when those steps are not part of the run)."""
    found = []
    pods = []  # (variable, requests, limits, count)
    replicas = max(as_int(v["agent_replicas"]) or 0, as_int(v["autoscaling_min_replicas"]) or 0)
    for role, count in (("agent", replicas), ("redis", 1)):
        name = f"{role}_resources"
        resources = with_ephemeral_storage(v[name], v[f"{role}_ephemeral_storage_request"],
                                           v[f"{role}_ephemeral_storage_limit"])
        if resources is not MISSING and resources_problem(resources) is None and count > 0:
            pods.append((name, *_requests_and_limits(resources), count))
    maximum = _positive_quantities(v["namespace_limit_max"])
    default_limit = _positive_quantities(v["namespace_limit_default"])
    for name, requests, limits, _count in pods:
        for resource, ceiling in maximum.items():
            # A container without a limit gets namespace_limit_default, which must also hold its request.
            amount = limits.get(resource, requests.get(resource))
            if amount is not None and amount > ceiling:
                found.append(f"{name} {resource} ({amount:g}) is above namespace_limit_max['{resource}'] "
                             f"({ceiling:g}): the LimitRange would refuse the pod")
        for resource, request in requests.items():
            if resource not in limits and resource in default_limit and request > default_limit[resource]:
                found.append(f"{name} requests.{resource} is above namespace_limit_default['{resource}'], the limit "
                             "the LimitRange gives a container without one: set limits."
                             f"{resource} in {name}")
    quota = v["namespace_quota_hard"]
    if v["namespace_quota_enabled"] is False or not isinstance(quota, dict) or not pods:
        return found
    hard = {k: q for k, q in ((k, quantity(x)) for k, x in quota.items()) if q is not None}
    needed: dict[str, float] = {}
    for _name, requests, limits, count in pods:
        for part, values in (("requests", requests), ("limits", limits)):
            for resource, amount in values.items():
                needed[f"{part}.{resource}"] = needed.get(f"{part}.{resource}", 0) + amount * count
    needed["cpu"], needed["memory"] = needed.get("requests.cpu", 0), needed.get("requests.memory", 0)
    needed["pods"] = replicas + 1
    gpus, gpu_resource = as_int(v["agent_gpu_count"]), v["agent_gpu_resource"]
    if gpus and isinstance(gpu_resource, str):
        needed[f"requests.{gpu_resource}"] = gpus * replicas
    for key, amount in needed.items():
        if key in hard and amount > hard[key]:
            found.append(f"namespace_quota_hard['{key}'] ({quota[key]}) cannot admit the stack's own pods: "
                         f"agent_replicas/autoscaling_min_replicas ({replicas}) x agent_resources + redis_resources "
                         f"need {amount:g}")
    return found


def check(v: dict) -> list[str]:
    p = Problems()

    for name in ("namespace_compliance", "namespace_cost_center", "namespace_owner"):
        p.add(is_label_value(v[name]), f"{name} '{text(v[name])}' {_LABEL_VALUE_RULE}")

    problem = mapping_problem(
        "namespace_extra_labels", v["namespace_extra_labels"],
        lambda k, value: (not full(LABEL_KEY, k) or not is_label_value(value) or k in GOVERNANCE_LABELS
                          or OWN_LABEL_PREFIX.match(k)),
        "keys must be label keys ([prefix/]name) other than the governance, pod-security.kubernetes.io/ and "
        "app.kubernetes.io/ labels the role sets; values must be label values "
        "(at most 63 characters of letters, digits, '-', '_', '.')")
    p.add(problem is None, problem)

    quota = v["namespace_quota_hard"]
    quota_bad = []
    if isinstance(quota, dict):
        for k, value in quota.items():
            number = _quantity(value)
            if (not full(QUOTA_KEY, k) or number is None or number < 0 or number >= QUOTA_MAX
                    or (QUOTA_LIMITS_EXTENDED.match(k) and "kubernetes.io/" not in k)
                    or QUOTA_REQUESTS_DEVICES.match(k)):
                quota_bad.append(k)
    where = ", ".join(f"namespace_quota_hard['{k}'] = '{quota[k]}'" for k in quota_bad) or "namespace_quota_hard"
    p.add(isinstance(quota, dict) and not quota_bad,
          f"{where}: quota values must be non-negative Kubernetes quantities below 1e15 "
          '(like "100", "400Gi", "500m"); extended resources such as nvidia.com/gpu take only the requests. '
          "prefix (the API server accepts limits.<extended> but never enforces it); DRA devices take "
          "<deviceclass>.deviceclass.resource.k8s.io/devices, without requests. (accepted, never counted)")
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

    for name in ("namespace_agent_pod_labels", "namespace_redis_pod_labels", "namespace_dns_pod_labels",
                 "namespace_rotation_pod_labels", "namespace_istiod_pod_labels"):
        p.add(_selector_labels(v[name]), f"{name} must be a non-empty map of label keys to label values")

    # One port, or a non-empty list of them; the message shows a single port as a one-element list.
    for name, many in (("namespace_redis_port", False), ("namespace_agent_api_ports", True),
                       ("namespace_agent_metrics_port", False), ("namespace_agent_egress_ports", True),
                       ("namespace_apiserver_ports", True), ("namespace_istiod_ports", True)):
        p.add(_ports(v[name]) if many else _port(v[name]),
              f"{name} {_PORTS_RULE}, got {text(v[name]) if many else [v[name]]}")

    p.extend(list_problems("namespace_agent_egress_cidrs", v["namespace_agent_egress_cidrs"], cidr_block_problem,
                           "{cidr, except}"))
    p.extend(list_problems("namespace_apiserver_cidrs", v["namespace_apiserver_cidrs"], cidr_block_problem,
                           "{cidr, except}"))
    p.extend(list_problems("namespace_agent_api_peers", v["namespace_agent_api_peers"], peer_problem,
                           "NetworkPolicy peers"))

    version = v["namespace_pod_security_version"]
    p.add(full(POD_SECURITY_VERSION, version),
          f"namespace_pod_security_version '{text(version)}' must be latest or a Kubernetes minor version like v1.30")
    p.extend(stack_problems(v))

    for name in ("namespace_monitoring_namespace", "namespace_dns_namespace", "namespace_istiod_namespace"):
        p.add(full(DNS1123_LABEL, v[name]), f"{name} '{text(v[name])}' must be a namespace name (a DNS-1123 label)")
    return p

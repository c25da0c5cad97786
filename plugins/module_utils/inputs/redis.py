"""Redis, the agents' shared state (role redis).

Also the image reference check the agent step shares (IMAGE_REFERENCE, is_image_reference).
"""

from __future__ import annotations

import json
import re

from ansible_collections.agentic.platform.plugins.module_utils.inputs.common import (
    DNS1123_SUBDOMAIN,
    Problems,
    as_int,
    parse_quantity,
    text,
)

# An OCI image reference: [registry[:port]/]path[:tag][@sha256:digest], never the tag latest.
IMAGE_REFERENCE = re.compile(
    r"^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]{1,5})?/)?"
    r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*"
    r"(?::(?!latest$)[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$")
_TAG = re.compile(r":[^/]+$")
# ACL rules the agent user may be given: keys, channels and commands, no passwords or on/off.
ACL_RULES = re.compile(r"^(\s*(~\S+|%R?W?~\S+|&\S+|[+-]@?[a-zA-Z0-9|_-]+|allkeys|allchannels|allcommands|resetkeys"
                       r"|resetchannels|nocommands))+\s*$")
ACL_USER = re.compile(r"^[a-zA-Z][a-zA-Z0-9_-]{0,63}$")
CONFIG_NAME = re.compile(r"^[a-z][a-z0-9-]*$")
RESERVED_CONFIG = ("aclfile", "dir", "port", "appendonly", "bind", "include", "rename-command")
GI, TI, MI = 2**30, 2**40, 2**20
MAX_ID = 2147483647

VARIABLES = ("redis_image", "redis_storage_size", "redis_storage_class", "redis_resources", "redis_maxmemory_percent",
             "redis_agent_user", "redis_agent_acl", "redis_secret_name", "redis_service_account", "redis_run_as_user",
             "redis_run_as_group", "redis_extra_config")


def scalar_text(value) -> str | None:
    """A string, or a number as Jinja prints it; None for anything else (None, booleans, containers)."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None
    return str(value)


def matches(pattern: re.Pattern, value) -> bool:
    """The whole value (a string or a number) matches (a trailing newline does not)."""
    value = scalar_text(value)
    return value is not None and pattern.fullmatch(value) is not None


def is_image_reference(value) -> bool:
    """An image reference with a tag other than latest, or a sha256 digest."""
    return (isinstance(value, str) and IMAGE_REFERENCE.fullmatch(value) is not None
            and (_TAG.search(value) is not None or "@sha256:" in value))


def between(value, low: int, high: int) -> bool:
    number = as_int(value)
    return number is not None and low <= number <= high


def to_json(value) -> str:
    """The value as the ``to_json`` filter prints it."""
    try:
        return json.dumps(value)
    except (TypeError, ValueError):
        return text(value)


def _resources_ok(resources) -> bool:
    if not isinstance(resources, dict) or not set(resources) <= {"requests", "limits"}:
        return False
    requests, limits = resources.get("requests", {}), resources.get("limits")
    if not isinstance(requests, dict) or not isinstance(limits, dict):
        return False
    if not {*requests, *limits} <= {"cpu", "memory"}:
        return False
    if any(parse_quantity(q) is None for q in (*requests.values(), *limits.values())):
        return False
    return (parse_quantity(limits.get("memory", "")) or 0) >= 64 * MI


def check(v: dict) -> list[str]:
    p = Problems()
    p.add(is_image_reference(v["redis_image"]),
          f"redis_image '{text(v['redis_image'])}' must be an image reference [registry/]path:tag or "
          "path@sha256:<64 hex>, with a tag other than 'latest' or a digest")
    size = parse_quantity(v["redis_storage_size"]) or 0
    p.add(GI <= size <= TI,
          f"redis_storage_size '{text(v['redis_storage_size'])}' must be a Kubernetes quantity between 1Gi and 1Ti "
          "(e.g. 8Gi)")
    p.add(v["redis_storage_class"] == "" or matches(DNS1123_SUBDOMAIN, v["redis_storage_class"]),
          f"redis_storage_class '{text(v['redis_storage_class'])}' must be empty (the cluster default) or a "
          "StorageClass name")
    p.add(_resources_ok(v["redis_resources"]),
          "redis_resources must be {requests: {cpu, memory}, limits: {cpu, memory}} with Kubernetes quantities, "
          f"limits.memory at least 64Mi; got {to_json(v['redis_resources'])}")
    p.add(between(v["redis_maxmemory_percent"], 10, 95),
          "redis_maxmemory_percent must be between 10 and 95 (percent of limits.memory), got "
          f"{text(v['redis_maxmemory_percent'])}")
    user = v["redis_agent_user"]
    p.add(matches(ACL_USER, user) and user not in ("default", "admin"),
          f"redis_agent_user '{text(user)}' must be a name of letters, digits, '_' or '-' and not 'default' or 'admin'")
    p.add(matches(ACL_RULES, v["redis_agent_acl"]),
          "redis_agent_acl must be ACL rules for keys (~pattern), channels (&pattern) and commands (+cmd, -@category); "
          "password, on/off and reset rules are managed by the role")
    p.add(matches(DNS1123_SUBDOMAIN, v["redis_secret_name"]),
          f"redis_secret_name '{text(v['redis_secret_name'])}' must be a Secret name (a DNS-1123 subdomain)")
    p.add(matches(DNS1123_SUBDOMAIN, v["redis_service_account"]),
          f"redis_service_account '{text(v['redis_service_account'])}' must be a ServiceAccount name "
          "(a DNS-1123 subdomain)")
    for name in ("redis_run_as_user", "redis_run_as_group"):
        p.add(between(v[name], 1, MAX_ID), f"{name} must be a non-root id between 1 and {MAX_ID}, got {text(v[name])}")
    extra = v["redis_extra_config"]
    p.add(isinstance(extra, dict)
          and all(isinstance(k, str) and k.lower() not in RESERVED_CONFIG and CONFIG_NAME.fullmatch(k) for k in extra)
          and not any("\r" in str(value) or "\n" in str(value) for value in extra.values()),
          "redis_extra_config must map redis.conf directive names (lowercase) to one-line values and may not set "
          f"{', '.join(RESERVED_CONFIG)}")
    return p

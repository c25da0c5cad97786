"""Redis, the agents' shared state (role redis)."""

from __future__ import annotations

import json
import re

from ansible_collections.agentic.platform.plugins.module_utils import redis_acl
from ansible_collections.agentic.platform.plugins.module_utils.inputs.common import (
    DNS1123_SUBDOMAIN,
    MISSING,
    Problems,
    bounded_int,
    ephemeral_storage_problem,
    is_image_reference,
    is_label_value,
    is_labels,
    is_toleration,
    quantity,
    resources_problem,
    text,
)

ACL_USER = re.compile(r"^[a-zA-Z][a-zA-Z0-9_-]{0,63}$")
CONFIG_NAME = re.compile(r"^[a-z][a-z0-9-]*$")
MASTER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
# redis.conf directives redis_extra_config may not set (a later line would override the role's):
# those the role writes or has a variable for, and those that open the server or change what it
# is: users and passwords (user, requirepass, masterauth, masteruser, aclfile, acl-pubsub-default),
# listeners (bind, port, unixsocket*, tls-*), replication (replicaof/slaveof,
# min-replicas-to-write), code and commands (loadmodule, rename-command, enable-*-command,
# enable-protected-configs), files (include, dir, dbfilename, append*, logfile, pidfile) and the
# process (daemonize, supervised, cluster-*).
RESERVED_CONFIG = (
    "aclfile", "acl-pubsub-default", "user", "requirepass", "masterauth", "masteruser", "bind", "bind-source-addr",
    "port", "protected-mode", "replicaof", "slaveof", "min-replicas-to-write", "min-slaves-to-write",
    "min-replicas-max-lag", "min-slaves-max-lag", "replica-announce-ip", "slave-announce-ip", "replica-priority",
    "slave-priority", "loadmodule",
    "rename-command", "include", "dir", "dbfilename", "appendonly", "appendfsync", "appendfilename", "appenddirname",
    "save", "maxmemory", "maxmemory-policy", "logfile", "pidfile", "daemonize", "supervised")
RESERVED_CONFIG_PREFIXES = ("enable-", "tls-", "unixsocket", "cluster-")
# One argument line of redis.conf: printable text without quotes or backslashes (Redis's own
# quoting would let a value end early or span arguments).
CONFIG_VALUE = re.compile(r"^[ -!#-&(-\[\]-~]+$")
GI, TI, MI = 2**30, 2**40, 2**20
MAX_ID = 2147483647

VARIABLES = ("redis_image", "redis_version", "redis_storage_size", "redis_storage_class", "redis_resources",
             "redis_maxmemory_percent", "redis_agent_user", "redis_agent_acl", "redis_secret_name",
             "redis_service_account", "redis_run_as_user", "redis_run_as_group", "redis_node_selector",
             "redis_tolerations", "redis_extra_config", "redis_ephemeral_storage_request",
             "redis_ephemeral_storage_limit", "redis_mode", "redis_replicas", "redis_min_replicas_to_write",
             "redis_min_replicas_max_lag", "redis_sentinels", "redis_sentinel_quorum", "redis_sentinel_down_after_ms",
             "redis_sentinel_failover_timeout_ms", "redis_master_name", "redis_sentinel_resources",
             # the agent's side of the ACL user (other steps; MISSING when the role runs alone)
             "agent_redis_user", "config_redis_username")


def scalar_text(value) -> str | None:
    """A string, or a number as Jinja prints it; None for anything else (None, booleans, containers)."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None
    return str(value)


def matches(pattern: re.Pattern, value) -> bool:
    """The whole value (a string or a number) matches (a trailing newline does not)."""
    value = scalar_text(value)
    return value is not None and pattern.fullmatch(value) is not None


def to_json(value) -> str:
    """The value as the ``to_json`` filter prints it."""
    try:
        return json.dumps(value)
    except (TypeError, ValueError):
        return text(value)


def resources_problem_with_memory_limit(resources) -> str | None:
    """Container resources with a memory limit of at least 64Mi (maxmemory is a share of it)."""
    problem = resources_problem(resources)
    if problem is None and (quantity((resources.get("limits") or {}).get("memory")) or 0) < 64 * MI:
        problem = "limits.memory must be set, at least 64Mi (maxmemory is a share of it)"
    return problem


def config_problems(extra) -> list[str]:
    """What is wrong with redis_extra_config (each message names the directive)."""
    if not isinstance(extra, dict):
        return [f"redis_extra_config must map redis.conf directive names to values, got {to_json(extra)}"]
    found = []
    for name, value in extra.items():
        if not isinstance(name, str) or not CONFIG_NAME.fullmatch(name):
            found.append(f"redis_extra_config: '{text(name)}' is not a redis.conf directive name (lowercase)")
        elif name.lower() in RESERVED_CONFIG or name.lower().startswith(RESERVED_CONFIG_PREFIXES):
            reserved = [*RESERVED_CONFIG, *(prefix + "*" for prefix in RESERVED_CONFIG_PREFIXES)]
            found.append(f"redis_extra_config['{name}']: the role owns this directive or it opens the server "
                         f"(reserved: {', '.join(reserved)})")
        elif isinstance(value, bool) or not isinstance(value, str | int | float) or not CONFIG_VALUE.fullmatch(
                str(value)):
            found.append(f"redis_extra_config['{name}'] must be one line of printable text without quotes or "
                         "backslashes, or a number (write yes/no quoted), got " + to_json(value)[:80])
    return found


def check(v: dict) -> list[str]:
    p = Problems()
    p.add(is_image_reference(v["redis_image"]),
          f"redis_image '{text(v['redis_image'])}' must be an image reference [registry/]path:tag or "
          "path@sha256:<64 hex>, with a tag other than 'latest' or a digest")
    size = quantity(v["redis_storage_size"]) or 0
    p.add(GI <= size <= TI,
          f"redis_storage_size '{text(v['redis_storage_size'])}' must be a Kubernetes quantity between 1Gi and 1Ti "
          "(e.g. 8Gi)")
    p.add(v["redis_storage_class"] == "" or matches(DNS1123_SUBDOMAIN, v["redis_storage_class"]),
          f"redis_storage_class '{text(v['redis_storage_class'])}' must be empty (the cluster default) or a "
          "StorageClass name")
    p.add(is_label_value(v["redis_version"]) and str(v["redis_version"]) != "",
          f"redis_version '{text(v['redis_version'])}' must be a label value (1 to 63 letters, digits, '-', '_', '.')")
    problem = resources_problem_with_memory_limit(v["redis_resources"])
    p.add(problem is None, f"redis_resources: {problem}; got {to_json(v['redis_resources'])}")
    p.add(bounded_int(v["redis_maxmemory_percent"], 10, 95),
          "redis_maxmemory_percent must be between 10 and 95 (percent of limits.memory), got "
          f"{text(v['redis_maxmemory_percent'])}")
    user = v["redis_agent_user"]
    p.add(matches(ACL_USER, user) and user not in ("default", "admin"),
          f"redis_agent_user '{text(user)}' must be a name of letters, digits, '_' or '-' and not 'default' or 'admin'")
    # The agent logs in with agent_redis_user (and is told config_redis_username): another name
    # would give the agents a user Redis does not have.
    for other in ("agent_redis_user", "config_redis_username"):
        p.add(v[other] is MISSING or v[other] == user,
              f"redis_agent_user '{text(user)}' must be the user the agents log in as: {other} is '{text(v[other])}'")
    acl = v["redis_agent_acl"]
    for problem in redis_acl.problems(acl) if isinstance(acl, str) else ["must be a string of ACL rules"]:
        p.append(f"redis_agent_acl: {problem}")
    p.add(matches(DNS1123_SUBDOMAIN, v["redis_secret_name"]),
          f"redis_secret_name '{text(v['redis_secret_name'])}' must be a Secret name (a DNS-1123 subdomain)")
    p.add(matches(DNS1123_SUBDOMAIN, v["redis_service_account"]),
          f"redis_service_account '{text(v['redis_service_account'])}' must be a ServiceAccount name "
          "(a DNS-1123 subdomain)")
    for name in ("redis_run_as_user", "redis_run_as_group"):
        p.add(bounded_int(v[name], 1, MAX_ID),
              f"{name} must be a non-root id between 1 and {MAX_ID}, got {text(v[name])}")
    p.add(is_labels(v["redis_node_selector"]),
          f"redis_node_selector must map label keys to label values, got {to_json(v['redis_node_selector'])}")
    tolerations = v["redis_tolerations"]
    p.add(isinstance(tolerations, list) and all(is_toleration(t) for t in tolerations),
          "redis_tolerations entries must be tolerations {key, operator: Exists|Equal, value, effect: "
          f"NoSchedule|PreferNoSchedule|NoExecute}} with label keys and values, got {to_json(tolerations)}")
    p.extend(config_problems(v["redis_extra_config"]))
    problem = ephemeral_storage_problem(v["redis_ephemeral_storage_request"], v["redis_ephemeral_storage_limit"])
    p.add(problem is None, f"redis_ephemeral_storage_request/redis_ephemeral_storage_limit: {problem}")
    p.extend(sentinel_problems(v))
    return p


def sentinel_problems(v: dict) -> list[str]:
    """The sentinel mode's settings (checked in both modes: a switch should not meet a bad value)."""
    p = Problems()
    p.add(v["redis_mode"] in ("standalone", "sentinel"),
          f"redis_mode must be standalone or sentinel, got {to_json(v['redis_mode'])}")
    p.add(bounded_int(v["redis_replicas"], 1, 8),
          f"redis_replicas must be between 1 and 8, got {text(v['redis_replicas'])}")
    replicas = v["redis_replicas"] if bounded_int(v["redis_replicas"], 1, 8) else 8
    p.add(bounded_int(v["redis_min_replicas_to_write"], 0, int(replicas)),
          f"redis_min_replicas_to_write must be between 0 and redis_replicas ({text(replicas)}): a primary waiting "
          f"for more replicas than there are refuses every write; got {text(v['redis_min_replicas_to_write'])}")
    p.add(bounded_int(v["redis_min_replicas_max_lag"], 1, 60),
          f"redis_min_replicas_max_lag must be between 1 and 60 seconds, got {text(v['redis_min_replicas_max_lag'])}")
    sentinels_ok = bounded_int(v["redis_sentinels"], 3, 9)
    p.add(sentinels_ok, f"redis_sentinels must be between 3 and 9, got {text(v['redis_sentinels'])}")
    if sentinels_ok:
        majority = int(v["redis_sentinels"]) // 2 + 1
        p.add(bounded_int(v["redis_sentinel_quorum"], majority, int(v["redis_sentinels"])),
              f"redis_sentinel_quorum must be between a majority of redis_sentinels ({majority}) and redis_sentinels "
              f"({int(v['redis_sentinels'])}), got {text(v['redis_sentinel_quorum'])}")
    p.add(bounded_int(v["redis_sentinel_down_after_ms"], 1000, 600000),
          "redis_sentinel_down_after_ms must be between 1000 and 600000 milliseconds, got "
          f"{text(v['redis_sentinel_down_after_ms'])}")
    p.add(bounded_int(v["redis_sentinel_failover_timeout_ms"], 10000, 3600000),
          "redis_sentinel_failover_timeout_ms must be between 10000 and 3600000 milliseconds, got "
          f"{text(v['redis_sentinel_failover_timeout_ms'])}")
    p.add(matches(MASTER_NAME, v["redis_master_name"]),
          f"redis_master_name '{text(v['redis_master_name'])}' must be 1 to 64 letters, digits, '.', '_' or '-' "
          "(starting with a letter or digit)")
    problem = resources_problem(v["redis_sentinel_resources"])
    p.add(problem is None, f"redis_sentinel_resources: {problem}; got {to_json(v['redis_sentinel_resources'])}")
    return p

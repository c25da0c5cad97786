"""The rotation role (playbooks/rotate_secrets.yml): what its argument spec cannot express.

Never puts a value of ``rotation_external_keys`` in a message: only key names.
"""

from __future__ import annotations

import re

from ansible_collections.agentic.platform.plugins.module_utils.inputs.common import (
    DNS1123_LABEL,
    DNS1123_SUBDOMAIN,
    Problems,
    range_problems,
    text,
)
from ansible_collections.agentic.platform.plugins.module_utils.redis_topology import parse_address
from ansible_collections.agentic.platform.plugins.module_utils.secret_rotation.common import owned_by_other_kinds

# (variable, lowest, highest): whole numbers of seconds (or a port) in a range.
WHOLE_NUMBERS = (
    ("rotation_redis_port", 1, 65535),
    ("rotation_wait_timeout", 1, 86400),
    ("rotation_redis_drain_seconds", 0, 86400),
    ("rotation_jwt_max_token_lifetime", 1, 31 * 86400),
    ("rotation_jwt_publish_lead", 0, 31 * 86400),
    ("rotation_lock_timeout", 0, 86400),
)
VARIABLES = (
    "rotation_namespace", "rotation_secret_name", "rotation_deployments", "rotation_field_manager",
    "rotation_redis_enabled", "rotation_redis_host", "rotation_redis_nodes", *(entry[0] for entry in WHOLE_NUMBERS),
    "rotation_external_keys", "rotation_audit_log",
)
# A Secret data key (the API server's rule) of a length an annotation name can carry.
SECRET_KEY = re.compile(r"^[-._a-zA-Z0-9]{1,40}$")
HOST = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9.]{0,251}[A-Za-z0-9])?$|^\[?[0-9A-Fa-f:.]+\]?$")
FIELD_MANAGER = re.compile(r"^[\x21-\x7e]{1,128}$")
EXTERNAL_FIELDS = frozenset(("key", "value", "rollback"))


def _external_keys(value, p: Problems) -> None:
    name = "rotation_external_keys"
    if not isinstance(value, list):
        p.add(False, f"{name} must be a list of {{key, value}} entries (value from a vault or a lookup)")
        return
    seen: set[str] = set()
    for i, entry in enumerate(value):
        where = f"{name}[{i}]"
        if not isinstance(entry, dict) or not isinstance(entry.get("key"), str):
            p.add(False, f"{where} must be a dict with 'key' (the Secret data key) and 'value'")
            continue
        key = entry["key"]
        where = f"{name}[{i}] (key {key!r})" if SECRET_KEY.match(key) else where
        unknown = sorted(set(entry) - EXTERNAL_FIELDS)
        p.add(not unknown, f"{where} has unknown fields {', '.join(map(str, unknown))}: "
                           "allowed are key, value, rollback")
        named = f"{where}: key must be a Secret data key of 1 to 40 letters, digits, '-', '_' or '.'"
        if not p.add(bool(SECRET_KEY.match(key)), named):
            continue
        why = owned_by_other_kinds(key)
        p.add(why is None, f"{where}: {why}; list only externally issued credentials here")
        p.add(key not in seen, f"{where}: key {key!r} is listed twice")
        seen.add(key)
        rollback = entry.get("rollback", False)
        if not p.add(isinstance(rollback, bool), f"{where}: rollback must be true or false"):
            continue
        given = entry.get("value")
        if rollback:
            continue
        p.add(isinstance(given, str) and given.strip() != "",
              f"{where}: value is empty or missing (an unset environment variable or an empty file?); give the new "
              "credential, or rollback: true")


def check(v: dict) -> list[str]:
    p = Problems()
    ns = v["rotation_namespace"]
    p.add(isinstance(ns, str) and bool(DNS1123_LABEL.match(ns)),
          f"rotation_namespace '{text(ns)}' must be a namespace name (lower-case letters, digits, '-', at most 63)")
    secret = v["rotation_secret_name"]
    p.add(isinstance(secret, str) and bool(DNS1123_SUBDOMAIN.match(secret)) and len(secret) <= 244,
          f"rotation_secret_name '{text(secret)}' must be a Secret name (lower-case DNS subdomain, at most 244 "
          "characters: its lock is the Lease <name>.rotation)")
    deployments = v["rotation_deployments"]
    p.add(isinstance(deployments, list) and len(deployments) > 0
          and all(isinstance(d, str) and DNS1123_SUBDOMAIN.match(d) for d in deployments),
          "rotation_deployments must list at least one Deployment name: a rotation must roll the pods that use the "
          f"credential before the old one is removed, got '{text(deployments)}'")
    p.add(isinstance(v["rotation_field_manager"], str) and bool(FIELD_MANAGER.match(v["rotation_field_manager"])),
          f"rotation_field_manager '{text(v['rotation_field_manager'])}' must be 1 to 128 printable characters "
          "without spaces")
    host = v["rotation_redis_host"]
    p.add(v["rotation_redis_enabled"] is not True or (isinstance(host, str) and bool(HOST.match(host))),
          f"rotation_redis_host '{text(host)}' must name the Redis endpoint (a DNS name or an IP address) when "
          "rotation_redis_enabled is true")
    nodes = v["rotation_redis_nodes"]
    p.add(isinstance(nodes, list) and all(isinstance(n, str) and (a := parse_address(n)) and HOST.match(a[0])
                                          for n in nodes),
          f"rotation_redis_nodes must list host:port addresses (a DNS name or an IP address, a port from 1 to 65535), "
          f"got '{text(nodes)}'")
    p.extend(range_problems(v, WHOLE_NUMBERS))
    audit = v["rotation_audit_log"]
    p.add(isinstance(audit, str) and (audit == "" or audit.startswith(("/", "~"))) and "\n" not in audit,
          f"rotation_audit_log '{text(audit)}' must be an absolute path (or ~/...), or empty to disable the file")
    _external_keys(v["rotation_external_keys"], p)
    return p

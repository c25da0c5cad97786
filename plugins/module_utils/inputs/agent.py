"""The mcp-agent Deployment, its Service and PodDisruptionBudget (role agent)."""

from __future__ import annotations

import re

from ansible_collections.agentic.platform.plugins.module_utils.inputs.common import (
    DNS1123_SUBDOMAIN,
    Problems,
    as_int,
    bounded_int,
    ephemeral_storage_problem,
    is_image_reference,
    is_label_value,
    is_labels,
    is_secret_key,
    is_toleration,
    resources_problem,
    text,
)
from ansible_collections.agentic.platform.plugins.module_utils.inputs.redis import (
    ACL_USER,
    MAX_ID,
    matches,
    to_json,
)

EXTENDED_RESOURCE = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?/[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# The environment the role sets itself (roles/agent/vars/main.yml __agent_reserved_env).
RESERVED_ENV = ("REDIS_USERNAME", "REDIS_PASSWORD_FILE", "AGENTIC_SECRETS_DIR", "AGENTIC_REGION", "POD_NAME",
                "POD_NAMESPACE", "AGENT_VERSION", "AGENT_MODEL_VERSION")
MAX_ANNOTATION = 253

VARIABLES = ("agent_image", "agent_version", "agent_model_version", "agent_replicas", "agent_pdb_min_available",
             "agent_resources", "agent_gpu_count", "agent_gpu_resource", "agent_node_selector",
             "agent_gpu_node_selector", "agent_tolerations", "agent_gpu_tolerations", "agent_zones", "agent_config_map",
             "agent_secret_name", "agent_service_account", "agent_secret_keys", "agent_secret_optional_keys",
             "agent_redis_user", "agent_env", "agent_run_as_user", "agent_termination_grace_period",
             "agent_ephemeral_storage_request", "agent_ephemeral_storage_limit", "agent_config_checksum",
             "agent_secrets_version", "agent_gpu_allocation", "agent_gpu_device_class")


def check(v: dict) -> list[str]:
    p = Problems()
    p.add(is_image_reference(v["agent_image"]),
          f"agent_image '{text(v['agent_image'])}' must be an image reference [registry/]path:tag or "
          "path@sha256:<64 hex>, with a tag other than 'latest' or a digest")
    p.add(is_label_value(v["agent_version"]) and str(v["agent_version"]) != "",
          f"agent_version '{text(v['agent_version'])}' must be a label value (1 to 63 letters, digits, '-', '_', '.')")
    p.add(v["agent_model_version"] is not None and is_label_value(v["agent_model_version"]),
          f"agent_model_version '{text(v['agent_model_version'])}' must be empty or a label value (up to 63 letters, "
          "digits, '-', '_', '.')")
    p.add(bounded_int(v["agent_replicas"], 1, 500),
          f"agent_replicas must be between 1 and 500, got {text(v['agent_replicas'])}")
    # Compared with agent_replicas only when that is a number (else its own check fails).
    pdb, replicas = as_int(v["agent_pdb_min_available"]), as_int(v["agent_replicas"])
    p.add(pdb is not None and pdb >= 0 and (replicas is None or pdb < replicas),
          f"agent_pdb_min_available ({text(v['agent_pdb_min_available'])}) must be at least 0 and below "
          f"agent_replicas ({text(v['agent_replicas'])}), or no pod could ever be evicted or drained")
    resources = v["agent_resources"]
    problem = resources_problem(resources) or (
        None if {"requests", "limits"} <= set(resources) else "requests and limits must both be given")
    p.add(problem is None, f"agent_resources: {problem} (requests and limits of cpu and memory: positive Kubernetes "
                           f"quantities, requests not above limits); got {to_json(v['agent_resources'])}")
    p.add(bounded_int(v["agent_gpu_count"], 0, 8),
          f"agent_gpu_count must be between 0 and 8 GPUs per pod, got {text(v['agent_gpu_count'])}")
    p.add(matches(EXTENDED_RESOURCE, v["agent_gpu_resource"]),
          f"agent_gpu_resource '{text(v['agent_gpu_resource'])}' must be an extended resource name like nvidia.com/gpu")
    p.add(v["agent_gpu_allocation"] != "dra" or matches(DNS1123_SUBDOMAIN, v["agent_gpu_device_class"]),
          f"agent_gpu_device_class '{text(v['agent_gpu_device_class'])}' must be a DeviceClass name (a DNS-1123 "
          "subdomain, like gpu.nvidia.com) with agent_gpu_allocation dra")
    for name in ("agent_node_selector", "agent_gpu_node_selector"):
        p.add(is_labels(v[name]), f"{name} must map label keys to label values, got {to_json(v[name])}")
    for name in ("agent_tolerations", "agent_gpu_tolerations"):
        p.add(isinstance(v[name], list) and all(is_toleration(t) for t in v[name]),
              f"{name} entries must be tolerations {{key, operator: Exists|Equal, value, effect: "
              f"NoSchedule|PreferNoSchedule|NoExecute}}, got {to_json(v[name])}")
    zones = v["agent_zones"]
    p.add(isinstance(zones, list) and all(is_label_value(zone) and str(zone) != "" for zone in zones)
          and len(set(map(str, zones))) == len(zones),
          f"agent_zones must be distinct topology.kubernetes.io/zone values (non-empty label values), got "
          f"{to_json(zones)}")
    for name, kind in (("agent_config_map", "a ConfigMap"), ("agent_secret_name", "a Secret"),
                       ("agent_service_account", "a ServiceAccount")):
        p.add(matches(DNS1123_SUBDOMAIN, v[name]),
              f"{name} '{text(v[name])}' must be {kind} name (a DNS-1123 subdomain)")
    keys = v["agent_secret_keys"]
    p.add(isinstance(keys, list) and "redis-password" in keys and "redis-admin-password" not in keys
          and all(is_secret_key(key) for key in keys) and len(set(keys)) == len(keys),
          "agent_secret_keys must be distinct Secret keys, each a file name once mounted (letters, digits, '-', '_', "
          "'.', not '.' or '..' or starting with '..'), that include redis-password and not redis-admin-password "
          "(the agent never holds the Redis admin password)")
    optional = v["agent_secret_optional_keys"]
    p.add(isinstance(optional, list) and all(is_secret_key(key) for key in optional)
          and "redis-admin-password" not in optional and len(set(optional)) == len(optional)
          and not (isinstance(keys, list) and set(optional) & {k for k in keys if isinstance(k, str)}),
          "agent_secret_optional_keys must be distinct Secret keys, each a file name once mounted, none of "
          "agent_secret_keys and not redis-admin-password")
    user = v["agent_redis_user"]
    p.add(matches(ACL_USER, user) and user not in ("default", "admin"),
          f"agent_redis_user '{text(user)}' must be a name of letters, digits, '_' or '-' and not default or admin")
    env = v["agent_env"]
    p.add(isinstance(env, dict) and all(isinstance(k, str) and ENV_NAME.fullmatch(k) and k not in RESERVED_ENV
                                        for k in env),
          "agent_env names must be environment variable names ([A-Za-z_][A-Za-z0-9_]*) other than those the role sets "
          f"({', '.join(RESERVED_ENV)})")
    p.add(bounded_int(v["agent_run_as_user"], 1, MAX_ID),
          f"agent_run_as_user must be a non-root id between 1 and {MAX_ID}, got {text(v['agent_run_as_user'])}")
    p.add(bounded_int(v["agent_termination_grace_period"], 5, 3600),
          "agent_termination_grace_period must be between 5 and 3600 seconds, got "
          f"{text(v['agent_termination_grace_period'])}")
    for name in ("agent_config_checksum", "agent_secrets_version"):
        p.add(len(text(v[name]) if v[name] is not None else "") <= MAX_ANNOTATION,
              f"{name} must be at most {MAX_ANNOTATION} characters")
    problem = ephemeral_storage_problem(v["agent_ephemeral_storage_request"], v["agent_ephemeral_storage_limit"])
    p.add(problem is None, f"agent_ephemeral_storage_request/agent_ephemeral_storage_limit: {problem}")
    return p

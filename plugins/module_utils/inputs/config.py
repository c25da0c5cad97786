"""The config step (role config): the agentic-ai-config ConfigMap's values and rollback id.

Whether the snapshot to roll back to exists is a cluster read: roles/config/tasks/validate.yml checks it
after these.
"""

from __future__ import annotations

import math
import re

from ansible_collections.agentic.platform.plugins.module_utils.inputs.common import (
    Problems,
    as_int,
    as_number,
    bounded_int,
    full,
    is_label_value,
    is_secret_key,
    mapping_problem,
    range_problems,
    text,
)

# (variable, lowest, highest): whole numbers in a range.
WHOLE_NUMBERS = (
    ("config_agent_max_concurrent_workflows", 1, 100000),
    ("config_agent_heartbeat_interval", 1, 3600),
    ("config_agent_health_check_timeout", 1, 3600),
    ("config_agent_graceful_shutdown_timeout", 1, 86400),
    ("config_mcp_server_timeout", 1, 86400),
    ("config_mcp_connection_pool_size", 1, 100000),
    ("config_optimization_batch_size", 1, 65536),
    ("config_scaling_min_replicas", 1, 10000),
    ("config_scaling_max_replicas", 1, 10000),
    ("config_history_limit", 1, 100),
)
PERCENTAGES = ("config_scaling_target_cpu_utilization", "config_scaling_target_memory_utilization",
               "config_scaling_gpu_utilization_threshold")
PORTS = ("config_redis_port", "config_prometheus_port")

VARIABLES = (
    "config_version", "config_redis_host", "config_redis_username", *PORTS, "config_jaeger_endpoint",
    *(entry[0] for entry in WHOLE_NUMBERS), "config_optimization_gpu_memory_fraction", *PERCENTAGES,
    "config_extra_data", "config_rollback_to", "agentic_namespace",
)

# As in roles/config/vars/main.yml (the tasks use them too; tests/unit/test_inputs_config.py keeps
# them equal): _config_snapshot_label and the keys of _config_inventory_data, the ConfigMap keys the
# role sets, which config_extra_data may not replace.
SNAPSHOT_LABEL = "agentic.platform/config-snapshot"
INVENTORY_KEYS = frozenset((
    "redis.host", "redis.port", "redis.username", "redis.ssl.enabled", "redis.cluster.enabled",
    "redis.sentinel.enabled", "redis.sentinel.master_name", "redis.sentinel.addresses",
    "prometheus.enabled", "prometheus.port", "jaeger.enabled", "jaeger.endpoint",
    "agent.max_concurrent_workflows", "agent.heartbeat_interval", "agent.health_check_timeout",
    "agent.graceful_shutdown_timeout", "mcp.server.timeout", "mcp.connection_pool_size",
    "a2a.discovery.enabled", "acp.local_registry.enabled", "optimization.enabled",
    "optimization.gpu_memory_fraction", "optimization.batch_size", "optimization.model_parallelism",
    "audit.enabled", "audit.log_level", "encryption.at_rest", "encryption.in_transit",
    "scaling.min_replicas", "scaling.max_replicas", "scaling.target_cpu_utilization",
    "scaling.target_memory_utilization", "scaling.gpu_utilization_threshold",
))
DNS_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
REDIS_USER = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
HTTP_URL = re.compile(r"^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/\S*)?$")
# An OTLP/HTTP receiver's base URL: the agents post spans to <it>/v1/traces (agentic_runtime.telemetry).
OTLP_HTTP_URL = re.compile(r"^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/|/v1/traces)?$")
SNAPSHOT_ID = re.compile(r"^[0-9a-f]{10}$")


def check(v: dict) -> list[str]:
    p = Problems()
    version = v["config_version"]
    p.add(is_label_value(version) and str(version) != "",
          f"config_version '{text(version)}' must be a Kubernetes label value (1 to 63 letters, digits, '-', '_', '.', "
          "starting and ending with a letter or digit), like v2.1.0")
    host = v["config_redis_host"]
    p.add(full(DNS_NAME, host) and len(host) <= 253,
          f"config_redis_host '{text(host)}' must be a DNS name such as "
          f"redis.{text(v['agentic_namespace'])}.svc.cluster.local")
    user = v["config_redis_username"]
    p.add(full(REDIS_USER, user) and user != "default",
          f"config_redis_username '{text(user)}' must be a Redis ACL user name other than 'default' "
          "(letters, digits, '_', '-')")
    for name in PORTS:
        p.add(bounded_int(v[name], 1, 65535), f"{name} must be a port between 1 and 65535, got '{text(v[name])}'")
    p.add(full(OTLP_HTTP_URL, v["config_jaeger_endpoint"]),
          f"config_jaeger_endpoint '{text(v['config_jaeger_endpoint'])}' must be the http:// or https:// base URL "
          "of an OTLP/HTTP receiver, path empty or /v1/traces (e.g. http://jaeger-collector.monitoring:4318)")
    p.extend(range_problems(v, WHOLE_NUMBERS))
    fraction = as_number(v["config_optimization_gpu_memory_fraction"])
    p.add(fraction is not None and not math.isnan(fraction) and 0 < fraction <= 1,
          "config_optimization_gpu_memory_fraction must be a fraction in (0, 1], "
          f"got '{text(v['config_optimization_gpu_memory_fraction'])}'")
    for name in PERCENTAGES:
        p.add(bounded_int(v[name], 1, 100), f"{name} must be a percentage from 1 to 100, got '{text(v[name])}'")
    # Compared only where both are whole numbers (the checks above report the others).
    low, high = as_int(v["config_scaling_min_replicas"]), as_int(v["config_scaling_max_replicas"])
    p.add(low is None or high is None or low <= high,
          f"config_scaling_min_replicas ({text(v['config_scaling_min_replicas'])}) must not exceed "
          f"config_scaling_max_replicas ({text(v['config_scaling_max_replicas'])})")

    problem = mapping_problem(
        "config_extra_data", v["config_extra_data"],
        lambda k, value: not is_secret_key(k) or k in INVENTORY_KEYS or not isinstance(value, str),
        "keys must be ConfigMap keys, each a file name once mounted (letters, digits, '-', '_', '.', "
        "not '.' or '..' or starting with '..'), that are not already set by the role, values must be strings")
    p.add(problem is None, problem)

    rollback = v["config_rollback_to"]
    p.add(rollback == "" or full(SNAPSHOT_ID, rollback),
          f"config_rollback_to '{text(rollback)}' must be empty or the 10-hex id of a snapshot ConfigMap "
          f"agentic-ai-config-<id> (kubectl get configmap -l {SNAPSHOT_LABEL})")
    return p

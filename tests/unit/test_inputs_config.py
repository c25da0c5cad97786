"""The config step's input checks (plugins/module_utils/inputs/config.py), in plain Python."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from ansible_collections.agentic.platform.plugins.module_utils.inputs import config
from ansible_collections.agentic.platform.plugins.module_utils.inputs.common import MISSING

ROOT = Path(__file__).resolve().parents[2]

# What a valid inventory gives: the role defaults (no inventory overrides them), templated.
VALID = {
    "config_version": "v2.1.0",
    "config_redis_host": "redis.agentic-ai.svc.cluster.local",
    "config_redis_username": "agent",
    "config_redis_port": 6379,
    "config_prometheus_port": 9090,
    "config_jaeger_endpoint": "http://jaeger-collector.monitoring:4318",
    "config_agent_max_concurrent_workflows": 100,
    "config_agent_heartbeat_interval": 15,
    "config_agent_health_check_timeout": 5,
    "config_agent_graceful_shutdown_timeout": 60,
    "config_mcp_server_timeout": 120,
    "config_mcp_connection_pool_size": 50,
    "config_optimization_batch_size": 32,
    "config_scaling_min_replicas": 3,
    "config_scaling_max_replicas": 50,
    "config_history_limit": 5,
    "config_optimization_gpu_memory_fraction": 0.8,
    "config_scaling_target_cpu_utilization": 70,
    "config_scaling_target_memory_utilization": 80,
    "config_scaling_gpu_utilization_threshold": 75,
    "config_extra_data": {},
    "config_rollback_to": "",
    "agentic_namespace": "agentic-ai",
}


def problems(**changes) -> list[str]:
    return config.check({**VALID, **changes})


def test_valid_is_what_the_defaults_give_and_every_variable_is_read():
    defaults = yaml.safe_load((ROOT / "roles/config/defaults/main.yml").read_text())
    templated = {"config_redis_host", "config_redis_port", "agentic_namespace"}  # follow the redis step's mode
    assert {k: defaults[k] for k in VALID if k not in templated} == {k: v for k, v in VALID.items()
                                                                     if k not in templated}
    assert defaults["config_redis_host"] == ("{{ 'redis-sentinel' if redis_mode | default('standalone') == "
                                             "'sentinel' else 'redis' }}.{{ agentic_namespace }}.svc.cluster.local")
    assert set(VALID) == set(config.VARIABLES)


def test_constants_match_the_role_vars():
    role_vars = yaml.safe_load((ROOT / "roles/config/vars/main.yml").read_text())
    assert set(role_vars["_config_inventory_data"]) == config.INVENTORY_KEYS
    assert role_vars["_config_snapshot_label"] == config.SNAPSHOT_LABEL


def test_valid_inventory_has_no_problem():
    assert problems() == []


@pytest.mark.parametrize("changes", [
    {"config_version": 2},
    {"config_redis_port": "6380", "config_prometheus_port": 65535},
    {"config_optimization_gpu_memory_fraction": 1},
    {"config_optimization_gpu_memory_fraction": "0.5"},
    {"config_scaling_min_replicas": 50, "config_scaling_max_replicas": 50},
    {"config_extra_data": {"feature.flag": "on", "x_y-z": ""}},
    {"config_rollback_to": "0123456789"},
    {"config_jaeger_endpoint": "https://jaeger.example.com"},
    {"config_jaeger_endpoint": "http://otel-collector.monitoring:4318/v1/traces"},
], ids=",".join)
def test_other_valid_values_pass(changes):
    assert problems(**changes) == []


BAD = {
    # name: (changes, what the (only) message must contain)
    "version-space": ({"config_version": "v 2"}, "config_version 'v 2' must be a Kubernetes label value"),
    "version-empty": ({"config_version": ""}, "config_version"),
    "version-too-long": ({"config_version": "v" * 64}, "config_version"),
    "version-bool": ({"config_version": True}, "config_version"),
    "version-list": ({"config_version": ["v1"]}, "config_version"),
    "redis-host-upper": ({"config_redis_host": "Redis.local"}, "config_redis_host 'Redis.local' must be a DNS name "
                                                               "such as redis.agentic-ai.svc.cluster.local"),
    "redis-host-too-long": ({"config_redis_host": ".".join(["a" * 60] * 5)}, "config_redis_host"),
    "redis-host-number": ({"config_redis_host": 10}, "config_redis_host"),
    "redis-username-default": ({"config_redis_username": "default"}, "config_redis_username 'default'"),
    "redis-username-space": ({"config_redis_username": "the agent"}, "config_redis_username"),
    "redis-username-too-long": ({"config_redis_username": "a" * 65}, "config_redis_username"),
    "redis-port-word": ({"config_redis_port": "six"}, "config_redis_port must be a port between 1 and 65535, "
                                                      "got 'six'"),
    "redis-port-absurd": ({"config_redis_port": 70000}, "config_redis_port"),
    "redis-port-zero": ({"config_redis_port": 0}, "config_redis_port"),
    "redis-port-bool": ({"config_redis_port": True}, "config_redis_port"),
    "prometheus-port-negative": ({"config_prometheus_port": -1}, "config_prometheus_port"),
    "prometheus-port-fraction": ({"config_prometheus_port": 90.5}, "config_prometheus_port"),
    "jaeger-no-scheme": ({"config_jaeger_endpoint": "jaeger:14268"}, "config_jaeger_endpoint 'jaeger:14268'"),
    "jaeger-ftp": ({"config_jaeger_endpoint": "ftp://jaeger/x"}, "must be the http:// or https:// base URL"),
    # Jaeger's Thrift-over-HTTP endpoint: the agents speak OTLP, which it does not take
    "jaeger-thrift": ({"config_jaeger_endpoint": "http://jaeger-collector.monitoring:14268/api/traces"},
                      "of an OTLP/HTTP receiver, path empty or /v1/traces"),
    "workflows-zero": ({"config_agent_max_concurrent_workflows": 0},
                       "config_agent_max_concurrent_workflows must be a whole number from 1 to 100000, got '0'"),
    "workflows-absurd": ({"config_agent_max_concurrent_workflows": 10**6}, "config_agent_max_concurrent_workflows"),
    "heartbeat-absurd": ({"config_agent_heartbeat_interval": 3601}, "config_agent_heartbeat_interval"),
    "heartbeat-word": ({"config_agent_heartbeat_interval": "often"}, "config_agent_heartbeat_interval"),
    "health-negative": ({"config_agent_health_check_timeout": -5}, "config_agent_health_check_timeout"),
    "shutdown-absurd": ({"config_agent_graceful_shutdown_timeout": 86401}, "config_agent_graceful_shutdown_timeout"),
    "mcp-timeout-null": ({"config_mcp_server_timeout": None}, "config_mcp_server_timeout"),
    "pool-size-list": ({"config_mcp_connection_pool_size": [50]}, "config_mcp_connection_pool_size"),
    "batch-absurd": ({"config_optimization_batch_size": 65537}, "config_optimization_batch_size"),
    "history-zero": ({"config_history_limit": 0}, "config_history_limit must be a whole number from 1 to 100"),
    "history-absurd": ({"config_history_limit": 101}, "config_history_limit"),
    "gpu-fraction-over": ({"config_optimization_gpu_memory_fraction": 1.5},
                          "config_optimization_gpu_memory_fraction must be a fraction in (0, 1], got '1.5'"),
    "gpu-fraction-zero": ({"config_optimization_gpu_memory_fraction": 0}, "config_optimization_gpu_memory_fraction"),
    "gpu-fraction-nan": ({"config_optimization_gpu_memory_fraction": float("nan")},
                         "config_optimization_gpu_memory_fraction"),
    "gpu-fraction-word": ({"config_optimization_gpu_memory_fraction": "most"},
                          "config_optimization_gpu_memory_fraction"),
    "cpu-utilization-over": ({"config_scaling_target_cpu_utilization": 101},
                             "config_scaling_target_cpu_utilization must be a percentage from 1 to 100"),
    "memory-utilization-zero": ({"config_scaling_target_memory_utilization": 0},
                                "config_scaling_target_memory_utilization"),
    "gpu-threshold-word": ({"config_scaling_gpu_utilization_threshold": "high"},
                           "config_scaling_gpu_utilization_threshold"),
    "replicas-inverted": ({"config_scaling_min_replicas": 60},
                          "config_scaling_min_replicas (60) must not exceed config_scaling_max_replicas (50)"),
    "extra-data-replaces": ({"config_extra_data": {"redis.port": "1"}}, "config_extra_data['redis.port']:"),
    "extra-data-bad-key": ({"config_extra_data": {"a/b": "x"}}, "config_extra_data['a/b']"),
    "extra-data-dot-dot": ({"config_extra_data": {"..": "x"}}, "config_extra_data['..']"),
    "extra-data-dot-dot-prefix": ({"config_extra_data": {"..data": "x"}}, "config_extra_data['..data']"),
    "extra-data-not-string": ({"config_extra_data": {"flag": True}}, "config_extra_data['flag']"),
    "extra-data-list": ({"config_extra_data": ["a"]}, "config_extra_data: keys must be ConfigMap keys"),
    "rollback-short": ({"config_rollback_to": "0123"}, "config_rollback_to '0123' must be empty or the 10-hex id"),
    "rollback-upper": ({"config_rollback_to": "ABCDEF0123"}, "config_rollback_to"),
    "rollback-number": ({"config_rollback_to": 1234567890}, "config_rollback_to"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_value_is_named(case):
    changes, needle = BAD[case]
    found = problems(**changes)
    assert len(found) == 1, found
    assert needle in found[0]


def test_every_problem_is_reported_at_once():
    found = problems(config_version="v 2", config_redis_port="six", config_scaling_min_replicas=0,
                     config_rollback_to="nope")
    assert [m.split()[0] for m in found] == ["config_version", "config_redis_port", "config_scaling_min_replicas",
                                             "config_rollback_to"]


def test_min_and_max_replicas_compared_only_when_both_are_numbers():
    found = problems(config_scaling_min_replicas=60, config_scaling_max_replicas="many")
    assert len(found) == 1 and found[0].startswith("config_scaling_max_replicas must be")


@pytest.mark.parametrize("value", [None, 5, "x", [1, "a"], {"a": {"b": 1}}, MISSING])
def test_no_crash_on_any_type(value):
    found = config.check(dict.fromkeys(config.VARIABLES, value))
    assert found and all(isinstance(m, str) for m in found)

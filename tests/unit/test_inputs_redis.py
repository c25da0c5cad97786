"""The redis step's input checks (plugins/module_utils/inputs/redis.py): pure Python, no cluster."""

from __future__ import annotations

import pytest
from ansible_collections.agentic.platform.plugins.module_utils.inputs import redis
from ansible_collections.agentic.platform.plugins.module_utils.inputs.common import MISSING

# The local inventory (inventories/local/host_vars/local/main.yml) over the role defaults
# (roles/redis/defaults/main.yml).
VALID = {
    "redis_image": "docker.io/library/redis:7.4-alpine",
    "redis_version": "7.4",
    "redis_storage_size": "2Gi",
    "redis_storage_class": "",
    "redis_resources": {"requests": {"cpu": "250m", "memory": "256Mi"}, "limits": {"cpu": "500m", "memory": "512Mi"}},
    "redis_maxmemory_percent": 80,
    "redis_agent_user": "agent",
    "redis_agent_acl": "~* &* +@read +@write +@pubsub +@connection +@transaction +@scripting -@dangerous",
    "redis_secret_name": "agentic-ai-secrets",
    "redis_service_account": "redis",
    "redis_run_as_user": 999,
    "redis_run_as_group": 1000,
    "redis_node_selector": {},
    "redis_tolerations": [],
    "redis_ephemeral_storage_request": "64Mi",
    "redis_ephemeral_storage_limit": "256Mi",
    "redis_extra_config": {},
    "redis_mode": "standalone",
    "redis_replicas": 2,
    "redis_min_replicas_to_write": 1,
    "redis_min_replicas_max_lag": 10,
    "redis_sentinels": 3,
    "redis_sentinel_quorum": 2,
    "redis_sentinel_down_after_ms": 5000,
    "redis_sentinel_failover_timeout_ms": 60000,
    "redis_master_name": "agentic",
    "redis_sentinel_resources": {"requests": {"cpu": "50m", "memory": "32Mi"},
                                 "limits": {"cpu": "200m", "memory": "64Mi"}},
    "agent_redis_user": "agent",
    "config_redis_username": "agent",
}


def problems(**overrides) -> list[str]:
    return redis.check({**VALID, **overrides})


def test_valid_inventory_has_no_problem():
    assert sorted(VALID) == sorted(redis.VARIABLES)
    assert problems() == []


@pytest.mark.parametrize("overrides", [
    {"redis_image": "redis@sha256:" + "a" * 64},
    {"redis_image": "registry.example.com:5000/team/redis:7.4.1"},
    {"redis_storage_size": "1Ti", "redis_storage_class": "fast-ssd.example"},
    {"redis_storage_size": "1Gi"},
    {"redis_resources": {"limits": {"memory": "64Mi"}}},
    {"redis_resources": {"requests": {"cpu": 1}, "limits": {"cpu": 2, "memory": "1G"}}},
    {"redis_maxmemory_percent": "95", "redis_run_as_user": 2147483647, "redis_run_as_group": 1},
    {"redis_agent_acl": "resetkeys ~agent:* %R~cache:* &events -@all +@read +@write +ping -flushall -@dangerous"},
    {"redis_agent_user": "Agent_2-x", "agent_redis_user": "Agent_2-x", "config_redis_username": "Agent_2-x"},
    {"redis_agent_user": "agents", "agent_redis_user": MISSING, "config_redis_username": MISSING},
    {"redis_extra_config": {"maxclients": 500, "hz": "20", "notify-keyspace-events": "Ex",
                            "client-output-buffer-limit": "pubsub 32mb 8mb 60", "loglevel": "warning"}},
    {"redis_node_selector": {"node-pool": "cpu"},
     "redis_tolerations": [{"key": "dedicated", "operator": "Equal", "value": "redis", "effect": "NoSchedule"},
                           {"operator": "Exists"}]},
], ids=["digest", "registry-port-tag", "largest-storage", "smallest-storage", "limits-only", "numbers",
        "bounds", "acl-rules", "user", "user-role-alone", "extra-config", "scheduling"])
def test_valid_variants_have_no_problem(overrides):
    assert problems(**overrides) == []


# case -> (overrides, the variable every message must name)
BAD = {
    "image-latest": ({"redis_image": "redis:latest"}, "redis_image"),
    "image-no-tag": ({"redis_image": "docker.io/library/redis"}, "redis_image"),
    "image-short-digest": ({"redis_image": "redis@sha256:1234"}, "redis_image"),
    "image-malformed": ({"redis_image": "Redis Image:7"}, "redis_image"),
    "image-port-no-tag": ({"redis_image": "registry:5000/redis"}, "redis_image"),
    "image-type": ({"redis_image": 7.4}, "redis_image"),
    "storage-negative": ({"redis_storage_size": "-5Gi"}, "redis_storage_size"),
    "storage-absurd": ({"redis_storage_size": "500Ti"}, "redis_storage_size"),
    "storage-too-small": ({"redis_storage_size": "512Mi"}, "redis_storage_size"),
    "storage-not-quantity": ({"redis_storage_size": "big"}, "redis_storage_size"),
    "storage-bytes-number": ({"redis_storage_size": 8}, "redis_storage_size"),
    "storage-class-bad": ({"redis_storage_class": "Fast SSD"}, "redis_storage_class"),
    "storage-class-null": ({"redis_storage_class": None}, "redis_storage_class"),
    "resources-type": ({"redis_resources": "big"}, "redis_resources"),
    "resources-unknown-key": ({"redis_resources": {**VALID["redis_resources"], "claims": {}}}, "redis_resources"),
    "resources-no-limits": ({"redis_resources": {"requests": {"cpu": "1", "memory": "1Gi"}}}, "redis_resources"),
    "resources-requests-null": ({"redis_resources": {"requests": None, "limits": {"memory": "1Gi"}}},
                                "redis_resources"),
    "resources-gpu": ({"redis_resources": {"limits": {"memory": "1Gi", "nvidia.com/gpu": 1}}}, "redis_resources"),
    "resources-not-quantity": ({"redis_resources": {"requests": {"cpu": "lots"}, "limits": {"memory": "1Gi"}}},
                               "redis_resources"),
    "resources-memory-tiny": ({"redis_resources": {"limits": {"memory": "32Mi"}}}, "redis_resources"),
    "resources-memory-negative": ({"redis_resources": {"limits": {"memory": "-1Gi"}}}, "redis_resources"),
    "maxmemory-absurd": ({"redis_maxmemory_percent": 150}, "redis_maxmemory_percent"),
    "maxmemory-low": ({"redis_maxmemory_percent": 5}, "redis_maxmemory_percent"),
    "maxmemory-type": ({"redis_maxmemory_percent": "most"}, "redis_maxmemory_percent"),
    "user-default": ({"redis_agent_user": "default"}, "redis_agent_user"),
    "user-admin": ({"redis_agent_user": "admin"}, "redis_agent_user"),
    "user-space": ({"redis_agent_user": "agent one"}, "redis_agent_user"),
    "user-digit-first": ({"redis_agent_user": "1agent"}, "redis_agent_user"),
    "acl-password": ({"redis_agent_acl": "~* +@all >secret"}, "redis_agent_acl"),
    "acl-on": ({"redis_agent_acl": "on ~* +@all"}, "redis_agent_acl"),
    "acl-reset": ({"redis_agent_acl": "reset ~* +@all"}, "redis_agent_acl"),
    "acl-nopass": ({"redis_agent_acl": "~* nopass"}, "redis_agent_acl"),
    "acl-empty": ({"redis_agent_acl": ""}, "redis_agent_acl"),
    "acl-all": ({"redis_agent_acl": "~* &* +@all -@admin -@dangerous"}, "redis_agent_acl"),
    "acl-admin": ({"redis_agent_acl": "~* +@admin"}, "redis_agent_acl"),
    "acl-config": ({"redis_agent_acl": "~* +ping +config|set"}, "redis_agent_acl"),
    "acl-flushall": ({"redis_agent_acl": "~* +@write +ping"}, "redis_agent_acl"),
    "acl-shell": ({"redis_agent_acl": "~$(reboot) +ping"}, "redis_agent_acl"),
    "acl-type": ({"redis_agent_acl": ["~*", "+ping"]}, "redis_agent_acl"),
    "version-empty": ({"redis_version": ""}, "redis_version"),
    "version-bad": ({"redis_version": "7.4 alpine"}, "redis_version"),
    "user-not-agents": ({"agent_redis_user": "agents"}, "redis_agent_user"),
    "user-not-configs": ({"config_redis_username": "agents"}, "redis_agent_user"),
    "resources-request-above-limit": ({"redis_resources": {"requests": {"cpu": "2", "memory": "1Gi"},
                                                           "limits": {"cpu": "1", "memory": "1Gi"}}},
                                      "redis_resources"),
    "node-selector-bad-key": ({"redis_node_selector": {"-bad": "x"}}, "redis_node_selector"),
    "node-selector-bad-value": ({"redis_node_selector": {"pool": "a b"}}, "redis_node_selector"),
    "toleration-bad-effect": ({"redis_tolerations": [{"key": "a", "effect": "Never"}]}, "redis_tolerations"),
    "toleration-exists-value": ({"redis_tolerations": [{"key": "a", "operator": "Exists", "value": "b"}]},
                                "redis_tolerations"),
    "toleration-no-key": ({"redis_tolerations": [{"operator": "Equal", "value": "b"}]}, "redis_tolerations"),
    "secret-name-bad": ({"redis_secret_name": "Agentic_Secrets"}, "redis_secret_name"),
    "service-account-bad": ({"redis_service_account": "redis account"}, "redis_service_account"),
    "run-as-root": ({"redis_run_as_user": 0}, "redis_run_as_user"),
    "run-as-absurd": ({"redis_run_as_user": 2147483648}, "redis_run_as_user"),
    "run-as-group-negative": ({"redis_run_as_group": -1}, "redis_run_as_group"),
    "run-as-group-type": ({"redis_run_as_group": "redis"}, "redis_run_as_group"),
    "extra-reserved": ({"redis_extra_config": {"port": 6380}}, "redis_extra_config"),
    "extra-reserved-case": ({"redis_extra_config": {"ACLFILE": "/tmp/x"}}, "redis_extra_config"),
    "extra-rename": ({"redis_extra_config": {"rename-command": "CONFIG ''"}}, "redis_extra_config"),
    "extra-uppercase": ({"redis_extra_config": {"MaxClients": 10}}, "redis_extra_config"),
    "extra-newline": ({"redis_extra_config": {"maxclients": "10\nport 1"}}, "redis_extra_config"),
    "extra-type": ({"redis_extra_config": ["maxclients 10"]}, "redis_extra_config"),
    "extra-maxmemory": ({"redis_extra_config": {"maxmemory": "10gb"}}, "redis_extra_config"),
    "extra-user": ({"redis_extra_config": {"user": "evil on nopass +@all"}}, "redis_extra_config"),
    "extra-replicaof": ({"redis_extra_config": {"replicaof": "attacker 6379"}}, "redis_extra_config"),
    "extra-slaveof": ({"redis_extra_config": {"slaveof": "attacker 6379"}}, "redis_extra_config"),
    "extra-loadmodule": ({"redis_extra_config": {"loadmodule": "/tmp/evil.so"}}, "redis_extra_config"),
    "extra-enable-debug": ({"redis_extra_config": {"enable-debug-command": "yes"}}, "redis_extra_config"),
    "extra-requirepass": ({"redis_extra_config": {"requirepass": "x"}}, "redis_extra_config"),
    "extra-masteruser": ({"redis_extra_config": {"masteruser": "x"}}, "redis_extra_config"),
    "extra-protected-mode": ({"redis_extra_config": {"protected-mode": "no"}}, "redis_extra_config"),
    "extra-tls": ({"redis_extra_config": {"tls-port": 6380}}, "redis_extra_config"),
    "extra-dbfilename": ({"redis_extra_config": {"dbfilename": "../etc/x"}}, "redis_extra_config"),
    "extra-include": ({"redis_extra_config": {"include": "/etc/passwd"}}, "redis_extra_config"),
    "extra-quote": ({"redis_extra_config": {"maxclients": '10" "20'}}, "redis_extra_config"),
    "extra-bool": ({"redis_extra_config": {"lazyfree-lazy-eviction": True}}, "redis_extra_config"),
    "extra-list-value": ({"redis_extra_config": {"maxclients": [10]}}, "redis_extra_config"),
    "extra-empty-value": ({"redis_extra_config": {"maxclients": ""}}, "redis_extra_config"),
    "ephemeral-request-above-limit": ({"redis_ephemeral_storage_request": "2Gi",
                                       "redis_ephemeral_storage_limit": "1Gi"},
                                      "redis_ephemeral_storage_request"),
    "ephemeral-not-quantity": ({"redis_ephemeral_storage_limit": "lots"}, "redis_ephemeral_storage_limit"),
    "ephemeral-zero": ({"redis_ephemeral_storage_request": "0"}, "redis_ephemeral_storage_request"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_a_bad_value_is_named(case):
    overrides, name = BAD[case]
    found = problems(**overrides)
    assert found, f"{case}: no problem found"
    assert all(name in m for m in found), found


def test_messages_keep_their_wording():
    found = problems(redis_image="redis:latest", redis_storage_size="500Ti", redis_agent_user="admin",
                     redis_extra_config={"dir": "/"})
    assert found == [
        "redis_image 'redis:latest' must be an image reference [registry/]path:tag or path@sha256:<64 hex>, with a "
        "tag other than 'latest' or a digest",
        "redis_storage_size '500Ti' must be a Kubernetes quantity between 1Gi and 1Ti (e.g. 8Gi)",
        "redis_agent_user 'admin' must be a name of letters, digits, '_' or '-' and not 'default' or 'admin'",
        "redis_agent_user 'admin' must be the user the agents log in as: agent_redis_user is 'agent'",
        "redis_agent_user 'admin' must be the user the agents log in as: config_redis_username is 'agent'",
        "redis_extra_config['dir']: the role owns this directive or it opens the server (reserved: "
        + ", ".join([*redis.RESERVED_CONFIG, "enable-*", "tls-*", "unixsocket*", "cluster-*"]) + ")",
    ]


def test_resources_are_quoted_as_json():
    found = problems(redis_resources={"limits": {"memory": "1Mi"}})
    assert found == ['redis_resources: limits.memory must be set, at least 64Mi (maxmemory is a share of it); '
                     'got {"limits": {"memory": "1Mi"}}']


@pytest.mark.parametrize("value", [None, True, 0, -1, 3.5, "", "x", [], [1], {}, {"a": [1]}, MISSING], ids=repr)
def test_no_type_crashes_the_checks(value):
    for name in redis.VARIABLES:
        assert isinstance(problems(**{name: value}), list)


@pytest.mark.parametrize(("overrides", "named"), [
    ({"redis_mode": "cluster"}, "redis_mode must be standalone or sentinel"),
    ({"redis_replicas": 0}, "redis_replicas must be between 1 and 8"),
    ({"redis_min_replicas_to_write": 3}, "redis_min_replicas_to_write must be between 0 and redis_replicas (2)"),
    ({"redis_min_replicas_max_lag": 0}, "redis_min_replicas_max_lag must be between 1 and 60"),
    ({"redis_sentinels": 2}, "redis_sentinels must be between 3 and 9"),
    ({"redis_sentinel_quorum": 1}, "redis_sentinel_quorum must be between a majority of redis_sentinels (2)"),
    ({"redis_sentinels": 5, "redis_sentinel_quorum": 6}, "redis_sentinel_quorum must be between a majority"),
    ({"redis_sentinel_down_after_ms": 10}, "redis_sentinel_down_after_ms must be between 1000 and 600000"),
    ({"redis_sentinel_failover_timeout_ms": 10}, "redis_sentinel_failover_timeout_ms must be between 10000"),
    ({"redis_master_name": "a b"}, "redis_master_name 'a b' must be"),
    ({"redis_master_name": "x\nsentinel monitor"}, "redis_master_name"),
    ({"redis_sentinel_resources": {"limits": {"cpu": "x"}}}, "redis_sentinel_resources:"),
    ({"redis_extra_config": {"min-replicas-max-lag": 5}}, "redis_extra_config['min-replicas-max-lag']: the role owns"),
], ids=lambda x: str(x)[:40])
def test_sentinel_settings_are_checked(overrides, named):
    found = problems(**overrides)
    assert any(named in message for message in found), found


def test_sentinel_mode_with_its_defaults_has_no_problem():
    assert problems(redis_mode="sentinel", redis_sentinels=5, redis_sentinel_quorum=3, redis_replicas=1,
                    redis_min_replicas_to_write=1) == []

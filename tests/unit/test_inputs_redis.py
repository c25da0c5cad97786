"""The redis step's input checks (plugins/module_utils/inputs/redis.py): pure Python, no cluster."""

from __future__ import annotations

import pytest
from ansible_collections.agentic.platform.plugins.module_utils.inputs import redis
from ansible_collections.agentic.platform.plugins.module_utils.inputs.common import MISSING

# The local inventory (inventories/local/host_vars/local/main.yml) over the role defaults
# (roles/redis/defaults/main.yml).
VALID = {
    "redis_image": "docker.io/library/redis:7.4-alpine",
    "redis_storage_size": "2Gi",
    "redis_storage_class": "",
    "redis_resources": {"requests": {"cpu": "250m", "memory": "256Mi"}, "limits": {"cpu": "500m", "memory": "512Mi"}},
    "redis_maxmemory_percent": 80,
    "redis_agent_user": "agent",
    "redis_agent_acl": "~* &* +@all -@admin -@dangerous",
    "redis_secret_name": "agentic-ai-secrets",
    "redis_service_account": "redis",
    "redis_run_as_user": 999,
    "redis_run_as_group": 1000,
    "redis_extra_config": {},
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
    {"redis_agent_acl": "resetkeys ~agent:* %R~cache:* &events allcommands -flushall -@dangerous"},
    {"redis_agent_user": "Agent_2-x"},
    {"redis_extra_config": {"maxclients": 500, "hz": "20", "notify-keyspace-events": "Ex"}},
], ids=["digest", "registry-port-tag", "largest-storage", "smallest-storage", "limits-only", "numbers",
        "bounds", "acl-rules", "user", "extra-config"])
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
        "redis_extra_config must map redis.conf directive names (lowercase) to one-line values and may not set "
        "aclfile, dir, port, appendonly, bind, include, rename-command",
    ]


def test_resources_are_quoted_as_json():
    found = problems(redis_resources={"limits": {"memory": "1Mi"}})
    assert found == ['redis_resources must be {requests: {cpu, memory}, limits: {cpu, memory}} with Kubernetes '
                     'quantities, limits.memory at least 64Mi; got {"limits": {"memory": "1Mi"}}']


@pytest.mark.parametrize("value", [None, True, 0, -1, 3.5, "", "x", [], [1], {}, {"a": [1]}, MISSING], ids=repr)
def test_no_type_crashes_the_checks(value):
    for name in redis.VARIABLES:
        assert isinstance(problems(**{name: value}), list)

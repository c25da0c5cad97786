"""The agent step's input checks (plugins/module_utils/inputs/agent.py): pure Python, no cluster."""

from __future__ import annotations

import pytest
from ansible_collections.agentic.platform.plugins.module_utils.inputs import agent
from ansible_collections.agentic.platform.plugins.module_utils.inputs.common import MISSING

KEYS = ["openai-api-key", "anthropic-api-key", "azure-openai-key", "postgres-username", "postgres-password",
        "redis-password", "tls.crt", "tls.key", "ca.crt", "jwt-private-key", "jwt-public-key", "aws-access-key-id",
        "aws-secret-access-key", "gcp-service-account"]
# The local inventory (inventories/local/host_vars/local/main.yml) over the role defaults
# (roles/agent/defaults/main.yml); the checksum and version as the config and secrets steps set them.
VALID = {
    "agent_image": "agent-registry/mcp-agent:v1.0.0",
    "agent_version": "v1.0.0",
    "agent_model_version": "",
    "agent_replicas": 2,
    "agent_pdb_min_available": 1,
    "agent_resources": {"requests": {"cpu": "500m", "memory": "512Mi"}, "limits": {"cpu": "1000m", "memory": "1Gi"}},
    "agent_gpu_count": 0,
    "agent_gpu_resource": "nvidia.com/gpu",
    "agent_gpu_allocation": "device-plugin",
    "agent_gpu_device_class": "gpu.nvidia.com",
    "agent_gpu_node_selector": {"nvidia.com/gpu.present": "true"},
    "agent_gpu_tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}],
    "agent_node_selector": {},
    "agent_tolerations": [],
    "agent_zones": ["local-1a", "local-1b", "local-1c"],
    "agent_config_map": "agentic-ai-config",
    "agent_secret_name": "agentic-ai-secrets",
    "agent_service_account": "mcp-agent",
    "agent_secret_keys": KEYS,
    "agent_secret_optional_keys": ["jwt-kid", "jwt-jwks.json", "jwt-previous-public-key", "jwt-previous-kid"],
    "agent_redis_user": "agent",
    "agent_env": {},
    "agent_run_as_user": 10001,
    "agent_ephemeral_storage_request": "256Mi",
    "agent_ephemeral_storage_limit": "1Gi",
    "agent_termination_grace_period": 75,
    "agent_config_checksum": "0" * 64,
    "agent_secrets_version": "a" * 16,
}


def problems(**overrides) -> list[str]:
    return agent.check({**VALID, **overrides})


def test_valid_inventory_has_no_problem():
    assert sorted(VALID) == sorted(agent.VARIABLES)
    assert problems() == []


@pytest.mark.parametrize("overrides", [
    {"agent_image": "registry.example.com:5000/agents/mcp-agent@sha256:" + "0" * 64},
    {"agent_version": 1.5},
    {"agent_model_version": "m-2025-11.1"},
    {"agent_replicas": 500, "agent_pdb_min_available": 499},
    {"agent_replicas": 1, "agent_pdb_min_available": 0},
    {"agent_replicas": "6", "agent_pdb_min_available": "4"},
    {"agent_resources": {"requests": {"cpu": "2", "memory": "1Gi"}, "limits": {"cpu": 2, "memory": "1Gi"}}},
    {"agent_resources": {"requests": {"cpu": "1"}, "limits": {"memory": "1Gi"}}},
    {"agent_gpu_count": 8, "agent_gpu_resource": "amd.com/gpu"},
    {"agent_node_selector": {"kubernetes.io/arch": "amd64", "tier": ""}},
    {"agent_tolerations": [{"operator": "Exists"}, {"key": "spot", "operator": "Equal", "value": "yes",
                                                    "effect": "NoExecute"}, {"key": "dedicated"}]},
    {"agent_zones": []},
    {"agent_secret_keys": ["redis-password"], "agent_secret_optional_keys": []},
    {"agent_redis_user": "agents_2"},
    {"agent_env": {"LOG_LEVEL": "debug", "_PRIVATE": "1"}},
    {"agent_run_as_user": 1, "agent_termination_grace_period": 3600},
    {"agent_config_checksum": "", "agent_secrets_version": "", "agent_termination_grace_period": 5},
    {"agent_config_checksum": MISSING, "agent_secrets_version": None},
], ids=["digest", "numeric-version", "model-version", "most-replicas", "one-replica", "numbers-as-strings",
        "requests-equal-limits", "partial-resources", "gpus", "node-selector", "tolerations", "any-zone", "fewest-keys",
        "redis-user", "env", "bounds", "no-annotations", "undefined-annotations"])
def test_valid_variants_have_no_problem(overrides):
    assert problems(**overrides) == []


# case -> (overrides, the variable every message must name)
BAD = {
    "image-malformed": ({"agent_image": "Agent Registry/mcp agent:v1"}, "agent_image"),
    "image-latest": ({"agent_image": "registry.example.com/mcp-agent:latest"}, "agent_image"),
    "image-no-tag": ({"agent_image": "agent-registry/mcp-agent"}, "agent_image"),
    "image-bad-digest": ({"agent_image": "mcp-agent@sha256:XYZ"}, "agent_image"),
    "image-type": ({"agent_image": ["mcp-agent:v1"]}, "agent_image"),
    "version-empty": ({"agent_version": ""}, "agent_version"),
    "version-space": ({"agent_version": "v 1"}, "agent_version"),
    "version-too-long": ({"agent_version": "v" * 64}, "agent_version"),
    "version-null": ({"agent_version": None}, "agent_version"),
    "model-version-space": ({"agent_model_version": "m 2"}, "agent_model_version"),
    "model-version-slash": ({"agent_model_version": "m/2"}, "agent_model_version"),
    "model-version-null": ({"agent_model_version": None}, "agent_model_version"),
    "replicas-type": ({"agent_replicas": "three", "agent_pdb_min_available": 0}, "agent_replicas"),
    "replicas-negative": ({"agent_replicas": -2, "agent_pdb_min_available": 0}, "agent_replicas"),
    "replicas-zero": ({"agent_replicas": 0, "agent_pdb_min_available": 0}, "agent_replicas"),
    "replicas-absurd": ({"agent_replicas": 100000}, "agent_replicas"),
    "pdb-not-below-replicas": ({"agent_replicas": 2, "agent_pdb_min_available": 2}, "agent_pdb_min_available"),
    "pdb-negative": ({"agent_pdb_min_available": -1}, "agent_pdb_min_available"),
    "pdb-type": ({"agent_pdb_min_available": "half"}, "agent_pdb_min_available"),
    "resources-not-quantity": ({"agent_resources": {"requests": {"cpu": "lots", "memory": "1Gi"},
                                                    "limits": {"cpu": "1", "memory": "1Gi"}}}, "agent_resources"),
    "resources-zero": ({"agent_resources": {"requests": {"cpu": "0"}, "limits": {"cpu": "1"}}}, "agent_resources"),
    "resources-negative": ({"agent_resources": {"requests": {"cpu": "-1"}, "limits": {"cpu": "1"}}},
                           "agent_resources"),
    "resources-requests-over-limits": ({"agent_resources": {"requests": {"cpu": "2", "memory": "2Gi"},
                                                            "limits": {"cpu": "1", "memory": "1Gi"}}},
                                       "agent_resources"),
    "resources-no-requests": ({"agent_resources": {"limits": {"cpu": "1"}}}, "agent_resources"),
    "resources-gpu": ({"agent_resources": {"requests": {"nvidia.com/gpu": 1}, "limits": {"nvidia.com/gpu": 1}}},
                      "agent_resources"),
    "resources-unknown-key": ({"agent_resources": {**VALID["agent_resources"], "claims": []}}, "agent_resources"),
    "resources-type": ({"agent_resources": "big"}, "agent_resources"),
    "gpu-absurd": ({"agent_gpu_count": 64}, "agent_gpu_count"),
    "gpu-negative": ({"agent_gpu_count": -1}, "agent_gpu_count"),
    "gpu-type": ({"agent_gpu_count": "one"}, "agent_gpu_count"),
    "gpu-resource-bad": ({"agent_gpu_resource": "gpu"}, "agent_gpu_resource"),
    "node-selector-bad-value": ({"agent_node_selector": {"tier": "has spaces"}}, "agent_node_selector"),
    "node-selector-bad-key": ({"agent_node_selector": {"bad key": "x"}}, "agent_node_selector"),
    "node-selector-type": ({"agent_node_selector": ["tier=x"]}, "agent_node_selector"),
    "gpu-node-selector-bool": ({"agent_gpu_node_selector": {"nvidia.com/gpu.present": True}},
                               "agent_gpu_node_selector"),
    "tolerations-no-key": ({"agent_tolerations": [{"operator": "Equal", "value": "x"}]}, "agent_tolerations"),
    "tolerations-operator": ({"agent_tolerations": [{"key": "a", "operator": "Maybe"}]}, "agent_tolerations"),
    "tolerations-effect": ({"agent_tolerations": [{"key": "a", "effect": "NoWay"}]}, "agent_tolerations"),
    "tolerations-entry-type": ({"agent_tolerations": ["spot"]}, "agent_tolerations"),
    "tolerations-type": ({"agent_tolerations": {"key": "a"}}, "agent_tolerations"),
    "gpu-tolerations-effect": ({"agent_gpu_tolerations": [{"key": "nvidia.com/gpu", "effect": "Never"}]},
                               "agent_gpu_tolerations"),
    "zones-bad": ({"agent_zones": ["us east 1a"]}, "agent_zones"),
    "zones-type": ({"agent_zones": "local-1a"}, "agent_zones"),
    "zones-empty-zone": ({"agent_zones": ["local-1a", ""]}, "agent_zones"),
    "zones-duplicate": ({"agent_zones": ["local-1a", "local-1a"]}, "agent_zones"),
    "zones-list-entry": ({"agent_zones": [["local-1a"]]}, "agent_zones"),
    "keys-dot": ({"agent_secret_keys": ["redis-password", "."]}, "agent_secret_keys"),
    "optional-keys-admin": ({"agent_secret_optional_keys": ["redis-admin-password"]}, "agent_secret_optional_keys"),
    "optional-keys-also-required": ({"agent_secret_optional_keys": ["jwt-kid", "redis-password"]},
                                    "agent_secret_optional_keys"),
    "optional-keys-duplicate": ({"agent_secret_optional_keys": ["jwt-kid", "jwt-kid"]}, "agent_secret_optional_keys"),
    "optional-keys-dot-dot": ({"agent_secret_optional_keys": ["..data"]}, "agent_secret_optional_keys"),
    "keys-dot-dot": ({"agent_secret_keys": ["redis-password", ".."]}, "agent_secret_keys"),
    "keys-dot-dot-prefix": ({"agent_secret_keys": ["redis-password", "..data"]}, "agent_secret_keys"),
    "keys-too-long": ({"agent_secret_keys": ["redis-password", "k" * 254]}, "agent_secret_keys"),
    "tolerations-exists-with-value": ({"agent_tolerations": [{"key": "a", "operator": "Exists", "value": "b"}]},
                                      "agent_tolerations"),
    "tolerations-seconds-not-noexecute": ({"agent_tolerations": [{"key": "a", "effect": "NoSchedule",
                                                                  "tolerationSeconds": 30}]}, "agent_tolerations"),
    "tolerations-bad-key": ({"agent_tolerations": [{"key": "bad key", "operator": "Exists"}]}, "agent_tolerations"),
    "tolerations-bad-value": ({"agent_tolerations": [{"key": "a", "value": "v" * 64}]}, "agent_tolerations"),
    "tolerations-unknown-field": ({"agent_tolerations": [{"key": "a", "efect": "NoSchedule"}]}, "agent_tolerations"),
    "node-selector-bad-prefix": ({"agent_node_selector": {"example..com/tier": "x"}}, "agent_node_selector"),
    "node-selector-long-value": ({"agent_node_selector": {"tier": "v" * 64}}, "agent_node_selector"),
    "node-selector-long-name": ({"agent_node_selector": {"example.com/" + "n" * 64: "x"}}, "agent_node_selector"),
    "config-map-bad": ({"agent_config_map": "Agentic_Config"}, "agent_config_map"),
    "secret-name-bad": ({"agent_secret_name": "secrets!"}, "agent_secret_name"),
    "service-account-bad": ({"agent_service_account": ""}, "agent_service_account"),
    "keys-admin-password": ({"agent_secret_keys": ["redis-password", "redis-admin-password"]}, "agent_secret_keys"),
    "keys-no-redis-password": ({"agent_secret_keys": ["openai-api-key"]}, "agent_secret_keys"),
    "keys-duplicate": ({"agent_secret_keys": ["redis-password", "redis-password"]}, "agent_secret_keys"),
    "keys-bad-name": ({"agent_secret_keys": ["redis-password", "tls/crt"]}, "agent_secret_keys"),
    "keys-type": ({"agent_secret_keys": "redis-password"}, "agent_secret_keys"),
    "redis-user-admin": ({"agent_redis_user": "admin"}, "agent_redis_user"),
    "redis-user-default": ({"agent_redis_user": "default"}, "agent_redis_user"),
    "redis-user-bad": ({"agent_redis_user": "agent:1"}, "agent_redis_user"),
    "env-reserved": ({"agent_env": {"REDIS_PASSWORD_FILE": "/tmp/x"}}, "agent_env"),
    "env-bad-name": ({"agent_env": {"LOG-LEVEL": "debug"}}, "agent_env"),
    "env-type": ({"agent_env": ["LOG_LEVEL=debug"]}, "agent_env"),
    "run-as-root": ({"agent_run_as_user": 0}, "agent_run_as_user"),
    "run-as-absurd": ({"agent_run_as_user": 2**31}, "agent_run_as_user"),
    "grace-short": ({"agent_termination_grace_period": 1}, "agent_termination_grace_period"),
    "grace-absurd": ({"agent_termination_grace_period": 86400}, "agent_termination_grace_period"),
    "checksum-long": ({"agent_config_checksum": "c" * 254}, "agent_config_checksum"),
    "secrets-version-long": ({"agent_secrets_version": "s" * 254}, "agent_secrets_version"),
    "ephemeral-request-above-limit": ({"agent_ephemeral_storage_request": "2Gi",
                                       "agent_ephemeral_storage_limit": "1Gi"},
                                      "agent_ephemeral_storage_request"),
    "ephemeral-not-quantity": ({"agent_ephemeral_storage_limit": "lots"}, "agent_ephemeral_storage_limit"),
    "ephemeral-zero": ({"agent_ephemeral_storage_request": "0"}, "agent_ephemeral_storage_request"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_a_bad_value_is_named(case):
    overrides, name = BAD[case]
    found = problems(**overrides)
    assert found, f"{case}: no problem found"
    assert all(name in m for m in found), found


def test_messages_keep_their_wording():
    found = problems(agent_replicas=2, agent_pdb_min_available=2, agent_gpu_count=64,
                     agent_tolerations=[{"key": "a", "operator": "Maybe"}], agent_env={"POD_NAME": "x"})
    assert found == [
        "agent_pdb_min_available (2) must be at least 0 and below agent_replicas (2), or no pod could ever be "
        "evicted or drained",
        "agent_gpu_count must be between 0 and 8 GPUs per pod, got 64",
        'agent_tolerations entries must be tolerations {key, operator: Exists|Equal, value, effect: '
        'NoSchedule|PreferNoSchedule|NoExecute}, got [{"key": "a", "operator": "Maybe"}]',
        "agent_env names must be environment variable names ([A-Za-z_][A-Za-z0-9_]*) other than those the role sets "
        "(REDIS_USERNAME, REDIS_PASSWORD_FILE, AGENTIC_SECRETS_DIR, AGENTIC_REGION, POD_NAME, POD_NAMESPACE, "
        "AGENT_VERSION, AGENT_MODEL_VERSION)",
    ]


def test_every_failing_check_is_reported_at_once():
    found = problems(agent_image="x:latest", agent_replicas=0, agent_gpu_count=9, agent_zones=["a b"])
    assert [m.split(" ")[0] for m in found] == ["agent_image", "agent_replicas", "agent_pdb_min_available",
                                                "agent_gpu_count", "agent_zones"]


@pytest.mark.parametrize("value", [None, True, 0, -1, 3.5, "", "x", [], [1], [{}], {}, {"a": [1]}, MISSING],
                         ids=repr)
def test_no_type_crashes_the_checks(value):
    for name in agent.VARIABLES:
        assert isinstance(problems(**{name: value}), list)


def test_gpu_device_class_is_checked_with_dra_only():
    assert problems(agent_gpu_allocation="dra", agent_gpu_count=1) == []
    assert problems(agent_gpu_allocation="dra", agent_gpu_device_class="GPU class") == [
        "agent_gpu_device_class 'GPU class' must be a DeviceClass name (a DNS-1123 subdomain, like gpu.nvidia.com) "
        "with agent_gpu_allocation dra"]
    assert problems(agent_gpu_device_class="GPU class") == []

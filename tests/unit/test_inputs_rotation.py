"""The rotation role's input checks (plugins/module_utils/inputs/rotation.py), in plain Python."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from ansible_collections.agentic.platform.plugins.module_utils.inputs import rotation

ROOT = Path(__file__).resolve().parents[2]

# What the role defaults give (templated for the local inventory).
VALID = {
    "rotation_namespace": "agentic-ai",
    "rotation_secret_name": "agentic-ai-secrets",
    "rotation_deployments": ["mcp-agent"],
    "rotation_field_manager": "agentic.platform.rotation",
    "rotation_redis_enabled": True,
    "rotation_redis_host": "redis.agentic-ai.svc.cluster.local",
    "rotation_redis_port": 6379,
    "rotation_redis_nodes": [],
    "rotation_wait_timeout": "300",
    "rotation_redis_drain_seconds": 30,
    "rotation_jwt_max_token_lifetime": 3600,
    "rotation_jwt_publish_lead": 0,
    "rotation_lock_timeout": 60,
    "rotation_external_keys": [],
    "rotation_audit_log": "/root/.local/state/agentic-platform/rotation-audit.jsonl",
}
VALUE = "sk-live-NEVER-IN-A-MESSAGE-0123456789"


def problems(**changes) -> list[str]:
    return rotation.check({**VALID, **changes})


def test_valid_is_what_the_defaults_give_and_every_variable_is_read():
    defaults = yaml.safe_load((ROOT / "roles/rotation/defaults/main.yml").read_text())
    assert set(VALID) == set(rotation.VARIABLES)
    assert set(VALID) <= set(defaults)
    spec = yaml.safe_load((ROOT / "roles/rotation/meta/argument_specs.yml").read_text())
    assert set(defaults) == set(spec["argument_specs"]["main"]["options"])
    assert problems() == []
    assert problems(rotation_external_keys=[{"key": "openai-api-key", "value": VALUE},
                                            {"key": "anthropic-api-key", "rollback": True}]) == []


def test_no_deployment_to_roll_is_refused():
    (msg,) = problems(rotation_deployments=[])
    assert msg.startswith("rotation_deployments must list at least one Deployment")
    assert problems(rotation_deployments=["Not A Name"])[0].startswith("rotation_deployments")


@pytest.mark.parametrize("key", ["redis-password", "redis-password-next", "redis-password-previous",
                                 "redis-admin-password", "jwt", "jwt-private-key", "jwt-next-private-key",
                                 "openai-api-key-previous", "openai-api-key-next"])
def test_keys_of_the_redis_and_jwt_kinds_and_slots_are_refused(key):
    (msg,) = problems(rotation_external_keys=[{"key": key, "value": VALUE}])
    assert msg.startswith(f"rotation_external_keys[0] (key '{key}')") and VALUE not in msg


@pytest.mark.parametrize("value", ["", "   ", None])
def test_an_empty_value_is_refused_naming_the_key(value):
    entry = {"key": "openai-api-key"} if value is None else {"key": "openai-api-key", "value": value}
    (msg,) = problems(rotation_external_keys=[{"key": "anthropic-api-key", "value": VALUE}, entry])
    assert msg.startswith("rotation_external_keys[1] (key 'openai-api-key'): value is empty")


def test_external_entries_never_show_a_value():
    bad = [{"key": "openai-api-key", "value": VALUE, "valeu": VALUE}, {"key": "openai-api-key", "value": VALUE},
           {"key": "has space", "value": VALUE}, "openai-api-key", {"key": "x", "value": VALUE, "rollback": "yes"}]
    found = problems(rotation_external_keys=bad)
    assert len(found) == 5 and all(VALUE not in m for m in found), found
    assert problems(rotation_external_keys={"key": "x"})[0].startswith("rotation_external_keys must be a list")


@pytest.mark.parametrize(("name", "bad"), [
    ("rotation_redis_port", 70000), ("rotation_redis_port", 0), ("rotation_wait_timeout", 0),
    ("rotation_wait_timeout", "soon"), ("rotation_redis_drain_seconds", -1), ("rotation_jwt_max_token_lifetime", 0),
    ("rotation_jwt_publish_lead", -5), ("rotation_lock_timeout", -1), ("rotation_lock_timeout", 10**6),
])
def test_numbers_out_of_range_name_their_variable(name, bad):
    (msg,) = problems(**{name: bad})
    assert msg.startswith(f"{name} must be a whole number")


@pytest.mark.parametrize(("name", "bad"), [
    ("rotation_namespace", "Agentic_AI"), ("rotation_secret_name", "a/b"), ("rotation_field_manager", "a b"),
    ("rotation_redis_host", ""), ("rotation_redis_host", "redis;rm"), ("rotation_audit_log", "relative/file.jsonl"),
])
def test_names_and_paths_name_their_variable(name, bad):
    (msg,) = problems(**{name: bad})
    assert msg.startswith(name)


def test_redis_host_may_be_empty_when_redis_rotation_is_off():
    assert problems(rotation_redis_enabled=False, rotation_redis_host="") == []


@pytest.mark.parametrize("nodes", [["redis-0.redis-headless.ns.svc.cluster.local:6379", "10.0.0.1:26379"], []])
def test_redis_nodes_of_sentinel_mode_pass(nodes):
    assert problems(rotation_redis_nodes=nodes) == []


@pytest.mark.parametrize("nodes", [["redis-0"], ["host:0"], ["host:70000"], ["a;b:6379"], "redis:6379", [6379]])
def test_bad_redis_nodes_are_named(nodes):
    assert any(m.startswith("rotation_redis_nodes must list host:port") for m in problems(rotation_redis_nodes=nodes))

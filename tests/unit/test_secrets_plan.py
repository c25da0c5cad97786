"""The secrets step's decisions (plugins/module_utils/secret_data.py decide / assemble_secret /
step_data, the action secret_data): what is given, reused, kept sealed or generated, which
inventory value would undo a rotation, and when the secrets version changes."""

from __future__ import annotations

import base64

import pytest
from ansible_collections.agentic.platform.plugins.module_utils.secret_data import assemble_secret, decide, step_data
from ansible_collections.agentic.platform.plugins.module_utils.secret_fingerprint import secrets_version

GROUPS = {"redis-password": ["redis-password"], "redis-admin-password": ["redis-admin-password"],
          "jwt": ["jwt-private-key", "jwt-public-key"]}
KEY_VARS = {"openai-api-key": "secrets_openai_api_key", "redis-password": "secrets_redis_password",
            "redis-admin-password": "secrets_redis_admin_password", "jwt-private-key": "secrets_jwt_private_key",
            "jwt-public-key": "secrets_jwt_public_key"}
PROVIDED = ["openai-api-key"]
GIVEN = {"openai-api-key": "sk-1", "redis-password": "", "redis-admin-password": "", "jwt-private-key": "",
         "jwt-public-key": ""}
MADE = {"redis-password": "r" * 32, "redis-admin-password": "a" * 32, "jwt-private-key": "PRIV",
        "jwt-public-key": "PUB"}


def secret(data: dict, annotations: dict | None = None) -> dict:
    return {"kind": "Secret", "metadata": {"name": "agentic-ai-secrets", "annotations": annotations or {}},
            "data": {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}}


def test_first_run_generates_every_makeable_group():
    plan = decide(None, GROUPS, KEY_VARS, GIVEN)
    assert plan["generate"] == ["redis-password", "redis-admin-password", "jwt"]
    assert plan["existing"] == {} and plan["existing_version"] == "" and plan["conflicts"] == []
    out = assemble_secret(plan, GROUPS, MADE, PROVIDED)
    assert out["data"] == {"openai-api-key": "sk-1", **MADE}
    assert out["generated"] == sorted(MADE) and out["kept"] == []
    assert out["version"] == secrets_version(out["data"])


def test_a_later_run_reuses_the_cluster_and_keeps_its_version():
    live = secret({"openai-api-key": "sk-1", **MADE, "added-by-others": "x"},
                  {"agentic.platform/secrets-version": "rotation.v2"})
    plan = decide(live, GROUPS, KEY_VARS, GIVEN)
    assert plan["generate"] == []
    out = assemble_secret(plan, GROUPS, {}, PROVIDED)
    assert out["data"] == {"openai-api-key": "sk-1", **MADE} and out["generated"] == []
    assert out["version"] == "rotation.v2"  # keys other writers added do not count


def test_a_changed_value_gives_a_new_version():
    live = secret({"openai-api-key": "sk-1", **MADE}, {"agentic.platform/secrets-version": "old"})
    out = assemble_secret(decide(live, GROUPS, KEY_VARS, {**GIVEN, "openai-api-key": "sk-2"}), GROUPS, {}, PROVIDED)
    assert out["version"] not in ("old", "") and out["version"] == secrets_version(out["data"])


def test_without_a_version_on_the_secret_one_is_computed():
    live = secret({"openai-api-key": "sk-1", **MADE})
    out = assemble_secret(decide(live, GROUPS, KEY_VARS, GIVEN), GROUPS, {}, PROVIDED)
    assert out["version"] == secrets_version(out["data"])


def test_given_values_win_and_a_half_given_group_is_generated_whole():
    given = {**GIVEN, "redis-password": "mine", "jwt-private-key": "only-half"}
    plan = decide(None, GROUPS, KEY_VARS, given)
    assert plan["generate"] == ["redis-admin-password", "jwt"]
    out = assemble_secret(plan, GROUPS, MADE, PROVIDED)
    assert out["data"]["redis-password"] == "mine" and out["data"]["jwt-private-key"] == "PRIV"


def test_values_are_text_and_unset_ones_empty():
    plan = decide(None, GROUPS, KEY_VARS, {"openai-api-key": 12345, "redis-password": None})
    assert plan["given"]["openai-api-key"] == "12345"
    assert plan["given"]["redis-password"] == "" and plan["given"]["jwt-public-key"] == ""
    assert "redis-password" in plan["generate"]


def test_sealed_mode_keeps_sealed_keys_and_has_no_version():
    sealed = ["redis-password", "redis-admin-password", "jwt-private-key", "jwt-public-key"]
    plan = decide(None, GROUPS, KEY_VARS, GIVEN, sealed)
    assert plan["generate"] == []
    out = assemble_secret(plan, GROUPS, {}, PROVIDED, mode="sealed")
    assert out == {"data": {"openai-api-key": "sk-1"}, "kept": sorted(sealed), "generated": [], "version": ""}


def test_an_inventory_value_that_would_undo_a_rotation_is_named_never_shown():
    live = secret({"openai-api-key": "sk-1", **MADE, "redis-password": "rotated"},
                  {"rotation.agentic.platform/redis-password.last-rotated": "2026-11-01T00:00:00Z"})
    plan = decide(live, GROUPS, KEY_VARS, {**GIVEN, "redis-password": "stale"})
    assert plan["conflicts"] == ["secrets_redis_password (key redis-password, rotated 2026-11-01T00:00:00Z)"]
    assert "stale" not in str(plan["conflicts"]) and "rotated" not in plan["conflicts"][0].split("(")[0]
    # the rotated value itself, or an empty variable, is no conflict
    assert decide(live, GROUPS, KEY_VARS, {**GIVEN, "redis-password": "rotated"})["conflicts"] == []
    assert decide(live, GROUPS, KEY_VARS, GIVEN)["conflicts"] == []


def test_the_step_generates_only_what_nobody_gave_or_holds():
    asked = []

    def make(groups):
        asked.append(groups)
        return {key: MADE[key] for group in groups for key in GROUPS[group]}

    first = step_data(None, GROUPS, KEY_VARS, GIVEN, PROVIDED, make)
    assert asked == [list(GROUPS)] and first["generated"] == sorted(MADE) and first["conflicts"] == []
    live = secret({"openai-api-key": "sk-1", **MADE}, {"agentic.platform/secrets-version": "v1"})
    again = step_data(live, GROUPS, KEY_VARS, GIVEN, PROVIDED, make)
    assert asked == [list(GROUPS)] and again["generated"] == [] and again["version"] == "v1"
    assert again["data"] == {"openai-api-key": "sk-1", **MADE}


def test_the_step_stops_at_a_conflict_before_generating():
    live = secret({"openai-api-key": "sk-1", **MADE, "redis-password": "rotated"},
                  {"rotation.agentic.platform/redis-password.last-rotated": "2026-11-01T00:00:00Z"})
    out = step_data(live, GROUPS, KEY_VARS, {**GIVEN, "redis-password": "stale"}, PROVIDED,
                    lambda groups: pytest.fail("generated despite a conflict"))
    assert out == {"conflicts": ["secrets_redis_password (key redis-password, rotated 2026-11-01T00:00:00Z)"]}


def test_a_missing_generated_value_is_refused():
    with pytest.raises(ValueError, match="redis-password"):
        assemble_secret(decide(None, GROUPS, KEY_VARS, GIVEN), GROUPS, {}, PROVIDED)

"""The shared settings' input checks (plugins/module_utils/inputs/agentic.py), without Ansible."""

from __future__ import annotations

import pytest
from ansible_collections.agentic.platform.plugins.module_utils.inputs import agentic
from ansible_collections.agentic.platform.plugins.module_utils.inputs.common import MISSING

# roles/agentic/defaults/main.yml with inventories/local.
VALID = {
    "agentic_region": "local",
    "agentic_regions": ["local"],
    "agentic_namespace": "agentic-ai-prod",
    "agentic_wait_timeout": 300,
    "agentic_part_of": "agentic-platform",
    "agentic_field_manager": "agentic.platform",
    "agentic_version": "0.1.0",
}


def test_valid_inventory_passes():
    assert set(agentic.VARIABLES) == set(VALID)
    assert agentic.check(dict(VALID)) == []


BAD = {
    "region-unknown": ({"agentic_region": "mars-1"}, "agentic_region"),
    "namespace-upper": ({"agentic_namespace": "Agentic"}, "agentic_namespace"),
    "timeout-zero": ({"agentic_wait_timeout": 0}, "agentic_wait_timeout"),
    "timeout-absurd": ({"agentic_wait_timeout": 86400 * 7}, "agentic_wait_timeout"),
    "timeout-type": ({"agentic_wait_timeout": "soon"}, "agentic_wait_timeout"),
    "part-of-empty": ({"agentic_part_of": ""}, "agentic_part_of"),
    "part-of-spaces": ({"agentic_part_of": "agentic platform"}, "agentic_part_of"),
    "field-manager-long": ({"agentic_field_manager": "m" * 129}, "agentic_field_manager"),
    "field-manager-newline": ({"agentic_field_manager": "agentic\nplatform"}, "agentic_field_manager"),
    "field-manager-empty": ({"agentic_field_manager": ""}, "agentic_field_manager"),
    "version-empty": ({"agentic_version": ""}, "agentic_version"),
    "version-spaces": ({"agentic_version": "0.1.0 beta"}, "agentic_version"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_a_bad_value_is_named(case):
    overrides, name = BAD[case]
    found = agentic.check({**VALID, **overrides})
    assert found and all(name in m for m in found), found


@pytest.mark.parametrize("value", [None, True, 0, "", [], {}, MISSING], ids=repr)
def test_no_type_crashes_the_checks(value):
    for name in agentic.VARIABLES:
        assert isinstance(agentic.check({**VALID, name: value}), list)

"""Failover peers and Istio locality failover rules derived from the inventory's regions."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.agentic.platform.plugins.filter.failover import FilterModule
from ansible_collections.agentic.platform.plugins.module_utils.failover import (
    FailoverError,
    failover_peers,
    failover_rules,
)

REGIONS = ["us-east", "eu-west", "ap-northeast"]
TOPOLOGY = {"us-east": "us-east-1", "eu-west": "eu-west-1", "ap-northeast": "ap-northeast-1"}


def test_ring_in_inventory_order():
    assert failover_peers(REGIONS) == {"us-east": "eu-west", "eu-west": "ap-northeast", "ap-northeast": "us-east"}


def test_ring_gives_every_region_one_other_peer_and_is_consistent():
    for n in range(2, 7):
        regions = [f"r{i}" for i in range(n)]
        peers = failover_peers(regions)
        assert set(peers) == set(regions)
        assert all(peers[r] != r and peers[r] in regions for r in regions)
        # Every region is somebody's peer: no region is left without incoming failover.
        assert set(peers.values()) == set(regions)


def test_two_regions_fail_over_to_each_other():
    assert failover_peers(["a", "b"]) == {"a": "b", "b": "a"}


def test_single_region_has_no_peer_and_no_rule():
    assert failover_peers(["local"]) == {"local": None}
    assert failover_rules("local", ["local"], {}, {"local": "local-1"}) == []


def test_override_changes_only_that_region():
    peers = failover_peers(REGIONS, {"us-east": "ap-northeast"})
    assert peers == {"us-east": "ap-northeast", "eu-west": "ap-northeast", "ap-northeast": "us-east"}


def test_rules_use_topology_names():
    assert failover_rules("us-east", REGIONS, {}, TOPOLOGY) == [{"from": "us-east-1", "to": "eu-west-1"}]
    assert failover_rules("ap-northeast", REGIONS, {}, TOPOLOGY) == [{"from": "ap-northeast-1", "to": "us-east-1"}]


def test_region_without_topology_uses_its_own_name():
    assert failover_rules("eu-west", REGIONS, {}, {"us-east": "us-east-1"}) == [
        {"from": "eu-west", "to": "ap-northeast"}]


@pytest.mark.parametrize(("overrides", "fragment"), [
    ({"us-east": "mars"}, "mesh_failover['us-east'] is 'mars', which is not one of agentic_regions"),
    ({"moon": "us-east"}, "mesh_failover has an entry for 'moon'"),
    ({"eu-west": "eu-west"}, "mesh_failover['eu-west'] names 'eu-west' itself"),
])
def test_bad_overrides_name_the_variable(overrides, fragment):
    with pytest.raises(FailoverError, match="mesh_failover") as exc:
        failover_peers(REGIONS, overrides)
    assert fragment in str(exc.value)


def test_bad_override_of_another_region_fails_every_region():
    # The mistake is in ap-northeast's entry; us-east's run must stop too (before any write).
    with pytest.raises(FailoverError, match="ap-northeast"):
        failover_rules("us-east", REGIONS, {"ap-northeast": "nowhere"}, TOPOLOGY)


def test_duplicate_regions_and_unknown_topology_keys():
    with pytest.raises(FailoverError, match="more than once"):
        failover_peers(["a", "b", "a"])
    with pytest.raises(FailoverError, match="mesh_topology_regions names mars"):
        failover_rules("us-east", REGIONS, {}, {**TOPOLOGY, "mars": "mars-1"})
    with pytest.raises(FailoverError, match="same locality"):
        failover_rules("us-east", REGIONS, {}, {"us-east": "x", "eu-west": "x"})


def test_region_not_in_list():
    with pytest.raises(FailoverError, match="agentic_region 'mars'"):
        failover_rules("mars", REGIONS)


def test_filters():
    filters = FilterModule().filters()
    rules = filters["failover_rules"]("eu-west", REGIONS, {}, TOPOLOGY)
    assert rules == [{"from": "eu-west-1", "to": "ap-northeast-1"}]
    assert filters["failover_error"]("eu-west", REGIONS, {}, TOPOLOGY) == ""
    assert "not one of agentic_regions" in filters["failover_error"]("eu-west", REGIONS, {"eu-west": "x"}, TOPOLOGY)
    with pytest.raises(AnsibleFilterError, match="mesh_failover"):
        filters["failover_rules"]("eu-west", REGIONS, {"eu-west": "x"}, TOPOLOGY)

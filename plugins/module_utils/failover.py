"""Locality failover between regions, derived from the inventory's region list.

Every region names the region its traffic goes to when its own endpoints are ejected
(Istio ``localityLbSetting.failover``). The default is a ring over the inventory's region
list in order (a -> b -> c -> a), so that every region has exactly one peer and all regions
agree without anyone writing the map by hand. An explicit map may override any region's
peer. The logic is plain Python so that the unit tests and the Jinja filters share it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence


class FailoverError(ValueError):
    """A failover setting that cannot be honoured; the message names the variable."""


def failover_peers(regions: Sequence[str], overrides: Mapping[str, str] | None = None,
                   variable: str = "mesh_failover") -> dict[str, str | None]:
    """Map every region to its failover peer (None for a deployment with one region).

    ``regions`` is the inventory's ordered region list; ``overrides`` maps a region to the
    region its traffic goes to instead of the ring's default. Unknown regions on either side,
    a region failing over to itself and duplicate regions are errors naming ``variable``.
    """
    regions = list(regions or [])
    if not regions:
        raise FailoverError("agentic_regions must list at least one region")
    dupes = sorted({r for r in regions if regions.count(r) > 1})
    if dupes:
        raise FailoverError(f"agentic_regions lists {', '.join(dupes)} more than once")
    overrides = dict(overrides or {})
    known = ", ".join(regions)
    for source, target in overrides.items():
        if source not in regions:
            raise FailoverError(f"{variable} has an entry for '{source}', which is not one of "
                                f"agentic_regions ({known})")
        if target not in regions:
            raise FailoverError(f"{variable}['{source}'] is '{target}', which is not one of "
                                f"agentic_regions ({known})")
        if target == source:
            raise FailoverError(f"{variable}['{source}'] names '{source}' itself; a region must fail "
                                f"over to another of agentic_regions ({known})")
    if len(regions) == 1:
        return {regions[0]: None}
    ring = {r: regions[(i + 1) % len(regions)] for i, r in enumerate(regions)}
    ring.update(overrides)
    return ring


def topology_region(region: str, topology: Mapping[str, str] | None,
                    variable: str = "mesh_topology_regions") -> str:
    """The locality region name (``topology.kubernetes.io/region``) of an inventory region."""
    topology = topology or {}
    name = topology.get(region, region)
    if not isinstance(name, str) or not name:
        raise FailoverError(f"{variable}['{region}'] must be a non-empty string")
    return name


def failover_rules(region: str, regions: Sequence[str], overrides: Mapping[str, str] | None = None,
                   topology: Mapping[str, str] | None = None) -> list[dict[str, str]]:
    """The ``localityLbSetting.failover`` list of one region's DestinationRule.

    One rule: from this region's locality to its peer's. Empty when the deployment has a
    single region. Every region is validated, not only this one, so that a mistake in any
    region's entry stops every region's run before anything is written.
    """
    if region not in (regions or []):
        raise FailoverError(f"agentic_region '{region}' is not one of agentic_regions "
                            f"({', '.join(regions or [])})")
    unknown = sorted(set(topology or {}) - set(regions))
    if unknown:
        raise FailoverError(f"mesh_topology_regions names {', '.join(unknown)}, not in agentic_regions "
                            f"({', '.join(regions)})")
    peers = failover_peers(regions, overrides)
    localities = {r: topology_region(r, topology) for r in regions}
    clashes = sorted({v for v in localities.values() if list(localities.values()).count(v) > 1})
    if clashes:
        raise FailoverError(f"mesh_topology_regions gives several regions the same locality: {', '.join(clashes)}")
    peer = peers[region]
    if peer is None:
        return []
    return [{"from": localities[region], "to": localities[peer]}]

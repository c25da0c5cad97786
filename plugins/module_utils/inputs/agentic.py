"""Shared settings of a region (role agentic)."""

from __future__ import annotations

from ansible_collections.agentic.platform.plugins.module_utils.inputs.common import (
    DNS1123_LABEL,
    Problems,
    as_int,
    text,
)

VARIABLES = ("agentic_region", "agentic_regions", "agentic_namespace", "agentic_wait_timeout")


def check(v: dict) -> list[str]:
    p = Problems()
    regions = v["agentic_regions"] if isinstance(v["agentic_regions"], list) else []
    p.add(v["agentic_region"] in regions,
          f"agentic_region '{text(v['agentic_region'])}' must be one of agentic_regions: "
          f"{', '.join(map(str, regions)) if regions else text(v['agentic_regions'])}")
    p.add(isinstance(v["agentic_namespace"], str) and bool(DNS1123_LABEL.match(v["agentic_namespace"])),
          f"agentic_namespace '{text(v['agentic_namespace'])}' must be a DNS-1123 label (lowercase letters, digits, "
          "'-', at most 63)")
    timeout = as_int(v["agentic_wait_timeout"])
    p.add(timeout is not None and timeout > 0,
          f"agentic_wait_timeout must be a positive number of seconds, got '{text(v['agentic_wait_timeout'])}'")
    return p

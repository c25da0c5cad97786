"""Shared settings of a region (role agentic)."""

from __future__ import annotations

import re

from ansible_collections.agentic.platform.plugins.module_utils.inputs.common import (
    DNS1123_LABEL,
    MISSING,
    Problems,
    as_int,
    full,
    is_label_value,
    text,
)

VARIABLES = ("agentic_region", "agentic_regions", "agentic_namespace", "agentic_wait_timeout", "agentic_part_of",
             "agentic_field_manager", "agentic_version")

MAX_WAIT_SECONDS = 3600
# The API server's limit on a fieldManager: at most 128 printable characters.
FIELD_MANAGER = re.compile(r"[ -~]{1,128}")


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
    p.add(timeout is not None and 0 < timeout <= MAX_WAIT_SECONDS,
          f"agentic_wait_timeout must be 1 to {MAX_WAIT_SECONDS} seconds, got '{text(v['agentic_wait_timeout'])}'")
    p.add(is_label_value(v["agentic_part_of"]) and str(v["agentic_part_of"]) != "",
          f"agentic_part_of '{text(v['agentic_part_of'])}' must be a label value (1 to 63 letters, digits, '-', '_', "
          "'.')")
    # The app.kubernetes.io/version label of every object (undefined before the platform release is a variable).
    p.add(v["agentic_version"] is MISSING or (is_label_value(v["agentic_version"]) and str(v["agentic_version"]) != ""),
          f"agentic_version '{text(v['agentic_version'])}' must be a label value (1 to 63 letters, digits, '-', '_', "
          "'.')")
    p.add(full(FIELD_MANAGER, v["agentic_field_manager"]),
          f"agentic_field_manager '{text(v['agentic_field_manager'])}' must be 1 to 128 printable characters")
    return p

"""The release role (playbooks/release.yml): what its argument spec cannot express. Every message
names its variable; nothing is written before all pass."""

from __future__ import annotations

import itertools
import re

from ansible_collections.agentic.platform.plugins.module_utils.inputs.common import (
    DNS1123_SUBDOMAIN,
    Problems,
    as_int,
    as_number,
    full,
    is_image_reference,
    is_label_value,
    range_problems,
    text,
    to_text,
)

WHOLE_NUMBERS = (
    ("release_interval", 1, 86400),
    ("release_max_inconclusive", 1, 100),
    ("release_canary_replicas", 1, 100),
    ("release_min_requests", 1, 10**9),
    ("release_wait_timeout", 1, 86400),
    ("release_scrape_interval", 1, 3600),
)
RATIOS = ("release_min_success_ratio", "release_max_success_drop")
SECONDS = ("release_max_request_p95", "release_max_mcp_tool_p95")
VARIABLES = (
    "release_version", "release_image", "release_model_version", "release_config_snapshot", "release_steps",
    *(entry[0] for entry in WHOLE_NUMBERS), *RATIOS, *SECONDS, "release_max_latency_ratio",
    "release_prometheus_url", "release_ab_header", "release_checks",
)
HEADER = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")  # lower case: Envoy matches lower-cased names
URL = re.compile(r"^https?://[^\s/?#]+(/[^\s?#]*)?$")


def _steps(value, p: Problems) -> None:
    name = "release_steps"
    steps = [as_int(s) for s in value] if isinstance(value, list) else None
    if not p.add(bool(steps) and None not in steps, f"{name} must be a non-empty list of whole percents, "
                                                    f"got {to_text(value)}"):
        return
    p.add(all(0 < s <= 100 for s in steps), f"{name}: every step must be from 1 to 100, got {to_text(value)}")
    p.add(all(a < b for a, b in itertools.pairwise(steps)),
          f"{name} must increase step by step, got {to_text(value)}")
    p.add(steps[-1] == 100, f"{name} must end at 100 (the canary takes all traffic before the promotion), "
                            f"got {to_text(value)}")


def check(v: dict) -> list[str]:
    p = Problems(range_problems(v, WHOLE_NUMBERS))
    version = text(v["release_version"])
    p.add(bool(version) and is_label_value(version),
          f"release_version must be a label value (1 to 63 letters, digits, '-', '_', '.'), got '{version}'")
    p.add(is_image_reference(v["release_image"]),
          f"release_image must be an image reference with a tag (not latest) or a digest, "
          f"got '{text(v['release_image'])}'")
    p.add(is_label_value(text(v["release_model_version"])),
          f"release_model_version must be a label value or empty, got '{text(v['release_model_version'])}'")
    snapshot = text(v["release_config_snapshot"])
    p.add(not snapshot or full(DNS1123_SUBDOMAIN, snapshot),
          f"release_config_snapshot must be a ConfigMap name or empty, got '{snapshot}'")
    _steps(v["release_steps"], p)
    for name in RATIOS:
        n = as_number(v[name])
        p.add(n is not None and 0 <= n <= 1, f"{name} must be a number from 0 to 1, got '{text(v[name])}'")
    for name in SECONDS:
        n = as_number(v[name])
        p.add(n is not None and 0 < n <= 3600, f"{name} must be seconds above 0 and at most 3600, "
                                               f"got '{text(v[name])}'")
    ratio = as_number(v["release_max_latency_ratio"])
    p.add(ratio is not None and 1 <= ratio <= 100,
          f"release_max_latency_ratio must be a number from 1 to 100, got '{text(v['release_max_latency_ratio'])}'")
    interval, scrape = as_int(v["release_interval"]), as_int(v["release_scrape_interval"])
    if interval and scrape:
        # a rate over a window needs at least two scrapes of every target in it
        p.add(interval >= 2 * scrape, f"release_interval ({interval}s) must be at least twice "
                                      f"release_scrape_interval ({scrape}s): a shorter window holds too few samples")
    p.add(bool(URL.match(text(v["release_prometheus_url"]))),
          f"release_prometheus_url must be an http(s) URL, got '{text(v['release_prometheus_url'])}'")
    header = text(v["release_ab_header"])
    p.add(not header or bool(HEADER.match(header)),
          f"release_ab_header must be a lower-case header name or empty, got '{header}'")
    checks = v["release_checks"]
    p.add(isinstance(checks, list) and len(checks) > 0, "release_checks must name at least one check")
    return p

"""Input checks of the release role (plugins/module_utils/inputs/release.py): each bad value is
refused with a message naming its variable, before any write."""

from __future__ import annotations

import pytest
import yaml
from ansible_collections.agentic.platform.plugins.module_utils.inputs import release
from ansible_collections.agentic.platform.plugins.module_utils.inputs.common import MISSING

from tests.unit.test_steps import ROOT

DEFAULTS = yaml.safe_load((ROOT / "roles" / "release" / "defaults" / "main.yml").read_text())


def values(**overrides) -> dict:
    base = {name: DEFAULTS.get(name, MISSING) for name in release.VARIABLES}
    base.update(release_version="v1.1.0", release_image="registry.example/mcp-agent:v1.1.0",
                release_wait_timeout=300)
    return {**base, **overrides}


def test_the_defaults_pass():
    assert release.check(values()) == []


@pytest.mark.parametrize("overrides, needle", [
    ({"release_steps": [5, 25, 50]}, "release_steps must end at 100"),
    ({"release_steps": [50, 25, 100]}, "release_steps must increase"),
    ({"release_steps": [0, 100]}, "release_steps: every step must be from 1 to 100"),
    ({"release_steps": []}, "release_steps must be a non-empty list"),
    ({"release_steps": ["x"]}, "release_steps must be a non-empty list"),
    ({"release_interval": 30, "release_scrape_interval": 30}, "release_interval (30s) must be at least twice"),
    ({"release_min_success_ratio": 1.5}, "release_min_success_ratio must be a number from 0 to 1"),
    ({"release_max_success_drop": -0.1}, "release_max_success_drop must be a number from 0 to 1"),
    ({"release_max_request_p95": 0}, "release_max_request_p95 must be seconds above 0"),
    ({"release_max_latency_ratio": 0.5}, "release_max_latency_ratio must be a number from 1 to 100"),
    ({"release_max_inconclusive": 0}, "release_max_inconclusive must be a whole number from 1 to 100"),
    ({"release_min_requests": 0}, "release_min_requests must be a whole number"),
    ({"release_version": "v1 bad"}, "release_version must be a label value"),
    ({"release_version": ""}, "release_version must be a label value"),
    ({"release_image": "registry.example/mcp-agent:latest"}, "release_image must be an image reference"),
    ({"release_image": "registry.example/mcp-agent"}, "release_image must be an image reference"),
    ({"release_model_version": "a/b"}, "release_model_version must be a label value"),
    ({"release_config_snapshot": "Bad_Name"}, "release_config_snapshot must be a ConfigMap name"),
    ({"release_prometheus_url": "prometheus:9090"}, "release_prometheus_url must be an http(s) URL"),
    ({"release_ab_header": "X-Canary"}, "release_ab_header must be a lower-case header name"),
    ({"release_checks": []}, "release_checks must name at least one check"),
])
def test_bad_values_are_refused_naming_the_variable(overrides, needle):
    problems = release.check(values(**overrides))
    assert any(needle in p for p in problems), problems

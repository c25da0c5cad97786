"""The config step renders what the agent runtime reads: the ConfigMap's `jaeger.*` keys are the
ones agentic_runtime.telemetry takes, and the role's default endpoint is one it accepts."""

from __future__ import annotations

from pathlib import Path

import yaml
from agentic_runtime import telemetry
from ansible_collections.agentic.platform.plugins.module_utils.inputs import config

ROOT = Path(__file__).resolve().parents[2]


def test_configmap_keys_are_the_ones_the_runtime_reads():
    assert {telemetry.ENABLED_KEY, telemetry.ENDPOINT_KEY} <= config.INVENTORY_KEYS
    role_vars = yaml.safe_load((ROOT / "roles/config/vars/main.yml").read_text())["_config_inventory_data"]
    assert role_vars[telemetry.ENABLED_KEY] == "{{ config_jaeger_enabled | bool | lower }}"  # "true" / "false"


def test_default_endpoint_is_an_otlp_receiver_the_runtime_accepts_and_tracing_is_off_by_default():
    defaults = yaml.safe_load((ROOT / "roles/config/defaults/main.yml").read_text())
    assert defaults["config_jaeger_enabled"] is False  # the platform deploys no trace backend
    endpoint = defaults["config_jaeger_endpoint"]
    assert config.OTLP_HTTP_URL.match(endpoint)  # what the config step accepts
    on = telemetry.Telemetry.from_environ({telemetry.ENABLED_KEY: "true", telemetry.ENDPOINT_KEY: endpoint})
    try:
        assert on.enabled and telemetry.base_endpoint(endpoint) + "/v1/traces" == "http://jaeger-collector.monitoring:4318/v1/traces"
    finally:
        on.shutdown()

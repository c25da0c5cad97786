"""Jinja filters for multi-region failover (logic in module_utils/failover.py)."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError
from ansible_collections.agentic.platform.plugins.module_utils.failover import (
    FailoverError,
    failover_rules,
)


def _rules(region, regions, overrides=None, topology=None):
    try:
        return failover_rules(region, regions, overrides, topology)
    except FailoverError as exc:
        raise AnsibleFilterError(str(exc)) from exc


def _error(region, regions, overrides=None, topology=None):
    """The reason the failover settings are wrong, or an empty string (for an assert)."""
    try:
        failover_rules(region, regions, overrides, topology)
    except FailoverError as exc:
        return str(exc)
    return ""


class FilterModule:
    """Istio locality failover rules, and why they cannot be derived."""

    def filters(self):
        return {"failover_rules": _rules, "failover_error": _error}

"""Filters that fingerprint Secret data without revealing it (see module_utils/secret_fingerprint)."""

from __future__ import annotations

from ansible_collections.agentic.platform.plugins.module_utils.secret_data import assemble_secret, decide
from ansible_collections.agentic.platform.plugins.module_utils.secret_fingerprint import (
    sealed_fingerprint,
    sealed_fingerprint_matches,
    secrets_version,
)

DOCUMENTATION = r"""
name: secret_fingerprint
short_description: Non-secret fingerprints of Secret data
version_added: 0.1.0
description:
  - C(secrets_version) returns 16 hex characters of HMAC-SHA256 of the data (a dict of
    strings), keyed with its C(redis-admin-password) value; used as the pod-template
    annotation C(agentic.platform/secrets-version).
  - C(sealed_fingerprint) returns a salted scrypt digest C(scrypt$salt$digest) of the data;
    C(sealed_fingerprint_matches(stored)) tells whether a stored digest was made from the data.
  - C(secrets_plan(groups, key_vars, given, sealed_keys)), applied to the Secrets read from the
    cluster (a list of zero or one), decides what is given, reused and generated, and names the
    inventory variables whose value would undo a rotation (module_utils/secret_data.py C(decide)).
  - C(secrets_assemble(groups, generated, provided_keys, mode)), applied to that plan, returns the
    data to write, the keys kept sealed or generated, and the secrets version (C(assemble_secret)).
options:
  _input:
    description:
      - The Secret data (a dict of key to string value); for C(secrets_plan) the Secrets read, for
        C(secrets_assemble) the plan.
    type: raw
    required: true
"""

EXAMPLES = r"""
- name: Fingerprint the data
  ansible.builtin.set_fact:
    secrets_version: "{{ data | agentic.platform.secrets_version }}"
  no_log: true
"""

RETURN = r"""
_value:
  description: The fingerprint (a string), whether it matches (a bool), a plan or data (lists, dicts).
  type: raw
"""


def _plan(live: list | dict | None, groups: dict, key_vars: dict, given: dict, sealed_keys: list | None = None) -> dict:
    """``decide`` on k8s_read's resources (the Secret, or none)."""
    if isinstance(live, list):
        live = live[0] if live else None
    return decide(live, groups, key_vars, given, sealed_keys)


class FilterModule:
    def filters(self):
        return {
            "secrets_version": secrets_version,
            "sealed_fingerprint": sealed_fingerprint,
            "sealed_fingerprint_matches": sealed_fingerprint_matches,
            "secrets_plan": _plan,
            "secrets_assemble": assemble_secret,
        }

"""Filters that fingerprint Secret data without revealing it (see module_utils/secret_fingerprint)."""

from __future__ import annotations

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
options:
  _input:
    description:
      - The Secret data (a dict of key to string value).
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
  description: The fingerprint (a string) or whether it matches (a bool).
  type: raw
"""


class FilterModule:
    def filters(self):
        return {
            "secrets_version": secrets_version,
            "sealed_fingerprint": sealed_fingerprint,
            "sealed_fingerprint_matches": sealed_fingerprint_matches,
        }

"""Filters that fingerprint Secret data without revealing it (see module_utils/secret_fingerprint)."""

from __future__ import annotations

import json

from ansible_collections.agentic.platform.plugins.module_utils.secret_data import (
    assemble,
    b64decode_values,
    plan,
    rotation_conflicts,
)
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
  - C(secrets_plan(given, existing, sealed_keys)) lists the groups of makeable keys to generate;
    C(secrets_rotation_conflicts(existing, given, key_vars)), applied to the live Secret's annotations, names the
    inventory variables whose value would undo a rotation.
  - C(secrets_assemble(given, existing, generated, sealed_keys, provided_keys)) returns the data to
    write and the keys kept sealed; C(secret_b64decode_values) decodes a Secret's data.
  - C(json_object) parses a JSON object, returning C(None) for anything else (for asserts
    that name the variable instead of failing inside a filter).
options:
  _input:
    description: The Secret data, a dict of key to string value (or the text for json_object).
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
  description: The fingerprint (a string), whether it matches (a bool), or the parsed object.
  type: raw
"""


def json_object(text):
    """The JSON object in `text`, or None if it is not one."""
    if isinstance(text, dict):
        return text
    try:
        value = json.loads(str(text))
    except (TypeError, ValueError):
        return None
    return value if isinstance(value, dict) else None


class FilterModule:
    def filters(self):
        return {
            "secrets_version": secrets_version,
            "sealed_fingerprint": sealed_fingerprint,
            "sealed_fingerprint_matches": sealed_fingerprint_matches,
            "json_object": json_object,
            "secret_b64decode_values": b64decode_values,
            "secrets_plan": plan,
            "secrets_assemble": assemble,
            "secrets_rotation_conflicts": rotation_conflicts,
        }

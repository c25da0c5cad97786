"""Filter yaml_value: a value as YAML flow text that reads back as the same value."""

from __future__ import annotations

from ansible_collections.agentic.platform.plugins.module_utils.yaml_value import yaml_value

DOCUMENTATION = r"""
name: yaml_value
short_description: A value as YAML flow text that reads back as the same value
version_added: 0.1.0
description:
  - JSON text of the value (a string, number, boolean, list or mapping), which YAML reads back as
    the same value wherever a flow value may stand, with the characters JSON and YAML disagree
    on written so that both read them alike (characters outside the Basic Multilingual Plane as
    themselves, DEL, C1 controls and non-characters escaped).
  - >-
    Templates emit every input through it, so that no input can change the shape of a rendered
    object (a newline, C(a: b), C(no) or C(#) stays the string it was).
options:
  _input:
    description: The value.
    type: raw
    required: true
"""

EXAMPLES = r"""
- name: A label whose value may be anything
  ansible.builtin.debug:
    msg: "owner: {{ namespace_owner | agentic.platform.yaml_value }}"
"""

RETURN = r"""
_value:
  description: YAML flow text.
  type: str
"""


class FilterModule:
    def filters(self):
        return {"yaml_value": yaml_value}

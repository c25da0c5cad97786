"""Filters for Kubernetes resource quantities ("250m", "1Gi", "2", "1e3")."""

from __future__ import annotations

from ansible_collections.agentic.platform.plugins.module_utils.quantity import parse_quantity

DOCUMENTATION = r"""
name: k8s_quantity
short_description: Parse a Kubernetes resource quantity into a number
version_added: 0.1.0
description:
  - Returns the value of a quantity such as C(250m), C(1Gi), C(100) or C(1e3) as a float
    (C(1Gi) is 1073741824, C(250m) is 0.25).
  - Returns C(None) when the value is not a quantity, so that an assert can name the
    variable instead of failing inside the filter.
options:
  _input:
    description: The quantity, a string or a number.
    type: raw
    required: true
"""

EXAMPLES = r"""
- name: Check a quantity
  ansible.builtin.assert:
    that: (my_cpu | agentic.platform.k8s_quantity) is not none
"""

RETURN = r"""
_value:
  description: The value as a float, or None when the input is not a quantity.
  type: float
"""


class FilterModule:
    def filters(self):
        return {"k8s_quantity": parse_quantity}

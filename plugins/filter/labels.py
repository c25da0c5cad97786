"""Filters for the app.kubernetes.io/* labels (plugins/module_utils/labels.py is the definition)."""

from __future__ import annotations

from ansible_collections.agentic.platform.plugins.module_utils.labels import app_labels, selector_labels

DOCUMENTATION = r"""
name: labels
short_description: The app.kubernetes.io/* labels of an object
version_added: 0.1.0
description:
  - Returns C(app.kubernetes.io/name), C(instance), C(version), C(component), C(part-of) and
    C(managed-by) for an object, from the region's C(agentic_release) (set by the agentic role).
  - The filter C(selector_labels) (same input, and C(name)) returns the name and instance labels
    a selector matches.
options:
  _input:
    description: The region's shared label values, C(agentic_release) (instance, version, part_of).
    type: dict
    required: true
  name:
    description: Value of C(app.kubernetes.io/name).
    type: str
    required: true
  component:
    description: Value of C(app.kubernetes.io/component).
    type: str
    required: true
  version:
    description: The component's own version (the agent's, Redis'); default the platform release.
    type: str
"""

EXAMPLES = r"""
- name: Labels of the agent's Deployment
  ansible.builtin.debug:
    msg: "{{ agentic_release | agentic.platform.labels('mcp-agent', 'agent', version=agent_version) }}"
"""

RETURN = r"""
_value:
  description: Label key -> value.
  type: dict
"""


class FilterModule:
    def filters(self):
        return {"labels": app_labels, "selector_labels": selector_labels}

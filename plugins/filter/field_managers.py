"""Filter: which field managers own a field of a live object (server-side apply)."""

from __future__ import annotations

DOCUMENTATION = r"""
name: field_managers
short_description: The field managers that own a field of a Kubernetes object
version_added: 0.1.0
description:
  - Reads the object's C(metadata.managedFields) and returns the names of the managers whose
    field set contains the field (status-subresource entries are ignored).
options:
  _input:
    description: The object as read from the API server (with managedFields).
    type: dict
    required: true
  field:
    description: The field, as a dotted path such as C(spec.replicas).
    type: str
    required: true
"""

EXAMPLES = r"""
- name: Does anybody but us own the replicas?
  ansible.builtin.debug:
    msg: "{{ deployment | agentic.platform.field_managers('spec.replicas') }}"
"""

RETURN = r"""
_value:
  description: The managers' names, sorted, without repeats.
  type: list
  elements: str
"""


def field_managers(obj: dict, field: str) -> list[str]:
    owners = set()
    for entry in (obj or {}).get("metadata", {}).get("managedFields") or []:
        if entry.get("subresource") == "status":
            continue
        node = entry.get("fieldsV1") or {}
        for part in field.split("."):
            node = node.get(f"f:{part}") if isinstance(node, dict) else None
            if node is None:
                break
        else:
            owners.add(entry.get("manager", ""))
    return sorted(owners)


class FilterModule:
    def filters(self):
        return {"field_managers": field_managers}

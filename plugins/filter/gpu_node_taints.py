"""Filter: a node's taints with a GPU pool's merged in, every other owner's kept
(plugins/module_utils/gpu_node_taints.py)."""

from __future__ import annotations

from ansible_collections.agentic.platform.plugins.module_utils.gpu_node_taints import merged_taints

DOCUMENTATION = r"""
name: gpu_node_taints
short_description: A node's taint list with a GPU pool's taints merged in
version_added: 0.1.0
description:
  - Returns C(taints), the node's live taint list with the pool's taints set, the taints the
    gpu_nodes step applied before (annotation C(agentic.platform/gpu-nodes-taints)) and no longer
    wants removed, and every other taint kept as it is; and C(annotations), that annotation with
    the pool's taints, to apply with them.
  - C(spec.taints) is an atomic list for server-side apply, so the list applied must carry the
    other owners' taints (node controllers, operators, cloud providers) to keep them.
options:
  _input:
    description: The node as read from the API server.
    type: dict
    required: true
  wanted:
    description: The pool's taints (C(key), C(effect), optional C(value)).
    type: list
    elements: dict
    required: true
"""

EXAMPLES = r"""
- name: The taints to apply to a node of the pool
  ansible.builtin.debug:
    msg: "{{ node | agentic.platform.gpu_node_taints(pool.taints) }}"
"""

RETURN = r"""
_value:
  description: C(taints) (the list to apply) and C(annotations) (the pool's taints as comma-separated C(key:effect)).
  type: dict
"""


class FilterModule:
    def filters(self):
        return {"gpu_node_taints": merged_taints}

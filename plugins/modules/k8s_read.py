# The work is done by the action plugin of the same name (plugins/action/k8s_read.py), in the
# controller; this file documents it.
from __future__ import annotations

DOCUMENTATION = r"""
module: k8s_read
short_description: Read Kubernetes objects by name or label selector
version_added: 0.1.0
description:
  - One GET of a named object, or one list of a kind (in a namespace, or cluster-wide) filtered by
    a label selector. A missing object is an empty list, not an error.
  - Secret values are returned only with O(secret_data).
options:
  api_version:
    description: The objects' apiVersion.
    type: str
    default: v1
  kind:
    description: The objects' kind.
    type: str
    required: true
  name:
    description: The object's name; without it, every object of the kind is listed.
    type: str
  namespace:
    description: The namespace (for namespaced kinds; a list without one is cluster-wide).
    type: str
  label_selector:
    description: A label selector for the list, e.g. C(app=redis,tier!=cache).
    type: str
    default: ""
  secret_data:
    description:
      - Return the values of Secrets. By default a Secret's C(data) values are replaced by
        C(<redacted>) (its keys are kept); C(stringData), the C(kubectl.kubernetes.io/last-applied-configuration)
        annotation and server-maintained metadata (managedFields, resourceVersion, uid...) are dropped.
      - Set it only on a task with C(no_log) that needs the values.
    type: bool
    default: false
extends_documentation_fragment:
  - agentic.platform.kube_auth
  - agentic.platform.read_only
author:
  - agentic.platform developers (@agentic)
"""

EXAMPLES = r"""
- name: Read the Secret already in the cluster, with its values
  agentic.platform.k8s_read:
    kind: Secret
    namespace: agents
    name: agentic-ai-secrets
    secret_data: true
  register: live
  no_log: true
"""

RETURN = r"""
resources:
  description:
    - The objects found, as the API server stores them (empty when none).
    - A Secret's values are C(<redacted>) unless O(secret_data) is set.
  returned: always
  type: list
  elements: dict
"""

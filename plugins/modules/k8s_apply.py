# The work is done by the action plugin of the same name (plugins/action/k8s_apply.py), in the
# controller; this file documents it.
from __future__ import annotations

DOCUMENTATION = r"""
module: k8s_apply
short_description: Server-side apply a step's Kubernetes objects, then wait until they are ready
version_added: 0.1.0
description:
  - Applies every object of O(objects) in order with server-side apply (one fixed field manager,
    C(fieldValidation=Strict)), or deletes them with O(state=absent), then optionally waits until
    all of them are ready.
  - Reports C(changed) only when the object as stored differs from before (status and server
    metadata aside, which controllers write concurrently).
  - In check mode every apply is a server dry-run; objects inside a namespace that does not exist
    yet are reported as to be created.
  - Secret values never appear in the result or the diff; every value is replaced by a marker that
    says whether it changed.
options:
  objects:
    description: The objects, each a full manifest (apiVersion, kind, metadata.name).
    type: list
    elements: dict
    required: true
  namespace:
    description: Namespace of the namespaced objects that name none.
    type: str
  state:
    description: V(present) applies, V(absent) deletes (background propagation, dependents are collected afterwards).
    type: str
    choices: [present, absent]
    default: present
  field_manager:
    description: The server-side apply field manager.
    type: str
    default: agentic.platform
  force_conflicts:
    description: Take over fields another manager owns (the inventory is the source of truth).
    type: bool
    default: true
  wait:
    description:
      - Wait until every object is ready (or gone, with O(state=absent)); not in check mode.
      - Ready means, like C(kubectl rollout status), every replica updated and available (Deployment),
        ready at the update revision (StatefulSet), every daemon pod available (DaemonSet); a counted
        ResourceQuota; an Active Namespace; an HPA that is AbleToScale; a ScaledObject that is Ready;
        for other kinds, that the object exists. A Deployment past its progress deadline fails at once.
    type: bool
    default: false
  wait_timeout:
    description: Seconds to wait.
    type: int
    default: 300
  prune:
    description:
      - Before applying, delete the objects of this kind in O(namespace) that match the label
        selector, except those in O(objects) and the O(prune.keep) newest (a bounded history).
    type: dict
    suboptions:
      api_version:
        description: Their apiVersion.
        type: str
        default: v1
      kind:
        description: Their kind.
        type: str
        required: true
      label_selector:
        description: The label selector that picks them.
        type: str
        required: true
      keep:
        description: How many of the newest to keep (by creationTimestamp, then name).
        type: int
        default: 0
  released_fields:
    description:
      - Fields that belong to another manager once the object exists, such as a Deployment's
        C(spec.replicas) under an autoscaler. The step's field manager leaves them out of its apply and
        never resets them; the value in O(objects) is only the first one, that of a new object.
      - Where nobody but the step's field manager holds such a field (an object applied before the
        field was released), O(released_fields[].manager) first takes it over at its live value, so
        that the field keeps its value instead of going back to its default.
    type: list
    elements: dict
    suboptions:
      kind:
        description: The kind of the objects the field belongs to.
        type: str
        required: true
      name:
        description: The name of the object; all objects of O(released_fields[].kind) when not given.
        type: str
      path:
        description: The field, as a dotted path such as C(spec.replicas).
        type: str
        required: true
      manager:
        description: The field manager that holds the field while nobody else does (C(agentic.platform/replicas)).
        type: str
        required: true
  wait_condition:
    description: Wait for this status condition instead of the kind's readiness.
    type: dict
    suboptions:
      type:
        description: The condition type.
        type: str
        required: true
      status:
        description: Its wanted status.
        type: str
        default: "True"
        choices: ["True", "False", "Unknown"]
extends_documentation_fragment:
  - agentic.platform.kube_auth
attributes:
  check_mode:
    description: Every apply is a server-side dry run; objects in a namespace not created yet are reported as new.
    support: full
  diff_mode:
    description: The changed objects, before and after, Secret values redacted.
    support: full
author:
  - agentic.platform developers (@agentic)
"""

EXAMPLES = r"""
- name: Apply the agent and wait until it is available
  agentic.platform.k8s_apply:
    objects: "{{ lookup('ansible.builtin.template', 'agent.yml.j2') | ansible.builtin.from_yaml_all | list }}"
    namespace: agents
    field_manager: agentic.platform
    wait: true
    wait_timeout: 300

- name: Apply the agent; its replicas are the autoscaler's once the Deployment exists
  agentic.platform.k8s_apply:
    objects: "{{ lookup('ansible.builtin.template', 'agent.yml.j2') | ansible.builtin.from_yaml_all | list }}"
    namespace: agents
    released_fields:
      - {kind: Deployment, path: spec.replicas, manager: agentic.platform/replicas}
    wait: true
"""

RETURN = r"""
objects:
  description: One line per object, C(<kind> <namespace>/<name> <created|updated|unchanged|deleted|absent>).
  returned: always
  type: list
  elements: str
resources:
  description: The objects as the API server stored them (in check mode, would store), Secret values redacted.
  returned: always
  type: list
  elements: dict
api_requests:
  description: HTTP requests made.
  returned: always
  type: int
"""

"""Ansible callback: record every object a kubernetes.core.k8s apply task rendered.

Enabled by the tests and the benchmark (ANSIBLE_CALLBACK_PLUGINS=<this dir>,
ANSIBLE_CALLBACKS_ENABLED=record_k8s_objects); writes one JSON object per line to the file
named by AGENTIC_RECORD_OBJECTS. Tasks with no_log (secrets) have no recorded arguments: the
caller reads those objects back from the cluster instead.
"""

from __future__ import annotations

import json
import os

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = r"""
name: record_k8s_objects
type: aggregate
short_description: Record the objects rendered by kubernetes.core.k8s tasks (tests and benchmarks)
description:
  - Appends each rendered definition of a kubernetes.core.k8s task with state present to the
    JSON-lines file named by the AGENTIC_RECORD_OBJECTS environment variable.
requirements:
  - enabled with ANSIBLE_CALLBACKS_ENABLED=record_k8s_objects
"""


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "record_k8s_objects"
    CALLBACK_NEEDS_ENABLED = True

    def _record(self, result) -> None:
        path = os.environ.get("AGENTIC_RECORD_OBJECTS")
        action = result._task.action
        if not path or action not in ("kubernetes.core.k8s", "k8s"):
            return
        args = (result._result.get("invocation") or {}).get("module_args") or {}
        definition = args.get("definition")
        if not definition or args.get("state", "present") != "present":
            return
        docs = definition if isinstance(definition, list) else [definition]
        with open(path, "a", encoding="utf-8") as out:
            for doc in docs:
                if isinstance(doc, dict) and doc.get("kind"):
                    out.write(json.dumps({"task": result._task.get_name(), "object": doc}) + "\n")

    def v2_runner_on_ok(self, result):
        self._record(result)

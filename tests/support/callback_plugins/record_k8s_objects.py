"""Ansible callback: record every object an agentic.platform.k8s_apply task applied.

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
short_description: Record the objects applied by k8s_apply tasks (tests and benchmarks)
description:
  - Appends each object of a k8s_apply task with state present, as the task rendered it, to the
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
        if not path or result._task.action not in ("agentic.platform.k8s_apply", "k8s_apply"):
            return
        if result._task_fields.get("no_log"):  # never write a secret value to the record
            return
        args = result._task_fields.get("args") or {}  # as templated for this run
        docs = args.get("objects")
        if not isinstance(docs, list) or args.get("state", "present") != "present":
            return
        with open(path, "a", encoding="utf-8") as out:
            for doc in docs:
                if isinstance(doc, dict) and doc.get("kind"):
                    out.write(json.dumps({"task": result._task.get_name(), "object": doc,
                                          "field_manager": args.get("field_manager") or "agentic.platform"}) + "\n")

    def v2_runner_on_ok(self, result):
        self._record(result)

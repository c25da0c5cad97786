"""Action k8s_apply: server-side apply a step's objects from the controller, then wait."""

from __future__ import annotations

from ansible_collections.agentic.platform.plugins.module_utils.kube_apply import run_apply
from ansible_collections.agentic.platform.plugins.module_utils.kube_args import APPLY_ARG_SPEC
from ansible_collections.agentic.platform.plugins.plugin_utils.controller_action import KubeAction


class ActionModule(KubeAction):
    ARG_SPEC = APPLY_ARG_SPEC

    def call(self, client, args: dict) -> dict:
        return run_apply(client, args["objects"], field_manager=args["field_manager"], namespace=args["namespace"],
                         state=args["state"], force_conflicts=args["force_conflicts"], wait=args["wait"],
                         wait_timeout=args["wait_timeout"], wait_condition=args["wait_condition"], prune=args["prune"],
                         released_fields=args["released_fields"], check_mode=bool(self._task.check_mode),
                         want_diff=bool(self._task.diff))

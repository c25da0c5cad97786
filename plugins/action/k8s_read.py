"""Action k8s_read: read objects from the controller (one GET, or one list)."""

from __future__ import annotations

from ansible_collections.agentic.platform.plugins.module_utils.kube_apply import run_read
from ansible_collections.agentic.platform.plugins.module_utils.kube_args import READ_ARG_SPEC
from ansible_collections.agentic.platform.plugins.plugin_utils.controller_action import KubeAction


class ActionModule(KubeAction):
    ARG_SPEC = READ_ARG_SPEC

    def call(self, client, args: dict) -> dict:
        return run_read(client, api_version=args["api_version"], kind=args["kind"], name=args["name"],
                        namespace=args["namespace"], label_selector=args["label_selector"])

"""Action k8s_read: read objects from the controller (one GET, or one list)."""

from __future__ import annotations

from ansible_collections.agentic.platform.plugins.module_utils.kube_apply import redact, run_read
from ansible_collections.agentic.platform.plugins.module_utils.kube_args import READ_ARG_SPEC
from ansible_collections.agentic.platform.plugins.plugin_utils.controller_action import KubeAction


class ActionModule(KubeAction):
    ARG_SPEC = READ_ARG_SPEC

    def call(self, client, args: dict) -> dict:
        result = run_read(client, api_version=args["api_version"], kind=args["kind"], name=args["name"],
                          namespace=args["namespace"], label_selector=args["label_selector"])
        if not args["secret_data"]:  # a Secret's values (and a last-applied copy of them) only when asked
            result["resources"] = [redact(o) if o.get("kind") == "Secret" else o for o in result["resources"]]
        return result

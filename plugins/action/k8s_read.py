"""Action k8s_read: read objects from the controller (one GET, or one list)."""

from __future__ import annotations

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase
from ansible_collections.agentic.platform.plugins.module_utils.kube_apply import ApplyError, run_read
from ansible_collections.agentic.platform.plugins.module_utils.kube_args import READ_ARG_SPEC, client_from_args
from ansible_collections.agentic.platform.plugins.module_utils.kube_client import KubeError


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False
    _supports_check_mode = True
    _supports_async = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        args = self.validate_argument_spec(argument_spec=READ_ARG_SPEC)[1]
        try:
            client = client_from_args(args)
            try:
                result.update(run_read(client, api_version=args["api_version"], kind=args["kind"],
                                       name=args["name"], namespace=args["namespace"],
                                       label_selector=args["label_selector"]))
            finally:
                client.close()
        except (ApplyError, KubeError) as exc:
            raise AnsibleActionFail(str(exc)) from None
        return result

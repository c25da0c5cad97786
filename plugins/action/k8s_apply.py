"""Action k8s_apply: server-side apply a step's objects from the controller, then wait."""

from __future__ import annotations

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase
from ansible_collections.agentic.platform.plugins.module_utils.kube_apply import ApplyError, run_apply
from ansible_collections.agentic.platform.plugins.module_utils.kube_args import APPLY_ARG_SPEC, client_from_args
from ansible_collections.agentic.platform.plugins.module_utils.kube_client import KubeError


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False
    _supports_check_mode = True
    _supports_async = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        args = self.validate_argument_spec(argument_spec=APPLY_ARG_SPEC)[1]
        try:
            client = client_from_args(args)
            try:
                result.update(run_apply(
                    client, args["objects"], field_manager=args["field_manager"], namespace=args["namespace"],
                    state=args["state"], force_conflicts=args["force_conflicts"], wait=args["wait"],
                    wait_timeout=args["wait_timeout"], wait_condition=args["wait_condition"],
                    check_mode=bool(self._task.check_mode), want_diff=bool(self._task.diff)))
            finally:
                client.close()
        except (ApplyError, KubeError) as exc:
            raise AnsibleActionFail(str(exc)) from None
        return result

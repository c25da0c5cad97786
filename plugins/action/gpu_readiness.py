"""Action gpu_readiness: the cluster mode runs here in the controller (it reads only the
Kubernetes API); the host mode runs the module on the GPU host."""

from __future__ import annotations

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase
from ansible_collections.agentic.platform.plugins.module_utils import gpu_readiness_run


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _supports_check_mode = True
    _supports_async = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        if self._task.args.get("mode") != "cluster":
            result.update(self._execute_module(module_name="agentic.platform.gpu_readiness",
                                               module_args=self._task.args, task_vars=task_vars))
            return result
        p = self.validate_argument_spec(argument_spec=gpu_readiness_run.ARG_SPEC)[1]
        problem = gpu_readiness_run.problem(p)
        if problem:
            raise AnsibleActionFail(problem)
        verdict, failure = gpu_readiness_run.run(p, check_mode=bool(self._task.check_mode))
        result.update(changed=False, **verdict)
        if failure:
            result.update(failed=True, msg=failure)
        return result

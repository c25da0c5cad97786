"""Action validate_inputs: a step's input checks (plugins/module_utils/inputs/<step>.py), in the
controller, before anything is written."""

from __future__ import annotations

import importlib

from ansible_collections.agentic.platform.plugins.module_utils.inputs.common import MISSING, plain
from ansible_collections.agentic.platform.plugins.plugin_utils.controller_action import ControllerAction

STEPS = ("agentic", "gpu_nodes", "namespace", "config", "secrets", "redis", "agent", "autoscaling", "mesh",
         "monitoring")


class ActionModule(ControllerAction):
    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        step = self.validate_argument_spec(argument_spec={"step": {"type": "str", "required": True,
                                                                   "choices": list(STEPS)}})[1]["step"]
        checks = importlib.import_module(f"ansible_collections.agentic.platform.plugins.module_utils.inputs.{step}")
        values = {name: plain(self._templar.resolve_variable_expression(name)) if name in task_vars else MISSING
                  for name in checks.VARIABLES}
        problems = checks.check(values)
        result.update(changed=False, checked=list(checks.VARIABLES))
        if problems:
            result.update(failed=True, msg="; ".join(problems), problems=list(problems))
        return result

"""Action validate_inputs: a step's inputs, checked in the controller before anything is written:
first against the role's argument spec (meta/argument_specs.yml, entry point main: types,
choices, required), then by the step's checks (plugins/module_utils/inputs/<step>.py)."""

from __future__ import annotations

import importlib
import os

import yaml
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible_collections.agentic.platform.plugins.module_utils.inputs.common import MISSING, plain
from ansible_collections.agentic.platform.plugins.plugin_utils.controller_action import ControllerAction

STEPS = ("agentic", "gpu_nodes", "namespace", "config", "secrets", "redis", "agent", "autoscaling", "mesh",
         "monitoring")


class ActionModule(ControllerAction):
    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        step = self.validate_argument_spec(argument_spec={"step": {"type": "str", "required": True,
                                                                   "choices": list(STEPS)}})[1]["step"]
        result["changed"] = False
        spec = self._role_spec()
        if spec:  # what Ansible's role argument validation does, without a task of its own
            given = {name: self._templar.template(task_vars[name]) for name in spec if name in task_vars}
            errors = ArgumentSpecValidator(spec).validate(given, validate_role_argument_spec=True).error_messages
            if errors:
                result.update(failed=True, msg="Validation of arguments failed:\n" + "\n".join(errors),
                              argument_errors=errors)
                return result
        checks = importlib.import_module(f"ansible_collections.agentic.platform.plugins.module_utils.inputs.{step}")
        values = {name: plain(self._templar.resolve_variable_expression(name)) if name in task_vars else MISSING
                  for name in checks.VARIABLES}
        problems = checks.check(values)
        result["checked"] = list(checks.VARIABLES)
        if problems:
            result.update(failed=True, msg="; ".join(problems), problems=list(problems))
        return result

    def _role_spec(self) -> dict:
        """The options of the calling role's entry point main, or {} outside a role."""
        role = getattr(self._task, "_role", None)
        path = os.path.join(role._role_path, "meta", "argument_specs.yml") if role else ""
        if not path or not os.path.exists(path):
            return {}
        with open(path, encoding="utf-8") as fh:
            specs = (yaml.safe_load(fh) or {}).get("argument_specs") or {}
        return (specs.get("main") or {}).get("options") or {}

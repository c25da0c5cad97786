"""Action validate_inputs: the inputs of a step (or of every step of the play), checked in the
controller before anything is written: first against the role's argument spec
(meta/argument_specs.yml, entry point main: types, choices, required), then by the step's checks
(plugins/module_utils/inputs/<step>.py). Every problem of every step is reported at once.

The steps are not listed here: a step is a role of this collection with a module of checks in
plugins/module_utils/inputs/, and without ``step`` the steps are the roles the play imports
(site.yml's list of steps is the only one)."""

from __future__ import annotations

import importlib
import os
import pkgutil

import yaml
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible_collections.agentic.platform.plugins.module_utils import inputs
from ansible_collections.agentic.platform.plugins.module_utils.inputs.common import MISSING, plain, spec_type_problems
from ansible_collections.agentic.platform.plugins.plugin_utils.controller_action import ControllerAction

# libyaml's loader where PyYAML has it: ten argument specs take ~0.1 s with the pure-Python one.
SPEC_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
COLLECTION = "agentic.platform"
ROLES = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "roles")


def known_steps() -> list[str]:
    """The steps that have input checks: one module each in plugins/module_utils/inputs/."""
    return sorted(m.name for m in pkgutil.iter_modules(inputs.__path__) if m.name != "common")


def play_steps(play_role_names: list[str]) -> list[str]:
    """The steps among the roles a play imports (``ansible_play_role_names``), in that order."""
    known = known_steps()
    names = [r[len(COLLECTION) + 1:] if r.startswith(COLLECTION + ".") else r for r in play_role_names]
    return [n for i, n in enumerate(names) if n in known and n not in names[:i]]


class ActionModule(ControllerAction):
    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        args = self.validate_argument_spec(argument_spec={"step": {"type": "str"}})[1]
        known = known_steps()
        if args["step"] and args["step"] not in known:
            result.update(failed=True, msg=f"step '{args['step']}' has no input checks: step must be one of "
                                           f"{', '.join(known)} (plugins/module_utils/inputs/<step>.py)")
            return result
        steps = [args["step"]] if args["step"] else play_steps(task_vars.get("ansible_play_role_names") or [])
        if not steps:
            result.update(failed=True, msg="no step to check: the play imports none of the roles " + ", ".join(
                f"{COLLECTION}.{k}" for k in known) + "; name one with step")
            return result
        result.update(changed=False, steps=steps, checked=[])
        spec_errors, problems = [], []
        templated: dict = {}  # a variable is templated once for the spec and the checks of every step

        def value(name: str):
            if name not in templated:
                templated[name] = self._templar.template(task_vars[name])
            return templated[name]

        for step in steps:
            errors = self._spec_errors(step, task_vars, value)
            if errors:  # the step's checks assume the types the spec guarantees
                spec_errors += errors
                continue
            checks = importlib.import_module(f"ansible_collections.agentic.platform.plugins.module_utils.inputs.{step}")
            values = {name: plain(value(name)) if name in task_vars else MISSING
                      for name in checks.VARIABLES}
            problems += checks.check(values)
            result["checked"] += [name for name in checks.VARIABLES if name not in result["checked"]]
        if spec_errors:
            problems.insert(0, "Validation of arguments failed:\n" + "\n".join(spec_errors))
            result["argument_errors"] = spec_errors
        if problems:
            result.update(failed=True, msg="; ".join(problems), problems=problems)
        return result

    def _spec_errors(self, step: str, task_vars: dict, value=None) -> list[str]:
        """What Ansible's role argument validation reports for the step's entry point main
        (``value``: a variable's templated value, when the caller keeps them)."""
        value = value or (lambda name: self._templar.template(task_vars[name]))
        path = os.path.join(ROLES, step, "meta", "argument_specs.yml")
        if not os.path.exists(path):
            return []
        with open(path, encoding="utf-8") as fh:
            loaded = yaml.load(fh, Loader=SPEC_LOADER)  # noqa: S506 (a safe loader)
        specs = (loaded or {}).get("argument_specs") or {}
        spec = (specs.get("main") or {}).get("options") or {}
        given = {name: value(name) for name in spec if name in task_vars}
        return [*ArgumentSpecValidator(spec).validate(given, validate_role_argument_spec=True).error_messages,
                *spec_type_problems(spec, given)]

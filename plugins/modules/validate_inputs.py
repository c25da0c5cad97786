# The work is done by the action plugin of the same name (plugins/action/validate_inputs.py), in
# the controller; this file documents it.
from __future__ import annotations

DOCUMENTATION = r"""
module: validate_inputs
short_description: Check a step's inputs before anything is written
version_added: 0.1.0
description:
  - Checks the variables a step reads against the role's argument spec (entry point C(main)),
    then runs the step's checks (C(plugins/module_utils/inputs/<step>.py)) for what a spec cannot
    express (ranges, formats, cross-field rules). Fails with every problem found, each message
    naming its variable and what is allowed.
  - Never writes anything; never puts a value of a secret in a message.
options:
  step:
    description:
      - The step (role) whose inputs to check, one with checks in C(plugins/module_utils/inputs/<step>.py).
        A role's own C(tasks/validate.yml) names itself.
      - Without it, every step the play imports (C(ansible_play_role_names)) is checked in this one task,
        as site.yml does before any write; the play's list of roles is the list of steps.
    type: str
extends_documentation_fragment:
  - agentic.platform.read_only
author:
  - agentic.platform developers (@agentic)
"""

EXAMPLES = r"""
- name: Check the agent inputs
  agentic.platform.validate_inputs:
    step: agent

- name: Check the inputs of every step the play imports, before any write
  agentic.platform.validate_inputs:
"""

RETURN = r"""
steps:
  description: The steps checked, in the play's order.
  returned: success
  type: list
  elements: str
checked:
  description: The variables checked.
  returned: always
  type: list
  elements: str
problems:
  description: Every problem found (also joined in C(msg)).
  returned: failed
  type: list
  elements: str
"""

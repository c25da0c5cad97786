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
    description: The step (role) whose inputs to check.
    type: str
    choices: [agentic, gpu_nodes, namespace, config, secrets, redis, agent, autoscaling, mesh, monitoring]
  steps:
    description:
      - Several steps, checked in one task (site.yml checks every step this way). Their variables
        must all be visible to the task, as they are when the play imports the roles.
      - Exactly one of O(step) and O(steps) is given.
    type: list
    elements: str
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
author:
  - agentic.platform developers
"""

EXAMPLES = r"""
- name: Check the agent inputs
  agentic.platform.validate_inputs:
    step: agent
"""

RETURN = r"""
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

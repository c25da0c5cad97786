# The work is done by the action plugin of the same name (plugins/action/validate_inputs.py), in
# the controller; this file documents it.
from __future__ import annotations

DOCUMENTATION = r"""
module: validate_inputs
short_description: Check a step's inputs before anything is written
version_added: 0.1.0
description:
  - Runs the input checks of one step (C(plugins/module_utils/inputs/<step>.py)) on the variables
    the step reads, and fails with every problem found, each message naming its variable and what
    is allowed. Checks what an argument spec cannot express (ranges, formats, cross-field rules).
  - Never writes anything; never puts a value of a secret in a message.
options:
  step:
    description: The step (role) whose inputs to check.
    type: str
    required: true
    choices: [agentic, gpu_nodes, namespace, config, secrets, redis, agent, autoscaling, mesh, monitoring]
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

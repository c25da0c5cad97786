"""Input checks of every step, in plain Python (run by the validate_inputs action, tested by pytest).

Each module here is one step (a role) and defines:
  VARIABLES  the names of the variables it reads (role defaults, inventory, extra vars)
  check(v)   the problems of the values ``v`` (name -> value, MISSING when undefined): a list of
             messages, each naming its variable and what is allowed; empty when all is well.
The argument spec (meta/argument_specs.yml) checks types and choices first; these check what it
cannot express (ranges, formats, cross-field rules). A message never quotes a secret value.
"""

from __future__ import annotations

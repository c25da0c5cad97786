"""Attributes of the actions that write nothing (k8s_read, validate_inputs)."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
attributes:
  check_mode:
    description: Writes nothing, so check mode runs the same reads and checks as a normal run.
    support: full
  diff_mode:
    description: Nothing changes, so there is no diff.
    support: none
"""

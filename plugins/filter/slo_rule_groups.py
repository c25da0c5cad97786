"""Filter for the agent's SLO rules (plugins/module_utils/slo.py is the definition)."""

from __future__ import annotations

from ansible_collections.agentic.platform.plugins.module_utils.slo import slo_rule_groups

DOCUMENTATION = r"""
name: slo_rule_groups
short_description: Prometheus rule groups of the agent's availability and latency SLOs
version_added: 0.1.0
description:
  - Returns the rule group of the agent's two SLOs over a 30-day period, over its finished
    workflows.
  - Recording rules of each SLO's error ratio over 5m, 30m, 1h, 2h, 6h, 1d, 3d and 30d
    (C(slo:sli_error:ratio_rate<window>), label C(slo)) and of its remaining error budget
    (C(slo:error_budget_remaining:ratio)).
  - Multi-window multi-burn-rate alerts after the Google SRE workbook. Severity critical pages
    at 14.4x the budget over 1h and 5m, or 6x over 6h and 30m. Severity warning opens a ticket
    at 3x over 1d and 2h, or 1x over 3d and 6h.
options:
  _input:
    description: Namespace of the agent (its series' C(namespace) label).
    type: str
    required: true
  job:
    description: Value of the C(job) label of the agent's targets.
    type: str
    required: true
  availability_percent:
    description: Objective, in percent, of finished workflows that neither fail nor time out.
    type: float
    required: true
  latency_percent:
    description: Objective, in percent, of finished workflows done within O(latency_seconds).
    type: float
    required: true
  latency_seconds:
    description: The latency bound, a bucket of C(agent_workflow_duration_seconds).
    type: float
    required: true
  time_scale:
    description: Divides every window (tests only, to see hours pass in seconds); 1 in production.
    type: int
    default: 1
"""

EXAMPLES = r"""
- name: The SLO rule groups of a region
  ansible.builtin.debug:
    msg: "{{ agentic_namespace | agentic.platform.slo_rule_groups('mcp-agent', 99.99, 99, 30) }}"
"""

RETURN = r"""
_value:
  description: Prometheus rule groups (name, rules), as a rules file's C(groups) holds them.
  type: list
  elements: dict
"""


class FilterModule:
    def filters(self):
        return {"slo_rule_groups": slo_rule_groups}

# The work is done by the action plugin of the same name (plugins/action/agent_release.py), in the
# controller; this file documents it.
from __future__ import annotations

DOCUMENTATION = r"""
module: agent_release
short_description: Release a new agent version in one region as a canary judged by its own metrics
version_added: 0.2.0
description:
  - Runs a canary Deployment C(<service>-canary) of O(version) beside the stable Deployment,
    moves the mesh's weight to it in O(steps) (DestinationRule subsets C(stable)/C(canary) by
    version label, VirtualService weights that always sum to 100, plus a route sending requests
    with the O(ab_header) header to the canary whatever the weight), holds each step for
    O(interval) seconds and judges it from Prometheus, per version of the runtime's info metric.
  - A failing verdict rolls back at once (all weight to stable in one apply, canary scaled to zero
    and removed, an Event and an audit record) and fails the task with version, step, metric,
    observed value and limit. Too few requests or missing data is inconclusive (the step is held);
    O(max_inconclusive) inconclusive intervals in a row roll back. It never passes on missing data.
  - After the last step the stable Deployment moves to the new version (rolling, never below its
    PodDisruptionBudget), the weights go back to 100/0 and the canary is removed.
  - The state (version, phase, step, verdicts) is the ConfigMap C(<service>-release); a run killed at
    any point is finished by the next. Releasing the stable version changes nothing; check mode
    returns the plan and writes nothing.
options:
  namespace:
    description: The region's namespace.
    type: str
    required: true
  region:
    description: The region's name (messages and audit records).
    type: str
    default: ''
  service:
    description: The stable Deployment, and the Service, VirtualService and DestinationRule of the agent.
    type: str
    default: mcp-agent
  container:
    description: The agent's container in the Deployment.
    type: str
    default: mcp-agent
  version:
    description: The version released (label app.kubernetes.io/version, AGENT_VERSION).
    type: str
    required: true
  image:
    description: The image of that version.
    type: str
    required: true
  model_version:
    description: 'Model version (label agentic.platform/model-version, AGENT_MODEL_VERSION); empty: none.'
    type: str
    default: ''
  config_snapshot:
    description: 'The config step''s immutable ConfigMap the release runs with; empty: the stable one''s.'
    type: str
    default: ''
  steps:
    description: Percent of traffic to the canary at each step, increasing, the last 100.
    type: list
    elements: int
    default:
    - 5
    - 25
    - 50
    - 100
  interval:
    description: Seconds each step is held before it is judged (the analysis window).
    type: int
    default: 60
  max_inconclusive:
    description: Inconclusive intervals in a row that roll back.
    type: int
    default: 3
  canary_replicas:
    description: Replicas of the canary Deployment.
    type: int
    default: 1
  ab_header:
    description: 'Requests with this header set to C(canary) go to the canary; empty: no A/B route.'
    type: str
    default: x-agentic-canary
  prometheus_url:
    description: The Prometheus HTTP API the controller queries.
    type: str
    required: true
  checks:
    description: The checks judged.
    type: list
    elements: str
    default:
    - http_success
    - workflow_success
    - request_p95
    - mcp_tool_p95
    choices:
    - http_success
    - workflow_success
    - request_p95
    - mcp_tool_p95
  min_requests:
    description: Canary API requests an interval needs before it is judged.
    type: int
    default: 50
  min_success_ratio:
    description: Lowest HTTP (non-5xx) and workflow success ratio of the canary.
    type: float
    default: 0.99
  max_success_drop:
    description: How far the canary's success ratio may be below the stable one's.
    type: float
    default: 0.01
  max_request_p95:
    description: Highest p95 request latency of the canary in seconds.
    type: float
    default: 2.0
  max_mcp_tool_p95:
    description: Highest p95 MCP tool-call latency of the canary in seconds.
    type: float
    default: 10.0
  max_latency_ratio:
    description: Highest canary p95 as a multiple of the stable one's.
    type: float
    default: 1.5
  labels:
    description: Labels of the state ConfigMap.
    type: dict
    default: {}
  field_manager:
    description: Field manager; the release applies as C(<field_manager>/release).
    type: str
    default: agentic.platform
  audit_log:
    description: 'JSON-lines file of the release''s decisions on the controller; empty: none.'
    type: str
    default: ''
  wait_timeout:
    description: Seconds to wait for the canary and the stable rollout.
    type: int
    default: 300
attributes:
  check_mode:
    description: Returns the plan (C(plan)) and writes nothing.
    support: full
  diff_mode:
    description: No diff; the plan lists what would change.
    support: none
extends_documentation_fragment:
  - agentic.platform.kube_auth
author:
  - agentic.platform developers (@agentic)
"""

EXAMPLES = r"""
- name: Release v2.1.0 in this region
  agentic.platform.agent_release:
    namespace: agentic-ai-prod
    version: v2.1.0
    image: agent-registry/mcp-agent:v2.1.0
    prometheus_url: http://prometheus.monitoring:9090
"""

RETURN = r"""
phase:
  description: promoted, rolled-back, or the phase a check-mode run found (null when none).
  returned: always
  type: str
stable_version:
  description: The version the region's stable Deployment runs after this run.
  returned: always
  type: str
verdicts:
  description: The analysis verdicts of the release (step, weight, result, metric, observed, limit).
  returned: always
  type: list
  elements: dict
plan:
  description: In check mode, what a run would do.
  returned: check mode
  type: list
  elements: str
actions:
  description: What this run applied, in order.
  returned: always
  type: list
  elements: str
"""

"""Inputs of the autoscaling step (role autoscaling): replica bounds, targets, the metric, the adapter.

agent_replicas and agent_pdb_min_available belong to the agent step and may be undefined here
(site.yml validates each step with its own role's defaults): then their checks are skipped.
"""

from __future__ import annotations

import re

from ansible_collections.agentic.platform.plugins.module_utils.inputs.common import (
    DNS1123_LABEL,
    DNS1123_SUBDOMAIN,
    MISSING,
    Problems,
    as_int,
    bounded_int,
    full,
    pem_certificates,
    text,
)

VARIABLES = (
    "autoscaling_min_replicas",
    "autoscaling_max_replicas",
    "agent_pdb_min_available",
    "agent_replicas",
    "autoscaling_cpu_utilization",
    "autoscaling_memory_utilization",
    "autoscaling_gpu_utilization",
    "autoscaling_workflows_per_pod",
    "autoscaling_workflows_metric",
    "autoscaling_behavior",
    "autoscaling_adapter_namespace",
    "autoscaling_adapter_configmap",
    "autoscaling_target",
    "autoscaling_adapter_service",
    "autoscaling_adapter_service_port",
    "autoscaling_adapter_ca_bundle",
    "autoscaling_prometheus_url",
)

# The Prometheus the adapter or KEDA queries: an http(s) URL with a host.
HTTP_URL = re.compile(r"https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[-A-Za-z0-9._~%/]*)?")

# A Prometheus metric name, also the name of the custom metric the HPA reads.
METRIC_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
# The fields of autoscaling/v2 HorizontalPodAutoscalerBehavior.
BEHAVIOR_KEYS = ("scaleUp", "scaleDown")


def check(v: dict) -> list[str]:
    p = Problems()
    low, high = as_int(v["autoscaling_min_replicas"]), as_int(v["autoscaling_max_replicas"])
    p.add(low is not None and low >= 1,
          f"autoscaling_min_replicas must be at least 1, got {text(v['autoscaling_min_replicas'])}")
    # A minimum that is no number is reported above; a maximum that is none fails here.
    p.add(low is None or (high is not None and high >= low),
          f"autoscaling_max_replicas ({text(v['autoscaling_max_replicas'])}) must be at least "
          f"autoscaling_min_replicas ({text(v['autoscaling_min_replicas'])})")

    # The agent step's Deployment starts at agent_replicas and its PodDisruptionBudget keeps
    # agent_pdb_min_available pods: both must fit the autoscaler's bounds. The agent step
    # itself reports an agent_pdb_min_available that is no number.
    pdb = v["agent_pdb_min_available"]
    pdb_int = as_int(pdb)
    p.add(pdb is MISSING or pdb_int is None or low is None or low > pdb_int,
          f"autoscaling_min_replicas ({text(v['autoscaling_min_replicas'])}) must be above agent_pdb_min_available "
          f"({'' if pdb is MISSING else pdb}), or at the minimum no agent pod could ever be evicted or drained")
    replicas = v["agent_replicas"]
    replicas_int = as_int(replicas)
    p.add(replicas is MISSING or (replicas_int is not None and (low is None or replicas_int >= low)
                                  and (high is None or replicas_int <= high)),
          f"agent_replicas ({'' if replicas is MISSING else replicas}) must lie within autoscaling_min_replicas "
          f"({text(v['autoscaling_min_replicas'])}) and autoscaling_max_replicas "
          f"({text(v['autoscaling_max_replicas'])}), or every run would move the Deployment away from what the "
          "autoscaler keeps")

    p.add(bounded_int(v["autoscaling_cpu_utilization"], 1, 100),
          "autoscaling_cpu_utilization must be a percentage from 1 to 100, got "
          f"{text(v['autoscaling_cpu_utilization'])}")
    p.add(bounded_int(v["autoscaling_memory_utilization"], 1, 100),
          "autoscaling_memory_utilization must be a percentage from 1 to 100, got "
          f"{text(v['autoscaling_memory_utilization'])}")
    p.add(bounded_int(v["autoscaling_gpu_utilization"], 1, 100),
          "autoscaling_gpu_utilization must be a percentage from 1 to 100, got "
          f"{text(v['autoscaling_gpu_utilization'])}")
    per_pod = as_int(v["autoscaling_workflows_per_pod"])
    p.add(per_pod is not None and per_pod >= 1,
          f"autoscaling_workflows_per_pod must be at least 1, got {text(v['autoscaling_workflows_per_pod'])}")
    metric = v["autoscaling_workflows_metric"]
    p.add(isinstance(metric, str) and bool(METRIC_NAME.fullmatch(metric)),
          f"autoscaling_workflows_metric '{text(metric)}' must be a Prometheus metric name ([a-zA-Z_:][a-zA-Z0-9_:]*)")
    behavior = v["autoscaling_behavior"]
    p.add(isinstance(behavior, dict) and set(behavior) <= set(BEHAVIOR_KEYS),
          "autoscaling_behavior may only have the keys scaleUp and scaleDown (autoscaling/v2 HPAScalingRules)")
    namespace, configmap = v["autoscaling_adapter_namespace"], v["autoscaling_adapter_configmap"]
    p.add(isinstance(namespace, str) and bool(DNS1123_LABEL.fullmatch(namespace))
          and isinstance(configmap, str) and bool(DNS1123_SUBDOMAIN.fullmatch(configmap)),
          "autoscaling_adapter_namespace must be a DNS-1123 label and autoscaling_adapter_configmap a DNS-1123 "
          f"subdomain, got '{text(namespace)}' and '{text(configmap)}'")
    for name in ("autoscaling_target", "autoscaling_adapter_service"):
        p.add(full(DNS1123_LABEL, v[name]), f"{name} '{text(v[name])}' must be an object name (a DNS-1123 label)")
    p.add(bounded_int(v["autoscaling_adapter_service_port"], 1, 65535),
          f"autoscaling_adapter_service_port must be a port from 1 to 65535, got "
          f"'{text(v['autoscaling_adapter_service_port'])}'")
    p.add(full(HTTP_URL, v["autoscaling_prometheus_url"]),
          f"autoscaling_prometheus_url '{text(v['autoscaling_prometheus_url'])}' must be an http:// or https:// URL")
    # The APIService's caBundle: the CA that signed the adapter's serving certificate, as PEM
    # (the template base64-encodes it).
    bundle = v["autoscaling_adapter_ca_bundle"]
    p.add(bundle in ("", None, MISSING) or pem_certificates(bundle) is not None,
          "autoscaling_adapter_ca_bundle must be empty or PEM certificates (-----BEGIN CERTIFICATE----- ...), "
          "not base64 or a key; it is the CA of the adapter's serving certificate")
    return p

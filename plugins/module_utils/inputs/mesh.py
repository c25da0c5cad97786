"""Inputs of the mesh step (role mesh): Istio durations, retries, chaos, circuit breaking, principals.

The failover settings (agentic_regions, mesh_failover, mesh_topology_regions) keep their own
tasks in roles/mesh/tasks/validate.yml, before this step's task: every region reports them by
task name, and whether the regions of one run agree needs the other hosts' variables.
"""

from __future__ import annotations

import re

from ansible_collections.agentic.platform.plugins.module_utils.inputs.common import (
    DNS1123_LABEL,
    DNS1123_SUBDOMAIN,
    Problems,
    as_int,
    as_number,
    bounded_int,
    full,
    is_label_value,
    text,
)

VARIABLES = (
    "mesh_timeout",
    "mesh_retry_per_try_timeout",
    "mesh_chaos_delay",
    "mesh_retry_attempts",
    "mesh_chaos_delay_percent",
    "mesh_api_prefix",
    "mesh_connection_pool",
    "mesh_outlier_detection",
    "mesh_ingress_principals",
    "mesh_agent_service_accounts",
    "mesh_injection",
    "mesh_revision",
    "mesh_service",
    "mesh_http_port",
    "mesh_grpc_port",
    "mesh_metrics_port",
    "mesh_cluster_domain",
    "mesh_gateways",
    "mesh_retry_on",
    "mesh_trust_domain",
    "mesh_metrics_namespaces",
)

# An Istio (protobuf/Go) duration: one or more number-unit pairs, like 30s, 500ms, 1m30s.
DURATION = re.compile(r"([0-9]+(\.[0-9]+)?(h|m|s|ms|us|µs))+")
# A SPIFFE principal as Istio writes it: <trust domain>/ns/<namespace>/sa/<service account>.
PRINCIPAL = re.compile(r"[^/\s]+/ns/[a-z0-9-]+/sa/[a-z0-9.-]+")
SERVICE_ACCOUNT = re.compile(r"[a-z0-9]([-a-z0-9.]*[a-z0-9])?")
# A URI path prefix: RFC 3986 path characters, no whitespace, query (?) or fragment (#).
URI_PATH = re.compile(r"/[-A-Za-z0-9._~%!$&'()*+,;=:@/]*")
# Envoy retry conditions (x-envoy-retry-on / grpc-on names) or status codes, comma-separated.
RETRY_ON = re.compile(r"[a-z0-9-]+(,[a-z0-9-]+)*")
# A SPIFFE trust domain: lowercase letters, digits, '.', '-', '_'.
TRUST_DOMAIN = re.compile(r"[a-z0-9._-]{1,255}")
# A Gateway reference of a VirtualService: [<namespace>/]<name>, or mesh.
GATEWAY = re.compile(r"([a-z0-9]([-a-z0-9]*[a-z0-9])?/)?[a-z0-9]([-a-z0-9.]*[a-z0-9])?")
MAX_RETRY_ATTEMPTS = 10
CONNECTION_POOL_KEYS = ("tcp", "http")  # Istio ConnectionPoolSettings
# Outlier detection only ejects endpoints with one of these; locality failover needs it.
OUTLIER_TRIGGERS = ("consecutive5xxErrors", "consecutiveGatewayErrors")
NOT_ISTIO_FIELDS = ("circuitBreaker", "consecutiveErrors")


def is_duration(value) -> bool:
    """An Istio duration string (30s, 500ms, 1h30m) longer than zero."""
    return (isinstance(value, str) and bool(DURATION.fullmatch(value))
            and any(c not in "0." for c in re.sub(r"[a-zµ]", "", value)))


def _names(value, pattern: re.Pattern) -> bool:
    """A list of strings, each matching ``pattern``."""
    return isinstance(value, list) and all(isinstance(n, str) and pattern.fullmatch(n) for n in value)


def check(v: dict) -> list[str]:
    p = Problems()
    for name in ("mesh_timeout", "mesh_retry_per_try_timeout", "mesh_chaos_delay"):
        p.add(is_duration(v[name]),
              f"{name} must be an Istio duration above zero such as 30s or 500ms, got '{text(v[name])}'")
    attempts = as_int(v["mesh_retry_attempts"])
    p.add(attempts is not None and 0 <= attempts <= MAX_RETRY_ATTEMPTS,
          f"mesh_retry_attempts must be 0 to {MAX_RETRY_ATTEMPTS} (each retry multiplies the load on a failing "
          f"agent), got {text(v['mesh_retry_attempts'])}")
    p.add(full(RETRY_ON, v["mesh_retry_on"]),
          "mesh_retry_on must be comma-separated Envoy retry conditions like connect-failure,unavailable, got "
          f"'{text(v['mesh_retry_on'])}'")
    percent = as_number(v["mesh_chaos_delay_percent"])
    p.add(percent is not None and 0 < percent <= 100,
          "mesh_chaos_delay_percent must be a percentage above 0 and at most 100, got "
          f"{text(v['mesh_chaos_delay_percent'])}")
    prefix = v["mesh_api_prefix"]
    p.add(full(URI_PATH, prefix),
          f"mesh_api_prefix must be a URI path starting with '/' (no spaces, '?' or '#'), got '{text(prefix)}'")
    pool = v["mesh_connection_pool"]
    p.add(isinstance(pool, dict) and set(pool) <= set(CONNECTION_POOL_KEYS),
          "mesh_connection_pool may only have the keys tcp and http (Istio ConnectionPoolSettings)")
    outlier = v["mesh_outlier_detection"]
    p.add(isinstance(outlier, dict) and any(k in outlier for k in OUTLIER_TRIGGERS)
          and not any(k in outlier for k in NOT_ISTIO_FIELDS),
          "mesh_outlier_detection must set consecutive5xxErrors or consecutiveGatewayErrors (locality failover needs "
          "outlier detection); consecutiveErrors and circuitBreaker are not Istio fields")
    accounts = v["mesh_agent_service_accounts"]
    p.add(_names(v["mesh_ingress_principals"], PRINCIPAL) and _names(accounts, SERVICE_ACCOUNT) and len(accounts) > 0,
          "mesh_ingress_principals must be SPIFFE principals like <trust domain>/ns/<namespace>/sa/<service account>, "
          "and mesh_agent_service_accounts a non-empty list of service account names")
    p.add(full(TRUST_DOMAIN, v["mesh_trust_domain"]),
          "mesh_trust_domain must be a non-empty SPIFFE trust domain (lowercase letters, digits, '.', '-', '_'), "
          f"got '{text(v['mesh_trust_domain'])}'")
    p.add(full(DNS1123_LABEL, v["mesh_service"]),
          f"mesh_service '{text(v['mesh_service'])}' must be a Service name (a DNS-1123 label)")
    for name in ("mesh_http_port", "mesh_grpc_port", "mesh_metrics_port"):
        p.add(bounded_int(v[name], 1, 65535), f"{name} must be a port from 1 to 65535, got '{text(v[name])}'")
    p.add(full(DNS1123_SUBDOMAIN, v["mesh_cluster_domain"]),
          f"mesh_cluster_domain '{text(v['mesh_cluster_domain'])}' must be a DNS domain like cluster.local")
    gateways = v["mesh_gateways"]
    p.add(isinstance(gateways, list) and all(full(GATEWAY, g) for g in gateways),
          f"mesh_gateways must be Gateway names, [<namespace>/]<name>, got {text(gateways)}")
    namespaces = v["mesh_metrics_namespaces"]
    p.add(isinstance(namespaces, list) and all(full(DNS1123_LABEL, n) for n in namespaces),
          f"mesh_metrics_namespaces must be a list of namespace names, got {text(namespaces)}")
    revision = v["mesh_revision"]
    p.add(v["mesh_injection"] != "revision" or (is_label_value(revision) and str(revision) != ""),
          "mesh_revision must name the Istio revision (a label value, like 1-24 or canary) when mesh_injection is "
          f"'revision', got '{text(revision)}'")
    return p

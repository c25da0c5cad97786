"""The mesh step's input checks (plugins/module_utils/inputs/mesh.py), without Ansible. The failover
checks stay tasks of roles/mesh/tasks/validate.yml (tests/unit/test_failover.py tests their logic)."""

from __future__ import annotations

import pytest
from ansible_collections.agentic.platform.plugins.module_utils.inputs import mesh
from ansible_collections.agentic.platform.plugins.module_utils.inputs.common import MISSING

# roles/mesh/defaults/main.yml (inventories/local only sets mesh_topology_regions, checked elsewhere).
VALID = {
    "mesh_timeout": "30s",
    "mesh_retry_per_try_timeout": "10s",
    "mesh_chaos_delay": "5s",
    "mesh_retry_attempts": 3,
    "mesh_chaos_delay_percent": 0.1,
    "mesh_api_prefix": "/api/v1",
    "mesh_connection_pool": {
        "tcp": {"maxConnections": 100},
        "http": {"http1MaxPendingRequests": 50, "http2MaxRequests": 100, "maxRequestsPerConnection": 10,
                 "maxRetries": 3},
    },
    "mesh_outlier_detection": {"consecutive5xxErrors": 5, "interval": "30s", "baseEjectionTime": "30s",
                               "maxEjectionPercent": 50},
    "mesh_ingress_principals": ["cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account"],
    "mesh_agent_service_accounts": ["mcp-agent"],
    "mesh_injection": "label",
    "mesh_revision": "",
    "mesh_service": "mcp-agent",
    "mesh_http_port": 8080,
    "mesh_grpc_port": 8081,
    "mesh_metrics_port": 9090,
    "mesh_cluster_domain": "cluster.local",
    "mesh_gateways": [],
    "mesh_retry_on": "connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes",
    "mesh_trust_domain": "cluster.local",
    "mesh_metrics_namespaces": ["monitoring"],
}


def test_variables_are_the_checked_ones():
    assert set(mesh.VARIABLES) == set(VALID)


def test_valid_inventory_passes():
    assert mesh.check(dict(VALID)) == []


@pytest.mark.parametrize("values", [
    {"mesh_timeout": "500ms", "mesh_retry_per_try_timeout": "1m30s", "mesh_chaos_delay": "1.5s"},
    {"mesh_chaos_delay": "250us", "mesh_timeout": "2h", "mesh_retry_per_try_timeout": "100\u00b5s"},
    {"mesh_retry_attempts": 0, "mesh_chaos_delay_percent": 100},
    {"mesh_retry_attempts": "2", "mesh_chaos_delay_percent": "50"},
    {"mesh_connection_pool": {}, "mesh_outlier_detection": {"consecutiveGatewayErrors": 3}},
    {"mesh_ingress_principals": [], "mesh_agent_service_accounts": ["mcp-agent", "mcp.worker"]},
    {"mesh_injection": "revision", "mesh_revision": "1-24"},
    {"mesh_injection": "revision", "mesh_revision": "canary"},
    {"mesh_injection": "none", "mesh_revision": ""},
    {"mesh_gateways": ["istio-system/public-gateway", "mesh"], "mesh_retry_on": "5xx,503",
     "mesh_trust_domain": "prod.example_org", "mesh_api_prefix": "/api/v1/agents:run"},
])
def test_more_valid_values_pass(values):
    assert mesh.check({**VALID, **values}) == []


BAD = [
    ({"mesh_timeout": "30"}, "mesh_timeout must be an Istio duration"),
    ({"mesh_timeout": 30}, "mesh_timeout"),
    ({"mesh_timeout": "30 s"}, "mesh_timeout"),
    ({"mesh_retry_per_try_timeout": "10sec"}, "mesh_retry_per_try_timeout"),
    ({"mesh_chaos_delay": "-5s"}, "mesh_chaos_delay"),
    ({"mesh_chaos_delay": MISSING}, "mesh_chaos_delay"),
    ({"mesh_retry_attempts": -1}, "mesh_retry_attempts must be 0 to 10"),
    ({"mesh_retry_attempts": 1000}, "mesh_retry_attempts must be 0 to 10"),
    ({"mesh_timeout": "0s"}, "mesh_timeout must be an Istio duration above zero"),
    ({"mesh_retry_per_try_timeout": "0ms"}, "mesh_retry_per_try_timeout"),
    ({"mesh_chaos_delay": "0.0s"}, "mesh_chaos_delay"),
    ({"mesh_api_prefix": "/api v1"}, "mesh_api_prefix"),
    ({"mesh_api_prefix": "/api#v1"}, "mesh_api_prefix"),
    ({"mesh_api_prefix": "/api?v=1"}, "mesh_api_prefix"),
    ({"mesh_api_prefix": "/api\n"}, "mesh_api_prefix"),
    ({"mesh_trust_domain": ""}, "mesh_trust_domain"),
    ({"mesh_trust_domain": "Cluster Local"}, "mesh_trust_domain"),
    ({"mesh_retry_on": "connect-failure, 5xx"}, "mesh_retry_on"),
    ({"mesh_retry_on": ""}, "mesh_retry_on"),
    ({"mesh_service": "MCP Agent"}, "mesh_service"),
    ({"mesh_http_port": 0}, "mesh_http_port"),
    ({"mesh_grpc_port": 70000}, "mesh_grpc_port"),
    ({"mesh_cluster_domain": "cluster local"}, "mesh_cluster_domain"),
    ({"mesh_gateways": ["istio-system/Public Gateway"]}, "mesh_gateways"),
    ({"mesh_gateways": "gateway"}, "mesh_gateways"),
    ({"mesh_metrics_namespaces": ["Monitoring"]}, "mesh_metrics_namespaces"),
    ({"mesh_retry_attempts": "few"}, "mesh_retry_attempts"),
    ({"mesh_chaos_delay_percent": 150}, "mesh_chaos_delay_percent"),
    ({"mesh_chaos_delay_percent": 0}, "mesh_chaos_delay_percent"),
    ({"mesh_chaos_delay_percent": "some"}, "mesh_chaos_delay_percent"),
    ({"mesh_api_prefix": "api/v1"}, "mesh_api_prefix"),
    ({"mesh_api_prefix": None}, "mesh_api_prefix"),
    ({"mesh_connection_pool": {"tcp": {}, "circuitBreaker": {}}}, "mesh_connection_pool"),
    ({"mesh_connection_pool": "big"}, "mesh_connection_pool"),
    ({"mesh_outlier_detection": {"consecutiveErrors": 5}}, "mesh_outlier_detection"),
    ({"mesh_outlier_detection": {"consecutive5xxErrors": 5, "circuitBreaker": {}}}, "mesh_outlier_detection"),
    ({"mesh_outlier_detection": {"interval": "30s"}}, "mesh_outlier_detection"),
    ({"mesh_outlier_detection": {}}, "mesh_outlier_detection"),
    ({"mesh_ingress_principals": ["istio-ingressgateway"]}, "mesh_ingress_principals"),
    ({"mesh_ingress_principals": "cluster.local/ns/istio-system/sa/gw"}, "mesh_ingress_principals"),
    ({"mesh_agent_service_accounts": []}, "mesh_agent_service_accounts"),
    ({"mesh_agent_service_accounts": ["MCP_Agent"]}, "mesh_agent_service_accounts"),
    ({"mesh_agent_service_accounts": "abc"}, "mesh_agent_service_accounts"),
    ({"mesh_injection": "revision"}, "mesh_revision"),
    ({"mesh_injection": "revision", "mesh_revision": "canary!"}, "mesh_revision"),
]


@pytest.mark.parametrize(("values", "phrase"), BAD, ids=[f"{i}-{next(iter(v))}" for i, (v, _phrase) in enumerate(BAD)])
def test_bad_value_names_its_variable(values, phrase):
    problems = mesh.check({**VALID, **values})
    assert problems, values
    assert any(phrase in message for message in problems), problems


def test_every_failed_check_is_reported():
    problems = mesh.check({**VALID, "mesh_timeout": "soon", "mesh_retry_attempts": -1, "mesh_api_prefix": "x"})
    assert [m.split(" ")[0] for m in problems] == ["mesh_timeout", "mesh_retry_attempts", "mesh_api_prefix"]


def test_messages_keep_the_wording():
    assert mesh.check({**VALID, "mesh_injection": "revision"}) == [
        "mesh_revision must name the Istio revision (a label value, like 1-24 or canary) when mesh_injection is "
        "'revision', got ''"]

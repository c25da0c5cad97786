"""The autoscaling step's input checks (plugins/module_utils/inputs/autoscaling.py), without Ansible."""

from __future__ import annotations

import base64
import datetime

import pytest
from ansible_collections.agentic.platform.plugins.module_utils.inputs import autoscaling
from ansible_collections.agentic.platform.plugins.module_utils.inputs.common import MISSING
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

# roles/autoscaling/defaults/main.yml with inventories/local (bounds 2..4, agent_replicas 2, PDB 1).
VALID = {
    "autoscaling_min_replicas": 2,
    "autoscaling_max_replicas": 4,
    "agent_pdb_min_available": 1,
    "agent_replicas": 2,
    "autoscaling_cpu_utilization": 70,
    "autoscaling_memory_utilization": 80,
    "autoscaling_gpu_utilization": 75,
    "autoscaling_workflows_per_pod": 10,
    "autoscaling_workflows_metric": "agent_active_workflows",
    "autoscaling_behavior": {
        "scaleDown": {"stabilizationWindowSeconds": 300,
                      "policies": [{"type": "Percent", "value": 10, "periodSeconds": 60}]},
        "scaleUp": {"stabilizationWindowSeconds": 60,
                    "policies": [{"type": "Percent", "value": 50, "periodSeconds": 60},
                                 {"type": "Pods", "value": 2, "periodSeconds": 60}],
                    "selectPolicy": "Max"},
    },
    "autoscaling_adapter_namespace": "monitoring",
    "autoscaling_adapter_configmap": "prometheus-adapter-agentic-rules",
    "autoscaling_target": "mcp-agent",
    "autoscaling_adapter_service": "prometheus-adapter",
    "autoscaling_adapter_service_port": 443,
    "autoscaling_adapter_ca_bundle": "",
    "autoscaling_prometheus_url": "http://prometheus-operated.monitoring.svc:9090",
}


def _ca_pem() -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "adapter-ca")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
            .sign(key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM).decode()


CA = _ca_pem()


def test_variables_are_the_checked_ones():
    assert set(autoscaling.VARIABLES) == set(VALID)


def test_valid_inventory_passes():
    assert autoscaling.check(dict(VALID)) == []


@pytest.mark.parametrize("values", [
    {"agent_replicas": MISSING, "agent_pdb_min_available": MISSING},  # the agent step's own defaults apply
    {"autoscaling_min_replicas": "2", "autoscaling_max_replicas": "4", "agent_replicas": "3"},  # numbers as text
    {"autoscaling_min_replicas": 1, "autoscaling_max_replicas": 1, "agent_replicas": 1, "agent_pdb_min_available": 0},
    {"autoscaling_cpu_utilization": 1, "autoscaling_memory_utilization": 100},
    {"autoscaling_gpu_utilization": 1}, {"autoscaling_gpu_utilization": "100"},
    {"autoscaling_workflows_metric": "agent:active_workflows"},
    {"autoscaling_behavior": {}},
    {"autoscaling_adapter_configmap": "rules.v2"},
    {"autoscaling_adapter_ca_bundle": CA, "autoscaling_prometheus_url": "https://prometheus.example.com/prom"},
    {"autoscaling_adapter_ca_bundle": CA + CA},
])
def test_more_valid_values_pass(values):
    assert autoscaling.check({**VALID, **values}) == []


BAD = [
    ({"autoscaling_min_replicas": 0, "agent_pdb_min_available": MISSING},
     "autoscaling_min_replicas must be at least 1"),
    ({"autoscaling_min_replicas": "many"}, "autoscaling_min_replicas"),
    ({"autoscaling_min_replicas": 5, "autoscaling_max_replicas": 3}, "autoscaling_max_replicas (3)"),
    ({"autoscaling_max_replicas": "lots"}, "autoscaling_max_replicas"),
    ({"autoscaling_min_replicas": 1, "autoscaling_max_replicas": 1}, "agent_pdb_min_available (1)"),
    ({"autoscaling_min_replicas": 3}, "agent_replicas (2) must lie within"),
    ({"agent_replicas": 5}, "agent_replicas"),
    ({"agent_replicas": "three"}, "agent_replicas"),
    ({"autoscaling_cpu_utilization": 0}, "autoscaling_cpu_utilization"),
    ({"autoscaling_cpu_utilization": 101}, "autoscaling_cpu_utilization"),
    ({"autoscaling_memory_utilization": 101}, "autoscaling_memory_utilization"),
    ({"autoscaling_gpu_utilization": 0}, "autoscaling_gpu_utilization must be a percentage from 1 to 100"),
    ({"autoscaling_gpu_utilization": 101}, "autoscaling_gpu_utilization"),
    ({"autoscaling_gpu_utilization": "75%"}, "autoscaling_gpu_utilization"),
    ({"autoscaling_memory_utilization": None}, "autoscaling_memory_utilization"),
    ({"autoscaling_workflows_per_pod": 0}, "autoscaling_workflows_per_pod"),
    ({"autoscaling_workflows_metric": "agent-active-workflows"}, "autoscaling_workflows_metric"),
    ({"autoscaling_workflows_metric": "1st_metric"}, "autoscaling_workflows_metric"),
    ({"autoscaling_workflows_metric": 42}, "autoscaling_workflows_metric"),
    ({"autoscaling_behavior": {"scaleSideways": {}}}, "autoscaling_behavior"),
    ({"autoscaling_behavior": ["scaleUp"]}, "autoscaling_behavior"),
    ({"autoscaling_adapter_namespace": "Monitoring"}, "autoscaling_adapter_namespace"),
    ({"autoscaling_adapter_configmap": "rules_v2"}, "autoscaling_adapter_configmap"),
    ({"autoscaling_adapter_namespace": MISSING}, "autoscaling_adapter_namespace"),
    ({"autoscaling_adapter_ca_bundle": "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"},
     "autoscaling_adapter_ca_bundle must be empty or PEM certificates"),
    ({"autoscaling_adapter_ca_bundle": base64.b64encode(CA.encode()).decode()}, "autoscaling_adapter_ca_bundle"),
    ({"autoscaling_adapter_ca_bundle": CA + "-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n"},
     "autoscaling_adapter_ca_bundle"),
    ({"autoscaling_adapter_ca_bundle": "yes"}, "autoscaling_adapter_ca_bundle"),
    ({"autoscaling_target": "MCP Agent"}, "autoscaling_target"),
    ({"autoscaling_adapter_service": ""}, "autoscaling_adapter_service"),
    ({"autoscaling_adapter_service_port": 0}, "autoscaling_adapter_service_port"),
    ({"autoscaling_prometheus_url": "prometheus:9090"}, "autoscaling_prometheus_url"),
    ({"autoscaling_prometheus_url": "http://prometheus:9090/api v1"}, "autoscaling_prometheus_url"),
]


@pytest.mark.parametrize(("values", "phrase"), BAD, ids=[f"{i}-{next(iter(v))}" for i, (v, _phrase) in enumerate(BAD)])
def test_bad_value_names_its_variable(values, phrase):
    problems = autoscaling.check({**VALID, **values})
    assert problems, values
    assert any(phrase in message for message in problems), problems


def test_every_failed_check_is_reported():
    problems = autoscaling.check({**VALID, "autoscaling_cpu_utilization": 0, "autoscaling_memory_utilization": 0,
                                  "autoscaling_workflows_per_pod": 0})
    assert len(problems) == 3


def test_messages_keep_the_wording():
    [message] = autoscaling.check({**VALID, "autoscaling_min_replicas": 5, "autoscaling_max_replicas": 3,
                                   "agent_replicas": MISSING})
    assert message == "autoscaling_max_replicas (3) must be at least autoscaling_min_replicas (5)"

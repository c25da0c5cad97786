"""The namespace step's input checks (plugins/module_utils/inputs/namespace.py), in plain Python."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from ansible_collections.agentic.platform.plugins.module_utils.inputs import namespace
from ansible_collections.agentic.platform.plugins.module_utils.inputs.common import MISSING

ROOT = Path(__file__).resolve().parents[2]

# What a valid inventory gives: the role defaults (no inventory overrides them).
VALID = {
    "namespace_compliance": "gdpr-hipaa",
    "namespace_cost_center": "ai-operations",
    "namespace_owner": "ai-platform-team",
    "namespace_extra_labels": {},
    "namespace_quota_hard": {"requests.cpu": "100", "requests.memory": "400Gi", "requests.nvidia.com/gpu": "20",
                             "limits.cpu": "200", "limits.memory": "800Gi", "persistentvolumeclaims": "50",
                             "services.loadbalancers": "5"},
    "namespace_limit_default": {"cpu": "1", "memory": "1Gi"},
    "namespace_limit_default_request": {"cpu": "250m", "memory": "256Mi"},
    "namespace_limit_max": {"cpu": "32", "memory": "256Gi"},
    "namespace_agent_pod_labels": {"app.kubernetes.io/name": "mcp-agent"},
    "namespace_redis_pod_labels": {"app.kubernetes.io/name": "redis"},
    "namespace_dns_pod_labels": {"k8s-app": "kube-dns"},
    "namespace_redis_port": 6379,
    "namespace_agent_api_ports": [8080, 8081],
    "namespace_agent_metrics_port": 9090,
    "namespace_agent_egress_ports": [443],
    "namespace_agent_egress_cidrs": [{"cidr": "0.0.0.0/0",
                                      "except": ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16"]}],
    "namespace_monitoring_namespace": "monitoring",
    "namespace_dns_namespace": "kube-system",
    "namespace_agent_api_peers": [],
    "namespace_pod_security_version": "latest",
    "namespace_quota_enabled": True,
    "namespace_rotation_pod_labels": {"app.kubernetes.io/name": "secret-rotation"},
    "namespace_apiserver_cidrs": [{"cidr": "0.0.0.0/0"}],
    "namespace_apiserver_ports": [443, 6443],
    "namespace_istiod_namespace": "istio-system",
    "namespace_istiod_pod_labels": {"app": "istiod"},
    "namespace_istiod_ports": [15012],
}
# The other steps' pods the quota and LimitRange must admit: undefined when the role runs alone,
# the role defaults in site.yml (roles/agent, roles/redis, roles/autoscaling defaults).
ALONE = dict.fromkeys(("agent_replicas", "agent_resources", "agent_gpu_count", "agent_gpu_resource",
                       "redis_resources", "autoscaling_min_replicas", "agent_ephemeral_storage_request",
                       "agent_ephemeral_storage_limit", "redis_ephemeral_storage_request",
                       "redis_ephemeral_storage_limit"), MISSING)
STACK = {
    "agent_replicas": 3,
    "agent_resources": {"requests": {"cpu": "500m", "memory": "512Mi"}, "limits": {"cpu": "1000m", "memory": "1Gi"}},
    "agent_gpu_count": 0,
    "agent_gpu_resource": "nvidia.com/gpu",
    "redis_resources": {"requests": {"cpu": "250m", "memory": "256Mi"}, "limits": {"cpu": "500m", "memory": "512Mi"}},
    "autoscaling_min_replicas": 3,
    "agent_ephemeral_storage_request": "256Mi",
    "agent_ephemeral_storage_limit": "1Gi",
    "redis_ephemeral_storage_request": "64Mi",
    "redis_ephemeral_storage_limit": "256Mi",
}


def problems(**changes) -> list[str]:
    return namespace.check({**VALID, **ALONE, **changes})


def test_valid_is_what_the_defaults_give_and_every_variable_is_read():
    defaults = yaml.safe_load((ROOT / "roles/namespace/defaults/main.yml").read_text())
    assert {k: defaults[k] for k in VALID} == VALID
    assert set(VALID) | set(STACK) == set(namespace.VARIABLES)
    for role in ("agent", "redis", "autoscaling"):
        defaults = yaml.safe_load((ROOT / f"roles/{role}/defaults/main.yml").read_text())
        assert {k: defaults[k] for k in STACK if k in defaults} == {k: STACK[k] for k in STACK if k in defaults}


def test_valid_inventory_has_no_problem():
    assert problems() == []


@pytest.mark.parametrize("changes", [
    {"namespace_extra_labels": {"team": "agents", "example.com/tier": 1}},
    {"namespace_quota_hard": {"requests.cpu": "0", "requests.nvidia.com/gpu": 4}},
    {"namespace_quota_hard": {"limits.ephemeral-storage": "10Gi", "limits.kubernetes.io/x": "1"}},
    {"namespace_limit_default": {"cpu": "1", "memory": "1Gi", "ephemeral-storage": "2Gi"},
     "namespace_limit_max": {"ephemeral-storage": "2Gi"}},
    {"namespace_redis_port": "6379", "namespace_agent_api_ports": ["8080"]},
    {"namespace_agent_egress_cidrs": []},
    {"namespace_agent_egress_cidrs": [{"cidr": "2001:db8::/32"}]},
    {"namespace_compliance": ""},
    {"namespace_agent_egress_cidrs": [{"cidr": "10.0.0.0/8", "except": ["10.1.0.0/16"]}]},
    {"namespace_agent_api_peers": [{"namespaceSelector": {"matchLabels": {"name": "istio-system"}},
                                    "podSelector": {"matchExpressions": [{"key": "app", "operator": "In",
                                                                          "values": ["gateway"]}]}},
                                   {"ipBlock": {"cidr": "192.168.0.0/16"}},
                                   {"namespaceSelector": {}}]},
    {"namespace_pod_security_version": "v1.31"},
    {"namespace_apiserver_cidrs": [{"cidr": "10.240.0.1/32"}], "namespace_apiserver_ports": [16443]},
    {"namespace_apiserver_cidrs": [], "namespace_istiod_ports": [15012, 15010]},
    {**STACK},
    {**STACK, "namespace_quota_enabled": False, "namespace_quota_hard": {"requests.cpu": "1"}},
], ids=",".join)
def test_other_valid_values_pass(changes):
    assert problems(**changes) == []


BAD = {
    # name: (changes, what the (only) message must contain)
    "apiserver-cidr-host-bits": ({"namespace_apiserver_cidrs": [{"cidr": "10.240.0.1/8"}]},
                                 "namespace_apiserver_cidrs"),
    "apiserver-cidrs-string": ({"namespace_apiserver_cidrs": "10.0.0.0/8"}, "namespace_apiserver_cidrs"),
    "apiserver-ports-empty": ({"namespace_apiserver_ports": []}, "namespace_apiserver_ports"),
    "istiod-port-range": ({"namespace_istiod_ports": [70000]}, "namespace_istiod_ports"),
    "istiod-namespace-bad": ({"namespace_istiod_namespace": "Istio System"}, "namespace_istiod_namespace"),
    "istiod-labels-empty": ({"namespace_istiod_pod_labels": {}}, "namespace_istiod_pod_labels"),
    "rotation-labels-bad": ({"namespace_rotation_pod_labels": {"app": "a b"}}, "namespace_rotation_pod_labels"),
    "compliance-spaces": ({"namespace_compliance": "gdpr hipaa"}, "namespace_compliance 'gdpr hipaa'"),
    "compliance-list": ({"namespace_compliance": ["gdpr"]}, "namespace_compliance"),
    "cost-center-too-long": ({"namespace_cost_center": "x" * 64}, "namespace_cost_center"),
    "cost-center-bool": ({"namespace_cost_center": True}, "namespace_cost_center"),
    "owner-bad-label": ({"namespace_owner": "AI platform team!"}, "namespace_owner 'AI platform team!'"),
    "owner-undefined": ({"namespace_owner": MISSING}, "namespace_owner '(undefined)'"),
    "extra-label-value": ({"namespace_extra_labels": {"team": "has spaces"}}, "namespace_extra_labels['team']:"),
    "extra-label-key": ({"namespace_extra_labels": {"Bad Key": "x"}}, "namespace_extra_labels['Bad Key']"),
    "extra-label-governance": ({"namespace_extra_labels": {"owner": "x"}}, "namespace_extra_labels['owner']"),
    "extra-label-psa": ({"namespace_extra_labels": {"pod-security.kubernetes.io/enforce": "privileged"}},
                        "namespace_extra_labels['pod-security.kubernetes.io/enforce']"),
    "extra-label-app": ({"namespace_extra_labels": {"app.kubernetes.io/name": "x"}},
                        "namespace_extra_labels['app.kubernetes.io/name']"),
    "extra-label-null": ({"namespace_extra_labels": {"team": None}}, "namespace_extra_labels['team']"),
    "extra-labels-list": ({"namespace_extra_labels": ["team=x"]}, "namespace_extra_labels: keys must be label keys"),
    "quota-negative": ({"namespace_quota_hard": {"requests.cpu": "-5", "limits.cpu": "200"}},
                       "namespace_quota_hard['requests.cpu'] = '-5'"),
    "quota-absurd": ({"namespace_quota_hard": {"requests.memory": "1e30"}},
                     "namespace_quota_hard['requests.memory'] = '1e30'"),
    "quota-at-1e15": ({"namespace_quota_hard": {"pods": 10**15}}, "namespace_quota_hard['pods']"),
    "quota-not-a-quantity": ({"namespace_quota_hard": {"requests.cpu": "lots"}},
                             "namespace_quota_hard['requests.cpu'] = 'lots'"),
    "quota-bool": ({"namespace_quota_hard": {"pods": True}}, "namespace_quota_hard['pods']"),
    "quota-limits-gpu": ({"namespace_quota_hard": {"limits.nvidia.com/gpu": "20"}},
                         "namespace_quota_hard['limits.nvidia.com/gpu']"),
    "quota-bad-key": ({"namespace_quota_hard": {"Requests.CPU": "1"}}, "namespace_quota_hard['Requests.CPU']"),
    "quota-string": ({"namespace_quota_hard": "lots"}, "namespace_quota_hard: quota values must be"),
    "quota-requests-over-limits-cpu": ({"namespace_quota_hard": {"requests.cpu": "300", "limits.cpu": "200"}},
                                       "namespace_quota_hard['requests.cpu'] must not exceed"),
    "quota-requests-over-limits-memory": ({"namespace_quota_hard": {"requests.memory": "2Gi", "limits.memory": "1Gi"}},
                                          "namespace_quota_hard['requests.memory'] must not exceed"),
    "limit-default-not-quantity": ({"namespace_limit_default": {"cpu": "two"}}, "namespace_limit_default must map"),
    "limit-default-zero": ({"namespace_limit_default": {"cpu": "0"}}, "namespace_limit_default must map"),
    "limit-default-empty": ({"namespace_limit_default": {}}, "namespace_limit_default must map"),
    "limit-default-string": ({"namespace_limit_default": "1Gi"}, "namespace_limit_default must map"),
    "limit-request-negative": ({"namespace_limit_default_request": {"cpu": "-1"}},
                               "namespace_limit_default_request must map"),
    "limit-max-unknown-key": ({"namespace_limit_max": {"cpu": "32", "nvidia.com/gpu": "1"}},
                              "namespace_limit_max must map"),
    "limit-request-over-default": ({"namespace_limit_default_request": {"cpu": "2", "memory": "256Mi"}},
                                   "namespace_limit_default_request['cpu'] <= namespace_limit_default['cpu']"),
    "limit-default-over-max": ({"namespace_limit_default": {"cpu": "1", "memory": "512Gi"}},
                               "<= namespace_limit_max['memory'] must hold"),
    "agent-pod-labels-empty": ({"namespace_agent_pod_labels": {}}, "namespace_agent_pod_labels must be a non-empty"),
    "redis-pod-labels-bad-value": ({"namespace_redis_pod_labels": {"app": "re dis"}}, "namespace_redis_pod_labels"),
    "dns-pod-labels-bad-key": ({"namespace_dns_pod_labels": {"-k8s-app": "kube-dns"}}, "namespace_dns_pod_labels"),
    "dns-pod-labels-number": ({"namespace_dns_pod_labels": {"k8s-app": 1}}, "namespace_dns_pod_labels"),
    "dns-pod-labels-list": ({"namespace_dns_pod_labels": ["k8s-app"]}, "namespace_dns_pod_labels"),
    "redis-port-zero": ({"namespace_redis_port": 0}, "namespace_redis_port must be TCP port numbers"),
    "redis-port-absurd": ({"namespace_redis_port": 70000}, "namespace_redis_port must be TCP port numbers"),
    "redis-port-word": ({"namespace_redis_port": "six"}, "namespace_redis_port must be TCP port numbers between "
                                                         "1 and 65535, got ['six']"),
    "redis-port-bool": ({"namespace_redis_port": True}, "namespace_redis_port"),
    "api-ports-wrong-type": ({"namespace_agent_api_ports": ["http"]}, "namespace_agent_api_ports"),
    "api-ports-empty": ({"namespace_agent_api_ports": []}, "namespace_agent_api_ports"),
    "api-ports-string": ({"namespace_agent_api_ports": "8080"}, "namespace_agent_api_ports"),
    "api-ports-negative": ({"namespace_agent_api_ports": [8080, -1]}, "namespace_agent_api_ports"),
    "metrics-port-float": ({"namespace_agent_metrics_port": 9090.5}, "namespace_agent_metrics_port"),
    "egress-ports-absurd": ({"namespace_agent_egress_ports": [443, 65536]}, "namespace_agent_egress_ports"),
    "egress-cidrs-string": ({"namespace_agent_egress_cidrs": "0.0.0.0/0"},
                            "namespace_agent_egress_cidrs must be a list"),
    "egress-cidrs-no-cidr": ({"namespace_agent_egress_cidrs": [{"except": []}]}, "namespace_agent_egress_cidrs"),
    "egress-cidrs-malformed": ({"namespace_agent_egress_cidrs": [{"cidr": "10.1.2.3"}]},
                               "namespace_agent_egress_cidrs[0]: cidr '10.1.2.3' is not a CIDR"),
    "egress-cidrs-octet": ({"namespace_agent_egress_cidrs": [{"cidr": "999.1.2.0/24"}]},
                           "namespace_agent_egress_cidrs[0]: cidr '999.1.2.0/24'"),
    "egress-cidrs-prefix": ({"namespace_agent_egress_cidrs": [{"cidr": "10.0.0.0/33"}]},
                            "namespace_agent_egress_cidrs[0]"),
    "egress-cidrs-host-bits": ({"namespace_agent_egress_cidrs": [{"cidr": "10.1.2.3/8"}]},
                               "namespace_agent_egress_cidrs[0]"),
    "egress-cidrs-except-outside": ({"namespace_agent_egress_cidrs": [{"cidr": "10.0.0.0/8",
                                                                       "except": ["192.168.0.0/16"]}]},
                                    "except '192.168.0.0/16' must be a CIDR strictly inside 10.0.0.0/8"),
    "egress-cidrs-except-equal": ({"namespace_agent_egress_cidrs": [{"cidr": "10.0.0.0/8", "except": ["10.0.0.0/8"]}]},
                                  "namespace_agent_egress_cidrs[0]"),
    "egress-cidrs-unknown-key": ({"namespace_agent_egress_cidrs": [{"cidr": "10.0.0.0/8", "ports": [1]}]},
                                 "namespace_agent_egress_cidrs[0]"),
    "peer-no-selector": ({"namespace_agent_api_peers": [{}]}, "namespace_agent_api_peers[0]"),
    "peer-unknown-key": ({"namespace_agent_api_peers": [{"podSelectr": {"matchLabels": {"a": "b"}}}]},
                         "namespace_agent_api_peers[0]"),
    "peer-ipblock-and-selector": ({"namespace_agent_api_peers": [{"ipBlock": {"cidr": "10.0.0.0/8"},
                                                                  "podSelector": {}}]},
                                  "namespace_agent_api_peers[0]: ipBlock cannot be combined"),
    "peer-bad-cidr": ({"namespace_agent_api_peers": [{"ipBlock": {"cidr": "10.0.0/8"}}]},
                      "namespace_agent_api_peers[0]: cidr"),
    "peer-selector-bad-label": ({"namespace_agent_api_peers": [{"podSelector": {"matchLabels": {"app": "a b"}}}]},
                                "namespace_agent_api_peers[0]: podSelector"),
    "peer-selector-flat-labels": ({"namespace_agent_api_peers": [{"podSelector": {"app": "gateway"}}]},
                                  "namespace_agent_api_peers[0]: podSelector"),
    "peer-expression-no-values": ({"namespace_agent_api_peers": [{"podSelector": {"matchExpressions": [
        {"key": "app", "operator": "In"}]}}]}, "namespace_agent_api_peers[0]"),
    "peers-string": ({"namespace_agent_api_peers": "everyone"}, "namespace_agent_api_peers must be a list"),
    "pod-security-version-newline": ({"namespace_pod_security_version": "latest\n  enforce: privileged"},
                                     "namespace_pod_security_version"),
    "pod-security-version-bad": ({"namespace_pod_security_version": "1.30"}, "namespace_pod_security_version"),
    "stack-above-quota-cpu": ({**STACK, "namespace_quota_hard": {"requests.cpu": "1"}},
                              "namespace_quota_hard['requests.cpu'] (1) cannot admit the stack's own pods"),
    "stack-above-quota-memory-limits": ({**STACK, "namespace_quota_hard": {"limits.memory": "3Gi"}},
                                        "namespace_quota_hard['limits.memory']"),
    "stack-above-quota-ephemeral-storage": ({**STACK, "namespace_quota_hard": {"requests.ephemeral-storage": "512Mi"}},
                                            "namespace_quota_hard['requests.ephemeral-storage']"),
    "stack-ephemeral-above-limitrange-max": ({**STACK, "namespace_limit_max": {"cpu": "32", "memory": "256Gi",
                                                                               "ephemeral-storage": "512Mi"}},
                                             "agent_resources ephemeral-storage"),
    "stack-above-quota-pods": ({**STACK, "namespace_quota_hard": {"pods": "3"}}, "namespace_quota_hard['pods']"),
    "stack-above-quota-gpus": ({**STACK, "agent_gpu_count": 2, "namespace_quota_hard": {
        "requests.nvidia.com/gpu": "4"}}, "namespace_quota_hard['requests.nvidia.com/gpu']"),
    "stack-autoscaling-min-above-quota": ({**STACK, "autoscaling_min_replicas": 50, "namespace_quota_hard": {
        "requests.cpu": "20"}}, "namespace_quota_hard['requests.cpu']"),
    "agent-limit-above-limitrange-max": ({**STACK, "agent_resources": {"requests": {"cpu": "1"},
                                                                       "limits": {"cpu": "64"}}},
                                         "agent_resources cpu (64) is above namespace_limit_max['cpu']"),
    "redis-request-above-limitrange-default": ({**STACK, "redis_resources": {"requests": {"memory": "2Gi"},
                                                                             "limits": {"cpu": "1"}}},
                                               "redis_resources requests.memory is above namespace_limit_default"),
    "egress-cidrs-except-string": ({"namespace_agent_egress_cidrs": [{"cidr": "0.0.0.0/0", "except": "10.0.0.0/8"}]},
                                   "namespace_agent_egress_cidrs"),
    "egress-cidrs-except-bad": ({"namespace_agent_egress_cidrs": [{"cidr": "0.0.0.0/0", "except": ["10.0.0.0"]}]},
                                "namespace_agent_egress_cidrs"),
    "egress-cidrs-entry-string": ({"namespace_agent_egress_cidrs": ["0.0.0.0/0"]},
                                  'namespace_agent_egress_cidrs[0]: "0.0.0.0/0" is not'),
    "monitoring-namespace-upper": ({"namespace_monitoring_namespace": "Monitoring"},
                                   "namespace_monitoring_namespace 'Monitoring' must be a namespace name"),
    "monitoring-namespace-number": ({"namespace_monitoring_namespace": 5}, "namespace_monitoring_namespace"),
    "dns-namespace-too-long": ({"namespace_dns_namespace": "k" * 64}, "namespace_dns_namespace"),
    "dns-namespace-newline": ({"namespace_dns_namespace": "kube-system\n"}, "namespace_dns_namespace"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_value_is_named(case):
    changes, needle = BAD[case]
    found = problems(**changes)
    assert len(found) == 1, found
    assert needle in found[0]


def test_every_problem_is_reported_at_once():
    found = problems(namespace_owner="bad owner", namespace_redis_port=0, namespace_dns_namespace="DNS",
                     namespace_quota_hard={"requests.cpu": "lots", "requests.memory": "-1", "limits.cpu": "1"})
    assert len(found) == 4
    assert found[1].startswith("namespace_quota_hard['requests.cpu'] = 'lots', "
                               "namespace_quota_hard['requests.memory'] = '-1': quota values")


@pytest.mark.parametrize("value", [None, 5, "x", [1, "a"], {"a": {"b": 1}}, MISSING])
def test_no_crash_on_any_type(value):
    values = dict.fromkeys(namespace.VARIABLES, value)
    found = namespace.check(values)
    assert found and all(isinstance(m, str) for m in found)

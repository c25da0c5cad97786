"""The shared validators of plugins/module_utils/inputs/common.py, and the argument spec's blind spot
(a list or a mapping given for a str option is turned into its text by Ansible, not refused).

The formats are the API server's (k8s.io/apimachinery/pkg/util/validation); each case below is one
the API server accepts or refuses."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible_collections.agentic.platform.plugins.module_utils.inputs import common

ROOT = Path(__file__).resolve().parents[2]
SPECS = {path.parts[-3]: (yaml.safe_load(path.read_text())["argument_specs"].get("main") or {}).get("options") or {}
         for path in sorted(ROOT.glob("roles/*/meta/argument_specs.yml"))}
STR_OPTIONS = sorted((role, name) for role, options in SPECS.items() for name, option in options.items()
                     if (option or {}).get("type", "str") in ("str", "path"))


@pytest.mark.parametrize(("key", "ok"), [
    ("app", True), ("app.kubernetes.io/name", True), ("example.com/a_b.c-d", True), ("A", True),
    ("n" * 63, True), ("n" * 64, False), ("example.com/" + "n" * 64, False),
    ("a" * 254 + "/name", False), (".".join(["a" * 63] * 4)[:253] + "/n", True),
    ("example..com/name", False), ("-example.com/name", False), ("Example.com/name", False),
    ("/name", False), ("a/b/c", False), ("bad key", False), ("", False), ("name-", False), (5, False),
])
def test_label_key(key, ok):
    assert common.is_label_key(key) is ok


@pytest.mark.parametrize(("value", "ok"), [
    ("", True), ("v1.2_3-x", True), ("v" * 63, True), (1.5, True),
    ("v" * 64, False), ("-v", False), ("v-", False), ("a b", False), (True, False), (None, False), (["a"], False),
])
def test_label_value(value, ok):
    assert common.is_label_value(value) is ok


@pytest.mark.parametrize(("key", "ok"), [
    ("tls.crt", True), ("redis-password", True), ("a..b", True), (".hidden", True), ("k" * 253, True),
    (".", False), ("..", False), ("..data", False), ("a/b", False), ("k" * 254, False), ("", False), (1, False),
])
def test_secret_key_is_a_file_name(key, ok):
    assert common.is_secret_key(key) is ok


@pytest.mark.parametrize(("block", "problem"), [
    ({"cidr": "10.0.0.0/8"}, None),
    ({"cidr": "0.0.0.0/0", "except": ["10.0.0.0/8", "192.168.1.0/24"]}, None),
    ({"cidr": "2001:db8::/32", "except": ["2001:db8:1::/48"]}, None),
    ({"cidr": "10.0.0.0"}, "is not a CIDR"),
    ({"cidr": "300.0.0.0/8"}, "is not a CIDR"),
    ({"cidr": "10.0.0.0/40"}, "is not a CIDR"),
    ({"cidr": "10.0.0.1/8"}, "is not a CIDR"),
    ({"cidr": "10.0.0.0/8", "except": ["11.0.0.0/16"]}, "strictly inside"),
    ({"cidr": "10.0.0.0/8", "except": ["10.0.0.0/8"]}, "strictly inside"),
    ({"cidr": "10.0.0.0/8", "except": ["2001:db8::/32"]}, "strictly inside"),
    ({"cidr": "10.0.0.0/8", "except": "10.1.0.0/16"}, "must be a list"),
    ({"cidr": "10.0.0.0/8", "ports": []}, "is not {cidr, except}"),
    ("10.0.0.0/8", "is not {cidr, except}"),
])
def test_cidr_block(block, problem):
    found = common.cidr_block_problem(block)
    assert found is None if problem is None else problem in found


@pytest.mark.parametrize(("taint", "ok"), [
    ({"key": "nvidia.com/gpu", "effect": "NoSchedule"}, True),
    ({"key": "dedicated", "value": "gpu", "effect": "NoExecute"}, True),
    ({"key": "dedicated", "value": "has space", "effect": "NoExecute"}, False),
    ({"key": "dedicated", "effect": "Sometimes"}, False),
    ({"key": "bad key", "effect": "NoSchedule"}, False),
    ({"effect": "NoSchedule"}, False),
    ({"key": "a", "effect": "NoSchedule", "timeAdded": "now"}, False),
])
def test_taint(taint, ok):
    assert common.is_taint(taint) is ok


@pytest.mark.parametrize(("toleration", "ok"), [
    ({"operator": "Exists"}, True),
    ({"key": "a", "operator": "Exists", "effect": "NoSchedule"}, True),
    ({"key": "a", "value": "b"}, True),
    ({"key": "a", "operator": "Equal", "value": "b", "effect": "NoExecute", "tolerationSeconds": 30}, True),
    ({"operator": "Equal", "value": "b"}, False),
    ({"key": "a", "operator": "Exists", "value": "b"}, False),
    ({"key": "a", "effect": "NoSchedule", "tolerationSeconds": 30}, False),
    ({"key": "a", "operator": "Gt", "value": "1"}, False),
    ({"key": "a", "value": "v" * 64}, False),
])
def test_toleration(toleration, ok):
    assert common.is_toleration(toleration) is ok


@pytest.mark.parametrize(("resources", "problem"), [
    ({"requests": {"cpu": "250m", "memory": "256Mi"}, "limits": {"cpu": "1", "memory": "1Gi"}}, None),
    ({"requests": {"cpu": "1"}, "limits": {"memory": "1Gi"}}, None),
    ({"limits": {"ephemeral-storage": "1Gi"}}, None),
    ({"requests": {"cpu": "2"}, "limits": {"cpu": "1"}}, "requests.cpu (2) is above limits.cpu (1)"),
    ({"requests": {"memory": "2Gi"}, "limits": {"memory": "2G"}}, "requests.memory"),
    ({"requests": {"cpu": "0"}}, "not a positive"),
    ({"requests": {"cpu": " 1"}}, "not a positive"),
    ({"requests": {"nvidia.com/gpu": 1}}, "only cpu, memory, ephemeral-storage"),
    ({"claims": []}, "must be {requests"),
    ({"requests": ["cpu"]}, "must be a map"),
])
def test_resources(resources, problem):
    found = common.resources_problem(resources)
    assert found is None if problem is None else problem in found


@pytest.mark.parametrize(("value", "ok"), [(1, True), ("10", True), (10, True), (0, False), (11, False),
                                           ("ten", False), (True, False), (2.5, False), (None, False)])
def test_bounded_int(value, ok):
    assert common.bounded_int(value, 1, 10) is ok


def test_every_str_option_refuses_a_list_or_a_mapping():
    """Ansible's role argument validation turns them into text; spec_type_problems names them."""
    assert len(STR_OPTIONS) > 100
    for role, name in STR_OPTIONS:
        spec = SPECS[role]
        for value, kind in ((["a"], "a list"), ({"a": 1}, "a mapping"), (True, "a boolean")):
            assert ArgumentSpecValidator({name: spec[name]}).validate(
                {name: value}, validate_role_argument_spec=True).error_messages == [] or spec[name].get("choices")
            assert common.spec_type_problems(spec, {name: value}) == [
                f"{name} must be a string, got {kind} (quote it in YAML if it is meant as text)"], (role, name)
        assert common.spec_type_problems(spec, {name: "text"}) == []
        if spec[name].get("type", "str") == "str":
            assert common.spec_type_problems(spec, {name: 1.5}) == []  # a number is text as Jinja prints it


def test_the_message_never_holds_the_value():
    spec = SPECS["secrets"]
    found = common.spec_type_problems(spec, {"secrets_openai_api_key": ["leaky-key"]})
    assert found and "leaky" not in json.dumps(found)


def test_validate_inputs_refuses_a_list_for_a_string(tmp_path):
    """The whole path, for a variable no step check reads: Ansible alone would render "['Agentic']"."""
    playbook = tmp_path / "check.yml"
    playbook.write_text(yaml.safe_dump([{
        "hosts": "localhost", "gather_facts": False,
        "tasks": [{"ansible.builtin.import_role": {"name": "agentic.platform.monitoring", "tasks_from": "validate"}}],
    }]))
    env = {**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg")}
    run = subprocess.run([str(ROOT / ".venv/bin/ansible-playbook"), str(playbook), "-i", "localhost,", "-c", "local",
                          "-e", json.dumps({"monitoring_dashboard_folder": ["Agentic"], "agentic_namespace": "x"})],
                         capture_output=True, text=True, env=env, cwd=ROOT, check=False)
    assert run.returncode != 0
    assert "monitoring_dashboard_folder must be a string, got a list" in run.stdout, run.stdout[-2000:]


# Variables no step check reads, and why (every other non-boolean option without choices is read by
# its step's check in plugins/module_utils/inputs/<step>.py, so a new variable needs a check or a reason).
UNCHECKED = {
    "agentic_kubeconfig": "a path the client opens (its errors name it)",
    "agentic_context": "a kubeconfig context name, any text",
    "secrets_kubeseal_binary": "a command looked up on PATH in GitOps mode",
    "secrets_sealed_cert": "read and checked by roles/secrets/tasks/validate_context.yml",
    "secrets_sealed_output_dir": "a directory on the controller",
    "monitoring_rules_file": "a file the role writes on the controller (optional)",
    "monitoring_dashboard_folder": "a Grafana folder title, any text",
    "mesh_failover": "checked across regions by roles/mesh/tasks/validate_context.yml",
    "mesh_topology_regions": "checked across regions by roles/mesh/tasks/validate_context.yml",
}
SITE_STEPS = ("agentic", "gpu_nodes", "namespace", "config", "secrets", "redis", "agent", "autoscaling", "mesh",
              "monitoring")


@pytest.mark.parametrize("step", SITE_STEPS)
def test_every_variable_of_a_step_is_checked_or_says_why_not(step):
    import importlib

    checks = importlib.import_module(f"ansible_collections.agentic.platform.plugins.module_utils.inputs.{step}")
    unread = [name for name, option in SPECS[step].items()
              if (option or {}).get("type", "str") != "bool" and not (option or {}).get("choices")
              and name not in checks.VARIABLES and name not in UNCHECKED]
    assert unread == [], f"{step}: no check reads {unread}; check them in inputs/{step}.py or say why in UNCHECKED"

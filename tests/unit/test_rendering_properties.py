"""No input can change the shape of a rendered object (issue 11 item 13).

Every string variable of every step's argument spec (read from roles/*/meta/argument_specs.yml,
so a new variable is covered without editing this file) is given each hostile value of
tests/support/rendering.py (newlines with indentation, ': ', '#', braces, quotes, YAML 1.1
booleans and numbers, very long and non-ASCII strings). Each must either be refused by the input
checks (the argument spec, then plugins/module_utils/inputs/<step>.py, as the validate_inputs
action runs them before any write), or be rendered as itself: the objects keep the keys and paths
they have with a benign value, and the value appears verbatim, as a string, in them.

The templates are rendered in process, the way the roles render them (Ansible's templar over the
role defaults and vars and the local inventory), in one process of their own
(tests/support/rendering.py): Ansible's collection loader cannot be set up in this one once
other tests have imported the collection.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "support"))

import rendering  # noqa: E402

STRING_VARIABLES = rendering.string_variables()


def _run(*args: str) -> dict:
    res = subprocess.run([sys.executable, str(ROOT / "tests" / "support" / "rendering.py"), *args], cwd=ROOT,
                         capture_output=True, text=True, check=False)
    assert res.returncode == 0, res.stderr[-4000:]
    return json.loads(res.stdout)


@pytest.fixture(scope="module")
def properties() -> dict:
    return _run("properties")


def test_every_step_with_templates_is_covered():
    steps = {step for step, _variable in STRING_VARIABLES}
    assert {s for s in rendering.site_steps() if (ROOT / "roles" / s / "templates").is_dir()} <= steps
    assert len(STRING_VARIABLES) > 100


def test_the_local_inventory_is_accepted(properties):
    assert properties["accepted_local"] == []


@pytest.mark.parametrize("variable", [v for _step, v in STRING_VARIABLES])
def test_hostile_values_are_refused_or_rendered_verbatim(properties, variable):
    assert properties["wrong"][variable] == []


def test_a_newline_cannot_add_a_namespace_label():
    """The case of the issue, with no input check in the way: the template keeps the shape."""
    version = "latest\n    pod-security.kubernetes.io/enforce: privileged"
    objects = _run("render", json.dumps({"namespace_pod_security_version": version}))
    labels = objects["namespace/namespace.yaml.j2"][0]["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"
    assert labels["pod-security.kubernetes.io/enforce-version"] == version


def test_yaml_1_1_words_stay_strings():
    objects = _run("render", json.dumps({"namespace_owner": "no", "namespace_compliance": "on",
                                         "agent_version": "1e3", "redis_version": "0o17"}))
    assert objects["namespace/namespace.yaml.j2"][0]["metadata"]["labels"]["owner"] == "no"
    assert objects["namespace/namespace.yaml.j2"][0]["metadata"]["labels"]["compliance"] == "on"
    deployment = objects["agent/agent.yml.j2"][0]
    assert deployment["metadata"]["labels"]["app.kubernetes.io/version"] == "1e3"
    assert objects["redis/redis.yml.j2"][0]["metadata"]["labels"]["app.kubernetes.io/version"] == "0o17"


def _pod_specs(objects: dict):
    for key, docs in objects.items():
        for doc in docs:
            spec = doc.get("spec", {}).get("template", {}).get("spec")
            if spec:
                yield f"{key} {doc['kind']}/{doc['metadata']['name']}", spec


def test_every_container_requests_and_caps_ephemeral_storage():
    """Issue 11 item 18: scratch disk requested and limited on every container of every workload."""
    specs = dict(_pod_specs(_run("render", "{}")))
    assert len(specs) == 3  # the device plugin, Redis, the agent
    for name, spec in specs.items():
        for container in spec.get("initContainers", []) + spec["containers"]:
            resources = container.get("resources", {})
            assert "ephemeral-storage" in resources.get("requests", {}), (name, container["name"])
            assert "ephemeral-storage" in resources.get("limits", {}), (name, container["name"])


def test_platform_pods_run_with_ids_of_10000_and_above():
    """Issue 11 item 18: user, group and fsGroup >= 10000; the device plugin alone runs as root
    (it serves its socket in the kubelet's root-owned directory, in kube-system)."""
    specs = {name: spec for name, spec in _pod_specs(_run("render", "{}")) if "nvidia-device-plugin" not in name}
    assert len(specs) == 2
    for name, spec in specs.items():
        context = spec["securityContext"]
        assert min(context["runAsUser"], context["runAsGroup"], context["fsGroup"]) >= 10000, name

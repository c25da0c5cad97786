"""The shared conventions in one place (issue 12 item 4): the app.kubernetes.io/* labels, the
platform version, and values emitted so that YAML reads them back as they were."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from ansible_collections.agentic.platform.plugins.module_utils.labels import app_labels, selector_labels
from ansible_collections.agentic.platform.plugins.module_utils.yaml_value import yaml_value

ROOT = Path(__file__).resolve().parents[2]
RELEASE = {"instance": "us-east", "version": "0.1.0", "part_of": "agentic-platform"}


def test_labels_of_an_object():
    assert app_labels(RELEASE, "mcp-agent", "agent", version="v1.0.0") == {
        "app.kubernetes.io/name": "mcp-agent", "app.kubernetes.io/instance": "us-east",
        "app.kubernetes.io/version": "v1.0.0", "app.kubernetes.io/component": "agent",
        "app.kubernetes.io/part-of": "agentic-platform", "app.kubernetes.io/managed-by": "agentic.platform"}
    assert app_labels(RELEASE, "agentic-ai-quota", "governance")["app.kubernetes.io/version"] == "0.1.0"


def test_a_selector_is_name_and_instance_of_the_labels():
    labels = app_labels(RELEASE, "redis", "state-store", version="7.4")
    assert selector_labels(RELEASE, "redis") == {k: labels[k] for k in ("app.kubernetes.io/name",
                                                                        "app.kubernetes.io/instance")}


def _role_files():
    return [p for p in (ROOT / "roles").rglob("*") if p.is_file() and p.suffix in (".yml", ".j2")]


def test_no_role_writes_the_standard_labels_itself():
    """One definition (plugins/module_utils/labels.py): no template, vars or tasks file spells the
    keys the filter agentic.platform.labels writes (in a mapping, or in a selector but for
    managed-by, which steps select their own objects by)."""
    key = re.compile(r"""app\.kubernetes\.io/((instance|version|part-of|component)["']?\s*[:=]|managed-by["']?\s*:)""")
    spelled = [str(p.relative_to(ROOT)) for p in _role_files() if key.search(p.read_text())]
    assert spelled == []


def test_the_platform_version_is_read_in_one_place():
    """agentic_version: the agentic role's default, the release of galaxy.yml; nobody else defaults it."""
    defaults = yaml.safe_load((ROOT / "roles" / "agentic" / "defaults" / "main.yml").read_text())
    assert defaults["agentic_version"] == yaml.safe_load((ROOT / "galaxy.yml").read_text())["version"]
    readers = [str(p.relative_to(ROOT)) for p in _role_files() if "agentic_version" in p.read_text()]
    assert sorted(readers) == ["roles/agentic/defaults/main.yml", "roles/agentic/meta/argument_specs.yml",
                               "roles/agentic/vars/main.yml"]


@pytest.mark.parametrize("value", [
    "x\n  enforce: privileged", "a: b", "#", "{a: b}", "[", "'", '"', "no", "on", "null", "~", "0o17", "1e3",
    "ünï日本語", "agent-😀", "\x7f\x85\x9f\u2028\u2029\ufeff", "", "a" * 10000,
    {"k": ["no", 1, 2.5, True, None, "😀"]},
])
def test_yaml_value_reads_back_as_the_same_value(value):
    for loader in (yaml.SafeLoader, yaml.CSafeLoader):
        assert yaml.load(f"key: {yaml_value(value)}\nafter: 1", Loader=loader) == {"key": value, "after": 1}  # noqa: S506 - safe loaders
        assert yaml.load(f"- {yaml_value(value)}", Loader=loader) == [value]  # noqa: S506 - safe loaders

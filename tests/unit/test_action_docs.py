"""The modules that are action plugins (k8s_apply, k8s_read) document the options their action
validates: what ansible-test's validate-modules checks for a module's own argument spec, which it
cannot see for an action."""

from __future__ import annotations

import importlib

import pytest
import yaml
from ansible_collections.agentic.platform.plugins.doc_fragments.kube_auth import ModuleDocFragment

ACTIONS = ["k8s_apply", "k8s_read", "secret_data", "agent_release"]


def documented(module: str) -> dict:
    doc = yaml.safe_load(importlib.import_module(
        f"ansible_collections.agentic.platform.plugins.modules.{module}").DOCUMENTATION)
    options = dict(doc["options"])
    if "agentic.platform.kube_auth" in doc.get("extends_documentation_fragment", []):
        options.update(yaml.safe_load(ModuleDocFragment.DOCUMENTATION)["options"])
    return options


def disagreements(spec: dict, docs: dict, where: str = "") -> list[str]:
    out = [f"{where}{name}: in the argument spec, not documented" for name in spec.keys() - docs.keys()]
    out += [f"{where}{name}: documented, not in the argument spec" for name in docs.keys() - spec.keys()]
    for name in spec.keys() & docs.keys():
        s, d = spec[name], docs[name]
        for key, default in (("type", "str"), ("required", False), ("default", None), ("choices", None),
                             ("elements", None), ("aliases", None)):
            if s.get(key, default) != d.get(key, default):
                out.append(f"{where}{name}.{key}: spec {s.get(key, default)!r}, docs {d.get(key, default)!r}")
        if s.get("options") or d.get("suboptions"):
            out += disagreements(s.get("options") or {}, d.get("suboptions") or {}, f"{where}{name}.")
    return sorted(out)


@pytest.mark.parametrize("module", ACTIONS)
def test_the_documentation_matches_the_actions_argument_spec(module):
    action = importlib.import_module(f"ansible_collections.agentic.platform.plugins.action.{module}").ActionModule
    assert disagreements(action.ARG_SPEC, documented(module)) == []


def test_a_disagreement_is_named():
    spec = {"wait": {"type": "bool", "default": False}, "objects": {"type": "list", "elements": "dict"}}
    docs = {"wait": {"type": "bool", "default": True}, "extra": {"type": "str"}}
    assert disagreements(spec, docs) == ["extra: documented, not in the argument spec",
                                         "objects: in the argument spec, not documented",
                                         "wait.default: spec False, docs True"]

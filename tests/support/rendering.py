"""Render the steps' templates in process, the way the roles do, and check inputs the way the
validate_inputs action does; used by tests/unit/test_rendering_properties.py.

Run as a script (a process of its own: Ansible's collection loader must be set up before anything
imports the collection, which pytest's other tests do plainly):
    python tests/support/rendering.py properties   # JSON: variable -> what is wrong
    python tests/support/rendering.py check JSON   # JSON: what the input checks say of these overrides
    python tests/support/rendering.py render JSON  # JSON: template -> objects, with these overrides

Variables: the role defaults and vars of every step of playbooks/site.yml, the local inventory
(inventories/local), and the facts earlier tasks set, computed here from the inputs (config,
secrets) or faked where a task reads the cluster (gpu_nodes: one node per pool, no taints).
"""

from __future__ import annotations

import base64
import functools
import importlib
import json
import re
import sys
import types
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]

# One value of each kind that could change a YAML document's shape or type if pasted unquoted.
HOSTILE = {
    "newline-key": "x\n  enforce: privileged",
    "newline-item": "x\n- y",
    "colon": "a: b",
    "comment": "a #b",
    "brace": "{a: b}",
    "bracket": "[a",
    "single-quote": "it's",
    "double-quote": 'say "hi"',
    "no": "no",
    "yes": "yes",
    "on": "on",
    "off": "off",
    "null": "null",
    "tilde": "~",
    "octal": "0o17",
    "float": "1e3",
    "indicator": "&a *b !c",
    "shell": "$(id) `id`",
    "long": "a" * 4096,
    "non-ascii": "ünïcødé-日本語",
    "emoji": "agent-😀",
}
# A benign value for a variable whose default is empty (the first one the checks accept), so that
# the comparison is not with a block the template leaves out.
BENIGN_CANDIDATES = ("benign", "standard", "v1.2.3", "30s")


def site_steps() -> list[str]:
    """The steps of playbooks/site.yml, in order (its tasks import one role each)."""
    play = yaml.safe_load((ROOT / "playbooks" / "site.yml").read_text())[0]
    names = [t["ansible.builtin.import_role"]["name"] for t in play["tasks"] if "ansible.builtin.import_role" in t]
    return [n.split(".")[-1] for n in names]


def main_spec(step: str) -> dict:
    path = ROOT / "roles" / step / "meta" / "argument_specs.yml"
    if not path.exists():
        return {}
    return (yaml.safe_load(path.read_text())["argument_specs"].get("main") or {}).get("options") or {}


def string_variables() -> list[tuple[str, str]]:
    """(step, variable) for every option of type str (the default type) of every step's main spec."""
    return [(step, name) for step in site_steps() for name, option in main_spec(step).items()
            if option.get("type", "str") == "str"]


class Renderer:
    def __init__(self):
        from ansible.plugins.loader import init_plugin_loader

        init_plugin_loader([str(ROOT / ".collections")])
        from ansible._internal._datatag._tags import TrustedAsTemplate
        from ansible.parsing.dataloader import DataLoader
        from ansible.template import Templar
        from ansible_collections.agentic.platform.plugins.action import validate_inputs
        from ansible_collections.agentic.platform.plugins.lookup import objects as objects_lookup
        from ansible_collections.agentic.platform.plugins.module_utils.inputs.common import MISSING, plain

        self.trusted, self.Templar, self.MISSING, self.plain = TrustedAsTemplate().tag, Templar, MISSING, plain
        self.parse_objects = functools.partial(yaml.load_all, Loader=objects_lookup.LOADER)
        self.validate_inputs = validate_inputs
        # the action reads each argument spec file per call: once is enough here
        validate_inputs.yaml = types.SimpleNamespace(load=lambda stream, Loader: _cached_yaml(stream))
        self.loader = DataLoader()
        self.steps = site_steps()
        self.template_roles = [s for s in self.steps if (ROOT / "roles" / s / "templates").is_dir()]
        self.specs = {step: main_spec(step) for step in self.steps}
        self.checks = {step: importlib.import_module(
            f"ansible_collections.agentic.platform.plugins.module_utils.inputs.{step}") for step in self.steps}
        self.base, self.sources = self._load()
        self.templates = {f"{role}/{path.name}": (role, path.read_text()) for role in self.template_roles
                          for path in sorted((ROOT / "roles" / role / "templates").glob("*.j2"))}
        self._cache_compiled_templates()

    def _load(self) -> tuple[dict, dict]:
        """The variables, and each derived one's definition as text (for what depends on what)."""
        files = [ROOT / "roles" / "agentic" / d / "main.yml" for d in ("defaults", "vars")]
        for step in self.steps:
            files += [ROOT / "roles" / step / d / "main.yml" for d in ("defaults", "vars")]
        files += sorted((ROOT / "inventories" / "local" / "host_vars" / "local").glob("*.yml"))
        variables: dict = {}
        for path in files:
            if path.exists():
                variables.update(self.loader.load_from_file(str(path), trusted_as_template=True) or {})
        secrets = yaml.safe_load((ROOT / "roles" / "secrets" / "vars" / "main.yml").read_text())
        secret_vars = {**secrets["_secrets_provided"], **secrets["_secrets_makeable"]}
        t = self.trusted
        variables.update({
            "inventory_dir": str(ROOT / "inventories" / "local"),
            "ansible_play_role_names": [f"agentic.platform.{s}" for s in self.steps],
            # what the config and secrets steps' tasks set from the inputs
            "_config_applied_version": t("{{ config_version }}"),
            "_config_data": t("{{ _config_inventory_data | combine(config_extra_data) }}"),
            "config_checksum": t("{{ _config_data | to_json(sort_keys=true) | hash('sha256') }}"),
            "config_snapshot": t("agentic-ai-config-{{ config_checksum[:10] }}"),
            "_secrets_assembled": {"data": {key: t("{{ " + var + " }}") for key, var in secret_vars.items()}},
            "secrets_version": "0123456789abcdef",
        })
        sources = {name: json.dumps(value, default=str) for name, value in variables.items()}
        return variables, sources

    def _cache_compiled_templates(self):
        """The same template text compiles to the same code: compile each once (this process only)."""
        import jinja2

        compile_ = jinja2.Environment.compile
        cache: dict = {}

        def cached(env, source, name=None, filename=None, raw=False, defer_init=False):
            key = (str(source), name, filename, raw, defer_init, env.variable_start_string, env.block_start_string)
            if key not in cache:
                cache[key] = compile_(env, source, name, filename, raw, defer_init)
            return cache[key]

        jinja2.Environment.compile = cached

    def templar(self, overrides: dict, gpu_nodes: bool = False):
        templar = self.Templar(loader=self.loader, variables={**self.base, **overrides})
        if not gpu_nodes:
            return templar
        # what the gpu_nodes step's read of each pool finds: one node, without taints
        pools = templar.template(self.trusted("{{ gpu_nodes_pools }}"))
        found = [{"item": pool, "resources": [{"metadata": {"name": f"gpu-{i}", "resourceVersion": "1"}, "spec": {}}]}
                 for i, pool in enumerate(pools)]
        templar.available_variables = {**templar.available_variables, "_gpu_nodes_found": {"results": found}}
        return templar

    @functools.cache  # noqa: B019 - one Renderer per process
    def dependents(self, variable: str) -> frozenset:
        """The variable and every variable whose definition uses it, transitively."""
        names, grew = {variable}, True
        while grew:
            grew = False
            for name, source in self.sources.items():
                if name not in names and any(re.search(rf"\b{re.escape(n)}\b", source) for n in names):
                    names.add(name)
                    grew = True
        return frozenset(names)

    def problems(self, overrides: dict, steps=None) -> list[str]:
        """What the validate_inputs action reports for the steps: the argument spec, then the checks."""
        templar = self.templar(overrides)
        known = templar.available_variables
        action = types.SimpleNamespace(_templar=templar)
        out: list[str] = []
        for step in steps or self.steps:
            errors = self.validate_inputs.ActionModule._spec_errors(action, step, known)
            if errors:
                out += errors
                continue
            values = {name: self.plain(templar.resolve_variable_expression(name)) if name in known else self.MISSING
                      for name in self.checks[step].VARIABLES}
            out += self.checks[step].check(values)
        return out

    def steps_reading(self, variable: str) -> list[str]:
        names = self.dependents(variable)
        return [s for s in self.steps if names & (set(self.specs[s]) | set(self.checks[s].VARIABLES))]

    def templates_reading(self, variable: str) -> list[str]:
        names = self.dependents(variable)
        return [key for key, (_, text) in self.templates.items()
                if any(re.search(rf"\b{re.escape(n)}\b", text) for n in names)]

    def render(self, overrides: dict, templates=None) -> dict[str, list]:
        """The templates, as the objects the roles would apply."""
        templates = list(templates if templates is not None else self.templates)
        templar = self.templar(overrides, gpu_nodes=any(self.templates[k][0] == "gpu_nodes" for k in templates))
        variables = templar.available_variables
        out = {}
        for key in templates:
            role, text = self.templates[key]
            templar.available_variables = {**variables, "ansible_search_path": [str(ROOT / "roles" / role)]}
            if role == "monitoring":  # its templates use << >> (roles/monitoring/vars/main.yml)
                rendered = templar.template(self.trusted(text), overrides={
                    "variable_start_string": "<<", "variable_end_string": ">>"})
            else:
                rendered = templar.template(self.trusted(text))
            # parsed as the roles' tasks parse it (lookup agentic.platform.objects), as plain data
            # (a template that renders nothing, such as one for another mode, gives None: no object)
            out[key] = json.loads(json.dumps([d for d in self.parse_objects(str(rendered or "")) if d], default=str))
        return out

    @functools.cache  # noqa: B019 - one Renderer per process
    def benign(self, variable: str):
        default = self.templar({}).template(self.base.get(variable, ""))
        if default not in ("", None):
            return default
        steps = self.steps_reading(variable)
        return next((c for c in BENIGN_CANDIDATES if not self.problems({variable: c}, steps)), default)

    @functools.cache  # noqa: B019 - one Renderer per process
    def _default_render(self, key: str) -> list:
        return self.render({}, [key])[key]

    def wrong(self, variable: str) -> list[str]:
        """What is wrong with the hostile values the checks accept for the variable."""
        steps, templates = self.steps_reading(variable), self.templates_reading(variable)
        benign = self.benign(variable)
        if benign == self.templar({}).template(self.base.get(variable, "")):
            baseline = {key: self._default_render(key) for key in templates}
        else:
            baseline = self.render({variable: benign}, templates)
        shapes = {key: [paths(d) for d in docs] for key, docs in baseline.items()}
        out = []
        for case, value in HOSTILE.items():
            if self.problems({variable: value}, steps):
                continue  # refused before any write
            try:
                rendered = self.render({variable: value}, templates)
            except Exception as exc:  # any failure to render is a finding
                out.append(f"{case}: accepted, then rendering failed: {type(exc).__name__}: {str(exc)[:300]}")
                continue
            out += [f"{case}: accepted and changed the shape of {key}" for key, docs in rendered.items()
                    if [paths(d) for d in docs] != shapes[key]]
            if rendered != baseline and not any(value in s for docs in rendered.values() for d in docs
                                                for s in strings(d)):
                out.append(f"{case}: accepted but not rendered verbatim as a string")
        return out


@functools.cache
def _parsed(text: str):
    return yaml.safe_load(text)


def _cached_yaml(stream):
    return _parsed(stream.read() if hasattr(stream, "read") else stream)


def paths(node, prefix=()) -> set[tuple]:
    """Every key path of a document (list items by index)."""
    if isinstance(node, dict):
        return {(*prefix, k) for k in node} | {p for k, v in node.items() for p in paths(v, (*prefix, k))}
    if isinstance(node, list):
        return {p for i, v in enumerate(node) for p in paths(v, (*prefix, i))}
    return set()


def strings(node, kind=None):
    """Every string of a document, keys too; Secret data and CA bundles decoded."""
    if isinstance(node, dict):
        kind = node.get("kind", kind)
        for key, value in node.items():
            yield str(key)
            if isinstance(value, str) and key == "caBundle":
                yield base64.b64decode(value).decode(errors="replace")
            if kind == "Secret" and key == "data" and isinstance(value, dict):
                yield from (base64.b64decode(v).decode(errors="replace") for v in value.values())
            yield from strings(value, kind)
    elif isinstance(node, list):
        for item in node:
            yield from strings(item, kind)
    elif isinstance(node, str):
        yield node


if __name__ == "__main__":
    renderer = Renderer()
    if sys.argv[1] == "properties":
        result = {"accepted_local": renderer.problems({}), "wrong": {}}
        for _, variable in string_variables():
            try:
                result["wrong"][variable] = renderer.wrong(variable)
            except Exception as exc:  # reported per variable
                result["wrong"][variable] = [f"benign value: {type(exc).__name__}: {str(exc)[:300]}"]
    elif sys.argv[1] == "check":
        result = renderer.problems(json.loads(sys.argv[2]))
    else:
        result = renderer.render(json.loads(sys.argv[2]))
    json.dump(result, sys.stdout, default=str)

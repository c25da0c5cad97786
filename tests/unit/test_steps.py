"""One list of steps: site.yml's tasks. The roles, their input checks (plugins/module_utils/inputs/)
and the playbooks that run some of the steps must agree with it; a step added in one place but
not the others is named here (DEVELOPING.md, "Adding a step")."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from ansible_collections.agentic.platform.plugins.action.validate_inputs import known_steps, play_steps

ROOT = Path(__file__).resolve().parents[2]
COLLECTION = "agentic.platform."


def _imports(tasks: list[dict]) -> list[tuple[str, str]]:
    """(role, tasks_from) of each import_role of a task list, in order."""
    out = []
    for task in tasks or []:
        spec = task.get("ansible.builtin.import_role") or task.get("import_role")
        if spec:
            out.append((spec["name"].removeprefix(COLLECTION), spec.get("tasks_from", "main")))
    return out


def _validate_tasks(tasks: list[dict]) -> list[dict]:
    return [t for t in tasks or [] if "agentic.platform.validate_inputs" in t]


def playbook_steps(path: Path) -> dict:
    """What a playbook says about the steps: the roles it converges, in order, the roles whose
    validate_context it runs up front, and the arguments of its validate_inputs tasks."""
    plays = [p for p in yaml.safe_load(path.read_text()) if "hosts" in p]
    assert len(plays) == 1, path
    play = plays[0]
    return {"steps": [role for role, entry in _imports(play.get("tasks")) if entry == "converge"],
            "context": [role for role, entry in _imports(play.get("pre_tasks")) if entry == "validate_context"],
            "validate_args": [t["agentic.platform.validate_inputs"] for t in _validate_tasks(play.get("pre_tasks"))]}


def tree() -> dict:
    """Everything that names a step, read from the checkout."""
    return {
        "site": playbook_steps(ROOT / "playbooks" / "site.yml"),
        "inputs": known_steps(),
        "roles": sorted(p.name for p in (ROOT / "roles").iterdir() if (p / "tasks").is_dir()),
        "other_playbook_roles": sorted({r["role"].removeprefix(COLLECTION)
                                        for p in (ROOT / "playbooks").glob("*.yml") if p.name != "site.yml"
                                        for play in yaml.safe_load(p.read_text()) for r in play.get("roles", [])}),
        "files": {role: sorted(str(p.relative_to(ROOT / "roles" / role)) for p in (ROOT / "roles" / role).rglob("*")
                               if p.is_file()) for role in sorted(p.name for p in (ROOT / "roles").iterdir())},
        "validate": {role: _validate_tasks(yaml.safe_load(f.read_text()))
                     for role in sorted(p.name for p in (ROOT / "roles").iterdir())
                     if (f := ROOT / "roles" / role / "tasks" / "validate.yml").exists()},
        "partial_playbooks": {str(p.relative_to(ROOT)): playbook_steps(p)
                              for p in sorted((ROOT / "tests" / "integration" / "playbooks").glob("*.yml"))},
    }


def disagreements(t: dict) -> list[str]:
    """Where the files disagree with site.yml's list of steps (empty when they all agree)."""
    steps = t["site"]["steps"]
    out = []
    for step in steps:
        files = t["files"].get(step)
        if files is None:
            out.append(f"site.yml converges '{step}' but roles/{step} does not exist")
            continue
        for needed in ("tasks/main.yml", "tasks/validate.yml", "tasks/converge.yml", "meta/argument_specs.yml"):
            if needed not in files:
                out.append(f"roles/{step}/{needed} is missing")
        if step not in t["inputs"]:
            out.append(f"site.yml converges '{step}' but plugins/module_utils/inputs/{step}.py does not exist")
        if [task["agentic.platform.validate_inputs"] for task in t["validate"].get(step, [])] != [{"step": step}]:
            out.append(f"roles/{step}/tasks/validate.yml must check its own inputs (validate_inputs step: {step})")
    for step in t["inputs"]:
        if step not in steps and step not in t["other_playbook_roles"]:
            out.append(f"plugins/module_utils/inputs/{step}.py checks a step site.yml does not converge "
                       "(nor a role of another playbook)")
    for role in t["roles"]:
        if role not in steps and role not in t["other_playbook_roles"]:
            out.append(f"roles/{role} is neither a step of site.yml nor a role of another playbook")
    if t["site"]["validate_args"] != [{}]:
        out.append("site.yml must check every step's inputs in one validate_inputs task without a step list")
    checked = set(play_steps([COLLECTION + s for s in steps + t["site"]["context"]]))
    if checked != set(steps):
        out.append(f"validate_inputs would check {sorted(checked)}, not the steps of site.yml: "
                   f"{sorted(checked ^ set(steps))} differ")
    for name, partial in t["partial_playbooks"].items():
        order = [s for s in steps if s in partial["steps"]]
        if partial["steps"] != order:
            out.append(f"{name} runs {partial['steps']}, not a part of site.yml's steps in their order")
        if partial["validate_args"] != [{}]:
            out.append(f"{name} must check its steps' inputs as site.yml does (validate_inputs without a step)")
        missing = [c for c in t["site"]["context"] if c in partial["steps"] and c not in partial["context"]]
        if missing:
            out.append(f"{name} skips the validate_context of {missing}, which site.yml runs")
    return out


def test_site_yml_roles_inputs_and_test_playbooks_agree():
    assert disagreements(tree()) == []


def test_site_yml_is_the_order_of_the_deployment():
    steps = tree()["site"]["steps"]
    assert steps[0] == "agentic" and steps[-1] == "monitoring"
    assert steps.index("secrets") < steps.index("redis") < steps.index("agent") < steps.index("autoscaling")


def _with_step_in(t: dict, where: str, step: str = "canary") -> dict:
    t = yaml.safe_load(yaml.safe_dump(t))  # a deep copy
    if where == "site":
        t["site"]["steps"].insert(-1, step)
    elif where == "inputs":
        t["inputs"] = sorted([*t["inputs"], step])
    elif where == "role":
        t["roles"].append(step)
        t["files"][step] = ["tasks/main.yml", "tasks/validate.yml", "tasks/converge.yml", "meta/argument_specs.yml"]
        t["validate"][step] = [{"agentic.platform.validate_inputs": {"step": step}}]
    return t


@pytest.mark.parametrize("where", ["site", "inputs", "role"])
def test_a_step_added_in_one_place_only_is_named(where):
    problems = disagreements(_with_step_in(tree(), where))
    assert problems and all("canary" in p for p in problems), problems


def test_a_step_added_everywhere_agrees(monkeypatch):
    t = _with_step_in(_with_step_in(_with_step_in(tree(), "site"), "inputs"), "role")
    monkeypatch.setattr("ansible_collections.agentic.platform.plugins.action.validate_inputs.known_steps",
                        lambda: t["inputs"])
    assert disagreements(t) == []


def test_a_test_playbook_out_of_order_is_named():
    t = tree()
    name = next(iter(t["partial_playbooks"]))
    t["partial_playbooks"][name]["steps"].reverse()
    assert any(name in p for p in disagreements(t))


def test_play_steps_keep_the_collections_steps_once():
    assert play_steps(["agentic.platform.config", "other.col.thing", "agentic.platform.config", "agent"]) == [
        "config", "agent"]

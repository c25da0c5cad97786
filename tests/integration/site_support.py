"""Running site.yml from the tests and the benchmark, and reading what it did.

Every run records the objects its k8s_apply tasks rendered (callback
record_k8s_objects), so that tests and benchmarks can apply the identical objects with kubectl.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PLAYBOOK = ROOT / "playbooks" / "site.yml"
CALLBACKS = ROOT / "tests" / "support" / "callback_plugins"
# Server-populated fields dropped when an object read from the cluster is applied again.
_SERVER_METADATA = ("uid", "resourceVersion", "generation", "creationTimestamp", "managedFields",
                    "selfLink", "deletionTimestamp", "deletionGracePeriodSeconds", "ownerReferences")


@dataclass
class Run:
    rc: int
    stdout: str
    stderr: str
    seconds: float
    objects: list[dict] = field(default_factory=list)
    tasks: list[str] = field(default_factory=list)  # the task that applied each object
    managers: list[str] = field(default_factory=list)  # the field manager each object was applied with

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    @property
    def data(self) -> dict:
        """The ansible.posix.json callback's document (runs made with as_json=True)."""
        return json.loads(self.stdout[self.stdout.index("{"):])

    def stats(self, host: str = "local") -> dict:
        return self.data["stats"][host]

    def task_results(self, host: str = "local") -> dict[str, dict]:
        """Task name -> that host's result (the last one when a name repeats)."""
        out: dict[str, dict] = {}
        for play in self.data["plays"]:
            for task in play["tasks"]:
                if host in task["hosts"]:
                    out[task["task"]["name"]] = task["hosts"][host]
        return out

    def full_objects(self) -> list[dict]:
        """The whole objects, those of the main field manager (the others are partial applies that
        own one field, such as the autoscaled Deployment's replicas)."""
        return [o for o, m in zip(self.objects, self.managers, strict=True) if m == "agentic.platform"]

    def changed_tasks(self, host: str = "local") -> list[str]:
        return [name for name, res in self.task_results(host).items() if res.get("changed")]


def ansible_env(record: Path | None = None, *, as_json: bool = True, extra: dict | None = None) -> dict:
    env = {**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1",
           "ANSIBLE_FORCE_COLOR": "0", "PATH": f"{ROOT / '.venv' / 'bin'}:{os.environ.get('PATH', '')}"}
    if record is not None:
        env.update(ANSIBLE_CALLBACK_PLUGINS=str(CALLBACKS), ANSIBLE_CALLBACKS_ENABLED="record_k8s_objects",
                   AGENTIC_RECORD_OBJECTS=str(record))
    if as_json:
        env["ANSIBLE_STDOUT_CALLBACK"] = "ansible.posix.json"
    env.update(extra or {})
    return env


def run_site(namespace: str | None, *args: str, inventory: str | Path = "inventories/local",
             as_json: bool = True, record: Path | None = None, extra_env: dict | None = None,
             playbook: Path = PLAYBOOK) -> Run:
    if record is not None:
        record.unlink(missing_ok=True)
    cmd = [str(ROOT / ".venv" / "bin" / "ansible-playbook"), str(playbook), "-i", str(inventory), *args]
    if namespace:
        cmd += ["-e", f"agentic_namespace={namespace}"]
    started = time.monotonic()
    res = subprocess.run(cmd, cwd=ROOT, env=ansible_env(record, as_json=as_json, extra=extra_env),
                         capture_output=True, text=True, check=False)
    seconds = time.monotonic() - started
    lines = []
    if record is not None and record.exists():
        lines = [json.loads(line) for line in record.read_text().splitlines() if line.strip()]
    for r in lines:  # a precondition of that run's apply (gpu_nodes' Nodes), not part of the object
        r["object"].get("metadata", {}).pop("resourceVersion", None)
    return Run(res.returncode, res.stdout, res.stderr, seconds,
               [r["object"] for r in lines], [r["task"] for r in lines], [r["field_manager"] for r in lines])


def clean_for_apply(obj: dict) -> dict:
    """An object read from the cluster, as something to apply (no status, no server metadata)."""
    obj = json.loads(json.dumps(obj))
    obj.pop("status", None)
    meta = obj.get("metadata", {})
    for key in _SERVER_METADATA:
        meta.pop(key, None)
    if not meta.get("annotations"):
        meta.pop("annotations", None)
    return obj


def secret_needles(secret: dict) -> set[str]:
    """Every form a Secret's values could leak in: raw, base64, JSON-escaped, PEM body lines."""
    needles: set[str] = set()
    for encoded in (secret.get("data") or {}).values():
        needles.add(encoded)
        value = base64.b64decode(encoded).decode("utf-8", "replace")
        if len(value.strip()) < 6:
            continue
        needles.update({value, value.strip(), json.dumps(value)[1:-1]})
        needles.add(base64.b64encode(value.strip().encode()).decode())
        for line in value.splitlines():
            if len(line) >= 16 and not line.startswith("-----"):
                needles.add(line)
    return {n for n in needles if len(n) >= 6}


def recycle_volumes(kubectl, namespace: str, timeout: float = 120) -> None:
    """Wait for a deleted namespace to go, then make the PVs its claims held Available again.

    The local cluster has a fixed pool of Retain PVs; without this each test run would use one
    up for good.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if kubectl.run("get", "namespace", namespace, check=False).returncode != 0:
            break
        time.sleep(1)
    for pv in kubectl.json("get", "pv")["items"]:
        ref = pv["spec"].get("claimRef") or {}
        if ref.get("namespace") == namespace and pv["status"].get("phase") in ("Released", "Failed"):
            kubectl.run("patch", "pv", pv["metadata"]["name"], "--type=json",
                        "-p", '[{"op":"remove","path":"/spec/claimRef"}]', check=False)


def make_inventory(base: Path, cases: dict[str, dict], source: Path = ROOT / "inventories" / "local") -> Path:
    """An inventory with one host per case: the source region's host_vars plus the case's overrides."""
    (base / "host_vars").mkdir(parents=True, exist_ok=True)
    src_host_vars = next((source / "host_vars").iterdir())
    hosts = {}
    for host, overrides in cases.items():
        hosts[host] = {"ansible_connection": "local", "ansible_python_interpreter": "{{ ansible_playbook_python }}"}
        target = base / "host_vars" / host
        shutil.copytree(src_host_vars, target)
        (target / "zz_case.yml").write_text(json.dumps(overrides))
    if (source / "group_vars").exists():
        shutil.copytree(source / "group_vars", base / "group_vars")
    (base / "hosts.yml").write_text(json.dumps({"agentic_regions": {"hosts": hosts}, "gpu_hosts": {"hosts": {}}}))
    return base


def render_role_template(role: str, template: str, variables: dict, tmp: Path) -> list[dict]:
    """A role's template rendered by Ansible with the defaults and vars of the agentic role, of the
    gpu_nodes role (its published gpu_nodes_scheduling) and of the role."""
    import yaml

    role_dir = ROOT / "roles" / role
    out = tmp / f"{role}-rendered.yml"
    play = [{
        "name": "Render", "hosts": "localhost", "gather_facts": False,
        "vars_files": [str(d / f / "main.yml") for d in (ROOT / "roles/agentic", ROOT / "roles/gpu_nodes", role_dir)
                       for f in ("defaults", "vars") if (d / f / "main.yml").exists()],
        "tasks": [{"name": "Render", "ansible.builtin.copy": {
            "content": "{{ lookup('ansible.builtin.template', '" + str(role_dir / "templates" / template) + "') }}",
            "dest": str(out), "mode": "0600"}}],
    }]
    playbook = tmp / f"render-{role}.yml"
    playbook.write_text(json.dumps(play))
    extra = tmp / f"render-{role}-vars.json"  # extra vars: above the vars files
    extra.write_text(json.dumps(variables))
    res = subprocess.run([str(ROOT / ".venv" / "bin" / "ansible-playbook"), "-i", "localhost,", "-c", "local",
                          "-e", f"@{extra}", str(playbook)], cwd=ROOT, env=ansible_env(as_json=False),
                         capture_output=True, text=True, check=False)
    if res.returncode != 0:
        raise AssertionError(res.stdout + res.stderr)
    return [d for d in yaml.safe_load_all(out.read_text()) if d]

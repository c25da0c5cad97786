"""The execution environment for AWX (execution-environment.yml): `ansible-builder create` renders a
complete build context, no container engine needed (scripts/ee-context.sh, `make ee-context`)."""

from __future__ import annotations

import json
import re
import subprocess
import tarfile
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
CONTEXT = ROOT / "build" / "ee" / "context"


def pins(path: Path) -> dict[str, str]:
    """name (lower case) -> version of the `name==version` lines of a requirements file."""
    out = {}
    for line in path.read_text().splitlines():
        found = re.match(r"^([A-Za-z0-9_.-]+)==([^\s#;]+)", line.strip())
        if found:
            out[found.group(1).lower()] = found.group(2)
    return out


@pytest.fixture(scope="module")
def context() -> Path:
    res = subprocess.run([str(ROOT / "scripts" / "ee-context.sh")], cwd=ROOT, capture_output=True, text=True,
                         check=False)
    assert res.returncode == 0, res.stdout + res.stderr
    return CONTEXT


def test_the_context_is_complete(context):
    build = context / "_build"
    for name in ("requirements.txt", "requirements.yml", "bindep.txt", "scripts/assemble",
                 "scripts/introspect.py", "scripts/install-from-bindep", "scripts/entrypoint"):
        assert (build / name).is_file(), name
    containerfile = (context / "Containerfile").read_text()
    for stage in ("AS base", "AS galaxy", "AS builder", "AS final"):
        assert stage in containerfile
    assert "COPY _build /build" in containerfile and "WORKDIR /build" in containerfile


def test_it_holds_this_collection(context):
    galaxy = yaml.safe_load((context / "_build" / "requirements.yml").read_text())["collections"]
    files = [c["name"] for c in galaxy if c.get("type") == "file"]
    assert files == ["collections/agentic-platform.tar.gz"]
    # the galaxy stage runs in /build, a copy of _build/
    with tarfile.open(context / "_build" / files[0]) as tar:
        manifest = json.load(tar.extractfile("MANIFEST.json"))
        names = tar.getnames()
    assert (manifest["collection_info"]["namespace"], manifest["collection_info"]["name"]) == ("agentic", "platform")
    assert "plugins/action/k8s_apply.py" in names and "playbooks/site.yml" in names
    assert not any(n.startswith((".venv", "localcluster", "benchmarks")) for n in names)


def test_it_holds_the_collections_this_one_depends_on(context):
    galaxy = {c["name"] for c in yaml.safe_load((context / "_build" / "requirements.yml").read_text())["collections"]}
    needed = yaml.safe_load((ROOT / "galaxy.yml").read_text())["dependencies"]
    assert set(needed) <= galaxy


def test_python_and_ansible_are_those_the_tests_run_with(context):
    tested = pins(ROOT / "requirements.txt")
    shipped = pins(context / "_build" / "requirements.txt")
    assert {"pyyaml", "cryptography", "kubernetes", "redis", "jinja2"} <= shipped.keys()
    assert {name: tested.get(name) for name in shipped} == shipped
    containerfile = (context / "Containerfile").read_text()
    assert f"ansible-core=={tested['ansible-core']}" in containerfile
    assert "ansible-runner==" in containerfile  # AWX runs jobs through ansible-runner
    assert 'PYCMD="/usr/bin/python3.11"' in containerfile


def test_system_packages_are_bindep_lines_for_the_rpm_base(context):
    lines = [line for line in (context / "_build" / "bindep.txt").read_text().splitlines() if line.strip()]
    assert lines and all("[platform:rpm" in line for line in lines)
    assert any(line.startswith("python3.11-devel ") for line in lines)  # the interpreter the image runs

"""`ansible-galaxy collection build` produces a tarball that installs and whose modules
ansible-doc renders."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def test_collection_builds_installs_and_documents_every_module(tmp_path):
    build = subprocess.run([BIN / "ansible-galaxy", "collection", "build", "--output-path", tmp_path, ROOT],
                           capture_output=True, text=True, check=False)
    assert build.returncode == 0, build.stderr
    tarball = next(tmp_path.glob("agentic-platform-*.tar.gz"))
    install_dir = tmp_path / "installed"
    # --no-deps: kubernetes.core comes from the `ansible` package here.
    inst = subprocess.run(
        [BIN / "ansible-galaxy", "collection", "install", "--force", "--no-deps", "-p", install_dir, tarball],
        capture_output=True, text=True, check=False)
    assert inst.returncode == 0, inst.stderr
    installed = install_dir / "ansible_collections" / "agentic" / "platform"
    assert (installed / "roles" / "agentic" / "tasks" / "main.yml").exists()
    assert not (installed / "localcluster").exists(), "build_ignore must keep dev tooling out"

    modules = sorted(p.stem for p in (ROOT / "plugins" / "modules").glob("*.py") if p.stem != "__init__")
    runtime = yaml.safe_load((ROOT / "meta" / "runtime.yml").read_text())
    # the group carries the connection defaults: every module that talks to a cluster is in it
    assert sorted(runtime["action_groups"]["platform"]) == [m for m in modules if m != "validate_inputs"]
    cfg = tmp_path / "ansible.cfg"
    cfg.write_text(f"[defaults]\ncollections_path = {install_dir}\n")
    env = {**os.environ, "ANSIBLE_CONFIG": str(cfg)}
    for module in modules:
        doc = subprocess.run([BIN / "ansible-doc", f"agentic.platform.{module}"], capture_output=True,
                             text=True, env=env, check=False)
        assert doc.returncode == 0, doc.stderr
        assert f"agentic.platform.{module}" in doc.stdout
        assert "EXAMPLES" in doc.stdout and "RETURN VALUES" in doc.stdout
        assert "[WARNING]" not in doc.stderr, doc.stderr

"""Shared fixtures: the real local cluster and a kubectl bound to it.

The cluster is started once (or reused if it already runs) and left running for the next
test run; `make cluster-down` stops it.
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / ".collections"))

from localcluster import build, cluster  # noqa: E402


class Kubectl:
    """kubectl against one local cluster; JSON in and out."""

    def __init__(self, name: str):
        self.name = name
        self.kubeconfig = str(cluster.kubeconfig_path(name))
        self.binary = str(build.binary("kubectl"))

    def run(self, *args: str, input_text: str | None = None, check: bool = True) -> subprocess.CompletedProcess:
        res = subprocess.run([self.binary, f"--kubeconfig={self.kubeconfig}", *args],
                             input=input_text, capture_output=True, text=True, check=False)
        if check and res.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed: {res.stderr}")
        return res

    def json(self, *args: str) -> dict:
        return json.loads(self.run(*args, "-o", "json").stdout)

    def apply(self, manifest: dict | str, *extra: str, check: bool = True) -> subprocess.CompletedProcess:
        text = manifest if isinstance(manifest, str) else json.dumps(manifest)
        return self.run("apply", "--server-side", "--field-manager=pytest", *extra, "-f", "-",
                        input_text=text, check=check)


@pytest.fixture(scope="session")
def local_cluster() -> dict:
    """The running local cluster 'local' (started if needed)."""
    build.build_all()
    return cluster.up("local", quiet=True)


@pytest.fixture(scope="session")
def kubectl(local_cluster) -> Kubectl:
    return Kubectl("local")


@pytest.fixture(scope="session")
def real_node(kubectl) -> Kubectl:
    """kubectl on the local cluster, whose real node (localcluster/node.py) runs beside the kwok
    pools; pods land on it with node.NODE_NAME's nodeSelector and toleration."""
    return kubectl


@pytest.fixture
def namespace(kubectl):
    """A fresh namespace, deleted afterwards (without waiting)."""
    name = f"t-{uuid.uuid4().hex[:8]}"
    kubectl.run("create", "namespace", name)
    yield name
    kubectl.run("delete", "namespace", name, "--wait=false", check=False)

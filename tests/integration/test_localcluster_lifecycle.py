"""Start, status, stop of a second local cluster next to the shared one."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from localcluster import cluster

pytestmark = pytest.mark.cluster


@pytest.fixture(scope="module")
def selftest_cluster(local_cluster):
    info = cluster.up("selftest", quiet=True)
    yield info
    cluster.down("selftest", purge=True)


def test_two_clusters_run_side_by_side_with_their_own_context(selftest_cluster, local_cluster):
    assert selftest_cluster["server"] != local_cluster["server"]
    assert selftest_cluster["context"] == "agentic-selftest"
    config = yaml.safe_load(Path(selftest_cluster["kubeconfig"]).read_text())
    assert config["current-context"] == "agentic-selftest"
    for name in ("local", "selftest"):
        nodes = cluster.kubectl(name, "get", "nodes", "-o", "name").split()
        assert len(nodes) == sum(p["count"] for p in cluster.cluster_spec(name)["node_pools"])
    region = cluster.kubectl("selftest", "get", "nodes", "-o",
                             "jsonpath={.items[0].metadata.labels.topology\\.kubernetes\\.io/region}")
    assert region == "selftest-1"


def test_status_then_down_leaves_no_process(selftest_cluster):
    status = cluster.status("selftest")
    pids = {c: p["pid"] for c, p in status["processes"].items()}
    assert all(p["running"] for p in status["processes"].values()), status
    stopped = cluster.down("selftest")
    assert set(stopped) == set(cluster.COMPONENTS)
    for component, pid in pids.items():
        assert not os.path.exists(f"/proc/{pid}") or not cluster._alive(pid), f"{component} ({pid}) still runs"
    assert not any(p["running"] for p in cluster.status("selftest")["processes"].values())
    # Up again reuses the stored state (etcd data, PKI) and comes back Ready.
    again = cluster.up("selftest", quiet=True)
    assert cluster.kubectl("selftest", "get", "nodes", "-o", "name").strip()
    assert again["server"] == selftest_cluster["server"]

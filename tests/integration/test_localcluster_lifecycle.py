"""Start, status, stop of a second local cluster, with its real node, next to the shared one."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import yaml

from localcluster import build, cluster, images, node

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
        assert len(nodes) == sum(p["count"] for p in cluster.cluster_spec(name)["node_pools"]) + 1
        assert f"node/{node.NODE_NAME}" in nodes  # each cluster's own real node, in its own namespace
    region = cluster.kubectl("selftest", "get", "nodes", "-o",
                             "jsonpath={.items[0].metadata.labels.topology\\.kubernetes\\.io/region}")
    assert region == "selftest-1"


def _pod_on_the_real_node() -> None:
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "sleeper", "namespace": "default"},
           "spec": {"nodeSelector": {"kubernetes.io/hostname": node.NODE_NAME},
                    "tolerations": [{**node.TAINT, "operator": "Equal"}], "terminationGracePeriodSeconds": 1,
                    "containers": [{"name": "pause", "image": images.PAUSE_IMAGE, "imagePullPolicy": "Never"}]}}
    cluster.kubectl("selftest", "apply", "-f", "-", input_text=json.dumps(pod))
    cluster.kubectl("selftest", "wait", "--for=condition=Ready", "pod/sleeper", "--timeout=180s")


def test_status_then_down_leaves_no_process_mount_cgroup_or_namespace(selftest_cluster):
    _pod_on_the_real_node()
    d = cluster.cluster_dir("selftest")
    status = cluster.status("selftest")
    pids = {c: p["pid"] for c, p in status["processes"].items()}
    assert all(p["running"] for p in status["processes"].values()), status
    shims = node._shim_pids(d)
    assert shims and node.cni_results("selftest")  # the pod runs, with its network
    stopped = cluster.down("selftest")
    assert set(stopped) == set(cluster.COMPONENTS) | {f"node {c}" for c in node.COMPONENTS}
    for component, pid in [*pids.items(), *(("shim", p) for p in shims)]:
        assert not os.path.exists(f"/proc/{pid}") or not cluster._alive(pid), f"{component} ({pid}) still runs"
    assert not any(p["running"] for p in cluster.status("selftest")["processes"].values())
    assert str(node.node_dir(d)) not in Path("/proc/self/mounts").read_text()
    assert not Path(f"/run/netns/{node.netns('selftest')}").exists()
    assert not [link for link in Path("/var/log/containers").glob("*") if str(d) in os.readlink(link)]
    assert not list(Path("/sys/fs/cgroup").glob(f"*/{node.cgroup_root('selftest').lstrip('/')}"))
    assert node.cni_results("selftest") == []
    # Up again reuses the stored state (etcd data, PKI, images) and brings the pod back.
    again = cluster.up("selftest", quiet=True)
    assert again["server"] == selftest_cluster["server"]
    cluster.kubectl("selftest", "wait", "--for=condition=Ready", "pod/sleeper", "--timeout=180s")


def test_a_new_cluster_serves_every_crd_as_soon_as_up_returns(local_cluster):
    """The first converge on a brand-new cluster lists CRD resources at once: none may still
    answer 429 "storage is (re)initializing"."""
    cluster.down("selftest", purge=True)
    info = cluster.up("selftest", quiet=True)
    crds = [doc for path in build.crd_files() for doc in yaml.safe_load_all(Path(path).read_text())
            if doc and doc.get("kind") == "CustomResourceDefinition"]
    pki = cluster.cluster_dir("selftest") / "pki"
    answers = {path: cluster._get(info["server"] + path, pki, timeout=10)[0]
               for path in cluster.crd_list_paths(crds)}
    assert len(answers) >= len(crds) > 0
    assert {path: code for path, code in answers.items() if code != 200} == {}

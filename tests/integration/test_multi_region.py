"""Three regions converged in one run, one local cluster each (us-east, eu-west, ap-northeast),
with locality failover derived from the inventories.

The clusters are started (or reused) by the fixture and left running. The test converges a
namespace of its own in each cluster and deletes it afterwards.
"""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

import pytest
import scaling_mesh_support
import yaml
from ansible_collections.agentic.platform.plugins.module_utils.failover import failover_rules
from conftest import Kubectl
from scaling_mesh_support import changed_objects, deployment
from site_support import Run, run_site

from localcluster import build, cluster

pytestmark = pytest.mark.cluster

ROOT = Path(__file__).resolve().parents[2]
REGIONS = ["us-east", "eu-west", "ap-northeast"]


def host_vars(region: str, inventory: Path | None = None) -> dict:
    """The region's settings this test reads (Jinja left as text; other steps' files, some of
    them vault-encrypted, are not read)."""
    out: dict = {}
    base = (inventory or ROOT / "inventories" / region) / "host_vars" / region
    for path in (base / "main.yml", base / "autoscaling.yml", base / "mesh.yml"):
        out.update(yaml.safe_load(path.read_text()) or {})
    return out


def converge(namespace: str, *args: str, extra: dict | None = None,
             inventories: list[Path | str] | None = None) -> Run:
    return scaling_mesh_support.converge(namespace, *args, extra=extra,
                                         inventories=inventories or [f"inventories/{r}" for r in REGIONS])


def failures(run: Run) -> dict[str, tuple[str, str]]:
    out = {}
    for play in run.data["plays"]:
        for task in play["tasks"]:
            for host, res in task["hosts"].items():
                if res.get("failed") and host not in out:
                    out[host] = (task["task"]["name"], res.get("msg", ""))
    return out


@pytest.fixture(scope="module")
def clusters() -> dict[str, Kubectl]:
    build.build_all()
    for region in REGIONS:
        cluster.up(region, quiet=True)
    return {region: Kubectl(region) for region in REGIONS}


@pytest.fixture(scope="module")
def converged(clusters):
    """A namespace with the agent Deployment in every region, converged by one run."""
    ns = f"t-mr-{uuid.uuid4().hex[:6]}"
    for kubectl in clusters.values():
        kubectl.run("create", "namespace", ns)
        kubectl.apply(deployment(), "-n", ns)
    run = converge(ns)
    yield ns, run
    for kubectl in clusters.values():
        kubectl.run("delete", "namespace", ns, "--wait=false", check=False)


def test_three_regions_converge_in_one_run(clusters, converged):
    ns, run = converged
    assert run.rc == 0, run.output[-4000:]
    assert sorted(run.data["stats"]) == sorted(REGIONS)
    assert all(s["failures"] == 0 and s["unreachable"] == 0 for s in run.data["stats"].values())

    expected = {"us-east": [{"from": "us-east-1", "to": "eu-west-1"}],
                "eu-west": [{"from": "eu-west-1", "to": "ap-northeast-1"}],
                "ap-northeast": [{"from": "ap-northeast-1", "to": "us-east-1"}]}
    for region, kubectl in clusters.items():
        hv = host_vars(region)
        from_inventory = failover_rules(region, hv["agentic_regions"], hv.get("mesh_failover"),
                                        hv.get("mesh_topology_regions"))
        assert from_inventory == expected[region]
        dr = kubectl.json("-n", ns, "get", "destinationrule", "mcp-agent")["spec"]["trafficPolicy"]
        assert dr["loadBalancer"]["localityLbSetting"]["failover"] == from_inventory
        assert dr["outlierDetection"]["consecutive5xxErrors"] == 5  # failover needs outlier detection
        # The locality names are the real topology labels of that cluster's nodes.
        node_regions = {n["metadata"]["labels"]["topology.kubernetes.io/region"]
                        for n in kubectl.json("get", "nodes")["items"]}
        assert node_regions == {from_inventory[0]["from"]}

        hpa = kubectl.json("-n", ns, "get", "hpa", "mcp-agent")
        assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (
            hv["autoscaling_min_replicas"], hv["autoscaling_max_replicas"])
        able = next(c for c in hpa["status"]["conditions"] if c["type"] == "AbleToScale")
        assert able["status"] == "True"
        assert hpa["metadata"]["labels"]["app.kubernetes.io/instance"] == region


def test_rerun_and_check_mode_change_nothing(converged):
    ns, first = converged
    assert first.rc == 0
    again = converge(ns)
    assert again.rc == 0, again.output[-3000:]
    assert {h: s["changed"] for h, s in again.data["stats"].items()} == dict.fromkeys(REGIONS, 0)
    check = converge(ns, "--check", "--diff")
    assert check.rc == 0, check.output[-3000:]
    assert {h: s["changed"] for h, s in check.data["stats"].items()} == dict.fromkeys(REGIONS, 0)


def test_changing_one_peer_changes_only_that_regions_destination_rule(clusters, converged):
    ns, _ = converged
    run = converge(ns, "--check", "--diff", extra={"mesh_failover": {"us-east": "ap-northeast"}})
    assert run.rc == 0, run.output[-3000:]
    assert {r: changed_objects(run, r) for r in REGIONS} == {
        "us-east": ["DestinationRule/mcp-agent"], "eu-west": [], "ap-northeast": []}
    # The diff shows the new peer; check mode wrote nothing.
    diffs = [diff for play in run.data["plays"] for task in play["tasks"]
             for diff in task["hosts"].get("us-east", {}).get("diff") or []
             if task["hosts"]["us-east"].get("action") == "agentic.platform.k8s_apply"]
    assert len(diffs) == 1, diffs
    assert diffs[0]["after_header"].startswith("DestinationRule ")
    after = yaml.safe_load(diffs[0]["after"])["spec"]["trafficPolicy"]["loadBalancer"]["localityLbSetting"]["failover"]
    assert after == [{"from": "us-east-1", "to": "ap-northeast-1"}]
    stored = clusters["us-east"].json("-n", ns, "get", "destinationrule", "mcp-agent")["spec"]
    assert stored["trafficPolicy"]["loadBalancer"]["localityLbSetting"]["failover"][0]["to"] == "eu-west-1"


def test_unknown_failover_target_stops_every_region_before_writing(clusters, converged):
    ns, _ = converged
    run = converge(ns, extra={"mesh_failover": {"eu-west": "mars"}})
    assert run.rc != 0
    failed = failures(run)
    assert sorted(failed) == sorted(REGIONS)  # us-east and ap-northeast refuse too
    for task, msg in failed.values():
        assert task.endswith("Check mesh_failover and mesh_topology_regions")
        assert "mesh_failover['eu-west'] is 'mars'" in msg and "agentic_regions" in msg
    assert {r: changed_objects(run, r) for r in REGIONS} == {r: [] for r in REGIONS}
    dr = clusters["eu-west"].json("-n", ns, "get", "destinationrule", "mcp-agent")["spec"]
    assert dr["trafficPolicy"]["loadBalancer"]["localityLbSetting"]["failover"][0]["to"] == "ap-northeast-1"


def test_regions_that_disagree_are_refused(tmp_path, converged):
    """eu-west's inventory giving other localities than the others is caught in every region."""
    ns, _ = converged
    odd = tmp_path / "eu-west"
    shutil.copytree(ROOT / "inventories" / "eu-west", odd)
    mesh = odd / "host_vars" / "eu-west" / "mesh.yml"
    values = yaml.safe_load(mesh.read_text())
    values["mesh_topology_regions"]["eu-west"] = "eu-central-1"
    mesh.write_text(yaml.safe_dump(values))
    run = converge(ns, "--check", inventories=["inventories/us-east", odd, "inventories/ap-northeast"])
    assert run.rc != 0
    failed = failures(run)
    assert sorted(failed) == sorted(REGIONS)
    for task, msg in failed.values():
        assert "agree" in task and "mesh_topology_regions" in msg


def test_site_yml_converges_the_three_regions_in_one_run(clusters):
    """The whole deployment (every step of site.yml) on the three region clusters at once, in
    the inventories' own namespace; the second run changes nothing. The region clusters are
    this test's own: their state is left converged for the next run."""
    inventories = [arg for r in REGIONS for arg in ("-i", f"inventories/{r}")]
    first = run_site(None, *inventories[2:], inventory=inventories[1])
    assert first.rc == 0, first.output[-4000:]
    assert all(s["failures"] == 0 for s in first.data["stats"].values())
    again = run_site(None, *inventories[2:], inventory=inventories[1])
    assert again.rc == 0, again.output[-4000:]
    assert {h: s["changed"] for h, s in again.data["stats"].items()} == dict.fromkeys(REGIONS, 0)
    for region, kubectl in clusters.items():
        hv = host_vars(region)
        ns = hv.get("agentic_namespace", "agentic-ai-prod")
        dr = kubectl.json("-n", ns, "get", "destinationrule", "mcp-agent")["spec"]["trafficPolicy"]
        assert dr["loadBalancer"]["localityLbSetting"]["failover"] == failover_rules(
            region, hv["agentic_regions"], hv.get("mesh_failover"), hv.get("mesh_topology_regions"))
        # The HPA scales the agent step's real Deployment, which is within its bounds.
        hpa = kubectl.json("-n", ns, "get", "hpa", "mcp-agent")
        able = next(c for c in hpa["status"]["conditions"] if c["type"] == "AbleToScale")
        assert able["status"] == "True"
        replicas = kubectl.json("-n", ns, "get", "deployment", "mcp-agent")["spec"]["replicas"]
        assert hpa["spec"]["minReplicas"] <= replicas <= hpa["spec"]["maxReplicas"]
        labels = kubectl.json("get", "namespace", ns)["metadata"]["labels"]
        assert labels["istio-injection"] == "enabled"
        assert labels["pod-security.kubernetes.io/enforce"] == "restricted"  # the namespace step's, kept

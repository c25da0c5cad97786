"""playbooks/release.yml over three regions, judged by a real Prometheus scraping real
agentic_runtime processes of two versions per region.

The regions are three namespaces of the local cluster (us-east, eu-west, ap-northeast; one
cluster, not three, to spare the shared machine's memory): their Deployments, Services, PDBs
and Istio objects are what the agent and mesh steps render, strictly applied against the real
Istio CRDs. The kwok pods serve no traffic: a driver (release_support.TrafficDriver, standing in
for Envoy) reads the weights of each region's live VirtualService and splits workflow requests
between a stable (v1.0.0) and a canary (v2.0.0) reference agent process in those proportions.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import uuid

import pytest
from ansible_collections.agentic.platform.plugins.module_utils.kube_client import KubeClient
from ansible_collections.agentic.platform.plugins.module_utils.release import engine
from ansible_collections.agentic.platform.plugins.module_utils.release.analysis import Limits, PrometheusSource
from release_support import STABLE, Prometheus, TrafficDriver, apply_region, assert_settled, live, render_region
from site_support import ROOT, ansible_env, make_inventory, run_site

from tests.monitoring_support import AgentProcess, wait_for

ROOT_PLAYBOOK = "playbooks/release.yml"
REGIONS = ("us-east", "eu-west", "ap-northeast")
NEW = {"version": "v2.0.0", "image": "agent-registry/mcp-agent:v2.0.0"}
INTERVAL_S = 6  # scrapes every second: a window of six
SETTINGS = {"release_version": NEW["version"], "release_image": NEW["image"], "release_steps": [50, 100],
            "release_interval": INTERVAL_S, "release_scrape_interval": 1, "release_min_requests": 20,
            "release_max_inconclusive": 4, "release_checks": ["http_success", "workflow_success", "request_p95"],
            "release_wait_timeout": 120}


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    return render_region(tmp_path_factory.mktemp("release-rendered"))


@pytest.fixture
def client(local_cluster):
    c = KubeClient.from_config(kubeconfig=local_cluster["kubeconfig"])
    yield c
    c.close()


@pytest.fixture
def regions(client, rendered, kubectl, tmp_path):
    """Per region: a namespace with the stable agent and mesh objects, two agent processes (stable
    and canary version) and a traffic driver; one Prometheus scraping all six processes."""
    suffix = uuid.uuid4().hex[:5]
    out = {}
    try:
        for region in REGIONS:
            ns = f"t-rel-{region}-{suffix}"
            kubectl.run("create", "namespace", ns)
            apply_region(client, rendered, ns)
            procs = {v: AgentProcess("--service-version", v, "--workflow-type", "research")
                     for v in (STABLE["version"], NEW["version"])}
            out[region] = {"namespace": ns, "procs": procs, "driver": TrafficDriver(
                client, ns, procs[STABLE["version"]].api_port, procs[NEW["version"]].api_port)}
        prometheus = Prometheus(tmp_path, {r["namespace"]: [p.metrics_port for p in r["procs"].values()]
                                           for r in out.values()})
        wait_for(lambda: prometheus.targets_up() == 6, 90, what="six agent targets up")
        for r in out.values():
            r["driver"].start()
        yield out, prometheus
    finally:
        for r in out.values():
            r["driver"].stop()
            for p in r["procs"].values():
                p.stop()
            kubectl.run("delete", "namespace", r["namespace"], "--wait=false", check=False)
        if "prometheus" in locals():
            prometheus.stop()


def inventory(tmp_path, regions, prometheus) -> str:
    cases = {region: {**SETTINGS, "agentic_region": region, "agentic_regions": list(REGIONS),
                      "agentic_namespace": r["namespace"], "release_prometheus_url": prometheus.url,
                      "release_audit_log": str(tmp_path / "audit.jsonl")}
             for region, r in regions.items()}
    return str(make_inventory(tmp_path / "inventory", cases))


def test_bad_canary_in_the_second_region_is_rolled_back_and_stops_the_third(client, regions, tmp_path):
    regions, prometheus = regions
    regions["eu-west"]["driver"].canary_failure_share = 0.3  # 30 % of the canary's workflows fail
    run = run_site(None, inventory=inventory(tmp_path, regions, prometheus), playbook=ROOT_PLAYBOOK, as_json=False)
    out = run.stdout
    assert run.rc != 0, out[-3000:]

    us, eu, ap = (live(client, regions[r]["namespace"]) for r in REGIONS)
    assert_settled(us, NEW["version"])        # the good canary was promoted
    assert us["state"]["phase"] == "promoted"
    assert_settled(eu, STABLE["version"])     # the bad one rolled back: no weight left on a canary
    assert eu["state"]["phase"] == "rolled-back"
    assert ap["state"] is None                # the barrier: never started, the mesh step's routes untouched
    assert ap["canary"] is None and ap["subsets"] == {} and ap["stable"]["version"] == STABLE["version"]
    assert ap["weights"] == [{"": 100}, {"": 100}]
    assert regions["ap-northeast"]["driver"].sent["canary"] == 0

    # rolled back within two analysis intervals once the canary had its minimum of requests: the
    # first verdicts are at most one inconclusive (too few requests yet), then the failure
    verdicts = eu["state"]["verdicts"]
    assert verdicts[-1]["result"] == "fail" and verdicts[-1]["metric"] == "workflow_success"
    assert len(verdicts) <= 2 and all(v["metric"] == "requests" for v in verdicts[:-1]), verdicts
    # the message names version, step, metric, observed and limit; the report lists every region
    assert "release v2.0.0 rolled back in eu-west at step 1/2 (50% canary)" in out
    assert "workflow_success observed 0." in out and "limit 0.99" in out
    for line in ("us-east: v2.0.0 (promoted)", "eu-west: v1.0.0 (failed)", "ap-northeast: v1.0.0 (not started)"):
        assert line in out, out[-3000:]
    records = [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]
    assert [(r["region"], r["action"]) for r in records] == [("us-east", "promote"), ("eu-west", "rollback")]

    # a second run with the same version: us-east changes nothing, eu-west is tried again
    # (now healthy), ap-northeast released
    regions["eu-west"]["driver"].canary_failure_share = 0.0
    again = run_site(None, inventory=tmp_path / "inventory", playbook=ROOT_PLAYBOOK, as_json=False)
    out = again.stdout
    assert again.rc == 0, out[-3000:]
    for region in REGIONS:
        assert_settled(live(client, regions[region]["namespace"]), NEW["version"])
    assert "us-east: v2.0.0 (unchanged)" in out


@pytest.fixture
def one_region(client, rendered, kubectl, tmp_path):
    """One region (namespace), its stable and canary agent processes, a Prometheus and a driver
    (not started)."""
    ns = f"t-rel-one-{uuid.uuid4().hex[:5]}"
    kubectl.run("create", "namespace", ns)
    procs = [AgentProcess("--service-version", v, "--workflow-type", "research")
             for v in (STABLE["version"], NEW["version"])]
    prometheus = Prometheus(tmp_path, {ns: [p.metrics_port for p in procs]})
    driver = TrafficDriver(client, ns, procs[0].api_port, procs[1].api_port)
    try:
        apply_region(client, rendered, ns)
        wait_for(lambda: prometheus.targets_up() == 2, 90, what="two agent targets up")
        yield ns, prometheus, driver
    finally:
        driver.stop()
        for p in procs:
            p.stop()
        prometheus.stop()
        kubectl.run("delete", "namespace", ns, "--wait=false", check=False)


def engine_release(client, ns, prometheus, **limits):
    limits = Limits(**{"checks": ("http_success", "workflow_success", "request_p95"), "min_requests": 20, **limits})
    spec = engine.ReleaseSpec(namespace=ns, field_manager="agentic-platform", steps=(50, 100), interval_s=INTERVAL_S,
                              max_inconclusive=3, limits=limits, wait_timeout=120, region="local", **NEW)
    return engine.Release(client, spec, PrometheusSource(prometheus.url, ns, "mcp-agent"))


def test_slower_canary_is_rolled_back_on_p95_latency(client, one_region):
    ns, prometheus, driver = one_region
    driver.canary_delay = 0.3  # every canary request takes 300 ms more; stable answers in milliseconds
    driver.start()  # one request at a time: a slow canary also gets fewer requests, hence a lower minimum
    with pytest.raises(engine.ReleaseFailed, match=r"request_p95 observed 0\.[0-9]+ limit 0\.25"):
        engine_release(client, ns, prometheus, max_request_p95=0.25, min_requests=8).run()
    assert_settled(live(client, ns), STABLE["version"])


def test_canary_without_traffic_is_never_promoted(client, one_region):
    ns, prometheus, _ = one_region  # the driver is not started: no request reaches either version
    with pytest.raises(engine.ReleaseFailed, match="inconclusive 3 intervals in a row: requests observed 0"):
        engine_release(client, ns, prometheus).run()
    view = live(client, ns)
    assert_settled(view, STABLE["version"])
    assert [v["result"] for v in view["state"]["verdicts"]] == ["inconclusive"] * 3


def test_playbook_killed_with_sigkill_mid_step_is_finished_by_the_next_run(client, one_region, tmp_path):
    """A REAL kill: ansible-playbook (and its forked worker, one process group) gets SIGKILL once
    the live state ConfigMap shows a step in progress; the next run resumes and ends promoted,
    weights 100/0 and no canary left."""
    ns, prometheus, driver = one_region
    driver.start()
    cases = {"us-east": {**SETTINGS, "agentic_region": "us-east", "agentic_regions": list(REGIONS),
                         "agentic_namespace": ns, "release_prometheus_url": prometheus.url,
                         "release_audit_log": str(tmp_path / "audit.jsonl")}}
    inventory = make_inventory(tmp_path / "inventory", cases)
    log = (tmp_path / "killed-run.log").open("w")
    proc = subprocess.Popen([str(ROOT / ".venv" / "bin" / "ansible-playbook"), ROOT_PLAYBOOK, "-i", str(inventory)],
                            cwd=ROOT, env=ansible_env(as_json=False), stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    try:
        def step_in_progress():
            state = live(client, ns)["state"]
            return state and state["phase"] == "progressing" and state["weight"] is not None
        wait_for(step_in_progress, 240, what="a step in progress in the live release state")
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the group this test started, by its id
        proc.wait(30)
        log.close()
    assert proc.returncode == -signal.SIGKILL
    killed = live(client, ns)
    assert killed["state"]["phase"] == "progressing" and killed["canary"] is not None  # half-way, as killed
    assert all(sum(w.values()) == 100 for w in killed["weights"])

    again = run_site(None, inventory=inventory, playbook=ROOT_PLAYBOOK, as_json=False)
    assert again.rc == 0, again.stdout[-3000:]
    view = live(client, ns)
    assert_settled(view, NEW["version"])
    assert view["state"]["phase"] == "promoted" and "us-east: v2.0.0 (promoted)" in again.stdout
    assert driver.sent["canary"] > 0


@pytest.mark.parametrize("hosts, needle", [
    (("eu-west", "us-east"), "give the inventories in that order (us-east, eu-west), not eu-west, us-east"),
    (("us-east", "mars-1"), "regions mars-1 are not in agentic_regions"),
])
def test_regions_out_of_order_or_unknown_stop_before_any_write(tmp_path, hosts, needle):
    cases = {h: {**SETTINGS, "agentic_region": h, "agentic_regions": list(REGIONS) + (["mars-1"] if h == "mars-1"
                                                                                     else []),
                 "agentic_namespace": f"t-rel-never-{h}", "release_prometheus_url": "http://127.0.0.1:9"}
             for h in hosts}
    run = run_site(None, inventory=make_inventory(tmp_path / "inventory", cases), playbook=ROOT_PLAYBOOK,
                   as_json=False)
    assert run.rc != 0 and needle in run.stdout, run.stdout[-3000:]
    assert "Release the agent as a canary" not in run.stdout  # stopped before the release play


def test_check_mode_prints_the_plan_and_writes_nothing(client, rendered, kubectl, tmp_path):
    ns = f"t-rel-check-{uuid.uuid4().hex[:5]}"
    kubectl.run("create", "namespace", ns)
    try:
        apply_region(client, rendered, ns)
        before = live(client, ns)
        cases = {"us-east": {**SETTINGS, "agentic_region": "us-east", "agentic_regions": list(REGIONS),
                             "agentic_namespace": ns, "release_prometheus_url": "http://127.0.0.1:9"}}
        run = run_site(None, "--check", inventory=make_inventory(tmp_path / "inventory", cases),
                       playbook=ROOT_PLAYBOOK, as_json=False)
        assert run.rc == 0, run.stdout[-3000:]
        assert "canary Deployment mcp-agent-canary running v2.0.0" in run.stdout
        assert "step 2: 100% to the canary" in run.stdout and "us-east: v1.0.0 (planned)" in run.stdout
        assert live(client, ns) == before
    finally:
        kubectl.run("delete", "namespace", ns, "--wait=false", check=False)

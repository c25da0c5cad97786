"""A region's canary release against the real API server of the local cluster (kwok pods) and
the real Istio CRDs it installs (strict server-side apply of every object the release renders).
The analysis here is scripted (each test says what the metrics say); the analysis against a
real Prometheus is test_release_prometheus.py."""

from __future__ import annotations

import json
import uuid

import pytest
from ansible_collections.agentic.platform.plugins.module_utils.kube_apply import Applier
from ansible_collections.agentic.platform.plugins.module_utils.kube_client import KubeClient
from ansible_collections.agentic.platform.plugins.module_utils.release import engine, objects
from ansible_collections.agentic.platform.plugins.module_utils.release.analysis import Limits, Sample
from release_support import STABLE, apply_region, assert_settled, live, render_region

from tests.monitoring_support import wait_for

NEW = {"version": "v2.0.0", "image": "agent-registry/mcp-agent:v2.0.0"}
GOOD = Sample(requests=100, workflows=50, request_p95=0.1)
BAD = Sample(requests=100, workflows=50, workflows_failed=25, request_p95=0.1)
LIMITS = Limits(checks=("http_success", "workflow_success", "request_p95"), min_requests=50)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    return render_region(tmp_path_factory.mktemp("release"))


@pytest.fixture
def client(local_cluster):
    c = KubeClient.from_config(kubeconfig=local_cluster["kubeconfig"])
    yield c
    c.close()


@pytest.fixture
def region(client, rendered, namespace):
    apply_region(client, rendered, namespace)
    return namespace


class Script:
    """The analysis source: one sample per interval from ``samples`` (the last repeats); checks at
    each interval that the live weights sum to 100 and records them."""

    def __init__(self, client, namespace, *samples, during=None):
        self.client, self.namespace, self.samples_left = client, namespace, list(samples)
        self.seen: list[list[dict]] = []
        self.during = during  # called at each interval, the canary beside stable

    def samples(self, versions, window_s):
        view = live(self.client, self.namespace)
        assert all(sum(w.values()) == 100 for w in view["weights"]), view["weights"]
        self.seen.append(view["weights"])
        if self.during:
            self.during()
        sample = self.samples_left.pop(0) if len(self.samples_left) > 1 else self.samples_left[0]
        return sample, GOOD


def spec(namespace, **kw) -> engine.ReleaseSpec:
    base = {"namespace": namespace, "field_manager": "agentic-platform", "steps": (25, 50, 100), "interval_s": 0,
            "max_inconclusive": 3, "limits": LIMITS, "labels": {"app.kubernetes.io/name": "mcp-agent-release"},
            "wait_timeout": 120, "region": "local", **NEW}
    return engine.ReleaseSpec(**{**base, **kw})


def release(client, namespace, source, **kw) -> engine.Release:
    return engine.Release(client, spec(namespace, **kw), source, sleep=lambda s: None)


def test_good_canary_is_promoted_then_a_rerun_changes_nothing(client, region):
    def pdb_counts_both():
        # the agent step's PodDisruptionBudget (name + instance) counts the canary's pod with the
        # stable ones: 2 + 1 expected
        wait_for(lambda: (client.get("policy/v1", "PodDisruptionBudget", "mcp-agent", region) or {})
                 .get("status", {}).get("expectedPods") == 3, 90, what="PDB expecting 3 pods")
    source = Script(client, region, GOOD, during=pdb_counts_both)
    result = release(client, region, source).run()
    assert result["changed"] and result["phase"] == "promoted"
    # every step was held and judged at its weight, canary beside stable
    assert [w[0] for w in source.seen] == [{"stable": 75, "canary": 25}, {"stable": 50, "canary": 50},
                                           {"stable": 0, "canary": 100}]
    view = live(client, region)
    assert_settled(view, NEW["version"])
    assert view["stable"]["image"] == NEW["image"]
    assert view["state"]["phase"] == "promoted"
    again = release(client, region, Script(client, region, BAD)).run()
    assert again["changed"] is False


def test_bad_canary_is_rolled_back_with_event_and_audit(client, region, tmp_path, kubectl):
    audit = tmp_path / "audit.jsonl"
    source = Script(client, region, GOOD, BAD)
    with pytest.raises(engine.ReleaseFailed) as failed:
        release(client, region, source, audit_log=str(audit)).run()
    message = str(failed.value)
    assert "v2.0.0" in message and "step 2/3" in message and "workflow_success" in message
    assert "observed 0.5" in message and "limit 0.99" in message
    view = live(client, region)
    assert_settled(view, STABLE["version"])  # no weight left on the canary, canary gone
    assert view["stable"]["image"] == STABLE["image"]
    assert view["state"]["phase"] == "rolled-back"
    record = json.loads(audit.read_text().splitlines()[-1])
    assert {k: record[k] for k in ("action", "version", "step", "metric", "observed", "limit")} == {
        "action": "rollback", "version": "v2.0.0", "step": 2, "metric": "workflow_success", "observed": 0.5,
        "limit": 0.99}
    events = kubectl.json("-n", region, "get", "events", "--field-selector", "reason=CanaryRolledBack")["items"]
    assert len(events) == 1 and "workflow_success" in events[0]["message"]


def test_canary_without_traffic_is_never_promoted(client, region):
    source = Script(client, region, Sample())
    with pytest.raises(engine.ReleaseFailed, match="inconclusive 3 intervals in a row: requests observed 0"):
        release(client, region, source).run()
    assert len(source.seen) == 3 and all(w[0] == {"stable": 75, "canary": 25} for w in source.seen)
    assert_settled(live(client, region), STABLE["version"])


def test_releasing_the_stable_version_changes_nothing_and_a_new_image_needs_a_new_version(client, region):
    assert release(client, region, None, **STABLE).run()["changed"] is False
    with pytest.raises(engine.ReleaseError, match="already stable with image"):
        release(client, region, None, version=STABLE["version"], image=NEW["image"]).run()
    assert live(client, region)["state"] is None


def test_a_missing_config_snapshot_is_refused_before_any_write(client, region, kubectl):
    with pytest.raises(engine.ReleaseError, match="release_config_snapshot agentic-ai-config-0123456789 does not"):
        release(client, region, None, config_snapshot="agentic-ai-config-0123456789").run()
    assert live(client, region)["state"] is None
    kubectl.run("-n", region, "create", "configmap", "agentic-ai-config-0123456789", "--from-literal=a=b")
    result = release(client, region, Script(client, region, GOOD), config_snapshot="agentic-ai-config-0123456789",
                     model_version="m-2").run()
    assert result["phase"] == "promoted"
    stable = client.get("apps/v1", "Deployment", "mcp-agent", region)
    c = stable["spec"]["template"]["spec"]["containers"][0]
    assert c["envFrom"] == [{"configMapRef": {"name": "agentic-ai-config-0123456789"}}]
    assert {"name": "AGENT_MODEL_VERSION", "value": "m-2"} in c["env"]
    assert stable["spec"]["template"]["metadata"]["labels"]["agentic.platform/model-version"] == "m-2"


def test_site_model_version_is_released_with_the_agent_and_agrees_after_promotion(client, namespace, tmp_path):
    """site.yml's agent step renders agent_model_version as the release does (label and
    environment); a release without a model version keeps the stable one's on its canary; the same
    version with another model is refused; and the agent step re-applied with the promoted values
    in host_vars changes nothing on the Deployment."""
    apply_region(client, render_region(tmp_path, agent_model_version="m-1"), namespace)
    template = client.get("apps/v1", "Deployment", "mcp-agent", namespace)["spec"]["template"]
    env = template["spec"]["containers"][0]["env"]
    assert template["metadata"]["labels"]["agentic.platform/model-version"] == "m-1"
    assert {"name": "AGENT_MODEL_VERSION", "value": "m-1"} in env
    assert {"name": "AGENT_VERSION", "value": "v1.0.0"} in env
    canaries = []

    def canary_release():
        canary = client.get("apps/v1", "Deployment", "mcp-agent-canary", namespace)
        canaries.append(objects.release_of(canary, "mcp-agent"))
        env = canary["spec"]["template"]["spec"]["containers"][0]["env"]
        assert {"name": "AGENT_MODEL_VERSION", "value": "m-1"} in env, env

    source = Script(client, namespace, GOOD, during=canary_release)
    assert release(client, namespace, source, version="v1.5.0", image="agent-registry/mcp-agent:v1.5.0").run()[
        "phase"] == "promoted"
    assert canaries and all(c["model_version"] == "m-1" for c in canaries)
    with pytest.raises(engine.ReleaseError, match="already stable with model version 'm-1', not 'm-2'"):
        release(client, namespace, None, version="v1.5.0", image="agent-registry/mcp-agent:v1.5.0",
                model_version="m-2").run()
    assert release(client, namespace, Script(client, namespace, GOOD), model_version="m-2").run()["phase"] == "promoted"
    promoted = render_region(tmp_path, agent_version=NEW["version"], agent_image=NEW["image"],
                             agent_model_version="m-2")
    results = apply_region(client, promoted, namespace)
    assert [r["changed"] for r in results if r["ref"].startswith("Deployment")] == [False], results


STABLE_HPA = {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "mcp-agent"},
              "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "mcp-agent"},
                       "minReplicas": 2, "maxReplicas": 10, "metrics": [{"type": "Resource", "resource": {
                           "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}}}]}}


@pytest.mark.parametrize("samples, phase", [((GOOD,), "promoted"), ((GOOD, BAD), "rolled-back")])
def test_canary_has_its_own_hpa_created_with_it_and_removed_with_it(client, region, samples, phase):
    """With the agent autoscaled, the canary gets an HPA of its own (the stable one's metrics, from
    release_canary_replicas up to the stable maximum): at the 100 % step it takes all the traffic
    while the stable HPA scales stable down. Gone with the canary; the stable HPA untouched."""
    hpa = Applier(client, "agentic-platform").apply(
        {**STABLE_HPA, "metadata": {"name": "mcp-agent", "namespace": region}})["after"]
    seen = []

    def canary_hpa():
        got = client.get("autoscaling/v2", "HorizontalPodAutoscaler", "mcp-agent-canary", region)
        seen.append(got and (got["spec"]["scaleTargetRef"]["name"], got["spec"]["minReplicas"],
                             got["spec"]["maxReplicas"], got["spec"]["metrics"]))

    source = Script(client, region, *samples, during=canary_hpa)
    try:
        assert release(client, region, source).run()["phase"] == phase
    except engine.ReleaseFailed:
        assert phase == "rolled-back"
    assert seen and all(s == ("mcp-agent-canary", 1, 10, STABLE_HPA["spec"]["metrics"]) for s in seen), seen
    assert client.get("autoscaling/v2", "HorizontalPodAutoscaler", "mcp-agent-canary", region) is None
    after = client.get("autoscaling/v2", "HorizontalPodAutoscaler", "mcp-agent", region)
    assert after["spec"] == hpa["spec"]
    assert_settled(live(client, region), NEW["version"] if phase == "promoted" else STABLE["version"])


def test_check_mode_shows_the_plan_and_writes_nothing(client, region):
    before = live(client, region)
    result = engine.Release(client, spec(region), None, check_mode=True).run()
    assert result["changed"] and result["plan"][0].startswith("canary Deployment mcp-agent-canary running v2.0.0")
    assert [p.split(":")[0] for p in result["plan"][1:4]] == ["step 1", "step 2", "step 3"]
    assert live(client, region) == before


class Killed(BaseException):
    """The run dies here (a BaseException: nothing in the release catches it)."""


def intercept_writes(client, kill_after: int | None = None):
    """Counts the client's writes; with ``kill_after``, the process 'dies' before write
    number ``kill_after + 1`` reaches the API server. Returns (writes, restore)."""
    real, writes = client.call, []

    def call(method, path, *a, **kw):
        if method != "GET":
            if kill_after is not None and len(writes) >= kill_after:
                raise Killed(f"killed before write {len(writes) + 1}")
            writes.append(f"{method} {path}")
        return real(method, path, *a, **kw)
    client.call = call
    return writes, lambda: setattr(client, "call", real)


def run_to_end(client, namespace, samples) -> str:
    try:
        return release(client, namespace, Script(client, namespace, *samples)).run()["phase"]
    except engine.ReleaseFailed:
        return "rolled-back"


@pytest.mark.parametrize("samples", [(GOOD,), (GOOD, GOOD, BAD)], ids=["promoting", "rolling-back"])
def test_killed_before_each_write_the_next_run_ends_promoted_or_rolled_back(client, rendered, kubectl, samples):
    """A run killed before each of its writes in turn (every step: state, canary, subsets, weights,
    verdicts, promotion, rollback); the next run finishes it. Never half-way: afterwards the region
    runs one version with all weight on it, and the state says which."""
    def fresh(suffix: str) -> str:
        ns = f"t-rel-{suffix}-{len(samples)}-{uuid.uuid4().hex[:5]}"
        kubectl.run("create", "namespace", ns)
        apply_region(client, rendered, ns)
        return ns

    ns = fresh("all")  # the writes of a whole run, counted on a run of its own
    writes, restore = intercept_writes(client)
    try:
        whole = run_to_end(client, ns, samples)
    finally:
        restore()
        kubectl.run("delete", "namespace", ns, "--wait=false", check=False)
    assert whole == ("promoted" if len(samples) == 1 else "rolled-back") and len(writes) > 10
    for kill_after in range(len(writes)):
        ns = fresh(str(kill_after))
        try:
            _, restore = intercept_writes(client, kill_after)
            try:
                with pytest.raises(Killed):
                    release(client, ns, Script(client, ns, *samples)).run()
            finally:
                restore()
            assert all(sum(w.values()) == 100 for w in live(client, ns)["weights"])
            phase = run_to_end(client, ns, samples)
            view = live(client, ns)
            assert view["state"]["phase"] == phase, (kill_after, writes[kill_after])
            assert_settled(view, NEW["version"] if phase == "promoted" else STABLE["version"])
        finally:
            kubectl.run("delete", "namespace", ns, "--wait=false", check=False)

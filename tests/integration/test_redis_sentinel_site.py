"""site.yml with redis_mode: sentinel on the local cluster: every object strict-validated by the
API server, a second run changes nothing, the ConfigMap says how to find the primary, and a
switch back to standalone is refused unless redis_mode_switch_allowed (then the Sentinels go).
"""

from __future__ import annotations

import base64
import json
import uuid

import pytest
from site_support import clean_for_apply, recycle_volumes, run_site

pytestmark = pytest.mark.cluster

SENTINEL = ("-e", "redis_mode=sentinel")


@pytest.fixture(scope="module")
def ns(kubectl):
    name = f"sentinel-{uuid.uuid4().hex[:8]}"
    yield name
    kubectl.run("delete", "namespace", name, "--wait=false", check=False)
    recycle_volumes(kubectl, name)


@pytest.fixture(scope="module")
def converged(ns, tmp_path_factory):
    run = run_site(ns, *SENTINEL, record=tmp_path_factory.mktemp("sentinel") / "objects.jsonl")
    assert run.rc == 0, run.output[-6000:]
    return run


def test_sentinel_mode_objects_pass_strict_validation(converged, ns, kubectl):
    objects = [clean_for_apply(o) for o in converged.full_objects()]
    names = {(o["kind"], o["metadata"]["name"]) for o in objects}
    assert {("StatefulSet", "redis"), ("StatefulSet", "redis-sentinel"), ("Service", "redis-sentinel"),
            ("Service", "redis-sentinel-headless"), ("PodDisruptionBudget", "redis"),
            ("PodDisruptionBudget", "redis-sentinel")} <= names
    assert ("Service", "redis") not in names  # it would send data commands to replicas
    res = kubectl.run("apply", "--server-side", "--dry-run=server", "--validate=strict", "--force-conflicts",
                      "--field-manager=agentic.platform", "-f", "-",
                      input_text=json.dumps({"apiVersion": "v1", "kind": "List", "items": objects}), check=False)
    assert res.returncode == 0, res.stderr
    assert "Warning" not in res.stderr, res.stderr
    data = kubectl.json("-n", ns, "get", "statefulset", "redis")
    sentinels = kubectl.json("-n", ns, "get", "statefulset", "redis-sentinel")
    assert data["status"].get("readyReplicas") == 3 and sentinels["status"].get("readyReplicas") == 3
    assert kubectl.json("-n", ns, "get", "pdb", "redis-sentinel")["spec"]["minAvailable"] == 2


def test_no_password_in_the_pod_specs(converged, ns, kubectl):
    secret = kubectl.json("-n", ns, "get", "secret", "agentic-ai-secrets")
    specs = json.dumps([kubectl.json("-n", ns, "get", "statefulset", n)["spec"] for n in ("redis", "redis-sentinel")])
    for key, value in secret["data"].items():
        if key.startswith("redis"):
            assert base64.b64decode(value).decode() not in specs, key


def test_the_configmap_says_how_to_find_the_primary(converged, ns, kubectl):
    data = kubectl.json("-n", ns, "get", "configmap", "agentic-ai-config")["data"]
    assert data["redis.sentinel.enabled"] == "true" and data["redis.sentinel.master_name"] == "agentic"
    assert data["redis.sentinel.addresses"].split(",") == [
        f"redis-sentinel-{i}.redis-sentinel-headless.{ns}.svc.cluster.local:26379" for i in range(3)]
    assert data["redis.host"] == f"redis-sentinel.{ns}.svc.cluster.local" and data["redis.port"] == "26379"


def test_a_second_run_changes_nothing(converged, ns):
    run = run_site(ns, *SENTINEL)
    assert run.rc == 0, run.output[-6000:]
    assert run.stats()["changed"] == 0, run.changed_tasks()


def test_switching_back_to_standalone_is_refused_then_done_with_the_flag(converged, ns, kubectl):
    refused = run_site(ns)
    assert refused.rc != 0
    assert "redis_mode_switch_allowed" in refused.output
    assert kubectl.run("-n", ns, "get", "statefulset", "redis-sentinel", check=False).returncode == 0
    assert kubectl.json("-n", ns, "get", "statefulset", "redis")["spec"]["replicas"] == 3  # nothing written

    switched = run_site(ns, "-e", "redis_mode_switch_allowed=true")
    assert switched.rc == 0, switched.output[-6000:]
    assert kubectl.run("-n", ns, "get", "statefulset", "redis-sentinel", check=False).returncode != 0
    assert kubectl.json("-n", ns, "get", "statefulset", "redis")["spec"]["replicas"] == 1
    assert kubectl.json("-n", ns, "get", "service", "redis")["spec"]["ports"][0]["port"] == 6379
    data = kubectl.json("-n", ns, "get", "configmap", "agentic-ai-config")["data"]
    assert data["redis.sentinel.enabled"] == "false" and data["redis.host"] == f"redis.{ns}.svc.cluster.local"

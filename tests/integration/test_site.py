"""issue 3, "Done means": site.yml converges a region of the real local cluster, and keeps it.

One fresh namespace for the module; the playbook runs are few and shared (module fixtures):
converge (-vvv), re-run, check/diff, drift check/diff, drift repair, and one run with one
inventory host per malformed inventory.
"""

from __future__ import annotations

import json
import uuid

import pytest
import yaml
from site_support import ROOT, Run, clean_for_apply, make_inventory, recycle_volumes, run_site, secret_needles

pytestmark = pytest.mark.cluster

AGENT_SA = "mcp-agent"
RUNS: list[Run] = []  # every playbook run of this module, for the secret-leak test


@pytest.fixture(scope="module")
def ns(kubectl):
    name = f"site-{uuid.uuid4().hex[:8]}"
    yield name
    kubectl.run("delete", "namespace", name, "--wait=false", check=False)
    recycle_volumes(kubectl, name)


@pytest.fixture(scope="module")
def converged(ns, tmp_path_factory) -> Run:
    """The first converge of the region, verbose (-vvv), recording the rendered objects."""
    record = tmp_path_factory.mktemp("site") / "objects.jsonl"
    run = run_site(ns, "-vvv", as_json=False, record=record)
    RUNS.append(run)
    assert run.rc == 0, run.output[-6000:]
    return run


@pytest.fixture(scope="module")
def rerun(converged, ns) -> Run:
    run = run_site(ns)
    RUNS.append(run)
    assert run.rc == 0, run.output[-6000:]
    return run


@pytest.fixture(scope="module")
def check_diff(rerun, ns) -> Run:
    run = run_site(ns, "--check", "--diff")
    RUNS.append(run)
    assert run.rc == 0, run.output[-6000:]
    return run


def _objects(converged: Run, kind: str) -> list[dict]:
    return [o for o in converged.objects if o["kind"] == kind]


@pytest.fixture(scope="module")
def drift(check_diff, converged, ns, kubectl) -> dict:
    """Delete a NetworkPolicy, scale the Deployment by hand, edit the ConfigMap; then a
    check/diff run (must show it and change nothing) and a real run (must repair it).

    site.yml runs the autoscaling step, so the replicas are the HPA's: a run never resets them
    (the hand scaling goes to 3, inside the HPA's bounds of 2..4 in the local inventory; below
    its minimum the HPA itself would undo it). A last run with agent_autoscaled=false, where
    the inventory owns the replicas, must revert the hand scaling to agent_replicas."""
    policy = _objects(converged, "NetworkPolicy")[-1]["metadata"]["name"]
    config = next(o for o in _objects(converged, "ConfigMap") if o["metadata"]["name"] == "agentic-ai-config")
    key = "audit.log_level" if "audit.log_level" in config["data"] else sorted(config["data"])[0]
    kubectl.run("-n", ns, "delete", "networkpolicy", policy)
    kubectl.run("-n", ns, "scale", "deploy/mcp-agent", "--replicas=3")
    kubectl.run("-n", ns, "patch", "configmap", "agentic-ai-config", "--type=merge",
                "-p", json.dumps({"data": {key: "tampered"}}))
    check = run_site(ns, "--check", "--diff")
    RUNS.append(check)
    after_check = {
        "policy": kubectl.run("-n", ns, "get", "networkpolicy", policy, check=False).returncode == 0,
        "replicas": kubectl.json("-n", ns, "get", "deploy", "mcp-agent")["spec"]["replicas"],
        "value": kubectl.json("-n", ns, "get", "configmap", "agentic-ai-config")["data"][key],
    }
    repair = run_site(ns)
    RUNS.append(repair)
    after_repair = kubectl.json("-n", ns, "get", "deploy", "mcp-agent", "--show-managed-fields")
    owned = run_site(ns, "-e", "agent_autoscaled=false")
    RUNS.append(owned)
    return {"policy": policy, "key": key, "expected": config["data"][key], "check": check,
            "after_check": after_check, "repair": repair, "after_repair": after_repair, "owned": owned}


# --- converge, idempotence, check mode -------------------------------------------------------

def test_site_converges_the_region(converged, ns, kubectl):
    deploy = kubectl.json("-n", ns, "get", "deploy", "mcp-agent")
    assert deploy["status"].get("availableReplicas") == deploy["spec"]["replicas"] == 2  # local inventory
    sts = kubectl.json("-n", ns, "get", "statefulset", "redis")
    assert sts["status"].get("readyReplicas") == 1
    pvc = kubectl.json("-n", ns, "get", "pvc", "data-redis-0")
    assert pvc["status"]["phase"] == "Bound"
    kinds = {o["kind"] for o in converged.objects}
    assert {"Namespace", "ConfigMap", "Service", "StatefulSet", "Deployment", "PodDisruptionBudget"} <= kinds


def test_second_run_changes_nothing(rerun):
    assert rerun.stats()["changed"] == 0, rerun.changed_tasks()
    assert rerun.stats()["failures"] == 0


def test_check_diff_on_converged_region_reports_no_change(check_diff):
    assert check_diff.stats()["changed"] == 0, check_diff.changed_tasks()


# --- what the API server thinks of the objects ---------------------------------------------

def test_every_object_passes_strict_server_side_validation(converged, ns, kubectl):
    secrets = [clean_for_apply(s) for s in kubectl.json("-n", ns, "get", "secrets")["items"]
               if s["metadata"].get("labels", {}).get("app.kubernetes.io/managed-by") == "agentic.platform"]
    assert secrets, "the secrets step applied no Secret"
    objects = converged.full_objects() + secrets
    assert len(objects) >= 20
    res = kubectl.run("apply", "--server-side", "--dry-run=server", "--validate=strict", "--force-conflicts",
                      "--field-manager=agentic.platform", "-f", "-",
                      input_text=json.dumps({"apiVersion": "v1", "kind": "List", "items": objects}), check=False)
    assert res.returncode == 0, res.stderr
    assert "Warning" not in res.stderr, res.stderr


def test_every_object_carries_the_standard_labels(converged, ns):
    """Every object of the core stack (issue 3: namespace, config, secrets, redis, agent)."""
    wanted = {"app.kubernetes.io/" + k for k in ("name", "instance", "version", "component", "part-of", "managed-by")}
    steps = tuple(f"agentic.platform.{r} :" for r in ("namespace", "config", "secrets", "redis", "agent"))
    core = [o for o, task, manager in zip(converged.objects, converged.tasks, converged.managers, strict=True)
            if task.startswith(steps) and manager == "agentic.platform"]
    assert len(core) >= 20
    for obj in core:
        labels = obj["metadata"].get("labels", {})
        assert wanted <= labels.keys(), f"{obj['kind']}/{obj['metadata']['name']} lacks {wanted - labels.keys()}"
        assert labels["app.kubernetes.io/managed-by"] == "agentic.platform"


def test_restricted_pod_security_admits_every_pod(converged, ns, kubectl):
    labels = kubectl.json("get", "namespace", ns)["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"
    pods = kubectl.json("-n", ns, "get", "pods")["items"]
    names = {p["metadata"]["name"] for p in pods}
    assert "redis-0" in names
    assert sum(p["metadata"]["labels"].get("app.kubernetes.io/name") == "mcp-agent" for p in pods) == 2
    events = kubectl.json("-n", ns, "get", "events")["items"]
    failed = [e["message"] for e in events if e.get("reason") == "FailedCreate"]
    assert not failed, failed
    for pod in pods:  # what restricted demands, on what the API server stored
        spec = pod["spec"]
        assert spec["securityContext"]["runAsNonRoot"] is True
        assert spec["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
        for c in spec["containers"] + spec.get("initContainers", []):
            assert c["securityContext"]["allowPrivilegeEscalation"] is False
            assert c["securityContext"]["capabilities"]["drop"] == ["ALL"]


def test_secrets_are_files_not_environment(converged, ns, kubectl):
    deploy = kubectl.json("-n", ns, "get", "deploy", "mcp-agent")
    spec = deploy["spec"]["template"]["spec"]
    container = spec["containers"][0]
    assert not any("secretKeyRef" in json.dumps(e) for e in container.get("env", []))
    assert not any("secretRef" in e for e in container.get("envFrom", []))
    mount = next(m for m in container["volumeMounts"] if m["mountPath"] == "/etc/agentic/secrets")
    volume = next(v for v in spec["volumes"] if v["name"] == mount["name"])
    required, optional = (s["secret"] for s in volume["projected"]["sources"])
    keys = {i["key"] for i in required["items"]}
    assert "redis-password" in keys and "redis-admin-password" not in keys
    assert optional["optional"] is True and "redis-admin-password" not in {i["key"] for i in optional["items"]}
    secret = kubectl.json("-n", ns, "get", "secret", required["name"])
    assert keys <= secret["data"].keys(), keys - secret["data"].keys()
    annotations = deploy["spec"]["template"]["metadata"]["annotations"]
    assert annotations["agentic.platform/config-checksum"]
    assert annotations["agentic.platform/secrets-version"]
    assert annotations["prometheus.io/port"] == "9090"


def test_agent_account_is_least_privilege(converged, ns, kubectl):
    who = f"--as=system:serviceaccount:{ns}:{AGENT_SA}"

    def can(*args):
        return kubectl.run("auth", "can-i", *args, "-n", ns, who, check=False).stdout.strip()

    assert can("list", "secrets") == "no"
    assert can("watch", "secrets") == "no"
    assert can("get", "secret/redis-admin-only") == "no"
    for verb, what in (("create", "deployments"), ("patch", "configmaps"), ("delete", "pods"),
                       ("update", "secrets"), ("create", "pods")):
        assert can(verb, what) == "no", (verb, what)


# --- drift ---------------------------------------------------------------------------------

def test_drift_is_shown_by_check_diff_without_touching_it(drift):
    check = drift["check"]
    assert check.rc == 0, check.output[-4000:]
    changed = check.changed_tasks()
    for step in ("namespace", "config"):
        assert any(t.startswith(f"agentic.platform.{step} : Apply") for t in changed), (step, changed)
    # The replicas are the autoscaler's: the hand scaling is no drift of ours.
    assert not any(t.startswith("agentic.platform.agent") for t in changed), changed
    results = check.task_results()

    def shown(step: str) -> str:
        return json.dumps([r for t, r in results.items() if t.startswith(f"agentic.platform.{step} : Apply")])

    assert drift["policy"] in shown("namespace")
    assert "tampered" in shown("config")
    assert drift["after_check"] == {"policy": False, "replicas": 3, "value": "tampered"}


def test_drift_is_repaired_by_the_next_run(drift, ns, kubectl):
    assert drift["repair"].rc == 0, drift["repair"].output[-4000:]
    kubectl.run("-n", ns, "get", "networkpolicy", drift["policy"])
    value = kubectl.json("-n", ns, "get", "configmap", "agentic-ai-config")["data"][drift["key"]]
    assert value == drift["expected"]
    # The autoscaler's replicas are left alone, and our field manager owns none of them.
    deploy = drift["after_repair"]
    assert deploy["spec"]["replicas"] == 3
    owners = {m["manager"] for m in deploy["metadata"]["managedFields"]
              if '"f:replicas"' in json.dumps(m.get("fieldsV1", {}).get("f:spec", {}))}
    assert "agentic.platform" not in owners, owners


def test_hand_scaling_is_reverted_where_the_inventory_owns_the_replicas(drift, ns, kubectl):
    assert drift["owned"].rc == 0, drift["owned"].output[-4000:]
    assert "agentic.platform.agent : Apply the agent (Deployment, Service, PodDisruptionBudget) and wait until it is " \
           "available" in drift["owned"].changed_tasks()
    assert kubectl.json("-n", ns, "get", "deploy", "mcp-agent")["spec"]["replicas"] == 2  # agent_replicas


# --- no secret in the output ---------------------------------------------------------------

def test_no_secret_value_in_any_output(drift, ns, kubectl):
    """-vvv converge plus every later run: no value of the Secret, in any encoding."""
    # a -vvv run is among them (its inventory line: no task opens a connection, every step runs in the controller)
    assert any("inventory source with" in r.output for r in RUNS)
    secrets = [s for s in kubectl.json("-n", ns, "get", "secrets")["items"] if s.get("data")]
    needles = set().union(*(secret_needles(s) for s in secrets))
    assert len(needles) >= 10
    text = "\n".join(r.output for r in RUNS)
    leaked = sorted(n[:6] + "..." for n in needles if n in text)
    assert not leaked, f"secret values found in playbook output (prefixes): {leaked}"


# --- malformed inventories -----------------------------------------------------------------

# case id -> (host_vars overrides, the variable the error must name)
MALFORMED = {
    "unknown-region": ({"agentic_region": "mars-1"}, "agentic_region"),
    "environment-choice": ({"agentic_environment": "prod"}, "agentic_environment"),
    "timeout-type": ({"agentic_wait_timeout": "soon"}, "agentic_wait_timeout"),
    "replicas-type": ({"agent_replicas": "three"}, "agent_replicas"),
    "replicas-negative": ({"agent_replicas": -2}, "agent_replicas"),
    "replicas-absurd": ({"agent_replicas": 100000}, "agent_replicas"),
    "pdb-not-below-replicas": ({"agent_replicas": 2, "agent_pdb_min_available": 2}, "agent_pdb_min_available"),
    "image-malformed": ({"agent_image": "Agent Registry/mcp agent:v1"}, "agent_image"),
    "image-latest": ({"agent_image": "registry.example.com/mcp-agent:latest"}, "agent_image"),
    "redis-image-digest": ({"redis_image": "redis@sha256:1234"}, "redis_image"),
    "gpu-absurd": ({"agent_gpu_count": 64}, "agent_gpu_count"),
    "resources-not-quantity": ({"agent_resources": {"requests": {"cpu": "lots", "memory": "1Gi"},
                                                    "limits": {"cpu": "1", "memory": "1Gi"}}}, "agent_resources"),
    "storage-negative": ({"redis_storage_size": "-5Gi"}, "redis_storage_size"),
    "storage-absurd": ({"redis_storage_size": "500Ti"}, "redis_storage_size"),
    "storage-type": ({"redis_resources": "big"}, "redis_resources"),
    "quota-negative": ({"namespace_quota_hard": {"requests.cpu": "-5", "limits.cpu": "10"}}, "namespace_quota_hard"),
    "quota-absurd": ({"namespace_quota_hard": {"requests.memory": "1e20", "limits.memory": "2e20"}},
                     "namespace_quota_hard"),
    "zone-spread-choice": ({"agent_zone_spread": "Sometimes"}, "agent_zone_spread"),
    "maxmemory-percent": ({"redis_maxmemory_percent": 150}, "redis_maxmemory_percent"),
    "agent-gets-admin-password": ({"agent_secret_keys": ["redis-password", "redis-admin-password"]},
                                  "agent_secret_keys"),
    "config-port": ({"config_redis_port": 70000}, "config_redis_port"),
    "secret-missing": ({"secrets_openai_api_key": ""}, "secrets_openai_api_key"),
    # issue 11 items 15-16: one case per class of input the checks used to let through
    "pod-security-version-newline": ({"namespace_pod_security_version": "latest\n  enforce: privileged"},
                                     "namespace_pod_security_version"),
    "str-given-a-list": ({"monitoring_dashboard_folder": ["Agentic"]}, "monitoring_dashboard_folder"),
    "cidr-except-outside": ({"namespace_agent_egress_cidrs": [{"cidr": "10.0.0.0/8", "except": ["192.168.0.0/16"]}]},
                            "namespace_agent_egress_cidrs"),
    "peer-no-selector": ({"namespace_agent_api_peers": [{}]}, "namespace_agent_api_peers"),
    "toleration-exists-with-value": ({"agent_tolerations": [{"key": "dedicated", "operator": "Exists",
                                                              "value": "gpu"}]}, "agent_tolerations"),
    "zone-empty": ({"agent_zones": [""]}, "agent_zones"),
    "secret-key-not-a-file-name": ({"agent_secret_keys": ["redis-password", ".."]}, "agent_secret_keys"),
    "quota-cannot-admit-stack": ({"namespace_quota_hard": {"requests.cpu": "1", "limits.cpu": "2"}},
                                 "namespace_quota_hard"),
    "request-above-limit": ({"redis_resources": {"requests": {"cpu": "2", "memory": "256Mi"},
                                                 "limits": {"cpu": "1", "memory": "512Mi"}}}, "redis_resources"),
    "leaf-outlives-ca": ({"secrets_tls_validity_days": 3650, "secrets_ca_validity_days": 365},
                         "secrets_tls_validity_days"),
    "redis-user-not-the-agents": ({"redis_agent_user": "agents"}, "redis_agent_user"),
    "redis-acl-all-commands": ({"redis_agent_acl": "~* &* +@all"}, "redis_agent_acl"),
    "redis-config-replicaof": ({"redis_extra_config": {"replicaof": "attacker.example 6379"}}, "redis_extra_config"),
    "retries-absurd": ({"mesh_retry_attempts": 1000}, "mesh_retry_attempts"),
    "timeout-zero": ({"mesh_timeout": "0s"}, "mesh_timeout"),
    "trust-domain-empty": ({"mesh_trust_domain": ""}, "mesh_trust_domain"),
    "route-prefix-space": ({"mesh_api_prefix": "/api v1"}, "mesh_api_prefix"),
    "ca-bundle-not-pem": ({"autoscaling_adapter_register_apiservice": True,
                           "autoscaling_adapter_ca_bundle": "not a certificate"}, "autoscaling_adapter_ca_bundle"),
}


@pytest.fixture(scope="module")
def malformed(kubectl, tmp_path_factory) -> dict:
    """One playbook run, one inventory host per malformed inventory (each its own namespace)."""
    prefix = f"bad-{uuid.uuid4().hex[:6]}"
    cases = {case: {**overrides, "agentic_namespace": f"{prefix}-{i:02d}"}
             for i, (case, (overrides, _)) in enumerate(MALFORMED.items())}
    inventory = make_inventory(tmp_path_factory.mktemp("malformed"), cases)
    run = run_site(None, inventory=inventory)
    RUNS.append(run)
    namespaces = {n["metadata"]["name"] for n in kubectl.json("get", "namespaces")["items"]}
    yield {"run": run, "cases": cases, "namespaces": namespaces}
    for case in cases.values():
        if case["agentic_namespace"] in namespaces:
            kubectl.run("delete", "namespace", case["agentic_namespace"], "--wait=false", check=False)


def test_enough_malformed_inventories():
    assert len(MALFORMED) >= 15


@pytest.mark.parametrize("case", list(MALFORMED))
def test_malformed_inventory_fails_before_any_write(malformed, case):
    run: Run = malformed["run"]
    variable = MALFORMED[case][1]
    assert run.rc != 0
    assert run.stats(case)["failures"] >= 1, f"{case} did not fail"
    failed = [json.dumps(r) for r in run.task_results(case).values() if r.get("failed")]
    assert failed, f"{case}: no failed task"
    assert variable in failed[0], f"{case}: the error does not name {variable}: {failed[0][:1500]}"
    assert malformed["cases"][case]["agentic_namespace"] not in malformed["namespaces"], \
        f"{case}: the namespace was created before the input was rejected"
    writes = [name for name, r in run.task_results(case).items()
              if r.get("changed") or ("Apply" in name and not r.get("skipped") and "failed" not in r)]
    assert not writes, f"{case}: tasks wrote before the failure: {writes}"


def test_region_inventories_differ_where_regions_differ():
    regions = {}
    for region in ("local", "us-east", "eu-west", "ap-northeast"):
        path = ROOT / "inventories" / region / "host_vars" / region / "main.yml"
        regions[region] = yaml.safe_load(path.read_text())
    for key in ("agentic_context", "agentic_kubeconfig", "agent_replicas", "agent_zones"):
        values = [json.dumps(regions[r].get(key)) for r in regions]
        assert len(set(values)) == len(values), f"{key} is the same in two regions"
    for data in regions.values():
        assert data["agent_pdb_min_available"] < data["agent_replicas"]

"""The namespace, config and secrets steps against the real local cluster.

One fresh namespace for the module; the playbook runs are few and shared (module fixtures):
converge (-vvv, recording the rendered objects), re-run, check/diff, drift check + repair,
config change + rollback, one run with one inventory host per malformed input, and the
GitOps (SealedSecret) mode in a namespace of its own.
"""

from __future__ import annotations

import base64
import datetime
import json
import uuid
from pathlib import Path

import pytest
import yaml
from site_support import ROOT, Run, clean_for_apply, make_inventory, run_site, secret_needles

pytestmark = pytest.mark.cluster

PLAYBOOK = ROOT / "tests" / "integration" / "playbooks" / "namespace_config_secrets.yml"
SECRET = "agentic-ai-secrets"
CONFIG = "agentic-ai-config"
GENERATED = ["redis-password", "redis-admin-password", "redis-replication-password", "redis-sentinel-password",
             "jwt-private-key", "jwt-public-key", "tls.crt", "tls.key", "ca.crt"]
PROVIDED = ["openai-api-key", "anthropic-api-key", "azure-openai-key", "postgres-username", "postgres-password",
            "aws-access-key-id", "aws-secret-access-key", "gcp-service-account"]
RUNS: list[Run] = []


def run(namespace: str | None, *args: str, **kw) -> Run:
    result = run_site(namespace, *args, playbook=PLAYBOOK, **kw)
    RUNS.append(result)
    return result


def secret_values(kubectl, ns: str) -> dict[str, str]:
    data = kubectl.json("-n", ns, "get", "secret", SECRET)["data"]
    return {key: base64.b64decode(value).decode() for key, value in data.items()}


def restricted_pod(name: str, resources: dict | None = None, **spec) -> dict:
    container = {
        "name": "c", "image": "registry.example/app:1.0",
        "securityContext": {"allowPrivilegeEscalation": False, "runAsNonRoot": True, "runAsUser": 1000,
                            "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"}},
    }
    if resources:
        container["resources"] = resources
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"containers": [container], **spec}}


@pytest.fixture(scope="module")
def ns(kubectl):
    name = f"ncs-{uuid.uuid4().hex[:8]}"
    yield name
    kubectl.run("delete", "namespace", name, "--wait=false", check=False)


@pytest.fixture(scope="module")
def converged(ns, tmp_path_factory, kubectl) -> dict:
    """First converge (-vvv, recording the rendered objects), a re-run and a check/diff run."""
    record = tmp_path_factory.mktemp("ncs") / "objects.jsonl"
    first = run(ns, "-vvv", as_json=False, record=record)
    assert first.rc == 0, first.output[-6000:]
    values = secret_values(kubectl, ns)
    second = run(ns)
    assert second.rc == 0, second.output[-4000:]
    check = run(ns, "--check", "--diff")
    assert check.rc == 0, check.output[-4000:]
    return {"first": first, "second": second, "check": check, "values": values}


def test_namespace_has_governance_labels_and_restricted_pss(converged, ns, kubectl):
    labels = kubectl.json("get", "namespace", ns)["metadata"]["labels"]
    assert labels["compliance"] == "gdpr-hipaa"
    assert labels["cost-center"] == "ai-operations"
    assert labels["owner"] == "ai-platform-team"
    assert labels["environment"] == "development"  # inventories/local
    for mode in ("enforce", "audit", "warn"):
        assert labels[f"pod-security.kubernetes.io/{mode}"] == "restricted"
    annotations = kubectl.json("get", "namespace", ns)["metadata"].get("annotations") or {}
    assert "scheduler.alpha.kubernetes.io/node-selector" not in annotations


def test_objects_exist_with_standard_labels(converged, ns, kubectl):
    kinds = {"resourcequota": ["agentic-ai-quota"], "limitrange": ["agentic-ai-limits"],
             "serviceaccount": ["mcp-agent", "redis"], "role": ["mcp-agent"], "rolebinding": ["mcp-agent"],
             "networkpolicy": ["default-deny-all", "allow-dns-egress", "agent-egress", "agent-ingress-api",
                               "agent-ingress-metrics", "redis-ingress-from-agent"],
             "configmap": [CONFIG], "secret": [SECRET]}
    for kind, names in kinds.items():
        for name in names:
            meta = kubectl.json("-n", ns, "get", kind, name)["metadata"]
            labels = meta["labels"]
            for key in ("name", "instance", "version", "component", "part-of"):
                assert labels.get(f"app.kubernetes.io/{key}"), (kind, name, key)
            assert labels["app.kubernetes.io/managed-by"] == "agentic.platform"
            assert "kubectl.kubernetes.io/last-applied-configuration" not in (meta.get("annotations") or {})
    for name in ("mcp-agent", "redis"):
        assert kubectl.json("-n", ns, "get", "serviceaccount", name)["automountServiceAccountToken"] is False
    quota = kubectl.json("-n", ns, "get", "resourcequota", "agentic-ai-quota")["spec"]["hard"]
    assert quota == {"requests.cpu": "100", "requests.memory": "400Gi", "requests.nvidia.com/gpu": "20",
                     "limits.cpu": "200", "limits.memory": "800Gi", "persistentvolumeclaims": "50",
                     "services.loadbalancers": "5"}


def test_config_map_has_every_key_group_and_version(converged, ns, kubectl):
    cm = kubectl.json("-n", ns, "get", "configmap", CONFIG)
    assert cm["metadata"]["labels"]["config-version"] == "v2.1.0"
    data = cm["data"]
    for group in ("redis.", "prometheus.", "jaeger.", "agent.", "mcp.", "a2a.", "acp.", "optimization.",
                  "audit.", "encryption.", "scaling."):
        assert any(key.startswith(group) for key in data), group
    assert data["redis.host"] == f"redis.{ns}.svc.cluster.local"
    checksum = cm["metadata"]["annotations"]["agentic.platform/config-checksum"]
    snapshot = kubectl.json("-n", ns, "get", "configmap", f"{CONFIG}-{checksum[:10]}")
    assert snapshot["data"] == data and snapshot["immutable"] is True


def test_secret_has_every_key_and_labels(converged, ns, kubectl):
    secret = kubectl.json("-n", ns, "get", "secret", SECRET)
    assert sorted(secret["data"]) == sorted(GENERATED + PROVIDED)
    labels = secret["metadata"]["labels"]
    assert labels["security-tier"] == "high" and labels["rotation-schedule"] == "monthly"
    annotations = secret["metadata"]["annotations"]
    assert "kubernetes.io/service-account.name" not in annotations
    assert len(annotations["agentic.platform/secrets-version"]) == 16
    values = converged["values"]
    assert len(values["redis-password"]) == 32 and values["redis-password"] != values["redis-admin-password"]
    assert values["jwt-private-key"].startswith("-----BEGIN") and "PUBLIC KEY" in values["jwt-public-key"]
    # the development chain: the server certificate is signed by the CA and names the agent Service
    from cryptography import x509

    ca = x509.load_pem_x509_certificate(values["ca.crt"].encode())
    cert = x509.load_pem_x509_certificate(values["tls.crt"].encode())
    assert cert.issuer == ca.subject
    cert.verify_directly_issued_by(ca)
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(x509.DNSName)
    assert f"mcp-agent.{ns}.svc.cluster.local" in sans


def test_second_run_changes_nothing_and_regenerates_nothing(converged, ns, kubectl):
    assert converged["second"].stats()["changed"] == 0, converged["second"].changed_tasks()
    assert secret_values(kubectl, ns) == converged["values"]


def test_check_diff_on_converged_reports_no_change(converged):
    assert converged["check"].stats()["changed"] == 0, converged["check"].changed_tasks()


def test_rendered_objects_pass_strict_server_side_validation(converged, ns, kubectl):
    objects = list(converged["first"].objects)
    kinds = {obj["kind"] for obj in objects}
    assert {"Namespace", "ResourceQuota", "LimitRange", "ServiceAccount", "Role", "RoleBinding",
            "NetworkPolicy", "ConfigMap"} <= kinds
    # the Secret task runs with no_log (nothing recorded): validate it as it is in the cluster
    objects.append(clean_for_apply(kubectl.json("-n", ns, "get", "secret", SECRET)))
    for obj in objects:
        res = kubectl.run("apply", "--server-side", "--dry-run=server", "--validate=strict",
                          "--field-manager=agentic.platform", "--force-conflicts", "-f", "-",
                          input_text=json.dumps(obj), check=False)
        assert res.returncode == 0, (obj["kind"], obj["metadata"]["name"], res.stderr)


def test_restricted_pss_rejects_a_privileged_pod_and_admits_a_restricted_one(converged, ns, kubectl):
    bad = restricted_pod("privileged")
    bad["spec"]["containers"][0]["securityContext"] = {"privileged": True}
    res = kubectl.run("-n", ns, "apply", "--dry-run=server", "-f", "-", input_text=json.dumps(bad), check=False)
    assert res.returncode != 0 and "PodSecurity" in res.stderr, res.stderr
    good = kubectl.run("-n", ns, "apply", "--dry-run=server", "-f", "-",
                       input_text=json.dumps(restricted_pod("restricted")), check=False)
    assert good.returncode == 0, good.stderr


@pytest.mark.parametrize(("verb", "resource", "allowed"), [
    ("get", f"secrets/{SECRET}", True),
    ("get", f"configmaps/{CONFIG}", True),
    ("list", "secrets", False),
    ("watch", "secrets", False),
    ("get", "secrets/other-secret", False),
    ("get", "secrets", False),
    ("list", "configmaps", False),
    ("update", f"secrets/{SECRET}", False),
    ("patch", f"configmaps/{CONFIG}", False),
    ("delete", f"secrets/{SECRET}", False),
    ("create", "secrets", False),
    ("create", "pods", False),
    ("delete", "pods", False),
    ("create", "deployments.apps", False),
    ("update", "deployments.apps", False),
    ("create", "rolebindings.rbac.authorization.k8s.io", False),
    ("create", "configmaps", False),
])
def test_agent_account_is_least_privilege(converged, ns, kubectl, verb, resource, allowed):
    res = kubectl.run("auth", "can-i", verb, resource, "-n", ns, f"--as=system:serviceaccount:{ns}:mcp-agent",
                      check=False)
    assert res.stdout.strip() == ("yes" if allowed else "no"), (verb, resource, res.stdout, res.stderr)


def test_redis_account_cannot_read_secrets(converged, ns, kubectl):
    res = kubectl.run("auth", "can-i", "get", f"secrets/{SECRET}", "-n", ns,
                      f"--as=system:serviceaccount:{ns}:redis", check=False)
    assert res.stdout.strip() == "no"


def test_gpu_quota_refuses_an_over_quota_pod(converged, ns, kubectl):
    def gpu_pod(count: int) -> dict:
        pod = restricted_pod(f"gpu-{count}", resources={"limits": {"nvidia.com/gpu": str(count)}},
                             tolerations=[{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}])
        return pod

    over = kubectl.run("-n", ns, "apply", "--dry-run=server", "-f", "-", input_text=json.dumps(gpu_pod(21)),
                       check=False)
    assert over.returncode != 0 and "exceeded quota" in over.stderr and "requests.nvidia.com/gpu" in over.stderr, \
        over.stderr
    within = kubectl.run("-n", ns, "apply", "--dry-run=server", "-f", "-", input_text=json.dumps(gpu_pod(8)),
                         check=False)
    assert within.returncode == 0, within.stderr


def test_api_server_accepts_but_never_enforces_a_limits_quota_on_gpus(local_cluster, kubectl, namespace):
    """Why namespace_quota_hard refuses limits.nvidia.com/gpu: the real API server ignores it."""
    kubectl.apply({"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "q", "namespace": namespace},
                   "spec": {"hard": {"limits.nvidia.com/gpu": "0"}}})
    pod = restricted_pod("gpu", resources={"limits": {"nvidia.com/gpu": "1"}})
    res = kubectl.run("-n", namespace, "apply", "--dry-run=server", "-f", "-", input_text=json.dumps(pod),
                      check=False)
    assert res.returncode == 0, res.stderr


def test_check_mode_on_a_fresh_region_writes_nothing(kubectl):
    """Nothing can be dry-run inside a namespace that does not exist: the steps say what they would create."""
    fresh = f"ncs-fresh-{uuid.uuid4().hex[:6]}"
    result = run(fresh, "--check", "--diff")
    assert result.rc == 0, result.output[-4000:]
    # every step's k8s_apply reports one line per object: "<Kind> <namespace>/<name> created"
    planned = [line for res in result.task_results().values() for line in res.get("objects", [])]
    for wanted in (f"ResourceQuota {fresh}/agentic-ai-quota created", f"ConfigMap {fresh}/agentic-ai-config created"):
        assert wanted in planned, planned
    assert result.stats()["changed"] >= 3
    # the Secret's task is no_log: its result is hidden, but it reports a change
    secret_task = next(t for t in result.task_results() if t.endswith("Apply Secret agentic-ai-secrets"))
    assert result.task_results()[secret_task]["changed"]
    assert kubectl.run("get", "namespace", fresh, check=False).returncode != 0


# --- drift: run after the tests above (module order) -------------------------------------------

@pytest.fixture(scope="module")
def drift(converged, ns, kubectl) -> dict:
    kubectl.run("-n", ns, "delete", "networkpolicy", "agent-egress")
    kubectl.run("-n", ns, "patch", "configmap", CONFIG, "--type=merge",
                "-p", json.dumps({"data": {"agent.heartbeat_interval": "999"}}))
    check = run(ns, "--check", "--diff")
    assert check.rc == 0, check.output[-4000:]
    dropped = kubectl.run("-n", ns, "get", "networkpolicy", "agent-egress", check=False).returncode != 0
    repair = run(ns)
    assert repair.rc == 0, repair.output[-4000:]
    return {"check": check, "repair": repair, "still_dropped_after_check": dropped}


def test_drift_is_shown_by_check_without_touching_it(drift):
    assert drift["check"].stats()["changed"] >= 2, drift["check"].changed_tasks()
    assert drift["still_dropped_after_check"]


def test_drift_is_repaired(drift, ns, kubectl, converged):
    assert drift["repair"].stats()["changed"] >= 2
    kubectl.run("-n", ns, "get", "networkpolicy", "agent-egress")
    assert kubectl.json("-n", ns, "get", "configmap", CONFIG)["data"]["agent.heartbeat_interval"] == "15"
    assert secret_values(kubectl, ns) == converged["values"]


def test_config_change_then_rollback(drift, ns, kubectl):
    before = kubectl.json("-n", ns, "get", "configmap", CONFIG)
    old_id = before["metadata"]["annotations"]["agentic.platform/config-checksum"][:10]
    changed = run(ns, "-e", "config_agent_max_concurrent_workflows=250")
    assert changed.rc == 0, changed.output[-4000:]
    after = kubectl.json("-n", ns, "get", "configmap", CONFIG)
    assert after["data"]["agent.max_concurrent_workflows"] == "250"
    new_checksum = after["metadata"]["annotations"]["agentic.platform/config-checksum"]
    assert new_checksum[:10] != old_id
    back = run(ns, "-e", "config_agent_max_concurrent_workflows=250", "-e", f"config_rollback_to={old_id}")
    assert back.rc == 0, back.output[-4000:]
    rolled = kubectl.json("-n", ns, "get", "configmap", CONFIG)
    assert rolled["data"] == before["data"]
    assert rolled["metadata"]["annotations"]["agentic.platform/config-checksum"][:10] == old_id
    # both snapshots are kept for a later roll forward
    snaps = kubectl.json("-n", ns, "get", "configmap", "-l", "agentic.platform/config-snapshot=true")["items"]
    assert {s["metadata"]["name"] for s in snaps} >= {f"{CONFIG}-{old_id}", f"{CONFIG}-{new_checksum[:10]}"}


# --- malformed inputs: one run, one inventory host per case --------------------------------------

CASES = {
    "quota-negative": ({"namespace_quota_hard": {"requests.cpu": "-5", "limits.cpu": "200"}},
                       "namespace_quota_hard['requests.cpu']"),
    "quota-absurd": ({"namespace_quota_hard": {"requests.memory": "1e30"}}, "namespace_quota_hard['requests.memory']"),
    "quota-not-a-quantity": ({"namespace_quota_hard": {"requests.cpu": "lots"}},
                             "namespace_quota_hard['requests.cpu']"),
    "quota-limits-gpu": ({"namespace_quota_hard": {"limits.nvidia.com/gpu": "20"}},
                         "namespace_quota_hard['limits.nvidia.com/gpu']"),
    "quota-requests-over-limits": ({"namespace_quota_hard": {"requests.cpu": "300", "limits.cpu": "200"}},
                                   "namespace_quota_hard['requests.cpu'] must not exceed"),
    "quota-enabled-not-bool": ({"namespace_quota_enabled": "maybe"}, "namespace_quota_enabled"),
    "owner-bad-label": ({"namespace_owner": "AI platform team!"}, "namespace_owner"),
    "extra-label-bad": ({"namespace_extra_labels": {"team": "has spaces"}}, "namespace_extra_labels['team']"),
    "api-ports-wrong-type": ({"namespace_agent_api_ports": ["http"]}, "namespace_agent_api_ports"),
    "limit-default-bad": ({"namespace_limit_default": {"cpu": "two"}}, "namespace_limit_default"),
    "config-version-bad": ({"config_version": "v 2"}, "config_version"),
    "config-replicas-inverted": ({"config_scaling_min_replicas": 60}, "config_scaling_min_replicas"),
    "config-gpu-fraction": ({"config_optimization_gpu_memory_fraction": 1.5},
                            "config_optimization_gpu_memory_fraction"),
    "config-port-wrong-type": ({"config_redis_port": "six"}, "config_redis_port"),
    "config-rollback-missing": ({"config_rollback_to": "0123456789"}, "config_rollback_to"),
    "secret-missing": ({"secrets_openai_api_key": ""}, "secrets_openai_api_key is required"),
    "secret-aws-id-bad": ({"secrets_aws_access_key_id": "leaky-value-aws-0001"}, "secrets_aws_access_key_id"),
    "secret-gcp-not-json": ({"secrets_gcp_service_account": "leaky-value-gcp-0002"}, "secrets_gcp_service_account"),
    "secret-tls-partial": ({"secrets_tls_crt": "-----BEGIN CERTIFICATE-----\nleaky\n-----END CERTIFICATE-----"},
                           "secrets_tls_crt, secrets_tls_key, secrets_ca_crt"),
    "secret-redis-short": ({"secrets_redis_password": "leaky-short"}, "secrets_redis_password"),
    "sealed-without-cert": ({"secrets_mode": "sealed"}, "secrets_sealed_cert"),
}
LEAKY = ["leaky-value-aws-0001", "leaky-value-gcp-0002", "leaky-short"]


@pytest.fixture(scope="module")
def malformed(tmp_path_factory, kubectl) -> dict:
    suffix = uuid.uuid4().hex[:6]
    cases = {name: {**overrides, "agentic_namespace": f"bad-{suffix}-{i}"}
             for i, (name, (overrides, _)) in enumerate(CASES.items())}
    inventory = make_inventory(tmp_path_factory.mktemp("malformed"), cases)
    result = run(None, inventory=inventory)
    namespaces = {name: case["agentic_namespace"] for name, case in cases.items()}
    existing = {item["metadata"]["name"] for item in kubectl.json("get", "namespaces")["items"]}
    return {"run": result, "namespaces": namespaces, "existing": existing}


def test_enough_malformed_inputs():
    assert len(CASES) >= 8


@pytest.mark.parametrize("case", sorted(CASES))
def test_malformed_input_fails_before_any_write(malformed, case):
    result: Run = malformed["run"]
    stats = result.stats(case)
    assert stats["failures"] == 1 and stats["changed"] == 0, stats
    messages = []
    for res in result.task_results(case).values():
        if res.get("failed"):
            messages.append(res.get("msg", ""))
            messages += [item.get("msg", "") for item in res.get("results", []) if item.get("failed")]
    expected = CASES[case][1]
    assert any(expected in str(m) for m in messages), (expected, messages)
    assert malformed["namespaces"][case] not in malformed["existing"]


def test_malformed_inputs_print_no_secret_value(malformed):
    for value in LEAKY:
        assert value not in malformed["run"].output


# --- GitOps mode ----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def sealed(tmp_path_factory, kubectl) -> dict:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    from localcluster import build

    base = tmp_path_factory.mktemp("sealed")
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sealed-secret")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1)).sign(key, hashes.SHA256()))
    cert_path = base / "controller.crt"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    out = base / "out"
    namespace = f"ncs-sealed-{uuid.uuid4().hex[:6]}"
    args = ["-e", "secrets_mode=sealed", "-e", f"secrets_sealed_cert={cert_path}",
            "-e", f"secrets_sealed_output_dir={out}", "-e", f"secrets_kubeseal_binary={build.binary('kubeseal')}"]
    first = run(namespace, *args)
    manifest = out / namespace / "agentic-ai-secrets.yaml"
    first_text = manifest.read_text() if manifest.exists() else ""
    second = run(namespace, *args)
    second_text = manifest.read_text() if manifest.exists() else ""
    third = run(namespace, *args, "-e", "secrets_openai_api_key=dev-another-openai-key-for-the-test")
    third_text = manifest.read_text() if manifest.exists() else ""
    yield {"runs": [first, second, third], "texts": [first_text, second_text, third_text], "ns": namespace,
           "manifest": manifest}
    kubectl.run("delete", "namespace", namespace, "--wait=false", check=False)


def test_sealed_mode_writes_a_valid_sealed_secret_and_no_secret(sealed, kubectl):
    first = sealed["runs"][0]
    assert first.rc == 0, first.output[-4000:]
    doc = yaml.safe_load(sealed["texts"][0])
    assert doc["kind"] == "SealedSecret" and doc["metadata"]["name"] == SECRET
    assert sorted(doc["spec"]["encryptedData"]) == sorted(GENERATED + PROVIDED)
    assert doc["spec"]["template"]["metadata"]["labels"]["security-tier"] == "high"
    res = kubectl.run("apply", "--server-side", "--dry-run=server", "--validate=strict",
                      "--field-manager=agentic.platform", "-f", str(sealed["manifest"]), check=False)
    assert res.returncode == 0, res.stderr
    assert kubectl.run("-n", sealed["ns"], "get", "secret", SECRET, check=False).returncode != 0


def test_sealed_mode_is_idempotent(sealed):
    second = sealed["runs"][1]
    assert second.rc == 0 and second.stats()["changed"] == 0, second.changed_tasks()
    assert sealed["texts"][1] == sealed["texts"][0]


def test_sealed_mode_reseals_a_changed_value_and_keeps_generated_ones(sealed):
    third = sealed["runs"][2]
    assert third.rc == 0, third.output[-4000:]
    before = yaml.safe_load(sealed["texts"][1])
    after = yaml.safe_load(sealed["texts"][2])
    assert after["spec"]["encryptedData"]["openai-api-key"] != before["spec"]["encryptedData"]["openai-api-key"]
    for key in GENERATED:  # never regenerated: the sealed items are carried over untouched
        assert after["spec"]["encryptedData"][key] == before["spec"]["encryptedData"][key]
    assert (after["metadata"]["annotations"]["agentic.platform/secrets-version"]
            != before["metadata"]["annotations"]["agentic.platform/secrets-version"])
    assert "dev-another-openai-key-for-the-test" not in third.output


def test_inventories_keep_example_secrets_in_vault():
    for region in ("us-east", "eu-west", "ap-northeast"):
        text = (ROOT / "inventories" / region / "host_vars" / region / "secrets.yml").read_text()
        assert text.count("!vault |") == 8
    local = yaml.safe_load((ROOT / "inventories" / "local" / "host_vars" / "local" / "secrets.yml").read_text())
    marked = ("not-a-real", "not-real", "NOTREAL")
    assert all(any(mark in str(v) for mark in marked) or k in ("secrets_postgres_username", "secrets_jwt_key_size")
               for k, v in local.items())


def test_manifest_path_is_under_inventory_by_default():
    defaults = yaml.safe_load((ROOT / "roles" / "secrets" / "defaults" / "main.yml").read_text())
    assert Path(defaults["secrets_sealed_output_dir"]).name == "sealed-secrets"


def test_no_secret_value_in_any_output(converged, drift, malformed, sealed, ns, kubectl):
    """Last: every playbook run of this module (-vvv converge, check/diff, drift, failures, GitOps)."""
    needles = secret_needles(kubectl.json("-n", ns, "get", "secret", SECRET))
    assert len(needles) > 20
    assert len(RUNS) >= 10
    for result in RUNS:
        for needle in needles:
            assert needle not in result.output, "a secret value appears in ansible-playbook output"


def test_an_inventory_value_never_undoes_a_rotation(kubectl, namespace):
    """The rotation playbook changed redis-password in the cluster; an inventory still giving
    the old value fails the secrets step, naming the variable and not the value, and the
    rotated value stays."""
    first = run(namespace)
    assert first.rc == 0, first.output[-4000:]
    old = secret_values(kubectl, namespace)["redis-password"]
    rotated = "rotated-" + uuid.uuid4().hex
    kubectl.run("-n", namespace, "patch", "secret", SECRET, "--type=merge", "-p", json.dumps({
        "metadata": {"annotations": {"rotation.agentic.platform/redis-password.last-rotated": "2026-11-26T00:00:00Z"}},
        "stringData": {"redis-password": rotated}}))
    undo = run(namespace, "-e", f"secrets_redis_password={old}")
    assert undo.rc != 0
    task, msg = next((t["task"]["name"], h.get("msg", "")) for p in undo.data["plays"] for t in p["tasks"]
                     for h in t["hosts"].values() if h.get("failed"))
    assert task.endswith("Check the inventory does not undo a rotation"), task
    assert "secrets_redis_password" in msg, msg
    assert old not in undo.output and rotated not in undo.output
    assert secret_values(kubectl, namespace)["redis-password"] == rotated
    kept = run(namespace)  # with the variable empty, the cluster's (rotated) value is kept
    assert kept.rc == 0, kept.output[-4000:]
    assert secret_values(kubectl, namespace)["redis-password"] == rotated

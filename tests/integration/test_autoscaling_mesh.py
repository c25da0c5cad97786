"""The autoscaling and mesh steps against the real local cluster (kube-apiserver with the real
Istio and KEDA CRDs, kube-controller-manager's HPA controller).

Each test converges its own namespace. The agent Deployment is created by the test (the agent
step may not exist yet); the prometheus-adapter rules go to the test namespace too, so that the
shared `monitoring` namespace of the local cluster is left alone.
"""

from __future__ import annotations

import datetime
import json

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from scaling_mesh_support import ISTIO, changed_objects, converge, deployment, failure

pytestmark = pytest.mark.cluster

@pytest.fixture
def agent(kubectl, namespace):
    kubectl.apply(deployment(), "-n", namespace)
    return namespace


def test_converge_waits_for_able_to_scale_and_is_idempotent(kubectl, agent):
    ns = agent
    first = converge(ns)
    assert first.rc == 0, first.output[-3000:]

    hpa = kubectl.json("-n", ns, "get", "hpa", "mcp-agent")
    # The wait returned only once the real HPA controller reported AbleToScale=True; with no
    # metrics-server and no adapter here, ScalingActive stays False (metrics unavailable).
    conditions = {c["type"]: c for c in hpa["status"]["conditions"]}
    assert conditions["AbleToScale"]["status"] == "True"
    assert conditions.get("ScalingActive", {}).get("status") != "True"
    spec = hpa["spec"]
    assert (spec["minReplicas"], spec["maxReplicas"]) == (2, 4)  # inventories/local/host_vars/local/autoscaling.yml
    assert [m["type"] for m in spec["metrics"]] == ["Resource", "Resource", "Pods"]
    resources = {m["resource"]["name"]: m["resource"]["target"] for m in spec["metrics"] if m["type"] == "Resource"}
    assert resources == {"cpu": {"type": "Utilization", "averageUtilization": 70},
                         "memory": {"type": "Utilization", "averageUtilization": 80}}
    pods = next(m["pods"] for m in spec["metrics"] if m["type"] == "Pods")
    assert pods["metric"]["name"] == "agent_active_workflows"
    assert pods["target"] == {"type": "AverageValue", "averageValue": "10"}
    assert spec["behavior"]["scaleDown"]["stabilizationWindowSeconds"] == 300
    assert spec["behavior"]["scaleUp"]["selectPolicy"] == "Max"
    assert {p["type"]: p["value"] for p in spec["behavior"]["scaleUp"]["policies"]} == {"Percent": 50, "Pods": 2}
    # The HPA really scales the Deployment it targets: up to minReplicas.
    assert kubectl.json("-n", ns, "get", "deployment", "mcp-agent")["spec"]["replicas"] == 2

    rules = kubectl.json("-n", ns, "get", "configmap", "prometheus-adapter-agentic-rules")["data"]["config.yaml"]
    assert "seriesQuery: 'agent_active_workflows{namespace!=\"\",pod!=\"\"}'" in rules
    assert "sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)" in rules
    # No APIService unless asked for: one pointing at a missing adapter breaks discovery.
    assert kubectl.run("get", "apiservice", "v1beta1.custom.metrics.k8s.io", check=False).returncode != 0

    dr = kubectl.json("-n", ns, "get", "destinationrule", "mcp-agent")["spec"]["trafficPolicy"]
    assert dr["loadBalancer"]["simple"] == "LEAST_REQUEST"
    assert dr["loadBalancer"]["localityLbSetting"] == {"enabled": True}  # one region: no failover peer
    assert dr["outlierDetection"] == {"consecutive5xxErrors": 5, "interval": "30s", "baseEjectionTime": "30s",
                                      "maxEjectionPercent": 50}
    assert dr["connectionPool"] == {"tcp": {"maxConnections": 100},
                                    "http": {"http1MaxPendingRequests": 50, "http2MaxRequests": 100,
                                             "maxRequestsPerConnection": 10, "maxRetries": 3}}
    vs = kubectl.json("-n", ns, "get", "virtualservice", "mcp-agent")["spec"]
    api = vs["http"][0]
    assert api["match"] == [{"uri": {"prefix": "/api/v1"}}]
    assert api["route"][0]["destination"]["port"] == {"number": 8080}
    assert api["timeout"] == "30s" and api["retries"]["attempts"] == 3
    assert "fault" not in api  # chaos is off by default
    assert kubectl.json("-n", ns, "get", "peerauthentication", "default")["spec"] == {"mtls": {"mode": "STRICT"}}
    authz = kubectl.json("-n", ns, "get", "authorizationpolicy", "mcp-agent")["spec"]
    assert authz["action"] == "ALLOW"
    sources = [r["from"][0]["source"] for r in authz["rules"]]
    assert sources == [
        {"principals": ["cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account"]},
        {"principals": [f"cluster.local/ns/{ns}/sa/mcp-agent"]},
        {"namespaces": ["monitoring"]},
    ]
    assert authz["rules"][2]["to"][0]["operation"] == {"ports": ["9090"], "methods": ["GET"]}

    namespace_obj = kubectl.json("get", "namespace", ns, "--show-managed-fields")
    assert namespace_obj["metadata"]["labels"]["istio-injection"] == "enabled"
    owners = [m["manager"] for m in namespace_obj["metadata"]["managedFields"]
              if "f:istio-injection" in json.dumps(m.get("fieldsV1", {}))]
    assert owners == ["agentic.platform-mesh"]

    for kind in ("hpa", "configmap/prometheus-adapter-agentic-rules", "destinationrule", "virtualservice",
                 "peerauthentication", "authorizationpolicy"):
        for obj in kubectl.json("-n", ns, "get", kind).get("items") or [kubectl.json("-n", ns, "get", kind)]:
            meta = obj["metadata"]
            if meta["name"] not in ("mcp-agent", "default", "prometheus-adapter-agentic-rules"):
                continue
            assert meta["labels"]["app.kubernetes.io/managed-by"] == "agentic.platform"
            assert {"name", "instance", "version", "component", "part-of"} <= {
                k.split("/", 1)[1] for k in meta["labels"] if k.startswith("app.kubernetes.io/")}
            assert "kubectl.kubernetes.io/last-applied-configuration" not in (meta.get("annotations") or {})

    second = converge(ns)
    assert second.rc == 0, second.output[-3000:]
    assert second.stats()["changed"] == 0, changed_objects(second)
    check = converge(ns, "--check", "--diff")
    assert check.rc == 0, check.output[-3000:]
    assert check.stats()["changed"] == 0, changed_objects(check)


def _self_signed_ca() -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "adapter-ca")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now)
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM).decode()


VARIANTS = {
    "defaults": {},
    "keda-chaos-revision": {
        "autoscaling_provider": "keda", "autoscaling_keda_wait": False, "mesh_chaos_enabled": True,
        "mesh_injection": "revision", "mesh_revision": "canary", "mesh_gateways": ["istio-system/public"],
    },
    "adapter-apiservice-with-ca": {
        "autoscaling_adapter_register_apiservice": True,
        "autoscaling_adapter_ca_bundle": _self_signed_ca(),  # the input check parses it: a real certificate
    },
}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_every_rendered_object_passes_strict_server_validation(kubectl, agent, tmp_path, variant):
    """Check mode renders every object (nothing is written); each then goes through a
    server-side dry-run apply with strict field validation against the real schemas."""
    record = tmp_path / "objects.jsonl"
    run = converge(agent, "--check", extra=VARIANTS[variant], record=record)
    assert run.rc == 0, run.output[-3000:]
    objects = [o for o in run.objects if o["kind"] != "Namespace"]
    kinds = {o["kind"] for o in objects}
    assert kinds >= ISTIO
    if VARIANTS[variant].get("autoscaling_provider") == "keda":
        assert "ScaledObject" in kinds and "HorizontalPodAutoscaler" not in kinds
        vs = next(o for o in objects if o["kind"] == "VirtualService")
        assert vs["spec"]["http"][0]["fault"]["delay"] == {"percentage": {"value": 0.1}, "fixedDelay": "5s"}
        assert vs["spec"]["gateways"] == ["istio-system/public", "mesh"]
    else:
        assert {"HorizontalPodAutoscaler", "ConfigMap"} <= kinds
    if VARIANTS[variant].get("autoscaling_adapter_register_apiservice"):
        apiservice = next(o for o in objects if o["kind"] == "APIService")
        assert apiservice["spec"]["service"] == {"name": "prometheus-adapter", "namespace": agent, "port": 443}
        assert "caBundle" in apiservice["spec"] and "insecureSkipTLSVerify" not in apiservice["spec"]
    for obj in objects:
        res = kubectl.run("apply", "--server-side", "--dry-run=server", "--validate=strict",
                          "--field-manager=pytest", "-n", agent, "-f", "-", input_text=json.dumps(obj), check=False)
        assert res.returncode == 0, f"{obj['kind']}/{obj['metadata']['name']}: {res.stderr}"
        assert "unknown field" not in res.stderr and "not declared" not in res.stderr, res.stderr
        assert "Warning" not in res.stderr, res.stderr


def test_strict_validation_catches_an_unknown_field(kubectl, namespace):
    """The source design's `circuitBreaker` is no DestinationRule field: strict validation
    refuses it, while a lax create silently drops it (which is why the tests are strict)."""
    dr = {"apiVersion": "networking.istio.io/v1", "kind": "DestinationRule",
          "metadata": {"name": "probe", "namespace": namespace},
          "spec": {"host": "probe", "trafficPolicy": {
              "loadBalancer": {"simple": "LEAST_REQUEST"},
              "circuitBreaker": {"consecutiveErrors": 5, "interval": "30s"}}}}
    strict = kubectl.run("apply", "--server-side", "--dry-run=server", "--validate=strict",
                         "--field-manager=pytest", "-f", "-", input_text=json.dumps(dr), check=False)
    assert strict.returncode != 0
    assert "circuitBreaker" in strict.stderr
    assert "field not declared in schema" in strict.stderr or "unknown field" in strict.stderr
    # Server-side apply refuses it even without --validate=strict (the roles only use it);
    # a plain create with validation off is what silently loses the field.
    ssa = kubectl.run("apply", "--server-side", "--validate=false", "--field-manager=pytest",
                      "-f", "-", input_text=json.dumps(dr), check=False)
    assert ssa.returncode != 0 and "circuitBreaker" in ssa.stderr
    lax = kubectl.run("create", "--validate=false", "-f", "-", input_text=json.dumps(dr), check=False)
    assert lax.returncode == 0, lax.stderr
    stored = kubectl.json("-n", namespace, "get", "destinationrule", "probe")["spec"]["trafficPolicy"]
    assert "circuitBreaker" not in stored  # pruned without a word
    # The same check on a deprecated enum value: LEAST_CONN is still accepted by the schema,
    # so only the role's choices keep it out; an invalid value is refused.
    bad_enum = json.loads(json.dumps(dr))
    del bad_enum["spec"]["trafficPolicy"]["circuitBreaker"]
    bad_enum["metadata"]["name"] = "probe-enum"
    bad_enum["spec"]["trafficPolicy"]["loadBalancer"]["simple"] = "LEAST_CONN"
    res = kubectl.run("apply", "--server-side", "--dry-run=server", "--validate=strict", "--field-manager=pytest",
                      "-f", "-", input_text=json.dumps(bad_enum), check=False)
    assert res.returncode == 0, res.stderr
    bad_enum["spec"]["trafficPolicy"]["loadBalancer"]["simple"] = "FASTEST"
    res = kubectl.run("apply", "--server-side", "--dry-run=server", "--validate=strict", "--field-manager=pytest",
                      "-f", "-", input_text=json.dumps(bad_enum), check=False)
    assert res.returncode != 0 and "FASTEST" in res.stderr


BAD_INPUTS = [
    ({"autoscaling_min_replicas": 5, "autoscaling_max_replicas": 3}, "autoscaling_max_replicas"),
    ({"autoscaling_min_replicas": 0}, "autoscaling_min_replicas"),
    ({"autoscaling_cpu_utilization": 0}, "autoscaling_cpu_utilization"),
    ({"autoscaling_memory_utilization": 101}, "autoscaling_memory_utilization"),
    # inventories/local: agent_replicas 2, agent_pdb_min_available 1
    ({"autoscaling_min_replicas": 3}, "agent_replicas"),
    ({"autoscaling_min_replicas": 1, "autoscaling_max_replicas": 1}, "agent_pdb_min_available"),
    ({"autoscaling_provider": "hpa-magic"}, "autoscaling_provider"),
    ({"mesh_failover": {"local": "mars"}}, "mesh_failover"),
    ({"mesh_chaos_delay_percent": 150}, "mesh_chaos_delay_percent"),
    ({"mesh_injection": "revision"}, "mesh_revision"),
    ({"mesh_outlier_detection": {"consecutiveErrors": 5}}, "mesh_outlier_detection"),
    ({"mesh_load_balancer": "LEAST_CONN"}, "mesh_load_balancer"),
]


@pytest.mark.parametrize(("extra", "variable"), BAD_INPUTS, ids=[v for _, v in BAD_INPUTS])
def test_bad_input_fails_before_any_write(kubectl, agent, extra, variable):
    """Both steps check their inputs up front (as site.yml does for every step): a bad input of
    either one stops the run before the first write of any."""
    run = converge(agent, extra=extra)
    assert run.rc != 0
    task, msg = failure(run)
    assert variable in msg, (task, msg)
    assert changed_objects(run) == []
    assert run.stats()["changed"] == 0
    left = kubectl.json("-n", agent, "get", "hpa,scaledobject,configmap,destinationrule,virtualservice,"
                        "peerauthentication,authorizationpolicy", "-l", "app.kubernetes.io/managed-by=agentic.platform")
    assert left["items"] == []
    assert "istio-injection" not in (kubectl.json("get", "namespace", agent)["metadata"].get("labels") or {})


def test_switching_provider_to_keda_and_back(kubectl, agent):
    assert converge(agent).rc == 0
    assert kubectl.run("-n", agent, "get", "hpa", "mcp-agent", check=False).returncode == 0

    keda = converge(agent, extra={"autoscaling_provider": "keda", "autoscaling_keda_wait": False})
    assert keda.rc == 0, keda.output[-3000:]
    so = kubectl.json("-n", agent, "get", "scaledobject", "mcp-agent")["spec"]
    assert (so["minReplicaCount"], so["maxReplicaCount"]) == (2, 4)
    triggers = {t["type"]: t for t in so["triggers"]}
    assert triggers["prometheus"]["metadata"]["threshold"] == "10"
    assert "agent_active_workflows" in triggers["prometheus"]["metadata"]["query"]
    assert triggers["cpu"]["metadata"]["value"] == "70" and triggers["memory"]["metadata"]["value"] == "80"
    assert so["advanced"]["horizontalPodAutoscalerConfig"]["behavior"]["scaleDown"]["stabilizationWindowSeconds"] == 300
    # Two autoscalers on one Deployment fight: the HPA of the other provider is gone.
    assert kubectl.run("-n", agent, "get", "hpa", "mcp-agent", check=False).returncode != 0
    again = converge(agent, extra={"autoscaling_provider": "keda", "autoscaling_keda_wait": False})
    assert again.rc == 0 and again.stats()["changed"] == 0, changed_objects(again)

    back = converge(agent)
    assert back.rc == 0, back.output[-3000:]
    assert kubectl.run("-n", agent, "get", "scaledobject", "mcp-agent", check=False).returncode != 0
    assert kubectl.run("-n", agent, "get", "hpa", "mcp-agent", check=False).returncode == 0


def test_injection_label_and_revision_are_exclusive(kubectl, agent):
    assert converge(agent, extra={"mesh_injection": "revision", "mesh_revision": "canary"}).rc == 0
    labels = kubectl.json("get", "namespace", agent)["metadata"]["labels"]
    assert labels["istio.io/rev"] == "canary" and "istio-injection" not in labels

    # Back to the plain label: server-side apply drops the revision label this role owned.
    assert converge(agent).rc == 0
    labels = kubectl.json("get", "namespace", agent)["metadata"]["labels"]
    assert labels["istio-injection"] == "enabled" and "istio.io/rev" not in labels

    # A revision label somebody else set would silently decide the control plane: refused.
    kubectl.run("label", "namespace", agent, "istio.io/rev=stable")
    run = converge(agent)
    assert run.rc != 0
    _task, msg = failure(run)
    assert "istio.io/rev" in msg and "mesh_injection" in msg, msg
    assert kubectl.json("get", "namespace", agent)["metadata"]["labels"]["istio.io/rev"] == "stable"

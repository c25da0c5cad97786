"""The in-controller client and apply engine (k8s_apply, k8s_read) against the real API server."""

from __future__ import annotations

import base64
import json
import os
import stat
import time
import uuid

import pytest
import yaml
from ansible_collections.agentic.platform.plugins.module_utils.kube_apply import ApplyError, run_apply, run_read
from ansible_collections.agentic.platform.plugins.module_utils.kube_client import KubeClient, KubeError

SECRET_VALUE = "s3cr3t-" + uuid.uuid4().hex


@pytest.fixture
def client(kubectl) -> KubeClient:
    c = KubeClient.from_config(kubectl.kubeconfig)
    yield c
    c.close()


def configmap(name: str, **data) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data}


def apply(client, objects, namespace, **kw):
    return run_apply(client, objects, field_manager="pytest-apply", namespace=namespace, **kw)


def test_create_then_unchanged_then_updated(client, kubectl, namespace):
    first = apply(client, [configmap("one", a="1")], namespace)
    assert first["changed"] and first["objects"] == [f"ConfigMap {namespace}/one created"]
    again = apply(client, [configmap("one", a="1")], namespace)
    assert not again["changed"] and again["objects"] == [f"ConfigMap {namespace}/one unchanged"]
    edited = apply(client, [configmap("one", a="2")], namespace)
    assert edited["changed"] and edited["objects"] == [f"ConfigMap {namespace}/one updated"]
    assert kubectl.json("-n", namespace, "get", "configmap", "one")["data"] == {"a": "2"}
    managers = {m["manager"] for m in kubectl.json("-n", namespace, "get", "configmap", "one",
                                                   "--show-managed-fields")["metadata"]["managedFields"]}
    assert managers == {"pytest-apply"}


def test_check_mode_dry_runs_and_diffs(client, kubectl, namespace):
    apply(client, [configmap("dry", a="1")], namespace)
    res = apply(client, [configmap("dry", a="2")], namespace, check_mode=True, want_diff=True)
    assert res["changed"]
    assert "a: '1'" in res["diff"][0]["before"] and "a: '2'" in res["diff"][0]["after"]
    assert kubectl.json("-n", namespace, "get", "configmap", "dry")["data"] == {"a": "1"}
    assert not apply(client, [configmap("dry", a="1")], namespace, check_mode=True)["changed"]


def test_check_mode_in_a_namespace_that_does_not_exist(client, kubectl):
    ns = f"absent-{uuid.uuid4().hex[:6]}"
    objs = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}, configmap("c", a="1")]
    res = apply(client, objs, ns, check_mode=True)
    assert res["objects"] == [f"Namespace {ns} created", f"ConfigMap {ns}/c created"]
    assert kubectl.run("get", "namespace", ns, check=False).returncode != 0


def test_secret_values_never_returned_or_diffed(client, namespace):
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
              "data": {"password": base64.b64encode(SECRET_VALUE.encode()).decode()}}
    created = apply(client, [secret], namespace, want_diff=True)
    changed = dict(secret, data={"password": base64.b64encode(b"other-" + SECRET_VALUE.encode()).decode()})
    updated = apply(client, [changed], namespace, want_diff=True)
    text = json.dumps([created, updated])
    assert SECRET_VALUE not in text and base64.b64encode(SECRET_VALUE.encode()).decode() not in text
    assert updated["resources"][0]["data"] == {"password": "<redacted, changed>"}
    assert "<redacted, changed>" in updated["diff"][0]["after"]


def test_strict_field_validation_names_the_object(client, namespace):
    bad = configmap("bad", a="1")
    bad["spec"] = {"circuitBreaker": True}
    rejected = rf"ConfigMap {namespace}/bad failed: .*(not declared in schema|unknown field)"
    with pytest.raises(ApplyError, match=rejected):
        apply(client, [bad], namespace)


def test_wait_until_deployment_available_then_delete(client, namespace):
    deploy = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
              "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                       "template": {"metadata": {"labels": {"app": "web"}},
                                    "spec": {"containers": [{"name": "web", "image": "example.invalid/web:1"}]}}}}
    apply(client, [deploy], namespace, wait=True, wait_timeout=120)
    live = client.get("apps/v1", "Deployment", "web", namespace)
    assert live["status"]["availableReplicas"] == 2
    gone = apply(client, [deploy], namespace, state="absent", wait=True, wait_timeout=120)
    assert gone["objects"] == [f"Deployment {namespace}/web deleted"]
    assert client.get("apps/v1", "Deployment", "web", namespace) is None
    assert not apply(client, [deploy], namespace, state="absent")["changed"]


def test_wait_timeout_names_what_is_not_ready(client, namespace):
    # No node can take this pod (no node has this label): the rollout never completes.
    deploy = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "stuck"},
              "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "stuck"}},
                       "template": {"metadata": {"labels": {"app": "stuck"}},
                                    "spec": {"nodeSelector": {"no-such": "node"},
                                             "containers": [{"name": "c", "image": "example.invalid/c:1"}]}}}}
    with pytest.raises(ApplyError, match=rf"not ready after 3s: Deployment {namespace}/stuck: 0 of 1"):
        apply(client, [deploy], namespace, wait=True, wait_timeout=3)


def test_read_by_name_by_selector_and_unserved_api(client, namespace):
    apply(client, [dict(configmap("labelled", a="1"), metadata={"name": "labelled", "labels": {"pick": "me"}}),
                   configmap("other", a="1")], namespace)
    assert [o["metadata"]["name"] for o in run_read(client, api_version="v1", kind="ConfigMap", namespace=namespace,
                                                    label_selector="pick=me")["resources"]] == ["labelled"]
    assert run_read(client, api_version="v1", kind="ConfigMap", name="missing", namespace=namespace)["resources"] == []
    unserved = run_read(client, api_version="example.invalid/v1", kind="Thing", namespace=namespace)
    assert unserved == {"changed": False, "resources": [], "api_found": False}


def test_unknown_kind_is_a_clear_error(client, namespace):
    with pytest.raises(ApplyError, match="serves no kind Widget in v1"):
        apply(client, [{"apiVersion": "v1", "kind": "Widget", "metadata": {"name": "w"}}], namespace)


def test_exec_credential_plugin_and_token_file(kubectl, tmp_path, namespace):
    """A kubeconfig whose user is an exec plugin (as EKS, GKE and AKS write them) works, and a
    bearer token from a tokenFile is sent (the API server answers 401 for a wrong one)."""
    with open(kubectl.kubeconfig, encoding="utf-8") as fh:
        cfg = yaml.safe_load(fh)
    user = cfg["users"][0]["user"]
    plugin = tmp_path / "credential-plugin"
    with open(user["client-certificate"], encoding="utf-8") as crt, open(user["client-key"], encoding="utf-8") as key:
        status = {"clientCertificateData": crt.read(), "clientKeyData": key.read()}
    plugin.write_text("#!/bin/sh\ncat <<'EOF'\n" + json.dumps(
        {"apiVersion": "client.authentication.k8s.io/v1", "kind": "ExecCredential", "status": status}) + "\nEOF\n")
    plugin.chmod(plugin.stat().st_mode | stat.S_IXUSR)
    cfg["users"][0]["user"] = {"exec": {"apiVersion": "client.authentication.k8s.io/v1", "command": str(plugin),
                                        "interactiveMode": "Never"}}
    exec_cfg = tmp_path / "exec.kubeconfig"
    exec_cfg.write_text(yaml.safe_dump(cfg))
    client = KubeClient.from_config(str(exec_cfg))
    assert client.get("v1", "Namespace", namespace)["metadata"]["name"] == namespace

    token = tmp_path / "token"
    token.write_text("not-a-valid-token\n")
    cfg["users"][0]["user"] = {"tokenFile": str(token)}
    token_cfg = tmp_path / "token.kubeconfig"
    token_cfg.write_text(yaml.safe_dump(cfg))
    with pytest.raises(Exception, match="401"):
        KubeClient.from_config(str(token_cfg)).get("v1", "Namespace", namespace)


def test_kubeconfig_errors_are_clear(kubectl, tmp_path):
    with pytest.raises(KubeError, match="context 'nope' is not in the kubeconfig"):
        KubeClient.from_config(kubectl.kubeconfig, context="nope")
    with pytest.raises(KubeError, match="no kubeconfig found"):
        KubeClient.from_config(str(tmp_path / "missing"))
    assert os.path.exists(kubectl.kubeconfig)


def test_prune_keeps_the_newest_and_the_applied(client, namespace):
    for i in range(4):
        apply(client, [dict(configmap(f"snap-{i}", a=str(i)), metadata={"name": f"snap-{i}", "labels": {"snap": "y"}})],
              namespace)
        time.sleep(1.05)  # creationTimestamp has whole seconds
    current = dict(configmap("snap-3", a="3"), metadata={"name": "snap-3", "labels": {"snap": "y"}})
    dry = apply(client, [current], namespace, check_mode=True,
                prune={"kind": "ConfigMap", "label_selector": "snap=y", "keep": 1})
    assert dry["objects"][:2] == [f"ConfigMap {namespace}/snap-0 deleted", f"ConfigMap {namespace}/snap-1 deleted"]
    assert len(run_read(client, api_version="v1", kind="ConfigMap", namespace=namespace,
                        label_selector="snap=y")["resources"]) == 4
    res = apply(client, [current], namespace, prune={"kind": "ConfigMap", "label_selector": "snap=y", "keep": 1})
    assert res["changed"] and res["objects"][-1] == f"ConfigMap {namespace}/snap-3 unchanged"
    left = run_read(client, api_version="v1", kind="ConfigMap", namespace=namespace, label_selector="snap=y")
    assert sorted(o["metadata"]["name"] for o in left["resources"]) == ["snap-2", "snap-3"]


def test_a_crd_just_created_is_listable_at_once(client, kubectl):
    """What failed CI on a new machine: the first read of a CRD whose watch cache is still
    initializing answers 429 with Retry-After; the client waits and retries instead of failing."""
    group = f"g{uuid.uuid4().hex[:8]}.example.com"
    crd = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
           "metadata": {"name": f"widgets.{group}"},
           "spec": {"group": group, "scope": "Namespaced",
                    "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
                    "versions": [{"name": "v1", "served": True, "storage": True,
                                  "schema": {"openAPIV3Schema": {"type": "object",
                                                                 "x-kubernetes-preserve-unknown-fields": True}}}]}}
    try:
        run_apply(client, [crd], field_manager="pytest-apply", wait=True, wait_timeout=60,
                  wait_condition={"type": "Established"})
        before = client.requests
        assert client.list(f"/apis/{group}/v1/widgets") == []  # from the watch cache (resourceVersion=0)
        assert client.call("GET", f"/apis/{group}/v1/widgets").get("items") == []
        assert client.requests - before >= 2
    finally:
        kubectl.run("delete", "crd", f"widgets.{group}", "--wait=false", check=False)


def test_the_local_clusters_ca_alone_is_trusted(kubectl, tmp_path, monkeypatch):
    """A kubeconfig that names a CA is trusted with that CA alone: the real API server is refused
    when the kubeconfig names another CA, even though the system store trusts the server's."""
    from tests.kube_server_support import Pki

    with open(kubectl.kubeconfig, encoding="utf-8") as fh:
        cfg = yaml.safe_load(fh)
    cluster = cfg["clusters"][0]["cluster"]
    monkeypatch.setenv("SSL_CERT_FILE", cluster.pop("certificate-authority"))  # the system trusts the cluster
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    system = tmp_path / "system-ca.kubeconfig"
    system.write_text(yaml.safe_dump(cfg))
    assert KubeClient.from_config(str(system)).call("GET", "/version")["major"]  # no CA named: the system's
    cluster["certificate-authority-data"] = base64.b64encode(Pki("another-ca").pem()).decode()
    wrong = tmp_path / "wrong-ca.kubeconfig"
    wrong.write_text(yaml.safe_dump(cfg))
    with pytest.raises(KubeError, match="certificate verify failed"):
        KubeClient.from_config(str(wrong)).call("GET", "/version")

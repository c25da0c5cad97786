"""Issue 11 item 8: with a cluster CA the client trusts only that CA (not the system's roots as
well), refuses a CA together with skipping verification, and never sends credentials over http.
Real TLS servers with certificates made by cryptography; the "system" store is SSL_CERT_FILE."""

from __future__ import annotations

import base64

import pytest
from ansible_collections.agentic.platform.plugins.module_utils.kube_client import KubeClient, KubeError

from tests.kube_server_support import Pki, ScriptedServer, answer, kubeconfig, server_tls

NAMESPACE = {"kind": "Namespace", "metadata": {"name": "default"}}


@pytest.fixture(scope="module")
def cluster_ca() -> Pki:
    return Pki("cluster-ca")


@pytest.fixture(scope="module")
def public_ca() -> Pki:
    return Pki("some-public-ca")


@pytest.fixture
def system_store(tmp_path, monkeypatch, public_ca) -> Pki:
    """A system trust store holding only ``public_ca`` (OpenSSL reads SSL_CERT_FILE)."""
    store = tmp_path / "system-roots.pem"
    store.write_bytes(public_ca.pem())
    monkeypatch.setenv("SSL_CERT_FILE", str(store))
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    return public_ca


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def get(cfg: str, **kw) -> dict:
    client = KubeClient.from_config(cfg, **kw)
    try:
        return client.call("GET", "/api/v1/namespaces/default")
    finally:
        client.close()


def test_a_server_the_system_trusts_is_refused_when_a_cluster_ca_is_set(tmp_path, system_store, cluster_ca):
    impostor = server_tls(tmp_path, *system_store.issue("127.0.0.1"))
    with ScriptedServer([answer(200, NAMESPACE)] * 3, tls=impostor) as server:
        # Control: without a cluster CA, the system store is used and trusts this server.
        assert get(kubeconfig(tmp_path / "none", server.url)) == NAMESPACE
        with pytest.raises(KubeError, match="certificate verify failed"):
            get(kubeconfig(tmp_path / "data", server.url, {"certificate-authority-data": b64(cluster_ca.pem())}))
        ca_file = tmp_path / "ca.crt"
        ca_file.write_bytes(cluster_ca.pem())
        with pytest.raises(KubeError, match="certificate verify failed"):
            get(kubeconfig(tmp_path / "file", server.url, {"certificate-authority": "ca.crt"}))
        with pytest.raises(KubeError, match="certificate verify failed"):
            get(kubeconfig(tmp_path / "none", server.url), ca_cert=str(ca_file))
    assert len(server.requests) == 1  # only the control's request got through


def test_the_cluster_ca_is_trusted(tmp_path, system_store, cluster_ca):
    ca_file = tmp_path / "ca.crt"
    ca_file.write_bytes(cluster_ca.pem())
    with ScriptedServer(tls=server_tls(tmp_path, *cluster_ca.issue("127.0.0.1"))) as server:
        data = {"certificate-authority-data": b64(cluster_ca.pem())}
        assert get(kubeconfig(tmp_path / "data", server.url, data)) == {}
        assert get(kubeconfig(tmp_path / "file", server.url, {"certificate-authority": "ca.crt"})) == {}
        with pytest.raises(KubeError, match="certificate verify failed"):  # not in the system store
            get(kubeconfig(tmp_path / "none", server.url))
    assert len(server.requests) == 2


def test_a_ca_with_insecure_skip_tls_verify_is_refused(tmp_path, cluster_ca):
    with ScriptedServer(tls=server_tls(tmp_path, *cluster_ca.issue("127.0.0.1"))) as server:
        both = kubeconfig(tmp_path / "both", server.url, {"certificate-authority-data": b64(cluster_ca.pem()),
                                                          "insecure-skip-tls-verify": True})
        with pytest.raises(KubeError, match="cluster 'cl' of the kubeconfig sets both insecure-skip-tls-verify "
                                            "and a certificate authority"):
            KubeClient.from_config(both)
        ca_file = tmp_path / "ca.crt"
        ca_file.write_bytes(cluster_ca.pem())
        plain = kubeconfig(tmp_path / "plain", server.url)
        with pytest.raises(KubeError, match="ca_cert and validate_certs: false contradict each other"):
            KubeClient.from_config(plain, ca_cert=str(ca_file), validate_certs=False)
        # Overrides win as with kubectl's flags: skipping verification drops the kubeconfig's CA,
        # and an explicit CA replaces the kubeconfig's insecure flag.
        assert get(both, validate_certs=False) == {}
        assert get(both, ca_cert=str(ca_file)) == {}
    assert len(server.requests) == 2


def test_a_certificate_authority_that_is_not_one_is_a_clear_error(tmp_path):
    server = "https://127.0.0.1:1"
    with pytest.raises(KubeError, match="certificate-authority-data of cluster 'cl' is not base64"):
        KubeClient.from_config(kubeconfig(tmp_path / "a", server, {"certificate-authority-data": "%%%"}))
    with pytest.raises(KubeError, match="certificate authority of cluster 'cl' is not a PEM certificate"):
        KubeClient.from_config(kubeconfig(tmp_path / "b", server, {"certificate-authority-data": b64(b"nope")}))
    with pytest.raises(KubeError, match=r"certificate authority file .*missing.crt of cluster 'cl' does not exist"):
        KubeClient.from_config(kubeconfig(tmp_path / "c", server, {"certificate-authority": "missing.crt"}))


def test_credentials_are_never_sent_over_http(tmp_path):
    marker = tmp_path / "plugin-ran"
    plugin = tmp_path / "plugin"
    plugin.write_text(f"#!/bin/sh\ntouch {marker}\n")
    plugin.chmod(0o700)
    with ScriptedServer([answer(200, NAMESPACE)]) as server:
        for user in ({"token": "t0k3n"}, {"username": "admin", "password": "pw"}, {"tokenFile": "tok"},
                     {"exec": {"apiVersion": "client.authentication.k8s.io/v1", "command": str(plugin)}}):
            with pytest.raises(KubeError, match=f"API server {server.url} is plain http: credentials"):
                KubeClient.from_config(kubeconfig(tmp_path / "cfg", server.url, user=user))
        with pytest.raises(KubeError, match="plain http"):
            KubeClient.from_config(kubeconfig(tmp_path / "cfg", "https://127.0.0.1:1"), host=server.url,
                                   api_key="t0k3n")
        with pytest.raises(KubeError, match="plain http"):
            KubeClient(server.url, None, {"Authorization": "Bearer t0k3n"})
        # Without credentials, a plain http server (a local insecure port) is still reachable.
        assert get(kubeconfig(tmp_path / "anon", server.url)) == NAMESPACE
    assert len(server.requests) == 1 and "Authorization" not in server.requests[0][2]
    assert not marker.exists()

"""Issue 11 item 12 (client side): a client certificate's private key given as data (kubeconfig
client-key-data, or an exec plugin's clientKeyData) never outlives the process: it is loaded
from memory, not from a file left behind when the process dies mid-way."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys

import pytest
from ansible_collections.agentic.platform.plugins.module_utils.kube_client import KubeClient, KubeError

from tests.kube_server_support import Pki, ScriptedServer, answer, kubeconfig, server_tls
from tests.monitoring_support import ROOT


@pytest.fixture(scope="module")
def pki() -> Pki:
    return Pki("cluster-ca")


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def cert_config(tmp_path, pki: Pki, server: str, name: str = "kubeconfig") -> tuple[str, bytes]:
    crt, key = pki.issue("admin", server=False)
    cfg = kubeconfig(tmp_path / name, server, {"certificate-authority-data": b64(pki.pem())},
                     {"client-certificate-data": b64(crt), "client-key-data": b64(key)})
    return cfg, key


@pytest.mark.parametrize("memfd", [True, False], ids=["memfd", "temporary-file"])
def test_a_client_certificate_given_as_data_authenticates(tmp_path, pki, monkeypatch, memfd):
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    monkeypatch.setattr("tempfile.tempdir", str(tmpdir))
    if not memfd:  # as on a controller without memfd (macOS)
        monkeypatch.delattr(os, "memfd_create", raising=False)
    tls = server_tls(tmp_path, *pki.issue("127.0.0.1"), client_ca=pki.pem())
    with ScriptedServer([answer(200, {"kind": "APIVersions"})], tls=tls) as server:
        cfg, _key = cert_config(tmp_path, pki, server.url)
        assert KubeClient.from_config(cfg).call("GET", "/api") == {"kind": "APIVersions"}
        # Without the certificate the server refuses the handshake.
        bare = kubeconfig(tmp_path / "bare", server.url, {"certificate-authority-data": b64(pki.pem())})
        with pytest.raises(KubeError, match="cannot reach the API server"):
            KubeClient.from_config(bare).call("GET", "/api")
    assert len(server.requests) == 1
    assert not list(tmpdir.iterdir())


DIES_WHILE_LOADING = """
import json, os, ssl, sys
from ansible_collections.agentic.platform.plugins.module_utils.kube_client import KubeClient

def load_cert_chain(self, certfile, keyfile=None, password=None):
    # Where the key is while ssl reads it; then the process dies at once (no cleanup runs).
    print(json.dumps({"path": certfile, "target": os.path.realpath(certfile)}), flush=True)
    os._exit(9)

ssl.SSLContext.load_cert_chain = load_cert_chain
KubeClient.from_config(sys.argv[1])
"""


def test_the_key_is_never_in_a_file_that_outlives_the_process(tmp_path, pki):
    cfg, key = cert_config(tmp_path, pki, "https://127.0.0.1:1")
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    res = subprocess.run([sys.executable, "-c", DIES_WHILE_LOADING, cfg], capture_output=True, text=True,
                         env={**os.environ, "TMPDIR": str(tmpdir), "PYTHONPATH": str(ROOT / ".collections")},
                         check=False)
    assert res.returncode == 9, res.stderr
    seen = json.loads(res.stdout)
    assert not list(tmpdir.iterdir()), "a file holding the key was left behind"
    if hasattr(os, "memfd_create"):  # Linux: the key only ever was in an anonymous memory file
        assert seen["target"].startswith("/memfd:"), seen
    assert not os.path.exists(seen["target"])
    body = key.split(b"\n")[1]
    assert not [p for p in tmp_path.rglob("*") if p.is_file() and body in p.read_bytes()
                and p.name != "kubeconfig"]


def test_a_bad_key_is_a_clear_error_without_the_key(tmp_path, pki):
    crt, _key = pki.issue("admin", server=False)
    _crt, other_key = pki.issue("someone-else", server=False)
    cfg = kubeconfig(tmp_path / "mismatch", "https://127.0.0.1:1", {"certificate-authority-data": b64(pki.pem())},
                     {"client-certificate-data": b64(crt), "client-key-data": b64(other_key)})
    with pytest.raises(KubeError, match="client certificate and key cannot be loaded") as err:
        KubeClient.from_config(cfg)
    assert other_key.split(b"\n")[1].decode() not in str(err.value)
    cfg = kubeconfig(tmp_path / "garbage", "https://127.0.0.1:1", {"certificate-authority-data": b64(pki.pem())},
                     {"client-certificate-data": "%%%", "client-key-data": b64(other_key)})
    with pytest.raises(KubeError, match="client-certificate-data or client-key-data is not base64"):
        KubeClient.from_config(cfg)

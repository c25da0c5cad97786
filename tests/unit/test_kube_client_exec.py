"""Issue 11 item 9: exec credential plugins. Errors carry only the command's name, its exit
code and its installHint (never its arguments, environment or stderr); what it prints is
validated; its credential is cached until its expirationTimestamp. Real plugin scripts."""

from __future__ import annotations

import base64
import datetime
import json
import os
import re
import subprocess
import sys

import pytest
from ansible_collections.agentic.platform.plugins.module_utils.kube_client import KubeClient, KubeError

from tests.kube_server_support import Pki, ScriptedServer, answer, kubeconfig, server_tls
from tests.monitoring_support import ANSIBLE_PLAYBOOK, ROOT, ansible_env

V1 = "client.authentication.k8s.io/v1"
SECRET = "client-secret-Zq81x"  # on the plugin's command line, in its env and on its stderr


def credential(status: dict, api_version: str = V1, kind: str = "ExecCredential") -> str:
    return json.dumps({"apiVersion": api_version, "kind": kind, "status": status})


def plugin(tmp_path, stdout: str, code: int = 0, name: str = "cloud-auth") -> str:
    """A plugin script that counts its runs in <name>.runs, leaks SECRET to stderr, prints stdout."""
    script = tmp_path / name
    script.write_text(f"#!/bin/sh\necho run >> {tmp_path / (name + '.runs')}\n"
                      f"echo \"token refresh failed for $1 $CLOUD_SECRET\" >&2\n"
                      f"cat <<'EOF'\n{stdout}\nEOF\nexit {code}\n")
    script.chmod(0o700)
    return str(script)


def runs(tmp_path, name: str = "cloud-auth") -> int:
    path = tmp_path / (name + ".runs")
    return len(path.read_text().splitlines()) if path.exists() else 0


def exec_config(tmp_path, command: str, server: str = "https://127.0.0.1:1", cluster: dict | None = None,
                **extra) -> str:
    spec = {"apiVersion": V1, "command": command, "args": ["--client-secret", SECRET],
            "env": [{"name": "CLOUD_SECRET", "value": SECRET}], **extra}
    return kubeconfig(tmp_path / f"kubeconfig-{abs(hash(json.dumps(spec, sort_keys=True)))}", server,
                      cluster, {"exec": spec})


def in_an_hour() -> str:
    return (datetime.datetime.now(datetime.UTC) + datetime.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_a_failing_plugin_is_named_with_its_exit_code_and_install_hint_only(tmp_path):
    cfg = exec_config(tmp_path, plugin(tmp_path, "", code=3), installHint="Install cloud-auth: see the docs.")
    with pytest.raises(KubeError) as err:
        KubeClient.from_config(cfg)
    assert str(err.value) == "exec credential plugin 'cloud-auth' exited with code 3; Install cloud-auth: see the docs."
    assert SECRET not in str(err.value) and "token refresh failed" not in str(err.value)

    missing = exec_config(tmp_path, "no-such-cloud-auth", installHint="apt install cloud-auth")
    with pytest.raises(KubeError, match=r"^exec credential plugin 'no-such-cloud-auth' was not found; "
                                        r"apt install cloud-auth$"):
        KubeClient.from_config(missing)


@pytest.mark.parametrize(("stdout", "problem"), [
    ("not json at all " + SECRET, "no JSON ExecCredential"),
    ("[1, 2]", "JSON that is not an ExecCredential"),
    (credential({"token": "t"}, kind="Secret"), "JSON that is not an ExecCredential"),
    (credential({"token": "t"}, api_version="client.authentication.k8s.io/v1beta1"),
     "apiVersion client.authentication.k8s.io/v1beta1, not the client.authentication.k8s.io/v1 it was asked for"),
    (json.dumps({"apiVersion": V1, "kind": "ExecCredential"}), "an ExecCredential without status"),
    (credential({}), "neither status.token nor status.clientCertificateData/clientKeyData"),
    (credential({"clientCertificateData": "PEM"}), "only one of status.clientCertificateData"),
    (credential({"token": 42}), "status fields are not strings"),
    (credential({"token": "t", "expirationTimestamp": "tomorrow"}), "expirationTimestamp is not RFC 3339"),
])
def test_what_the_plugin_prints_is_validated(tmp_path, stdout, problem):
    with pytest.raises(KubeError, match="^exec credential plugin 'cloud-auth' printed .*" + re.escape(problem)) as err:
        KubeClient.from_config(exec_config(tmp_path, plugin(tmp_path, stdout)))
    assert SECRET not in str(err.value)


def test_configurations_a_task_cannot_satisfy_are_refused(tmp_path):
    command = plugin(tmp_path, credential({"token": "t"}))
    with pytest.raises(KubeError, match="needs an interactive terminal"):
        KubeClient.from_config(exec_config(tmp_path, command, interactiveMode="Always"))
    with pytest.raises(KubeError, match=r"apiVersion client\.authentication\.k8s\.io/v1alpha1 is not supported"):
        KubeClient.from_config(exec_config(tmp_path, command, apiVersion="client.authentication.k8s.io/v1alpha1"))
    with pytest.raises(KubeError, match="env must be a list of"):
        KubeClient.from_config(exec_config(tmp_path, command, env=[{"name": "X"}]))
    assert runs(tmp_path) == 0


@pytest.fixture(scope="module")
def pki() -> Pki:
    return Pki("cluster-ca")


def tls_cluster(pki: Pki) -> dict:
    return {"certificate-authority-data": base64.b64encode(pki.pem()).decode()}


def test_the_token_is_sent_and_cached_until_it_expires(tmp_path, pki):
    status = {"token": "tok-1", "expirationTimestamp": in_an_hour()}
    command = plugin(tmp_path, credential(status))
    with ScriptedServer([answer(200, {})] * 4, tls=server_tls(tmp_path, *pki.issue("127.0.0.1"))) as server:
        cfg = exec_config(tmp_path, command, server.url, tls_cluster(pki))
        for _i in range(3):  # three tasks of a play in one process
            KubeClient.from_config(cfg).call("GET", "/api")
        assert runs(tmp_path) == 1
        # Another exec configuration is another credential.
        KubeClient.from_config(exec_config(tmp_path, command, server.url, tls_cluster(pki),
                                           env=[{"name": "PROFILE", "value": "other"}])).call("GET", "/api")
        assert runs(tmp_path) == 2
    assert [r[2]["Authorization"] for r in server.requests] == ["Bearer tok-1"] * 4


def test_an_expired_credential_runs_the_plugin_again(tmp_path, pki):
    past = (datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=1)).isoformat()
    command = plugin(tmp_path, credential({"token": "tok-old", "expirationTimestamp": past}))
    cfg = exec_config(tmp_path, command, "https://127.0.0.1:1", tls_cluster(pki))
    KubeClient.from_config(cfg)
    KubeClient.from_config(cfg)
    assert runs(tmp_path) == 2


def test_the_plugin_is_told_it_cannot_prompt(tmp_path, pki):
    script = tmp_path / "echo-info"
    # The token it prints is what it was given in KUBERNETES_EXEC_INFO (base64).
    script.write_text("#!/bin/sh\nprintf '{\"apiVersion\": \"%s\", \"kind\": \"ExecCredential\", "
                      "\"status\": {\"token\": \"%s\"}}' \"" + V1 + "\" "
                      "\"$(echo \"$KUBERNETES_EXEC_INFO\" | base64 -w0)\"\n")
    script.chmod(0o700)
    with ScriptedServer(tls=server_tls(tmp_path, *pki.issue("127.0.0.1"))) as server:
        KubeClient.from_config(exec_config(tmp_path, str(script), server.url, tls_cluster(pki))).call("GET", "/api")
    sent = server.requests[0][2]["Authorization"].removeprefix("Bearer ")
    assert json.loads(base64.b64decode(sent)) == {"apiVersion": V1, "kind": "ExecCredential",
                                                  "spec": {"interactive": False}}


def test_a_play_runs_the_plugin_once_not_once_a_task(tmp_path, pki):
    """Ansible runs each task in a process of its own: the token is shared through the run's
    private temporary directory, which Ansible removes when the run ends."""
    command = plugin(tmp_path, credential({"token": "tok-play", "expirationTimestamp": in_an_hour()}))
    local_tmp = tmp_path / "ansible-local"
    with ScriptedServer(tls=server_tls(tmp_path, *pki.issue("127.0.0.1"))) as server:
        cfg = exec_config(tmp_path, command, server.url, tls_cluster(pki))
        tasks = "".join(f"    - agentic.platform.k8s_read: {{kubeconfig: '{cfg}', kind: Namespace, name: n{i}}}\n"
                        for i in range(4))
        play = tmp_path / "play.yml"
        play.write_text("- hosts: localhost\n  gather_facts: false\n  tasks:\n" + tasks)
        res = subprocess.run([str(ANSIBLE_PLAYBOOK), "-i", "localhost,", "-c", "local", str(play)], cwd=ROOT,
                             env={**ansible_env(), "ANSIBLE_LOCAL_TEMP": str(local_tmp)},
                             capture_output=True, text=True, check=False)
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
    assert "ok=4" in res.stdout and "tok-play" not in res.stdout + res.stderr
    assert runs(tmp_path) == 1
    assert {r[2]["Authorization"] for r in server.requests} == {"Bearer tok-play"} and len(server.requests) == 4
    assert not [p for p in local_tmp.rglob("*") if p.is_file()]  # nothing left after the run


SHARE = """
import sys
from ansible_collections.agentic.platform.plugins.module_utils.kube_client import KubeClient
KubeClient.from_config(sys.argv[1], exec_cache_dir=sys.argv[2])
"""


def share(cfg: str, directory) -> None:
    subprocess.run([sys.executable, "-c", SHARE, cfg, str(directory)], check=True,
                   env={**os.environ, "PYTHONPATH": str(ROOT / ".collections")})


def test_processes_share_only_tokens_with_an_expiry_and_only_in_a_private_directory(tmp_path, pki):
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    token = exec_config(tmp_path, plugin(tmp_path, credential({"token": "t", "expirationTimestamp": in_an_hour()})),
                        cluster=tls_cluster(pki))
    for _i in range(3):
        share(token, private)
    assert runs(tmp_path) == 1

    open_dir = tmp_path / "open"
    open_dir.mkdir(mode=0o755)
    open_dir.chmod(0o755)
    for _i in range(2):
        share(token, open_dir)
    assert runs(tmp_path) == 3 and not list(open_dir.iterdir())

    crt, key = pki.issue("exec-user", server=False)
    certs = exec_config(tmp_path, plugin(tmp_path, credential({
        "clientCertificateData": crt.decode(), "clientKeyData": key.decode(), "expirationTimestamp": in_an_hour()}),
        name="cert-auth"), cluster=tls_cluster(pki))
    for _i in range(2):
        share(certs, private)
    assert runs(tmp_path, "cert-auth") == 2  # a client key is never written to share it
    stored = b"".join(p.read_bytes() for p in private.iterdir())
    assert b"PRIVATE KEY" not in stored and b"exec-user" not in stored

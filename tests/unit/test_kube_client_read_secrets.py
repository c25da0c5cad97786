"""Issue 11 item 12 (k8s_read): a Secret's values are returned only when the task asks for them
(secret_data), never by default: not in data, stringData, nor the last-applied annotation.
The action runs in ansible-playbook against a real (scripted) API server."""

from __future__ import annotations

import base64
import json
import subprocess

from tests.kube_server_support import ScriptedServer, answer, kubeconfig
from tests.monitoring_support import ANSIBLE_PLAYBOOK, ROOT, ansible_env

VALUE = "hunter2-" + "x" * 8
DISCOVERY = {"kind": "APIResourceList", "groupVersion": "v1",
             "resources": [{"name": "secrets", "kind": "Secret", "namespaced": True}]}
LAST_APPLIED = json.dumps({"apiVersion": "v1", "kind": "Secret", "stringData": {"password": VALUE}})
SECRET = {"apiVersion": "v1", "kind": "Secret",
          "metadata": {"name": "s", "namespace": "n", "resourceVersion": "7", "labels": {"app": "x"},
                       "annotations": {"kubectl.kubernetes.io/last-applied-configuration": LAST_APPLIED,
                                       "agentic.platform/secrets-version": "v1"},
                       "managedFields": [{"manager": "kubectl", "fieldsV1": {"f:data": {"f:password": {}}}}]},
          "data": {"password": base64.b64encode(VALUE.encode()).decode()}, "type": "Opaque"}

PLAY = """
- hosts: localhost
  gather_facts: false
  tasks:
    - agentic.platform.k8s_read: {{kubeconfig: '{cfg}', kind: Secret, namespace: n, name: s}}
      register: plain
    - agentic.platform.k8s_read: {{kubeconfig: '{cfg}', kind: Secret, namespace: n, label_selector: app=x}}
      register: listed
    - agentic.platform.k8s_read: {{kubeconfig: '{cfg}', kind: Secret, namespace: n, name: s, secret_data: true}}
      register: asked
      no_log: true
    - ansible.builtin.copy:
        content: "{{{{ dict(plain=plain.resources, listed=listed.resources, asked=asked.resources) | to_json }}}}"
        dest: "{out}"
        mode: "0600"
      no_log: true
"""


def test_k8s_read_returns_secret_values_only_when_asked(tmp_path):
    # the run's tasks share API discovery (asked once a run)
    script = [answer(200, DISCOVERY), answer(200, SECRET), answer(200, {"kind": "SecretList", "items": [SECRET]}),
              answer(200, SECRET)]
    out = tmp_path / "out.json"
    with ScriptedServer(script) as server:
        cfg = kubeconfig(tmp_path / "kubeconfig", server.url)
        play = tmp_path / "play.yml"
        play.write_text(PLAY.format(cfg=cfg, out=out))
        res = subprocess.run([str(ANSIBLE_PLAYBOOK), "-i", "localhost,", "-c", "local", str(play)], cwd=ROOT,
                             env=ansible_env(), capture_output=True, text=True, check=False)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-2000:]
    found = json.loads(out.read_text())
    for default in (found["plain"], found["listed"]):
        text = json.dumps(default)
        assert VALUE not in text and SECRET["data"]["password"] not in text
        (secret,) = default
        assert secret["data"] == {"password": "<redacted>"}
        assert secret["metadata"]["annotations"] == {"agentic.platform/secrets-version": "v1"}
        assert "managedFields" not in secret["metadata"]
    assert found["asked"][0]["data"] == SECRET["data"]
    assert VALUE not in res.stdout + res.stderr

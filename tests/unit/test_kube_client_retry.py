"""Issue 11 item 10: the client retries what is safe to retry (429/503 after Retry-After, broken
connections) on reads and idempotent writes, within its deadline, and never sends a POST twice.
Against a real HTTP server scripted per request; waits are recorded instead of slept."""

from __future__ import annotations

import socket

import pytest
from ansible_collections.agentic.platform.plugins.module_utils import kube_client
from ansible_collections.agentic.platform.plugins.module_utils.kube_client import (
    APPLY_PATCH,
    ApiError,
    KubeClient,
    KubeError,
)

from tests.kube_server_support import CLOSE, RESET, ScriptedServer, answer

STORAGE_INITIALIZING = {"kind": "Status", "message": "storage is (re)initializing", "code": 429}


class Clock:
    """The client's clock and sleep: sleeping advances the clock and records the wait."""

    def __init__(self):
        self.now, self.waits = 1000.0, []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds


def client_for(server: ScriptedServer, **kw) -> tuple[KubeClient, Clock]:
    client = KubeClient(server.url, None, {}, timeout=5, **kw)
    clock = Clock()
    client.clock, client.sleep = clock, clock.sleep
    return client, clock


def test_a_read_waits_for_retry_after_then_succeeds():
    script = [answer(429, STORAGE_INITIALIZING, Retry_After="1"), answer(503, {}, Retry_After="2"),
              answer(200, {"items": [{"metadata": {"name": "a"}}]})]
    with ScriptedServer(script) as server:
        client, clock = client_for(server)
        assert client.list("/apis/keda.sh/v1alpha1/scaledobjects") == [{"metadata": {"name": "a"}}]
    assert server.methods() == ["GET", "GET", "GET"]
    assert clock.waits == [1.0, 2.0]
    assert client.requests == 3


def test_the_happy_path_sends_one_request_and_never_waits():
    with ScriptedServer([answer(200, {"kind": "Namespace"})] * 3) as server:
        client, clock = client_for(server)
        for _i in range(3):
            assert client.call("GET", "/api/v1/namespaces/x") == {"kind": "Namespace"}
    assert len(server.requests) == 3 and clock.waits == []


def test_retry_after_is_capped_and_an_http_date_is_understood():
    script = [answer(429, {}, Retry_After="3600"), answer(429, {}, Retry_After="Wed, 21 Oct 2015 07:28:00 GMT")]
    with ScriptedServer(script) as server:
        client, clock = client_for(server)
        client.call("GET", "/api")
    assert clock.waits == [kube_client.RETRY_AFTER_MAX, 0.1]  # a date in the past: at once (a short pause)


def test_retries_stop_at_the_deadline_with_the_servers_error():
    with ScriptedServer([answer(429, STORAGE_INITIALIZING, Retry_After="4")] * 50) as server:
        client, clock = client_for(server, retry_for=30)
        with pytest.raises(ApiError, match=r"429 .*storage is \(re\)initializing"):
            client.call("GET", "/api")
    assert clock.waits == [4.0] * 7 and len(server.requests) == 8  # 7 waits of 4 s fit in 30 s

    with ScriptedServer([answer(429, {}, Retry_After="1")] * 5) as server:
        client, clock = client_for(server)
        client.deadline = clock.now + 2.5  # the task's own timeout is nearer than retry_for
        with pytest.raises(ApiError):
            client.call("GET", "/api")
    assert clock.waits == [1.0, 1.0] and len(server.requests) == 3


def test_a_reset_or_dropped_connection_is_retried_for_reads_and_idempotent_writes():
    obj = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}
    with ScriptedServer([RESET, answer(200, {"kind": "NamespaceList"}), CLOSE, answer(200, obj),
                         RESET, answer(200, {}), CLOSE, answer(200, obj)]) as server:
        client, clock = client_for(server)
        assert client.call("GET", "/api/v1/namespaces") == {"kind": "NamespaceList"}
        assert client.call("PATCH", "/api/v1/namespaces/n/configmaps/c", {"fieldManager": "t"}, obj,
                           content_type=APPLY_PATCH) == obj
        assert client.call("DELETE", "/api/v1/namespaces/n/configmaps/c") == {}
        assert client.call("PUT", "/api/v1/namespaces/n/configmaps/c", body=obj) == obj
    assert server.methods() == ["GET", "GET", "PATCH", "PATCH", "DELETE", "DELETE", "PUT", "PUT"]
    assert len(clock.waits) == 4


def test_a_post_is_sent_once_whatever_happens():
    job = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"generateName": "smoke-"}}
    with ScriptedServer([CLOSE, RESET, answer(429, {}, Retry_After="1"), answer(503, {}, Retry_After="1")]) as server:
        client, clock = client_for(server)
        with pytest.raises(KubeError, match="a POST is not sent twice"):
            client.call("POST", "/apis/batch/v1/namespaces/n/jobs", body=job)
        with pytest.raises(KubeError, match="a POST is not sent twice"):
            client.call("POST", "/apis/batch/v1/namespaces/n/jobs", body=job)
        with pytest.raises(ApiError, match="429"):
            client.call("POST", "/apis/batch/v1/namespaces/n/jobs", body=job)
        with pytest.raises(ApiError, match="503"):
            client.call("POST", "/apis/batch/v1/namespaces/n/jobs", body=job)
    assert server.methods() == ["POST"] * 4 and clock.waits == []


def test_a_non_apply_patch_is_not_retried():
    with ScriptedServer([RESET]) as server:
        client, _log = client_for(server)
        with pytest.raises(KubeError):
            client.call("PATCH", "/api/v1/nodes/n", body=[{"op": "add", "path": "/x", "value": 1}],
                        content_type="application/json-patch+json")
    assert server.methods() == ["PATCH"]


def test_a_refused_connection_is_retried_a_few_times_then_named():
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = KubeClient(f"http://127.0.0.1:{port}", None, {}, timeout=5)
    clock = Clock()
    client.clock, client.sleep = clock, clock.sleep
    with pytest.raises(KubeError, match=f"cannot reach the API server http://127.0.0.1:{port}"):
        client.call("GET", "/api")
    assert len(clock.waits) == kube_client.CONNECTION_ATTEMPTS - 1
    assert client.requests == kube_client.CONNECTION_ATTEMPTS


def test_other_errors_are_not_retried():
    with ScriptedServer([answer(404, {"message": "not found"}), answer(500, {"message": "boom"}, Retry_After="1"),
                         answer(409, {"message": "conflict"}), answer(503, {"message": "unavailable"})]) as server:
        client, clock = client_for(server)
        for status in (404, 500, 409, 503):  # a 503 without Retry-After: an aggregated API that is down
            with pytest.raises(ApiError, match=str(status)):
                client.call("GET", "/api/v1/namespaces/x")
    assert len(server.requests) == 4 and clock.waits == []


def test_the_gpu_smoke_job_is_created_once_when_the_answer_to_its_creation_is_lost():
    from ansible_collections.agentic.platform.plugins.module_utils import gpu_cluster

    done = {"status": {"succeeded": 1}}
    with ScriptedServer([CLOSE, answer(200, {"metadata": {"name": "ignored"}}), answer(200, done),
                         answer(200, {"items": [{"spec": {"nodeName": "gpu-0"}}]}), answer(200, {})]) as server:
        client, _log = client_for(server)
        result = gpu_cluster.run_smoke(client, {"selector": "pool=gpu"},
                                       {"namespace": "n", "image": "i", "command": ["true"], "timeout": 30},
                                       sleep=lambda s: None)
    assert result["status"] == "pass", result
    (first, second), rest = server.requests[:2], server.requests[2:]
    assert [first[0], second[0]] == ["PATCH", "PATCH"] and first[1] == second[1] and first[3] == second[3]
    assert first[2]["Content-Type"] == APPLY_PATCH
    assert "POST" not in server.methods()
    assert [r[0] for r in rest] == ["GET", "GET", "DELETE"] and result["observed"]["job"] in first[1]


def test_a_tasks_timeout_bounds_the_retries_and_the_servers_answer_is_reported(tmp_path):
    """With `timeout:` on the task, retries stop before it (the task fails with the API server's
    429, not with Ansible killing it)."""
    import subprocess

    from tests.kube_server_support import kubeconfig
    from tests.monitoring_support import ANSIBLE_PLAYBOOK, ROOT, ansible_env

    with ScriptedServer([answer(429, STORAGE_INITIALIZING, Retry_After="1")] * 100) as server:
        cfg = kubeconfig(tmp_path / "kubeconfig", server.url)
        play = tmp_path / "play.yml"
        play.write_text("- hosts: localhost\n  gather_facts: false\n  tasks:\n"
                        f"    - agentic.platform.k8s_read: {{kubeconfig: '{cfg}', kind: Namespace, name: n}}\n"
                        "      timeout: 4\n")
        res = subprocess.run([str(ANSIBLE_PLAYBOOK), "-i", "localhost,", "-c", "local", str(play)], cwd=ROOT,
                             env=ansible_env(), capture_output=True, text=True, check=False)
    assert res.returncode != 0
    assert "429 Too Many Requests: storage is (re)initializing" in res.stdout, res.stdout[-2000:]
    assert 2 <= len(server.requests) <= 5

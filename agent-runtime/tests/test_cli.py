"""The reference agent server as a process: `python -m agentic_runtime`."""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest


def start(*args: str) -> tuple[subprocess.Popen, int, int]:
    proc = subprocess.Popen([sys.executable, "-m", "agentic_runtime", "--host", "127.0.0.1", "--api-port", "0",
                             "--metrics-port", "0", "--log-level", "WARNING", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    match = re.search(r"api_port=(\d+) metrics_port=(\d+)", proc.stdout.readline())
    assert match, proc.stderr.read()
    return proc, int(match.group(1)), int(match.group(2))


def get(port: int, path: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def test_readiness_follows_a_tcp_dependency_and_drains_on_sigterm():
    dep = socket.socket()
    dep.bind(("127.0.0.1", 0))
    dep.listen()
    dep_port = dep.getsockname()[1]
    proc, api, _ = start("--ready-tcp", f"127.0.0.1:{dep_port}", "--shutdown-grace", "5")
    try:
        status, report = get(api, "/ready")
        assert status == 200
        assert report["checks"][f"dependency:127.0.0.1:{dep_port}"]["status"] == "pass"
        dep.close()  # the dependency goes away: connection refused
        status, report = get(api, "/ready")
        assert status == 503
        assert "ConnectionRefusedError" in report["checks"][f"dependency:127.0.0.1:{dep_port}"]["error"]
        assert get(api, "/health")[0] == 200
        assert get(api, "/startup")[0] == 200

        dep = socket.socket()
        dep.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        dep.bind(("127.0.0.1", dep_port))
        dep.listen()
        assert get(api, "/ready")[0] == 200

        proc.send_signal(signal.SIGTERM)
        for _ in range(100):  # until the signal handler has run (well within the 5 s grace)
            status, report = get(api, "/ready")
            if status == 503:
                break
            time.sleep(0.02)
        assert status == 503 and report["draining"] is True
        assert get(api, "/health")[0] == 200
        assert proc.wait(15) == 0
    finally:
        dep.close()
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_bad_arguments_are_refused():
    res = subprocess.run([sys.executable, "-m", "agentic_runtime", "--ready-tcp", "redis"],
                         capture_output=True, text=True, check=False)
    assert res.returncode == 2 and "--ready-tcp 'redis' must be HOST:PORT" in res.stderr
    res = subprocess.run([sys.executable, "-m", "agentic_runtime", "--api-port", "70000"],
                         capture_output=True, text=True, check=False)
    assert res.returncode == 2 and "--api-port must be 0..65535" in res.stderr


def post(port: int, path: str, body: dict) -> tuple[int, dict]:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", json.dumps(body).encode(),
                                     {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:  # noqa: S310 (http on loopback)
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


@pytest.mark.parametrize(("args", "expected"), [(["--genai-model", "gpt-4o"], {"gpt-4o", "other"}),
                                                ([], {"other"})])  # no list: no model name from a request body
def test_reference_workflow_records_llm_calls_with_models_from_the_allow_list_only(args, expected):
    proc, api, metrics_port = start(*args, "--shutdown-grace", "0")
    try:
        calls = [{"operation": "chat", "provider": "openai", "model": model, "input_tokens": 10, "output_tokens": 2}
                 for model in ("gpt-4o", "a model name nobody listed")]
        assert post(api, "/api/v1/workflows", {"llm_calls": calls}) == (
            200, {"workflow_type": "default", "status": "completed"})
        # an MCP server the agent does not know, and malformed calls, are refused before anything runs
        assert post(api, "/api/v1/workflows", {"tool_calls": [{"server": "web", "tool": "search"}]})[0] == 400
        assert post(api, "/api/v1/workflows", {"llm_calls": [{"operation": "chat"}]})[0] == 400
        assert post(api, "/api/v1/workflows", {"llm_calls": calls * 9})[0] == 400  # more than 16
        with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10) as resp:
            text = resp.read().decode()
        models = set(re.findall(r'^agent_gen_ai_tokens_total\{[^}]*gen_ai_request_model="([^"]*)"', text, re.M))
        assert models == expected
        assert 'agent_workflow_executions_total{status="completed",workflow_type="default"} 1.0' in text
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(10)

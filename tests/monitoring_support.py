"""Helpers shared by the monitoring tests: render the role's output, find free ports,
extract metric names from PromQL, run the reference agent server."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RENDER_PLAYBOOK = ROOT / "tests" / "integration" / "monitoring" / "render.yml"
CONVERGE_PLAYBOOK = ROOT / "tests" / "integration" / "monitoring" / "converge.yml"
RULE_TESTS = ROOT / "roles" / "monitoring" / "files" / "tests" / "agent-rules.test.yml"
SLO_RULE_TESTS = ROOT / "roles" / "monitoring" / "files" / "tests" / "slo-rules.test.yml"
GPU_RULE_TESTS = ROOT / "roles" / "monitoring" / "files" / "tests" / "gpu-rules.test.yml"
DASHBOARD = ROOT / "roles" / "monitoring" / "files" / "agent-dashboard.json"
ANSIBLE_PLAYBOOK = ROOT / ".venv" / "bin" / "ansible-playbook"


def ansible_env() -> dict[str, str]:
    return {**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_DEPRECATION_WARNINGS": "0"}


def render(out_dir: Path, **extra_vars: object) -> Path:
    """Render agent-rules.yml and the manifests with the role's render entry point."""
    variables = {"agentic_namespace": "agentic-ai-prod", "agentic_part_of": "agentic-platform",
                 "monitoring_render_dir": str(out_dir), **extra_vars}
    res = subprocess.run([str(ANSIBLE_PLAYBOOK), str(RENDER_PLAYBOOK), "-e", json.dumps(variables)],
                         cwd=ROOT, env=ansible_env(), capture_output=True, text=True, check=False)
    assert res.returncode == 0, f"render failed:\n{res.stdout[-4000:]}\n{res.stderr[-2000:]}"
    return out_dir


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- PromQL metric names -------------------------------------------------------------------

_KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or",
             "unless", "offset", "inf", "nan", "atan2"}


def promql_metric_names(expr: str) -> set[str]:
    """Metric names a PromQL expression selects.

    Strips string literals, label matchers ({...}), ranges ([...]) and the label lists of
    by/without/on/ignoring/group_left/group_right; what remains are identifiers that are
    either functions/aggregations (followed by '(') or metric names. Grafana variables such
    as $__rate_interval are dropped with the ranges.
    """
    text = re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`', '""', expr)
    text = re.sub(r"\{[^{}]*\}", " ", text)
    text = re.sub(r"\[[^\[\]]*\]", " ", text)
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)", " ", text)
    names = set()
    for match in re.finditer(r"(?<![\w.:$])([A-Za-z_:][A-Za-z0-9_:]*)(\s*\()?", text):
        name, call = match.group(1), match.group(2)
        if call or name.lower() in _KEYWORDS:
            continue
        names.add(name)
    return names


# --- the reference agent server ------------------------------------------------------------

class AgentProcess:
    """`python -m agentic_runtime` on loopback, stopped by PID."""

    def __init__(self, *args: str):
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "agentic_runtime", "--host", "127.0.0.1", "--api-port", "0",
             "--metrics-port", "0", "--shutdown-grace", "0", "--log-level", "WARNING", *args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        match = re.search(r"api_port=(\d+) metrics_port=(\d+)", line)
        if not match:
            self.stop()
            raise RuntimeError(f"agent server did not start: {line!r} {self.proc.stderr.read()}")
        self.api_port, self.metrics_port = int(match.group(1)), int(match.group(2))

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def wait_for(predicate, timeout: float, interval: float = 0.5, what: str = "condition"):
    """Poll until predicate() returns a truthy value; returns it. Raises after timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached within {timeout:.0f}s")
        time.sleep(interval)

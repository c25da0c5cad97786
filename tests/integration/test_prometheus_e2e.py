"""End to end: a real Prometheus (Debian's /usr/bin/prometheus) loads the role's rules file,
scrapes a real reference agent process on loopback while a driver makes its workflows fail,
and the workflow-failure alert fires, then resolves once the failures stop.

The rules are rendered from the same template as production, with short windows
(scrape/evaluation 1 s, rate window 10 s, `for` 3 s) so the test takes seconds, not minutes.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
import yaml

from tests.monitoring_support import AgentProcess, free_port, render, wait_for

PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"
NAMESPACE = "agentic-ai-prod"
WINDOW_S, FOR_S, SCRAPE_S = 10, 3, 1
# An alert needs the window to fill with failures, then `for`, plus a few scrape and evaluation
# rounds; the bound below is generous for a loaded 2-core machine, not a performance check.
FIRE_WITHIN_S = 4 * (WINDOW_S + FOR_S + 2 * SCRAPE_S)
RESOLVE_WITHIN_S = 4 * (WINDOW_S + 2 * SCRAPE_S)


def _get(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=5) as resp:  # noqa: S310 - loopback only
        return json.loads(resp.read())


class Prometheus:
    def __init__(self, workdir: Path, rules: Path, agent_metrics_port: int):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = {
            "global": {"scrape_interval": f"{SCRAPE_S}s", "evaluation_interval": f"{SCRAPE_S}s",
                       "scrape_timeout": f"{SCRAPE_S}s"},
            "rule_files": [str(rules)],
            "scrape_configs": [{
                "job_name": "mcp-agent",
                # without Kubernetes discovery, the target carries its namespace as a static label
                "static_configs": [{"targets": [f"127.0.0.1:{agent_metrics_port}"],
                                    "labels": {"namespace": NAMESPACE}}],
            }],
        }
        (workdir / "prometheus.yml").write_text(yaml.safe_dump(config))
        self.log = (workdir / "prometheus.log").open("w")
        self.proc = subprocess.Popen(
            [PROMETHEUS, f"--config.file={workdir / 'prometheus.yml'}", f"--storage.tsdb.path={workdir / 'data'}",
             f"--web.listen-address=127.0.0.1:{self.port}", "--storage.tsdb.retention.time=1h"],
            stdout=self.log, stderr=subprocess.STDOUT)

    def alerts(self, name: str) -> list[dict]:
        return [a for a in _get(f"{self.url}/api/v1/alerts")["data"]["alerts"] if a["labels"]["alertname"] == name]

    def query(self, expr: str) -> list[dict]:
        return _get(f"{self.url}/api/v1/query?query={urllib.parse.quote(expr)}")["data"]["result"]

    def ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/-/ready", timeout=2) as resp:  # noqa: S310
                return resp.status == 200
        except OSError:
            return False

    def stop(self) -> None:
        self.proc.terminate()  # by PID
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


class Driver(threading.Thread):
    """Posts workflows to the agent's API: `failure_share` of them fail."""

    def __init__(self, api_port: int, per_second: float = 20):
        super().__init__(daemon=True)
        self.url = f"http://127.0.0.1:{api_port}/api/v1/workflows"
        self.interval = 1 / per_second
        self.failure_share = 0.0
        self.sent = 0
        self.errors = 0
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.is_set():
            failed = (self.sent % 10) < round(self.failure_share * 10)
            body = json.dumps({"workflow_type": "research", "outcome": "failed" if failed else "completed"}).encode()
            req = urllib.request.Request(  # noqa: S310 - loopback http only
                self.url, data=body, headers={"Content-Type": "application/json"})
            try:
                with urllib.request.urlopen(req, timeout=5) as resp:  # noqa: S310
                    resp.read()
            except OSError:
                self.errors += 1  # a slow moment on a loaded machine: keep driving
            else:
                self.sent += 1
            self.stopping.wait(self.interval)


@pytest.fixture
def stack(tmp_path):
    rules_dir = render(tmp_path / "rules", monitoring_scrape_interval=f"{SCRAPE_S}s",
                       monitoring_scrape_timeout=f"{SCRAPE_S}s", monitoring_rate_window=f"{WINDOW_S}s",
                       monitoring_workflow_failure_for=f"{FOR_S}s", monitoring_workflow_min_executions=5,
                       monitoring_target_down_for=f"{FOR_S}s")
    agent = AgentProcess("--workflow-type", "research")
    prometheus = Prometheus(tmp_path, rules_dir / "agent-rules.yml", agent.metrics_port)
    driver = Driver(agent.api_port)
    try:
        wait_for(prometheus.ready, 60, what="Prometheus ready")
        wait_for(lambda: prometheus.query('up{job="mcp-agent"} == 1'), 60, what="agent target up")
        yield agent, prometheus, driver
    finally:
        driver.stopping.set()
        if driver.is_alive():
            driver.join(10)
        prometheus.stop()
        agent.stop()


def test_workflow_failure_alert_fires_and_resolves(stack):
    agent, prometheus, driver = stack
    name = "AgentWorkflowFailureRatioHigh"

    # Healthy traffic: enough to pass the minimum-traffic guard, no failures -> silent.
    driver.start()
    wait_for(lambda: prometheus.query(
        f'sum(increase(agent_workflow_executions_total{{job="mcp-agent"}}[{WINDOW_S}s])) >= 5'),
        FIRE_WITHIN_S, what="healthy traffic visible to Prometheus")
    time.sleep(WINDOW_S)  # a whole window of healthy traffic evaluated, not a timing assertion
    assert prometheus.alerts(name) == []

    # Half of the workflows fail -> pending, then firing, with the rule's labels.
    driver.failure_share = 0.5
    started = time.monotonic()
    firing = wait_for(lambda: [a for a in prometheus.alerts(name) if a["state"] == "firing"],
                      FIRE_WITHIN_S, what=f"{name} firing")
    fired_after = time.monotonic() - started
    alert = firing[0]
    assert alert["labels"]["severity"] == "critical"
    assert alert["labels"]["namespace"] == NAMESPACE and alert["labels"]["job"] == "mcp-agent"
    # the failure ratio, rising towards the driver's 50% as failures fill the window
    assert 0.1 < float(alert["value"]) <= 0.6
    assert "failed or timed out" in alert["annotations"]["description"]
    assert fired_after >= FOR_S  # `for` held it pending first

    # Failures stop (traffic goes on) -> the alert resolves.
    driver.failure_share = 0.0
    wait_for(lambda: prometheus.alerts(name) == [], RESOLVE_WITHIN_S, what=f"{name} resolved")

    # The agent process goes away -> its target is down -> AgentTargetDown fires.
    driver.stopping.set()
    driver.join(10)
    agent.stop()
    down = wait_for(lambda: [a for a in prometheus.alerts("AgentTargetDown") if a["state"] == "firing"],
                    FIRE_WITHIN_S, what="AgentTargetDown firing")
    assert down[0]["labels"]["instance"] == f"127.0.0.1:{agent.metrics_port}"

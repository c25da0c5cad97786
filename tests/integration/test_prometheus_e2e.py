"""End to end: a real Prometheus (Debian's /usr/bin/prometheus) loads the role's rules file,
scrapes a real reference agent process on loopback while a driver makes its workflows fail,
and the workflow-failure alert fires, then resolves once the failures stop.

The rules are rendered from the same template as production, with short windows
(scrape/evaluation 1 s, rate window 10 s, `for` 3 s) so the test takes seconds, not minutes.

The SLO burn-rate alerts likewise, from the function that renders them for the role
(plugins/module_utils/slo.py) with its time_scale 60: a burn-rate window of 1h reads 1m of
samples, 5m reads 5s, 3d reads 72m; objectives and burn rates are unchanged.
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
from ansible_collections.agentic.platform.plugins.module_utils.slo import slo_rule_groups

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
            # spread evenly: the n-th workflow fails when it takes the failure count past a whole number
            failed = int((self.sent + 1) * self.failure_share) > int(self.sent * self.failure_share)
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


# --- SLO burn-rate alerts --------------------------------------------------------------------

SLO_TIME_SCALE = 60  # 1h -> 1m, 5m -> 5s, 30m -> 30s, 6h -> 6m, 1d -> 24m
# A 99 % objective leaves a 1 % budget: pages above 14.4 % over 1m and 5s (or 6 % over 6m and
# 30s); a ticket above 3 % over 24m and 2m (or 1 % over 72m and 6m).
SLO_OBJECTIVE = 99
SLOW_SHARE, FAST_SHARE = 0.05, 0.5  # 5x the budget: a ticket, no page; 50x: a page
# The fast-burn page's shortest reset: the 6h/30m pair's 30m window (30 s scaled) clean again.
SLO_RESOLVE_WITHIN_S = 4 * (30 + 2 * SCRAPE_S)
# The ticket's 1x pair (72m and 6m scaled) sees 5 % within seconds, its 3x pair within about a
# minute; the page's 14.4x pair sees 50 % within seconds. Generous bounds for a loaded machine.
SLO_FIRE_WITHIN_S = 4 * (60 + 2 * SCRAPE_S)


@pytest.fixture
def slo_stack(tmp_path):
    groups = slo_rule_groups(NAMESPACE, "mcp-agent", SLO_OBJECTIVE, SLO_OBJECTIVE, 30, time_scale=SLO_TIME_SCALE)
    rules = tmp_path / "slo-rules.yml"
    rules.write_text(yaml.safe_dump({"groups": groups}))
    agent = AgentProcess("--workflow-type", "research")
    prometheus = Prometheus(tmp_path, rules, agent.metrics_port)
    driver = Driver(agent.api_port)
    try:
        wait_for(prometheus.ready, 60, what="Prometheus ready")
        wait_for(lambda: prometheus.query('up{job="mcp-agent"} == 1'), 60, what="agent target up")
        yield prometheus, driver
    finally:
        driver.stopping.set()
        if driver.is_alive():
            driver.join(10)
        prometheus.stop()
        agent.stop()


def _firing(prometheus: Prometheus, name: str) -> list[dict]:
    return [a for a in prometheus.alerts(name) if a["state"] == "firing"]


def test_slo_burn_rate_alerts_ticket_page_and_resolve(slo_stack):
    prometheus, driver = slo_stack
    page, ticket = "AgentAvailabilitySLOFastBurn", "AgentAvailabilitySLOSlowBurn"
    latency_alerts = ("AgentLatencySLOFastBurn", "AgentLatencySLOSlowBurn")

    # Healthy traffic: the error ratios are recorded (0) and nothing fires.
    driver.start()
    wait_for(lambda: prometheus.query('slo:sli_error:ratio_rate5m{slo="availability", job="mcp-agent"} == 0'),
             SLO_FIRE_WITHIN_S, what="availability error ratio recorded")
    time.sleep(30)  # the 30m window (30 s scaled) of healthy traffic evaluated, not a timing assertion
    assert prometheus.alerts(page) == [] and prometheus.alerts(ticket) == []

    # A slow burn, 5x the budget: a ticket, never a page.
    driver.failure_share = SLOW_SHARE
    slow = wait_for(lambda: _firing(prometheus, ticket), SLO_FIRE_WITHIN_S, what=f"{ticket} firing")
    assert slow[0]["labels"] | {"severity": "warning", "slo": "availability"} == slow[0]["labels"]
    assert slow[0]["labels"]["namespace"] == NAMESPACE
    # While the page's 1h window (1 min scaled) fills with the 5 % burn, no evaluation pages.
    until = time.monotonic() + 60 + 5 * SCRAPE_S
    while time.monotonic() < until:
        assert prometheus.alerts(page) == [], "a 5x burn must not page"
        time.sleep(SCRAPE_S)

    # A fast burn, 50x the budget: the page fires.
    driver.failure_share = FAST_SHARE
    fast = wait_for(lambda: _firing(prometheus, page), SLO_FIRE_WITHIN_S, what=f"{page} firing")
    assert fast[0]["labels"]["severity"] == "critical" and fast[0]["labels"]["slo"] == "availability"
    assert 0.06 < float(fast[0]["value"]) <= 0.6  # the long window's error ratio, rising towards 50 %
    assert "over 1m and 5s" in fast[0]["annotations"]["description"]

    # The failures stop (traffic goes on): the page resolves once its short windows are clean.
    driver.failure_share = 0.0
    wait_for(lambda: prometheus.alerts(page) == [], SLO_RESOLVE_WITHIN_S, what=f"{page} resolved")
    # every workflow took ~0 s: the latency SLO never burned
    assert all(prometheus.alerts(name) == [] for name in latency_alerts)
    assert driver.errors < driver.sent / 10, f"the driver failed to post {driver.errors} of {driver.sent} workflows"

"""Judging a canary by its own metrics, per version, from Prometheus.

Pure decisions (:func:`judge`) over what Prometheus answers (:class:`PrometheusSource`). The
version of a series is the runtime's info metric's (``agent_info{version}``), joined on the
scrape target, so that the analysis needs no relabelling of the pods' labels.

Never pass on missing data: a check whose canary figure is missing, or a canary with fewer
requests than the minimum, is *inconclusive* (the step is held, then fails after
``max_inconclusive`` intervals in a row), never a pass.
"""

from __future__ import annotations

import json
import urllib.parse
from dataclasses import asdict, dataclass, field

from ansible.module_utils.urls import ConnectionError as UrlConnectionError
from ansible.module_utils.urls import open_url

PASS, FAIL, INCONCLUSIVE = "pass", "fail", "inconclusive"
CHECKS = ("http_success", "workflow_success", "request_p95", "mcp_tool_p95")
# Probes and scrapes are not traffic: the success ratio and latency are the API's.
_NOT_TRAFFIC = "/health|/ready|/startup|/metrics"


@dataclass
class Sample:
    """One version's figures over the analysis window (None: Prometheus had no data)."""
    requests: float = 0.0          # API requests
    errors_5xx: float = 0.0
    workflows: float = 0.0         # finished workflows
    workflows_failed: float = 0.0  # failed or timed out
    request_p95: float | None = None
    mcp_tool_p95: float | None = None
    mcp_tool_calls: float = 0.0


@dataclass
class Limits:
    checks: tuple = CHECKS
    min_requests: int = 50                 # canary API requests per window before anything is judged
    min_success_ratio: float = 0.99        # absolute floor, HTTP and workflows alike
    max_success_drop: float = 0.01         # canary ratio may be at most this below stable's
    max_request_p95: float = 2.0           # seconds, absolute
    max_mcp_tool_p95: float = 10.0         # seconds, absolute
    max_latency_ratio: float = 1.5         # canary p95 at most this times stable's


@dataclass
class Verdict:
    result: str                      # pass / fail / inconclusive
    metric: str = ""                 # the check that decided (fail, inconclusive)
    observed: float | None = None
    limit: float | None = None
    reason: str = ""
    figures: dict = field(default_factory=dict)

    def record(self) -> dict:
        return {k: v for k, v in asdict(self).items() if v not in (None, "", {})}


def _ratio(bad: float, total: float) -> float | None:
    return None if total <= 0 else 1.0 - bad / total


def _check(name: str, canary: Sample, stable: Sample, limits: Limits) -> Verdict:
    """One check: pass, fail (with observed and limit) or inconclusive (canary figure missing)."""
    if name in ("http_success", "workflow_success"):
        bad, total = ((canary.errors_5xx, canary.requests) if name == "http_success"
                      else (canary.workflows_failed, canary.workflows))
        observed = _ratio(bad, total)
        if observed is None:
            return Verdict(INCONCLUSIVE, name, reason=f"{name}: no canary data")
        if observed < limits.min_success_ratio:
            return Verdict(FAIL, name, observed, limits.min_success_ratio,
                           f"{name} {observed:.4f} < {limits.min_success_ratio} (absolute)")
        sbad, stotal = ((stable.errors_5xx, stable.requests) if name == "http_success"
                        else (stable.workflows_failed, stable.workflows))
        base = _ratio(sbad, stotal) if stotal >= limits.min_requests else None
        if base is not None and observed < base - limits.max_success_drop:
            limit = round(base - limits.max_success_drop, 6)
            return Verdict(FAIL, name, observed, limit, f"{name} {observed:.4f} < stable {base:.4f} - "
                                                        f"{limits.max_success_drop}")
        return Verdict(PASS, name, observed, limits.min_success_ratio)
    observed, base, absolute = ((canary.request_p95, stable.request_p95, limits.max_request_p95)
                                if name == "request_p95" else
                                (canary.mcp_tool_p95, stable.mcp_tool_p95, limits.max_mcp_tool_p95))
    if observed is None or (name == "mcp_tool_p95" and canary.mcp_tool_calls <= 0):
        return Verdict(INCONCLUSIVE, name, reason=f"{name}: no canary data")
    if observed > absolute:
        return Verdict(FAIL, name, observed, absolute, f"{name} {observed:.3f}s > {absolute}s (absolute)")
    if base is not None and base > 0 and observed > base * limits.max_latency_ratio:
        limit = round(base * limits.max_latency_ratio, 6)
        return Verdict(FAIL, name, observed, limit,
                       f"{name} {observed:.3f}s > stable {base:.3f}s x {limits.max_latency_ratio}")
    return Verdict(PASS, name, observed, absolute)


def judge(canary: Sample, stable: Sample, limits: Limits) -> Verdict:
    """The interval's verdict: any failing check fails it (the first, in CHECKS order); else too
    few requests or any check without canary data makes it inconclusive; else it passes."""
    figures = {"canary": asdict(canary), "stable": asdict(stable)}
    verdicts = [_check(name, canary, stable, limits) for name in limits.checks]
    failed = [v for v in verdicts if v.result == FAIL]
    if failed and canary.requests >= limits.min_requests:
        return Verdict(**{**asdict(failed[0]), "figures": figures})
    if canary.requests < limits.min_requests:
        return Verdict(INCONCLUSIVE, "requests", canary.requests, limits.min_requests,
                       f"too few canary requests: {canary.requests:g} < {limits.min_requests}", figures)
    missing = [v for v in verdicts if v.result == INCONCLUSIVE]
    if missing:
        return Verdict(**{**asdict(missing[0]), "figures": figures})
    return Verdict(PASS, reason="all checks pass: " + ", ".join(limits.checks), figures=figures)


def queries(namespace: str, service: str, window_s: int, version: str) -> dict[str, str]:
    """PromQL per figure of the series whose runtime info metric matches ``version`` (a matcher:
    ``version="v2"`` for the canary, ``version!="v2"`` for the stable side: whatever the stable
    pods report, even a runtime default when the agent step sets no AGENT_VERSION)."""
    sel = f'namespace="{namespace}"'
    info = f'agent_info{{{sel},service="{service}",{version}}}'
    api = f'{sel},route!~"{_NOT_TRAFFIC}"'

    def joined(expr: str, by: str = "") -> str:
        return f"sum{f' by ({by})' if by else ''} ({expr} * on(job, instance) group_left() {info})"

    def p95(metric: str, extra: str) -> str:
        return f"histogram_quantile(0.95, {joined(f'rate({metric}_bucket{{{extra}}}[{window_s}s])', 'le')})"

    return {
        "requests": joined(f"increase(agent_http_requests_total{{{api}}}[{window_s}s])"),
        "errors_5xx": joined(f'increase(agent_http_requests_total{{{api},status_code=~"5.."}}[{window_s}s])'),
        "workflows": joined(f"increase(agent_workflow_executions_total{{{sel}}}[{window_s}s])"),
        "workflows_failed": joined(
            f'increase(agent_workflow_executions_total{{{sel},status=~"failed|timeout"}}[{window_s}s])'),
        "request_p95": p95("agent_http_request_duration_seconds", api),
        "mcp_tool_p95": p95("agent_mcp_tool_duration_seconds", sel),
        "mcp_tool_calls": joined(f"increase(agent_mcp_tool_calls_total{{{sel}}}[{window_s}s])"),
    }


class AnalysisError(Exception):
    """Prometheus could not be asked (counts as inconclusive, never as a pass)."""


class PrometheusSource:
    """Instant queries to Prometheus' HTTP API over the standard library."""

    def __init__(self, url: str, namespace: str, service: str, timeout: float = 10):
        self.url, self.namespace, self.service, self.timeout = url.rstrip("/"), namespace, service, timeout
        self.requests = 0

    def _query(self, expr: str) -> float | None:
        self.requests += 1
        url = f"{self.url}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
        try:
            with open_url(url, timeout=self.timeout) as resp:
                body = json.loads(resp.read())
        except (OSError, ValueError, UrlConnectionError) as exc:
            raise AnalysisError(f"Prometheus at {self.url} did not answer: {exc}") from None
        if body.get("status") != "success":
            raise AnalysisError(f"Prometheus refused a query: {body.get('error', body)}")
        values = [float(series["value"][1]) for series in body["data"]["result"]]
        # NaN (a histogram without observations in the window) is missing, not a figure
        return values[0] if values and values[0] == values[0] else None

    def sample(self, version: str, window_s: int) -> Sample:
        found = {name: self._query(expr)
                 for name, expr in queries(self.namespace, self.service, window_s, version).items()}
        return Sample(**{k: (v if v is not None or k.endswith("p95") else 0.0) for k, v in found.items()})

    def samples(self, versions: tuple[str, str], window_s: int) -> tuple[Sample, Sample]:
        """(canary, stable) figures over the last ``window_s`` seconds: the canary's version, and
        every other version of the service in the namespace."""
        canary = versions[0].replace("\\", "\\\\").replace('"', '\\"')
        return self.sample(f'version="{canary}"', window_s), self.sample(f'version!="{canary}"', window_s)

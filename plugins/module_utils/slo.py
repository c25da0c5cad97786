"""The agent's service level objectives as Prometheus rules: recording rules for the error ratio of
each SLO over the windows the alerts read, and multi-window multi-burn-rate alerts as the Google
SRE workbook ("Alerting on SLOs", its recommended 2 %/5 %/10 % of a 30-day budget) sets them.

Two SLOs over the agent's finished workflows (cancelled ones are the caller's choice, counted in
neither):
- availability: the share that neither failed nor timed out;
- latency: the share that finished within a bound, a bucket of agent_workflow_duration_seconds
  (a ratio of buckets is exact only at a bucket bound).

Rules are data: `slo_rule_groups` returns the rule groups, which the role's rules template writes
out one rule a line. Its `time_scale` divides every window (never the objectives or burn rates),
for tests that must see a 1-hour window fill in a minute; production renders with 1.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal

# The SLO period: the workbook's burn rates below are fractions of a 30-day budget.
PERIOD = "30d"
# Every window an alert reads, and the period for the error-budget series.
WINDOWS = ("5m", "30m", "1h", "2h", "6h", "1d", "3d", PERIOD)
# (alert suffix, severity, [(burn rate, long window, short window), ...]): an alert fires while
# both windows of one pair burn faster than the rate. critical pages, warning opens a ticket.
BURN_ALERTS = (
    ("FastBurn", "critical", ((Decimal("14.4"), "1h", "5m"), (Decimal("6"), "6h", "30m"))),
    ("SlowBurn", "warning", ((Decimal("3"), "1d", "2h"), (Decimal("1"), "3d", "6h"))),
)
# The highest burn rate: an objective whose budget times this reaches 100 % errors could never page.
FASTEST_BURN = max(window[0] for alert in BURN_ALERTS for window in alert[2])

FAILED_STATUSES = "failed|timeout"
WORKFLOWS = "agent_workflow_executions_total"
DURATION = "agent_workflow_duration_seconds"

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_DURATION = re.compile(r"([1-9][0-9]*)([smhd])")


def error_ratio_name(window: str) -> str:
    """The recorded series of an SLO's error ratio over a (production) window."""
    return f"slo:sli_error:ratio_rate{window}"


BUDGET_REMAINING = "slo:error_budget_remaining:ratio"


def _seconds(duration: str) -> int:
    number, unit = _DURATION.fullmatch(duration).groups()
    return int(number) * _UNITS[unit]


def scaled(duration: str, time_scale: int) -> str:
    """A window divided by time_scale, as a Prometheus duration; it must stay whole seconds."""
    seconds, rest = divmod(_seconds(duration), time_scale)
    if rest or seconds < 1:
        raise ValueError(f"time_scale {time_scale} does not divide the window {duration} into whole seconds")
    for unit, size in sorted(_UNITS.items(), key=lambda item: -item[1]):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    raise AssertionError("unreachable: seconds divide by 1")


def error_budget(percent) -> Decimal:
    """The error budget of an objective given in percent (99.99 -> 0.0001), exactly."""
    return (Decimal(100) - Decimal(str(percent))) / Decimal(100)


def _number(value: Decimal) -> str:
    """A Decimal as PromQL reads it, without float noise or an exponent (0.00144, 14.4)."""
    return format(value.normalize(), "f")


def bucket_matcher(seconds) -> str:
    """A regex matching the `le` of the bucket at `seconds`: the client library writes 30.0, and
    Prometheus 3 normalises it to Go's 30 on ingestion; both must match."""
    value = Decimal(str(seconds)).normalize()
    go = format(value, "f")
    return re.escape(go) + (r"(\.0)?" if value == value.to_integral_value() else "")


def _matchers(namespace: str, job: str, *extra: str) -> str:
    # JSON's escapes are PromQL's: no namespace or job value can change the expression.
    return ", ".join([f"namespace={json.dumps(namespace)}", f"job={json.dumps(job)}", *extra])


def _availability_error_ratio(namespace: str, job: str, window: str) -> str:
    failed = _matchers(namespace, job, f"status=~{json.dumps(FAILED_STATUSES)}")
    finished = _matchers(namespace, job, 'status!="cancelled"')
    return (f"sum by (namespace, job) (rate({WORKFLOWS}{{{failed}}}[{window}]))\n"
            f"/\nsum by (namespace, job) (rate({WORKFLOWS}{{{finished}}}[{window}]))")


def _latency_error_ratio(namespace: str, job: str, window: str, latency_seconds) -> str:
    within = _matchers(namespace, job, 'status!="cancelled"', f"le=~{json.dumps(bucket_matcher(latency_seconds))}")
    finished = _matchers(namespace, job, 'status!="cancelled"')
    return (f"1 - (\n  sum by (namespace, job) (rate({DURATION}_bucket{{{within}}}[{window}]))\n"
            f"  /\n  sum by (namespace, job) (rate({DURATION}_count{{{finished}}}[{window}]))\n)")


def slo_rule_groups(namespace: str, job: str, availability_percent, latency_percent, latency_seconds,
                    time_scale: int = 1) -> list[dict]:
    """The SLO rule group: per SLO, its error ratio over every window, its remaining error budget
    over the period, and its fast-burn (page) and slow-burn (ticket) alerts.

    Inputs are checked beforehand (inputs/monitoring.py); time_scale (a whole number, 1 in
    production) divides every window and must leave whole seconds.
    """
    if not isinstance(time_scale, int) or isinstance(time_scale, bool) or time_scale < 1:
        raise ValueError(f"time_scale must be a whole number of at least 1, got {time_scale!r}")
    window = {w: scaled(w, time_scale) for w in WINDOWS}
    latency = Decimal(str(latency_seconds)).normalize()
    slos = (
        ("availability", "Availability", availability_percent,
         lambda w: _availability_error_ratio(namespace, job, w),
         "of finished workflows failed or timed out"),
        ("latency", "Latency", latency_percent,
         lambda w: _latency_error_ratio(namespace, job, w, latency_seconds),
         f"of finished workflows took longer than {_number(latency)}s"),
    )
    rules: list[dict] = []
    for slo, title, percent, ratio, what in slos:
        labels = {"slo": slo}
        for w in WINDOWS:
            rules.append({"record": error_ratio_name(w), "expr": ratio(window[w]), "labels": labels})
        budget = error_budget(percent)
        selector = f"{{{_matchers(namespace, job, f'slo={json.dumps(slo)}')}}}"
        rules.append({
            "record": BUDGET_REMAINING,
            "expr": f"1 - {error_ratio_name(PERIOD)}{selector} / {_number(budget)}",
            "labels": labels,
        })
        for suffix, severity, pairs in BURN_ALERTS:
            expr = "\nor\n".join(
                f"(\n  {error_ratio_name(long)}{selector} > {_number(rate * budget)}\n"
                f"and\n  {error_ratio_name(short)}{selector} > {_number(rate * budget)}\n)"
                for rate, long, short in pairs)
            burns = ", or ".join(f"{_number(rate)}x over {window[long]} and {window[short]}"
                                 for rate, long, short in pairs)
            rules.append({
                "alert": f"Agent{title}SLO{suffix}",
                "expr": expr,
                "labels": {"severity": severity, "slo": slo, "component": "slo"},
                "annotations": {
                    "summary": f"{title} error budget burning {'fast' if severity == 'critical' else 'slowly'}",
                    "description": (
                        f"{{{{ $value | humanizePercentage }}}} {what} in {{{{ $labels.namespace }}}} "
                        f"({{{{ $labels.job }}}}) over the alert's long window, against an error budget of "
                        f"{_number(budget * 100)}% (objective {_number(Decimal(str(percent)))}% over "
                        f"{window[PERIOD]}): burning at {burns}."),
                },
            })
    return [{"name": "agentic-agent-slo", "rules": rules}]

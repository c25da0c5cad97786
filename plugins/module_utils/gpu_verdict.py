"""Structured verdicts shared by the host and cluster GPU readiness checks.

Every check ends in one of three states:

- ``pass``: the evidence says this is fine;
- ``fail``: the evidence says this is wrong;
- ``no_evidence``: nothing could be read (``[N/A]``, ``[Not Supported]``, a file or tool
  that is not there). No evidence is not a failure, unless the caller asks for strictness.
"""

from __future__ import annotations

PASS = "pass"  # noqa: S105 - a check status, not a password
FAIL = "fail"
NO_EVIDENCE = "no_evidence"
STATUSES = (PASS, FAIL, NO_EVIDENCE)


def check(status: str, reason: str, **observed) -> dict:
    """One check's outcome: status, a human reason and what was observed."""
    if status not in STATUSES:
        raise ValueError(f"unknown check status {status!r}")
    out = {"status": status, "reason": reason}
    if observed:
        out["observed"] = observed
    return out


def summarize(scopes: list[tuple[str, dict]], strict: bool = False) -> dict:
    """Count statuses over (scope name, {check: result}) pairs and list the failures.

    ``strict`` turns every ``no_evidence`` into a failure of the verdict.
    """
    counts = {PASS: 0, FAIL: 0, NO_EVIDENCE: 0}
    failures: list[str] = []
    missing: list[str] = []
    for scope, checks in scopes:
        for name, res in checks.items():
            counts[res["status"]] += 1
            if res["status"] == FAIL:
                failures.append(f"{scope}: {name}: {res['reason']}")
            elif res["status"] == NO_EVIDENCE:
                missing.append(f"{scope}: {name}: {res['reason']}")
    ready = not failures and not (strict and missing)
    return {"ready": ready, "counts": counts, "failures": failures, "no_evidence": missing}


def failure_message(title: str, summary: dict, limit: int = 10) -> str:
    """'<title>: <scope>: <check>: <reason>; ...' naming the first failing scopes and checks."""
    problems = list(summary["failures"])
    if not problems:
        problems = list(summary["no_evidence"])  # strict mode: missing evidence is the failure
    shown = problems[:limit]
    more = len(problems) - len(shown)
    text = f"{title}: " + "; ".join(shown)
    if more > 0:
        text += f"; and {more} more"
    return text

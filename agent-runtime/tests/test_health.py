"""HealthChecker: pass/fail/raise/timeout, sync and async checks, nothing crashes it."""

from __future__ import annotations

import asyncio
import threading

import pytest
from agentic_runtime import AgentMetrics, HealthChecker


def run(coro):
    return asyncio.run(coro)


def test_results_carry_status_timestamp_and_duration():
    hc = HealthChecker()

    async def ok():
        return True

    hc.register_liveness_check("ok", ok)
    report = run(hc.check_health())
    assert report["status"] == "healthy"
    assert report["probe"] == "liveness"
    assert report["timestamp"].endswith("+00:00")
    assert report["duration_ms"] >= 0
    check = report["checks"]["ok"]
    assert check["status"] == "pass" and "checked_at" in check and check["duration_ms"] >= 0
    assert hc.last_results["liveness"] is report


def test_each_failure_mode_is_a_fail_with_a_reason():
    hc = HealthChecker(default_timeout=10)

    async def hangs():
        await asyncio.sleep(30)

    def raises():
        raise ConnectionRefusedError("redis:6379 refused")

    def exits():
        raise SystemExit(3)

    class Weird:
        def __bool__(self):
            raise RuntimeError("no truth value")

    async def weird():
        return Weird()

    hc.register_readiness_check("passes", lambda: True)
    hc.register_readiness_check("falsy", lambda: 0)
    hc.register_readiness_check("raises", raises)
    hc.register_readiness_check("exits", exits)
    hc.register_readiness_check("hangs", hangs, timeout=0.2)
    hc.register_readiness_check("weird", weird)
    report = run(hc.check_readiness())
    checks = report["checks"]
    assert report["status"] == "unhealthy"
    assert checks["passes"]["status"] == "pass"
    assert checks["falsy"] == {**checks["falsy"], "status": "fail", "error": "check returned 0"}
    assert checks["raises"]["error"] == "ConnectionRefusedError: redis:6379 refused"
    assert checks["exits"]["error"] == "CheckExitedError: SystemExit(3)"
    assert checks["hangs"]["error"] == "timed out after 0.2s"
    assert checks["weird"]["error"] == "RuntimeError: no truth value"


def test_per_check_timeout_overrides_default():
    hc = HealthChecker(default_timeout=0.05)

    async def slowish():
        await asyncio.sleep(0.2)
        return True

    hc.register_startup_check("slowish", slowish, timeout=5)
    assert run(hc.check_startup())["checks"]["slowish"]["status"] == "pass"


def test_sync_checks_run_off_the_event_loop():
    """A blocking check waits for an event only an async check (on the loop) can set: it
    passes only if the loop keeps running while the blocking check runs."""
    hc = HealthChecker(default_timeout=5)
    loop_ran = threading.Event()

    def blocking():
        return loop_ran.wait(4)

    async def on_loop():
        await asyncio.sleep(0.05)
        loop_ran.set()
        return True

    hc.register_liveness_check("blocking", blocking)
    hc.register_liveness_check("on_loop", on_loop)
    report = run(hc.check_liveness())
    assert report["checks"]["blocking"]["status"] == "pass"
    assert report["status"] == "healthy"


def test_no_checks_is_healthy_and_metrics_follow_results():
    m = AgentMetrics()
    hc = HealthChecker(metrics=m)
    assert run(hc.check_readiness())["status"] == "healthy"
    state = {"ok": False}
    hc.register_readiness_check("redis", lambda: state["ok"])
    run(hc.check_readiness())
    assert m.health_check_status.labels("readiness", "redis")._value.get() == 0
    state["ok"] = True
    run(hc.check_readiness())
    assert m.health_check_status.labels("readiness", "redis")._value.get() == 1


def test_registration_errors():
    hc = HealthChecker()
    with pytest.raises(ValueError, match="probe must be one of"):
        hc.register("sideways", "x", lambda: True)
    with pytest.raises(ValueError, match="timeout"):
        hc.register_liveness_check("x", lambda: True, timeout=0)
    with pytest.raises(TypeError):
        hc.register_liveness_check("x", "not callable")

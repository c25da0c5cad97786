"""Liveness, readiness and startup checks, run the way Kubernetes probes expect.

A check is a callable taking no arguments: a coroutine function (awaited on the event loop)
or a plain function (run in a worker thread, so a slow one cannot stall the loop). It passes
when it returns a truthy value and fails when it returns a falsy one, raises, or runs past
its timeout. Whatever a check does, the health system answers: every failure becomes a
`fail` result with the reason, never an exception out of `run()`.

The checks of one probe run concurrently, so a probe takes as long as its slowest check
(at most its timeout), not the sum.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from .metrics import AgentMetrics

logger = logging.getLogger(__name__)

CheckFunc = Callable[[], Any] | Callable[[], Awaitable[Any]]
PROBES = ("liveness", "readiness", "startup")


@dataclass(frozen=True)
class Check:
    name: str
    func: CheckFunc
    timeout: float


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class HealthChecker:
    """Registered checks per probe, and their last results."""

    def __init__(self, default_timeout: float = 2.0, metrics: AgentMetrics | None = None):
        if default_timeout <= 0:
            raise ValueError(f"default_timeout must be positive, got {default_timeout}")
        self.default_timeout = default_timeout
        self.metrics = metrics
        self.checks: dict[str, dict[str, Check]] = {probe: {} for probe in PROBES}
        self.last_results: dict[str, dict[str, Any]] = {}

    # -- registration ----------------------------------------------------------------------

    def register(self, probe: str, name: str, func: CheckFunc, timeout: float | None = None) -> None:
        if probe not in self.checks:
            raise ValueError(f"probe must be one of {', '.join(PROBES)}, got {probe!r}")
        if not callable(func):
            raise TypeError(f"check {name!r} must be callable")
        timeout = self.default_timeout if timeout is None else timeout
        if timeout <= 0:
            raise ValueError(f"timeout of check {name!r} must be positive, got {timeout}")
        self.checks[probe][name] = Check(name, func, timeout)
        logger.info("registered %s check %s (timeout %.3gs)", probe, name, timeout)

    def register_liveness_check(self, name: str, func: CheckFunc, timeout: float | None = None) -> None:
        self.register("liveness", name, func, timeout)

    def register_readiness_check(self, name: str, func: CheckFunc, timeout: float | None = None) -> None:
        self.register("readiness", name, func, timeout)

    def register_startup_check(self, name: str, func: CheckFunc, timeout: float | None = None) -> None:
        self.register("startup", name, func, timeout)

    # -- running ---------------------------------------------------------------------------

    async def check_liveness(self) -> dict[str, Any]:
        return await self.run("liveness")

    async def check_readiness(self) -> dict[str, Any]:
        return await self.run("readiness")

    async def check_startup(self) -> dict[str, Any]:
        return await self.run("startup")

    async def check_health(self) -> dict[str, Any]:
        """The liveness probe (the source design's name for it)."""
        return await self.run("liveness")

    async def run(self, probe: str) -> dict[str, Any]:
        """Run every check of `probe` concurrently; `status` is healthy only if all pass."""
        if probe not in self.checks:
            raise ValueError(f"probe must be one of {', '.join(PROBES)}, got {probe!r}")
        started = time.perf_counter()
        timestamp = _now()
        checks = list(self.checks[probe].values())
        results = await asyncio.gather(*(self._execute(check) for check in checks))
        report = {
            "status": "healthy" if all(r["status"] == "pass" for r in results) else "unhealthy",
            "probe": probe,
            "timestamp": timestamp,
            "checks": {check.name: result for check, result in zip(checks, results, strict=True)},
            "duration_ms": round((time.perf_counter() - started) * 1000, 3),
        }
        self.last_results[probe] = report
        if self.metrics is not None:
            for check, result in zip(checks, results, strict=True):
                self.metrics.set_health_check(probe, check.name, result["status"] == "pass")
        return report

    async def _execute(self, check: Check) -> dict[str, Any]:
        started = time.perf_counter()
        result: dict[str, Any] = {"status": "fail"}
        try:
            value = await asyncio.wait_for(self._call(check.func), check.timeout)
            passed = bool(value)
            result["status"] = "pass" if passed else "fail"
            if not passed:
                result["error"] = f"check returned {value!r}"
        except TimeoutError:
            result["error"] = f"timed out after {check.timeout:g}s"
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise  # the probe itself is being cancelled: let it go
            result["error"] = "check was cancelled"
        except Exception as exc:  # a check must never take the health system down
            result["error"] = f"{type(exc).__name__}: {exc}"
        if result["status"] == "fail":
            logger.warning("health check %s failed: %s", check.name, result["error"])
            if self.metrics is not None:
                self.metrics.record_error("health_check_failed", "health")
        result["checked_at"] = _now()
        result["duration_ms"] = round((time.perf_counter() - started) * 1000, 3)
        return result

    @staticmethod
    async def _call(func: CheckFunc) -> Any:
        # SystemExit is converted where it is raised: asyncio re-raises it out of the event
        # loop if a task or a thread's future ends with it, and a check must not stop the agent.
        def guarded() -> Any:
            try:
                return func()
            except SystemExit as exc:
                raise CheckExitedError(exc) from None

        if inspect.iscoroutinefunction(func):
            try:
                return await func()
            except SystemExit as exc:
                raise CheckExitedError(exc) from None
        # A plain function runs in a thread; if it returns an awaitable, await that too.
        value = await asyncio.to_thread(guarded)
        if inspect.isawaitable(value):
            try:
                value = await value
            except SystemExit as exc:
                raise CheckExitedError(exc) from None
        return value


class CheckExitedError(Exception):
    """A check called sys.exit(); reported as a failure instead of stopping the process."""

    def __init__(self, exc: SystemExit):
        super().__init__(f"SystemExit({exc.code!r})")

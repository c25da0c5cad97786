"""The one way this collection waits: try, sleep, try again, until done or out of time.

Every loop that waits for something (a step's objects to be ready, a rollout, a GPU pool, a smoke
Job, a rotation lock) goes through :func:`poll`, so that deadlines and back-off behave the same
everywhere and tests can drive them with a fake clock.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass
class Polled:
    done: bool          # the last attempt said done
    value: Any          # what the last attempt returned with it
    attempts: int
    elapsed: float      # seconds from the first attempt to the last one


def poll(attempt: Callable[[], tuple[bool, Any]], timeout: float, interval: float = 1.0, *,
         max_interval: float | None = None, clock: Callable[[], float] = time.monotonic,
         sleep: Callable[[float], None] = time.sleep) -> Polled:
    """Call ``attempt()`` (returning ``(done, value)``) until it is done, or until the next wait
    would end past ``timeout`` seconds after the first attempt (``timeout`` 0: one attempt).

    The wait starts at ``interval`` and grows by half each time up to ``max_interval`` (default:
    ``interval``, a fixed period). An exception raised by ``attempt`` (a state that cannot become
    ready) ends the wait at once.
    """
    started = clock()
    delay = interval
    attempts = 0
    while True:
        attempts += 1
        done, value = attempt()
        elapsed = clock() - started
        if done or elapsed + delay > timeout:
            return Polled(done, value, attempts, elapsed)
        sleep(delay)
        delay = min(delay * 1.5, max_interval) if max_interval and max_interval > interval else interval

"""The one poll helper (plugins/module_utils/poll.py) with a fake clock."""

from __future__ import annotations

import pytest
from ansible_collections.agentic.platform.plugins.module_utils.poll import poll


class FakeClock:
    def __init__(self):
        self.now, self.sleeps = 0.0, []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_polls_until_done_and_reports_attempts_and_elapsed():
    t = FakeClock()
    answers = iter([(False, "a"), (False, "b"), (True, "c")])
    got = poll(lambda: next(answers), 60, 5, clock=t.clock, sleep=t.sleep)
    assert (got.done, got.value, got.attempts, got.elapsed) == (True, "c", 3, 10.0)


def test_never_starts_a_wait_that_ends_past_the_timeout():
    t = FakeClock()
    got = poll(lambda: (False, t.now), 12, 5, clock=t.clock, sleep=t.sleep)
    assert (got.done, got.value, got.attempts) == (False, 10.0, 3)
    once = poll(lambda: (False, None), 0, 5, clock=t.clock, sleep=t.sleep)
    assert once.attempts == 1


def test_back_off_grows_by_half_up_to_its_cap():
    t = FakeClock()
    poll(lambda: (False, None), 10, 0.1, max_interval=1.0, clock=t.clock, sleep=t.sleep)
    assert t.sleeps[:3] == pytest.approx([0.1, 0.15, 0.225])
    assert max(t.sleeps) == 1.0 and t.now <= 10


def test_an_exception_ends_the_wait_at_once():
    t = FakeClock()
    calls = []

    def attempt():
        calls.append(1)
        raise RuntimeError("stalled")

    with pytest.raises(RuntimeError, match="stalled"):
        poll(attempt, 60, 1, clock=t.clock, sleep=t.sleep)
    assert len(calls) == 1 and t.sleeps == []

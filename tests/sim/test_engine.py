"""The event engine: order by (time, priority, sequence), cancellation, no wall clock."""

from __future__ import annotations

import pytest

from colo.sim.engine import PRIO_MEASURE, PRIO_STATE, EventLoop, SimClock


def test_events_run_in_time_order_whatever_the_order_they_were_scheduled_in() -> None:
    loop = EventLoop()
    seen: list[str] = []
    loop.schedule(5.0, lambda: seen.append("c"))
    loop.schedule(1.0, lambda: seen.append("a"))
    loop.schedule(3.0, lambda: seen.append("b"))
    loop.run(10.0)
    assert seen == ["a", "b", "c"]
    assert loop.now() == 10.0


def test_ties_break_by_priority_then_by_scheduling_order() -> None:
    loop = EventLoop()
    seen: list[str] = []
    loop.schedule(1.0, lambda: seen.append("measure"), priority=PRIO_MEASURE)
    loop.schedule(1.0, lambda: seen.append("state-1"), priority=PRIO_STATE)
    loop.schedule(1.0, lambda: seen.append("state-2"), priority=PRIO_STATE)
    loop.run(1.0)
    assert seen == ["state-1", "state-2", "measure"]


def test_cancelled_events_do_not_run() -> None:
    loop = EventLoop()
    seen: list[int] = []
    handle = loop.schedule(1.0, lambda: seen.append(1))
    loop.schedule(2.0, lambda: seen.append(2))
    handle.cancel()
    loop.run(5.0)
    assert seen == [2]
    assert loop.events_run == 1


def test_run_stops_at_the_horizon_and_resumes_later() -> None:
    loop = EventLoop()
    seen: list[float] = []
    for t in (1.0, 2.0, 3.0):
        loop.schedule(t, lambda t=t: seen.append(t))
    loop.run(2.0)
    assert seen == [1.0, 2.0]
    loop.run(3.0)
    assert seen == [1.0, 2.0, 3.0]


def test_events_scheduled_in_the_past_run_now_and_actions_see_event_time() -> None:
    loop = EventLoop()
    clock = SimClock(loop)
    times: list[float] = []

    def first() -> None:
        times.append(clock.now())
        loop.schedule(0.0, lambda: times.append(clock.now()))

    loop.schedule(4.0, first)
    loop.run(10.0)
    assert times == [4.0, 4.0]


def test_nan_times_are_refused() -> None:
    with pytest.raises(ValueError, match="NaN"):
        EventLoop().schedule(float("nan"), lambda: None)

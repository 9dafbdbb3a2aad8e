"""The reporter's publish/skip decisions and the heartbeat monitor, on a hand-driven clock."""

from __future__ import annotations

import pytest

from colo.agent.report import Batch, BatchReporter, HeartbeatMonitor, ReportOptions
from colo.core.errors import InvalidInput

CPU, MEM = 32_000, 128 * 2**30


def reporter(**kw: float) -> BatchReporter:
    opts = ReportOptions(threshold=0.05, min_interval_s=10, **kw)
    return BatchReporter(opts, cpu_capacity=CPU, memory_capacity=MEM)


def published(r: BatchReporter, b: Batch, now: float) -> None:
    d = r.decide(b, now)
    assert d.publish == b, d.reason
    r.published_ok(b, now)


def test_first_report_goes_out_then_small_changes_are_skipped() -> None:
    r = reporter()
    published(r, Batch(10_000, 40 * 2**30), 0.0)
    small = Batch(10_000 + 1500, 40 * 2**30)  # 4.7 % of 32 cores
    d = r.decide(small, 100.0)
    assert d.publish is None and "below 5%" in d.reason
    assert r.decide(Batch(10_000, 40 * 2**30), 100.0).reason == "unchanged"


def test_rises_are_rate_limited_but_drops_go_out_at_once() -> None:
    r = reporter()
    published(r, Batch(10_000, 40 * 2**30), 0.0)
    up = Batch(14_000, 40 * 2**30)
    assert r.decide(up, 5.0).publish is None  # < 10 s since the last patch
    assert r.decide(up, 10.0).publish == up
    r.published_ok(up, 10.0)
    down = Batch(9_000, 40 * 2**30)
    d = r.decide(down, 11.0)  # 1 s later: a drop is not held back
    assert d.publish == down and d.reason == "dropped past the threshold"


def test_a_fall_to_zero_is_always_published() -> None:
    r = reporter()
    published(r, Batch(500, 2**30), 0.0)  # tiny values: any change is below the threshold
    d = r.decide(Batch(0, 2**30), 1.0)
    assert d.publish == Batch(0, 2**30) and d.reason == "fell to zero"


def test_heartbeat_is_due_every_interval() -> None:
    r = reporter(heartbeat_interval_s=10, heartbeat_timeout_s=40)
    assert r.heartbeat_due(0.0)
    r.heartbeat_ok(0.0)
    assert not r.heartbeat_due(9.9) and r.heartbeat_due(10.0)


def test_monitor_counts_only_changes_of_the_marker_on_its_own_clock() -> None:
    m = HeartbeatMonitor(timeout_s=30)
    m.observe("a", "t1", 0.0)
    m.observe("b", "t1", 0.0)
    m.observe("a", "t2", 20.0)  # a beats
    m.observe("b", "t1", 20.0)  # b's lease unchanged: not a beat
    assert m.silent(["a", "b"], 31.0, started_s=0.0) == ["b"]
    # a node never seen counts from the monitor's start, not from 0
    assert m.silent(["c"], 31.0, started_s=10.0) == []
    assert m.silent(["c"], 41.0, started_s=10.0) == ["c"]


def test_options_validation() -> None:
    with pytest.raises(InvalidInput, match="heartbeat_timeout_s"):
        ReportOptions(heartbeat_interval_s=10, heartbeat_timeout_s=15)
    with pytest.raises(InvalidInput, match="threshold"):
        ReportOptions(threshold=2)

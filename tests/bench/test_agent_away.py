"""bench/_agent_away.py's arithmetic: its figures are medians over the repeats and each
inflation pairs a window with the "alone" of the same repeat, and the box checker tells
the kubelet's defaults from what the agent left."""

from __future__ import annotations

import math
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))

from _agent_away import AgentAway, BoxState  # noqa: E402


def test_inflation_pairs_each_repeat_with_its_own_alone() -> None:
    out = AgentAway()
    for alone, away, static in ((10.0, 20.0, 10.0), (2.0, 3.0, 4.0), (5.0, 5.0, 10.0)):
        out.p99s["alone"].append(alone)
        out.p99s["away"].append(away)
        out.p99s["static"].append(static)
    assert out.repeats == 3
    assert out.p99_ms("away") == 5.0  # median of 20, 3, 5
    # ratios 1.0, 0.5, 0.0 → median 0.5; the ratio of medians would be 5 / 5 − 1 = 0
    assert out.inflation_away == 0.5
    assert out.inflation_static == 1.0  # 0, 1, 1
    figures = out.figures()
    assert figures["agent_kill_inflation_away"] == 0.5
    assert figures["agent_kill_p99_static_ms"] == 10.0
    assert figures["agent_kill_p99_back_ms"] is None  # no window measured: not a number
    assert figures["agent_kill_repeats"] == 3


def test_every_repeat_must_adopt_and_repair() -> None:
    out = AgentAway()
    assert not out.all_adopted and not out.all_repaired  # nothing ran: nothing shown
    out.p99s["static"] += [1.0, 1.0]
    out.adopted, out.repairs = 2, 1
    assert out.all_adopted and not out.all_repaired
    assert math.isnan(AgentAway().inflation_away)


def test_a_reset_is_a_kubelet_default_the_agent_had_left_behind() -> None:
    left = BoxState(quota_us=100_000, period_us=100_000, idle="1", shares=3,
                    memory_limit=1 << 30, cpus="0-1", online_cpus="0-1")  # fmt: skip
    assert left.reset_from(left) == []
    kubelet = BoxState(quota_us=-1, period_us=100_000, idle="0", shares=2,
                       memory_limit=(1 << 63) - 4096, cpus="0-1", online_cpus="0-1")  # fmt: skip
    assert kubelet.reset_from(left) == [
        "no cpu quota", "cpu.idle 0", "cpu.shares 2", "no memory limit"]  # fmt: skip
    # shares 2 is no reset when the agent itself had left 2
    assert kubelet.reset_from(kubelet) == []

"""The guard's state machine: levels called for by each signal, hysteresis, evictions."""

from __future__ import annotations

import numpy as np
import pytest

from colo.agent.guard import Guard, GuardOptions, Level, Signals
from colo.core.errors import InvalidInput


def signals(n: int = 1, **values: float) -> Signals:
    s = Signals.unavailable(n)
    for name, value in values.items():
        getattr(s, name)[:] = value
    return s


@pytest.mark.parametrize(
    ("measured", "level"),
    [
        ({}, Level.NORMAL),  # nothing measured: nothing called for
        ({"cpu": 0.5}, Level.NORMAL),
        ({"cpu": 0.80}, Level.THROTTLE),
        ({"cpu": 0.93}, Level.FORBID),
        ({"cpu": 0.99}, Level.EVICT),
        ({"online": 0.75}, Level.FORBID),  # online alone never just throttles
        ({"online": 0.60}, Level.NORMAL),
        ({"online": 0.90}, Level.EVICT),
        ({"psi_cpu": 0.12}, Level.THROTTLE),
        ({"psi_memory": 0.06}, Level.FORBID),
        ({"psi_io": 0.5}, Level.FORBID),  # io pressure never evicts by itself
        ({"cpi": 1.4}, Level.THROTTLE),
        ({"slo_failing": 1.0}, Level.EVICT),
        ({"slo_failing": 0.0}, Level.NORMAL),
        ({"cpu": 0.85, "psi_memory": 0.2}, Level.EVICT),  # the loudest signal wins
    ],
)
def test_each_signal_calls_for_the_level_its_thresholds_say(
    measured: dict[str, float], level: Level
) -> None:
    called, _ = Guard(1).called_for(signals(**measured))
    assert called.tolist() == [level]


def test_an_unknown_probe_result_is_neither_healthy_nor_failing() -> None:
    guard = Guard(1)
    called, _ = guard.called_for(signals(cpu=0.85, slo_failing=float("nan")))
    assert called.tolist() == [Level.THROTTLE]


def test_a_lasting_breach_climbs_one_level_per_up_after_intervals() -> None:
    guard = Guard(1, GuardOptions(up_after=2))
    seen = []
    for t in range(8):
        for tr in guard.step(signals(cpu=0.99), float(t)):
            seen.append((t, tr.old, tr.new))
    assert seen == [
        (1, Level.NORMAL, Level.THROTTLE),
        (3, Level.THROTTLE, Level.FORBID),
        (5, Level.FORBID, Level.EVICT),
    ]


def test_one_noisy_interval_does_not_step_up() -> None:
    guard = Guard(1, GuardOptions(up_after=2))
    values = [0.99, 0.5, 0.99, 0.5, 0.99]
    assert all(not guard.step(signals(cpu=v), float(t)) for t, v in enumerate(values))
    assert guard.state.level.tolist() == [Level.NORMAL]


def test_it_calms_down_one_level_per_down_after_quiet_intervals() -> None:
    guard = Guard(1, GuardOptions(up_after=1, down_after=3))
    for t in range(3):
        guard.step(signals(cpu=0.99), float(t))
    assert guard.state.level.tolist() == [Level.EVICT]
    levels = []
    for t in range(3, 12):
        guard.step(signals(cpu=0.2), float(t))
        levels.append(int(guard.state.level[0]))
    assert levels == [3, 3, 2, 2, 2, 1, 1, 1, 0]


def test_an_interval_calling_for_exactly_the_state_resets_both_counts() -> None:
    guard = Guard(1, GuardOptions(up_after=1, down_after=2))
    guard.step(signals(cpu=0.85), 0.0)  # THROTTLE
    guard.step(signals(cpu=0.2), 1.0)  # one quiet interval
    guard.step(signals(cpu=0.85), 2.0)  # calls for THROTTLE: the quiet count restarts
    guard.step(signals(cpu=0.2), 3.0)
    assert guard.state.level.tolist() == [Level.THROTTLE]


def test_the_transition_says_which_signal_and_threshold_and_for_how_long() -> None:
    guard = Guard(1, GuardOptions(up_after=1))
    (tr,) = guard.step(signals(cpu=0.5, psi_cpu=0.3), 0.0)
    assert tr.new is Level.THROTTLE
    assert tr.reason == (
        "cpu pressure (some, avg10) 0.30 reached the FORBID threshold for 1 intervals"
    )
    (tr,) = Guard(1, GuardOptions(up_after=1)).step(signals(slo_failing=1.0), 0.0)
    assert tr.reason.startswith("an online pod's SLO probe is failing")


def test_nodes_are_judged_apart() -> None:
    guard = Guard(3, GuardOptions(up_after=1))
    s = Signals.unavailable(3)
    s.cpu[:] = [0.5, 0.85, 0.99]
    transitions = guard.step(s, 0.0)
    assert [(tr.node, tr.new) for tr in transitions] == [(1, Level.THROTTLE), (2, Level.THROTTLE)]


def test_evictions_wait_for_the_cooldown() -> None:
    guard = Guard(1, GuardOptions(up_after=1, evict_cooldown_s=30.0))
    for t in range(3):
        guard.step(signals(cpu=0.99), float(t))
    assert guard.may_evict(0, 3.0)
    guard.evicted(0, 3.0)
    assert not guard.may_evict(0, 32.9)
    assert guard.may_evict(0, 33.0)
    assert not Guard(1).may_evict(0, 100.0)  # never outside EVICT


@pytest.mark.parametrize(
    ("field", "value"),
    [("cpu_forbid", 0.5), ("psi_cpu_throttle", 0.0), ("up_after", 0), ("evict_cooldown_s", -1)],
)
def test_options_that_make_no_sense_are_refused_naming_the_field(field: str, value: float) -> None:
    with pytest.raises(InvalidInput, match=field.split("_")[0]):
        GuardOptions(**{field: value})


def test_ten_thousand_nodes_step_together() -> None:
    guard = Guard(10_000, GuardOptions(up_after=1))
    s = Signals.unavailable(10_000)
    s.cpu[:] = np.linspace(0, 1, 10_000)
    guard.step(s, 0.0)
    expected = np.where(s.cpu >= 0.80, Level.THROTTLE, Level.NORMAL)
    assert (guard.state.level == expected).all()

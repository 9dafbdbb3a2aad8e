"""The offline box's size: cut at once, grown at a bounded rate, never below the floor."""

from __future__ import annotations

import numpy as np
import pytest

from colo.agent.box import Bound, Box, BoxOptions
from colo.agent.guard import Level
from colo.core.errors import InvalidInput

GIB = 2**30


def box(**options: float) -> Box:
    return Box(np.array([10_000.0]), np.array([64.0 * GIB]), BoxOptions(**options))  # type: ignore[arg-type]


def size(b: Box, now: float, online: float, *, level: Level = Level.NORMAL, system: float = 500,
         offline_memory: float = 0.0) -> tuple[float, int, int, bool]:  # fmt: skip
    s = b.size(
        now,
        online_milli=np.array([online]),
        system_milli=np.array([system]),
        level=np.array([level]),
        online_memory=np.array([16.0 * GIB]),
        system_memory=np.array([2.0 * GIB]),
        offline_memory=np.array([offline_memory]),
    )
    return float(s.cpu_milli[0]), int(s.quota_us[0]), int(s.memory_bytes[0]), bool(s.reclaim[0])


def test_the_box_grows_towards_its_target_at_the_bounded_rate() -> None:
    b = box(target_util=0.9, grow_milli_per_s=1000, floor_milli=100)
    got = [size(b, t, online=2000)[0] for t in (0.0, 1.0, 2.0, 10.0)]
    # target = 10000 × 0.9 − 2000 − 500 = 6500; the first interval counts as one second
    assert got == [1100.0, 2100.0, 3100.0, 6500.0]


def test_rising_online_load_cuts_the_box_at_once() -> None:
    b = box(grow_milli_per_s=100_000)
    assert size(b, 0.0, online=1000)[0] == 7500.0
    assert size(b, 0.5, online=6000)[0] == 2500.0  # half a second later, all of it


def test_the_box_never_falls_below_the_floor_nor_rises_above_the_node() -> None:
    b = box(floor_milli=300, grow_milli_per_s=1e9, target_util=1.0)
    assert size(b, 0.0, online=20_000)[0] == 300.0
    assert size(b, 1.0, online=0, system=0)[0] == 10_000.0


def test_the_guard_throttling_squeezes_the_box_to_its_share() -> None:
    b = box(grow_milli_per_s=1e9, throttle_share=0.5)
    assert size(b, 0.0, online=1000)[0] == 7500.0
    assert size(b, 1.0, online=1000, level=Level.THROTTLE)[0] == 3750.0
    assert size(b, 2.0, online=1000, level=Level.EVICT)[0] == 3750.0


def test_each_size_says_which_bound_set_it() -> None:
    """What `colo explain node` reports: the target, the growth limit, the floor or the
    cpus. Each interval below is set by a different one."""
    b = box(target_util=0.9, grow_milli_per_s=1000, floor_milli=300)

    def bound(now: float, online: float, ceiling: float = 10_000.0) -> tuple[float, int, float]:
        s = b.size(
            now, online_milli=np.array([online]), system_milli=np.array([500.0]),
            level=np.array([Level.NORMAL]), online_memory=np.array([0.0]),
            system_memory=np.array([0.0]), offline_memory=np.array([0.0]),
            ceiling_milli=np.array([ceiling]),
        )  # fmt: skip
        assert s.top_milli[0] == min(ceiling, 10_000.0)
        return float(s.cpu_milli[0]), int(s.bound[0]), float(s.target_milli[0])

    assert bound(0.0, 2000) == (1300.0, Bound.RATE, 6500.0)  # from the floor, + 1000/s
    assert bound(1.0, 2000, ceiling=1500.0) == (1500.0, Bound.TOP, 6500.0)
    assert bound(2.0, 7200) == (1300.0, Bound.TARGET, 1300.0)  # cut at once: 9000 - 7200 - 500
    assert bound(3.0, 8800) == (300.0, Bound.FLOOR, -300.0)
    assert bound(4.0, 8000) == (500.0, Bound.TARGET, 500.0)  # grown by 200 to its target
    assert Bound.TOP.label == "cpus"


def test_the_quota_is_the_cpu_over_the_period() -> None:
    b = box(grow_milli_per_s=1e9, period_us=100_000)
    cpu, quota, _, _ = size(b, 0.0, online=1000)
    assert (cpu, quota) == (7500.0, 750_000)


def test_memory_is_what_online_and_the_system_leave_and_cache_is_reclaimed_near_it() -> None:
    b = box(memory_target=0.95)
    _, _, limit, reclaim = size(b, 0.0, online=0, offline_memory=1.0 * GIB)
    assert limit == int(64 * GIB * 0.95 - 16 * GIB - 2 * GIB) and not reclaim
    _, _, _, reclaim = size(b, 1.0, online=0, offline_memory=limit * 0.96)
    assert reclaim


@pytest.mark.parametrize(
    ("field", "value"), [("target_util", 0.0), ("throttle_share", 1.5), ("period_us", 10)]
)
def test_options_out_of_range_are_refused_naming_the_field(field: str, value: float) -> None:
    with pytest.raises(InvalidInput, match=field):
        BoxOptions(**{field: value})  # type: ignore[arg-type]

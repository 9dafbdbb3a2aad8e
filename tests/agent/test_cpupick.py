"""The pickers' building blocks: fewest groups with best fit, and the topology index."""

from __future__ import annotations

import pytest
from cpukit import load

from colo.agent.cpupick import Layout, Shortfall, pick_threads, pick_whole_cores, plan


@pytest.mark.parametrize(
    ("counts", "need", "want"),
    [
        pytest.param({0: 8, 1: 8}, 3, [(0, 3)], id="equal groups: the lowest id"),
        pytest.param({0: 8, 1: 5}, 3, [(1, 3)], id="one group fits: the one with fewest units"),
        pytest.param({0: 2, 1: 5}, 3, [(1, 3)], id="a group too small is skipped"),
        pytest.param(
            {0: 4, 1: 6, 2: 6}, 10, [(0, 4), (1, 6)], id="none fits: largest first, ties lowest"
        ),
        pytest.param(
            {0: 6, 1: 2, 2: 3}, 8, [(0, 6), (1, 2)], id="the last group is chosen best fit"
        ),
        pytest.param({0: 1, 1: 1, 2: 1}, 3, [(0, 1), (1, 1), (2, 1)], id="every group"),
        pytest.param({0: 1, 1: 1}, 3, None, id="not enough in total"),
        pytest.param({0: 1}, 0, [], id="nothing needed"),
    ],
)
def test_plan_uses_the_fewest_groups(
    counts: dict[int, int], need: int, want: list[tuple[int, int]] | None
) -> None:
    assert plan(counts, need) == want


def test_the_layout_indexes_numa_nodes_sockets_and_cores_of_a_real_machine() -> None:
    layout = Layout.of(load("16s6c1t-4numa"))
    assert layout.smt == 1
    assert list(layout.numa_socket_cores) == [0, 1, 2, 3]
    assert list(layout.numa_socket_cores[0]) == [0, 1, 2, 3]  # ascending, not file order
    assert layout.numa_socket_cores[0][1][:3] == (0, 4, 8)
    smt = Layout.of(load("2s6c2t-2numa-interleaved"))
    assert smt.smt == 2 and smt.core_cpus[1] == (1, 13)
    assert smt.is_whole_cores(frozenset({1, 13})) and not smt.is_whole_cores(frozenset({1}))
    assert smt.whole_cores_cpus([1, 2]) == {1, 13, 2, 14}


def test_pickers_say_what_was_free_when_they_fail() -> None:
    layout = Layout.of(load("2s8c2t-2numa"))
    short = pick_whole_cores(layout, frozenset({0, 16, 1}), 2)
    assert short == Shortfall("cores", 2, {0: 1, 1: 0})
    threads = pick_threads(layout, frozenset({0, 16, 24}), 3, single_numa=True)
    assert threads == Shortfall("cpus", 3, {0: 2, 1: 1}, numa=True)

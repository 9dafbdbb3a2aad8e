"""CPU topology: Linux-like numbering, whole-core allocation, NUMA packing, cpusets."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from colo.core.errors import InvalidInput
from colo.core.topology import CPUInfo, CPUSet, CPUTopology, format_cpuset, parse_cpuset


def span(low: int, high: int) -> frozenset[int]:
    return frozenset(range(low, high + 1))


class TestUniformLayout:
    def test_two_sockets_of_sixteen_hyperthreaded_cores(self) -> None:
        topo = CPUTopology.uniform()
        assert len(topo.cpus) == 64
        assert len(topo.physical_cores) == 32
        assert topo.numa_nodes == (0, 1)
        assert topo.sockets == (0, 1)
        assert topo.siblings(0) == {0, 32}
        assert topo.siblings(33) == {1, 33}
        assert topo.physical_cores[17] == (17, 49)
        assert topo.cpus_in_numa(0) == span(0, 15) | span(32, 47)
        assert topo.cpus_in_numa(1) == span(16, 31) | span(48, 63)
        assert topo.info(49) == CPUInfo(cpu=49, core=17, socket=1, numa=1)

    def test_numa_nodes_split_each_socket_in_order(self) -> None:
        topo = CPUTopology.uniform(sockets=2, cores_per_socket=8, numa_per_socket=2)
        assert topo.numa_nodes == (0, 1, 2, 3)
        assert topo.cores_in_numa(1) == (4, 5, 6, 7)
        assert topo.cpus_in_numa(3) == span(12, 15) | span(28, 31)

    def test_without_smt_every_cpu_is_a_core(self) -> None:
        topo = CPUTopology.uniform(sockets=1, cores_per_socket=4, threads_per_core=1)
        assert topo.cpus == span(0, 3)
        assert all(topo.siblings(c) == {c} for c in topo.cpus)

    def test_unknown_numa_nodes_are_empty_and_unknown_cpus_are_errors(self) -> None:
        topo = CPUTopology.uniform(sockets=1, cores_per_socket=2)
        assert topo.cpus_in_numa(9) == frozenset()
        with pytest.raises(InvalidInput, match="unknown cpu"):
            topo.siblings(99)

    @pytest.mark.parametrize(
        "kwargs",
        [{"sockets": 0}, {"threads_per_core": 0}, {"cores_per_socket": 6, "numa_per_socket": 4}],
        ids=["no sockets", "no threads", "NUMA nodes that do not divide the cores"],
    )
    def test_impossible_layouts_are_rejected(self, kwargs: dict[str, int]) -> None:
        with pytest.raises(InvalidInput):
            CPUTopology.uniform(**kwargs)

    def test_equal_layouts_compare_equal(self) -> None:
        a = CPUTopology.uniform(sockets=1, cores_per_socket=2)
        b = CPUTopology.from_cpus(
            [CPUInfo(3, 1, 0, 0), CPUInfo(0, 0, 0, 0), CPUInfo(1, 1, 0, 0), CPUInfo(2, 0, 0, 0)]
        )
        assert a == b and hash(a) == hash(b)
        assert "cpus=4" in repr(a)


class TestFromCpus:
    def test_a_duplicate_cpu_is_rejected(self) -> None:
        with pytest.raises(InvalidInput, match="duplicate cpu"):
            CPUTopology.from_cpus([CPUInfo(0, 0, 0, 0), CPUInfo(0, 1, 0, 0)])

    def test_a_core_spanning_numa_nodes_is_rejected(self) -> None:
        with pytest.raises(InvalidInput, match="core spans"):
            CPUTopology.from_cpus([CPUInfo(0, 0, 0, 0), CPUInfo(1, 0, 0, 1)])

    def test_negative_ids_are_rejected(self) -> None:
        with pytest.raises(InvalidInput, match="non-negative"):
            CPUTopology.from_cpus([CPUInfo(-1, 0, 0, 0)])


class TestWholeCores:
    topo = CPUTopology.uniform(sockets=2, cores_per_socket=4, threads_per_core=2)
    # cores 0-3 on NUMA 0 (cpus 0-3 and 8-11), cores 4-7 on NUMA 1 (cpus 4-7 and 12-15)

    def test_zero_cores_is_an_empty_set(self) -> None:
        assert self.topo.take_whole_cores(0, self.topo.cpus) == frozenset()

    def test_lowest_free_cores_of_the_best_fitting_numa_node(self) -> None:
        assert self.topo.take_whole_cores(2, self.topo.cpus) == frozenset({0, 1, 8, 9})

    def test_the_numa_node_with_fewest_free_cores_that_fits_is_packed_first(self) -> None:
        available = self.topo.cpus - {0, 8, 1, 9}  # NUMA 0 has 2 free cores, NUMA 1 has 4
        assert self.topo.take_whole_cores(2, available) == frozenset({2, 3, 10, 11})
        assert self.topo.take_whole_cores(3, available) == frozenset({4, 5, 6, 12, 13, 14})

    def test_a_core_with_a_busy_sibling_is_not_free(self) -> None:
        available = self.topo.cpus - {8}  # core 0 is half taken
        assert self.topo.take_whole_cores(1, available) == frozenset({1, 9})
        assert self.topo.free_cores(available, numa=0) == (1, 2, 3)

    def test_a_requested_numa_node_is_honoured_or_nothing(self) -> None:
        assert self.topo.take_whole_cores(2, self.topo.cpus, numa=1) == frozenset({4, 5, 12, 13})
        assert self.topo.take_whole_cores(5, self.topo.cpus, numa=1) is None

    def test_when_no_node_fits_the_request_spans_the_fewest_nodes(self) -> None:
        available = self.topo.cpus - {0, 8}  # NUMA 0 has 3 free cores, NUMA 1 has 4
        assert self.topo.take_whole_cores(5, available) == frozenset(
            {4, 5, 6, 7, 12, 13, 14, 15, 1, 9}
        )

    def test_not_enough_free_cores_is_none(self) -> None:
        assert self.topo.take_whole_cores(9, self.topo.cpus) is None
        assert self.topo.take_whole_cores(1, frozenset({0, 1, 2})) is None

    def test_a_negative_count_is_a_bug(self) -> None:
        with pytest.raises(ValueError, match="count"):
            self.topo.take_whole_cores(-1, self.topo.cpus)

    @given(st.sets(st.integers(0, 15)), st.integers(0, 8), st.sampled_from([None, 0, 1]))
    def test_allocations_are_whole_free_cores(
        self, available: set[int], count: int, numa: int | None
    ) -> None:
        taken = self.topo.take_whole_cores(count, frozenset(available), numa=numa)
        if taken is None:
            return
        assert taken <= available
        assert len(taken) == 2 * count
        assert all(self.topo.siblings(c) <= taken for c in taken)
        if numa is not None:
            assert taken <= self.topo.cpus_in_numa(numa)
        assert taken == self.topo.take_whole_cores(count, frozenset(available), numa=numa)


CPUSETS = {
    "a range and singles": ("0-3,8,10-11", {0, 1, 2, 3, 8, 10, 11}),
    "a single cpu": ("5", {5}),
    "the empty string is the empty set": ("", set()),
    "a trailing newline is ignored": ("0-1\n", {0, 1}),
    "a range of one": ("4-4", {4}),
    "overlapping parts merge": ("0-2,1-3", {0, 1, 2, 3}),
}


@pytest.mark.parametrize(("text", "cpus"), CPUSETS.values(), ids=CPUSETS.keys())
def test_parse_cpuset(text: str, cpus: set[int]) -> None:
    assert parse_cpuset(text) == cpus
    assert CPUSet.parse(text) == cpus


@pytest.mark.parametrize(
    ("cpus", "text"),
    [({0, 1, 2, 3, 8, 10, 11}, "0-3,8,10-11"), (set(), ""), ({7}, "7"), ({3, 1, 2}, "1-3")],
)
def test_format_cpuset(cpus: set[int], text: str) -> None:
    assert format_cpuset(cpus) == text
    assert CPUSet.format(cpus) == text


@pytest.mark.parametrize(
    "text",
    ["3-1", "1,,2", "a", "-1", "1-", "1-2-3", "0x1", " , ", "١", "1 ,2", "1.5", "1:2"],
)
def test_bad_cpusets_are_invalid_input(text: str) -> None:
    with pytest.raises(InvalidInput) as info:
        parse_cpuset(text, obj="pod default/web", field="cpuset.cpus")
    assert str(info.value).startswith("pod default/web: field cpuset.cpus: invalid cpu")


def test_a_non_string_cpuset_is_invalid_input() -> None:
    with pytest.raises(InvalidInput):
        parse_cpuset(3)  # type: ignore[arg-type]


@given(st.sets(st.integers(0, 511)))
def test_cpusets_round_trip(cpus: set[int]) -> None:
    text = format_cpuset(cpus)
    assert parse_cpuset(text) == cpus
    assert format_cpuset(parse_cpuset(text)) == text

"""CPU tiers on real machines' layouts: where exclusive pods go, what is refused, and why."""

from __future__ import annotations

import pytest
from cpukit import load, pod, span

from colo.agent.cpus import (
    CPUAllocator,
    CPUAssignment,
    CPUOptions,
    CPUPod,
    RefusalCode,
    allocate_cpus,
)
from colo.agent.kubeletcpu import parse_kubelet_cpu_state
from colo.core.errors import InvalidInput
from colo.core.objects import Pod
from colo.core.qos import QoSTier

#: (id, fixture, reserved cpus, pods, {pod name: its cpus})
PLACEMENTS = [
    (
        "an LSE pod of 4 cpus gets two whole cores and their siblings on one NUMA node",
        "2s8c2t-2numa",
        (),
        [pod("a", "LSE", 4)],
        {"a": {0, 1, 16, 17}},
    ),
    (
        "a second LSE pod packs onto the NUMA node the first one started (best fit)",
        "2s8c2t-2numa",
        (),
        [pod("a", "LSE", 4), pod("b", "LSE", 4)],
        {"a": {0, 1, 16, 17}, "b": {2, 3, 18, 19}},
    ),
    (
        "an LSE pod filling a NUMA node takes exactly that node's cores and siblings",
        "24s8c2t-24numa",
        (),
        [pod("a", "LSE", 16)],
        {"a": span(0, 7) | span(192, 199)},
    ),
    (
        "an LSE pod larger than a NUMA node spans the fewest nodes",
        "24s8c2t-24numa",
        (),
        [pod("a", "LSE", 20)],
        {"a": span(0, 9) | span(192, 201)},
    ),
    (
        "without SMT and four sockets per NUMA node an LSE pod stays on one socket",
        "16s6c1t-4numa",
        (),
        [pod("a", "LSE", 4)],
        {"a": {1, 5, 9, 13}},  # package 0 holds cpus 1, 5, 9, ... of node 0
    ),
    (
        "an LSE pod larger than a socket fills one socket and takes the rest from one more",
        "16s6c1t-4numa",
        (),
        [pod("a", "LSE", 7)],
        {"a": {1, 5, 9, 13, 17, 21, 0}},
    ),
    (
        "on one NUMA node over four sockets an LSE pod stays on one socket",
        "4s2c2t-1numa",
        (),
        [pod("a", "LSE", 4)],
        {"a": {0, 4, 8, 12}},  # socket 0: cpus 0 and 4, siblings 8 and 12
    ),
    (
        "an LSE pod larger than a socket takes one whole socket and a core of the next",
        "4s2c2t-1numa",
        (),
        [pod("a", "LSE", 6)],
        {"a": {0, 4, 8, 12, 1, 9}},
    ),
    (
        "with interleaved sockets an LSE pod gets even cpus, all of NUMA node 0",
        "2s6c2t-2numa-interleaved",
        (),
        [pod("a", "LSE", 4)],
        {"a": {0, 2, 12, 14}},
    ),
    (
        "on a 2-cpu machine an LSE pod of one cpu leaves the other to the shared pool",
        "local-2cpu",
        (),
        [pod("a", "LSE", 1)],
        {"a": {0}},
    ),
    (
        "the sibling of a reserved cpu is never part of an LSE pod's cores",
        "2s8c2t-2numa",
        (0,),
        [pod("a", "LSE", 2)],
        {"a": {1, 17}},
    ),
    (
        "an LSR pod of one cpu fills the sibling of a reserved cpu before breaking a core",
        "2s8c2t-2numa",
        (0,),
        [pod("a", "LSR", 1)],
        {"a": {16}},
    ),
    (
        "an LSR pod of 3 cpus takes a whole core and one more thread",
        "2s8c2t-2numa",
        (),
        [pod("a", "LSR", 3)],
        {"a": {0, 16, 1}},
    ),
    (
        "LSE pods are placed before LSR pods whatever the order they come in",
        "2s8c2t-2numa",
        (),
        [pod("r", "LSR", 3), pod("e", "LSE", 2)],
        {"e": {0, 16}, "r": {1, 17, 2}},
    ),
    (
        "larger LSE pods are placed first so a NUMA node stays whole for them",
        "24s8c2t-24numa",
        (),
        [pod("small", "LSE", 2), pod("big", "LSE", 16)],
        {"big": span(0, 7) | span(192, 199), "small": {8, 200}},
    ),
]


@pytest.mark.parametrize(
    ("fixture", "reserved", "pods", "want"),
    [pytest.param(*case[1:], id=case[0]) for case in PLACEMENTS],
)
def test_placement(
    fixture: str, reserved: tuple[int, ...], pods: list[CPUPod], want: dict[str, set[int]]
) -> None:
    result = allocate_cpus(load(fixture), pods, reserved_cpus=reserved)
    assert not result.refusals, result.refusals
    got = {p.name.removeprefix("default/"): set(p.cpus) for p in result.exclusive.values()}
    assert got == want
    exclusive = frozenset().union(*want.values())
    assert result.shared == load(fixture).cpus - exclusive


#: (id, fixture, reserved, options, the pod, refusal code, field, words in the message)
REFUSALS = [
    (
        "an LSE pod of 3 cpus on 2 threads per core is refused, not rounded up",
        "2s8c2t-2numa",
        (),
        CPUOptions(),
        pod("odd", "LSE", 3),
        RefusalCode.SMT_ALIGNMENT,
        "resources.requests.cpu",
        ["SMTAlignmentError", "ask for 2 or 4"],
    ),
    (
        "an LSE pod asking for no cpu is refused naming the request",
        "2s8c2t-2numa",
        (),
        CPUOptions(),
        pod("zero", "LSE", 0),
        RefusalCode.INVALID,
        "resources.requests.cpu",
        ["0m"],
    ),
    (
        "an LSR pod asking for negative cpus is refused naming the request",
        "2s8c2t-2numa",
        (),
        CPUOptions(),
        pod("neg", "LSR", -2),
        RefusalCode.INVALID,
        "resources.requests.cpu",
        ["-2000m"],
    ),
    (
        "a fractional LSE request is refused",
        "16s6c1t-4numa",
        (),
        CPUOptions(),
        pod("frac", "LSE", 2.5),
        RefusalCode.INVALID,
        "resources.requests.cpu",
        ["fractional", "2500m"],
    ),
    (
        "an LSR pod whose limit differs from its request is refused naming the limit",
        "2s8c2t-2numa",
        (),
        CPUOptions(),
        pod("burst", "LSR", 2, limit=4),
        RefusalCode.INVALID,
        "resources.limits.cpu",
        ["4000m", "equal to the request"],
    ),
    (
        "an LSE pod without a limit is refused naming the limit",
        "2s8c2t-2numa",
        (),
        CPUOptions(),
        pod("nolimit", "LSE", 2, limit=None),
        RefusalCode.INVALID,
        "resources.limits.cpu",
        ["no cpu limit"],
    ),
    (
        "an LS pod with a negative request is refused naming the request",
        "2s8c2t-2numa",
        (),
        CPUOptions(),
        pod("ls", "LS", -1),
        RefusalCode.INVALID,
        "resources.requests.cpu",
        ["negative"],
    ),
    (
        "a BE pod whose limit is below its request is refused naming the limit",
        "2s8c2t-2numa",
        (),
        CPUOptions(),
        pod("be", "BE", 1, limit=0.5),
        RefusalCode.INVALID,
        "resources.limits.cpu",
        ["500m"],
    ),
    (
        "an LSE pod is refused when too few whole cores are free",
        "2s8c2t-2numa",
        (0, 1),
        CPUOptions(),
        pod("huge", "LSE", 30),
        RefusalCode.NOT_ENOUGH_CORES,
        None,
        ["15 whole cores (30 cpus)", "14 free whole cores", "NUMA 0: 6, NUMA 1: 8", "0-1"],
    ),
    (
        "an LSR pod is refused when too few cpus are free",
        "2s8c2t-2numa",
        (0, 1, 2),
        CPUOptions(),
        pod("huge", "LSR", 30),
        RefusalCode.NOT_ENOUGH_CPUS,
        None,
        ["30 cpus", "29 free cpus"],
    ),
    (
        "with single-numa-node an LSE pod larger than any NUMA node is refused",
        "24s8c2t-24numa",
        (),
        CPUOptions(numa_policy="single-numa-node"),
        pod("wide", "LSE", 20),
        RefusalCode.NO_NUMA_FIT,
        None,
        ["10 whole cores (20 cpus) on one NUMA node", "at most 8"],
    ),
    (
        "an exclusive pod that would empty the shared pool is refused",
        "local-2cpu",
        (),
        CPUOptions(),
        pod("all", "LSE", 2),
        RefusalCode.SHARED_POOL,
        None,
        ["shared pool has 2"],
    ),
]


@pytest.mark.parametrize(
    ("fixture", "reserved", "options", "the_pod", "code", "field", "words"),
    [pytest.param(*case[1:], id=case[0]) for case in REFUSALS],
)
def test_refusal(
    fixture: str,
    reserved: tuple[int, ...],
    options: CPUOptions,
    the_pod: CPUPod,
    code: RefusalCode,
    field: str | None,
    words: list[str],
) -> None:
    result = allocate_cpus(load(fixture), [the_pod], reserved_cpus=reserved, options=options)
    assert result.exclusive == {}
    (refusal,) = result.refusals
    assert (refusal.uid, refusal.code, refusal.field) == (the_pod.uid, code, field)
    text = str(refusal)
    assert text.startswith(f"pod {the_pod.name}")
    for word in words:
        assert word in text
    assert result.cpuset_of(the_pod) == (result.be if the_pod.tier == "BE" else result.shared)


def test_an_lse_pod_of_three_cpus_is_fine_without_smt() -> None:
    result = allocate_cpus(load("16s6c1t-4numa"), [pod("a", "LSE", 3)])
    assert result.exclusive["uid-a"].cpus == {1, 5, 9}


def test_ls_and_be_pods_get_the_pools_and_be_stays_off_lse_cores_and_reserved_cpus() -> None:
    pods = [pod("e", "LSE", 2), pod("r", "LSR", 2), pod("ls", "LS", 0.5), pod("be", "BE", 0)]
    result = allocate_cpus(load("2s8c2t-2numa"), pods, reserved_cpus=[0])
    e, r = result.exclusive["uid-e"].cpus, result.exclusive["uid-r"].cpus
    assert e == {1, 17} and r == {2, 18}
    assert result.shared == load("2s8c2t-2numa").cpus - e - r
    assert 0 in result.shared  # reserved cpus are part of the shared pool
    assert result.be == load("2s8c2t-2numa").cpus - e - {0}  # LSR cpus are BE's when idle
    assert result.cpuset_of(pods[2]) == result.shared and result.cpuset_of(pods[3]) == result.be
    with_reserved = allocate_cpus(
        load("2s8c2t-2numa"), pods, reserved_cpus=[0], options=CPUOptions(be_on_reserved=True)
    )
    assert with_reserved.be == result.be | {0}


class TestStability:
    topo = load("2s8c2t-2numa")

    def test_rerunning_with_the_previous_assignment_returns_it_at_once(self) -> None:
        alloc = CPUAllocator(self.topo)
        pods = [pod("a", "LSE", 4), pod("b", "LSR", 3), pod("c", "LS", 1)]
        first = alloc.allocate(pods)
        assert alloc.allocate(pods, previous=first) is first
        again = alloc.allocate(list(reversed(pods)), previous=first)  # not the same input
        assert again is not first and again == first

    def test_a_pod_keeps_its_cpus_when_an_earlier_pod_leaves_and_the_leaver_frees_exactly_its_own(
        self,
    ) -> None:
        alloc = CPUAllocator(self.topo)
        a, b = pod("a", "LSE", 4), pod("b", "LSE", 4)
        first = alloc.allocate([a, b])
        after = alloc.allocate([b], previous=first)
        assert after.exclusive["uid-b"] == first.exclusive["uid-b"]
        assert after.shared == first.shared | first.exclusive["uid-a"].cpus

    def test_a_new_pod_never_moves_an_existing_one(self) -> None:
        alloc = CPUAllocator(self.topo)
        small = pod("small", "LSE", 2)
        first = alloc.allocate([small])
        big = pod("big", "LSE", 16)  # alone, it would take all of NUMA node 0
        after = alloc.allocate([small, big], previous=first)
        assert after.exclusive["uid-small"].cpus == {0, 16}
        assert after.exclusive["uid-big"].cpus == span(8, 15) | span(24, 31)

    def test_a_pod_the_kubelet_now_overlaps_moves_and_the_note_says_why(self) -> None:
        alloc = CPUAllocator(self.topo)
        a = pod("a", "LSE", 2)
        first = alloc.allocate([a])
        assert first.exclusive["uid-a"].cpus == {0, 16}
        state = parse_kubelet_cpu_state(
            '{"policyName":"static","defaultCpuSet":"1-15,17-31",'
            '"entries":{"uid-x":{"app":"0,16"}},"checksum":1}'
        )
        after = alloc.allocate([a], previous=first, kubelet=state)
        assert after.exclusive["uid-a"].cpus == {1, 17}
        assert after.moves == (
            "pod default/a could not keep cpus 0,16: the kubelet static CPU manager now owns "
            "cpus 0,16; now 1,17",
        )
        again = alloc.allocate([a], previous=after, kubelet=state)
        assert again is after
        other_input = alloc.allocate([a, pod("ls", "LS", 1)], previous=after, kubelet=state)
        assert other_input == after and other_input.moves == ()  # a move is an event

    def test_a_pod_whose_request_changed_is_placed_again(self) -> None:
        alloc = CPUAllocator(self.topo)
        first = alloc.allocate([pod("a", "LSR", 2)])
        after = alloc.allocate([pod("a", "LSR", 4)], previous=first)
        assert len(after.exclusive["uid-a"].cpus) == 4
        assert any("its request changed from 2 to 4 cpus" in n for n in after.moves)

    def test_a_pod_that_turns_ls_gives_its_cpus_back(self) -> None:
        alloc = CPUAllocator(self.topo)
        first = alloc.allocate([pod("a", "LSE", 2)])
        after = alloc.allocate([pod("a", "LS", 2)], previous=first)
        assert after.exclusive == {} and after.shared == self.topo.cpus

    def test_an_lsr_pod_that_turns_lse_keeps_cpus_only_if_they_are_whole_cores(self) -> None:
        alloc = CPUAllocator(self.topo)
        whole = alloc.allocate([pod("a", "LSR", 2)])
        assert whole.exclusive["uid-a"].cpus == {0, 16}
        assert alloc.allocate([pod("a", "LSE", 2)], previous=whole).exclusive["uid-a"].cpus == {
            0,
            16,
        }
        split = alloc.allocate([pod("a", "LSR", 1), pod("b", "LSR", 1)])
        assert split.exclusive["uid-a"].cpus == {0} and split.exclusive["uid-b"].cpus == {16}
        grown = alloc.allocate([pod("a", "LSR", 1), pod("b", "LSE", 2)], previous=split)
        assert grown.exclusive["uid-b"].cpus == {1, 17}  # {16} alone could not be kept

    def test_a_previous_assignment_from_a_bigger_machine_is_placed_again(self) -> None:
        first = allocate_cpus(load("24s8c2t-24numa"), [pod("a", "LSE", 2)], reserved_cpus=[0])
        assert first.exclusive["uid-a"].cpus == {1, 193}
        small = allocate_cpus(load("4s2c2t-1numa"), [pod("a", "LSE", 2)], previous=first)
        assert small.exclusive["uid-a"].cpus == {0, 8}
        assert any("are not on the node" in n for n in small.moves)

    def test_the_same_uid_twice_is_a_caller_bug(self) -> None:
        with pytest.raises(ValueError, match="given twice"):
            allocate_cpus(self.topo, [pod("a", "LSE", 2), pod("a", "LSR", 2)])


class TestKubeletStaticPolicy:
    topo = load("2s8c2t-2numa")
    state = parse_kubelet_cpu_state(
        '{"policyName":"static","defaultCpuSet":"0-3,8-19,24-31",'
        '"entries":{"uid-web":{"app":"4-7","sidecar":"20-23"},"uid-gone":{"c":"30"}},'
        '"checksum":42}'
    )

    def test_colo_allocates_around_the_kubelets_cpus_and_says_whose_they_are(self) -> None:
        web = pod("web", "LSR", 8)
        lse = pod("lse", "LSE", 8)
        result = allocate_cpus(self.topo, [web, lse], kubelet=self.state)
        assert result.exclusive["uid-web"].owner == "kubelet"
        assert result.exclusive["uid-web"].cpus == span(4, 7) | span(20, 23)
        assert result.exclusive["uid-lse"].cpus == span(0, 3) | span(16, 19)  # best fit
        assert result.kubelet == {"uid-gone": {30}, "uid-web": span(4, 7) | span(20, 23)}
        assert "kubelet static CPU manager owns cpus 4-7,20-23 for pod default/web" in result.notes
        assert "kubelet static CPU manager owns cpus 30 for pod uid uid-gone" in result.notes
        assert not result.shared & (span(4, 7) | span(20, 23) | {30})
        assert not result.be & (span(4, 7) | span(20, 23) | {30})

    def test_be_stays_off_the_siblings_of_cpus_the_kubelet_pinned_for_an_lse_pod(self) -> None:
        state = parse_kubelet_cpu_state(
            '{"policyName":"static","defaultCpuSet":"0-3,5-31","entries":{"uid-x":{"c":"4"}}}'
        )
        lse = allocate_cpus(self.topo, [pod("x", "LSE", 2)], kubelet=state)
        assert 20 not in lse.be and 20 in lse.shared
        ls = allocate_cpus(self.topo, [pod("x", "LS", 1)], kubelet=state)
        assert 20 in ls.be

    def test_the_none_policy_owns_nothing(self) -> None:
        state = parse_kubelet_cpu_state('{"policyName":"none","defaultCpuSet":"","checksum":1}')
        result = allocate_cpus(self.topo, [pod("a", "LSE", 2)], kubelet=state)
        assert result.kubelet == {} and result.notes == ()
        assert result.exclusive["uid-a"].cpus == {0, 16}


def test_explain_lists_pods_refusals_notes_and_pools() -> None:
    state = parse_kubelet_cpu_state('{"policyName":"static","entries":{"uid-k":{"c":"5"}}}')
    result = allocate_cpus(
        load("2s8c2t-2numa"),
        [pod("a", "LSE", 4), pod("b", "LSE", 3), pod("k", "LSR", 1)],
        reserved_cpus=[31],
        kubelet=state,
    )
    assert result.explain() == [
        "LSE pod default/a: cpus 0-1,16-17 (NUMA 0)",
        "LSR pod default/k: cpus 5 (NUMA 0) by the kubelet",
        "refused: pod default/b (field resources.requests.cpu): LSE pods get whole physical "
        "cores and 3 cpus is not a multiple of the 2 threads per core (kubelet "
        "full-pcpus-only: SMTAlignmentError); ask for 2 or 4",
        "kubelet static CPU manager owns cpus 5 for pod default/k",
        "reserved for the system: 31",
        "LS shared pool: 2-4,6-15,18-31",
        "BE cpuset: 2-4,6-15,18-30",
    ]


def test_lse_pods_on_every_core_but_a_reserved_one_leave_be_no_cpu_and_say_so() -> None:
    result = allocate_cpus(load("4s2c2t-1numa"), [pod("a", "LSE", 14)], reserved_cpus=[0, 8])
    assert result.be == frozenset() and result.shared == {0, 8}
    assert "BE cpuset is empty" in result.notes[-1]


def test_reserved_cpus_must_be_on_the_node() -> None:
    with pytest.raises(InvalidInput, match="reserved cpus not on the node"):
        CPUAllocator(load("local-2cpu"), reserved_cpus=[2])


def test_an_unknown_numa_policy_is_rejected() -> None:
    with pytest.raises(InvalidInput, match="numa_policy"):
        CPUOptions(numa_policy="restricted")  # type: ignore[arg-type]


def test_assignments_compare_by_value_not_by_the_input_that_made_them() -> None:
    a = allocate_cpus(load("local-2cpu"), [])
    assert isinstance(a, CPUAssignment) and a == allocate_cpus(load("local-2cpu"), ())


class TestDerivedTiers:
    """Unlabelled Guaranteed pods are LSR by derivation (`colo.core.qos`)."""

    def test_a_derived_lsr_pod_of_fractional_cpus_runs_in_the_shared_pool_unrefused(self) -> None:
        guaranteed = pod("g", "LSR", 0.5, labelled=False)
        result = allocate_cpus(load("2s8c2t-2numa"), [guaranteed])
        assert result.exclusive == {} and result.refusals == ()
        assert result.cpuset_of(guaranteed) == result.shared == load("2s8c2t-2numa").cpus

    def test_a_derived_lsr_pod_of_whole_cpus_is_pinned_as_the_kubelet_would(self) -> None:
        result = allocate_cpus(load("2s8c2t-2numa"), [pod("g", "LSR", 2, labelled=False)])
        assert result.exclusive["uid-g"].cpus == {0, 16}

    def test_a_pod_view_becomes_a_cpu_pod_with_its_tier_and_where_it_came_from(self) -> None:
        raw = {
            "metadata": {"name": "web", "namespace": "shop", "uid": "u-1"},
            "spec": {
                "containers": [
                    {
                        "name": "app",
                        "resources": {"limits": {"cpu": "2", "memory": "1Gi"}},
                    }
                ]
            },
        }
        derived = CPUPod.of(Pod.from_k8s(raw))
        assert derived == CPUPod("u-1", "shop/web", QoSTier.LSR, 2000, 2000, False)
        raw["metadata"]["labels"] = {"colo.io/qos": "LSE"}  # type: ignore[index]
        labelled = CPUPod.of(Pod.from_k8s(raw))
        assert labelled.tier is QoSTier.LSE and labelled.tier_from_label
        raw["metadata"]["labels"] = {"colo.io/qos": "LS"}  # type: ignore[index]
        raw["spec"]["containers"][0]["resources"] = {"requests": {"cpu": "250m"}}  # type: ignore[index]
        assert CPUPod.of(Pod.from_k8s(raw)).cpu_limit_milli is None


def test_a_one_cpu_lse_pod_on_two_threads_per_core_is_told_to_ask_for_two() -> None:
    (refusal,) = allocate_cpus(load("2s8c2t-2numa"), [pod("one", "LSE", 1)]).refusals
    assert refusal.message.endswith("ask for 2")


def test_a_pod_that_cannot_be_placed_again_says_it_has_nothing_now() -> None:
    alloc = CPUAllocator(load("local-2cpu"))
    first = alloc.allocate([pod("a", "LSR", 1)])
    assert first.exclusive["uid-a"].cpus == {0}
    state = parse_kubelet_cpu_state('{"policyName":"static","entries":{"uid-x":{"c":"0"}}}')
    after = alloc.allocate([pod("a", "LSR", 1)], previous=first, kubelet=state)
    assert after.exclusive == {}
    assert after.moves[0].endswith("now none (refused)")
    assert after.refusals[0].code is RefusalCode.SHARED_POOL

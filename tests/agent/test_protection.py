"""The protection loop engine: measurements in, commands out, on a hand-driven clock."""

from __future__ import annotations

from pathlib import PurePosixPath

import numpy as np
import pytest
from cpukit import load

from colo.agent.box import BoxOptions
from colo.agent.guard import GuardOptions, Level
from colo.agent.kubeletcpu import KubeletCPUOwner, KubeletCPUState
from colo.agent.protection import (
    Apply,
    Evict,
    Forbid,
    Measurements,
    ProtectedNode,
    ProtectedPod,
    ProtectionLoop,
    ProtectionOptions,
    Starving,
    Transitioned,
    explain_lines,
)
from colo.agent.report import Batch
from colo.agent.reporting import NodeSpec, Publish, ReportingLoop, ReportingOptions
from colo.core.cgroups import CgroupIntent, ReclaimIntent
from colo.core.errors import InvalidInput
from colo.core.qos import QoSTier
from colo.core.resources import Resources
from colo.core.topology import format_cpuset

GIB = 2**30
BOX = PurePosixPath("kubepods/besteffort")
#: the box's CFS period (BoxOptions' default)
PERIOD_US = BoxOptions().period_us


def quota(milli: int) -> int:
    """`milli` as a quota against the box's period."""
    return milli * PERIOD_US // 1000


def node(name: str = "n1", cpu: int = 8000, **kw: object) -> ProtectedNode:
    return ProtectedNode(name, capacity_milli=cpu, memory_bytes=32 * GIB, **kw)  # type: ignore[arg-type]


def be(name: str, *, priority: int = 0, started: float | None = 0.0) -> ProtectedPod:
    return ProtectedPod(
        f"batch/{name}", f"uid-{name}", QoSTier.BE, priority=priority, started_s=started,
        cgroups=(BOX / f"pod{name}",),
    )  # fmt: skip


def measure(
    loop: ProtectionLoop, now: float, online: float | list[float], **kw: object
) -> Measurements:
    n = len(loop.nodes)
    on = np.broadcast_to(np.asarray(online, np.float64), (n,)).copy()
    return Measurements.of(
        n, now, online_milli=on, system_milli=np.full(n, 200.0),
        online_memory=np.full(n, 4.0 * GIB), **kw,
    )  # fmt: skip


def run(loop: ProtectionLoop, now: float, online: float | list[float], **kw: object) -> list:
    loop.observe(measure(loop, now, online, **kw))
    return loop.tick(now)


def box_intent(commands: list) -> CgroupIntent:
    (apply,) = [c for c in commands if isinstance(c, Apply)]
    intent = apply.intents[0]
    assert isinstance(intent, CgroupIntent) and intent.cgroup == BOX
    return intent


def test_nothing_before_the_first_measurements() -> None:
    loop = ProtectionLoop([node()])
    assert loop.tick(0.0) == []


def test_box_is_cut_at_once_and_grown_at_a_bounded_rate() -> None:
    loop = ProtectionLoop([node()], ProtectionOptions(box=BoxOptions(grow_milli_per_s=1000)))
    quotas = []
    for t, online in enumerate([1000, 1000, 1000, 1000, 1000, 1000, 1000, 5000, 1000, 1000]):
        intent = box_intent(run(loop, float(t), online))
        assert intent.cpu_idle is True and intent.cpu_weight is None
        assert intent.cpu_period_us == PERIOD_US == 10_000
        quotas.append(intent.cpu_quota_us)
    # target = 8000 × 0.9 − online − 200 system; starts at the floor (100m), +1000m per s
    assert quotas[:7] == [quota(m) for m in (1100, 2100, 3100, 4100, 5100, 6000, 6000)]
    assert quotas[7] == quota(2000)  # online rose: cut to 7200 − 5000 − 200 at once
    assert quotas[8] == quota(3000)  # and grown back by 1000m per second


def test_online_load_climbs_the_guard_and_forbids_then_calms_down() -> None:
    opts = ProtectionOptions(guard=GuardOptions(up_after=2, down_after=3))
    loop = ProtectionLoop([node()], opts)
    seen: list = []
    for t in range(6):
        seen += run(loop, float(t), 6000)  # online 0.75 ≥ online_forbid 0.70
    transitions = [c for c in seen if isinstance(c, Transitioned)]
    assert [(c.old, c.new) for c in transitions] == [
        (Level.NORMAL, Level.THROTTLE),
        (Level.THROTTLE, Level.FORBID),
    ]
    assert "online cpu in use 0.75" in transitions[0].reason
    forbids = [c for c in seen if isinstance(c, Forbid)]
    assert forbids == [Forbid("n1", True, transitions[1].reason)]
    assert loop.forbidden[0]
    # THROTTLE and above squeeze the box to half its target: (7200 − 6000 − 200) / 2
    assert box_intent(run(loop, 6.0, 6000)).cpu_quota_us == quota(500)
    calm: list = []
    for t in range(7, 20):
        calm += run(loop, float(t), 1000)
    assert [c for c in calm if isinstance(c, Forbid)] == [
        Forbid("n1", False, "signals called for less for 3 intervals")
    ]
    assert loop.guard.state.level[0] == Level.NORMAL


def test_evicts_lowest_priority_then_least_progress_one_per_cooldown() -> None:
    opts = ProtectionOptions(guard=GuardOptions(up_after=1, evict_cooldown_s=10.0))
    loop = ProtectionLoop([node()], opts)
    pods = [
        be("old-low", priority=0, started=0.0),
        be("new-low", priority=0, started=50.0),
        be("new-high", priority=100, started=90.0),
        ProtectedPod("web/online", "uid-web", QoSTier.LS, cpu_request_milli=2000),
    ]
    loop.set_pods("n1", pods)
    evictions = []
    for t in range(100, 125):
        for c in run(loop, float(t), 7900):  # online 0.99: straight to EVICT
            if isinstance(c, Evict):
                evictions.append((t, c.key))
                loop.evicted("n1", c.key, float(t), ok=c.key != "batch/old-low")
    assert evictions == [(102, "batch/new-low"), (112, "batch/old-low"), (122, "batch/old-low")]
    assert loop.evictions == 1 and loop.eviction_failures == 2


def test_no_eviction_without_offline_pods_and_slo_failure_evicts() -> None:
    opts = ProtectionOptions(guard=GuardOptions(up_after=1, evict_cooldown_s=0.0))
    loop = ProtectionLoop([node()], opts)
    for t in range(5):
        assert not [c for c in run(loop, float(t), 7900) if isinstance(c, Evict)]
    loop2 = ProtectionLoop([node()], opts)
    loop2.set_pods("n1", [be("a")])
    out: list = []
    for t in range(4):
        out += run(loop2, float(t), 1000, slo_failing=np.array([1.0]))
    assert [c.key for c in out if isinstance(c, Evict)] == ["batch/a"]
    assert "SLO probe" in loop2.last_reason[0]
    # unknown (NaN) is neither healthy nor failing: nothing climbs
    loop3 = ProtectionLoop([node()], opts)
    loop3.set_pods("n1", [be("a")])
    for t in range(4):
        run(loop3, float(t), 1000, slo_failing=np.array([np.nan]))
    assert loop3.guard.state.level[0] == Level.NORMAL


def test_starving_is_said_first_and_evicts_only_with_room_elsewhere() -> None:
    opts = ProtectionOptions(
        starve_milli=50.0, starve_after_s=5.0,
        guard=GuardOptions(evict_cooldown_s=3.0),
        box=BoxOptions(floor_milli=100.0),
    )  # fmt: skip
    loop = ProtectionLoop([node(cpu=4000)], opts)
    loop.set_pods("n1", [be("a", started=0.0), be("b", started=5.0), be("c", started=9.0)])
    out: list = []
    # online 2700 + system 900 of 4000 at target 0.9 leave the box nothing: it sits at
    # its 100m floor, 33m per pod (the guard forbids, at 0.9 outside the box, but does
    # not evict)
    for t in range(0, 12):
        loop.observe(
            Measurements.of(
                1, float(t), online_milli=np.array([2700.0]), system_milli=np.array([900.0]),
                room_elsewhere=np.array([False]),
            )
        )  # fmt: skip
        out += loop.tick(float(t))
    starving = [c for c in out if isinstance(c, Starving)]
    assert [s.on for s in starving] == [True]
    assert "3 offline pods 100m" in starving[0].reason
    assert not [c for c in out if isinstance(c, Evict)]  # nowhere better to go
    out = []
    for t in range(12, 20):
        loop.observe(
            Measurements.of(
                1, float(t), online_milli=np.array([2700.0]), system_milli=np.array([900.0]),
                room_elsewhere=np.array([True]),
            )
        )  # fmt: skip
        out += loop.tick(float(t))
    evicts = [c for c in out if isinstance(c, Evict)]
    assert [c.key for c in evicts] == ["batch/c", "batch/b", "batch/a"]  # least progress first
    assert all("starved" in c.reason for c in evicts)
    assert loop.starvation_evictions == 0  # counted when done
    for c in evicts:
        loop.evicted("n1", c.key, 20.0, ok=c.key != "batch/a")
    assert loop.starvation_evictions == 2 and loop.eviction_failures == 1
    # online falls: the box grows and the node stops starving
    loop.set_pods("n1", [be("a")])
    out = []
    for t in range(20, 25):
        loop.observe(Measurements.of(1, float(t), online_milli=np.array([500.0])))
        out += loop.tick(float(t))
    assert [s.on for s in out if isinstance(s, Starving)] == [False]


def test_memory_limit_and_reclaim_under_pressure() -> None:
    loop = ProtectionLoop([node()])
    loop.observe(
        Measurements.of(
            1, 0.0, online_memory=np.array([20.0 * GIB]), system_memory=np.array([2.0 * GIB]),
            offline_memory=np.array([8.0 * GIB]),
        )
    )  # fmt: skip
    (apply,) = [c for c in loop.tick(0.0) if isinstance(c, Apply)]
    box = apply.intents[0]
    assert isinstance(box, CgroupIntent)
    assert box.memory_limit == int(32 * GIB * 0.95 - 22 * GIB)
    assert apply.intents[-1] == ReclaimIntent(BOX)


def test_cpusets_by_tier_on_a_real_layout() -> None:
    topo = load("2s8c2t-2numa")  # 2 sockets × 8 cores × 2 threads
    loop = ProtectionLoop([node(cpu=32_000, topology=topo, reserved_cpus=frozenset({0}))])
    web = PurePosixPath("kubepods/podweb")
    ls = PurePosixPath("kubepods/burstable/podls")
    loop.set_pods(
        "n1",
        [
            ProtectedPod("ns/lse", "u-lse", QoSTier.LSE, 4000, 4000, cgroups=(web, web / "c1")),
            ProtectedPod("ns/ls", "u-ls", QoSTier.LS, 500, cgroups=(ls,)),
            be("b"),
        ],
    )  # fmt: skip
    (apply,) = [c for c in run(loop, 0.0, 2000) if isinstance(c, Apply)]
    by_cgroup = {i.cgroup: i for i in apply.intents if isinstance(i, CgroupIntent)}
    lse = by_cgroup[web].cpuset_cpus
    assert lse is not None and len(lse) == 4
    assert by_cgroup[web / "c1"].cpuset_cpus == lse
    for cpu in lse:  # whole cores: both siblings are the pod's
        assert topo.siblings(cpu) <= lse
    be_cpus = by_cgroup[BOX].cpuset_cpus
    assert be_cpus is not None and not (be_cpus & lse) and 0 not in be_cpus
    assert by_cgroup[BOX / "podb"].cpuset_cpus == be_cpus
    shared = by_cgroup[ls].cpuset_cpus
    assert shared is not None and not (shared & lse)
    assert any("LSE pod ns/lse" in line for line in loop.explain("n1")["cpus"])  # type: ignore[union-attr]


def test_the_agent_itself_is_kept_in_the_shared_pool() -> None:
    """Apply names the cpus for colo-agent's own threads: the LS shared pool, off the LSE
    pod's cores (on this machine's 2 cpus: the one the LSE pod does not hold); without a
    topology it names none, and the driver leaves the agent where it is."""
    loop = ProtectionLoop([node(cpu=2000, topology=load("local-2cpu"))])
    web = PurePosixPath("kubepods/podweb")
    loop.set_pods("n1", [ProtectedPod("ns/web", "u-web", QoSTier.LSE, 1000, 1000, cgroups=(web,))])
    (apply,) = [c for c in run(loop, 0.0, 300) if isinstance(c, Apply)]
    (pinned,) = [
        i.cpuset_cpus for i in apply.intents if isinstance(i, CgroupIntent) and i.cgroup == web
    ]
    assert pinned is not None and apply.own_cpus == frozenset({0, 1}) - pinned
    loop.set_pods("n1", [be("b")])  # the LSE pod gone: every cpu is shared again
    (apply,) = [c for c in run(loop, 1.0, 300) if isinstance(c, Apply)]
    assert apply.own_cpus == frozenset({0, 1})
    plain = ProtectionLoop([node()])
    (apply,) = [c for c in run(plain, 0.0, 300) if isinstance(c, Apply)]
    assert apply.own_cpus is None


def test_pods_the_kubelet_pinned_are_left_to_it() -> None:
    topo = load("2s8c2t-2numa")
    loop = ProtectionLoop([node(cpu=32_000, topology=topo)])
    pinned = frozenset({2, 3, 18, 19})
    kubelet = KubeletCPUState(
        "static", topo.cpus - pinned, (KubeletCPUOwner("u-g", pinned, (("app", pinned),)),)
    )
    g = PurePosixPath("kubepods/podg")
    loop.set_pods(
        "n1", [ProtectedPod("ns/g", "u-g", QoSTier.LSR, 4000, 4000, cgroups=(g,)), be("b")],
        kubelet=kubelet,
    )  # fmt: skip
    (apply,) = [c for c in run(loop, 0.0, 2000) if isinstance(c, Apply)]
    cgroups = {i.cgroup for i in apply.intents}
    assert g not in cgroups
    be_cpus = apply.intents[0].cpuset_cpus  # type: ignore[union-attr]
    assert be_cpus is not None and not (be_cpus & pinned)
    state = loop.explain("n1")
    assert "static CPU manager owns cpus" in str(state["kubelet_static"])
    assert any("static CPU manager" in line for line in explain_lines(state))


def test_simulator_mode_makes_no_intents_and_many_nodes_equal_one_each() -> None:
    names = ["a", "b", "c"]
    many = ProtectionLoop([node(n) for n in names], cgroups=False)
    ones = [ProtectionLoop([node(n)], cgroups=False) for n in names]
    rng = np.random.default_rng(7)
    for t in range(40):
        online = rng.uniform(500, 7900, 3)
        got = run(many, float(t), list(online))
        assert not [c for c in got if isinstance(c, Apply)]
        want = []
        for i, one in enumerate(ones):
            want += run(one, float(t), float(online[i]))
        assert got == want
        assert np.array_equal(many.box_milli, np.concatenate([o.box_milli for o in ones]))


def test_explain_says_level_box_and_signals() -> None:
    loop = ProtectionLoop([node()], ProtectionOptions(guard=GuardOptions(up_after=1)))
    run(loop, 0.0, 7500, psi_memory=np.array([0.02]))
    state = loop.explain("n1")
    assert state["level"] in ("THROTTLE", "FORBID", "EVICT")
    assert state["signals"]["psi_memory"] == 0.02  # type: ignore[index]
    assert state["signals"]["cpi"] is None  # type: ignore[index]
    lines = explain_lines(state)
    assert lines[0].startswith("guard: ") and any("offline box:" in x for x in lines)
    assert any(x.startswith("  sized: ") for x in lines)
    # an older agent's state (no sizing terms) or a bound this version does not know:
    # the other lines, no sizing line, no error
    box = dict(state["box"])  # type: ignore[call-overload]
    for older in ({k: v for k, v in box.items() if k != "online_milli"}, {**box, "set_by": "?"}):
        lines = explain_lines({**state, "box": older})
        assert any("offline box:" in x for x in lines)
        assert not any("sized:" in x for x in lines)


def test_bad_options_and_measurements_are_refused() -> None:
    with pytest.raises(InvalidInput, match="starve_after_s"):
        ProtectionOptions(starve_after_s=-1)
    with pytest.raises(InvalidInput, match="repeat"):
        ProtectionLoop([node(), node()])
    loop = ProtectionLoop([node(), node("n2")])
    with pytest.raises(ValueError, match="2 nodes"):
        loop.observe(Measurements.of(1, 0.0))
    with pytest.raises(KeyError):
        loop.set_pods("nope", [])


def test_forbid_makes_the_reporting_loop_publish_zero_then_restore() -> None:
    spec = NodeSpec(
        "n1",
        capacity=Resources.of(cpu_milli=8000, memory_bytes=32 * GIB),
        allocatable=Resources.of(cpu_milli=8000, memory_bytes=32 * GIB),
    )
    loop = ReportingLoop([spec], ReportingOptions.every(1.0, heartbeats=False, min_history_s=0))

    def publish(now: float) -> Batch | None:
        loop.observe(loop.usage(now, {}, nodes=["n1"]))
        out = loop.tick(now)
        for c in out:
            assert isinstance(c, Publish)
            loop.published(c.node, c.batch, now, ok=True)
            return c.batch
        return None

    first = publish(0.0)
    assert first is not None and first.cpu_milli > 0
    loop.forbid("n1", True)
    assert publish(1.0) == Batch(0, 0)
    assert "forbidden" in (loop.decisions[0].reason if loop.decisions[0] else "")
    assert publish(2.0) is None  # stays at zero, nothing new to say
    loop.forbid("n1", False)
    assert publish(3.0) == first


def test_a_node_calming_down_evicts_no_more_and_forbids_until_normal() -> None:
    opts = ProtectionOptions(guard=GuardOptions(up_after=1, down_after=2, evict_cooldown_s=0))
    loop = ProtectionLoop([node()], opts)
    loop.set_pods("n1", [be(f"p{i}") for i in range(10)])
    hot = [c for t in range(4) for c in run(loop, float(t), 7900)]
    assert loop.guard.state.level[0] == Level.EVICT
    assert len([c for c in hot if isinstance(c, Evict)]) == 2  # at EVICT, while it calls
    calm: list = []
    for t in range(4, 12):
        calm += run(loop, float(t), 1000)
        if loop.guard.state.level[0] == Level.THROTTLE:
            assert loop.forbidden[0], "still squeezed: no new offline work yet"
    assert not [c for c in calm if isinstance(c, Evict)]
    assert [c.on for c in calm if isinstance(c, Forbid)] == [False]
    assert loop.guard.state.level[0] == Level.NORMAL and not loop.forbidden[0]


def test_may_evict_next_names_the_nodes_a_count_only_driver_must_list() -> None:
    opts = ProtectionOptions(guard=GuardOptions(up_after=1, evict_cooldown_s=0))
    loop = ProtectionLoop([node("hot"), node("calm"), node("small", cpu=1000)], opts)
    counts = np.array([3, 3, 0])
    loop.set_offline_counts(counts)
    for t in range(3):  # "hot" climbs to EVICT; "calm" stays NORMAL
        run(loop, float(t), [7900.0, 500.0, 0.0])
    assert loop.guard.state.level.tolist() == [Level.EVICT, Level.NORMAL, Level.NORMAL]
    assert loop.may_evict_next(counts).tolist() == [True, False, False]  # no pods: nothing
    # a calm node whose box is too small for its pods may starve them: listed too
    box = ProtectionLoop([node("tight", cpu=4000)])
    for t in range(5):  # box: 4000 × 0.9 − 2500 online − 200 system = 900m, NORMAL
        run(box, float(t), 2500.0)
    assert box.guard.state.level[0] == Level.NORMAL and box.box_milli[0] == 900.0
    assert box.may_evict_next(np.array([10])).tolist() == [False]  # 90m each
    assert box.may_evict_next(np.array([20])).tolist() == [True]  # 45m each < 50m


# --- a restarted agent carries on from what the cgroups hold ---------------------------


def test_adopted_box_quota_is_kept_cut_at_once_or_grown_from_not_reset_to_the_floor() -> None:
    # target = 8000 × 0.9 − online − 200 system; the previous agent left the box at 3000m
    def first_quota(online: float, found: float | None) -> int | None:
        loop = ProtectionLoop([node()], ProtectionOptions(box=BoxOptions(grow_milli_per_s=1000)))
        notes = loop.adopt("n1", box_milli=found, pod_cpus={})
        assert bool(notes) == (found is not None)
        return box_intent(run(loop, 0.0, online)).cpu_quota_us

    assert first_quota(4000, 3000.0) == quota(3000)  # target 3000: the file is left as it is
    assert first_quota(4000, None) == quota(1100)  # nothing found: from the floor, as at install
    assert first_quota(6000, 3000.0) == quota(1000)  # online rose while it was away: cut at once
    assert first_quota(1000, 3000.0) == quota(4000)  # room grew: grown from 3000m at 1000m/s
    assert first_quota(1000, 50_000.0) == quota(6000)  # above the node: clamped, then cut
    assert first_quota(4000, 10.0) == quota(1100)  # below the floor: from the floor


def test_adopted_cpusets_keep_pinned_pods_where_they_are_valid_and_move_the_rest() -> None:
    topo = load("2s8c2t-2numa")  # 2 sockets × 8 cores × 2 threads; cpu c and c+16 are siblings

    def placed(found: dict[str, frozenset[int]]) -> tuple[dict[str, frozenset[int]], list[str]]:
        loop = ProtectionLoop([node(cpu=32_000, topology=topo)])
        pods = [
            ProtectedPod(f"ns/{n}", f"u-{n}", tier, milli, milli,
                         cgroups=(PurePosixPath(f"kubepods/pod{n}"),))
            for n, tier, milli in [("lse", QoSTier.LSE, 2000), ("lsr", QoSTier.LSR, 1000),
                                   ("ls", QoSTier.LS, 500)]
        ]  # fmt: skip
        loop.set_pods("n1", pods)
        loop.adopt("n1", box_milli=None, pod_cpus=found)
        (apply,) = [c for c in run(loop, 0.0, 2000) if isinstance(c, Apply)]
        cpus = {
            str(i.cgroup).removeprefix("kubepods/pod"): i.cpuset_cpus
            for i in apply.intents
            if isinstance(i, CgroupIntent) and i.cpuset_cpus is not None
        }
        assert loop.assignments[0] is not None
        return cpus, list(loop.assignments[0].moves)  # type: ignore[return-value]

    fresh, _ = placed({})
    # what a predecessor chose, elsewhere than a fresh start would: kept as found
    core, single = frozenset({5, 21}), frozenset({12})
    assert fresh["lse"] != core and fresh["lsr"] != single
    kept, moves = placed({"u-lse": core, "u-lsr": single, "u-ls": frozenset({3})})
    assert (kept["lse"], kept["lsr"], moves) == (core, single, [])
    assert not (kept["ls"] & (core | single))  # LS is the shared pool, whatever it held
    # half a core is no place for an LSE pod; a cpuset as wide as the node is no placement
    half, moves = placed({"u-lse": frozenset({5, 6}), "u-lsr": topo.cpus})
    assert half == fresh
    assert moves == ["pod ns/lse could not keep cpus 5-6: an LSE pod needs whole cores and "
                     f"these are not; now {format_cpuset(fresh['lse'])}"]  # fmt: skip


def test_the_box_never_gets_more_than_its_cpus_can_run() -> None:
    """This machine's layout (2 cpus): an LSE pod holds one, so the box's cpuset is the
    other, and its quota stops at one cpu's worth however little online pods use; a step
    up of online load then cuts what offline work really gets. Without an LSE pod the box
    may have the whole node again."""
    loop = ProtectionLoop([node(cpu=2000, topology=load("local-2cpu"))])
    web = PurePosixPath("kubepods/podweb")
    lse = ProtectedPod("ns/web", "u-web", QoSTier.LSE, 1000, 1000, cgroups=(web,))
    loop.set_pods("n1", [lse, be("b")])
    for t in range(5):  # grown at its bounded rate up to the cap
        box = box_intent(run(loop, float(t), 300))
    assert box.cpuset_cpus is not None and len(box.cpuset_cpus) == 1
    assert box.cpu_quota_us == quota(1000)  # not 2000 × 0.9 − 300 − 200 (system)
    capped = loop.explain("n1")["box"]
    assert capped["set_by"] == "cpus" and capped["top_milli"] == 1000  # type: ignore[index]
    assert any(
        "capacity 2000m × 0.9 − online 300m − system 200m = target 1300m; above what its "
        "cpus run: held at 1000m" in line
        for line in explain_lines(loop.explain("n1"))
    )
    box = box_intent(run(loop, 5.0, 1000))  # online up 0.7 core: a real cut
    assert box.cpu_quota_us == quota(2000 * 9 // 10 - 1000 - 200)
    assert loop.explain("n1")["box"]["set_by"] == "target"  # type: ignore[index]
    loop.set_pods("n1", [be("b")])
    for t in range(6, 9):
        box = box_intent(run(loop, float(t), 300))
    assert box.cpu_quota_us == quota(2000 * 9 // 10 - 300 - 200)

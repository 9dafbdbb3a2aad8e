"""The reporting loop engine: events in, commands out, on a hand-driven clock.

Every test drives the loop the way both drivers do (observe → tick → carry out the
commands → report each outcome), with fixed timestamps and builders for nodes and pods.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pytest

from colo.agent.report import EXPLANATION_ANNOTATION, Batch
from colo.agent.reporting import (
    Command,
    NodeSpec,
    PeakOptions,
    PodSpec,
    Publish,
    Renew,
    ReportingLoop,
    ReportingOptions,
    Usage,
)
from colo.core.errors import InvalidInput
from colo.core.qos import QoSTier
from colo.core.resources import Resources
from colo.predict.reclaim import from_dict

GIB = 2**30
CORES, RESERVED = 32, 1  # per node: capacity, and what the kubelet keeps back
MEMORY = 128 * GIB
INTERVAL = 10.0
# capacity − 10 % margin − reserve, before any online pod
ROOM_CPU = CORES * 1000 - 3200 - RESERVED * 1000
ROOM_MEMORY = MEMORY - round(0.1 * MEMORY) - 4 * GIB
POD_MEMORY = 2 * GIB  # what every pod's working set is in these tests

# A pod's estimate is usable after one rise (one horizon = one interval); the window is
# one sample and a drop is released at once, so the estimate is the last sample plus a
# margin of at most a few millicores.
FAST = PeakOptions(
    horizon_s=INTERVAL,
    recent_s=INTERVAL,
    min_rises=1,
    first_bucket_cores=0.001,
    release_half_life_s=0.001,
)
OPTS = ReportingOptions.every(INTERVAL, peak=FAST, min_history_s=0)


def node(name: str = "n1", cores: int = CORES) -> NodeSpec:
    return NodeSpec(
        name,
        capacity=Resources.of(cpu_milli=cores * 1000, memory_bytes=MEMORY),
        allocatable=Resources.of(
            cpu_milli=(cores - RESERVED) * 1000, memory_bytes=MEMORY - 4 * GIB
        ),
    )


def pod(name: str, cpu_milli: int = 8000, tier: QoSTier = QoSTier.LS) -> PodSpec:
    return PodSpec(f"prod/{name}", tier, Resources.of(cpu_milli=cpu_milli, memory_bytes=4 * GIB))


@dataclass
class Driver:
    """Carries out a loop's commands as a driver would, recording what it did."""

    loop: ReportingLoop
    fail_patches: int = 0
    patches: list[tuple[float, str, Batch]] = field(default_factory=list)
    renewals: list[tuple[float, str, dict[str, object]]] = field(default_factory=list)

    def step(
        self, now: float, cpu: Mapping[str, float], *, measured: Sequence[str] | None = None
    ) -> list[Command]:
        """Observe `cpu` (millicores by pod key) on the `measured` nodes (default: all),
        tick, and carry out every command; returns the commands in order."""
        nodes = self.loop.node_names if measured is None else measured
        if nodes:
            samples = {k: (c, POD_MEMORY) for k, c in cpu.items()}
            self.loop.observe(self.loop.usage(now, samples, nodes=nodes))
        done: list[Command] = []
        todo = self.loop.tick(now, wall=f"t={now:g}")
        while todo:
            command = todo.pop(0)
            done.append(command)
            if isinstance(command, Publish):
                ok = self.fail_patches == 0
                self.fail_patches = max(0, self.fail_patches - 1)
                if ok:
                    self.patches.append((now, command.node, command.batch))
                todo += self.loop.published(command.node, command.batch, now, ok=ok)
            else:
                told = json.loads(command.annotations[EXPLANATION_ANNOTATION])
                self.renewals.append((now, command.node, told))
                self.loop.renewed(command.node, now, ok=True)
        return done


def one_node(*pods: PodSpec, options: ReportingOptions = OPTS) -> Driver:
    loop = ReportingLoop([node()], options)
    loop.set_pods({"n1": list(pods)})
    return Driver(loop)


def reasons(commands: list[Command]) -> list[str]:
    return [c.reason for c in commands if isinstance(c, Publish)]


# --- what gets published, and when ------------------------------------------------
# Each case: one LS pod requesting 8 cores on a 32-core node, sampled every 10 s; per
# tick, the pod's cpu (millicores) and the publish reason expected (None: nothing).
FIRST, ROSE, DROPPED = "first report", "rose past the threshold", "dropped past the threshold"
CASES = [
    pytest.param(
        [(4000, FIRST)],
        id="the first report publishes at once, counting a pod without history at its request",
    ),
    pytest.param(
        [(4000, FIRST), (4000, ROSE)],
        id="once the pod's peak is learned, the batch figure rises to what it leaves free",
    ),
    pytest.param(
        [(4000, FIRST), (4000, ROSE), (4300, None), (3800, None)],
        id="changes below 5 % of the node's capacity are not published",
    ),
    pytest.param(
        [(4000, FIRST), (4000, ROSE), (12_000, DROPPED)],
        id="a rise of online usage past the threshold takes batch capacity away at once",
    ),
    pytest.param(
        [(4000, FIRST), (4000, ROSE), (12_000, DROPPED), (4000, ROSE)],
        id="usage falling back gives the capacity back on the next report",
    ),
]


@pytest.mark.parametrize("steps", CASES)
def test_what_gets_published(steps: list[tuple[int, str | None]]) -> None:
    d = one_node(pod("web"))
    for k, (cpu, expected) in enumerate(steps):
        got = reasons(d.step(k * INTERVAL, {"prod/web": cpu}))
        assert got == ([expected] if expected else []), f"tick {k}: {d.loop.decisions[0]}"


def test_the_first_report_is_capacity_less_margin_reserve_and_requests() -> None:
    d = one_node(pod("web", 8000), pod("api", 2000))
    (publish, renew) = d.step(0.0, {"prod/web": 100, "prod/api": 100})
    assert publish == Publish("n1", Batch(ROOM_CPU - 10_000, ROOM_MEMORY - 8 * GIB), "first report")
    assert isinstance(renew, Renew)


def test_a_learned_pod_holds_back_its_peak_not_its_request() -> None:
    d = one_node(pod("web", 8000))
    d.step(0.0, {"prod/web": 4000})
    d.step(10.0, {"prod/web": 4000})
    held = ROOM_CPU - d.patches[-1][2].cpu_milli
    assert 4000 <= held <= 4010  # the sample plus a margin of a histogram bucket or two
    assert d.patches[-1][2].memory_bytes == ROOM_MEMORY - POD_MEMORY


def test_stale_metrics_publish_zero_at_once() -> None:
    d = one_node(pod("web"))
    d.step(0.0, {"prod/web": 4000})
    d.step(10.0, {})  # the node measured, its pod not found: still fresh
    assert d.loop.reclaim_cpu[0] > 0
    d.step(40.0, {}, measured=[])  # nothing measured for 30 s = 3 intervals: still fresh
    assert d.loop.reclaim_cpu[0] > 0
    got = d.step(40.1, {}, measured=[])
    assert reasons(got) == ["fell to zero"] and d.patches[-1][2] == Batch(0, 0)


def test_a_failed_patch_is_retried_on_the_next_tick_and_no_heartbeat_claims_it() -> None:
    d = one_node(pod("web"))
    d.fail_patches = 1
    assert reasons(d.step(0.0, {"prod/web": 4000})) == ["first report"]
    assert d.patches == [] and d.renewals == []
    assert d.loop.reporters[0].published is None and d.loop.publish_failures == 1
    assert reasons(d.step(10.0, {"prod/web": 4000})) == ["first report"]
    assert len(d.patches) == 1 and d.renewals[-1][2]["decision"] == "first report"


def test_an_outstanding_patch_is_not_sent_twice() -> None:
    loop = ReportingLoop([node()], OPTS)
    loop.observe(loop.usage(0.0, {}, nodes=["n1"]))
    (first,) = loop.tick(0.0)
    assert isinstance(first, Publish)
    assert loop.tick(5.0) == []  # its outcome is not in: nothing more for n1
    assert loop.published("n1", first.batch, 6.0, ok=True) != []
    with pytest.raises(ValueError, match="no publish"):
        loop.published("n1", first.batch, 6.0, ok=True)


def test_heartbeats_every_interval_and_after_every_publish_with_the_explanation() -> None:
    d = one_node()
    for t in (0.0, 5.0, 10.0, 15.0, 20.0, 29.0, 30.0):
        d.step(t, {})
    assert [t for t, _, _ in d.renewals] == [0.0, 10.0, 20.0, 30.0]
    told = d.renewals[0][2]
    assert told["decision"] == "first report" and told["at"] == "t=0"
    assert told["published"] == Batch(ROOM_CPU, ROOM_MEMORY).as_extended()
    assert from_dict(told).cpu_milli == ROOM_CPU
    assert d.renewals[1][2]["decision"] == "unchanged"


def test_a_failed_heartbeat_is_due_again_on_the_next_tick() -> None:
    loop = ReportingLoop([node()], OPTS)
    loop.observe(loop.usage(0.0, {}, nodes=["n1"]))
    (publish,) = loop.tick(0.0)
    assert isinstance(publish, Publish)
    assert [type(c) for c in loop.published("n1", publish.batch, 0.0, ok=True)] == [Renew]
    loop.renewed("n1", 0.0, ok=False)
    assert [type(c) for c in loop.tick(1.0)] == [Renew]


def test_without_heartbeats_the_loop_only_publishes() -> None:
    d = one_node(options=ReportingOptions.every(INTERVAL, peak=FAST, heartbeats=False))
    for t in (0.0, 10.0, 20.0):
        d.step(t, {})
    assert d.renewals == [] and len(d.patches) == 1


# --- pods come and go -------------------------------------------------------------
def test_a_new_pod_in_a_departed_pods_slot_starts_without_history() -> None:
    d = one_node(pod("old"))
    for k in range(3):
        d.step(k * INTERVAL, {"prod/old": 1000})
    slot = d.loop.slot_of("prod/old")
    d.loop.set_pods({"n1": [pod("new")]})
    assert d.loop.slot_of("new") is None and d.loop.slot_of("prod/new") == slot
    assert d.loop.size == 1
    d.step(30.0, {"prod/new": 1000})
    assert d.loop.explain("n1").pods[0].source.startswith("request")


def test_best_effort_pods_hold_nothing_back() -> None:
    d = one_node(pod("batch", 8000, QoSTier.BE), pod("web", 2000, QoSTier.LSE))
    assert d.loop.pods_on("n1") == ["prod/web"]
    d.step(0.0, {"prod/web": 0})
    d.step(10.0, {"prod/web": 0})
    assert d.loop.reclaim_cpu[0] == ROOM_CPU - 2000  # LSE: its full request, always


def test_a_pod_moving_to_another_node_counts_there_only() -> None:
    loop = ReportingLoop([node("a"), node("b")], OPTS)
    loop.set_pods({"a": [pod("web")], "b": []})
    loop.set_pods({"a": [], "b": [pod("web")]})
    assert loop.pods_on("a") == [] and loop.pods_on("b") == ["prod/web"]


def test_usage_arrays_must_match_the_slots() -> None:
    d = one_node(pod("web"))
    with pytest.raises(ValueError, match="one per pod slot"):
        d.loop.observe(Usage(0.0, np.zeros(3), np.zeros(3)))


def test_a_resized_node_is_judged_against_its_new_capacity() -> None:
    d = one_node()
    d.step(0.0, {})
    d.loop.set_node(node(cores=64))
    assert reasons(d.step(10.0, {})) == ["rose past the threshold"]
    assert d.patches[-1][2].cpu_milli == 64_000 - 6400 - 1000


def test_bad_options_fail_loudly() -> None:
    with pytest.raises(InvalidInput, match="interval_s"):
        ReportingOptions(interval_s=0)
    with pytest.raises(InvalidInput, match="percentile"):
        PeakOptions(percentile=0)
    with pytest.raises(InvalidInput, match="repeat"):
        ReportingLoop([node(), node()], OPTS)


# --- one loop over N nodes = N loops over one -------------------------------------
NODES = {
    "a": [pod("a1", 4000), pod("a2", 2000, QoSTier.LSE)],
    "b": [pod("b1", 16_000)],
    "c": [],
}


def usage_at(k: int) -> dict[str, float]:
    """A different shape per pod: steady, a sawtooth, a spike at tick 6."""
    return {
        "prod/a1": 1500.0 + 100 * (k % 3),
        "prod/a2": 500.0,
        "prod/b1": 12_000.0 if k == 6 else 3000.0 + 250 * k,
    }


def test_one_loop_over_three_nodes_decides_what_three_one_node_loops_decide() -> None:
    together = Driver(ReportingLoop([node(n) for n in NODES], OPTS))
    together.loop.set_pods(NODES)
    apart = {}
    for name, pods in NODES.items():
        apart[name] = Driver(ReportingLoop([node(name)], OPTS))
        apart[name].loop.set_pods({name: pods})
    for k in range(12):
        t = k * INTERVAL
        done = together.step(t, usage_at(k))
        for name, d in apart.items():
            mine = {key: v for key, v in usage_at(k).items() if key.startswith(f"prod/{name}")}
            assert d.step(t, mine) == [c for c in done if c.node == name], f"tick {k}, {name}"
    for name, d in apart.items():
        assert together.loop.explain(name) == d.loop.explain(name)
    assert len(together.patches) == sum(len(d.patches) for d in apart.values()) > 3


def test_explain_agrees_with_the_vectorized_calculation() -> None:
    d = Driver(ReportingLoop([node(n) for n in NODES], OPTS))
    d.loop.set_pods(NODES)
    for k in range(4):
        d.step(k * INTERVAL, usage_at(k))
        for i, name in enumerate(NODES):
            r = d.loop.explain(name)
            assert (r.cpu_milli, r.memory_bytes) == (
                d.loop.reclaim_cpu[i],
                d.loop.reclaim_memory[i],
            )

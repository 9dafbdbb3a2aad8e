"""colo-batch's process driver and its loop through the ports: fakes for the API
server's writes, the real in-process coordinator. (tests/e2e/test_batch_processes.py runs
the process against a real API server.)"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest

from colo.apps.batch import BatchScheduler
from colo.coord.ledger import InProcessCoordinator, Ledger
from colo.core.builders import NodeBuilder, PodBuilder
from colo.core.changes import ChangeKind, ClusterEvent, EventType, PodRef
from colo.core.errors import Conflict, Retryable
from colo.core.objects import START_AT_ANNOTATION, Node, Pod
from colo.core.reservation import Item
from colo.core.virtual import VIRTUAL_NODE_LABEL_KEY, VIRTUAL_NODE_LABEL_VALUE, VIRTUAL_TAINT_KEY
from colo.sched.messages import Bind, Reserve


class FakeBinder:
    def __init__(self, clock: Callable[[], float] = lambda: 0.0) -> None:
        self.bound: list[tuple[str, str]] = []
        self.at: list[float] = []  # the clock when each binding went out
        self.fail: dict[str, list[Exception]] = {}  # pod key -> errors to raise, in order
        self._clock = clock

    async def bind_retrying(self, pod: PodRef, node_name: str) -> None:
        errors = self.fail.get(pod.key)
        if errors:
            raise errors.pop(0)
        self.bound.append((pod.key, node_name))
        self.at.append(self._clock())


class FakeConditions:
    def __init__(self) -> None:
        self.written: list[tuple[str, str, str, str]] = []

    async def set_condition(
        self, pod: PodRef, *, type: str, status: str, reason: str, message: str
    ) -> None:
        self.written.append((pod.key, f"{type}={status}", reason, message))


class FakeEvents:
    def __init__(self) -> None:
        self.recorded: list[tuple[str, str, str, EventType]] = []

    async def record(
        self, *, kind: str, key: str, reason: str, message: str, type: EventType = EventType.NORMAL
    ) -> None:
        self.recorded.append((key, reason, message, type))


def node(name: str, cpu: str = "4", *, virtual: bool = False) -> Node:
    b = NodeBuilder(name).allocatable(cpu=cpu, memory="16Gi", pods=110)
    if virtual:
        b = b.label(VIRTUAL_NODE_LABEL_KEY, VIRTUAL_NODE_LABEL_VALUE).taint(
            VIRTUAL_TAINT_KEY, "colo"
        )
    return Node.from_k8s(b.obj())


def pod(name: str, cpu: str = "1", *, job: str | None = None, node_name: str | None = None,
        scheduler: str = "colo-batch", phase: str = "Pending", start_at: str | None = None,
        **spec: Any) -> Pod:  # fmt: skip
    b = PodBuilder(name, namespace="ns")
    if job:
        b = b.owner("Job", job)
    if start_at is not None:
        b = b.annotation(START_AT_ANNOTATION, start_at)
    obj = b.obj()
    obj["metadata"]["uid"] = f"uid-{name}"
    obj["spec"]["containers"][0]["resources"] = {"requests": {"cpu": cpu}}
    obj["spec"]["schedulerName"] = scheduler
    if node_name:
        obj["spec"]["nodeName"] = node_name
    obj["spec"].update(spec)
    obj["status"] = {"phase": phase}
    return Pod.from_k8s(obj)


class Rig:
    """The driver on one asyncio loop of its own, with a clock the test sets."""

    def __init__(self, *nodes: Node, coordinated: bool = True, bind_workers: int = 64) -> None:
        self.binder = FakeBinder(lambda: self.now)
        self.conditions = FakeConditions()
        self.events = FakeEvents()
        self.ledger = Ledger(ttl_s=30)
        self.now = 0.0
        self.aio = asyncio.new_event_loop()
        coordinator = InProcessCoordinator(self.ledger, clock=lambda: self.now)
        self.sched = BatchScheduler(
            self.binder,
            self.conditions,
            self.events,
            coordinator=coordinator if coordinated else None,
            clock=lambda: self.now,
            wall=lambda: 0.0,
            bind_workers=bind_workers,
        )
        self.loop = self.sched.loop
        self.recorded = self.sched.record()
        for n in nodes:
            self.add(n)

    def _on_loop(self, work: Callable[[], None]) -> None:
        async def body() -> None:
            work()
            await self.sched.drain()

        self.aio.run_until_complete(body())

    def add(self, obj: Node | Pod, kind: ChangeKind = ChangeKind.ADDED) -> None:
        """What the reader delivers, and what the coordinator's own watch would see."""
        if isinstance(obj, Node):
            self._on_loop(lambda: self.sched.on_event(ClusterEvent(kind, node=obj)))
            self.ledger.update_node(obj.name, dict(obj.allocatable.items()))
        else:
            self._on_loop(lambda: self.sched.on_event(ClusterEvent(kind, pod=obj)))
            if kind is ChangeKind.DELETED or obj.terminal:
                self.ledger.pod_gone(obj.key)
            elif obj.node_name:
                self.ledger.pod_bound(obj.key, obj.node_name, dict(obj.requests.items()))

    def confirm_bindings(self) -> None:
        """The reader sees what was bound (as kube-apiserver's watch would show it)."""
        for key, node_name in self.binder.bound:
            entry = self.loop.pending.get(key)
            if entry is not None:
                current = entry.pod
                cpu = f"{current.requests.cpu_milli}m"
                bound = pod(current.name, cpu, job=current.owner_name, node_name=node_name)
                self.add(bound, ChangeKind.MODIFIED)

    def cycle(self) -> int:
        """The driver hands the loop what is due now, then the clock moves on to the cycle
        the loop asked for (if it asked) and the driver hands it that, with every command
        carried out; returns the pods it sent to be bound."""
        before = len(self.recorded)
        self._on_loop(self.sched.step)  # what is due now (a timer may ask for a cycle)
        at = self.loop.cycle_at()
        if at is not None:
            self.now = max(self.now, at)
            self._on_loop(self.sched.step)
        return sum(1 for _, c in self.recorded[before:] if isinstance(c, Bind))


def test_a_wave_binds_what_fits_and_the_rest_is_reported_once_in_kube_scheduler_words() -> None:
    rig = Rig(node("a"), node("b"))
    for i in range(12):
        rig.add(pod(f"p{i}"))
    assert rig.cycle() == 8
    assert len(rig.binder.bound) == 8
    per_node = {n: sum(1 for _, m in rig.binder.bound if m == n) for n in ("a", "b")}
    assert per_node == {"a": 4, "b": 4}
    message = "0/2 nodes are available: 2 Insufficient cpu."
    unschedulable = sorted(k for k, *_ in rig.conditions.written)
    assert unschedulable == sorted(f"ns/p{i}" for i in range(12) if f"ns/p{i}" not in
                                   {k for k, _ in rig.binder.bound})  # fmt: skip
    assert {w[1:] for w in rig.conditions.written} == {
        ("PodScheduled=False", "Unschedulable", message)
    }
    assert {e[1:] for e in rig.events.recorded} == {
        ("FailedScheduling", message, EventType.WARNING)
    }
    rig.confirm_bindings()
    # nothing changed: the same message is not written again
    assert rig.cycle() == 0
    assert len(rig.conditions.written) == 4 and len(rig.events.recorded) == 4


def test_a_node_another_scheduler_reserved_is_refused_and_the_pod_goes_elsewhere() -> None:
    rig = Rig(node("a", "2"), node("b", "2"))
    # kube-scheduler (through the coordinator) just took all of a; colo-batch doesn't know
    assert rig.ledger.reserve([Item("ns/x", "a", {"cpu": 2000, "pods": 1})], 0.0)[0].ok
    rig.add(pod("p", "1"))
    assert rig.cycle() == 0  # the cycle picked a (a tie goes to the first), the coordinator said no
    assert rig.sched.stats.reserve_conflicts == 1 and rig.binder.bound == []
    a = rig.loop.snap.index["a"]
    # not the pod's any more, but a placeholder for the room someone else holds
    assert "ns/p" not in rig.loop.held and rig.loop.snap.used[a, 0] == 1000
    assert rig.cycle() == 1  # so the next cycle goes elsewhere at once
    assert rig.binder.bound == [("ns/p", "b")]
    rig.now = 2.0  # the placeholder expires; the reader has caught up by now
    rig.add(pod("x", "2", node_name="a", scheduler="default-scheduler"))
    rig.add(pod("q", "1"))
    assert rig.cycle() == 1
    assert rig.binder.bound[-1] == ("ns/q", "b")
    assert rig.loop.snap.used[a, 0] == 2000  # x, counted once: the placeholder is gone
    assert all(v >= 0 for n in ("a", "b") for v in rig.ledger.free(n).values())


def test_a_failed_binding_is_unreserved_given_back_and_retried() -> None:
    rig = Rig(node("a", "1"))
    rig.add(pod("p"))
    rig.binder.fail["ns/p"] = [Retryable("API server busy")]
    assert rig.cycle() == 1  # granted, then the binding failed
    assert rig.binder.bound == [] and rig.sched.stats.bind_failures == 1
    assert rig.ledger.free("a")["cpu"] == 1000  # unreserved
    assert rig.loop.snap.used[0, 0] == 0 and "ns/p" not in rig.loop.inflight
    assert rig.cycle() == 1
    assert rig.binder.bound == [("ns/p", "a")]


def test_a_pod_bound_by_someone_else_meanwhile_is_not_retried() -> None:
    rig = Rig(node("a"))
    rig.add(pod("p"))
    rig.binder.fail["ns/p"] = [Conflict("already bound")]
    rig.cycle()
    rig.add(pod("p", node_name="a"), ChangeKind.MODIFIED)
    assert "ns/p" not in rig.loop.pending
    assert rig.loop.snap.used[0, 0] == 1000  # counted once, as bound


def test_a_pod_colo_cannot_read_is_reported_with_the_field_and_the_rest_is_scheduled() -> None:
    rig = Rig(node("a"))
    term = {"matchExpressions": [{"key": "k", "operator": "Near"}]}
    required = {"nodeSelectorTerms": [term]}
    bad_affinity = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": required}}
    rig.add(pod("bad", affinity=bad_affinity))
    rig.add(pod("good"))
    assert rig.cycle() == 1
    assert rig.binder.bound == [("ns/good", "a")]
    (written,) = rig.conditions.written
    assert written[0] == "ns/bad"
    assert "matchExpressions[0].operator" in written[3] and "Near" in written[3]
    assert rig.sched.stats.bad_pods == 1
    assert rig.cycle() == 0 and len(rig.conditions.written) == 1  # not retried every cycle


def test_freed_room_schedules_a_waiting_pod_and_bound_pods_are_counted_once() -> None:
    rig = Rig(node("a", "2"))
    rig.add(pod("p1", "2"))
    rig.add(pod("p2", "2"))
    assert rig.cycle() == 1
    rig.confirm_bindings()
    (first,) = rig.binder.bound
    assert rig.loop.snap.used[0, 0] == 2000  # the assumed pod confirmed, not counted twice
    assert rig.cycle() == 0
    done = pod(first[0].split("/")[1], "2", node_name="a", phase="Succeeded")
    rig.add(done, ChangeKind.MODIFIED)
    assert rig.loop.snap.used[0, 0] == 0
    assert rig.cycle() == 1
    assert len(rig.binder.bound) == 2


def test_a_job_whose_pod_failed_on_a_virtual_node_falls_back_to_standard_nodes() -> None:
    rig = Rig(node("std"), node("vk", virtual=True))
    rig.add(pod("j-1", job="j"))
    rig.cycle()
    assert rig.binder.bound == [("ns/j-1", "vk")]  # job pods prefer virtual nodes
    rig.add(pod("j-1", job="j", node_name="vk", phase="Failed"), ChangeKind.MODIFIED)
    rig.add(pod("j-2", job="j"))  # the Job controller's replacement
    rig.add(pod("k-1", job="k"))  # another job still prefers virtual nodes
    rig.cycle()
    assert sorted(rig.binder.bound[1:]) == [("ns/j-2", "std"), ("ns/k-1", "vk")]
    assert rig.sched.stats.virtual_fallbacks == 1
    # after the retry period the job goes back to virtual nodes
    rig.now = 601.0
    rig.add(pod("j-3", job="j"))
    rig.cycle()
    assert rig.binder.bound[-1] == ("ns/j-3", "vk")


def test_a_gang_with_a_refused_member_gives_back_every_reservation() -> None:
    rig = Rig(node("a", "1"), node("b", "1"))
    gang = {"colo.io/gang": "g"}
    for name in ("g1", "g2"):
        p = pod(name)
        rig.add(Pod.from_k8s({**_raw(p), "metadata": {**_raw(p)["metadata"], "labels": gang,
                "annotations": {"colo.io/gang-min-members": "2"}}}))  # fmt: skip
    rig.ledger.reserve([Item("other/x", "b", {"cpu": 1000})], 0.0)
    assert rig.cycle() == 0
    assert rig.binder.bound == []
    assert rig.ledger.free("a")["cpu"] == 1000  # the granted member was unreserved
    # a is free again; b holds a placeholder for the room someone else has there
    assert rig.loop.snap.used[:2, 0].tolist() == [0, 1000]


def _raw(p: Pod) -> dict[str, Any]:
    return {
        "metadata": {"name": p.name, "namespace": p.namespace, "uid": p.uid},
        "spec": {
            "schedulerName": p.scheduler_name,
            "containers": [{"name": "c", "resources": {"requests": {"cpu": "1"}}}],
        },
        "status": {"phase": "Pending"},
    }


def test_a_wave_is_bound_in_order_by_a_few_workers_not_a_task_per_pod() -> None:
    rig = Rig(*(node(f"n{i}", cpu="64") for i in range(4)), bind_workers=3)
    fast = rig.binder.bind_retrying
    peak = {"in_flight": 0, "tasks": 0}
    in_flight = [0]

    async def slow(pod: PodRef, node_name: str) -> None:
        in_flight[0] += 1
        peak["in_flight"] = max(peak["in_flight"], in_flight[0])
        peak["tasks"] = max(peak["tasks"], len(rig.sched._tasks))
        await asyncio.sleep(0)
        await fast(pod, node_name)
        in_flight[0] -= 1

    rig.binder.bind_retrying = slow  # type: ignore[method-assign]
    for i in range(100):
        rig.add(pod(f"p{i:03d}", "100m"))
    assert rig.cycle() == 100
    sent = [c.pod.key for _, c in rig.recorded if isinstance(c, Bind)]
    assert [key for key, _ in rig.binder.bound] == sent  # every one, in the loop's order
    assert peak["in_flight"] == 3
    assert peak["tasks"] <= 4  # the workers, and the reservation's task that started them


def test_without_a_coordinator_it_binds_straight_away() -> None:
    rig = Rig(node("a"), coordinated=False)
    rig.add(pod("p"))
    assert rig.cycle() == 1
    assert rig.ledger.granted == 0 and rig.binder.bound == [("ns/p", "a")]


def test_pods_of_other_schedulers_are_left_alone_but_their_room_is_counted() -> None:
    rig = Rig(node("a", "2"))
    rig.add(pod("theirs", "1", scheduler="default-scheduler"))
    rig.add(pod("bound", "1", node_name="a", scheduler="default-scheduler"))
    rig.add(pod("mine", "2"))
    assert rig.cycle() == 0
    assert rig.conditions.written[0][3] == "0/1 nodes are available: 1 Insufficient cpu."


@pytest.mark.parametrize("kind", [ChangeKind.DELETED, ChangeKind.MODIFIED])
def test_a_pod_deleted_or_finished_while_being_bound_frees_its_room(kind: ChangeKind) -> None:
    rig = Rig(node("a", "1"))
    rig.add(pod("p"))
    rig.cycle()
    gone = pod("p", node_name="a", phase="Failed" if kind is ChangeKind.MODIFIED else "Running")
    rig.add(gone, kind)
    assert rig.loop.snap.used[0, 0] == 0 and not rig.loop.held


T0 = 1_800_000_000.0  # 2027-01-15T08:00:00Z
T0_TEXT = "2027-01-15T08:00:00Z"


def test_a_pod_with_a_start_time_is_placed_just_before_it_and_bound_at_it() -> None:
    rig = Rig(node("a"))
    rig.now = T0 - 60.0
    rig.add(pod("cron-1", start_at=T0_TEXT))
    assert rig.cycle() == 0  # a minute early: not even placed
    assert "ns/cron-1" not in rig.loop.held
    assert rig.loop.timer_at() == T0 - 2.0  # plan_ahead_s before its start
    rig.now = T0 - 2.0
    assert rig.cycle() == 0  # placed and reserved now (a cycle later), bound at its start
    reserved_at = [at for at, c in rig.recorded if isinstance(c, Reserve)]
    assert reserved_at == [pytest.approx(T0 - 2.0 + 0.05)] and rig.ledger.granted == 1
    assert rig.loop.timer_at() == T0 and rig.binder.bound == []
    rig.now = T0
    assert rig.cycle() == 1
    assert rig.binder.bound == [("ns/cron-1", "a")] and rig.binder.at == [T0]


def test_a_pod_whose_node_shrank_before_its_start_is_placed_again() -> None:
    rig = Rig(node("a", "2"), node("b", "2"))
    rig.now = T0 - 2.0
    rig.add(pod("cron-1", "2", start_at=T0_TEXT))
    rig.cycle()
    (placed,) = [n for n, h in rig.loop.held.items()]
    where = rig.loop.snap.names[rig.loop.held[placed].node]
    rig.add(node(where, "1"), ChangeKind.MODIFIED)  # its node shrank to 1 cpu meanwhile
    rig.ledger.update_node(where, {"cpu": 1000, "memory": 16 * 2**30, "pods": 110})
    rig.now = T0
    assert rig.cycle() == 1  # given back at its start, placed again at once
    other = "b" if where == "a" else "a"
    assert rig.binder.bound == [("ns/cron-1", other)]


def test_a_pod_whose_start_has_passed_is_scheduled_at_once() -> None:
    rig = Rig(node("a"))
    rig.now = T0 + 5.0
    rig.add(pod("late", start_at=T0_TEXT))
    assert rig.cycle() == 1
    assert rig.binder.at == [T0 + 5.0]  # with the next cycle, waiting for nothing


def test_a_start_time_colo_cannot_read_is_reported_with_the_annotation_named() -> None:
    rig = Rig(node("a"))
    rig.add(pod("bad", start_at="tomorrow at noon"))
    assert rig.cycle() == 0
    (written,) = rig.conditions.written
    assert written[0] == "ns/bad" and f"metadata.annotations[{START_AT_ANNOTATION}]" in written[3]


def test_a_held_back_pod_deleted_before_its_time_is_never_placed() -> None:
    rig = Rig(node("a"))
    rig.now = T0 - 60.0
    waiting = pod("cron-1", start_at=T0_TEXT)
    rig.add(waiting)
    rig.add(waiting, ChangeKind.DELETED)
    rig.now = T0
    rig.sched.step()  # its timer comes and finds nothing to release
    assert rig.cycle() == 0 and rig.binder.bound == [] and not rig.loop.pending


def test_started_comes_with_the_first_answered_binding_not_before() -> None:
    """`started` (what a hosted coordinator waits for before it serves gRPC) is set once
    the first binding is answered, not while the cycle's bindings are still in flight."""
    rig = Rig(node("a"))
    gate = asyncio.Event()
    fast = rig.binder.bind_retrying

    async def gated(pod: PodRef, node_name: str) -> None:
        await gate.wait()
        await fast(pod, node_name)

    rig.binder.bind_retrying = gated  # type: ignore[method-assign]
    rig.add(pod("p"))
    at = rig.loop.cycle_at()
    assert at is not None
    rig.now = at

    async def body() -> None:
        rig.sched.step()  # the cycle: a reservation, then the binding
        for _ in range(10):
            await asyncio.sleep(0)
        assert rig.sched.stats.bound == 0 and rig.ledger.granted == 1  # reserved, in flight
        assert not rig.sched.started.is_set()
        gate.set()
        await asyncio.wait_for(rig.sched.started.wait(), 1.0)
        await rig.sched.drain()

    rig.aio.run_until_complete(body())
    assert rig.binder.bound == [("ns/p", "a")]


def test_started_when_there_is_nothing_to_bind() -> None:
    """Nothing pending at the start, or only pods that fit nowhere: `started` is set once
    the scheduler has nothing in flight, so a hosted coordinator is not kept waiting."""
    idle = Rig(node("a"))

    async def run_until_started() -> None:
        task = asyncio.ensure_future(idle.sched.run())
        try:
            await asyncio.wait_for(idle.sched.started.wait(), 1.0)
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    idle.aio.run_until_complete(run_until_started())

    full = Rig(node("a", "1"))
    full.add(pod("big", "2"))
    assert not full.sched.started.is_set()
    assert full.cycle() == 0 and full.conditions.written  # reported, nothing bound
    assert full.sched.started.is_set()


def test_colo_batch_imports_neither_grpc_nor_the_other_ports_before_it_needs_them() -> None:
    """Every module imported before the first listing delays a (re)started colo-batch's
    first binding: gRPC (~40 ms with the generated code) comes with a coordinator client
    or once the hosted coordinator serves; the cgroup port never."""
    code = (
        "import sys, colo.cli.batch, colo.apps.batch\n"
        "print(sorted(m for m in sys.modules if m == 'grpc' or m.startswith(('colo.rpc', "
        "'colo.ports.cgroups', 'colo.ports.usage'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout

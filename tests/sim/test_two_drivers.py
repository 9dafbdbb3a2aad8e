"""One loop, two drivers: colo-batch's `BatchLoop` gives the same commands whether the
simulator drives it or the process's asyncio driver does.

A small simulated cluster runs colo-batch (the simulator's driver) with the coordinator's
ledger refusing some placements (another scheduler holds room colo-batch cannot see),
nodes changing under it and bindings losing races to another scheduler; every event the
loop got and every command it gave is recorded. The same events are then fed, in the same
order and at the same clock, to
`colo.apps.batch.BatchScheduler`, the driver `colo batch serve` runs, whose ports answer
as the simulated ones did: the coordinator with the recorded replies, the binder with
the recorded outcome when the recording reaches it. The process's driver must give the
same commands, in the same order, at the same times.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import numpy as np
import pytest
import simkit
from simkit import GiB, Job

from colo.apps.batch import BatchScheduler
from colo.core.changes import ClusterEvent, EventType, PodRef
from colo.core.errors import Conflict
from colo.core.reservation import Item, Reply
from colo.sched.loop import LoopOptions
from colo.sched.messages import (
    BindFailed,
    BindSucceeded,
    Command,
    CycleDue,
    Event,
    Reserve,
    Reserved,
    TimerDue,
)
from colo.sim.batch_scheduler import SimBatchScheduler
from colo.sim.cluster import Phase, complete
from colo.sim.coordinator import SimCoordinator
from colo.sim.engine import PRIO_CONTROL

Recorded = list[tuple[float, Event | Command]]


def simulated_run(seed: int) -> tuple[Recorded, LoopOptions]:
    rng = np.random.default_rng(seed)
    jobs = tuple(
        Job(
            arrival_s=float(rng.choice([5.0, 40.0])) if k % 2 else float(rng.uniform(0, 60)),
            cpu_milli=int(rng.choice([500, 1000, 2000])),
            memory_bytes=int(rng.choice([1, 2])) * GiB,
            duration_s=float(rng.uniform(5, 40)),
            pods=int(rng.integers(1, 4)),
        )
        for k in range(40)  # half of them in two waves, which the limiter spreads out
    )
    sc = simkit.scenario(duration_s=120.0, step_s=120.0)
    wl = simkit.workload(sc, node_cpu=(8000,) * 4, node_memory=(16 * GiB,) * 4, jobs=jobs)
    loop, c = simkit.cluster(sc, wl)
    coordinator = SimCoordinator(c)
    # Another scheduler holds most of node 0 for a while: refusals, then placeholders.
    held = coordinator.ledger.reserve(
        [Item("other/hog", "node-0000", {"cpu": 6000, "memory": 4 * GiB, "pods": 1}, 0)], 0.0
    )
    assert held[0].ok
    loop.schedule(30.0, lambda: coordinator.ledger.unreserve(["other/hog"]), priority=PRIO_CONTROL)
    # A node's status changes twice (an extended resource appears, then goes).
    for at, value in ((20.0, 3), (50.0, 0)):
        patch = c.patch_extended_resources(
            "node-0003", capacity={"x/y": value}, allocatable={"x/y": value}
        )
        loop.schedule(at, lambda p=patch: complete(p), priority=PRIO_CONTROL)

    sched = SimBatchScheduler(
        c, loop, ledger=coordinator.ledger, qps=4.0, burst=2, cycle_s=0.5, record=True
    )

    # Now and then another scheduler binds a pod colo-batch has placed but not bound yet
    # (its limiter holds bindings back): colo-batch's binding loses the race.
    def bind_elsewhere() -> None:
        waiting = [
            p for p in c.records if p.phase is Phase.PENDING and p.key in sched.engine.inflight
        ]
        if waiting:
            complete(c.bind(simkit.ref(waiting[-1]), "node-0003"))

    for at in (6.1, 7.1, 8.1, 41.1, 42.1, 43.1):  # while the waves are being bound
        loop.schedule(at, bind_elsewhere, priority=PRIO_CONTROL)
    simkit.feed_jobs(c, loop, jobs)
    loop.run(120.0)
    assert sched.recorded is not None
    return sched.recorded, sched.engine.options


def placements(items: Sequence[Item]) -> tuple[tuple[str, str], ...]:
    return tuple((i.pod, i.node) for i in items)


class RecordedCoordinator:
    """Answers each `Reserve` with what the simulated ledger answered to the same one."""

    def __init__(self, recorded: Recorded) -> None:
        asked = {c.ticket: placements(c.items) for _, c in recorded if isinstance(c, Reserve)}
        self._replies: dict[tuple[tuple[str, str], ...], list[list[Reply]]] = {}
        for _, e in recorded:
            if isinstance(e, Reserved):  # the same placements may be asked again later
                self._replies.setdefault(asked[e.ticket], []).append(list(e.replies))

    async def reserve(self, items: Sequence[Item]) -> list[Reply]:
        return self._replies[placements(items)].pop(0)

    async def unreserve(self, pods: Sequence[str]) -> int:
        return len(pods)

    async def filter(
        self, pod: str, resources: object, nodes: Sequence[str]
    ) -> tuple[list[str], dict[str, str]]:
        raise AssertionError("colo-batch does not filter")


class RecordedBinder:
    """Each binding answers when the recording reaches its answer."""

    def __init__(self) -> None:
        self.answers: dict[str, asyncio.Future[BaseException | None]] = {}

    def answer(self, key: str) -> asyncio.Future[BaseException | None]:
        if key not in self.answers:
            self.answers[key] = asyncio.get_running_loop().create_future()
        return self.answers[key]

    async def bind_retrying(self, pod: PodRef, node_name: str) -> None:
        error = await self.answer(pod.key)
        del self.answers[pod.key]
        if error is not None:
            raise error


class Quiet:
    async def set_condition(
        self, pod: PodRef, *, type: str, status: str, reason: str, message: str
    ) -> None:
        return None

    async def record(
        self, *, kind: str, key: str, reason: str, message: str, type: EventType = EventType.NORMAL
    ) -> None:
        return None


def replay(recorded: Recorded, options: LoopOptions) -> Recorded:
    clock = [0.0]
    binder = RecordedBinder()

    async def body() -> Recorded:
        driver = BatchScheduler(
            binder, Quiet(), Quiet(),
            coordinator=RecordedCoordinator(recorded),
            options=options,
            clock=lambda: clock[0],
            wall=lambda: clock[0],
        )  # fmt: skip
        got = driver.record()
        for now, item in recorded:
            clock[0] = now
            if isinstance(item, ClusterEvent):
                driver.on_event(item)
            elif isinstance(item, TimerDue):
                due = driver.loop.timer_at()
                assert due is not None and due <= now, "the simulator woke the loop early"
                driver.handle(item)
            elif isinstance(item, CycleDue):
                due = driver.loop.cycle_at()
                assert due is not None and due <= now, "the simulator woke the loop early"
                driver.handle(item)
            elif isinstance(item, BindSucceeded | BindFailed):
                error = Conflict(item.message) if isinstance(item, BindFailed) else None
                binder.answer(item.key).set_result(error)
            # Reserved/ReserveFailed are the driver's own, from RecordedCoordinator; the
            # commands are what is compared
            for _ in range(5):  # let every task the event started run to its next await
                await asyncio.sleep(0)
        await driver.close()
        return got

    return asyncio.run(body())


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_process_driver_gives_the_simulators_commands_for_the_same_events(seed: int) -> None:
    recorded, options = simulated_run(seed)
    commands = [(t, c) for t, c in recorded if isinstance(c, Command)]
    reserves = [c for _, c in commands if isinstance(c, Reserve)]
    refused = [r for _, e in recorded if isinstance(e, Reserved) for r in e.replies if not r.ok]
    assert len(reserves) > 5 and refused, "the run must exercise reservations and refusals"
    assert any(isinstance(e, TimerDue) for _, e in recorded), "and placeholders expiring"
    assert any(isinstance(e, BindFailed) for _, e in recorded), "and bindings that lost a race"
    got = replay(recorded, options)
    got_commands = [(t, c) for t, c in got if isinstance(c, Command)]
    assert got_commands == commands
    # and the events, answers included, arrived in the same order
    assert [e for _, e in got] == [e for _, e in recorded]

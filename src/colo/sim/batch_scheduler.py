"""colo-batch at simulated time: the real `BatchLoop`, driven by the simulator's event loop.

The loop (`colo.sched.loop`) is the one `colo batch serve` runs; this module is only its
driver, the twin of `colo.apps.batch`:

- it lists the simulated cluster's nodes and pods into the loop and then passes on every
  change the cluster announces (`ClusterReader.subscribe`), as the informers do;
- it wakes the loop when it asks (`cycle_at`, `timer_at`) at simulated time;
- it executes the loop's commands: `Reserve` and `Unreserve` in-process at the
  coordinator's ledger (`colo.sim.coordinator`), answering at once; `Bind` through the
  cluster's `Binder` port when colo-batch's own client rate limiter (`qps`, `burst`) lets
  the binding out, one token each, as the process's client limiter does.

The loop runs in `parked` mode (same placements as a cycle over every pending pod; see
`colo.sched.backlog`) and without unschedulable messages, which nothing in the
simulator shows. Pods never carry priorities here, so the aging queue orders them
oldest first.
"""

from __future__ import annotations

from functools import partial

from colo.coord.ledger import Ledger
from colo.core.changes import ChangeKind, ClusterEvent
from colo.core.errors import Conflict, NotFound
from colo.core.ratelimit import RateLimiter
from colo.sched import messages as m
from colo.sched.loop import BatchLoop, BatchStats, LoopOptions
from colo.sched.requirements import VirtualNodePolicy
from colo.sim.cluster import SimCluster, complete
from colo.sim.engine import PRIO_CONTROL, PRIO_SCHEDULE, EventLoop

#: How long a refused request stays on its node in colo-batch's view (as the process).
CONFLICT_HOLD_S = 2.0


class SimBatchScheduler:
    """colo-batch over one simulated cluster; `ledger` None binds unreserved."""

    def __init__(
        self,
        cluster: SimCluster,
        loop: EventLoop,
        *,
        ledger: Ledger | None,
        qps: float,
        burst: int,
        cycle_s: float,
        conflict_hold_s: float = CONFLICT_HOLD_S,
        virtual: VirtualNodePolicy | None = None,
        exhaustive: bool = False,
        record: bool = False,
    ) -> None:
        """`exhaustive`: every cycle over every pending pod (the process's `every` mode;
        slow, the reference the parked queue is tested against). `record`: keep every
        event handed to the loop and every command it gave, with the simulated time, in
        `recorded` (the test that replays a run through the process's driver)."""
        if cycle_s <= 0:
            raise ValueError(f"cycle_s must be > 0, got {cycle_s}")
        self.cluster = cluster
        self.loop = loop
        self.ledger = ledger
        self.limiter = RateLimiter(qps, burst)
        self.engine = BatchLoop(
            LoopOptions(
                # the name the cluster's offline pods carry (colo-batch once colo-webhook
                # rewrites them; tests of the scheduler alone leave them to the default one)
                scheduler_name=cluster.pod_view_scheduler(),
                virtual=virtual or VirtualNodePolicy(),
                batch_delay_s=cycle_s,
                conflict_hold_s=conflict_hold_s,
                coordinated=ledger is not None,
                backlog="every" if exhaustive else "parked",
                explain=False,
            ),
            capacity=max(1, len(cluster.all_names)),
        )
        self.recorded: list[tuple[float, m.Event | m.Command]] | None = [] if record else None
        self._cycle_event_at: float | None = None
        self._timer_event_at: float | None = None
        # Start as an informer does: the listing, then every change.
        for node in cluster.nodes():
            self.handle(ClusterEvent(ChangeKind.ADDED, node=node))
        for pod in cluster.pods():
            self.handle(ClusterEvent(ChangeKind.ADDED, pod=pod))
        cluster.subscribe(self.handle)

    @property
    def stats(self) -> BatchStats:
        return self.engine.stats

    def pending(self) -> int:
        return len(self.engine.pending)

    # --- feeding the loop -----------------------------------------------------------------
    def handle(self, event: m.Event) -> None:
        now = self.loop.now()
        commands = self.engine.handle(event, now)
        if self.recorded is not None:
            self.recorded.append((now, event))
            self.recorded.extend((now, c) for c in commands)
        self._wakeups()
        for command in commands:
            self._execute(command, now)

    def _wakeups(self) -> None:
        at = self.engine.cycle_at()
        if at is not None and self._cycle_event_at != at:
            self._cycle_event_at = at
            self.loop.schedule(at, self._cycle_due, priority=PRIO_SCHEDULE)
        at = self.engine.timer_at()
        if at is not None and (self._timer_event_at is None or at < self._timer_event_at):
            self._timer_event_at = at
            self.loop.schedule(at, self._timer_due, priority=PRIO_CONTROL)

    def _cycle_due(self) -> None:
        now = self.loop.now()
        if self._cycle_event_at != now:
            return  # superseded
        self._cycle_event_at = None
        at = self.engine.cycle_at()
        if at is not None and at <= now:
            self.handle(m.CycleDue(wall_s=now))
        else:
            self._wakeups()

    def _timer_due(self) -> None:
        now = self.loop.now()
        if self._timer_event_at != now:
            return  # superseded by an earlier one
        self._timer_event_at = None
        at = self.engine.timer_at()
        if at is not None and at <= now:
            self.handle(m.TimerDue())
        else:
            self._wakeups()

    # --- executing its commands -----------------------------------------------------------
    def _execute(self, command: m.Command, now: float) -> None:
        if isinstance(command, m.Reserve):
            assert self.ledger is not None
            replies = self.ledger.reserve(command.items, now)
            self.handle(m.Reserved(command.ticket, tuple(replies)))
        elif isinstance(command, m.Bind):
            self._send(command)
        elif isinstance(command, m.Unreserve) and self.ledger is not None:
            self.ledger.unreserve(command.keys)
        # ReportUnschedulable: nothing in the simulator shows it (and explain is off)

    def _send(self, command: m.Bind) -> None:
        at = self.limiter.reserve(self.loop.now(), 1)
        self.loop.schedule(at, partial(self._bind, command), priority=PRIO_CONTROL)

    def _bind(self, command: m.Bind) -> None:
        try:
            complete(self.cluster.bind(command.pod, command.node))
        except (Conflict, NotFound) as e:
            self.handle(m.BindFailed(command.key, type(e).__name__, str(e), lost_race=True))
            return
        self.handle(m.BindSucceeded(command.key))

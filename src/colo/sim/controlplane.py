"""Models of the stock Kubernetes control plane, as the baselines run it.

- (rate limits come from `colo.core.ratelimit.RateLimiter` fed simulated time)
- `StockJobController`: the CronJob + Job controllers of kube-controller-manager turning
  due jobs into pods, every API request paid for from one client rate limiter (default
  QPS 20, burst 30: why thousands of CronJobs due at 00:00 start minutes late).
- `StockScheduler`: kube-scheduler placing one pod at a time by requests (fit, then
  least-allocated score), each binding paid for from its own limiter (QPS 50, burst 100).
- `place_online`: where the long-running online pods sit when the scenario starts.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Sequence
from functools import partial

import numpy as np

from colo.core.changes import PodRef
from colo.core.errors import Conflict, NotFound
from colo.core.ratelimit import RateLimiter
from colo.sim.cluster import OFFLINE_NAMESPACE, Phase, SimCluster, SimPod, complete
from colo.sim.engine import PRIO_ARRIVAL, PRIO_CONTROL, PRIO_SCHEDULE, EventLoop
from colo.sim.pending import PendingQueue, Shape


class StockJobController:
    """Creates each job's pods when it is due, paying API requests from one limiter."""

    def __init__(
        self,
        cluster: SimCluster,
        loop: EventLoop,
        *,
        qps: float,
        burst: int,
        requests_per_job: int,
        pool: str | None = None,
        cron: bool = True,
    ) -> None:
        """`cron` False: the jobs CronJobs fire are someone else's (colo-cron's)."""
        self.cluster = cluster
        self.loop = loop
        self.limiter = RateLimiter(qps, burst)
        self.requests_per_job = requests_per_job
        self.pool = pool
        self.cron = cron
        cluster.on_lost(self._recreate)

    def start(self) -> None:
        jobs = self.cluster.workload.jobs
        end = self.cluster.workload.tick_s[-1] + self.cluster.scenario.step
        for j in range(len(jobs)):
            at = float(jobs.arrival_s[j])
            if at >= end:
                break
            if self.cron or not jobs.cron[j]:
                self.loop.schedule(at, partial(self._due, j), priority=PRIO_ARRIVAL)

    def _due(self, job: int) -> None:
        jobs = self.cluster.workload.jobs
        now = self.loop.now()
        ready = self.limiter.reserve(now, self.requests_per_job)
        for slot in range(int(jobs.pods[job])):
            at = max(ready, self.limiter.reserve(now, 1))
            self.loop.schedule(at, partial(self._create, job, slot, now), priority=PRIO_CONTROL)

    def _create(self, job: int, slot: int, due_s: float) -> None:
        jobs = self.cluster.workload.jobs
        self.cluster.create_pod(
            job=job,
            slot=slot,
            cpu_milli=int(jobs.cpu_milli[job]),
            memory_bytes=int(jobs.memory_bytes[job]),
            duration_s=float(jobs.duration_s[job]),
            due_s=due_s,
            cron=bool(jobs.cron[job]),
            pool=self.pool,
        )

    def _recreate(self, pod: SimPod) -> None:
        """The Job controller replaces a failed or evicted pod (one more API request)."""
        if pod.run is not None:
            return  # a Job colo-cron runs: it replaces its own pods
        at = self.limiter.reserve(self.loop.now(), 1)
        self.loop.schedule(
            at, partial(self._create, pod.job, pod.slot, pod.due_s), priority=PRIO_CONTROL
        )


class StockScheduler:
    """kube-scheduler's behaviour at the level the simulation needs.

    Pending pods are looked at in FIFO order in scheduling rounds (every `round_s` while
    something is pending and something changed). A pod goes to the feasible node
    (requests fit allocatable minus what is bound or assumed, node selector matches)
    with the most free capacity (LeastAllocated over cpu and memory, ties to the lowest
    index). Each binding costs one token of the scheduler's client limiter; the binding
    reaches the API server when the token is there, and until then the pod is assumed
    on its node, as kube-scheduler's cache does. Pods that found no node wait in the
    queue's unschedulable set until capacity frees up where they fit (see `pending`).
    """

    def __init__(
        self,
        cluster: SimCluster,
        loop: EventLoop,
        *,
        qps: float,
        burst: int,
        round_s: float,
    ) -> None:
        self.cluster = cluster
        self.loop = loop
        self.limiter = RateLimiter(qps, burst)
        self.round_s = round_s
        n = len(cluster.node_names)
        self._assumed_cpu = np.zeros(n, np.int64)
        self._assumed_memory = np.zeros(n, np.int64)
        self._assumed_pods = np.zeros(n, np.int64)
        pools = sorted({p for p in cluster.node_pools if p is not None})
        self._pool_ids: dict[str | None, int] = {None: 0}
        self._pool_ids.update({p: i + 1 for i, p in enumerate(pools)})
        # The last row matches no node: pods selecting a pool that no node has.
        self._nowhere = len(self._pool_ids)
        self._pool_masks = np.ones((len(self._pool_ids) + 1, n), bool)
        self._pool_masks[self._nowhere] = False
        for name, i in self._pool_ids.items():
            if name is not None:
                self._pool_masks[i] = np.array([p == name for p in cluster.node_pools])
        self._queue = PendingQueue(self._pool_masks)
        self._changed: set[int] = set()  # nodes with capacity freed since the last round
        self._round_at: float | None = None
        self._dirty = True
        cluster.on_pending(self._enqueue)
        cluster.on_freed(self._freed)

    def pending(self) -> int:
        return self._queue.waiting

    def _enqueue(self, pod: SimPod) -> None:
        self._queue.add(pod, self._pool_ids.get(pod.pool, self._nowhere))
        self._dirty = True
        self._wake(self.loop.now())

    def _freed(self, node: int) -> None:
        self._changed.add(node)
        self._dirty = True
        self._wake(self.loop.now())

    def _wake(self, now: float) -> None:
        at = math.ceil(now / self.round_s) * self.round_s
        if self._round_at is not None and self._round_at <= at:
            return
        self._round_at = at
        self.loop.schedule(at, self._round, priority=PRIO_SCHEDULE)

    def _round(self) -> None:
        now = self.loop.now()
        if self._round_at != now:
            return  # superseded by an earlier round
        self._round_at = None
        if not self._dirty:
            return
        self._dirty = False
        stopped_early = self._place(now, self.limiter.available_by(now, self.round_s))
        if stopped_early:
            # Out of tokens: carry on next round. Otherwise every candidate was looked
            # at: wait for a pod to arrive or for capacity to free up.
            self._dirty = True
            self._wake(now + self.round_s)

    def _place(self, now: float, budget: int) -> bool:
        """Place pending pods in FIFO order until the budget is spent.

        Candidates are the fresh pods that fit the largest free node of their pool, and
        the unschedulable pods whose shape fits a node freed since the last round; both
        are walked together in queue order. Returns True if it stopped for lack of
        budget with candidates left.

        Free capacity only shrinks during a round, so a group head that no longer fits
        any changed node never will again this round: it is dropped as it comes up, with
        no other effect. The heads found at the start are checked all at once against
        the changed nodes (a fit matrix, its column redone when a pod lands on that
        node), so a round costs a few array operations however many heads the room freed
        on one node lets down; a group's next head, queued after its head was placed,
        is checked on its own as it comes up.
        """
        c = self.cluster
        queue = self._queue
        free_cpu = c.free_cpu() - self._assumed_cpu
        free_mem = c.free_memory() - self._assumed_memory
        free_pods = c.free_pods() - self._assumed_pods
        changed = sorted(self._changed)
        self._changed.clear()
        fresh = queue.take_fresh()
        fits = queue.fits_largest(fresh, free_cpu, free_mem, free_pods)
        queue.mark_unschedulable(fresh[~fits].tolist())
        fresh_list: list[int] = fresh[fits].tolist()
        n_fresh = len(fresh_list)
        # The heads found at the start, in queue order, and whether each still fits.
        rows, room, fit = queue.candidates(changed, free_cpu, free_mem, free_pods)
        heads: list[int] = queue.group_head[rows].tolist()
        n_heads = len(heads)
        column = {int(n): j for j, n in enumerate(room.tolist())}
        stale: set[int] = set()  # columns of changed nodes a pod went to since `ok`
        ok = np.ones(n_heads, bool)
        nxt = 0  # the first head at or after `cursor` that fitted when `ok` was made
        cursor = 0
        later: list[tuple[int, Shape]] = []  # next heads of groups placed from, a heap
        later_max = -1
        last = -1  # position of the last pod placed
        end = 1 << 62
        # Free capacity only shrinks during a round, so a shape that found no node once
        # finds none for the rest of the round: skip its twins.
        failed: set[Shape] = set()
        f = 0
        while budget > 0:
            i = -1
            first_fresh = fresh_list[f] if f < n_fresh else end
            first_later = later[0][0] if later else end
            at = heads[nxt] if nxt < n_heads else end
            if stale and at < first_fresh and at < first_later:
                # about to take a head: redo the columns of the nodes that changed under it
                cols = np.fromiter(stale, np.int64, len(stale))
                fit[:, cols] = queue.fit_matrix(rows, room[cols], free_cpu, free_mem, free_pods)
                stale.clear()
                ok = np.asarray(fit.any(axis=1))
                nxt = self._next_fitting(ok, cursor)
                continue
            if first_fresh < at and first_fresh < first_later:
                i, f = first_fresh, f + 1
                key = queue.shape(i)
                node = -1 if key in failed else self._choose(key, free_cpu, free_mem, free_pods)
                if node < 0:
                    failed.add(key)
                    queue.mark_unschedulable([i])
                    continue
            elif first_later < at:
                _, key = heapq.heappop(later)
                # A cheap look at the few changed nodes first: only they can have gained
                # room, so the full scan below runs only for a shape that will be placed.
                if not queue.shape_fits_any(key, changed, free_cpu, free_mem, free_pods):
                    continue  # the freed room went to pods ahead of it
            elif at < end:
                key = queue.group_shape(int(rows[nxt]))
                cursor = nxt + 1
                nxt = self._next_fitting(ok, cursor)
            else:
                break
            if i < 0:  # a group head: take it, its group's next head comes up later
                i = queue.pop_head(key)
                if key in queue.groups:
                    following = queue.head(key)
                    heapq.heappush(later, (following, key))
                    later_max = max(later_max, following)
                node = self._choose(key, free_cpu, free_mem, free_pods)
            pod = queue.take(i)
            free_cpu[node] -= pod.cpu_milli
            free_mem[node] -= pod.memory_bytes
            free_pods[node] -= 1
            col = column.get(node)
            if col is not None:
                stale.add(col)
            self._assume(pod, node, now)
            last = i
            budget -= 1
        # Heads not looked at yet (all of them after the last pod placed) would be left.
        heads_left = (n_heads > 0 and heads[-1] > last) or later_max > last
        stopped_early = budget <= 0 and (f < n_fresh or heads_left)
        if stopped_early:
            queue.defer(fresh_list[f:])
            self._changed.update(changed)  # unschedulable pods may still fit there
        return stopped_early

    @staticmethod
    def _next_fitting(ok: np.ndarray, start: int) -> int:
        """The first index at or after `start` where `ok` holds (len(ok) if none)."""
        rest = ok[start:]
        if not len(rest):
            return len(ok)
        k = int(rest.argmax())
        return start + k if rest[k] else len(ok)

    def _choose(
        self,
        key: tuple[int, int, int],
        free_cpu: np.ndarray,
        free_mem: np.ndarray,
        free_pods: np.ndarray,
    ) -> int:
        """The node for a pod of shape `key` (LeastAllocated among feasible), or -1."""
        cpu, mem, p = key
        feasible = self._pool_masks[p] & (free_cpu >= cpu) & (free_mem >= mem) & (free_pods > 0)
        # LeastAllocated over the resources offline pods request (batch ones in batch mode)
        inv_cpu, inv_mem = self.cluster.offline_inverse()
        share = free_cpu * inv_cpu + free_mem * inv_mem
        best = int(np.where(feasible, share, -np.inf).argmax())
        return best if feasible[best] else -1  # shares are finite: -inf only where infeasible

    def _assume(self, pod: SimPod, node: int, now: float) -> None:
        """Hold the pod on its node until its binding goes out with the next free token."""
        self._assumed_cpu[node] += pod.cpu_milli
        self._assumed_memory[node] += pod.memory_bytes
        self._assumed_pods[node] += 1
        at = self.limiter.reserve(now, 1)
        self.loop.schedule(at, partial(self._bind, pod, node), priority=PRIO_CONTROL)

    def _bind(self, pod: SimPod, node: int) -> None:
        self._assumed_cpu[node] -= pod.cpu_milli
        self._assumed_memory[node] -= pod.memory_bytes
        self._assumed_pods[node] -= 1
        if pod.phase is not Phase.PENDING:
            return
        ref = PodRef(OFFLINE_NAMESPACE, pod.name, str(pod.index))
        try:
            complete(self.cluster.bind(ref, self.cluster.node_names[node]))
        except (Conflict, NotFound):
            return


def place_online(
    cpu_milli: np.ndarray,
    memory_bytes: np.ndarray,
    alloc_cpu: np.ndarray,
    alloc_memory: np.ndarray,
    allowed: np.ndarray,
    max_pods: int = 110,
) -> np.ndarray:
    """Online pods onto allowed nodes, largest first, LeastAllocated; -1 where none fits."""
    n = len(alloc_cpu)
    free_cpu = alloc_cpu.astype(np.float64).copy()
    free_mem = alloc_memory.astype(np.float64).copy()
    free_pods = np.full(n, max_pods)
    where = np.full(len(cpu_milli), -1, np.int64)
    for i in np.argsort(-cpu_milli, kind="stable"):
        feasible = allowed & (free_cpu >= cpu_milli[i]) & (free_mem >= memory_bytes[i])
        feasible &= free_pods > 0
        if not feasible.any():
            continue
        score = np.where(feasible, free_cpu / alloc_cpu + free_mem / alloc_memory, -np.inf)
        node = int(np.argmax(score))
        where[i] = node
        free_cpu[node] -= cpu_milli[i]
        free_mem[node] -= memory_bytes[i]
        free_pods[node] -= 1
    return where


def pool_mask(pools: Sequence[str | None], name: str | None) -> np.ndarray:
    return np.array([name is None or p == name for p in pools])

"""The offline box: how much CPU and memory all offline (BE) pods of a node may use.

Every offline pod's cgroup lives under one parent (the box). Its CPU quota is recomputed
every interval (at least every second) as what the node may be driven to, minus what
online pods and the system use now:

    target = capacity × target_util − online_usage − system_usage        (millicores)

- cut **at once** when the target falls (online load rising must not wait);
- grown **at most** `grow_milli_per_s` per second when it rises (a burst of online
  load that just ended may come back: give the room back gradually);
- never below the anti-starvation `floor_milli` (offline work keeps making progress;
  the guard evicts when even that is too much);
- in the guard's THROTTLE state and above it is squeezed to `throttle_share` of the
  target (still not below the floor);
- never above the cpus the box may run on (`ceiling_milli`: the BE cpuset's worth, when
  LSE pods hold cores of their own): a quota above them limits nothing, and cutting it
  down to them would take nothing from offline work while looking like a reaction.

The box also runs at the lowest CPU weight and, where the kernel has it, `cpu.idle`
(SCHED_IDLE), so a waking online thread preempts offline ones: the quota bounds what
offline work takes when online pods are idle, the weight and idle class what it takes
when they are not.

The quota is written against a short CFS period (`period_us`, 10 ms), not the kubelet's
100 ms. Idle-class work does not yield as fully as its name says (traced on a 6.18
kernel, docs/agent.md "The box's CFS period"): online tasks can stay queued behind each
other on one cpu while the other runs only the box, and now and then the box runs a
whole tick (4 ms) while an online task waits on its cpu. With a 100 ms period the box
spends its quota in a block at the start of each period, on every cpu at once; with
10 ms it comes in slices of about a tick, and the online tail measured half as long.

Memory: the box's limit is `capacity × memory_target − online working set − system`,
never below `memory_floor_bytes`; when offline usage comes within `reclaim_margin` of
the limit, the box's page cache is reclaimed (`reclaim` is set for that node).

Pure and vectorized over nodes (`size(...)` for one node is the same call with arrays of
one); the executor (`colo.linux`) writes the result.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import numpy as np

from colo.agent.guard import Level
from colo.core.errors import InvalidInput


@dataclass(frozen=True)
class BoxOptions:
    target_util: float = 0.90
    """What share of the node's CPU online + offline + system may use together."""
    grow_milli_per_s: float = 1000.0
    """How fast the quota may grow (millicores per second)."""
    floor_milli: float = 100.0
    """The least CPU the box keeps (anti-starvation), whatever online pods use."""
    throttle_share: float = 0.5
    """The share of its target the box keeps while the guard throttles."""
    memory_target: float = 0.95
    memory_floor_bytes: float = 256 * 2**20
    reclaim_margin: float = 0.05
    """Reclaim the box's page cache when offline memory is this close to its limit."""
    period_us: int = 10_000
    """CFS period the quota is written against (module docstring: why not 100 ms). The
    kernel's least quota is 1 ms, so the period bounds the least box: 10 ms keeps the
    default 100m floor exact."""

    def __post_init__(self) -> None:
        for name in ("target_util", "throttle_share", "memory_target"):
            value = getattr(self, name)
            if not 0.0 < value <= 1.0:
                raise InvalidInput(
                    "out of range", obj="box options", field=name, value=value,
                    expected="a fraction in (0, 1]",
                )  # fmt: skip
        for name in ("grow_milli_per_s", "floor_milli", "memory_floor_bytes", "reclaim_margin"):
            if getattr(self, name) < 0:
                raise InvalidInput(
                    "must be >= 0", obj="box options", field=name, value=getattr(self, name)
                )
        if not 1_000 <= self.period_us <= 1_000_000:
            raise InvalidInput(
                "out of range", obj="box options", field="period_us", value=self.period_us,
                expected="1000..1000000 (the kernel's limits)",
            )  # fmt: skip


@dataclass
class Sized:
    """What the box gets, per node."""

    cpu_milli: np.ndarray
    quota_us: np.ndarray
    """`cpu_milli` as a CFS quota against `BoxOptions.period_us`."""
    memory_bytes: np.ndarray
    reclaim: np.ndarray
    """Reclaim the box's page cache now."""
    target_milli: np.ndarray
    """The target this interval (squeezed in THROTTLE and above), before the bounds."""
    top_milli: np.ndarray
    """The most the box could get: the node's capacity, or less where its cpus are fewer."""
    bound: np.ndarray
    """Per node, what set `cpu_milli` (a `Bound`)."""


class Bound(IntEnum):
    """What set a node's box this interval (`Sized.bound`), for `colo explain node`."""

    TARGET = 0
    """The target itself (a cut is always taken whole)."""
    RATE = 1
    """The growth limit: the box grows toward a higher target at `grow_milli_per_s`."""
    FLOOR = 2
    """The anti-starvation floor: the target was below it."""
    TOP = 3
    """Its cpus (or the node's capacity): the target was above what they can run."""

    @property
    def label(self) -> str:
        return ("target", "growth limit", "floor", "cpus")[self]


class Box:
    """The offline box of `n` nodes: keeps each one's current quota between intervals."""

    def __init__(
        self,
        capacity_milli: np.ndarray,
        memory_bytes: np.ndarray,
        options: BoxOptions | None = None,
    ) -> None:
        self.options = options or BoxOptions()
        self.capacity = np.asarray(capacity_milli, np.float64)
        self.memory = np.asarray(memory_bytes, np.float64)
        # Start at the floor: the first interval grows it from there at the bounded rate
        # (unless `adopt` says what the box already holds).
        self.cpu_milli = np.full(len(self.capacity), self.options.floor_milli)
        self.at_s: float | None = None

    def adopt(self, i: int, cpu_milli: float) -> float:
        """Node `i`'s box holds `cpu_milli` already (an agent that restarted finds the
        quota its predecessor wrote): carry on from there, cut at once or grown at the
        bounded rate as usual, instead of from the floor. Returns what is kept, within
        the floor and the node's capacity."""
        kept = float(np.clip(cpu_milli, self.options.floor_milli, self.capacity[i]))
        self.cpu_milli[i] = kept
        return kept

    def size(
        self,
        now_s: float,
        *,
        online_milli: np.ndarray,
        system_milli: np.ndarray,
        level: np.ndarray,
        online_memory: np.ndarray,
        system_memory: np.ndarray,
        offline_memory: np.ndarray,
        ceiling_milli: np.ndarray | None = None,
    ) -> Sized:
        """The box of every node for the interval starting at `now_s` (see the module
        docstring); `level` is the guard's state per node; `ceiling_milli`, per node, the
        most the box's cpus can run (None: the node's capacity)."""
        o = self.options
        top = self.capacity if ceiling_milli is None else np.minimum(self.capacity, ceiling_milli)
        dt = 1.0 if self.at_s is None else max(0.0, now_s - self.at_s)
        self.at_s = now_s
        target = self.capacity * o.target_util - online_milli - system_milli
        target = np.where(level >= Level.THROTTLE, target * o.throttle_share, target)
        grown = np.minimum(target, self.cpu_milli + o.grow_milli_per_s * dt)
        cut = target < self.cpu_milli
        wanted = np.where(cut, target, grown)
        cpu = np.clip(wanted, o.floor_milli, np.maximum(top, o.floor_milli))
        bound = np.select(
            [wanted < o.floor_milli, cpu < wanted, ~cut & (grown < target)],
            [Bound.FLOOR, Bound.TOP, Bound.RATE],
            Bound.TARGET,
        )
        self.cpu_milli = cpu
        quota = np.maximum(1000, np.floor(cpu * o.period_us / 1000.0)).astype(np.int64)
        limit = self.memory * o.memory_target - online_memory - system_memory
        limit = np.maximum(limit, o.memory_floor_bytes)
        reclaim = offline_memory >= limit * (1.0 - o.reclaim_margin)
        return Sized(cpu, quota, limit.astype(np.int64), reclaim, target, top, bound)

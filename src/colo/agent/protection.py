"""The protection loop: one sans-I/O object over N nodes that keeps online pods safe.

Every interval it takes each node's measurements, steps the guard (`colo.agent.guard`),
sizes the offline box (`colo.agent.box`), assigns cpus by tier (`colo.agent.cpus`) and
says what to do. colo-agent runs it with N = 1 against `colo.linux` and the API server
(`colo.apps.protect`); `colo sim` runs it with every node of the cluster
(`colo.sim.protect_agent`). Neither driver holds any of the logic.

Events in (methods), commands out (return values):

| method | the driver tells | returns |
|---|---|---|
| `set_pods(node, pods, kubelet=None)` | the pods on the node now, with their cgroups | — |
| `adopt(node, box_milli, pod_cpus)` | once, at start: box quota, pod cpusets found | notes |
| `observe(Measurements)` | one round of measurements, arrays over nodes | — |
| `tick(now_s)` | time to decide | the commands below, in this order per node |
| `evicted(node, key, now_s, ok=...)` | the outcome of an `Evict` | — |

| command | the driver does |
|---|---|
| `Transitioned(node, old, new, reason)` | an Event on the Node, a log line, a metric |
| `Forbid(node, on, reason)` | publish zero batch capacity while on (`ReportingLoop.forbid`) |
| `Starving(node, on, reason)` | say the node starves its offline work (annotation, event) |
| `Apply(node, intents, own_cpus)` | intents to the cgroup port; its own threads on `own_cpus` |
| `Evict(node, key, uid, reason)` | a policy/v1 eviction of that pod, then `evicted(...)` |

What the node's signals mean and the guard's thresholds are in `colo.agent.guard`; the
box's sizing in `colo.agent.box`. This module adds:

- **Evictions by the guard**: in EVICT, and only while the signals still call for
  EVICT (a node calming down evicts no more), one offline pod per `evict_cooldown_s`,
  the lowest priority first, then the least progress (the latest started), then by name.
- **Forbid** goes on at FORBID and off only back at NORMAL: a node whose box is still
  squeezed (THROTTLE) takes no new offline work.
- **Anti-starvation** (`ProtectionOptions.starve_*`): a node starves its offline work
  while the box gives each offline pod less than `starve_milli` for `starve_after_s` in
  a row. It says so (`Starving`), and only then — and only when the driver reports room
  for offline work elsewhere in the cluster (`Measurements.room_elsewhere`) — evicts
  its least-progressed offline pod, one per cooldown, so the pod can run elsewhere.
  Eviction is never the first answer: the box's floor keeps offline work moving.
- **The intents** (when `cgroups`): the box's CFS quota and period, SCHED_IDLE
  (`cpu.idle`), memory limit and page-cache reclaim; with a topology, every pod's cpuset
  by tier (LSE whole cores, LSR reserved cpus, LS the shared pool, BE the box's cpuset,
  off the LSE pods' cores), for the pod's cgroup and each of its containers. Pods the
  kubelet's static CPU manager pinned are left to the kubelet (a note says so).

Pure: time is `now_s` as the driver gives it (monotonic seconds); the same inputs give
the same commands.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath

import numpy as np

from colo.agent.box import Bound, Box, BoxOptions, Sized
from colo.agent.cpupods import CPUPod
from colo.agent.cpus import CPUAllocator, CPUAssignment, CPUOptions, PodCPUs
from colo.agent.guard import Guard, GuardOptions, Level, Signals, Transition
from colo.agent.kubeletcpu import KubeletCPUState
from colo.core.cgroups import CgroupIntent, Intent, ReclaimIntent
from colo.core.errors import InvalidInput
from colo.core.qos import QoSTier
from colo.core.topology import CPUTopology, format_cpuset

#: Annotation on the agent's heartbeat Lease: the protection loop's state (JSON), what
#: `colo explain node` shows.
PROTECTION_ANNOTATION = "colo.io/protection"

#: The kubelet's BestEffort QoS cgroup under the cgroupfs driver: the offline box.
DEFAULT_BOX = PurePosixPath("kubepods/besteffort")


@dataclass(frozen=True)
class ProtectionOptions:
    guard: GuardOptions = field(default_factory=GuardOptions)
    box: BoxOptions = field(default_factory=BoxOptions)
    cpus: CPUOptions = field(default_factory=CPUOptions)
    interval_s: float = 1.0
    """How often the driver measures and ticks (the box is re-sized at least this often;
    the issue's bound is one second)."""
    starve_milli: float = 50.0
    """A node starves its offline work while the box gives each offline pod less."""
    starve_after_s: float = 60.0
    """... for this long in a row."""
    box_idle: bool = True
    """Run the box as SCHED_IDLE (`cpu.idle`); else at the lowest weight."""
    cpusets: bool = True
    """Write cpusets by tier (needs the node's topology)."""
    box_memory: bool = True
    """Write the box's memory limit and reclaim its page cache under pressure."""

    def __post_init__(self) -> None:
        if not 0 < self.interval_s <= 60:
            raise InvalidInput(
                "out of range", obj="protection options", field="interval_s",
                value=self.interval_s, expected="seconds in (0, 60]",
            )  # fmt: skip
        for name in ("starve_milli", "starve_after_s"):
            if not getattr(self, name) >= 0:
                raise InvalidInput(
                    "must be >= 0", obj="protection options", field=name,
                    value=getattr(self, name),
                )  # fmt: skip


@dataclass(frozen=True, slots=True)
class ProtectedNode:
    """A node as the loop needs it. `box`: the offline box's cgroup (relative to the
    kubelet's cgroup root); `topology`: its cpus (None: no cpusets are written)."""

    name: str
    capacity_milli: int
    memory_bytes: int
    box: PurePosixPath = DEFAULT_BOX
    topology: CPUTopology | None = None
    reserved_cpus: frozenset[int] = frozenset()


@dataclass(frozen=True, slots=True)
class ProtectedPod:
    """A pod on the node. `key` is `namespace/name`; `started_s` when it started (the
    driver's monotonic clock; None: unknown, counted as just started); `cgroups`: the
    pod's cgroup and then its containers' (empty in the simulator)."""

    key: str
    uid: str
    tier: QoSTier
    cpu_request_milli: int = 0
    cpu_limit_milli: int | None = None
    tier_from_label: bool = True
    priority: int = 0
    started_s: float | None = None
    cgroups: tuple[PurePosixPath, ...] = ()


@dataclass
class Measurements:
    """One round, arrays over the loop's nodes (in its order). CPU in millicores (mean
    since the previous round), memory in bytes; pressure as fractions of time (PSI
    avg10 / 100), `cpi` over its baseline, `slo_failing` 1/0 — each NaN where unknown.
    `room_elsewhere[i]`: the driver found room for node i's offline work elsewhere
    (None: nowhere known)."""

    now_s: float
    online_milli: np.ndarray
    offline_milli: np.ndarray
    system_milli: np.ndarray
    online_memory: np.ndarray
    offline_memory: np.ndarray
    system_memory: np.ndarray
    psi_cpu: np.ndarray
    psi_memory: np.ndarray
    psi_io: np.ndarray
    cpi: np.ndarray
    slo_failing: np.ndarray
    room_elsewhere: np.ndarray | None = None

    @classmethod
    def of(cls, n: int, now_s: float, **values: object) -> Measurements:
        """Every array NaN (memory 0) except those given; for drivers that know a few."""
        nan = {k: np.full(n, np.nan) for k in ("psi_cpu", "psi_memory", "psi_io", "cpi")}
        zeros = {
            k: np.zeros(n)
            for k in (
                "online_milli", "offline_milli", "system_milli",
                "online_memory", "offline_memory", "system_memory",
            )
        }  # fmt: skip
        base: dict[str, object] = {**nan, **zeros, "slo_failing": np.full(n, np.nan)}
        base.update(values)
        return cls(now_s=now_s, **base)  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class Transitioned:
    node: str
    old: Level
    new: Level
    reason: str


@dataclass(frozen=True, slots=True)
class Forbid:
    node: str
    on: bool
    reason: str


@dataclass(frozen=True, slots=True)
class Starving:
    node: str
    on: bool
    reason: str


@dataclass(frozen=True, slots=True)
class Apply:
    """The node's cgroup intents, and `own_cpus`: the cpus colo-agent's own threads
    belong on, the LS shared pool (off every pod's exclusive cores; None without a
    topology). Inside its pod the pod's cpuset already keeps it there; outside the pod
    tree only its driver can (`colo.linux.affinity`)."""

    node: str
    intents: tuple[Intent, ...]
    own_cpus: frozenset[int] | None = None


@dataclass(frozen=True, slots=True)
class Evict:
    node: str
    key: str
    uid: str
    reason: str


Command = Transitioned | Forbid | Starving | Apply | Evict


class ProtectionLoop:
    """The protection loop of the agents of `nodes` (see the module docstring).

    `cgroups=False` (the simulator) makes no `Apply` commands: the driver reads the
    box's size from `box_milli` instead."""

    def __init__(
        self,
        nodes: Sequence[ProtectedNode],
        options: ProtectionOptions | None = None,
        *,
        cgroups: bool = True,
    ) -> None:
        names = [n.name for n in nodes]
        if len(set(names)) != len(names):
            raise InvalidInput("node names repeat", obj="protection loop", field="nodes")
        self.options = opts = options or ProtectionOptions()
        self.nodes = list(nodes)
        self.node_names = names
        self._index = {name: i for i, name in enumerate(names)}
        self.cgroups = cgroups
        n = len(nodes)
        self.guard = Guard(n, opts.guard)
        self.box = Box(
            np.array([x.capacity_milli for x in nodes], np.float64),
            np.array([x.memory_bytes for x in nodes], np.float64),
            opts.box,
        )
        self._allocators: list[CPUAllocator | None] = [
            CPUAllocator(x.topology, reserved_cpus=x.reserved_cpus, options=opts.cpus)
            if x.topology is not None and opts.cpusets and cgroups
            else None
            for x in nodes
        ]
        self.assignments: list[CPUAssignment | None] = [None] * n
        self._pods: list[tuple[ProtectedPod, ...]] = [()] * n
        self._kubelet: list[KubeletCPUState | None] = [None] * n
        self.offline_pods = np.zeros(n, np.int64)
        self.measured: Measurements | None = None
        self.sized: Sized | None = None
        self.forbidden = np.zeros(n, bool)
        self.starving = np.zeros(n, bool)
        self._starved_since = np.full(n, np.nan)
        self._evicting: list[set[str]] = [set() for _ in range(n)]
        self._starved_keys: set[str] = set()  # evictions asked for starvation
        self.last_reason = [""] * n
        self.last_at: float | None = None
        # counts, for metrics
        self.ticks = 0
        self.transitions = 0
        self.evictions = 0
        self.eviction_failures = 0
        self.starvation_evictions = 0

    # --- inputs ----------------------------------------------------------------------
    def node_index(self, name: str) -> int:
        i = self._index.get(name)
        if i is None:
            raise KeyError(f"node {name!r} is not one of this loop's nodes")
        return i

    def set_pods(
        self,
        node: str,
        pods: Sequence[ProtectedPod],
        *,
        kubelet: KubeletCPUState | None = None,
    ) -> None:
        """The pods on `node` now; `kubelet`: its static CPU manager's checkpoint."""
        i = self.node_index(node)
        self._pods[i] = tuple(sorted(pods, key=lambda p: p.key))
        self._kubelet[i] = kubelet
        self.offline_pods[i] = sum(p.tier is QoSTier.BE for p in pods)
        keys = {p.key for p in pods}
        self._evicting[i] &= keys

    def adopt(
        self,
        node: str,
        *,
        box_milli: float | None,
        pod_cpus: Mapping[str, frozenset[int]],
    ) -> list[str]:
        """What `node`'s cgroups hold now, told once before the first `tick` by a driver
        that (re)starts on a node an agent may have governed before: the box's cpu limit
        (`box_milli`; None: none, as the kubelet leaves it) and the cpusets of its pods
        (uid → cpus). The loop carries on from them instead of starting over: the box
        from its quota rather than the floor (an agent back from a crash neither starves
        offline work nor grants it more than the rule allows), and every LSE and LSR pod
        keeps its cpus where they are still valid (whole cores, the right count, free),
        so a restart moves no pod. Call after `set_pods`. Returns what was adopted, for
        the log."""
        i = self.node_index(node)
        notes: list[str] = []
        if box_milli is not None:
            kept = self.box.adopt(i, box_milli)
            notes.append(f"box cpu {kept:.0f}m (found {box_milli:.0f}m)")
        allocator = self._allocators[i]
        if allocator is None or self.assignments[i] is not None:
            return notes
        node_cpus = allocator.layout.cpus
        exclusive: dict[str, PodCPUs] = {}
        for pod in self._pods[i]:
            cpus = pod_cpus.get(pod.uid)
            if pod.tier not in (QoSTier.LSE, QoSTier.LSR) or not cpus or cpus >= node_cpus:
                continue  # a cpuset as wide as the node is the kubelet's, not a placement
            numa = allocator.layout.numa_nodes_of(cpus & node_cpus)
            exclusive[pod.uid] = PodCPUs(pod.uid, pod.key, pod.tier, cpus, numa)
            notes.append(f"{pod.tier} pod {pod.key} on cpus {format_cpuset(cpus)}")
        if exclusive:
            # Only `exclusive` of a previous assignment is read: the allocator checks
            # each pod's cpus as it would its own and places afresh what fails.
            self.assignments[i] = CPUAssignment(
                exclusive=exclusive, shared=frozenset(), be=frozenset(),
                reserved=frozenset(), kubelet={}, refusals=(), notes=(),
            )  # fmt: skip
        return notes

    def set_offline_counts(self, counts: np.ndarray) -> None:
        """Offline pods per node, for drivers that track only counts (the simulator)."""
        self.offline_pods = np.asarray(counts, np.int64).copy()

    def observe(self, m: Measurements) -> None:
        n = len(self.nodes)
        for name in ("online_milli", "offline_milli", "system_milli"):
            if np.shape(getattr(m, name)) != (n,):
                raise ValueError(f"measurements must be arrays of {n} nodes ({name})")
        self.measured = m

    def signals(self) -> Signals:
        """The guard's signals from the last measurements (see `colo.agent.guard`): `cpu`
        is what runs outside the offline box (online + system), since the box is sized
        to fill the rest."""
        m = self.measured
        n = len(self.nodes)
        if m is None:
            return Signals.unavailable(n)
        capacity = self.box.capacity
        return Signals(
            cpu=(m.online_milli + m.system_milli) / capacity,
            online=m.online_milli / capacity,
            psi_cpu=m.psi_cpu,
            psi_memory=m.psi_memory,
            psi_io=m.psi_io,
            cpi=m.cpi,
            slo_failing=m.slo_failing,
        )

    # --- deciding --------------------------------------------------------------------
    def tick(self, now_s: float) -> list[Command]:
        """One interval for every node (nothing before the first measurements)."""
        m = self.measured
        if m is None:
            return []
        self.ticks += 1
        self.last_at = now_s
        out: list[Command] = []
        transitions = self.guard.step(self.signals(), now_s)
        by_node: dict[int, Transition] = {t.node: t for t in transitions}
        self.transitions += len(transitions)
        level = self.guard.state.level
        # each node's cpus by tier first: the box may not get more than its cpus run
        allocated = [self._allocate(i) for i in range(len(self.nodes))] if self.cgroups else []
        self.sized = sized = self.box.size(
            now_s,
            online_milli=m.online_milli,
            system_milli=m.system_milli,
            level=level,
            online_memory=m.online_memory,
            system_memory=m.system_memory,
            offline_memory=m.offline_memory,
            ceiling_milli=self._box_ceiling(allocated) if allocated else None,
        )
        # on at FORBID, off only back at NORMAL: a node that forbade offline work takes
        # none again while its box is still squeezed (THROTTLE)
        forbid = (level >= Level.FORBID) | (self.forbidden & (level > Level.NORMAL))
        starved = self._starvation(now_s, sized.cpu_milli)
        changed = np.flatnonzero(
            (forbid != self.forbidden) | (starved != self.starving) | (level >= Level.EVICT)
            | self.starving
        )  # fmt: skip
        touched = set(by_node) | set(changed.tolist())
        for i in sorted(touched):
            name = self.node_names[i]
            t = by_node.get(i)
            if t is not None:
                self.last_reason[i] = t.reason
                out.append(Transitioned(name, t.old, t.new, t.reason))
            if forbid[i] != self.forbidden[i]:
                self.forbidden[i] = forbid[i]
                why = t.reason if t is not None else self.last_reason[i]
                out.append(Forbid(name, bool(forbid[i]), why))
            if starved[i] != self.starving[i]:
                self.starving[i] = starved[i]
                out.append(Starving(name, bool(starved[i]), self._starving_reason(i)))
            evict = self._evict(i, now_s)
            if evict is not None:
                out.append(evict)
        if self.cgroups:
            out.extend(self._apply(i, sized, allocated[i]) for i in range(len(self.nodes)))
        return out

    def _short(self, box_milli: np.ndarray, offline: np.ndarray) -> np.ndarray:
        """Per node: the box gives each of its offline pods less than `starve_milli`."""
        per_pod = np.divide(
            box_milli, offline, out=np.full(len(offline), np.inf), where=offline > 0
        )
        return np.asarray(per_pod < self.options.starve_milli)

    def may_evict_next(self, offline_counts: np.ndarray) -> np.ndarray:
        """Per node: whether the next tick could evict there (in EVICT; or in FORBID and
        calling for EVICT, or stepping up at once; starving; or a box already too small
        for `offline_counts` pods). A driver that tracks offline pods by count (the
        simulator) hands `set_pods` the pods of these nodes only."""
        st, up_now = self.guard.state, self.guard.options.up_after <= 1
        climbing = (st.level == Level.FORBID) & (up_now | (st.called >= Level.EVICT))
        counts = np.asarray(offline_counts)
        risky = (st.level >= Level.EVICT) | climbing | self.starving
        return np.asarray((risky | self._short(self.box.cpu_milli, counts)) & (counts > 0))

    def _starvation(self, now_s: float, box_milli: np.ndarray) -> np.ndarray:
        o = self.options
        short = self._short(box_milli, self.offline_pods)
        self._starved_since = np.where(
            short, np.where(np.isnan(self._starved_since), now_s, self._starved_since), np.nan
        )
        with np.errstate(invalid="ignore"):
            return np.asarray(now_s - self._starved_since >= o.starve_after_s)

    def _starving_reason(self, i: int) -> str:
        o = self.options
        if not self.starving[i]:
            return "offline work gets its share again"
        box = float(self.box.cpu_milli[i])
        return (
            f"the offline box gives {int(self.offline_pods[i])} offline pods {box:.0f}m "
            f"(< {o.starve_milli:.0f}m each) for {o.starve_after_s:.0f}s"
        )

    def _evict(self, i: int, now_s: float) -> Evict | None:
        guard = self.guard
        if not guard.cooldown_over(i, now_s):
            return None
        st = guard.state
        starved = False
        if st.level[i] >= Level.EVICT and st.called[i] >= Level.EVICT:
            why = f"interference: {self.last_reason[i] or 'the guard is in EVICT'}"
        elif st.level[i] >= Level.EVICT:
            return None  # the breach is over: calming down, not evicting
        elif self.starving[i] and self.measured is not None:
            room = self.measured.room_elsewhere
            if room is None or not bool(room[i]):
                return None  # starving, but nowhere better to go: keep it here
            why = f"starved: {self._starving_reason(i)}; room elsewhere in the cluster"
            starved = True
        else:
            return None
        victim = self._victim(i, now_s)
        if victim is None:
            return None
        if starved:
            self._starved_keys.add(victim.key)
        guard.evicted(i, now_s)
        self._evicting[i].add(victim.key)
        return Evict(self.node_names[i], victim.key, victim.uid, why)

    def _victim(self, i: int, now_s: float) -> ProtectedPod | None:
        """Lowest priority first, then least progress (the latest started), then by key."""
        candidates = [
            p for p in self._pods[i] if p.tier is QoSTier.BE and p.key not in self._evicting[i]
        ]
        if not candidates:
            return None

        def order(p: ProtectedPod) -> tuple[int, float, str]:
            started = now_s if p.started_s is None else p.started_s
            return (p.priority, -started, p.key)

        return min(candidates, key=order)

    def evicted(self, node: str, key: str, now_s: float, *, ok: bool) -> None:
        """The outcome of `Evict(node, key)`: a refused eviction (a disruption budget, the
        pod gone) lets the next cooldown pick again."""
        i = self.node_index(node)
        if ok:
            self.evictions += 1
            if key in self._starved_keys:
                self.starvation_evictions += 1
            self._starved_keys.discard(key)
            return
        self._starved_keys.discard(key)
        self.eviction_failures += 1
        self._evicting[i].discard(key)

    # --- the intents ------------------------------------------------------------------
    def _allocate(self, i: int) -> tuple[CPUAssignment, list[CPUPod]] | None:
        """Node `i`'s cpus by tier for this interval, and the pods as the allocator saw
        them (None: a node without a topology)."""
        allocator = self._allocators[i]
        if allocator is None:
            return None
        pods = [self._cpu_pod(p) for p in self._pods[i]]
        self.assignments[i] = assignment = allocator.allocate(
            pods, previous=self.assignments[i], kubelet=self._kubelet[i]
        )
        return assignment, pods

    def _box_ceiling(
        self, allocated: list[tuple[CPUAssignment, list[CPUPod]] | None]
    ) -> np.ndarray:
        """Per node, what the box's cpus can run: the BE cpuset's cpus × 1000 where this
        interval assigned one, else the node's capacity."""
        top = self.box.capacity.copy()
        for i, got in enumerate(allocated):
            if got is not None and got[0].be:
                top[i] = min(top[i], 1000.0 * len(got[0].be))
        return top

    def _apply(
        self, i: int, sized: Sized, allocated: tuple[CPUAssignment, list[CPUPod]] | None
    ) -> Apply:
        node, opts = self.nodes[i], self.options
        intents: list[Intent] = []
        be_cpus: frozenset[int] | None = None
        own_cpus: frozenset[int] | None = None
        if allocated is not None:
            assignment, pods = allocated
            be_cpus = assignment.be or None
            own_cpus = assignment.shared or None
            for pod, cpu_pod in zip(self._pods[i], pods, strict=True):
                own = assignment.exclusive.get(cpu_pod.uid)
                if own is not None and own.owner == "kubelet":
                    continue  # the kubelet's static CPU manager keeps these
                if pod.tier is QoSTier.BE and be_cpus is None:
                    continue
                cpus = assignment.cpuset_of(cpu_pod)
                if not cpus:
                    continue
                intents.extend(CgroupIntent(c, cpuset_cpus=cpus) for c in pod.cgroups)
        period = opts.box.period_us
        box = CgroupIntent(
            node.box,
            cpu_quota_us=int(sized.quota_us[i]),
            cpu_period_us=period,
            cpu_idle=True if opts.box_idle else None,
            cpu_weight=None if opts.box_idle else 1,
            memory_limit=int(sized.memory_bytes[i]) if opts.box_memory else None,
            cpuset_cpus=be_cpus,
        )
        intents.insert(0, box)
        if opts.box_memory and bool(sized.reclaim[i]):
            intents.append(ReclaimIntent(node.box))
        return Apply(node.name, tuple(intents), own_cpus)

    @staticmethod
    def _cpu_pod(p: ProtectedPod) -> CPUPod:
        return CPUPod(
            uid=p.uid,
            name=p.key,
            tier=p.tier,
            cpu_request_milli=p.cpu_request_milli,
            cpu_limit_milli=p.cpu_limit_milli,
            tier_from_label=p.tier_from_label,
        )

    # --- what it says of itself -----------------------------------------------------------
    @property
    def box_milli(self) -> np.ndarray:
        """The box's cpu per node as of the last tick (millicores)."""
        return self.box.cpu_milli

    def _box_why(self, i: int) -> dict[str, object]:
        """What node `i`'s box was sized from in the last tick and which bound set it
        (`colo.agent.box.Bound`); empty before the first tick."""
        sized, m = self.sized, self.measured
        if sized is None or m is None:
            return {}
        return {
            "capacity_milli": round(float(self.box.capacity[i])),
            "online_milli": round(float(m.online_milli[i])),
            "system_milli": round(float(m.system_milli[i])),
            "throttled": bool(self.guard.state.level[i] >= Level.THROTTLE),
            "throttle_share": self.options.box.throttle_share,
            "target_milli": round(float(sized.target_milli[i])),
            "top_milli": round(float(sized.top_milli[i])),
            "grow_milli_per_s": self.options.box.grow_milli_per_s,
            "set_by": Bound(int(sized.bound[i])).label,
        }

    def explain(self, node: str) -> dict[str, object]:
        """The node's protection state as of the last tick (JSON-ready): guard level and
        why, signals, the box, forbid and starvation, cpu assignment lines."""
        i = self.node_index(node)
        s = self.signals()
        o = self.options
        signals = {
            name: (None if math.isnan(v) else round(v, 4))
            for name in ("cpu", "online", "psi_cpu", "psi_memory", "psi_io", "cpi", "slo_failing")
            for v in [float(getattr(s, name)[i])]
        }
        sized = self.sized
        out: dict[str, object] = {
            "level": Level(int(self.guard.state.level[i])).name,
            "called_for": Level(int(self.guard.state.called[i])).name,
            "reason": self.last_reason[i],
            "signals": signals,
            "box": {
                "cpu_milli": round(float(self.box.cpu_milli[i])),
                "quota_us": int(sized.quota_us[i]) if sized is not None else None,
                "period_us": o.box.period_us,
                "memory_bytes": int(sized.memory_bytes[i]) if sized is not None else None,
                "target_util": o.box.target_util,
                "floor_milli": o.box.floor_milli,
                **self._box_why(i),
            },
            "forbidden": bool(self.forbidden[i]),
            "starving": bool(self.starving[i]),
            "offline_pods": int(self.offline_pods[i]),
        }
        a = self.assignments[i]
        if a is not None:
            out["cpus"] = a.explain()
            if a.kubelet:
                owned = format_cpuset(frozenset().union(*a.kubelet.values()))
                out["kubelet_static"] = (
                    f"the kubelet's static CPU manager owns cpus {owned}: colo leaves them alone"
                )
        return out


def explain_lines(state: Mapping[str, object]) -> list[str]:
    """`ProtectionLoop.explain`'s dict as lines for `colo explain node`."""
    lines = [f"guard: {state.get('level')} (signals call for {state.get('called_for')})"]
    if state.get("reason"):
        lines.append(f"  last change: {state['reason']}")
    box = state.get("box")
    if isinstance(box, Mapping):
        lines.append(
            f"offline box: {box.get('cpu_milli')}m cpu (quota {box.get('quota_us')}us per "
            f"{box.get('period_us')}us), memory {box.get('memory_bytes')} bytes; target "
            f"{box.get('target_util')} of the node, floor {box.get('floor_milli')}m"
        )
        sizing = _box_sizing(box)
        if sizing:
            lines.append(f"  sized: {sizing}")
    signals = state.get("signals")
    if isinstance(signals, Mapping):
        known = ", ".join(f"{k} {v}" for k, v in signals.items() if v is not None)
        lines.append(f"signals: {known or 'none measured'}")
    if state.get("forbidden"):
        lines.append("new offline pods: forbidden (batch capacity published as zero)")
    if state.get("starving"):
        lines.append(f"starving its {state.get('offline_pods')} offline pods")
    if state.get("kubelet_static"):
        lines.append(str(state["kubelet_static"]))
    cpus = state.get("cpus")
    if isinstance(cpus, list):
        lines.extend(f"cpus: {line}" for line in cpus)
    return lines


def _box_sizing(box: Mapping[str, object]) -> str:
    """How the box got its size, in words: the target's terms, then the bound that set it
    ("" when the state lacks them, as an agent's before 2026-12-07 does, or names a bound
    this version does not know)."""
    try:
        target = (
            f"capacity {box['capacity_milli']}m × {box['target_util']} − online "
            f"{box['online_milli']}m − system {box['system_milli']}m"
        )
        if box["throttled"]:
            target = f"({target}) × {box['throttle_share']} while throttling"
        why = {
            "target": "the box is the target",
            "growth limit": f"growing toward it at {_num(box['grow_milli_per_s'])}m per second",
            "floor": f"below the floor: held at {_num(box['floor_milli'])}m",
            "cpus": (
                f"above what its cpus run: held at {box['top_milli']}m"
                if box["top_milli"] != box["capacity_milli"]
                else f"above the node's capacity: held at {box['top_milli']}m"
            ),
        }.get(str(box["set_by"]))
        return f"{target} = target {box['target_milli']}m; {why}" if why else ""
    except KeyError:
        return ""


def _num(value: object) -> str:
    """A number as short as it reads (1000.0 → 1000); anything else as it is."""
    return f"{value:g}" if isinstance(value, int | float) else str(value)

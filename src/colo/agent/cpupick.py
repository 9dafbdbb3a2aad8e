"""Which cpus an exclusive pod gets: whole cores, one NUMA node if it fits, few sockets (pure).

Two pickers, both deterministic (every tie goes to the lowest id):

- `pick_whole_cores` (LSE): `count` physical cores all of whose hardware threads are free,
  never a lone thread. This is the kubelet static CPU manager with `full-pcpus-only`
  (pkg/kubelet/cm/cpumanager/policy_static.go): a core with any thread taken — by another
  pod, by the kubelet, or reserved for the system — is not free, so the siblings of reserved
  cpus are never handed out either.
- `pick_threads` (LSR): `count` cpus, whole free cores first and the remainder as single
  threads, filling cores that are already partly taken before breaking a free one. This is
  the static policy without `full-pcpus-only`, and Koordinator's default `FullPCPUs` bind
  policy, which prefers whole cores but continues with threads when they run out.

Where, in both: the cpus come from as few NUMA nodes as possible, then from as few sockets
as possible within each node (`plan`): if one node can hold them all, the node with the
*fewest* free units that still fits (best fit, kubelet's `takeByTopologyNUMAPacked`,
Koordinator's `MostAllocated` NUMA strategy), which keeps large free blocks for large pods;
otherwise nodes with the most free units first, the last one again best fit. Sockets
within a node are chosen the same way, and cores within a socket in ascending id order.
Splitting across NUMA nodes picks nodes by their free units alone; it does not try to keep
the nodes on one socket (on every machine in the test fixtures a NUMA node holds whole
sockets, so there is nothing to choose).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Set
from dataclasses import dataclass

from colo.core.topology import CPUTopology


@dataclass(frozen=True, slots=True)
class Layout:
    """A topology indexed for picking: core → cpus, cpu → core, NUMA → socket → cores."""

    cpus: frozenset[int]
    #: hardware threads per core: the largest core's (a core with fewer is never "whole")
    smt: int
    core_cpus: Mapping[int, tuple[int, ...]]
    cpu_core: Mapping[int, int]
    cpu_numa: Mapping[int, int]
    cpu_socket: Mapping[int, int]
    #: NUMA node → socket → its cores in that node (ascending); nodes and sockets ascending
    numa_socket_cores: Mapping[int, Mapping[int, tuple[int, ...]]]

    @classmethod
    def of(cls, topology: CPUTopology) -> Layout:
        core_cpus = dict(topology.physical_cores)
        info = {cpu: topology.info(cpu) for cpu in sorted(topology.cpus)}
        tree: dict[int, dict[int, list[int]]] = {}
        for core, cpus in core_cpus.items():
            first = info[cpus[0]]
            tree.setdefault(first.numa, {}).setdefault(first.socket, []).append(core)
        return cls(
            cpus=topology.cpus,
            smt=max((len(c) for c in core_cpus.values()), default=1),
            core_cpus=core_cpus,
            cpu_core={cpu: i.core for cpu, i in info.items()},
            cpu_numa={cpu: i.numa for cpu, i in info.items()},
            cpu_socket={cpu: i.socket for cpu, i in info.items()},
            numa_socket_cores={
                n: {s: tuple(sorted(cores)) for s, cores in sorted(socks.items())}
                for n, socks in sorted(tree.items())
            },
        )

    def cores_of(self, cpus: Iterable[int]) -> frozenset[int]:
        """The physical cores `cpus` touch."""
        return frozenset(self.cpu_core[c] for c in cpus)

    def whole_cores_cpus(self, cpus: Iterable[int]) -> frozenset[int]:
        """Every thread of every core `cpus` touch (their hyperthread siblings included)."""
        return frozenset(c for core in self.cores_of(cpus) for c in self.core_cpus[core])

    def is_whole_cores(self, cpus: frozenset[int]) -> bool:
        """True when `cpus` is exactly a set of whole cores of `smt` threads each."""
        return all(
            len(self.core_cpus[core]) == self.smt and all(c in cpus for c in self.core_cpus[core])
            for core in self.cores_of(cpus)
        )

    def numa_nodes_of(self, cpus: Iterable[int]) -> tuple[int, ...]:
        return tuple(sorted({self.cpu_numa[c] for c in cpus}))


@dataclass(frozen=True, slots=True)
class Shortfall:
    """Why a pick failed: the free units (whole cores, or cpus) per NUMA node, and the rule."""

    #: "cores" or "cpus": what `free` counts
    unit: str
    needed: int
    free: Mapping[int, int]
    #: True when enough was free in total but not on one NUMA node (single-numa-node policy)
    numa: bool = False

    @property
    def total_free(self) -> int:
        return sum(self.free.values())


def plan(counts: Mapping[int, int], need: int) -> list[tuple[int, int]] | None:
    """How many units to take from which groups (group ascending), or None if too few.

    The fewest groups: one if any holds `need` — the one with the fewest units that fits,
    ties to the lowest id; else groups by most units first (ties to the lowest id) until the
    remainder fits one group, which is again chosen best fit among the rest.
    """
    if need <= 0:
        return []
    fitting = [g for g, n in counts.items() if n >= need]
    if fitting:
        return [(min(fitting, key=lambda g: (counts[g], g)), need)]
    if sum(counts.values()) < need:
        return None
    taken: list[tuple[int, int]] = []
    rest = dict(counts)
    remaining = need
    while remaining:
        fits = [g for g, n in rest.items() if n >= remaining]
        if fits:
            last = min(fits, key=lambda g: (rest[g], g))
            taken.append((last, remaining))
            break
        largest = min(rest, key=lambda g: (-rest[g], g))
        taken.append((largest, rest[largest]))
        remaining -= rest.pop(largest)
    return sorted(taken)


def _free_cores(layout: Layout, available: Set[int]) -> dict[int, dict[int, list[int]]]:
    """NUMA → socket → cores (ascending) whose `smt` threads are all in `available`."""
    smt = layout.smt
    free: dict[int, dict[int, list[int]]] = {}
    for numa, sockets in layout.numa_socket_cores.items():
        per_socket: dict[int, list[int]] = {}
        for socket, cores in sockets.items():
            whole = [
                core
                for core in cores
                if len(cpus := layout.core_cpus[core]) == smt and all(c in available for c in cpus)
            ]
            if whole:
                per_socket[socket] = whole
        free[numa] = per_socket
    return free


def _take_cores(per_socket: Mapping[int, list[int]], count: int) -> list[int]:
    """`count` cores of one NUMA node from the fewest sockets (`plan`), lowest ids first."""
    chosen: list[int] = []
    for socket, q in plan({s: len(cores) for s, cores in per_socket.items()}, count) or ():
        chosen.extend(per_socket[socket][:q])
    return chosen


def pick_whole_cores(
    layout: Layout, available: Set[int], count: int, *, single_numa: bool = False
) -> frozenset[int] | Shortfall:
    """The cpus of `count` whole free cores (see the module docstring), or why not."""
    free = _free_cores(layout, available)
    counts = {n: sum(len(cores) for cores in socks.values()) for n, socks in free.items()}
    chosen_plan = plan(counts, count)
    if chosen_plan is None or (single_numa and len(chosen_plan) > 1):
        return Shortfall("cores", count, counts, numa=chosen_plan is not None)
    cpus: list[int] = []
    for numa, q in chosen_plan:
        for core in _take_cores(free[numa], q):
            cpus.extend(layout.core_cpus[core])
    return frozenset(cpus)


def pick_threads(
    layout: Layout, available: Set[int], count: int, *, single_numa: bool = False
) -> frozenset[int] | Shortfall:
    """`count` cpus: whole free cores first, then threads of partly taken cores, or why not."""
    by_numa: dict[int, list[int]] = {n: [] for n in layout.numa_socket_cores}
    for cpu in sorted(available):
        by_numa[layout.cpu_numa[cpu]].append(cpu)
    counts = {n: len(cpus) for n, cpus in by_numa.items()}
    chosen_plan = plan(counts, count)
    if chosen_plan is None or (single_numa and len(chosen_plan) > 1):
        return Shortfall("cpus", count, counts, numa=chosen_plan is not None)
    free = _free_cores(layout, available)
    picked: set[int] = set()
    for numa, q in chosen_plan:
        whole = min(q // layout.smt, sum(len(c) for c in free[numa].values()))
        cores = _take_cores(free[numa], whole)
        for core in cores:
            picked.update(layout.core_cpus[core])
        remainder = q - whole * layout.smt
        if not remainder:
            continue
        sockets = {layout.cpu_socket[layout.core_cpus[core][0]] for core in cores}
        left = [c for c in by_numa[numa] if c not in picked]
        free_threads: dict[int, int] = {}
        for cpu in left:
            core = layout.cpu_core[cpu]
            free_threads[core] = free_threads.get(core, 0) + 1
        # Threads of the sockets already used first, then of the cores with the fewest
        # free threads (fill a partly taken core before breaking a free one), then by id.
        left.sort(
            key=lambda c: (
                layout.cpu_socket[c] not in sockets,
                free_threads[layout.cpu_core[c]],
                layout.cpu_socket[c],
                layout.cpu_core[c],
                c,
            )
        )
        picked.update(left[:remainder])
    return frozenset(picked)

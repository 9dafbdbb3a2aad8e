"""CPU tiers: which cpus each pod on a node may run on (pure; no I/O, no clock).

Given the node's `CPUTopology`, the cpus reserved for the system, its pods (tier, cpu
request and limit), the kubelet's CPU manager state and the previous assignment,
`CPUAllocator.allocate` returns a `CPUAssignment`:

| tier | gets | rule (source) |
|---|---|---|
| LSE | its own whole physical cores | exclusive, shared with no pod of any tier (1) |
| LSR | its own cpus, whole cores first | exclusive against LS/LSR/LSE; BE may use them (2) |
| LS, SYSTEM | the shared pool | every cpu no pod holds exclusively, reserved included (3) |
| BE | the BE cpuset | all but reserved cpus, the kubelet's and the cores of LSE pods (4) |

Sources: Koordinator's "Fine-grained CPU orchestration" proposal
(koordinator-sh/koordinator docs/proposals/scheduling/20220530-fine-grained-cpu-orchestration.md,
"Koordinator QoS CPU orchestration principles"), its koordlet (`calcBECPUSet` in
pkg/koordlet/qosmanager/plugins/cpusuppress/cpu_suppress.go) and the kubelet's static CPU
manager (k8s.io/kubernetes pkg/kubelet/cm/cpumanager/policy_static.go, cpu_assignment.go).

1. LSE: "The CPUs allocated by the LSE Pod are completely exclusive and MUST NOT be shared"
   (Koordinator). colo makes that hold for whole physical cores, as the kubelet's
   `full-pcpus-only` option does: an LSE pod gets `n / threads-per-core` whole cores, so its
   hyperthread siblings are its own, and a request that is not a multiple of the threads per
   core is refused as the kubelet refuses it (`SMTAlignmentError`: 3 cpus on a 2-thread
   machine is refused, not rounded up to 4 — the pod would pay for cpus it did not ask for).
2. LSR: "The CPUs allocated by the LSR Pod only can be shared with BE Pods" (Koordinator).
   Whole cores first, then single threads (`colo.agent.cpupick.pick_threads`).
3. "LS Pods bind the CPU shared pool, excluding CPUs allocated by LSE/LSR Pods"; "if kubelet
   reserved CPUs, the shared pool includes the reserved CPUs" (Koordinator; the kubelet's
   default cpuset is the same set). SYSTEM pods run there too. The allocator never hands out
   the pool's last cpu: a pod that would empty it is refused.
4. "BE Pods bind all CPUs in the node, excluding CPUs allocated by LSE Pods" (Koordinator);
   koordlet's `calcBECPUSet` also leaves out the cpus reserved for the system, and colo does
   too unless `CPUOptions.be_on_reserved`. colo also leaves out the LSE pods' whole cores
   (siblings of a cpu the kubelet pinned for an LSE pod included) and every cpu the kubelet
   pinned, since the kubelet keeps all other containers off those.

Requests (Koordinator: "The Request and Limit of LSE/LSR Pods MUST be equal and the CPU value
MUST be an integer multiple of 1000"): an LSE or LSR pod whose request is not positive, not
whole, or not equal to its limit is refused naming the field; so is a negative request or
limit in any tier. Refusals are values (`Refusal`), never exceptions: one bad pod does not
stop a node's allocation, and a refused pod runs in the shared pool until a later run can
place it (every run retries). Those rules are for tiers set by the `colo.io/qos` label. A pod
that is LSR only because `colo.core.qos` derived it (Guaranteed, unlabelled) is treated as the
kubelet's static policy treats a Guaranteed pod: pinned when its cpus are whole, else left in
the shared pool without a refusal. (Koordinator instead leaves unlabelled Guaranteed pods in
the shared pool; colo's tiers call them LSR, and pinning whole ones matches the kubelet.)

Placement (`colo.agent.cpupick`): one NUMA node when it fits (best fit), else the fewest
nodes, then the fewest sockets, ties to the lowest ids. `CPUOptions.numa_policy =
"single-numa-node"` refuses a pod that fits no single node, as the kubelet's topology
manager policy of that name does.

Stability: a pod keeps its cpus as long as it exists. The previous assignment is kept pod
by pod (in uid order) unless it can no longer be: its cpus left the node, became reserved
or the kubelet's, its request changed, or (LSE) they are not whole cores; then the pod is
placed again and `moves` says why. New pods are placed after every kept pod, LSE before
LSR, larger before smaller, then by uid, so the input's order does not matter.

The kubelet (`colo.agent.kubeletcpu`): when its CPU manager is `static`, the cpus in its
checkpoint are its own; colo allocates around them, a pod it placed keeps them (owner
"kubelet"), and a note says so ("kubelet static CPU manager owns cpus 4-7 for pod X").

Pods and their request rules are in `colo.agent.cpupods` (re-exported here).

Fast path: the assignment remembers its input; given back as `previous` with the same pods
(equal `CPUPod`s in the same order) and kubelet state, it is returned as it is.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from colo.agent.cpupick import Layout, Shortfall, pick_threads, pick_whole_cores
from colo.agent.cpupods import EXCLUSIVE_TIERS, CPUPod, Refusal, RefusalCode, check_pod
from colo.agent.kubeletcpu import KubeletCPUState, describe_owner
from colo.core.errors import InvalidInput
from colo.core.qos import QoSTier
from colo.core.topology import CPUTopology, format_cpuset

__all__ = [
    "EXCLUSIVE_TIERS",
    "CPUAllocator",
    "CPUAssignment",
    "CPUOptions",
    "CPUPod",
    "NUMAPolicy",
    "PodCPUs",
    "Refusal",
    "RefusalCode",
    "allocate_cpus",
]

NUMAPolicy = Literal["best-effort", "single-numa-node"]


@dataclass(frozen=True, slots=True)
class CPUOptions:
    #: "best-effort": one NUMA node when it fits, else the fewest; "single-numa-node": or refuse
    numa_policy: NUMAPolicy = "best-effort"
    #: let BE work use the cpus reserved for the system (Koordinator's proposal does; its
    #: koordlet does not)
    be_on_reserved: bool = False

    def __post_init__(self) -> None:
        if self.numa_policy not in ("best-effort", "single-numa-node"):
            raise InvalidInput(
                "unknown NUMA policy",
                obj="cpu options",
                field="numa_policy",
                value=self.numa_policy,
                expected="best-effort or single-numa-node",
            )


@dataclass(frozen=True, slots=True)
class PodCPUs:
    """One pod's exclusive cpus, and who placed them."""

    uid: str
    name: str
    tier: QoSTier
    cpus: frozenset[int]
    numa_nodes: tuple[int, ...]
    owner: Literal["colo", "kubelet"] = "colo"


@dataclass(frozen=True)
class CPUAssignment:
    """A node's cpus by tier. Equal assignments compare equal whatever input produced them."""

    #: pod uid → its exclusive cpus: LSE and LSR pods colo placed, and pods the kubelet pinned
    exclusive: Mapping[str, PodCPUs]
    #: the LS shared pool: every cpu no pod holds exclusively (reserved cpus included)
    shared: frozenset[int]
    #: the BE cpuset (rule 4 in the module docstring)
    be: frozenset[int]
    reserved: frozenset[int]
    #: every cpu the kubelet's static CPU manager pinned, by owner (pods colo may not know)
    kubelet: Mapping[str, frozenset[int]]
    #: ascending by pod uid
    refusals: tuple[Refusal, ...]
    #: explanations of the state: whose cpus the kubelet pinned, an empty BE cpuset
    notes: tuple[str, ...]
    #: what the run that made this assignment changed against the `previous` it was given:
    #: pods that could not keep their cpus, and why. An event, not state: not compared, so
    #: a re-run that keeps everything equals the run that moved a pod.
    moves: tuple[str, ...] = field(default=(), compare=False)
    key: object = field(default=None, compare=False, repr=False)

    def cpuset_of(self, pod: CPUPod) -> frozenset[int]:
        """The cpus `pod` may run on: its own if exclusive, else its tier's pool."""
        own = self.exclusive.get(pod.uid)
        if own is not None:
            return own.cpus
        return self.be if pod.tier is QoSTier.BE else self.shared

    def explain(self) -> list[str]:
        """Lines for `colo explain node`: every exclusive pod, refusal, note and pool."""
        lines = []
        for p in sorted(self.exclusive.values(), key=lambda p: (p.tier, p.name, p.uid)):
            by = " by the kubelet" if p.owner == "kubelet" else ""
            nodes = ",".join(map(str, p.numa_nodes))
            lines.append(f"{p.tier} pod {p.name}: cpus {format_cpuset(p.cpus)} (NUMA {nodes}){by}")
        lines.extend(f"refused: {r}" for r in self.refusals)
        lines.extend(self.notes)
        lines.extend(self.moves)
        lines.append(f"reserved for the system: {format_cpuset(self.reserved) or 'none'}")
        lines.append(f"LS shared pool: {format_cpuset(self.shared) or 'empty'}")
        lines.append(f"BE cpuset: {format_cpuset(self.be) or 'empty'}")
        return lines


class CPUAllocator:
    """One node's allocator: its topology, reserved cpus and options, indexed once."""

    __slots__ = ("_layout", "_options", "_reserved", "_signature", "_topology")

    def __init__(
        self,
        topology: CPUTopology,
        *,
        reserved_cpus: Iterable[int] = (),
        options: CPUOptions | None = None,
    ) -> None:
        reserved = frozenset(reserved_cpus)
        unknown = reserved - topology.cpus
        if unknown:
            raise InvalidInput(
                "reserved cpus not on the node",
                obj="node",
                field="reserved cpus",
                value=format_cpuset(unknown),
                expected=f"cpus among {format_cpuset(topology.cpus)}",
            )
        self._topology = topology
        self._layout = Layout.of(topology)
        self._reserved = reserved
        self._options = options or CPUOptions()
        self._signature = (topology, reserved, self._options)

    @property
    def layout(self) -> Layout:
        return self._layout

    def allocate(
        self,
        pods: Iterable[CPUPod],
        *,
        previous: CPUAssignment | None = None,
        kubelet: KubeletCPUState | None = None,
    ) -> CPUAssignment:
        """The node's assignment (rules in the module docstring). Duplicate uids: ValueError.

        Returns `previous` itself when the pods (equal, in the same order) and the kubelet
        state are those it was made from: nothing changed, and its `moves` are still those
        of the run that made it.
        """
        pods = tuple(pods)
        key = (self._signature, pods, kubelet)
        if previous is not None and previous.key == key:
            return previous
        return _Run(self._layout, self._reserved, self._options, pods, kubelet).assign(
            previous, key
        )


def allocate_cpus(
    topology: CPUTopology,
    pods: Iterable[CPUPod],
    *,
    reserved_cpus: Iterable[int] = (),
    previous: CPUAssignment | None = None,
    kubelet: KubeletCPUState | None = None,
    options: CPUOptions | None = None,
) -> CPUAssignment:
    """`CPUAllocator(topology, ...).allocate(pods, ...)` for a single call."""
    allocator = CPUAllocator(topology, reserved_cpus=reserved_cpus, options=options)
    return allocator.allocate(pods, previous=previous, kubelet=kubelet)


class _Run:
    """One allocation: the state it builds up while keeping and placing pods."""

    def __init__(
        self,
        layout: Layout,
        reserved: frozenset[int],
        options: CPUOptions,
        pods: Sequence[CPUPod],
        kubelet: KubeletCPUState | None,
    ) -> None:
        self.layout = layout
        self.reserved = reserved
        self.options = options
        self.pods = pods
        self.kubelet = kubelet
        self.holder: dict[int, str] = {}  # cpu → the name of who holds it exclusively
        self.exclusive: dict[str, PodCPUs] = {}
        self.refusals: list[Refusal] = []
        self.notes: list[str] = []

    def assign(self, previous: CPUAssignment | None, key: object) -> CPUAssignment:
        layout = self.layout
        by_uid: dict[str, CPUPod] = {}
        for pod in self.pods:
            if pod.uid in by_uid:
                raise ValueError(f"pod uid {pod.uid} given twice ({pod.name})")
            by_uid[pod.uid] = pod
        kubelet_cpus = self._kubelet_owned(by_uid)
        wanted: dict[str, int] = {}
        for pod in self.pods:
            if pod.uid in self.exclusive:
                continue  # the kubelet placed it
            need = check_pod(pod, layout.smt)
            if isinstance(need, Refusal):
                self.refusals.append(need)
            elif need is not None:
                wanted[pod.uid] = need
        kept_before = previous.exclusive if previous is not None else {}
        pending: list[CPUPod] = []
        moved: list[tuple[CPUPod, str]] = []
        for uid in sorted(wanted):
            pod, old = by_uid[uid], kept_before.get(uid)
            if old is None or old.owner != "colo":
                pending.append(pod)
                continue
            why = self._cannot_keep(pod, wanted[uid], old.cpus, kubelet_cpus)
            if why is None:
                self._hold(pod, old.cpus)
            else:
                moved.append(
                    (pod, f"pod {pod.name} could not keep cpus {format_cpuset(old.cpus)}: {why}")
                )
                pending.append(pod)
        pending.sort(key=lambda p: (p.tier is not QoSTier.LSE, -wanted[p.uid], p.uid))
        refused: list[CPUPod] = []
        for pod in pending:
            got = self._attempt(pod, wanted[pod.uid])
            if isinstance(got, Refusal):
                refused.append(pod)
            else:
                self._hold(pod, got)
        # A refusal describes the node as this run leaves it, which is what the next run
        # (keeping every pod placed here) sees when it retries: so re-running with this
        # assignment reproduces it, message included. Free cpus only shrank since the
        # first attempt, so the pod cannot fit now either.
        for pod in refused:
            got = self._attempt(pod, wanted[pod.uid])
            if isinstance(got, Refusal):
                self.refusals.append(got)
            else:  # not reachable (see above); keeping the placement is still correct
                self._hold(pod, got)
        shared = layout.cpus - self.holder.keys()
        lse_cores = layout.whole_cores_cpus(
            c for p in self.exclusive.values() if p.tier is QoSTier.LSE for c in p.cpus
        )
        be = layout.cpus - lse_cores - kubelet_cpus
        if not self.options.be_on_reserved:
            be -= self.reserved
        owners = self.kubelet.owners if self.kubelet is not None else ()
        if not be:
            self.notes.append("BE cpuset is empty: reserved cpus and LSE pods cover every core")
        return CPUAssignment(
            exclusive=dict(sorted(self.exclusive.items())),
            shared=frozenset(shared),
            be=be,
            reserved=self.reserved,
            kubelet={o.owner: o.cpus & layout.cpus for o in owners},
            refusals=tuple(sorted(self.refusals, key=lambda r: r.uid)),
            notes=tuple(self.notes),
            moves=tuple(
                f"{why}; now {format_cpuset(self.exclusive[p.uid].cpus)}"
                if p.uid in self.exclusive
                else f"{why}; now none (refused)"
                for p, why in moved
            ),
            key=key,
        )

    def _kubelet_owned(self, by_uid: Mapping[str, CPUPod]) -> frozenset[int]:
        """Hold every cpu the kubelet pinned; pods colo knows keep them as theirs."""
        if self.kubelet is None:
            return frozenset()
        layout, names = self.layout, {uid: p.name for uid, p in by_uid.items()}
        owned: set[int] = set()
        for owner in self.kubelet.owners:
            cpus = owner.cpus & layout.cpus
            self.notes.append(describe_owner(owner, names))
            if owner.cpus - layout.cpus:
                self.notes.append(
                    f"kubelet checkpoint names cpus {format_cpuset(owner.cpus - layout.cpus)} "
                    "that are not on the node; ignored"
                )
            name = names.get(owner.owner, f"uid {owner.owner}")
            for cpu in cpus:
                self.holder.setdefault(cpu, f"{name} (kubelet)")
            owned |= cpus
            pod = by_uid.get(owner.owner)
            if pod is not None and cpus:
                self.exclusive[pod.uid] = PodCPUs(
                    pod.uid, pod.name, pod.tier, cpus, layout.numa_nodes_of(cpus), "kubelet"
                )
        return frozenset(owned)

    def _cannot_keep(
        self, pod: CPUPod, need: int, cpus: frozenset[int], kubelet_cpus: frozenset[int]
    ) -> str | None:
        layout = self.layout
        if gone := cpus - layout.cpus:
            return f"cpus {format_cpuset(gone)} are not on the node"
        if len(cpus) != need:
            return f"its request changed from {len(cpus)} to {need} cpus"
        if taken := cpus & self.reserved:
            return f"cpus {format_cpuset(taken)} are now reserved for the system"
        if taken := cpus & kubelet_cpus:
            return f"the kubelet static CPU manager now owns cpus {format_cpuset(taken)}"
        if taken := cpus & self.holder.keys():
            return f"cpus {format_cpuset(taken)} are held by pod {self.holder[min(taken)]}"
        if pod.tier is QoSTier.LSE and not layout.is_whole_cores(cpus):
            return "an LSE pod needs whole cores and these are not"
        return None

    def _hold(self, pod: CPUPod, cpus: frozenset[int]) -> None:
        for cpu in cpus:
            self.holder[cpu] = pod.name
        numa = self.layout.numa_nodes_of(cpus)
        self.exclusive[pod.uid] = PodCPUs(pod.uid, pod.name, pod.tier, cpus, numa)

    def _attempt(self, pod: CPUPod, need: int) -> frozenset[int] | Refusal:
        """`need` cpus for `pod` from what is free now, or why not (nothing is held here)."""
        layout = self.layout
        pool = len(layout.cpus) - len(self.holder)
        if pool - need < 1:
            return self._refusal(
                pod,
                RefusalCode.SHARED_POOL,
                f"needs {need} cpus and the shared pool has {pool}: placing it would leave "
                "LS pods no cpu",
            )
        available = layout.cpus - self.holder.keys() - self.reserved
        single = self.options.numa_policy == "single-numa-node"
        if pod.tier is QoSTier.LSE:
            got = pick_whole_cores(layout, available, need // layout.smt, single_numa=single)
        else:
            got = pick_threads(layout, available, need, single_numa=single)
        return self._shortfall(pod, need, got) if isinstance(got, Shortfall) else got

    def _refusal(self, pod: CPUPod, code: RefusalCode, message: str) -> Refusal:
        return Refusal(pod.uid, pod.name, code, message)

    def _shortfall(self, pod: CPUPod, need: int, short: Shortfall) -> Refusal:
        per_node = ", ".join(f"NUMA {n}: {k}" for n, k in short.free.items())
        what = "whole cores" if short.unit == "cores" else "cpus"
        asked = (
            f"{short.needed} whole cores ({need} cpus)"
            if short.unit == "cores"
            else (f"{need} cpus")
        )
        if short.numa:
            largest = max(short.free.values(), default=0)
            return self._refusal(
                pod,
                RefusalCode.NO_NUMA_FIT,
                f"needs {asked} on one NUMA node (numa policy single-numa-node) but at most "
                f"{largest} free {what} are on any one node ({per_node})",
            )
        code = (
            RefusalCode.NOT_ENOUGH_CORES if short.unit == "cores" else RefusalCode.NOT_ENOUGH_CPUS
        )
        return self._refusal(
            pod,
            code,
            f"needs {asked} but only {short.total_free} free {what} are left ({per_node}; "
            f"reserved for the system: {format_cpuset(self.reserved) or 'none'})",
        )

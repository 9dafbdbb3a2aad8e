"""CPU topology of a node (sockets, NUMA nodes, physical cores, hardware threads) and cpusets.

A *cpu* is a logical CPU (a hardware thread, the number Linux shows in `/proc/cpuinfo`); a
*core* is a physical core holding one or more sibling cpus. Core ids here are unique across
the machine (Linux numbers `core_id` per socket; callers reading sysfs should make them unique,
e.g. by taking the lowest sibling's cpu id).

`CPUTopology.uniform` numbers cpus as Linux does on common x86 servers: with C physical cores
in total (socket-major), cpus 0..C-1 are the first thread of cores 0..C-1, cpus C..2C-1 their
second threads, and so on, so `siblings(0) == {0, C}`. Cores are split evenly across the NUMA
nodes of their socket, in order.

Cpuset lists are Linux's format (`cpuset.cpus`, `/sys/.../cpulist`): comma-separated ids and
inclusive ranges, `0-3,8,10-11`; the empty string is the empty set.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Set
from dataclasses import dataclass

from colo.core.errors import InvalidInput

CPUSET_EXPECTED = "a Linux cpu list like 0-3,8,10-11"


@dataclass(frozen=True, slots=True)
class CPUInfo:
    """One logical cpu: its id, physical core, socket and NUMA node (all ids >= 0)."""

    cpu: int
    core: int
    socket: int
    numa: int


class CPUTopology:
    """An immutable description of a node's cpus with placement queries (all deterministic)."""

    __slots__ = ("_by_cpu", "_core_cpus", "_core_numa", "_numa_cores", "_numa_cpus")

    def __init__(self, infos: Iterable[CPUInfo]) -> None:
        by_cpu: dict[int, CPUInfo] = {}
        core_home: dict[int, tuple[int, int]] = {}
        for info in infos:
            for name in ("cpu", "core", "socket", "numa"):
                value = getattr(info, name)
                if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                    raise InvalidInput(
                        "invalid cpu topology",
                        field=name,
                        value=value,
                        expected="a non-negative integer",
                    )
            if info.cpu in by_cpu:
                raise InvalidInput(
                    "duplicate cpu in topology",
                    field="cpu",
                    value=info.cpu,
                    expected="each cpu listed once",
                )
            home = core_home.setdefault(info.core, (info.socket, info.numa))
            if home != (info.socket, info.numa):
                raise InvalidInput(
                    "core spans sockets or NUMA nodes",
                    field="core",
                    value=info.core,
                    expected="all threads of a core on one socket and NUMA node",
                )
            by_cpu[info.cpu] = info
        core_cpus: dict[int, list[int]] = {}
        for cpu in sorted(by_cpu):
            core_cpus.setdefault(by_cpu[cpu].core, []).append(cpu)
        self._by_cpu = by_cpu
        self._core_cpus = {core: tuple(cpus) for core, cpus in sorted(core_cpus.items())}
        self._core_numa = {core: numa for core, (_, numa) in core_home.items()}
        numa_cores: dict[int, list[int]] = {}
        for core in self._core_cpus:
            numa_cores.setdefault(self._core_numa[core], []).append(core)
        self._numa_cores = {n: tuple(cores) for n, cores in sorted(numa_cores.items())}
        self._numa_cpus = {
            n: frozenset(c for core in cores for c in self._core_cpus[core])
            for n, cores in self._numa_cores.items()
        }

    @classmethod
    def from_cpus(cls, infos: Iterable[CPUInfo]) -> CPUTopology:
        return cls(infos)

    @classmethod
    def uniform(
        cls,
        sockets: int = 2,
        cores_per_socket: int = 16,
        threads_per_core: int = 2,
        numa_per_socket: int = 1,
    ) -> CPUTopology:
        """A symmetric machine with Linux-like numbering (see the module docstring)."""
        for name, value in (
            ("sockets", sockets),
            ("cores_per_socket", cores_per_socket),
            ("threads_per_core", threads_per_core),
            ("numa_per_socket", numa_per_socket),
        ):
            if value < 1:
                raise InvalidInput(
                    "invalid cpu topology", field=name, value=value, expected="a positive integer"
                )
        if cores_per_socket % numa_per_socket:
            raise InvalidInput(
                "invalid cpu topology",
                field="numa_per_socket",
                value=numa_per_socket,
                expected=f"a divisor of cores_per_socket ({cores_per_socket})",
            )
        cores_per_numa = cores_per_socket // numa_per_socket
        total_cores = sockets * cores_per_socket
        infos = []
        for thread in range(threads_per_core):
            for core in range(total_cores):
                socket, local = divmod(core, cores_per_socket)
                numa = socket * numa_per_socket + local // cores_per_numa
                infos.append(CPUInfo(thread * total_cores + core, core, socket, numa))
        return cls(infos)

    # -- queries ------------------------------------------------------------------------

    @property
    def cpus(self) -> frozenset[int]:
        return frozenset(self._by_cpu)

    @property
    def physical_cores(self) -> Mapping[int, tuple[int, ...]]:
        """Core id → its cpu ids (ascending), cores in ascending id order."""
        return dict(self._core_cpus)

    @property
    def numa_nodes(self) -> tuple[int, ...]:
        return tuple(self._numa_cores)

    @property
    def sockets(self) -> tuple[int, ...]:
        return tuple(sorted({info.socket for info in self._by_cpu.values()}))

    def info(self, cpu: int) -> CPUInfo:
        try:
            return self._by_cpu[cpu]
        except KeyError:
            raise InvalidInput(
                "unknown cpu",
                field="cpu",
                value=cpu,
                expected=f"one of {format_cpuset(self._by_cpu)}",
            ) from None

    def cpus_in_numa(self, numa: int) -> frozenset[int]:
        """Cpus of NUMA node `numa` (empty for an unknown node)."""
        return self._numa_cpus.get(numa, frozenset())

    def cores_in_numa(self, numa: int) -> tuple[int, ...]:
        return self._numa_cores.get(numa, ())

    def siblings(self, cpu: int) -> frozenset[int]:
        """All cpus of `cpu`'s physical core, `cpu` included."""
        return frozenset(self._core_cpus[self.info(cpu).core])

    def free_cores(self, available: Set[int], *, numa: int | None = None) -> tuple[int, ...]:
        """Cores (ascending) all of whose cpus are in `available`, optionally within `numa`."""
        cores = self._core_cpus if numa is None else self._numa_cores.get(numa, ())
        return tuple(core for core in cores if all(c in available for c in self._core_cpus[core]))

    def take_whole_cores(
        self, count: int, available: Set[int], *, numa: int | None = None
    ) -> frozenset[int] | None:
        """Cpus of `count` whole physical cores whose threads are all in `available`, or None.

        Choice (deterministic): with `numa` given, the lowest free cores of that node. Else
        if one NUMA node can hold all `count` cores, the node with the *fewest* free cores that
        still fits (best fit, ties → lowest id) keeps larger free blocks for later requests;
        otherwise nodes are used in order of most free cores (ties → lowest id) so the result
        spans as few nodes as possible. Within a node, lowest core ids first.
        """
        if count < 0:
            raise ValueError(f"count must be >= 0, got {count}")
        if count == 0:
            return frozenset()
        if numa is not None:
            chosen = self.free_cores(available, numa=numa)[:count]
            return self._cpus_of(chosen) if len(chosen) == count else None
        by_numa = {n: self.free_cores(available, numa=n) for n in self._numa_cores}
        fitting = [n for n, cores in by_numa.items() if len(cores) >= count]
        if fitting:
            best = min(fitting, key=lambda n: (len(by_numa[n]), n))
            return self._cpus_of(by_numa[best][:count])
        if sum(len(cores) for cores in by_numa.values()) < count:
            return None
        picked: list[int] = []
        for n in sorted(by_numa, key=lambda n: (-len(by_numa[n]), n)):
            picked.extend(by_numa[n][: count - len(picked)])
            if len(picked) == count:
                break
        return self._cpus_of(picked)

    def _cpus_of(self, cores: Iterable[int]) -> frozenset[int]:
        return frozenset(c for core in cores for c in self._core_cpus[core])

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CPUTopology) and self._by_cpu == other._by_cpu

    def __hash__(self) -> int:
        return hash(frozenset(self._by_cpu.values()))

    def __repr__(self) -> str:
        return (
            f"CPUTopology(cpus={len(self._by_cpu)}, cores={len(self._core_cpus)}, "
            f"numa_nodes={len(self._numa_cores)})"
        )


def parse_cpuset(text: str, *, obj: str | None = None, field: str = "cpuset") -> frozenset[int]:
    """The cpu ids in a Linux cpu list (`0-3,8,10-11`); surrounding whitespace is ignored.

    Raises InvalidInput for anything else: `3-1`, `1,,2`, `a`, `-1`, `1-`, ...
    """
    if not isinstance(text, str):
        raise InvalidInput(
            "invalid cpu list", obj=obj, field=field, value=text, expected=CPUSET_EXPECTED
        )
    stripped = text.strip()
    if not stripped:
        return frozenset()
    cpus: set[int] = set()
    for part in stripped.split(","):
        low_text, dash, high_text = part.partition("-")
        if not _is_number(low_text) or (dash and not _is_number(high_text)):
            raise InvalidInput(
                "invalid cpu list", obj=obj, field=field, value=text, expected=CPUSET_EXPECTED
            )
        low = int(low_text)
        high = int(high_text) if dash else low
        if high < low:
            raise InvalidInput(
                "invalid cpu range",
                obj=obj,
                field=field,
                value=text,
                expected="ranges written low-high, e.g. 0-3",
            )
        cpus.update(range(low, high + 1))
    return frozenset(cpus)


def _is_number(text: str) -> bool:
    # ASCII digits only (str.isdigit accepts other scripts), and a sane length.
    return 0 < len(text) <= 9 and text.isascii() and text.isdigit()


def format_cpuset(cpus: Iterable[int]) -> str:
    """The Linux cpu list of `cpus`: ascending, runs of 2+ as `a-b` (`{0,1,2,5}` → `0-2,5`)."""
    ordered = sorted(set(cpus))
    parts: list[str] = []
    i = 0
    while i < len(ordered):
        j = i
        while j + 1 < len(ordered) and ordered[j + 1] == ordered[j] + 1:
            j += 1
        parts.append(str(ordered[i]) if i == j else f"{ordered[i]}-{ordered[j]}")
        i = j + 1
    return ",".join(parts)


class CPUSet:
    """Namespace for cpuset list conversions: `CPUSet.parse("0-3")`, `CPUSet.format({0, 1})`."""

    parse = staticmethod(parse_cpuset)
    format = staticmethod(format_cpuset)

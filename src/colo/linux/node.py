"""What the node agent reads of the node itself: cpu time, memory, cpu topology, and the
kubelet's CPU manager checkpoint (the cgroups are `colo.linux.cgroups`').

- `read_cpu_busy_ns`: cpu time every cpu spent busy since boot (/proc/stat's `cpu` line:
  everything but idle and iowait; guest time is already inside user), in ns.
- `read_cpu_kernel_ns`: the part of it no task's run time holds: interrupts, softirqs
  and steal (/proc/stat's irq, softirq and steal), in ns. The agent adds it to the
  tasks' time from the root cgroup, which the scheduler counts exactly; /proc/stat's
  user and system are sampled at the tick and can be far off (`node_busy_reader` says
  how far).
- `node_busy_reader`: the node's busy time as colo-agent reads it, the two together.
- `read_memory`: total and used bytes (/proc/meminfo: MemTotal − MemAvailable, what
  the kernel could not give a new process without swapping).
- `read_topology`: the cpus, their physical cores, sockets and NUMA nodes from sysfs
  (`/sys/devices/system/cpu/cpu*/topology`, `/sys/devices/system/node/node*/cpulist`).
  Linux numbers `core_id` per socket; colo's core ids are unique on the machine, so a
  core is named by its lowest sibling cpu.
- `read_kubelet_cpu_state`: the static CPU manager's checkpoint, or None when the file
  is not there or the policy is not `static` (the kubelet's default, `none`, pins nothing).

Files that cannot be read are `Retryable` faults naming the file; malformed content is
`InvalidInput` naming the file and what was expected.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from colo.agent.kubeletcpu import CPU_MANAGER_STATE_PATH, KubeletCPUState, parse_kubelet_cpu_state
from colo.core.errors import InvalidInput, Retryable
from colo.core.topology import CPUInfo, CPUTopology, parse_cpuset

if TYPE_CHECKING:
    from colo.linux.cgroups import LinuxCgroups

log = logging.getLogger(__name__)

#: /proc/stat's cpu fields: user nice system idle iowait irq softirq steal guest guest_nice
_IDLE_FIELDS = (3, 4)
_BUSY_FIELDS = 8  # user..steal; guest and guest_nice are already counted in user and nice
_KERNEL_FIELDS = (5, 6, 7)  # irq, softirq, steal: time no task's run time holds


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise
    except OSError as e:
        raise Retryable(f"cannot read {path}: {e.strerror or e}") from None


def _cpu_ticks(proc: str | Path) -> list[int]:
    """/proc/stat's aggregate `cpu` line: user, nice, system, idle, iowait, irq, softirq
    and steal, in ticks (0 for a field an old kernel does not have)."""
    path = Path(proc) / "stat"
    for line in _read(path).splitlines():
        if line.startswith("cpu "):
            try:
                ticks = [int(x) for x in line.split()[1 : 1 + _BUSY_FIELDS]]
            except ValueError:
                break
            return ticks + [0] * (_BUSY_FIELDS - len(ticks))
    raise InvalidInput(
        "no readable aggregate cpu line", obj=str(path), field="cpu",
        expected="a line 'cpu  user nice system idle iowait irq softirq steal ...'",
    )  # fmt: skip


def read_cpu_busy_ns(proc: str | Path = "/proc") -> int:
    """Busy cpu time of every cpu together since boot, in nanoseconds."""
    ticks = _cpu_ticks(proc)
    busy = sum(t for i, t in enumerate(ticks) if i not in _IDLE_FIELDS)
    return busy * 1_000_000_000 // os.sysconf("SC_CLK_TCK")


def read_cpu_kernel_ns(proc: str | Path = "/proc") -> int:
    """Interrupt, softirq and steal time of every cpu together since boot, in ns."""
    ticks = _cpu_ticks(proc)
    return sum(ticks[i] for i in _KERNEL_FIELDS) * 1_000_000_000 // os.sysconf("SC_CLK_TCK")


def node_busy_reader(cgroups: LinuxCgroups, proc_root: str | Path = "/proc") -> Callable[[], int]:
    """The node's busy cpu time since boot, ns: every task's run time from the node's root
    cgroup, as the scheduler counts it, plus the interrupt, softirq and steal time of
    /proc/stat. Not /proc/stat's busy time alone: its user and system are sampled at the
    tick, and next to an offline box throttled every 10 ms they were 0.4-0.55 core off,
    too high or too low, on a 2-cpu node (6.18 kernel, docs/agent.md), which the box
    lost or gained as "system" use. Where the root cgroup cannot be read at the first
    call, /proc/stat's busy time is used from then on (said once); the source never
    changes between two reads, so no rate mixes the two."""
    exact: list[bool] = []  # the source, chosen at the first call

    def read() -> int:
        tasks = None if exact and not exact[0] else cgroups.node_task_ns()
        if not exact:
            exact.append(tasks is not None)
            if tasks is None:
                log.warning(
                    "the node's root cgroup has no readable cpu time; the node's busy cpu "
                    "is read from /proc/stat, which samples it at the tick"
                )
        if not exact[0]:
            return read_cpu_busy_ns(proc_root)
        if tasks is None:
            raise Retryable("cannot read the node's root cgroup cpu time")
        return tasks + read_cpu_kernel_ns(proc_root)

    return read


def read_memory(proc: str | Path = "/proc") -> tuple[int, int]:
    """(total, used) bytes: MemTotal and MemTotal − MemAvailable."""
    path = Path(proc) / "meminfo"
    values: dict[str, int] = {}
    for line in _read(path).splitlines():
        name, _, rest = line.partition(":")
        parts = rest.split()
        if name in ("MemTotal", "MemAvailable") and parts and parts[0].isdigit():
            values[name] = int(parts[0]) * 1024  # kB
    if "MemTotal" not in values or "MemAvailable" not in values:
        raise InvalidInput(
            "MemTotal or MemAvailable missing", obj=str(path), field="MemAvailable",
            expected="lines 'MemTotal: N kB' and 'MemAvailable: N kB' (kernels >= 3.14)",
        )  # fmt: skip
    total = values["MemTotal"]
    return total, max(0, total - values["MemAvailable"])


_CPU_DIR = re.compile(r"^cpu(\d+)$")
_NODE_DIR = re.compile(r"^node(\d+)$")


def read_topology(sys_root: str | Path = "/sys") -> CPUTopology:
    """The online cpus' layout from sysfs (see the module docstring)."""
    root = Path(sys_root)
    cpu_root = root / "devices/system/cpu"
    online_file = cpu_root / "online"
    online = parse_cpuset(_read(online_file).strip(), obj=str(online_file))
    numa_of: dict[int, int] = {}
    node_root = root / "devices/system/node"
    if node_root.is_dir():
        for entry in sorted(node_root.iterdir()):
            m = _NODE_DIR.match(entry.name)
            if m is None or not (entry / "cpulist").exists():
                continue
            cpulist = entry / "cpulist"
            for cpu in parse_cpuset(_read(cpulist).strip(), obj=str(cpulist)):
                numa_of[cpu] = int(m.group(1))
    infos = []
    for cpu in sorted(online):
        topo = cpu_root / f"cpu{cpu}" / "topology"
        try:
            socket = int(_read(topo / "physical_package_id").strip())
            siblings_file = topo / "thread_siblings_list"
            siblings = parse_cpuset(_read(siblings_file).strip(), obj=str(siblings_file))
        except (FileNotFoundError, ValueError):
            socket, siblings = 0, frozenset({cpu})
        core = min(siblings & online or {cpu})
        infos.append(CPUInfo(cpu, core, max(socket, 0), numa_of.get(cpu, 0)))
    return CPUTopology(infos)


def read_kubelet_cpu_state(path: str | Path = CPU_MANAGER_STATE_PATH) -> KubeletCPUState | None:
    """The kubelet's static CPU manager state, or None (no file, or not `static`)."""
    p = Path(path)
    try:
        text = _read(p)
    except FileNotFoundError:
        return None
    state = parse_kubelet_cpu_state(text, source=str(p))
    return state if state.policy == "static" else None

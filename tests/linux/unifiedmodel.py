"""A faithful directory model of a cgroup v2 (unified) tree, for the v2 driver's tests.

Why a model: this machine mounts every controller colo uses (cpu, cpuset, memory, io)
as cgroup v1, and a controller serves one hierarchy only, so its cgroup2 tree offers no
controller to enable (tests/linux/test_cgroup2_mount.py shows it on a real mount).

What it models, as the kernel does it:
- every cgroup has cgroup.controllers (what its parent's cgroup.subtree_control
  enables), cgroup.subtree_control, cgroup.procs, cpu.stat (usage_usec, …) and
  cpu/memory/io.pressure, with or without controllers;
- a controller's files exist only where the parent enables the controller;
- the kernel's formats and defaults: cpu.max `max 100000`, cpu.weight `100`, cpu.idle
  `0`, cpuset.cpus and .mems empty, memory.high and .max `max`, io.max empty;
- the kernel's write semantics (`UnifiedKernel.write`): values are validated (EINVAL,
  ERANGE as the kernel answers), memory limits are rounded down to whole pages, cpu.max
  keeps the period when a write names none, a weight written to an idle cgroup is
  refused, io.max merges one device's keys into its line and drops a line that is all
  `max` (an unknown device is ENODEV), memory.reclaim reclaims page cache and answers
  EAGAIN when it could not reclaim that much, and a file that is not there is ENOENT.
What it does not model: scheduling, accounting (the test writes the counters) and
effective values (cpuset.cpus.effective).
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

from colo.core.topology import format_cpuset, parse_cpuset
from colo.linux.files import KernelFiles, flat_keyed, nested_keyed

PAGE = os.sysconf("SC_PAGE_SIZE")
ALL = ("cpuset", "cpu", "io", "memory", "pids")
PSI = "".join(f"{k} avg10=0.00 avg60=0.00 avg300=0.00 total=0\n" for k in ("some", "full"))
IO_KEYS = ("rbps", "wbps", "riops", "wiops")


def quiet_node_pressure(d: Path) -> Path:
    """A node's /proc/pressure with nothing pressed (cpu, memory, io): `d`, made."""
    d.mkdir()
    for resource in ("cpu", "memory", "io"):
        (d / resource).write_text(PSI)
    return d


def _fail(code: int, path: Path) -> OSError:
    return OSError(code, os.strerror(code), str(path))


class UnifiedTree:
    """The model's tree below `root` (the kubelet root is the tree's root here).
    `cpus`, `mems`: what the node has; `devices`: block devices (MAJ:MIN)."""

    def __init__(
        self,
        root: Path,
        *,
        cpus: str = "0-3",
        mems: str = "0",
        devices: tuple[str, ...] = ("8:0", "8:16"),
    ) -> None:
        self.root = root
        self.cpus, self.mems, self.devices = parse_cpuset(cpus), parse_cpuset(mems), devices
        self.files = UnifiedKernel(self)
        self._interface(root, ALL)
        (root / "cgroup.subtree_control").write_text(" ".join(ALL) + "\n")

    def make(self, path: str, *, subtree: tuple[str, ...] = ALL) -> Path:
        """Create cgroup `path` and its parents; each new cgroup enables `subtree` for
        its children (the kubelet enables every controller down to its pods)."""
        d = self.root
        for part in Path(path).parts:
            parent, d = d, d / part
            if not d.is_dir():
                d.mkdir()
                enabled = tuple((parent / "cgroup.subtree_control").read_text().split())
                self._interface(d, enabled)
                (d / "cgroup.subtree_control").write_text(" ".join(subtree) + "\n")
        return d

    def _interface(self, d: Path, enabled: tuple[str, ...]) -> None:
        files = {
            "cgroup.controllers": " ".join(enabled) + "\n",
            "cgroup.procs": "",
            "cpu.stat": "usage_usec 0\nuser_usec 0\nsystem_usec 0\n",
            "cpu.pressure": PSI,
            "memory.pressure": PSI,
            "io.pressure": PSI,
        }
        if "cpu" in enabled:
            files |= {"cpu.max": "max 100000\n", "cpu.weight": "100\n", "cpu.idle": "0\n"}
            files["cpu.stat"] += "nr_periods 0\nnr_throttled 0\nthrottled_usec 0\n"
        if "cpuset" in enabled:
            files |= {"cpuset.cpus": "\n", "cpuset.mems": "\n"}
        if "memory" in enabled:
            files |= {
                "memory.current": "0\n",
                "memory.high": "max\n",
                "memory.max": "max\n",
                "memory.reclaim": "",
                "memory.stat": "anon 0\nfile 0\nactive_file 0\ninactive_file 0\n",
            }
        if "io" in enabled:
            files |= {"io.max": "", "io.stat": ""}
        for name, text in files.items():
            (d / name).write_text(text)

    def account(self, path: str, **counters: int) -> None:
        """Set what the kernel would have counted: `usage_usec`, `nr_throttled`, …
        (cpu.stat), `anon`, `file`, `inactive_file` (memory.stat; memory.current is
        their sum)."""
        d = self.root / path
        cpu = flat_keyed((d / "cpu.stat").read_text())
        memory = flat_keyed((d / "memory.stat").read_text()) if (d / "memory.stat").exists() else {}
        for key, value in counters.items():
            (cpu if key in cpu else memory)[key] = value
        (d / "cpu.stat").write_text("".join(f"{k} {v}\n" for k, v in cpu.items()))
        if memory:
            (d / "memory.stat").write_text("".join(f"{k} {v}\n" for k, v in memory.items()))
            (d / "memory.current").write_text(f"{memory['anon'] + memory['file']}\n")


class UnifiedKernel(KernelFiles):
    """What the kernel does with a write to the model's files."""

    def __init__(self, tree: UnifiedTree) -> None:
        self.tree = tree

    def write(self, path: Path, text: str) -> None:
        if not path.is_file():
            raise _fail(errno.ENOENT, path)
        value = text.strip()
        handler = getattr(self, "_" + path.name.replace(".", "_"), None)
        stored = handler(path, value) if handler is not None else value
        if stored is not None:
            path.write_text(stored + "\n" if stored else "")

    def _cpu_max(self, path: Path, value: str) -> str:
        quota, _, period = value.partition(" ")
        old_period = path.read_text().split()[1]
        period = period or old_period
        ok_quota = quota == "max" or (quota.isdigit() and int(quota) >= 1000)
        if not ok_quota or not period.isdigit() or not 1000 <= int(period) <= 1_000_000:
            raise _fail(errno.EINVAL, path)
        return f"{quota} {period}"

    def _cpu_weight(self, path: Path, value: str) -> str:
        if not value.isdigit():
            raise _fail(errno.EINVAL, path)
        if not 1 <= int(value) <= 10_000:
            raise _fail(errno.ERANGE, path)
        if (path.parent / "cpu.idle").read_text().strip() == "1":
            raise _fail(errno.EINVAL, path)  # sched_group_set_shares on an idle group
        return value

    def _cpu_idle(self, path: Path, value: str) -> str:
        if value not in ("0", "1"):
            raise _fail(errno.EINVAL, path)
        return value

    def _cpuset(self, path: Path, value: str, node: frozenset[int]) -> str:
        try:
            ids = parse_cpuset(value)
        except ValueError:
            raise _fail(errno.EINVAL, path) from None
        if not ids <= node:
            raise _fail(errno.EINVAL, path)
        return format_cpuset(ids)

    def _cpuset_cpus(self, path: Path, value: str) -> str:
        return self._cpuset(path, value, self.tree.cpus)

    def _cpuset_mems(self, path: Path, value: str) -> str:
        return self._cpuset(path, value, self.tree.mems)

    def _memory_limit(self, path: Path, value: str) -> str:
        if value == "max":
            return value
        if not value.isdigit():
            raise _fail(errno.EINVAL, path)
        return str(int(value) // PAGE * PAGE)

    _memory_high = _memory_limit
    _memory_max = _memory_limit

    def _memory_reclaim(self, path: Path, value: str) -> None:
        if not value.isdigit() or int(value) == 0:
            raise _fail(errno.EINVAL, path)
        stat = flat_keyed((path.parent / "memory.stat").read_text())
        freed = min(int(value), stat["file"])
        self.tree.account(
            str(path.parent.relative_to(self.tree.root)),
            file=stat["file"] - freed,
            inactive_file=max(0, stat["inactive_file"] - freed),
        )
        if freed < int(value):
            raise _fail(errno.EAGAIN, path)
        return None  # write-only: nothing is stored

    def _io_max(self, path: Path, value: str) -> str:
        device, *pairs = value.split()
        if device not in self.tree.devices:
            raise _fail(errno.ENODEV, path)
        lines = nested_keyed(path.read_text())
        keys = lines.get(device, dict.fromkeys(IO_KEYS, "max"))
        for pair in pairs:
            key, _, v = pair.partition("=")
            if key not in IO_KEYS or not (v == "max" or v.isdigit()):
                raise _fail(errno.EINVAL, path)
            keys[key] = "max" if v in ("max", "0") else v
        lines[device] = keys
        return "\n".join(
            f"{d} " + " ".join(f"{k}={ks[k]}" for k in IO_KEYS)
            for d, ks in sorted(lines.items())
            if any(ks[k] != "max" for k in IO_KEYS)
        )

    def _cgroup_subtree_control(self, path: Path, value: str) -> str:
        available = (path.parent / "cgroup.controllers").read_text().split()
        enabled = set((path.parent / "cgroup.subtree_control").read_text().split())
        for token in value.split():
            if token[1:] not in available or token[0] not in "+-":
                raise _fail(errno.ENOENT, path)
            (enabled.add if token[0] == "+" else enabled.discard)(token[1:])
        return " ".join(c for c in ALL if c in enabled)

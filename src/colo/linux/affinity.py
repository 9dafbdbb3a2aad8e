"""colo-agent's own threads, kept off the cpus it gives pods for themselves.

A pod's cpuset confines the pod. colo-agent run outside the kubelet's pod tree (`colo
agent protect` as a host service, or `colo agent serve` started by hand) is in no cpuset
colo writes, so the kernel runs it wherever it likes, the whole cores an LSE pod was
promised included: traced on the development machine (docs/agent.md, "who shares the
LSE core"), the agent ran half its time on the LSE server's cpu. Inside its pod (the
chart's DaemonSet) the pod's cpuset, the LS shared pool, already keeps it there, and
this changes nothing.

`OwnCpus.keep_on(cpus)` sets the cpu affinity of every thread of this process
(`sched_setaffinity` per thread: Linux keeps the mask per thread, and a new thread takes
its creator's). It reads before it writes and writes only threads whose mask differs. A
cpuset cgroup around the process narrows what the kernel keeps (the kernel runs a task
only on cpus its cpuset has); that narrowed mask is then taken as reached, so a round
that asks again writes nothing. A set the kernel refuses (none of its cpus allowed
here) is logged once and asked for again each round (a cpuset may widen); meanwhile the
agent keeps running where it was.

Written here rather than taken from a library: psutil's `Process.cpu_affinity` sets the
mask of the thread group's leader only, and `os.sched_setaffinity` is the one call
needed per thread.
"""

from __future__ import annotations

import errno
import logging
import os
from pathlib import Path

from colo.core.topology import format_cpuset

log = logging.getLogger(__name__)


class OwnCpus:
    """Keeps this process's threads on a set of cpus (see the module docstring).
    `task_dir` lists the threads (`/proc/self/task`)."""

    def __init__(self, task_dir: str | Path = "/proc/self/task") -> None:
        self._task_dir = Path(task_dir)
        #: the last set asked for and the mask the kernel kept for it
        self._kept: tuple[frozenset[int], frozenset[int]] | None = None
        self._refused: set[frozenset[int]] = set()

    def keep_on(self, cpus: frozenset[int]) -> int:
        """Move every thread onto `cpus`; how many threads were moved (0: all were
        there already, or the kernel refused the set)."""
        cpus = frozenset(cpus)
        if not cpus:
            return 0
        want = self._kept[1] if self._kept is not None and self._kept[0] == cpus else cpus
        moved = 0
        for tid in self._threads():
            try:
                if frozenset(os.sched_getaffinity(tid)) == want:
                    continue
                os.sched_setaffinity(tid, cpus)
                got = frozenset(os.sched_getaffinity(tid))
            except ProcessLookupError:
                continue  # the thread ended meanwhile
            except OSError as e:
                if cpus not in self._refused:  # said once; asked again every round
                    self._refused.add(cpus)
                    log.warning(
                        "cannot keep colo-agent's own threads on cpus %s: %s (%s); they "
                        "run where they were",
                        format_cpuset(cpus),
                        errno.errorcode.get(e.errno or 0, e.errno),
                        e.strerror,
                    )
                return moved
            self._refused.discard(cpus)
            if self._kept is None or self._kept != (cpus, got):
                log.info(
                    "colo-agent keeps its own threads on cpus %s (off the pods' own cores)",
                    format_cpuset(got),
                )
            self._kept, want = (cpus, got), got
            moved += 1
        return moved

    def _threads(self) -> list[int]:
        try:
            return sorted(int(n) for n in os.listdir(self._task_dir) if n.isdigit())
        except OSError:
            return [0]  # no /proc: the calling thread only

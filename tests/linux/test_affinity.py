"""colo-agent's own threads kept on a set of cpus (`colo.linux.affinity.OwnCpus`), on the
real kernel: every thread moves, a second call writes nothing, a cpuset around the
process narrows what is kept without a write every round, and a set the kernel refuses
is logged once and leaves the threads where they were."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import subprocess
import sys
import threading
from collections.abc import Iterator

import pytest

from colo.linux.affinity import OwnCpus

pytestmark = pytest.mark.cgroup  # the real kernel's scheduler (and, below, a real cpuset)

CPUS = frozenset(os.sched_getaffinity(0))

needs_two = pytest.mark.skipif(len(CPUS) < 2, reason="needs two cpus to move threads between")


def threads() -> list[int]:
    return sorted(int(t) for t in os.listdir("/proc/self/task"))


@pytest.fixture
def extra_thread() -> Iterator[int]:
    """A second thread of this process, alive for the test; every thread's mask is put
    back afterwards."""
    before = {t: os.sched_getaffinity(t) for t in threads()}
    ready, stop = threading.Event(), threading.Event()
    tid: list[int] = []

    def run() -> None:
        tid.append(threading.get_native_id())
        ready.set()
        stop.wait()

    t = threading.Thread(target=run, daemon=True)
    t.start()
    ready.wait()
    try:
        yield tid[0]
    finally:
        stop.set()
        t.join()
        for tid_, mask in before.items():
            with contextlib.suppress(ProcessLookupError):
                os.sched_setaffinity(tid_, mask)


@needs_two
def test_every_thread_moves_and_a_second_call_writes_nothing(extra_thread: int) -> None:
    one = frozenset({min(CPUS)})
    own = OwnCpus()
    assert own.keep_on(one) >= 2  # this thread and the extra one at least
    for tid in threads():
        assert os.sched_getaffinity(tid) == one, tid
    assert os.sched_getaffinity(extra_thread) == one
    assert own.keep_on(one) == 0
    os.sched_setaffinity(extra_thread, CPUS)  # someone else moved it back
    assert own.keep_on(one) == 1
    assert own.keep_on(CPUS) >= 2  # widening moves them too


def test_a_set_the_kernel_refuses_is_logged_once_and_moves_nothing(
    extra_thread: int, caplog: pytest.LogCaptureFixture
) -> None:
    absent = frozenset({max(CPUS) + 1000})  # no such cpu on this machine
    masks = {t: os.sched_getaffinity(t) for t in threads()}
    own = OwnCpus()
    with caplog.at_level(logging.WARNING, logger="colo.linux.affinity"):
        assert own.keep_on(absent) == 0
        assert own.keep_on(absent) == 0
    said = [r.getMessage() for r in caplog.records if "cannot keep" in r.getMessage()]
    assert len(said) == 1 and "EINVAL" in said[0], said
    assert {t: os.sched_getaffinity(t) for t in threads()} == masks


CHILD = """
import json, sys
from colo.linux.affinity import OwnCpus
sys.stdin.readline()
own = OwnCpus()
print(json.dumps([own.keep_on(frozenset(json.loads(sys.argv[1]))) for _ in range(2)]))
import os
print(json.dumps(sorted(os.sched_getaffinity(0))))
"""


@needs_two
def test_a_cpuset_around_the_process_narrows_the_mask_once(cgroup_tree) -> None:
    """In a cpuset of one cpu, asking for both keeps the one; asking again is no write."""
    cpuset = cgroup_tree.path("cpuset")
    cgroup_tree.make("agent")
    (cpuset / "agent" / "cpuset.cpus").write_text(f"{min(CPUS)}\n")
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, json.dumps(sorted(CPUS))],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    cgroup_tree.enter("agent", proc.pid)
    out, _ = proc.communicate("go\n", timeout=60)
    assert proc.returncode == 0
    moved, mask = (json.loads(line) for line in out.splitlines())
    assert mask == [min(CPUS)]
    # the first call writes and reads what the kernel kept; the second finds it and
    # writes nothing
    assert moved[0] >= 1 and moved[1] == 0, moved

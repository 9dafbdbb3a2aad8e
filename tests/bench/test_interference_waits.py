"""bench/interference.py's run-queue figure: how long the online pod's threads waited
runnable for a cpu, read from /proc schedstat, and its arithmetic per phase."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))

from interference import PhaseResult, Snapshot, figures, node_cpus, runqueue_waits_ns  # noqa: E402

SPIN = "import time\nt = time.perf_counter()\nwhile time.perf_counter() - t < 5: pass"


@pytest.mark.skipif(not Path("/proc/self/schedstat").exists(), reason="no schedstat")
def test_two_spinners_on_one_cpu_each_wait_for_it_about_half_the_time() -> None:
    cpu = min(os.sched_getaffinity(0))
    procs = [subprocess.Popen([sys.executable, "-c", SPIN]) for _ in range(2)]
    try:
        for p in procs:
            os.sched_setaffinity(p.pid, {cpu})
        pids = {p.pid for p in procs}
        before, t0 = runqueue_waits_ns(pids), time.monotonic()
        time.sleep(1.0)
        after, t1 = runqueue_waits_ns(pids), time.monotonic()
    finally:
        for p in procs:
            p.kill()
            p.wait()
    assert set(before) == set(after) == pids  # one thread each, keyed by thread id
    waited_s = sum(after[t] - before[t] for t in before) / 1e9
    # two threads sharing one cpu for 1 s: together ~1 s waiting (each half of it)
    assert 0.6 < waited_s / (t1 - t0) < 1.3, waited_s


def test_a_process_that_has_gone_is_left_out() -> None:
    gone = 2**22 + 12345  # above pid_max's usual ceiling: no such process
    assert runqueue_waits_ns({gone}) == {}


def test_a_phase_counts_the_waits_of_threads_seen_at_both_ends_per_second() -> None:
    a = Snapshot(10.0, 7_000_000_000, {"online": 0}, {1: 0, 2: 5_000_000})
    # thread 3 started meanwhile (its own past is not this window's); 1 and 2 waited
    # 20 ms and 30 ms over the 2 s; the machine was busy 3 cpu-seconds of them
    b = Snapshot(12.0, 10_000_000_000, {"online": 2_000_000_000},
                 {1: 20_000_000, 2: 35_000_000, 3: 9_000_000_000})  # fmt: skip
    out = {"latencies_ms": [1.0], "errors": 0, "lag_p99_ms": 0.1}
    r = PhaseResult.of("colo", out, a, b)
    assert r.runqueue_wait_ms_per_s == pytest.approx(25.0)  # (20 + 30) ms / 2 s
    assert r.millicores["online"] == pytest.approx(1000.0)
    assert r.idle_millicores == pytest.approx(1000 * node_cpus() - 1500.0)


def test_inflation_pairs_rounds_and_the_pooled_figure_takes_every_request() -> None:
    """Per round, p99 against the same round's alone p99 (median of the ratios); pooled,
    the p99 of all rounds' requests of a phase against all of alone's."""

    def phase(name: str, slow: float, n_slow: int) -> PhaseResult:
        lat = [1.0] * (100 - n_slow) + [slow] * n_slow  # p99 of 100: the slowest two decide
        return PhaseResult(name, lat, 0, 0.0, 1000.0, {"offline": 500.0}, 0.0)

    rounds = {
        "alone": [phase("alone", 2.0, 2), phase("alone", 4.0, 2), phase("alone", 2.0, 2)],
        "colo": [phase("colo", 2.2, 2), phase("colo", 4.0, 2), phase("colo", 2.0, 2)],
    }
    f = figures(rounds, None)
    assert f["inflation_colo"] == pytest.approx(0.0)  # ratios 1.1, 1.0, 1.0
    # of 300 requests the 4th slowest decides: alone 2.0 (of 4, 4, 2, 2, ...), colo 2.2
    assert f["p99_alone_pooled_ms"] == pytest.approx(2.0)
    assert f["p99_colo_pooled_ms"] == pytest.approx(2.2)
    assert f["inflation_colo_pooled"] == pytest.approx(0.1)
    assert f["offline_share_of_idle_colo"] == pytest.approx(0.5)

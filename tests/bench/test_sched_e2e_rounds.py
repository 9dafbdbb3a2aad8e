"""bench/sched_e2e.py's arithmetic over rounds: each figure is the median over the
rounds, and each ratio pairs the runs of one round before the median is taken."""

from __future__ import annotations

import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))

from sched_e2e import Round, Run, summarize  # noqa: E402


def run(first: float, last: float, scheduler_cpu: float = 0.0, **cpu: float) -> Run:
    return Run(first, last, {"scheduler": scheduler_cpu, **cpu})


def test_ratios_pair_each_round_and_figures_are_medians() -> None:
    rounds = [
        # a slow round: everything 1.5 × longer, the ratio the same as a quick round's
        Round(kube_scheduler=run(1.5, 24.0, 12.0), colo=run(1.5, 15.0, 3.0, kwok=3.0),
              ceiling=run(0.1, 12.0), ceiling_watched=run(0.2, 13.5)),
        Round(kube_scheduler=run(1.0, 16.0, 11.0), colo=run(1.0, 10.0, 3.5, kwok=2.0),
              ceiling=run(0.1, 8.0), ceiling_watched=run(0.2, 9.0)),
        Round(kube_scheduler=run(2.0, 17.0, 13.0), colo=run(1.2, 11.0, 4.0, kwok=2.5),
              ceiling=run(0.1, 10.0), ceiling_watched=run(0.3, 10.0)),
    ]  # fmt: skip
    f = summarize(rounds, pods=1000)
    assert f["rounds"] == 3
    assert f["colo_s"] == 11.0 and f["ceiling_s"] == 10.0
    # rounds' ratios 1.25, 1.25, 1.1 → 1.25; the ratio of the medians would be 1.1
    assert f["colo_over_ceiling"] == 1.25
    assert f["colo_over_ceiling_watched"] == 1.111  # 15/13.5, 10/9, 11/10
    assert f["first_bind_colo_s"] == 1.2 and f["first_bind_kube_scheduler_s"] == 1.5
    assert f["cpu_ms_per_pod_colo"] == 3.5 and f["cpu_ms_per_pod_kube_scheduler"] == 12.0
    assert f["ratio"] == 1.6  # 24/15, 16/10, 17/11
    assert f["colo_cpu_s_kwok"] == 2.5
    assert f["ceiling_cpu_s_scheduler"] == 0.0


def test_one_round_gives_that_rounds_figures() -> None:
    one = Round(kube_scheduler=run(0.9, 14.0, 30.0), colo=run(1.3, 9.8, 6.5),
                ceiling=run(0.05, 7.9), ceiling_watched=run(0.1, 10.35))  # fmt: skip
    f = summarize([one], pods=5000)
    assert f["colo_over_ceiling"] == round(9.8 / 7.9, 3)
    assert f["cpu_ms_per_pod_colo"] == 1.3
    assert f["rounds"] == 1

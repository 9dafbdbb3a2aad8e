"""The PNG of `colo predict evaluate`: the trade-off, and one series over two days."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from colo.predict.evaluate import Evaluation


def write_plot(ev: Evaluation, path: Path, *, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 4.8), gridspec_kw={"width_ratios": [1, 2]})
    for name, s in ev.scores.items():
        left.scatter(s.violation_rate * 100, s.reclaim_efficiency, s=60 if name == "colo" else 30)
        left.annotate(name, (s.violation_rate * 100, s.reclaim_efficiency), fontsize=8,
                      xytext=(4, 4), textcoords="offset points")  # fmt: skip
    left.axvline(5.0, color="grey", linestyle="--", linewidth=1)
    left.set_xlabel("violation rate (%)")
    left.set_ylabel("reclaim efficiency")
    left.set_title("trade-off (left of the line: ≤ 5 %)")
    # the series with the most scored points, over its first two days after warm-up
    k = int(np.argmax(ev.scored.sum(axis=1)))
    idx = np.flatnonzero(ev.scored[k])
    steps = int(2 * 86400 / ev.grid.step_s)
    idx = idx[:steps]
    hours = (ev.grid.times[idx] - ev.grid.times[idx[0]]) / 3600.0
    right.plot(hours, ev.grid.values[k, idx], color="black", linewidth=0.7, label="usage")
    for name in ev.predictions:
        right.plot(hours, ev.predictions[name][k, idx], linewidth=0.9, label=name)
    right.set_ylim(0, 1.05)
    right.set_xlabel("hours")
    right.set_ylabel("fraction of the machine")
    right.set_title(f"series {ev.grid.ids[k][:16]}: usage and predicted peaks")
    right.legend(fontsize=7, ncol=3, loc="upper right")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)

"""Benchmark: update 100,000 decaying histograms by one sample each; bank memory.

Layout: first bucket 0.01 (cores), ratio 1.05, max 1000 → 175 buckets, float32.
Also times the alternatives (np.add.at, np.bincount) for the record.
"""

from __future__ import annotations

import numpy as np

from _common import emit, median_time_s, parser
from colo.predict import HistogramBank, HistogramOptions


def main() -> None:
    p = parser(__doc__ or "")
    p.add_argument("--histograms", type=int, default=100_000)
    args = p.parse_args()
    k = args.histograms
    opts = HistogramOptions(max_value=1000.0, first_bucket_size=0.01, ratio=1.05)
    bank = HistogramBank(opts, k)
    rng = np.random.default_rng(0)
    values = rng.gamma(2.0, 2.0, size=k)
    clock = [0.0]

    def update() -> None:
        clock[0] += 10.0
        bank.add_samples(values, clock[0])

    update_s = median_time_s(update, args.repeats)
    flat = np.arange(k) * opts.num_buckets + opts.find_buckets(values)
    w = np.ones(k, dtype=np.float32)
    view = bank.weights.reshape(-1)
    add_at_s = median_time_s(lambda: np.add.at(view, flat, w), args.repeats)
    bincount_s = median_time_s(
        lambda: np.bincount(flat, weights=w, minlength=view.size), args.repeats
    )

    def fancy() -> None:
        view[flat] += w

    fancy_s = median_time_s(fancy, args.repeats)
    pct_s = median_time_s(lambda: bank.percentiles(0.95), args.repeats)
    figures = {
        "update_100k_ms": update_s * 1e3 * 100_000 / k,
        "bytes_per_histogram": bank.nbytes / k,
        "buckets": opts.num_buckets,
        "scatter_fancy_ms": fancy_s * 1e3,
        "scatter_add_at_ms": add_at_s * 1e3,
        "scatter_bincount_ms": bincount_s * 1e3,
        "percentiles_p95_ms": pct_s * 1e3,
    }
    if args.json:  # the contract: exactly the two headline figures
        figures = {k_: figures[k_] for k_ in ("update_100k_ms", "bytes_per_histogram")}
    emit(
        "histogram bank",
        figures,
        as_json=args.json,
        notes=f"median of {args.repeats} runs; K={k}; targets update <= 50 ms, <= 2048 B",
    )


if __name__ == "__main__":
    main()

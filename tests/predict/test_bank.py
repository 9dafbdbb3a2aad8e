"""`HistogramBank.percentiles` adds its running sums bucket by bucket over all rows at
once (`cumulative_weights`); it must give exactly what one `np.cumsum` per row gives."""

from __future__ import annotations

import numpy as np
import pytest

from colo.predict import HistogramBank, HistogramOptions
from colo.predict.bank import cumulative_weights

OPTS = HistogramOptions(max_value=64.0, first_bucket_size=0.01, ratio=1.1, half_life_s=3600.0)


def percentiles_by_cumsum(
    weights: np.ndarray, ends: np.ndarray, p: float | np.ndarray
) -> np.ndarray:
    """The plain rule: per row, the first bucket whose cumulative weight reaches p·total."""
    levels = np.asarray(p, dtype=np.float64)
    cum = np.cumsum(weights, axis=1, dtype=np.float64)
    total = cum[:, -1:]
    thresholds = levels * total if levels.ndim == 0 else levels[:, None] * total
    idx = np.argmax((cum >= thresholds) & (cum > 0), axis=1)
    out = ends[idx]
    out[total[:, 0] <= 0] = 0.0
    return np.asarray(out, dtype=np.float64)


def random_bank(rng: np.random.Generator, dtype: type) -> HistogramBank:
    rows = int(rng.integers(1, 60))
    bank = HistogramBank(OPTS, rows, dtype=dtype)
    for t in np.sort(rng.uniform(0.0, 7 * 24 * 3600.0, int(rng.integers(0, 400)))):
        values = rng.choice([0.0, 0.003, 0.5, 2.0, 63.9, 500.0], rows) * rng.uniform(0.5, 2.0, rows)
        mask = rng.random(rows) < rng.choice([0.1, 0.7, 1.0])
        weights = rng.choice([0.0, 1e-30, 1.0, 3.5], rows)
        bank.add_samples(values, float(t), weights=weights, mask=mask)
    bank.clear(np.flatnonzero(rng.random(rows) < 0.1))  # some rows empty again
    return bank


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("seed", range(25))
def test_bank_percentiles_equal_one_cumsum_per_row(seed: int, dtype: type) -> None:
    rng = np.random.default_rng(seed)
    bank = random_bank(rng, dtype)
    ends = OPTS.bucket_ends()
    for p in (0.0, 0.5, 0.95, 0.999, 1.0):
        got = bank.percentiles(p)
        assert np.array_equal(got, percentiles_by_cumsum(bank.weights, ends, p))
    per_row = rng.uniform(0.0, 1.0, bank.size)
    assert np.array_equal(
        bank.percentiles(per_row), percentiles_by_cumsum(bank.weights, ends, per_row)
    )


def test_running_sums_are_bitwise_those_of_cumsum() -> None:
    rng = np.random.default_rng(5)
    weights = (rng.random((300, 91)) * (rng.random((300, 91)) < 0.3) * 1e25).astype(np.float32)
    want = np.cumsum(weights, axis=1, dtype=np.float64).T
    got = cumulative_weights(weights)
    assert got.dtype == np.float64
    assert np.array_equal(got, want)


def test_an_empty_bank_has_no_percentiles() -> None:
    assert HistogramBank(OPTS, 0).percentiles(0.9).shape == (0,)

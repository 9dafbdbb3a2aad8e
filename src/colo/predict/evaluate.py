"""Replay usage series and score peak estimators on the same data (`colo predict evaluate`).

Every estimator sees the same samples, one at a time, on a regular grid (the series'
sampling step; several series advance together, vectorized). At each sample time t an
estimator states the peak it expects; the truth is the highest usage actually seen in
(t, t + horizon]. Usage is a fraction of the machine (0..1). Over all series:

* ``violation_rate`` = share of prediction points where the truth exceeded the prediction
  (the offline work admitted on the reclaimed capacity would have hurt online work);
* ``reclaim_efficiency`` = mean reclaimed ÷ mean truly idle, with reclaimed = 1 − prediction
  (clipped to 0..1) and truly idle = 1 − truth. 1.0 means everything that was idle was
  handed out; above 1 means more than was idle (and comes with violations).

Points in a series' first `warmup_s` are not scored (no estimator has history yet), nor
points whose horizon holds no sample.

The estimators (parameters fixed here, not fitted to any trace):

* ``colo``: `RisePeakEstimatorBank`: max of the last 5 min + the decayed (24 h half-life)
  percentile of the series' own rises over one horizon, percentile steered online
  toward 5 % violations; excess released with a 10 min half-life after a drop.
* ``colo-floor``: colo's first design (`PeakEstimatorBank`): max(decayed P98, 12 h
  half-life; max of the last 5 min), released with a 30 min half-life. Kept to compare.
* ``vpa-p90``, ``vpa-p95``: VPA-style symmetric decaying percentile, 24 h half-life.
* ``koordinator``: Koordinator-style mean of the last 5 min + a 35 % safety margin
  (its default reclaim threshold is 65 % of the node).
* ``katalyst``: Katalyst-style max of the last 5 min × 1.25.

Pure: arrays in, numbers out; time comes from the series.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from colo.predict.bank import HistogramBank
from colo.predict.options import HistogramOptions
from colo.predict.peak import PeakEstimatorBank, RisePeakEstimatorBank

#: Buckets for utilization fractions: 0.5 % wide at first, growing 5 % per bucket.
UTIL_BUCKETS = {"max_value": 1.0, "first_bucket_size": 0.005, "ratio": 1.05}
RECENT_S = 300.0


@dataclass(frozen=True)
class Series:
    series_id: str
    t_s: np.ndarray
    usage: np.ndarray  # fraction of the machine, 0..1


@dataclass(frozen=True)
class Grid:
    """K series on T common steps; NaN where a series has no sample."""

    ids: tuple[str, ...]
    times: np.ndarray  # [T]
    values: np.ndarray  # [K, T]
    step_s: float


def to_grid(series: Sequence[Series], step_s: float | None = None) -> Grid:
    """Put series on one time grid (step: the median sampling interval unless given).

    Samples are binned to the nearest step; several in one bin are averaged.
    """
    if not series:
        raise ValueError("no series to evaluate")
    if step_s is None:
        gaps = np.concatenate([np.diff(s.t_s) for s in series if len(s.t_s) > 1])
        step_s = float(np.median(gaps)) if gaps.size else 1.0
    t0 = min(float(s.t_s[0]) for s in series)
    t1 = max(float(s.t_s[-1]) for s in series)
    n = round((t1 - t0) / step_s) + 1
    sums = np.zeros((len(series), n))
    counts = np.zeros((len(series), n))
    for k, s in enumerate(series):
        idx = np.rint((s.t_s - t0) / step_s).astype(np.intp)
        np.add.at(sums[k], idx, s.usage)
        np.add.at(counts[k], idx, 1.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        values = np.where(counts > 0, sums / np.maximum(counts, 1.0), np.nan)
    times = t0 + step_s * np.arange(n)
    return Grid(tuple(s.series_id for s in series), times, values, step_s)


class Estimator:
    """K estimators stepping together: `update(values, t, mask)` returns predictions [K]."""

    name = ""

    def update(self, values: np.ndarray, t: float, mask: np.ndarray) -> np.ndarray:
        raise NotImplementedError


class _Recent:
    """The last `n` samples of each series (per-series positions, NaN until filled)."""

    def __init__(self, k: int, n: int) -> None:
        self.ring = np.full((k, n), np.nan)
        self.pos = np.zeros(k, dtype=np.intp)

    def push(self, values: np.ndarray, mask: np.ndarray) -> None:
        rows = np.flatnonzero(mask)
        self.ring[rows, self.pos[rows]] = values[rows]
        self.pos[rows] = (self.pos[rows] + 1) % self.ring.shape[1]


def _samples(window_s: float, step_s: float) -> int:
    return max(1, round(window_s / step_s))


class ColoEstimator(Estimator):
    name = "colo"

    def __init__(self, k: int, step_s: float, horizon_s: float) -> None:
        opts = HistogramOptions(half_life_s=24 * 3600.0, **UTIL_BUCKETS)
        self.bank = RisePeakEstimatorBank(
            k,
            options=opts,
            interval_s=step_s,
            horizon_s=horizon_s,
            percentile=0.95,
            window=_samples(RECENT_S, step_s),
            release_half_life_s=600.0,
            cold_margin=1.0,
        )

    def update(self, values: np.ndarray, t: float, mask: np.ndarray) -> np.ndarray:
        return self.bank.update(values, t, mask=mask)


class ColoFloorEstimator(Estimator):
    """colo's first design, kept for comparison: a decayed P98 floor under the recent max."""

    name = "colo-floor"

    def __init__(self, k: int, step_s: float) -> None:
        opts = HistogramOptions(half_life_s=12 * 3600.0, **UTIL_BUCKETS)
        self.bank = PeakEstimatorBank(
            k,
            options=opts,
            percentile=0.98,
            window=_samples(RECENT_S, step_s),
            release_half_life_s=1800.0,
        )

    def update(self, values: np.ndarray, t: float, mask: np.ndarray) -> np.ndarray:
        return self.bank.update(values, t, mask=mask)


class VpaEstimator(Estimator):
    def __init__(self, k: int, step_s: float, percentile: float) -> None:
        self.name = f"vpa-p{round(percentile * 100)}"
        self.percentile = percentile
        self.bank = HistogramBank(HistogramOptions(half_life_s=24 * 3600.0, **UTIL_BUCKETS), k)

    def update(self, values: np.ndarray, t: float, mask: np.ndarray) -> np.ndarray:
        self.bank.add_samples(values, t, mask=mask)
        return self.bank.percentiles(self.percentile)


class KoordinatorEstimator(Estimator):
    name = "koordinator"
    margin = 0.35

    def __init__(self, k: int, step_s: float) -> None:
        self.recent = _Recent(k, _samples(RECENT_S, step_s))

    def update(self, values: np.ndarray, t: float, mask: np.ndarray) -> np.ndarray:
        self.recent.push(values, mask)
        ring = self.recent.ring
        have = (~np.isnan(ring)).sum(axis=1)
        mean = np.nansum(ring, axis=1) / np.maximum(have, 1)
        return np.asarray(mean + self.margin, dtype=np.float64)


class KatalystEstimator(Estimator):
    name = "katalyst"
    factor = 1.25

    def __init__(self, k: int, step_s: float) -> None:
        self.recent = _Recent(k, _samples(RECENT_S, step_s))

    def update(self, values: np.ndarray, t: float, mask: np.ndarray) -> np.ndarray:
        self.recent.push(values, mask)
        recent_max = np.fmax.reduce(self.recent.ring, axis=1)  # NaN only where still empty
        return np.asarray(np.nan_to_num(recent_max) * self.factor)


#: (series count, sampling step s, horizon s) -> estimator
EstimatorFactory = Callable[[int, float, float], Estimator]

ESTIMATORS: dict[str, EstimatorFactory] = {
    "colo": ColoEstimator,
    "colo-floor": lambda k, s, h: ColoFloorEstimator(k, s),
    "vpa-p90": lambda k, s, h: VpaEstimator(k, s, 0.90),
    "vpa-p95": lambda k, s, h: VpaEstimator(k, s, 0.95),
    "koordinator": lambda k, s, h: KoordinatorEstimator(k, s),
    "katalyst": lambda k, s, h: KatalystEstimator(k, s),
}
BASELINES = ("vpa-p90", "vpa-p95", "koordinator", "katalyst")


def future_max(row: np.ndarray, h: int) -> np.ndarray:
    """out[i] = nanmax(row[i+1 : i+1+h]) (NaN when all missing), for one series."""
    padded = np.concatenate([row[1:], np.full(h, np.nan)])
    windows = np.lib.stride_tricks.sliding_window_view(padded, h)[: len(row)]
    with np.errstate(all="ignore"):
        out = np.full(len(row), np.nan)
        has = ~np.all(np.isnan(windows), axis=1)
        out[has] = np.nanmax(windows[has], axis=1)
    return out


@dataclass(frozen=True)
class Score:
    violation_rate: float
    reclaim_efficiency: float
    points: int


@dataclass(frozen=True)
class Evaluation:
    scores: dict[str, Score]
    series: int
    grid: Grid
    predictions: dict[str, np.ndarray]  # [K, T] each, NaN where not predicting
    truth: np.ndarray  # [K, T]
    scored: np.ndarray  # [K, T] bool


def evaluate(
    grid: Grid,
    *,
    horizon_s: float = 600.0,
    warmup_s: float = 3600.0,
    estimators: Sequence[str] = tuple(ESTIMATORS),
) -> Evaluation:
    k, t_count = grid.values.shape
    unknown = [e for e in estimators if e not in ESTIMATORS]
    if unknown:
        raise ValueError(f"unknown estimators {unknown}; known: {sorted(ESTIMATORS)}")
    if horizon_s < grid.step_s:
        raise ValueError(f"horizon {horizon_s} s is shorter than the sampling step {grid.step_s} s")
    models = [ESTIMATORS[e](k, grid.step_s, horizon_s) for e in estimators]
    preds = {e: np.full((k, t_count), np.nan) for e in estimators}
    present = ~np.isnan(grid.values)
    for i in range(t_count):
        mask = present[:, i]
        if not mask.any():
            continue
        vals = np.where(mask, grid.values[:, i], 0.0)
        t = float(grid.times[i])
        for name, model in zip(estimators, models, strict=True):
            p = model.update(vals, t, mask)
            preds[name][mask, i] = p[mask]
    h = max(1, math.floor(horizon_s / grid.step_s))
    truth = np.vstack([future_max(grid.values[r], h) for r in range(k)])
    first = np.argmax(present, axis=1)
    start_t = grid.times[first]
    scored = present & ~np.isnan(truth) & (grid.times[None, :] >= (start_t + warmup_s)[:, None])
    scores: dict[str, Score] = {}
    idle = 1.0 - truth[scored]
    for name in estimators:
        p = preds[name][scored]
        a = truth[scored]
        n = int(scored.sum())
        if n == 0:
            scores[name] = Score(float("nan"), float("nan"), 0)
            continue
        violations = float(np.mean(a > p + 1e-9))
        reclaimed = np.clip(1.0 - p, 0.0, 1.0)
        mean_idle = float(np.mean(idle))
        eff = float(np.mean(reclaimed)) / mean_idle if mean_idle > 0 else float("nan")
        scores[name] = Score(violations, eff, n)
    return Evaluation(scores, k, grid, preds, truth, scored)

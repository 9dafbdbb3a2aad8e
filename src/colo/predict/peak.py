"""Asymmetric peak estimator: rises at once, releases slowly. Vectorized over K.

For each series k, at an update at time ``t`` (previous update at ``t_prev``, Δ = t − t_prev):

    target_k   = max( P_q(decaying histogram_k),  max(last ``window`` samples_k) )
    estimate_k = target_k + max(0, estimate_prev_k − target_k) · 2^(−Δ / release_half_life_s)

* Rise: the newest sample is in the window, so ``estimate ≥ sample`` at that very update.
* Release: after a drop, the excess over the target halves every ``release_half_life_s``
  (closed form: with a constant target T after a fall from E, estimate(t) =
  T + (E − T)·2^(−(t − t_drop)/h_r), once the high samples have left the window and the
  histogram percentile).
* ``percentile=None`` drops the histogram term (target = window max only).

Time is a parameter; the estimator never reads a clock.
"""

from __future__ import annotations

import math

import numpy as np

from colo.predict.bank import HistogramBank
from colo.predict.options import HistogramOptions


def release(
    previous: np.ndarray, target: np.ndarray, last_s: np.ndarray, now_s: float, half_life_s: float
) -> np.ndarray:
    """The asymmetric step: rise to `target` at once; above it, the excess of `previous`
    halves every `half_life_s` since each series' last sample (`last_s`; NaN: first)."""
    fresh = np.isnan(last_s)
    age = now_s - np.where(fresh, now_s, last_s)
    decay = np.where(fresh, 0.0, 2.0 ** (-age / half_life_s))
    return np.asarray(target + np.maximum(0.0, previous - target) * decay)


class PeakEstimatorBank:
    """K asymmetric peak estimators (one per node or pod); see module docstring."""

    def __init__(
        self,
        size: int,
        *,
        options: HistogramOptions,
        percentile: float | None = 0.95,
        window: int = 4,
        release_half_life_s: float = 600.0,
    ) -> None:
        if window < 1:
            raise ValueError(f"window must be >= 1 sample, got {window!r}")
        if not (math.isfinite(release_half_life_s) and release_half_life_s > 0):
            raise ValueError(f"release_half_life_s must be > 0, got {release_half_life_s!r}")
        if percentile is not None and not 0.0 <= percentile <= 1.0:
            raise ValueError(f"percentile must be in [0, 1], got {percentile!r}")
        self.size = size
        self.percentile = percentile
        self.release_half_life_s = release_half_life_s
        self.histograms = HistogramBank(options, size)
        self._ring = np.zeros((size, window), dtype=np.float64)
        self._pos = np.zeros(size, dtype=np.intp)
        self._estimate = np.zeros(size, dtype=np.float64)
        self._last = np.full(size, np.nan)  # per series: time of its last sample
        self._last_time_s: float | None = None

    @property
    def estimates(self) -> np.ndarray:
        """Current estimates, shape [K] (copy)."""
        return self._estimate.copy()

    def update(
        self, values: np.ndarray, time_s: float, mask: np.ndarray | None = None
    ) -> np.ndarray:
        """Feed one sample per series observed at ``time_s``; returns the new estimates.

        With ``mask``, only series where it is True take a sample (a pod that has not
        started, a node whose metrics are missing); the others keep their state, and
        their release decay later spans the whole gap since their own last sample.
        """
        values = np.asarray(values, dtype=np.float64)
        if self._last_time_s is not None and time_s < self._last_time_s:
            raise ValueError(f"time went backwards: {time_s} < {self._last_time_s}")
        rows = np.arange(self.size) if mask is None else np.flatnonzero(mask)
        self.histograms.add_samples(values, time_s, mask=mask)
        self._ring[rows, self._pos[rows]] = values[rows]
        self._pos[rows] = (self._pos[rows] + 1) % self._ring.shape[1]
        target = self._ring[rows].max(axis=1)
        if self.percentile is not None:
            target = np.maximum(target, self.histograms.percentiles(self.percentile)[rows])
        self._estimate[rows] = release(
            self._estimate[rows], target, self._last[rows], time_s, self.release_half_life_s
        )
        self._last[rows] = time_s
        self._last_time_s = time_s
        return self._estimate.copy()


class RisePeakEstimatorBank:
    """K asymmetric peak estimators whose margin is learned online from each series' rises.

    For series k, with samples every ``interval_s`` and a horizon of H = ``horizon_s``:

        level_k(t)  = max(last ``window`` samples_k up to t)
        rise_k(t)   = max(samples_k in (t, t + H]) − level_k(t)      known at t + H
        margin_k(t) = P_q_k( decaying histogram of max(0, rise_k) seen so far )
        target_k(t) = level_k(t) + margin_k(t)
        estimate_k  = target_k + max(0, estimate_prev_k − target_k) · 2^(−Δ / release_half_life_s)

    * Rise: the newest sample is in the window, so ``estimate ≥ sample`` at once.
    * The margin is how much this series has climbed above its recent level within one
      horizon, at percentile q, over a decaying past (half-life in ``options``): a
      series that never jumps gets a thin margin, a spiky one a wide margin, with no
      parameter fitted to a trace. q is the tolerated violation rate's complement
      (q = 0.95 aims at ≤ 5 % of horizons exceeding the estimate).
    * Release: as in `PeakEstimatorBank`, the excess over the target halves every
      ``release_half_life_s`` after a drop.
    * Calibration: the release and the window make the estimate safer than the margin
      alone, so q_k is steered online toward the target violation rate α = 1 − percentile
      (adaptive conformal inference): whenever an estimate's horizon has passed,
      q_k ← clip(q_k + γ · (missed − α), q_min, q_max), where missed is 1 if the
      estimate was exceeded. Nothing is fitted offline; each series calibrates itself
      from its own past.
    * Until a series has seen ``min_rises`` rises, its margin is ``cold_margin``.

    Rises are computed online: each past level waits ``H / interval_s`` samples in a ring
    while the maximum since is tracked, then its rise enters the histogram. Vectorized over
    K; ``mask`` selects the series that take a sample, as in `PeakEstimatorBank.update`.
    """

    def __init__(
        self,
        size: int,
        *,
        options: HistogramOptions,
        interval_s: float,
        horizon_s: float,
        percentile: float = 0.95,
        window: int = 4,
        release_half_life_s: float = 600.0,
        min_rises: int = 30,
        cold_margin: float = 0.0,
        adapt_rate: float = 0.005,
        q_bounds: tuple[float, float] = (0.5, 0.999),
    ) -> None:
        if window < 1:
            raise ValueError(f"window must be >= 1 sample, got {window!r}")
        if not (interval_s > 0 and horizon_s >= interval_s):
            raise ValueError(f"need 0 < interval_s <= horizon_s, got {interval_s}, {horizon_s}")
        if not 0.0 < percentile <= 1.0:
            raise ValueError(f"percentile must be in (0, 1], got {percentile!r}")
        if not (math.isfinite(release_half_life_s) and release_half_life_s > 0):
            raise ValueError(f"release_half_life_s must be > 0, got {release_half_life_s!r}")
        self.size = size
        self.percentile = percentile
        self.release_half_life_s = release_half_life_s
        self.min_rises = min_rises
        self.cold_margin = cold_margin
        self.rises = HistogramBank(options, size)
        self.alpha = 1.0 - percentile
        self.adapt_rate = adapt_rate
        self.q_bounds = q_bounds
        self.q = np.full(size, percentile)
        self._seen = np.zeros(size, dtype=np.int64)
        self._window = np.full((size, window), np.nan)
        self._wpos = np.zeros(size, dtype=np.intp)
        h = max(1, round(horizon_s / interval_s))
        self._level = np.full((size, h), np.nan)  # levels waiting for their horizon
        self._since = np.full((size, h), np.nan)  # max of samples after each level
        self._said = np.full((size, h), np.nan)  # the estimate given at each level's time
        self._hpos = np.zeros(size, dtype=np.intp)
        self._estimate = np.zeros(size, dtype=np.float64)
        self._last = np.full(size, np.nan)
        self._last_time_s: float | None = None

    # (array attribute, value of a new series) for every per-series array
    _FRESH = (
        ("q", None),
        ("_seen", 0),
        ("_window", np.nan),
        ("_wpos", 0),
        ("_level", np.nan),
        ("_since", np.nan),
        ("_said", np.nan),
        ("_hpos", 0),
        ("_estimate", 0.0),
        ("_last", np.nan),
    )

    def grow(self, size: int) -> None:
        """Append new series up to ``size``; existing series keep their state.

        A new series is exactly what the constructor makes: no samples, no rises, q at
        ``percentile``.
        """
        if size < self.size:
            raise ValueError(f"a bank only grows: {size!r} < {self.size}")
        extra = size - self.size
        for name, fresh in self._FRESH:
            old = getattr(self, name)
            value = self.percentile if fresh is None else fresh
            pad = np.full((extra, *old.shape[1:]), value, dtype=old.dtype)
            setattr(self, name, np.concatenate([old, pad]))
        self.rises.grow(size)
        self.size = size

    def reset(self, rows: np.ndarray) -> None:
        """Make the series ``rows`` (indices) new again (a slot handed to another pod)."""
        for name, fresh in self._FRESH:
            getattr(self, name)[rows] = self.percentile if fresh is None else fresh
        self.rises.clear(rows)

    @property
    def estimates(self) -> np.ndarray:
        return self._estimate.copy()

    @property
    def warm(self) -> np.ndarray:
        """Per series: has it seen `min_rises` rises (is its margin learned)?"""
        return np.asarray(self._seen >= self.min_rises)

    def margins(self) -> np.ndarray:
        """Current learned margin per series (``cold_margin`` until enough rises)."""
        m = self.rises.percentiles(self.q)
        return np.where(self.warm, m, self.cold_margin)

    def update(
        self, values: np.ndarray, time_s: float, mask: np.ndarray | None = None
    ) -> np.ndarray:
        values = np.asarray(values, dtype=np.float64)
        if self._last_time_s is not None and time_s < self._last_time_s:
            raise ValueError(f"time went backwards: {time_s} < {self._last_time_s}")
        rows = np.arange(self.size) if mask is None else np.flatnonzero(mask)
        v = values[rows]
        # 1. the new sample extends every waiting level's "max since"
        since = self._since[rows]
        self._since[rows] = np.fmax(since, v[:, None])
        # 2. the oldest waiting level has seen its whole horizon: record its rise
        hp = self._hpos[rows]
        old_level = self._level[rows, hp]
        old_since = self._since[rows, hp]
        done = ~np.isnan(old_level) & ~np.isnan(old_since)
        if done.any():
            rise = np.zeros(self.size)
            rise[rows[done]] = np.maximum(0.0, old_since[done] - old_level[done])
            take = np.zeros(self.size, dtype=bool)
            take[rows[done]] = True
            self.rises.add_samples(rise, time_s, mask=take)
            self._seen[rows[done]] += 1
            said = self._said[rows, hp]
            judged = done & ~np.isnan(said)
            if judged.any():
                missed = (old_since[judged] > said[judged] + 1e-12).astype(np.float64)
                r = rows[judged]
                lo, hi = self.q_bounds
                self.q[r] = np.clip(self.q[r] + self.adapt_rate * (missed - self.alpha), lo, hi)
        # 3. the level now, from the short window
        self._window[rows, self._wpos[rows]] = v
        self._wpos[rows] = (self._wpos[rows] + 1) % self._window.shape[1]
        level = np.nanmax(self._window[rows], axis=1)
        # 4. this level waits its horizon in the slot just freed
        self._level[rows, hp] = level
        self._since[rows, hp] = np.nan
        self._hpos[rows] = (hp + 1) % self._level.shape[1]
        # 5. target and asymmetric release
        target = level + self.margins()[rows]
        self._estimate[rows] = release(
            self._estimate[rows], target, self._last[rows], time_s, self.release_half_life_s
        )
        # judged once this slot's horizon has passed (only warm estimates count)
        self._said[rows, hp] = np.where(self.warm[rows], self._estimate[rows], np.nan)
        self._last[rows] = time_s
        self._last_time_s = time_s
        return self._estimate.copy()

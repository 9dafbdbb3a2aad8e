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
        self._pos = 0
        self._estimate = np.zeros(size, dtype=np.float64)
        self._last_time_s: float | None = None

    @property
    def estimates(self) -> np.ndarray:
        """Current estimates, shape [K] (copy)."""
        return self._estimate.copy()

    def update(self, values: np.ndarray, time_s: float) -> np.ndarray:
        """Feed one sample per series observed at ``time_s``; returns the new estimates."""
        values = np.asarray(values, dtype=np.float64)
        if self._last_time_s is not None and time_s < self._last_time_s:
            raise ValueError(f"time went backwards: {time_s} < {self._last_time_s}")
        self.histograms.add_samples(values, time_s)
        self._ring[:, self._pos] = values
        self._pos = (self._pos + 1) % self._ring.shape[1]
        target = self._ring.max(axis=1)
        if self.percentile is not None:
            target = np.maximum(target, self.histograms.percentiles(self.percentile))
        if self._last_time_s is None:
            self._estimate = target
        else:
            decay = 2.0 ** (-(time_s - self._last_time_s) / self.release_half_life_s)
            self._estimate = target + np.maximum(0.0, self._estimate - target) * decay
        self._last_time_s = time_s
        return self._estimate.copy()

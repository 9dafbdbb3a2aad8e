"""A plain weighted histogram over exponentially growing buckets (no decay).

``percentile(p)`` definition: with bucket weights ``w_0..w_{n-1}`` and total ``W``, it is
the *upper bound* of the first bucket ``i`` whose cumulative weight ``w_0 + … + w_i``
reaches ``p·W`` (for p = 0, the first non-empty bucket). Empty histogram → 0.0.
Upper bounds are used so that an estimate is never below the samples in its bucket.
"""

from __future__ import annotations

import math

import numpy as np

from colo.predict.options import HistogramOptions


def percentile_of(weights: np.ndarray, ends: np.ndarray, p: float) -> float:
    """Percentile of a 1-D weight vector by the rule in the module docstring."""
    if not (0.0 <= p <= 1.0):
        raise ValueError(f"percentile p must be in [0, 1], got {p!r}")
    cum = np.cumsum(weights)
    total = float(cum[-1])
    if total <= 0.0:
        return 0.0
    # The first index with cum >= p·W and cum > 0 always holds weight: an empty bucket
    # repeats its predecessor's cumulative sum, so the predecessor would match first.
    i = int(np.argmax((cum >= p * total) & (cum > 0)))
    return float(ends[i])


class Histogram:
    """Weighted samples in buckets laid out by ``options``."""

    def __init__(self, options: HistogramOptions) -> None:
        self.options = options
        self._weights = np.zeros(options.num_buckets, dtype=np.float64)

    def add_weight(self, value: float, weight: float) -> None:
        """Add ``weight`` (finite, >= 0) to the bucket of ``value``."""
        if not (math.isfinite(weight) and weight >= 0):
            raise ValueError(f"sample weight must be finite and >= 0, got {weight!r}")
        self._weights[self.options.find_bucket(value)] += weight

    def percentile(self, p: float) -> float:
        return percentile_of(self._weights, self.options.bucket_ends(), p)

    def raw_total(self) -> float:
        return float(self._weights.sum())

    def is_empty(self) -> bool:
        return not bool((self._weights > 0).any())

    @property
    def weights(self) -> np.ndarray:
        """Copy of the bucket weights (scaled by the owner's reference factor, if any)."""
        return self._weights.copy()

"""Bucket layout of a decaying histogram: exponentially growing bucket widths.

Bucket ``i`` covers ``[first·(r^i − 1)/(r − 1), first·(r^(i+1) − 1)/(r − 1))`` where
``first`` is the width of bucket 0 and ``r`` the growth ratio; so bucket ``i`` has width
``first·r^i``. A value ``v`` lies in bucket ``floor(log(1 + v·(r − 1)/first) / log r)``,
clamped to the last bucket. ``num_buckets`` is the smallest count whose last bucket
contains ``max_value``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class HistogramOptions:
    """Validated bucket layout. Caller bugs (bad numbers) raise ValueError."""

    max_value: float = 1000.0
    first_bucket_size: float = 0.01
    ratio: float = 1.05
    half_life_s: float = 86_400.0
    num_buckets: int = field(init=False)
    _starts: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for name in ("max_value", "first_bucket_size", "half_life_s"):
            v = getattr(self, name)
            if not (math.isfinite(v) and v > 0):
                raise ValueError(f"HistogramOptions.{name} must be finite and > 0, got {v!r}")
        if not (math.isfinite(self.ratio) and self.ratio > 1):
            raise ValueError(f"HistogramOptions.ratio must be finite and > 1, got {self.ratio!r}")
        n = math.floor(self._raw_index(self.max_value)) + 1
        object.__setattr__(self, "num_buckets", n)
        i = np.arange(n + 1, dtype=np.float64)
        starts = self.first_bucket_size * (self.ratio**i - 1) / (self.ratio - 1)
        object.__setattr__(self, "_starts", starts)

    def _raw_index(self, value: float) -> float:
        return math.log1p(value * (self.ratio - 1) / self.first_bucket_size) / math.log(self.ratio)

    def bucket_start(self, i: int) -> float:
        """Lower bound of bucket ``i``: first·(r^i − 1)/(r − 1)."""
        return (
            float(self._starts[i])
            if 0 <= i <= self.num_buckets
            else (self.first_bucket_size * (self.ratio**i - 1) / (self.ratio - 1))
        )

    def bucket_end(self, i: int) -> float:
        """Upper bound (exclusive) of bucket ``i``."""
        return self.bucket_start(i + 1)

    def find_bucket(self, value: float) -> int:
        """Index of the bucket holding ``value`` (values ≥ max go to the last bucket)."""
        if math.isnan(value) or value < 0:
            raise ValueError(f"histogram value must be >= 0 and not NaN, got {value!r}")
        return int(self.find_buckets(np.array([value], dtype=np.float64))[0])

    def find_buckets(self, values: np.ndarray) -> np.ndarray:
        """Vectorized ``find_bucket``; ``values`` must be >= 0 and not NaN."""
        raw = np.log1p(values * ((self.ratio - 1) / self.first_bucket_size)) / math.log(self.ratio)
        idx = np.floor(raw).astype(np.intp)
        np.clip(idx, 0, self.num_buckets - 1, out=idx)
        # Correct floating error at bucket boundaries against the exact bounds.
        starts = self._starts
        idx -= (values < starts[idx]) & (idx > 0)
        idx += (values >= starts[idx + 1]) & (idx < self.num_buckets - 1)
        return idx

    def bucket_ends(self) -> np.ndarray:
        """Upper bounds of all buckets, shape [num_buckets]."""
        return np.array(self._starts[1:], dtype=np.float64)

    def to_dict(self) -> dict[str, float]:
        return {
            "max_value": self.max_value,
            "first_bucket_size": self.first_bucket_size,
            "ratio": self.ratio,
            "half_life_s": self.half_life_s,
        }

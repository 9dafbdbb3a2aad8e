"""K decaying histograms in one [K, buckets] array, updated in one vectorized call.

All K share the options and one reference time ``t_ref``; a sample of weight ``w`` at
``t`` is stored as ``w·2^((t − t_ref)/h)`` exactly as in ``colo.predict.decaying``, and the
whole bank is renormalised (``t_ref`` moved to ``t``, all weights scaled by
``2^(−Δ/h)``) when the exponent would pass ``MAX_DECAY_EXPONENT``. Percentiles follow
``colo.predict.histogram``'s rule, row by row.

Layout: ``float32`` by default (half the memory of float64; relative weight precision of
2^-24 is far below what a percentile of ~10⁴ samples can resolve). With decay, a bucket's sum
stays within ≈ (samples per half-life)/ln 2 of the newest stored sample, so new samples
never vanish below float32 resolution; stored weights peak near 2^100 ≈ 1.3e30, far
under float32's 3.4e38. Updates scatter
into the flattened array with ``np.add.at`` at flat index ``k·buckets + bucket``; in
``bench/histogram_bank.py`` (K = 100k) it took ≈0.5 ms against ≈0.7 ms for fancy-index
``+=`` and ≈15 ms for a full-size ``np.bincount``, so ``add.at`` it is.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt

from colo.core.errors import InvalidInput
from colo.predict.decaying import (
    MAX_DECAY_EXPONENT,
    DecayingHistogram,
    checkpoint_of,
    parse_checkpoint,
)
from colo.predict.options import HistogramOptions


def cumulative_weights(weights: np.ndarray) -> np.ndarray:
    """Running sums of each row of ``weights`` [K, buckets], in float64, transposed:
    [buckets, K], ``out[i, k] = w[k, 0] + … + w[k, i]`` added left to right.

    The same numbers as ``np.cumsum(weights, axis=1, dtype=np.float64).T`` (an
    accumulation adds in that order too), a few times faster: one vector add per bucket
    over all K rows instead of K short accumulations (`tests/predict/test_bank.py`).
    """
    cum = np.array(weights.T, dtype=np.float64, order="C")
    for i in range(1, len(cum)):
        np.add(cum[i - 1], cum[i], out=cum[i])
    return cum


class HistogramBank:
    """``size`` decaying histograms sharing ``options`` and a reference time."""

    def __init__(
        self,
        options: HistogramOptions,
        size: int,
        *,
        reference_time_s: float = 0.0,
        dtype: npt.DTypeLike = np.float32,
    ) -> None:
        if size < 0:
            raise ValueError(f"bank size must be >= 0, got {size!r}")
        if not math.isfinite(reference_time_s):
            raise ValueError(f"reference_time_s must be finite, got {reference_time_s!r}")
        self.options = options
        self.size = size
        self.reference_time_s = float(reference_time_s)
        self.weights = np.zeros((size, options.num_buckets), dtype=dtype)
        self._ends = options.bucket_ends()
        self._row_offsets = np.arange(size, dtype=np.intp) * options.num_buckets

    @property
    def nbytes(self) -> int:
        """Bytes held by the bank's arrays."""
        return int(self.weights.nbytes + self._row_offsets.nbytes + self._ends.nbytes)

    def grow(self, size: int) -> None:
        """Append empty histograms up to ``size`` rows; existing rows keep their weights."""
        if size < self.size:
            raise ValueError(f"a bank only grows: {size!r} < {self.size}")
        extra = np.zeros((size - self.size, self.options.num_buckets), dtype=self.weights.dtype)
        self.weights = np.concatenate([self.weights, extra])
        self.size = size
        self._row_offsets = np.arange(size, dtype=np.intp) * self.options.num_buckets

    def clear(self, rows: np.ndarray) -> None:
        """Empty the histograms ``rows`` (indices), as if new."""
        self.weights[rows] = 0

    def _shift_reference(self, new_ref_s: float) -> None:
        scale = 2.0 ** ((self.reference_time_s - new_ref_s) / self.options.half_life_s)
        self.weights *= self.weights.dtype.type(scale)
        self.reference_time_s = float(new_ref_s)

    def add_samples(
        self,
        values: np.ndarray,
        time_s: float,
        weights: np.ndarray | None = None,
        mask: np.ndarray | None = None,
    ) -> None:
        """Add one sample to each histogram k (where ``mask[k]``) at ``time_s``.

        ``values`` shape [K], >= 0, not NaN; ``weights`` [K] finite >= 0 (default 1).
        """
        if not math.isfinite(time_s):
            raise ValueError(f"time_s must be finite, got {time_s!r}")
        values = np.asarray(values, dtype=np.float64)
        if values.shape != (self.size,):
            raise ValueError(f"values must have shape ({self.size},), got {values.shape}")
        checked = values if mask is None else values[np.asarray(mask, dtype=bool)]
        if np.isnan(checked).any() or (checked < 0).any():
            raise ValueError("values must be >= 0 and not NaN (where mask is set)")
        h = self.options.half_life_s
        if (time_s - self.reference_time_s) / h > MAX_DECAY_EXPONENT:
            self._shift_reference(time_s)
        factor = 2.0 ** ((time_s - self.reference_time_s) / h)
        flat = self._row_offsets + self.options.find_buckets(np.nan_to_num(values))
        if weights is None:
            w: np.ndarray = np.full(self.size, factor)
        else:
            w = np.asarray(weights, dtype=np.float64)
            if w.shape != (self.size,) or not np.isfinite(w).all() or (w < 0).any():
                raise ValueError(f"weights must be finite, >= 0 and shape ({self.size},)")
            w = w * factor
        if mask is not None:
            m = np.asarray(mask, dtype=bool)
            flat, w = flat[m], w[m]
        np.add.at(self.weights.reshape(-1), flat, w.astype(self.weights.dtype))

    def percentiles(self, p: float | np.ndarray) -> np.ndarray:
        """Per-histogram percentile (upper bucket bound), shape [K]; 0.0 for empty rows.

        `p` is one level for all rows or one per row (shape [K]).
        """
        levels = np.asarray(p, dtype=np.float64)
        if levels.ndim not in (0, 1) or (levels.ndim == 1 and levels.shape != (self.size,)):
            raise ValueError(f"percentile p must be a number or shape ({self.size},)")
        if not ((levels >= 0.0) & (levels <= 1.0)).all():
            raise ValueError(f"percentile p must be in [0, 1], got {p!r}")
        cum = cumulative_weights(self.weights)  # [buckets, K]
        total = cum[-1]
        thresholds = levels * total
        hit = (cum >= thresholds) & (cum > 0)
        idx = np.argmax(hit, axis=0)
        out = self._ends[idx]
        out[total <= 0] = 0.0
        return np.asarray(out, dtype=np.float64)

    def total_weights(self, now_s: float | None = None) -> np.ndarray:
        raw = self.weights.sum(axis=1, dtype=np.float64)
        if now_s is None:
            return np.asarray(raw, dtype=np.float64)
        scale = 2.0 ** ((now_s - self.reference_time_s) / self.options.half_life_s)
        return np.asarray(raw / scale, dtype=np.float64)

    def histogram(self, k: int) -> DecayingHistogram:
        """A copy of histogram ``k`` as a standalone ``DecayingHistogram``."""
        return DecayingHistogram.from_weights(
            self.options, self.weights[k].astype(np.float64), self.reference_time_s
        )

    def to_checkpoint(self) -> dict[str, Any]:
        """JSON-able: ``{"version", "size", "histograms": [per-row checkpoint, ...]}``."""
        return {
            "version": 1,
            "size": self.size,
            "histograms": [
                checkpoint_of(self.options, self.weights[k], self.reference_time_s)
                for k in range(self.size)
            ],
        }

    @classmethod
    def from_checkpoint(cls, data: object, options: HistogramOptions) -> HistogramBank:
        """Rebuild a bank; corrupt data raises ``InvalidInput``."""
        obj = "histogram bank checkpoint"
        if not isinstance(data, dict):
            raise InvalidInput("not a mapping", obj=obj, value=type(data).__name__)
        for key in ("version", "size", "histograms"):
            if key not in data:
                raise InvalidInput("missing key", obj=obj, field=key)
        if data["version"] != 1:
            raise InvalidInput(
                "unsupported version", obj=obj, field="version", value=data["version"], expected="1"
            )
        rows = data["histograms"]
        if not isinstance(rows, list) or len(rows) != data["size"]:
            raise InvalidInput(
                "histograms must be a list of length size", obj=obj, field="histograms"
            )
        ref = 0.0
        bank: HistogramBank | None = None
        for k, row in enumerate(rows):
            r, w = parse_checkpoint(row, options)
            if bank is None:
                ref = r
                bank = cls(options, len(rows), reference_time_s=ref)
            elif r != ref:
                raise InvalidInput(
                    "reference times differ",
                    obj=obj,
                    field=f"histograms[{k}].reference_time_s",
                    value=r,
                    expected=str(ref),
                )
            bank.weights[k] = w
        return bank if bank is not None else cls(options, 0)

"""A histogram whose sample weights halve every ``half_life_s`` seconds.

Math. A sample of weight ``w`` added at time ``t`` should count ``w·2^(−(now − t)/h)`` at
``now``. Instead of touching every bucket as time passes, we store it scaled relative to a
reference time ``t_ref``: ``stored = w·2^((t − t_ref)/h)``. All stored weights share the
factor ``2^(−(now − t_ref)/h)``, so ratios, and therefore percentiles, need no decay step:
two samples Δt apart have stored weights in ratio exactly ``2^(Δt/h)``.

Renormalisation. ``2^((t − t_ref)/h)`` grows without bound as time advances and would
overflow float64 (≈2^1024). When the exponent for a new sample exceeds
``MAX_DECAY_EXPONENT`` (100), ``t_ref`` moves forward to ``t`` and every stored weight is
multiplied by ``2^(−(t − t_ref_old)/h)``; this is the same constant for all buckets, so
percentiles are unchanged (only weights that underflow towards 0 are lost, and those are
≥ 2^100 times smaller than the newest sample).

Time is a parameter; nothing here reads a clock.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from colo.core.errors import InvalidInput
from colo.predict.histogram import Histogram
from colo.predict.options import HistogramOptions

MAX_DECAY_EXPONENT = 100.0
CHECKPOINT_VERSION = 1
CHECKPOINT_MAX_WEIGHT = 10_000


class DecayingHistogram:
    """Exponentially decaying histogram; see the module docstring for the math."""

    def __init__(self, options: HistogramOptions, reference_time_s: float = 0.0) -> None:
        if not math.isfinite(reference_time_s):
            raise ValueError(f"reference_time_s must be finite, got {reference_time_s!r}")
        self.options = options
        self._hist = Histogram(options)
        self.reference_time_s = float(reference_time_s)

    def _factor(self, time_s: float) -> float:
        return float(2.0 ** ((time_s - self.reference_time_s) / self.options.half_life_s))

    def _shift_reference(self, new_ref_s: float) -> None:
        scale = 2.0 ** ((self.reference_time_s - new_ref_s) / self.options.half_life_s)
        self._hist._weights *= scale
        self.reference_time_s = float(new_ref_s)

    def add_sample(self, value: float, weight: float, time_s: float) -> None:
        """Add ``value`` with ``weight`` observed at ``time_s`` (seconds, any epoch)."""
        if not math.isfinite(time_s):
            raise ValueError(f"time_s must be finite, got {time_s!r}")
        if (time_s - self.reference_time_s) / self.options.half_life_s > MAX_DECAY_EXPONENT:
            self._shift_reference(time_s)
        self._hist.add_weight(value, weight * self._factor(time_s))

    def percentile(self, p: float) -> float:
        """Upper bound of the bucket where cumulative weight reaches ``p`` (0.0 if empty)."""
        return self._hist.percentile(p)

    def total_weight(self, now_s: float | None = None) -> float:
        """Sum of decayed weights at ``now_s`` (default: at the reference time)."""
        raw = self._hist.raw_total()
        return raw if now_s is None else raw / self._factor(now_s)

    def is_empty(self) -> bool:
        return self._hist.is_empty()

    def weights(self, now_s: float | None = None) -> np.ndarray:
        """Bucket weights decayed to ``now_s`` (default: at the reference time)."""
        w = self._hist.weights
        return w if now_s is None else w / self._factor(now_s)

    def merge(self, other: DecayingHistogram) -> None:
        """Add all of ``other``'s samples (same options), aligning reference times."""
        if other.options != self.options:
            raise ValueError(
                f"cannot merge histograms with options {other.options} into {self.options}"
            )
        ref = max(self.reference_time_s, other.reference_time_s)
        if ref > self.reference_time_s:
            self._shift_reference(ref)
        scale = 2.0 ** ((other.reference_time_s - ref) / self.options.half_life_s)
        self._hist._weights += other._hist._weights * scale

    @classmethod
    def from_weights(
        cls, options: HistogramOptions, weights: np.ndarray, reference_time_s: float
    ) -> DecayingHistogram:
        h = cls(options, reference_time_s)
        h._hist._weights[:] = weights
        return h

    def to_checkpoint(self) -> dict[str, Any]:
        """JSON-able dict; weights scaled so the largest bucket is 10000, zeros dropped."""
        return checkpoint_of(self.options, self._hist._weights, self.reference_time_s)

    @classmethod
    def from_checkpoint(cls, data: object, options: HistogramOptions) -> DecayingHistogram:
        """Inverse of ``to_checkpoint``; corrupt data raises ``InvalidInput``."""
        ref, w = parse_checkpoint(data, options)
        return cls.from_weights(options, w, ref)


def checkpoint_of(
    options: HistogramOptions, weights: np.ndarray, reference_time_s: float
) -> dict[str, Any]:
    top = float(weights.max()) if weights.size else 0.0
    buckets: dict[str, int] = {}
    if top > 0:
        scaled = np.rint(weights * (CHECKPOINT_MAX_WEIGHT / top)).astype(np.int64)
        for i in np.nonzero(scaled)[0]:
            buckets[str(int(i))] = int(scaled[i])
    return {
        "version": CHECKPOINT_VERSION,
        "options": options.to_dict(),
        "reference_time_s": reference_time_s,
        "buckets": buckets,
    }


def parse_checkpoint(data: object, options: HistogramOptions) -> tuple[float, np.ndarray]:
    """Validate a checkpoint dict → (reference time, weights). Raises ``InvalidInput``."""
    obj = "histogram checkpoint"
    if not isinstance(data, dict):
        raise InvalidInput("not a mapping", obj=obj, value=type(data).__name__)
    for key in ("version", "options", "reference_time_s", "buckets"):
        if key not in data:
            raise InvalidInput("missing key", obj=obj, field=key)
    if data["version"] != CHECKPOINT_VERSION:
        raise InvalidInput(
            "unsupported version",
            obj=obj,
            field="version",
            value=data["version"],
            expected=str(CHECKPOINT_VERSION),
        )
    if data["options"] != options.to_dict():
        raise InvalidInput(
            "options mismatch",
            obj=obj,
            field="options",
            value=data["options"],
            expected=str(options.to_dict()),
        )
    ref = data["reference_time_s"]
    if isinstance(ref, bool) or not isinstance(ref, int | float) or not math.isfinite(ref):
        raise InvalidInput(
            "bad reference time",
            obj=obj,
            field="reference_time_s",
            value=ref,
            expected="a finite number",
        )
    buckets = data["buckets"]
    if not isinstance(buckets, dict):
        raise InvalidInput("not a mapping", obj=obj, field="buckets", value=type(buckets).__name__)
    w = np.zeros(options.num_buckets, dtype=np.float64)
    for key, val in buckets.items():
        try:
            i = int(key)
        except (TypeError, ValueError):
            raise InvalidInput(
                "bucket index is not an integer", obj=obj, field="buckets", value=key
            ) from None
        if not 0 <= i < options.num_buckets:
            raise InvalidInput(
                "bucket index out of range",
                obj=obj,
                field=f"buckets[{key}]",
                value=i,
                expected=f"0..{options.num_buckets - 1}",
            )
        if isinstance(val, bool) or not isinstance(val, int):
            raise InvalidInput(
                "bucket weight is not an integer", obj=obj, field=f"buckets[{key}]", value=val
            )
        if val < 0:
            raise InvalidInput(
                "negative bucket weight",
                obj=obj,
                field=f"buckets[{key}]",
                value=val,
                expected=">= 0",
            )
        w[i] = val
    return float(ref), w

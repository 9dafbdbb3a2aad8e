"""The reporting loop's options: the peak estimator's, and the whole loop's paced by one
interval (`ReportingOptions.every`). Constructors validate; a bad value raises
InvalidInput naming the field.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from colo.agent.report import ReportOptions
from colo.core.errors import InvalidInput
from colo.predict.reclaim import ReclaimOptions, ReclaimPolicy


@dataclass(frozen=True, slots=True)
class PeakOptions:
    """The per-pod online cpu peak estimator (`RisePeakEstimatorBank`).

    `horizon_s`: how far ahead the estimate must hold (at least one interval is used).
    `percentile`: of the learned rises; 1 − percentile is the tolerated miss rate.
    `recent_s`: the window whose maximum is the level (cpu) and the peak (memory).
    `release_half_life_s`: after a drop, the excess over the target halves this often.
    `history_half_life_s`: how fast old rises fade from the margin's histogram.
    `first_bucket_cores`, `bucket_ratio`: the rises' histogram buckets (cores).
    `max_cores`: the largest rise the histogram resolves; None: the largest node's cores.
    `min_rises`: rises a pod's estimator must see before its estimate is used.
    """

    horizon_s: float = 600.0
    percentile: float = 0.95
    recent_s: float = 300.0
    release_half_life_s: float = 600.0
    history_half_life_s: float = 24 * 3600.0
    first_bucket_cores: float = 0.01
    bucket_ratio: float = 1.05
    max_cores: float | None = None
    min_rises: int = 30

    def __post_init__(self) -> None:
        for name in ("horizon_s", "recent_s", "release_half_life_s", "history_half_life_s"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise InvalidInput(
                    "must be a positive number of seconds",
                    obj="peak options",
                    field=name,
                    value=value,
                )
        if not 0.0 < self.percentile <= 1.0:
            raise InvalidInput(
                "out of range",
                obj="peak options",
                field="percentile",
                value=self.percentile,
                expected="a fraction in (0, 1]",
            )
        if self.min_rises < 0:
            raise InvalidInput(
                "must not be negative", obj="peak options", field="min_rises", value=self.min_rises
            )


@dataclass(frozen=True, slots=True)
class ReportingOptions:
    """Everything the loop needs; `every(interval_s, ...)` paces them by one interval.

    `heartbeats=False` makes the loop emit no `Renew` at all: for a driver whose cluster
    has no heartbeat leases (the simulator), where each would only be thrown away after
    paying for a `compute` explanation.
    """

    interval_s: float
    peak: PeakOptions = field(default_factory=PeakOptions)
    reclaim: ReclaimOptions = field(default_factory=ReclaimOptions)
    report: ReportOptions = field(default_factory=ReportOptions)
    heartbeats: bool = True

    def __post_init__(self) -> None:
        if not (math.isfinite(self.interval_s) and self.interval_s > 0):
            raise InvalidInput(
                "must be a positive number of seconds",
                obj="reporting options",
                field="interval_s",
                value=self.interval_s,
            )

    @classmethod
    def every(
        cls,
        interval_s: float,
        *,
        peak: PeakOptions | None = None,
        cpu_policy: ReclaimPolicy = ReclaimPolicy.USAGE,
        memory_policy: ReclaimPolicy = ReclaimPolicy.USAGE,
        safety_margin: float = 0.10,
        min_history_s: float = 1800.0,
        threshold: float = 0.05,
        heartbeats: bool = True,
    ) -> ReportingOptions:
        """Sample and report every `interval_s`: metrics go stale after 3 intervals, a
        rise is published at most once per interval, a heartbeat every interval (a
        monitor calls the agent silent after 4)."""
        return cls(
            interval_s=interval_s,
            peak=peak or PeakOptions(),
            reclaim=ReclaimOptions(
                cpu_policy=cpu_policy,
                memory_policy=memory_policy,
                safety_margin=safety_margin,
                min_history_s=min_history_s,
                stale_after_s=3 * interval_s,
            ),
            report=ReportOptions(
                threshold=threshold,
                min_interval_s=interval_s,
                heartbeat_interval_s=interval_s,
                heartbeat_timeout_s=4 * interval_s,
            ),
            heartbeats=heartbeats,
        )

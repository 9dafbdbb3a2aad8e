"""Which pending pod goes first: priority, aged so that low priority is not starved.

effective priority = priority + aging_per_s × seconds waited (capped at `max_boost`),
ties broken by arrival (FIFO). With the defaults a pod gains one priority point per
minute of waiting, so after an hour it overtakes a fresh pod 60 points above it.
"""

from __future__ import annotations

from collections.abc import Sequence

from colo.sched.requirements import Requirements


class AgingPriorityQueue:
    name = "AgingPriority"

    def __init__(self, aging_per_s: float = 1.0 / 60.0, max_boost: float = 1e9) -> None:
        if aging_per_s < 0:
            raise ValueError(f"aging_per_s must be >= 0, got {aging_per_s}")
        self.aging_per_s = aging_per_s
        self.max_boost = max_boost

    def order(self, pods: Sequence[Requirements], waited_s: Sequence[float]) -> list[int]:
        def key(i: int) -> tuple[float, int]:
            boost = min(self.max_boost, self.aging_per_s * max(0.0, waited_s[i]))
            return (-(pods[i].priority + boost), i)

        return sorted(range(len(pods)), key=key)

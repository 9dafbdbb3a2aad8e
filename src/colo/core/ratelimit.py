"""Token bucket in the style of client-go's flowcontrol limiter, with time as a parameter.

The simulator feeds it simulated time; `colo.kube.transport` feeds it the event loop's
monotonic clock. Neither reads a clock here.
"""

from __future__ import annotations

import math


class RateLimiter:
    """Token bucket: `burst` tokens, refilled at `qps`; reservations are served in order.

    `reserve(now, n)` takes n tokens (the balance may go negative) and returns when the
    request may go out: now if the tokens were there, else when the refill covers them.
    """

    def __init__(self, qps: float, burst: int, now: float = 0.0) -> None:
        if qps <= 0 or burst < 1:
            raise ValueError(f"rate limiter needs qps > 0 and burst >= 1, got {qps}, {burst}")
        self.qps = qps
        self.burst = burst
        self._tokens = float(burst)
        self._at = now

    def _refill(self, now: float) -> None:
        if now > self._at:
            self._tokens = min(float(self.burst), self._tokens + (now - self._at) * self.qps)
            self._at = now

    def reserve(self, now: float, n: int = 1) -> float:
        self._refill(now)
        self._tokens -= n
        if self._tokens >= 0:
            return now
        return now + (-self._tokens) / self.qps

    def available_by(self, now: float, horizon_s: float) -> int:
        """How many single-token reservations would go out by `now + horizon_s`."""
        self._refill(now)
        return max(0, math.floor(self._tokens + horizon_s * self.qps))

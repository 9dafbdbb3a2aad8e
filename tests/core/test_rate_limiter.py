"""The client token bucket in simulated time."""

from __future__ import annotations

import pytest

from colo.core.ratelimit import RateLimiter


def test_a_burst_goes_out_at_once_and_the_rest_at_qps() -> None:
    limiter = RateLimiter(qps=10, burst=5)
    times = [limiter.reserve(0.0) for _ in range(8)]
    assert times[:5] == [0.0] * 5
    assert times[5:] == pytest.approx([0.1, 0.2, 0.3])


def test_tokens_refill_up_to_the_burst_only() -> None:
    limiter = RateLimiter(qps=1, burst=2)
    assert limiter.reserve(0.0, 2) == 0.0
    assert limiter.available_by(100.0, 0.0) == 2


def test_a_thousand_requests_at_20_qps_take_the_documented_time() -> None:
    limiter = RateLimiter(qps=20, burst=30)
    last = max(limiter.reserve(0.0) for _ in range(1000))
    assert last == pytest.approx((1000 - 30) / 20)


def test_invalid_limits_are_refused() -> None:
    with pytest.raises(ValueError):
        RateLimiter(qps=0, burst=1)

"""The rise-margin peak estimator: reacts at once, learns its margin, calibrates itself."""

from __future__ import annotations

import numpy as np
import pytest

from colo.predict import HistogramOptions
from colo.predict.peak import RisePeakEstimatorBank

OPTS = HistogramOptions(max_value=10.0, first_bucket_size=0.01, ratio=1.02, half_life_s=1e9)


def bank(**kw: object) -> RisePeakEstimatorBank:
    args: dict[str, object] = {
        "options": OPTS,
        "interval_s": 10.0,
        "horizon_s": 30.0,
        "window": 1,
        "release_half_life_s": 1e-6,  # no release memory: the target alone
        "min_rises": 5,
        "adapt_rate": 0.0,
    }
    args.update(kw)
    return RisePeakEstimatorBank(1, **args)  # type: ignore[arg-type]


def test_before_enough_rises_the_margin_is_the_cold_margin_and_a_rise_shows_at_once() -> None:
    b = bank(cold_margin=0.5)
    assert b.update(np.array([1.0]), 0.0)[0] == pytest.approx(1.5)
    assert b.update(np.array([4.0]), 10.0)[0] == pytest.approx(4.5)


def test_the_margin_is_the_percentile_of_past_rises_over_one_horizon() -> None:
    # a sawtooth 1, 1, 3, 1, 1, 3 ...: from any level, within 3 samples usage climbs to 3
    b = bank(percentile=0.95)
    t = 0.0
    for i in range(300):
        b.update(np.array([3.0 if i % 3 == 2 else 1.0]), t)
        t += 10.0
    # rises: from level 1 -> 3 (+2), from level 3 -> 3 (0); P95 of {2, 2, 0, ...} = 2
    m = b.margins()[0]
    assert m == pytest.approx(2.0, abs=0.05)
    assert b.update(np.array([1.0]), t)[0] == pytest.approx(1.0 + m)


def test_a_flat_series_learns_no_margin() -> None:
    b = bank()
    for i in range(100):
        got = b.update(np.array([2.0]), 10.0 * i)
    assert b.margins()[0] == pytest.approx(0.0, abs=0.011) and got[0] == pytest.approx(
        2.0, abs=0.011
    )


def test_calibration_steers_the_violation_rate_to_one_minus_the_percentile() -> None:
    calm = bank(adapt_rate=0.01, percentile=0.95)
    for i in range(400):  # flat: estimates are never exceeded, so q comes down
        calm.update(np.array([2.0]), 10.0 * i)
    assert calm.q[0] < 0.95
    # with release memory the estimate is far safer than its margin: uncalibrated, it is
    # never exceeded (0 %); calibrated, it is exceeded about 5 % of the time
    rng = np.random.default_rng(0)
    values = rng.uniform(0, 5, size=4000)
    future = np.array([values[i + 1 : i + 4].max() for i in range(len(values) - 3)])
    rates = []
    for adapt in (0.0, 0.01):
        b = bank(adapt_rate=adapt, percentile=0.95, q_bounds=(0.0, 1.0), release_half_life_s=30.0)
        said = np.array([b.update(values[i : i + 1], 10.0 * i)[0] for i in range(len(values))])
        rates.append(float(np.mean(future[1000:] > said[1000 : len(future)] + 1e-12)))
    assert rates[0] < 0.01
    assert 0.04 < rates[1] < 0.06, rates


def test_masked_series_take_no_sample() -> None:
    b = RisePeakEstimatorBank(
        2, options=OPTS, interval_s=10.0, horizon_s=20.0, window=2, cold_margin=0.0
    )
    b.update(np.array([1.0, 5.0]), 0.0)
    got = b.update(np.array([2.0, np.nan]), 10.0, mask=np.array([True, False]))
    assert got[1] == 5.0 and got[0] == pytest.approx(2.0)


def test_bad_parameters() -> None:
    with pytest.raises(ValueError, match="interval_s <= horizon_s"):
        RisePeakEstimatorBank(1, options=OPTS, interval_s=60.0, horizon_s=30.0)


def feed(b: RisePeakEstimatorBank, rows: list[float], t: float) -> np.ndarray:
    return b.update(np.array(rows), t)


def test_a_grown_series_is_a_fresh_one_and_the_old_series_keep_their_state() -> None:
    grown, fresh, alone = bank(), bank(), bank()
    for i in range(40):
        feed(grown, [1.0 + (i % 4)], 10.0 * i)
        feed(alone, [1.0 + (i % 4)], 10.0 * i)
    grown.grow(2)
    for i in range(40, 80):
        got = feed(grown, [1.0 + (i % 4), 2.0 + (i % 3)], 10.0 * i)
        assert got[0] == feed(alone, [1.0 + (i % 4)], 10.0 * i)[0]
        assert got[1] == feed(fresh, [2.0 + (i % 3)], 10.0 * i)[0]
    assert grown.warm.tolist() == [True, True] and grown.q[1] == fresh.q[0]


def test_a_reset_series_starts_over() -> None:
    used, fresh = bank(), bank()
    for i in range(40):
        feed(used, [5.0 * (i % 2)], 10.0 * i)
    assert used.warm[0]
    used.reset(np.array([0]))
    assert not used.warm[0] and used.estimates[0] == 0.0
    for i in range(40, 60):
        assert feed(used, [1.0], 10.0 * i)[0] == feed(fresh, [1.0], 10.0 * i)[0]


def test_a_bank_never_shrinks() -> None:
    with pytest.raises(ValueError, match="only grows"):
        bank().grow(0)

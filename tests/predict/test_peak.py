"""Asymmetric peak estimator: rises at the next sample, releases with the half-life."""

from __future__ import annotations

import numpy as np
import pytest

from colo.predict import HistogramOptions, PeakEstimatorBank

OPTS = HistogramOptions(max_value=100.0, first_bucket_size=0.1, ratio=1.05, half_life_s=3600.0)


def test_step_up_is_reflected_at_the_very_next_sample():
    est = PeakEstimatorBank(3, options=OPTS, window=4, release_half_life_s=600.0)
    for i in range(20):
        est.update(np.full(3, 2.0), 10.0 * i)
    got = est.update(np.array([2.0, 9.0, 50.0]), 200.0)
    assert got[0] < 9.0 and got[1] >= 9.0 and got[2] >= 50.0


@pytest.mark.parametrize(
    ("name", "release_half_life_s", "interval_s"),
    [("ten-minute release", 600.0, 10.0), ("one-minute release", 60.0, 5.0)],
)
def test_after_step_down_estimate_decays_with_release_half_life(
    name, release_half_life_s, interval_s
):
    est = PeakEstimatorBank(
        2, options=OPTS, percentile=None, window=1, release_half_life_s=release_half_life_s
    )
    est.update(np.array([10.0, 10.0]), 0.0)
    for n in range(1, 30):
        got = est.update(np.array([2.0, 10.0]), n * interval_s)
        expected = 2.0 + 8.0 * 2.0 ** (-n * interval_s / release_half_life_s)
        assert got[0] == pytest.approx(expected, rel=1e-12)
        assert got[1] == 10.0


def test_window_holds_the_peak_for_window_samples():
    est = PeakEstimatorBank(1, options=OPTS, percentile=None, window=3, release_half_life_s=1.0)
    est.update(np.array([10.0]), 0.0)
    assert est.update(np.array([1.0]), 100.0)[0] == 10.0
    assert est.update(np.array([1.0]), 200.0)[0] == 10.0
    assert est.update(np.array([1.0]), 300.0)[0] == pytest.approx(1.0)


def test_histogram_percentile_keeps_a_floor_under_the_estimate():
    est = PeakEstimatorBank(1, options=OPTS, percentile=0.95, window=1, release_half_life_s=1.0)
    for i in range(100):
        est.update(np.array([20.0 if i % 10 == 0 else 1.0]), 10.0 * i)
    assert est.estimates[0] >= 20.0


def test_time_going_backwards_fails_loudly():
    est = PeakEstimatorBank(1, options=OPTS)
    est.update(np.array([1.0]), 10.0)
    with pytest.raises(ValueError):
        est.update(np.array([1.0]), 5.0)


def test_masked_series_keep_their_state_and_decay_over_their_own_gap():
    est = PeakEstimatorBank(2, options=OPTS, percentile=None, window=1, release_half_life_s=100.0)
    est.update(np.array([10.0, 10.0]), 0.0)
    # series 1 has no sample for a while (NaN is fine where masked out)
    for n in range(1, 4):
        got = est.update(np.array([2.0, np.nan]), 100.0 * n, mask=np.array([True, False]))
        assert got[1] == 10.0
    got = est.update(np.array([2.0, 2.0]), 400.0)
    # series 1's excess halves once per 100 s over its 400 s gap, in one step
    assert got[1] == pytest.approx(2.0 + 8.0 * 2.0**-4, rel=1e-12)
    assert got[0] == pytest.approx(2.0 + 8.0 * 2.0**-4, rel=1e-12)

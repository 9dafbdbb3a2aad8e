"""Bucket layout, decay, renormalisation, merge and percentile rules."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from colo.predict import DecayingHistogram, HistogramBank, HistogramOptions

OPTS = HistogramOptions(max_value=100.0, first_bucket_size=1.0, ratio=2.0, half_life_s=3600.0)


@pytest.mark.parametrize(
    ("name", "first", "ratio", "index", "start", "end"),
    [
        ("bucket 0 spans the first size", 1.0, 2.0, 0, 0.0, 1.0),
        ("bucket 1 doubles the width", 1.0, 2.0, 1, 1.0, 3.0),
        ("bucket 3 follows the geometric sum", 1.0, 2.0, 3, 7.0, 15.0),
        ("small first bucket, 5% growth", 0.01, 1.05, 1, 0.01, 0.01 + 0.0105),
    ],
)
def test_bucket_boundaries_follow_geometric_sum(name, first, ratio, index, start, end):
    o = HistogramOptions(max_value=10.0, first_bucket_size=first, ratio=ratio)
    assert o.bucket_start(index) == pytest.approx(start)
    assert o.bucket_end(index) == pytest.approx(end)
    assert o.find_bucket(start) == index
    assert o.find_bucket(end - 1e-9) == index
    assert o.find_bucket(end + 1e-9) == min(index + 1, o.num_buckets - 1)


@pytest.mark.parametrize(
    ("name", "kwargs"),
    [
        ("ratio of one", {"ratio": 1.0}),
        ("negative half-life", {"half_life_s": -1.0}),
        ("zero first bucket", {"first_bucket_size": 0.0}),
        ("NaN max", {"max_value": float("nan")}),
    ],
)
def test_bad_options_fail_loudly(name, kwargs):
    with pytest.raises(ValueError):
        HistogramOptions(**kwargs)


def test_max_value_lies_in_last_bucket():
    o = HistogramOptions(max_value=1000.0, first_bucket_size=0.01, ratio=1.05)
    assert o.bucket_start(o.num_buckets - 1) <= 1000.0 < o.bucket_end(o.num_buckets - 1)
    assert o.find_bucket(1e12) == o.num_buckets - 1


def test_nan_value_fails_loudly():
    with pytest.raises(ValueError):
        DecayingHistogram(OPTS).add_sample(float("nan"), 1.0, 0.0)


@pytest.mark.parametrize("dt_s", [0.0, 1800.0, 3600.0, 7200.0, 36_000.0])
def test_two_samples_dt_apart_have_weight_ratio_two_to_dt_over_half_life(dt_s):
    h = DecayingHistogram(OPTS)
    h.add_sample(0.5, 1.0, 1000.0)  # bucket 0
    h.add_sample(2.0, 1.0, 1000.0 + dt_s)  # bucket 1
    w = h.weights()
    assert w[1] / w[0] == pytest.approx(2.0 ** (dt_s / 3600.0), rel=1e-12)


def test_percentile_shifts_towards_newer_samples_after_decay():
    h = DecayingHistogram(OPTS)
    h.add_sample(0.5, 1.0, 0.0)
    h.add_sample(10.0, 1.0, 0.0)
    assert h.percentile(0.5) == 1.0  # cumulative weight reaches 0.5 in bucket 0
    h.add_sample(10.0, 1.0, 3600.0)  # now 10.0 weighs 1 + 2 vs 1
    assert h.percentile(0.3) == 15.0
    assert h.percentile(0.25) == 1.0
    assert h.total_weight(3600.0) == pytest.approx(0.5 + 0.5 + 1.0)


def test_renormalisation_keeps_percentiles_identical():
    rng = np.random.default_rng(1)
    values = rng.uniform(0, 90, 400)
    times = np.linspace(0, 3600.0 * 300, 400)  # 300 half-lives: forces renormalisation
    long_run = DecayingHistogram(OPTS)
    for v, t in zip(values, times, strict=True):
        long_run.add_sample(float(v), 1.0, float(t))
    assert long_run.reference_time_s > 0
    # the same samples, shifted so the last lands at the reference time: exact weights
    short = DecayingHistogram(OPTS, reference_time_s=float(times[-1]))
    for v, t in zip(values, times, strict=True):
        short.add_sample(float(v), 1.0, float(t))
    for p in (0.0, 0.1, 0.5, 0.9, 0.99, 1.0):
        assert long_run.percentile(p) == short.percentile(p)


def test_merge_equals_adding_all_samples_to_one():
    a, b, both = DecayingHistogram(OPTS), DecayingHistogram(OPTS), DecayingHistogram(OPTS)
    for v, t in [(1.0, 0.0), (5.0, 100.0), (50.0, 3600.0 * 200)]:
        a.add_sample(v, 1.0, t)
        both.add_sample(v, 1.0, t)
    for v, t in [(3.0, 50.0), (20.0, 3600.0 * 150)]:
        b.add_sample(v, 2.0, t)
        both.add_sample(v, 2.0, t)
    a.merge(b)
    np.testing.assert_allclose(a.weights(0.0), both.weights(0.0), rtol=1e-9)


def test_empty_histogram_has_zero_percentile():
    h = DecayingHistogram(OPTS)
    assert h.is_empty() and h.percentile(0.95) == 0.0


samples = st.lists(
    st.tuples(
        st.floats(0, 200, allow_nan=False),
        st.floats(0.01, 10),
        st.floats(0, 3600.0 * 500),
    ),
    min_size=1,
    max_size=30,
)


@settings(max_examples=60, deadline=None)
@given(samples, st.floats(0, 1), st.floats(0, 1))
def test_percentile_is_monotone_in_p_and_within_range(xs, p, q):
    h = DecayingHistogram(OPTS)
    for v, w, t in sorted(xs, key=lambda s: s[2]):
        h.add_sample(v, w, t)
    lo, hi = sorted((p, q))
    assert h.percentile(lo) <= h.percentile(hi)
    assert OPTS.bucket_end(0) <= h.percentile(lo) <= OPTS.bucket_end(OPTS.num_buckets - 1)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.lists(st.floats(0, 150, allow_nan=False), min_size=3, max_size=3),
        min_size=1,
        max_size=12,
    ),
    st.floats(0, 1),
)
def test_bank_equals_single_histograms_fed_the_same_samples(rows, p):
    bank = HistogramBank(OPTS, 3, dtype=np.float64)
    singles = [DecayingHistogram(OPTS) for _ in range(3)]
    for step, row in enumerate(rows):
        t = step * 3600.0 * 30.0
        bank.add_samples(np.array(row), t)
        for k, v in enumerate(row):
            singles[k].add_sample(v, 1.0, t)
    got = bank.percentiles(p)
    for k in range(3):
        assert got[k] == singles[k].percentile(p)
        assert bank.histogram(k).percentile(p) == singles[k].percentile(p)

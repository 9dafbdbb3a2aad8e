"""Checkpoints round-trip within integer rounding; corrupt ones name the problem."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest

from colo.core.errors import InvalidInput
from colo.predict import DecayingHistogram, HistogramBank, HistogramOptions

OPTS = HistogramOptions(max_value=100.0, first_bucket_size=1.0, ratio=2.0, half_life_s=3600.0)


def _filled() -> DecayingHistogram:
    h = DecayingHistogram(OPTS)
    for i, v in enumerate([0.5, 2.0, 2.5, 9.0, 40.0, 99.0]):
        h.add_sample(v, 1.0 + i, 60.0 * i)
    return h


def test_round_trip_keeps_weights_within_integer_rounding():
    h = _filled()
    data = json.loads(json.dumps(h.to_checkpoint()))
    assert all(isinstance(v, int) for v in data["buckets"].values())
    assert max(data["buckets"].values()) == 10_000
    back = DecayingHistogram.from_checkpoint(data, OPTS)
    w, wb = h.weights(), back.weights()
    np.testing.assert_allclose(wb / wb.sum(), w / w.sum(), atol=1 / 10_000)
    for p in (0.1, 0.5, 0.95):
        assert back.percentile(p) == h.percentile(p)


def test_bank_round_trip():
    bank = HistogramBank(OPTS, 4)
    bank.add_samples(np.array([1.0, 5.0, 20.0, 80.0]), 10.0)
    back = HistogramBank.from_checkpoint(json.loads(json.dumps(bank.to_checkpoint())), OPTS)
    np.testing.assert_array_equal(back.percentiles(0.5), bank.percentiles(0.5))


def _set(path, value):
    def corrupt(d):
        target = d
        for key in path[:-1]:
            target = target[key]
        if value is _DELETE:
            del target[path[-1]]
        else:
            target[path[-1]] = value
        return d

    return corrupt


_DELETE = object()


@pytest.mark.parametrize(
    ("name", "corrupt", "message"),
    [
        ("wrong version", _set(["version"], 99), "unsupported version"),
        ("missing buckets", _set(["buckets"], _DELETE), "missing key"),
        ("missing reference time", _set(["reference_time_s"], _DELETE), "missing key"),
        ("negative weight", _set(["buckets", "1"], -3), "negative bucket weight"),
        ("bucket index out of range", _set(["buckets", "999"], 5), "out of range"),
        ("non-integer index", _set(["buckets", "x"], 5), "not an integer"),
        ("float weight", _set(["buckets", "1"], 2.5), "not an integer"),
        ("options mismatch", _set(["options", "ratio"], 1.5), "options mismatch"),
        ("NaN reference time", _set(["reference_time_s"], float("nan")), "bad reference"),
        ("not a mapping", lambda d: [d], "not a mapping"),
    ],
)
def test_corrupt_checkpoint_raises_invalid_input_naming_the_problem(name, corrupt, message):
    data = corrupt(copy.deepcopy(_filled().to_checkpoint()))
    with pytest.raises(InvalidInput, match=message):
        DecayingHistogram.from_checkpoint(data, OPTS)


@pytest.mark.parametrize(
    ("name", "corrupt", "message"),
    [
        ("wrong bank version", lambda d: {**d, "version": 7}, "unsupported version"),
        ("size disagrees with rows", lambda d: {**d, "size": 9}, "length size"),
        ("missing histograms", lambda d: {"version": 1, "size": 2}, "missing key"),
    ],
)
def test_corrupt_bank_checkpoint_raises_invalid_input(name, corrupt, message):
    bank = HistogramBank(OPTS, 2)
    bank.add_samples(np.array([1.0, 5.0]), 10.0)
    with pytest.raises(InvalidInput, match=message):
        HistogramBank.from_checkpoint(corrupt(bank.to_checkpoint()), OPTS)

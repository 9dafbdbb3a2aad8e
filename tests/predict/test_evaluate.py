"""Scoring estimators: the truth window, the two figures, and the grid."""

from __future__ import annotations

import numpy as np
import pytest

from colo.predict.evaluate import (
    BASELINES,
    ESTIMATORS,
    Series,
    evaluate,
    future_max,
    to_grid,
)


def test_future_max_looks_strictly_ahead_and_skips_gaps() -> None:
    row = np.array([1.0, 5.0, np.nan, 2.0, np.nan, np.nan])
    got = future_max(row, 2)
    assert got[0] == 5.0 and got[1] == 2.0 and got[2] == 2.0
    assert np.isnan(got[4]) and np.isnan(got[5])


def test_to_grid_bins_to_the_nearest_step_and_averages_duplicates() -> None:
    a = Series("a", np.array([0.0, 10.0, 11.0, 30.0]), np.array([0.1, 0.2, 0.4, 0.5]))
    b = Series("b", np.array([20.0, 30.0]), np.array([0.9, 0.8]))
    g = to_grid([a, b], step_s=10.0)
    assert g.times.tolist() == [0.0, 10.0, 20.0, 30.0]
    assert np.allclose(g.values[0], [0.1, 0.3, np.nan, 0.5], equal_nan=True)
    assert np.isnan(g.values[1, :2]).all()


def test_scores_match_hand_computed_figures_for_a_constant_predictor() -> None:
    class Half:
        name = "half"

        def __init__(self, k: int, step: float, horizon: float) -> None:
            self.k = k

        def update(self, values: np.ndarray, t: float, mask: np.ndarray) -> np.ndarray:
            return np.full(self.k, 0.5)

    ESTIMATORS["half"] = Half  # type: ignore[assignment]
    try:
        usage = np.array([0.2, 0.6, 0.2, 0.2, 0.2, 0.2])
        s = Series("x", np.arange(6) * 10.0, usage)
        ev = evaluate(to_grid([s]), horizon_s=10.0, warmup_s=0.0, estimators=["half"])
    finally:
        del ESTIMATORS["half"]
    # truth (next sample): .6 .2 .2 .2 .2 — last point has no future
    score = ev.scores["half"]
    assert score.points == 5
    assert score.violation_rate == pytest.approx(1 / 5)
    idle = np.mean(1 - np.array([0.6, 0.2, 0.2, 0.2, 0.2]))
    assert score.reclaim_efficiency == pytest.approx(0.5 / idle)


def test_every_estimator_runs_and_a_perfectly_flat_series_is_reclaimed_safely() -> None:
    t = np.arange(0, 12 * 3600, 60.0)
    s = Series("flat", t, np.full(len(t), 0.3))
    # three hours of warm-up: the cold-start margin has been released by then
    ev = evaluate(to_grid([s]), horizon_s=600.0, warmup_s=3 * 3600.0)
    assert set(ev.scores) == set(ESTIMATORS) and set(BASELINES) < set(ev.scores)
    assert ev.scores["colo"].violation_rate == 0.0
    # the learned margin is the first histogram bucket (0.005): reclaimed .695 of .7 idle
    assert ev.scores["colo"].reclaim_efficiency == pytest.approx(0.695 / 0.7, abs=0.002)
    assert ev.scores["koordinator"].reclaim_efficiency == pytest.approx(0.35 / 0.7)


def test_unknown_estimator_and_short_horizon_are_errors() -> None:
    g = to_grid([Series("x", np.arange(10) * 60.0, np.full(10, 0.1))])
    with pytest.raises(ValueError, match="unknown estimators"):
        evaluate(g, estimators=["oracle"])
    with pytest.raises(ValueError, match="shorter than the sampling step"):
        evaluate(g, horizon_s=30.0)

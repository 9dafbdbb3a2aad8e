"""The contention model against hand-computed values."""

from __future__ import annotations

import numpy as np
import pytest

from colo.sim.contention import ContentionParams, cpu_grants, interference


def arr(*values: float) -> np.ndarray:
    return np.array(values, dtype=np.float64)


@pytest.mark.parametrize(
    ("online", "offline", "w_on", "w_off", "cap", "expect_on", "expect_off"),
    [
        pytest.param(30, 40, 1, 1, None, 30, 40, id="under capacity everyone gets what they ask"),
        pytest.param(80, 80, 1, 1, None, 50, 50, id="equal weights split a saturated node evenly"),
        pytest.param(80, 80, 3, 1, None, 75, 25, id="weights split a saturated node 3:1"),
        pytest.param(
            20, 200, 1, 1, None, 20, 80, id="a light group's unused share goes to the other"
        ),
        pytest.param(80, 80, 1, 1, 10, 80, 10, id="an offline quota caps offline before sharing"),
        pytest.param(80, 80, 1, 0, None, 80, 20, id="zero offline weight leaves offline the rest"),
    ],
)
def test_cpu_is_water_filled_by_weight(
    online: float,
    offline: float,
    w_on: float,
    w_off: float,
    cap: float | None,
    expect_on: float,
    expect_off: float,
) -> None:
    g_on, g_off = cpu_grants(
        arr(100),
        arr(online),
        arr(offline),
        arr(w_on),
        arr(w_off),
        None if cap is None else arr(cap),
    )
    assert g_on[0] == pytest.approx(expect_on)
    assert g_off[0] == pytest.approx(expect_off)
    assert g_on[0] + g_off[0] <= 100 + 1e-9


def test_shared_term_follows_the_documented_formula() -> None:
    p = ContentionParams(alpha=0.1, knee=0.5, beta=2.0)
    # rho = 0.75: busy = (0.75 - 0.5) / 0.5 = 0.5; shared = 0.1 * 0.25 * (1 + 2 * 0.5) = 0.05
    shared, starved = interference(p, arr(100), arr(50), arr(25), arr(50))
    assert shared[0] == pytest.approx(0.05)
    assert starved[0] == 0.0


def test_no_offline_work_means_no_shared_interference() -> None:
    shared, _ = interference(ContentionParams(), arr(100), arr(95), arr(0), arr(95))
    assert shared[0] == 0.0


def test_starved_online_work_inflates_by_demand_over_grant() -> None:
    _, starved = interference(ContentionParams(), arr(100), arr(50), arr(50), arr(75))
    assert starved[0] == pytest.approx(0.5)


def test_knee_outside_unit_interval_is_a_caller_bug() -> None:
    with pytest.raises(ValueError, match="knee"):
        ContentionParams(knee=1.0)

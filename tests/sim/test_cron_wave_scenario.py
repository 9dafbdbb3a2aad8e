"""The built-in `cron-wave` scenario (quick variant, colo only): thousands of CronJobs due
at one second start on virtual nodes within a second of it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from colo.cli.main import main
from colo.sim.scenario import load_scenario

pytestmark = pytest.mark.slow


def test_colo_starts_the_whole_wave_within_the_virtual_nodes_start_up(tmp_path: Path) -> None:
    scenario = load_scenario("cron-wave").quickened()
    assert scenario.wave is not None and scenario.wave.jobs >= 1000
    argv = ["sim", "--scenario", "cron-wave", "--quick", "--policies", "colo", "--no-progress"]
    assert main([*argv, "--out", str(tmp_path)]) == 0
    summary = json.loads((tmp_path / "summary.json").read_text())
    colo = summary["policies"]["colo"]
    assert summary["warnings"] == []
    assert colo["job_bind_delay_p99_s"] <= 0.5  # every binding in the fire second
    assert colo["job_start_delay_p99_s"] <= scenario.cluster.virtual_startup
    assert colo["job_start_delay_max_s"] <= scenario.cluster.virtual_startup + 0.5
    assert colo["cron_virtual_share"] == 1.0
    # the pool a team would keep instead, beside the cluster's nodes
    pool = colo["cron_pool_nodes"]
    assert pool >= 1
    assert colo["cron_pool_share"] == pytest.approx(pool / (summary["nodes"] + pool), rel=1e-5)
    assert 0 < colo["cron_cost_core_hours"] < colo["cron_pool_cost_core_hours"]

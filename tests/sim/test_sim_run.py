"""Whole `colo sim` runs on the real traces (quick variant): outputs, determinism, physics."""

from __future__ import annotations

import gc
import json
from pathlib import Path

import pytest

from colo.cli.main import main
from colo.core.gcpause import cyclic_gc_paused
from colo.sim.results import POLICY_METRICS
from colo.sim.runner import simulate
from colo.sim.scenario import load_scenario
from colo.sim.workload import build_workload
from colo.traces import TraceSet

# Every test reads the module's quick run (about 10 s); two run another.
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> dict:  # type: ignore[type-arg]
    out = tmp_path_factory.mktemp("quick")
    assert main(["sim", "--quick", "--no-progress", "--out", str(out)]) == 0
    return {"out": out, "summary": json.loads((out / "summary.json").read_text())}


def test_a_quick_run_writes_a_summary_with_every_figure_for_every_policy(quick_run: dict) -> None:  # type: ignore[type-arg]
    summary = quick_run["summary"]
    assert summary["scenario"] == "default"
    assert summary["quick"] is True
    assert set(summary["policies"]) == {"reserved", "request-based", "colo"}
    for figures in summary["policies"].values():
        assert list(figures) == sorted(POLICY_METRICS)
        for name in ("cpu_util_mean", "cpu_util_p95", "mem_util_mean", "online_interference_rate"):
            assert 0.0 <= figures[name] <= 1.0, name
        assert figures["cpu_util_p95"] >= figures["cpu_util_mean"]
    assert (quick_run["out"] / "report.html").stat().st_size > 10_000


def test_the_same_seed_gives_a_byte_identical_summary(quick_run: dict, tmp_path: Path) -> None:  # type: ignore[type-arg]
    assert main(["sim", "--quick", "--no-progress", "--out", str(tmp_path)]) == 0
    again = (tmp_path / "summary.json").read_bytes()
    assert again == (quick_run["out"] / "summary.json").read_bytes()


def test_policies_run_in_one_process_give_the_parallel_runs_summary(
    quick_run: dict,  # type: ignore[type-arg]
    tmp_path: Path,
) -> None:
    """The module's run hands its workload to worker processes (longest policy first,
    with as many workers as CPUs); one process running the policies in turn must agree."""
    assert main(["sim", "--quick", "--no-progress", "--jobs", "1", "--out", str(tmp_path)]) == 0
    alone = (tmp_path / "summary.json").read_bytes()
    assert alone == (quick_run["out"] / "summary.json").read_bytes()


def test_another_seed_gives_another_workload(quick_run: dict, tmp_path: Path) -> None:  # type: ignore[type-arg]
    assert main(["sim", "--quick", "--no-progress", "--seed", "7", "--out", str(tmp_path)]) == 0
    other = json.loads((tmp_path / "summary.json").read_text())
    assert other["seed"] == 7
    assert other["policies"] != quick_run["summary"]["policies"]


def test_separate_pools_see_no_interference_nor_does_the_calibrated_default_day(
    quick_run: dict,  # type: ignore[type-arg]
) -> None:
    """With `alpha` as measured on real cgroups (docs/simulator.md) the default day's
    shared nodes stay within the SLO bound too: its online pods are never cpu-starved.
    That shared nodes can suffer is tested with a cache-hungry model in
    test_sim_protection.py."""
    policies = quick_run["summary"]["policies"]
    assert policies["reserved"]["online_interference_rate"] == 0.0
    assert policies["request-based"]["online_interference_rate"] == 0.0


def test_the_stock_control_plane_starts_the_wave_no_faster_than_its_rate_limits(
    quick_run: dict,  # type: ignore[type-arg]
) -> None:
    s = load_scenario("default").quickened()
    assert s.wave is not None
    cp = s.control_plane
    pods = s.wave.jobs * s.wave.pods_per_job
    requests = s.wave.jobs * cp.requests_per_job + pods
    # The last wave pod cannot be created before the controller's limiter allows it.
    floor_s = (requests - cp.controller_burst) / cp.controller_qps
    policies = quick_run["summary"]["policies"]
    stock = [name for name in policies if name != "colo"]  # colo fires it through colo-cron
    assert stock
    for name in stock:
        assert policies[name]["job_start_delay_p99_s"] >= 0.9 * floor_s


def test_colo_fires_the_wave_on_virtual_nodes_on_the_second(quick_run: dict) -> None:  # type: ignore[type-arg]
    s = load_scenario("default").quickened()
    colo = quick_run["summary"]["policies"]["colo"]
    assert s.cluster.virtual_nodes > 0
    # bound within a second of the fire time, started after the virtual node's start-up
    assert colo["job_bind_delay_p99_s"] <= 1.0
    assert colo["job_start_delay_p99_s"] <= s.cluster.virtual_startup + 1.0
    assert colo["cron_virtual_share"] == 1.0
    for name, figures in quick_run["summary"]["policies"].items():
        if name != "colo":
            assert figures["cron_virtual_share"] == 0.0
            assert figures["cron_pool_nodes"] == colo["cron_pool_nodes"] > 0


def test_trace_rows_skipped_are_reported_per_file(quick_run: dict) -> None:  # type: ignore[type-arg]
    summary = quick_run["summary"]
    files = summary["trace_files"]
    assert "alibaba2017/batch_task.csv.gz" in files
    assert summary["trace_rows_skipped"] == sum(f["rows_skipped"] for f in files.values())
    assert summary["trace_rows_skipped"] > 0  # the real batch trace has unfinished tasks


@pytest.mark.parametrize("policy", ["reserved", "request-based", "colo"])
def test_a_run_leaves_no_cyclic_garbage_behind(policy: str) -> None:
    """`simulate` pauses Python's cyclic collector while its event loop runs; that is
    only safe while a run, however long, makes no garbage that reference counting cannot
    free. (The simulation itself is one cyclic graph, kept here while looking.)"""
    scenario = load_scenario("default").quickened()
    workload = build_workload(scenario, TraceSet.locate(None))
    gc.collect()
    gc.disable()
    try:
        kept = simulate(scenario, workload, policy, until_s=float("inf"))
        assert not gc.isenabled()  # as it was before the run
        assert gc.collect() == 0
    finally:
        gc.enable()
    assert kept[1].records  # the run did something


def test_the_collector_comes_back_on_after_a_run_even_one_that_failed() -> None:
    assert gc.isenabled()
    with pytest.raises(RuntimeError), cyclic_gc_paused():
        assert not gc.isenabled()
        raise RuntimeError("a run that failed")
    assert gc.isenabled()


def test_what_was_built_with_the_collector_paused_can_be_frozen_out_of_its_walks() -> None:
    before = gc.get_freeze_count()
    try:
        with cyclic_gc_paused(freeze=True):
            kept = [[i] for i in range(1000)]
            assert not gc.isenabled()
        assert gc.isenabled() and gc.get_freeze_count() >= before + len(kept)
        gc.disable()
        with cyclic_gc_paused(freeze=True):
            pass
        assert not gc.isenabled()  # left as it was found
    finally:
        gc.enable()
        gc.unfreeze()

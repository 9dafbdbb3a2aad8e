"""The `colo` policy's protection loop in the simulator (`colo.sim.protect_agent`): the real
guard and offline box over every node, on small hand-made clusters."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
import simkit
from simkit import GiB, Job, OnlinePod

from colo.agent.guard import Level
from colo.core.errors import InvalidInput
from colo.sim.cluster import Phase, SimCluster
from colo.sim.engine import EventLoop
from colo.sim.policies.colo import ColoPolicy
from colo.sim.protect_agent import SimProtectionAgents
from colo.sim.results import GUARD_METRICS, SimulationResult, guard_level_series
from colo.sim.runner import run_policy
from colo.sim.scenario import Scenario, parse_scenario
from colo.sim.summary import write_summary
from colo.sim.workload import Workload

NODES = dict(node_cpu=[8000, 8000], node_memory=[32 * GiB] * 2)
LONG = Job(0.0, 1000, GiB, 5000.0, pods=10)  # 900m each at full speed


def scenario(duration_s: float = 900.0, **colo: object) -> Scenario:
    """A small scenario whose online services are cache-hungry: the shared-resource term
    as the model's placeholder had it (alpha 0.12, ten times what this machine measured),
    so that offline work can hurt them here."""
    sc = simkit.scenario(duration_s=duration_s, step_s=10.0)
    config = sc.policies.colo.model_copy(update=colo)
    return sc.model_copy(
        update={
            "policies": sc.policies.model_copy(update={"colo": config}),
            "contention": sc.contention.model_copy(update={"alpha": 0.12}),
        }
    )


def start(
    sc: Scenario, wl: Workload, online: Sequence[OnlinePod]
) -> tuple[ColoPolicy, SimCluster, EventLoop]:
    loop, c = simkit.cluster(sc, wl, online=online)
    policy = ColoPolicy(sc)
    policy.install(c, loop)
    c.start_ticks()
    return policy, c, loop


def protection(policy: ColoPolicy) -> SimProtectionAgents:
    assert policy.protection is not None
    return policy.protection


def test_the_box_caps_offline_cpu_and_follows_online_load_down() -> None:
    sc = scenario(slo_probes=False)
    online = [OnlinePod(0, 4000, 8 * GiB, cpu_usage_milli=1000, sensitivity=0.0),
              OnlinePod(1, 4000, 8 * GiB, cpu_usage_milli=2000, sensitivity=0.0)]  # fmt: skip
    wl = simkit.workload(sc, **NODES, jobs=[LONG], online=online)
    wl.online.usage[0, wl.tick_s >= 300.0] = 5000.0  # node 0's online load rises at 300 s
    policy, c, loop = start(sc, wl, online)
    agents = protection(policy)
    caps = {}
    for t in wl.tick_s.tolist():
        loop.run(t)  # the round at t, then the physics tick at t under its cap
        if c.offline_cap is not None:
            assert np.array_equal(c.offline_cap, agents.engine.box_milli)
            last = c.physics.last
            assert last is not None and (last.g_off <= c.offline_cap + 1e-9).all()
            caps[t] = c.offline_cap.copy()
    assert 10.0 in caps  # from the first round that had a tick to measure
    # capacity × 0.9 − online: cut at the first round that measured the rise
    assert caps[290.0].tolist() == [6200.0, 5200.0]
    assert caps[310.0].tolist() == [2200.0, 5200.0]
    assert caps[890.0].tolist() == [2200.0, 5200.0]
    last = c.physics.last
    assert last is not None
    assert last.g_off[0] == 2200.0  # three pods ask 2700m: the box holds them to its size
    assert (agents.engine.guard.state.level == Level.NORMAL).all()
    assert c.offline_box_weight == sc.policies.colo.idle_box_weight


def test_a_node_failing_its_slos_climbs_to_evict_and_evicts_there_only() -> None:
    sc = scenario()
    online = [OnlinePod(0, 2000, 8 * GiB, cpu_usage_milli=1000, sensitivity=5.0),
              OnlinePod(1, 2000, 8 * GiB, cpu_usage_milli=1000, sensitivity=0.0)]  # fmt: skip
    wl = simkit.workload(sc, **NODES, jobs=[LONG], online=online)
    policy, c, loop = start(sc, wl, online)
    agents = protection(policy)
    reclaim = policy.agents
    assert reclaim is not None
    highest = np.zeros(2, np.int8)
    for t in wl.tick_s.tolist():
        loop.run(t)
        level = agents.engine.guard.state.level
        highest = np.maximum(highest, level)
        # a forbidden node publishes no batch capacity, at once
        for i in np.flatnonzero(agents.engine.forbidden).tolist():
            assert reclaim.engine.forbidden[i] and c.batch_alloc_cpu[i] == 0
    assert highest.tolist() == [Level.EVICT, Level.NORMAL]
    evicted = [p for p in c.records if p.phase is Phase.EVICTED]
    assert evicted and {p.node for p in evicted} == {0}
    assert agents.engine.evictions == len(evicted) == c.evictions
    guard_events = [e for e in c.events if e[1] == "Node"]
    assert {e[2] for e in guard_events} == {"node-0000"}
    assert ("GuardEvict" in {e[3] for e in guard_events}) and reclaim.immediate > 0
    figures = agents.figures()
    assert figures["guard_evictions"] == len(evicted)
    assert figures["guard_starvation_evictions"] == 0
    assert figures["guard_forbid_node_s"] > 0
    series = agents.series()
    assert series[guard_level_series("EVICT")].max() == 1.0


def test_without_slo_probes_the_guard_has_no_slo_signal() -> None:
    sc = scenario(slo_probes=False)
    online = [OnlinePod(0, 2000, 8 * GiB, cpu_usage_milli=1000, sensitivity=5.0)]
    wl = simkit.workload(sc, **NODES, jobs=[LONG], online=online)
    policy, c, loop = start(sc, wl, online)
    loop.run(400.0)
    assert (protection(policy).engine.guard.state.level == Level.NORMAL).all()
    assert c.evictions == 0
    assert c.physics.series.interference[:40].max() > 0  # the pod did suffer


def run_summary(sc: Scenario, wl: Workload, path: Path) -> bytes:
    end = float(wl.tick_s[-1]) + sc.step
    result = SimulationResult(
        scenario=sc.name, seed=sc.seed, start_time_of_day_s=sc.start_time_of_day,
        duration_s=sc.duration, nodes=len(wl.node_cpu_milli), trace_rows_skipped=0,
        trace_files={}, policies={"colo": run_policy(sc, wl, "colo")},
    )  # fmt: skip
    assert result.policies["colo"].t_s[-1] + sc.step == end
    write_summary(result, path, quick=False)
    return path.read_bytes()


def test_the_same_seed_gives_a_byte_identical_summary(tmp_path: Path) -> None:
    sc = scenario(duration_s=1200.0)
    jobs = [LONG, Job(100.0, 500, GiB, 200.0, pods=8), Job(400.0, 2000, 2 * GiB, 300.0, pods=4)]
    wl = simkit.workload(
        sc, node_cpu=[8000, 8000, 16000], node_memory=[32 * GiB] * 3, jobs=jobs,
        online=[OnlinePod(0, 2000, 8 * GiB, cpu_usage_milli=1500, sensitivity=1.5),
                OnlinePod(0, 1000, 4 * GiB, cpu_usage_milli=500, sensitivity=0.5),
                OnlinePod(0, 4000, 8 * GiB, cpu_usage_milli=3000, sensitivity=1.0)],
    )  # fmt: skip
    first = run_summary(sc, wl, tmp_path / "a.json")
    assert first == run_summary(sc, wl, tmp_path / "b.json")
    figures = json.loads(first)["policies"]["colo"]
    assert figures["guard_transitions"] > 0 and figures["evictions"] >= figures["guard_evictions"]


def test_protect_false_runs_colo_as_before_no_box_no_guard() -> None:
    sc = scenario(protect=False)
    online = [OnlinePod(0, 2000, 8 * GiB, cpu_usage_milli=1000, sensitivity=5.0)]
    wl = simkit.workload(sc, **NODES, jobs=[LONG], online=online)
    policy, c, loop = start(sc, wl, online)
    loop.run(600.0)
    assert policy.protection is None
    assert c.offline_cap is None and c.offline_box_weight is None
    assert c.figure_sources == [] and c.diagnostic_sources == []
    assert c.evictions == 0
    # the offline pods weigh per requested millicore, as BestEffort pods did before
    last = c.physics.last
    assert last is not None and last.g_off[0] == 5 * 900.0
    result = run_policy(sc, wl, "colo")
    assert {result.metrics[m] for m in GUARD_METRICS} == {0}
    assert not any(k.startswith("nodes in guard") for k in result.extra_series)


def test_the_scenario_keys() -> None:
    raw = {"name": "x", "policies": {"colo": {"protect_interval": "1m", "target_util": 0.8}}}
    config = parse_scenario(raw, label="t").policies.colo
    assert (config.protect, config.protect_interval, config.target_util) == (True, 60.0, 0.8)
    assert config.slo_probes and parse_scenario({"name": "x"}, label="t").policies.colo.protect
    assert parse_scenario({"name": "x"}, label="t").policies.colo.protect_interval is None
    with pytest.raises(InvalidInput, match="target_util"):
        parse_scenario({"name": "x", "policies": {"colo": {"target_util": 0}}}, label="t")
    with pytest.raises(InvalidInput, match="protect_interval"):
        parse_scenario({"name": "x", "policies": {"colo": {"protect_interval": 0}}}, label="t")

"""The `colo` policy in the simulator, on the real traces (quick scenario): reclaim, and
colo-batch placing offline pods through the coordinator's ledger."""

from __future__ import annotations

import numpy as np
import pytest

from colo.core.resources import BATCH_CPU, CPU
from colo.sim.cluster import Phase, SimCluster
from colo.sim.policies.colo import ColoPolicy
from colo.sim.reclaim_agent import SimReclaimAgents
from colo.sim.results import PREDICTED_PEAK
from colo.sim.runner import simulate
from colo.sim.scenario import load_scenario
from colo.sim.workload import build_workload
from colo.traces import TraceSet


@pytest.fixture(scope="module")
def policy_run() -> tuple[ColoPolicy, SimCluster]:
    scenario = load_scenario("default").quickened()
    workload = build_workload(scenario, TraceSet.locate(None))
    policy, cluster = simulate(scenario, workload, "colo", until_s=5400.0)
    assert isinstance(policy, ColoPolicy)
    return policy, cluster


@pytest.fixture(scope="module")
def run(policy_run: tuple[ColoPolicy, SimCluster]) -> tuple[SimReclaimAgents, SimCluster]:
    policy, cluster = policy_run
    assert policy.agents is not None
    return policy.agents, cluster


def test_online_requests_are_untouched_and_offline_pods_use_batch_capacity(
    run: tuple[SimReclaimAgents, SimCluster],
) -> None:
    _, c = run
    assert np.array_equal(c.requested_cpu, c.online_cpu_request.astype(np.int64))
    running = [p for p in c.records if p.phase in (Phase.BOUND, Phase.RUNNING)]
    assert running, "no offline pod ran on batch capacity"
    per_node = np.bincount([p.node for p in running], weights=[p.cpu_milli for p in running],
                           minlength=len(c.node_names))  # fmt: skip
    assert np.array_equal(per_node.astype(np.int64), c.batch_requested_cpu)
    view = c.pod(running[0].key)
    assert view is not None and view.requests.get(BATCH_CPU) == running[0].cpu_milli
    assert view.requests.cpu_milli == 0  # as colo-webhook leaves it


def test_published_batch_capacity_follows_the_calculation_within_the_threshold(
    run: tuple[SimReclaimAgents, SimCluster],
) -> None:
    agents, c = run
    threshold = c.scenario.policies.colo.report_threshold
    # nodes whose guard forbids new offline work publish zero (test_sim_protection.py)
    forbidden = agents.engine.forbidden
    assert (c.batch_alloc_cpu[forbidden] == 0).all()
    gap = np.abs(c.batch_alloc_cpu - agents.computed_cpu) / c.capacity_cpu
    assert (gap[~forbidden] < threshold + 1e-9).all()
    assert agents.patches > 0


def test_explain_agrees_with_the_vectorized_calculation(
    run: tuple[SimReclaimAgents, SimCluster],
) -> None:
    agents, c = run
    for node in range(0, len(c.node_names), 5):
        r = agents.explain(c.node_names[node])
        assert (r.cpu_milli, r.memory_bytes) == (
            int(agents.computed_cpu[node]),
            int(agents.computed_memory[node]),
        )
        assert [t.name for t in r.terms][-1] == "reclaimable"


def test_the_report_series_cover_the_run(run: tuple[SimReclaimAgents, SimCluster]) -> None:
    agents, c = run
    series = agents.series()
    predicted = series[PREDICTED_PEAK]
    ticks = c.workload.tick_s < 5400.0
    assert not np.isnan(predicted[ticks]).any()
    # what the agents hold back for online pods covers what online pods use, most of the time
    online = c.online_usage.sum(axis=0) / c.capacity_cpu.sum()
    assert np.mean(predicted[ticks] >= online[ticks]) > 0.95


def test_colo_batch_binds_every_offline_pod_through_the_ledger(
    policy_run: tuple[ColoPolicy, SimCluster],
) -> None:
    policy, c = policy_run
    assert policy.scheduler is not None and policy.coordinator is not None
    stats = policy.scheduler.stats
    bound = [p for p in c.records if p.node >= 0 and p.phase is not Phase.PENDING]
    assert stats.bound == len(bound) > 0  # nobody else binds offline pods
    assert c.admission_failures == 0
    ledger = policy.coordinator.ledger
    # every reservation is a bound pod, a pod still being bound, or a pod placed ahead of
    # its start whose node shrank before it (reserved again elsewhere)
    assert ledger.granted == stats.bound + stats.replaced_at_start + sum(
        1 for p in c.records if p.phase is Phase.PENDING and p.key in policy.scheduler.engine.held
    )
    # The ledger holds what the cluster holds: per node, online requests plus the batch
    # requests of offline pods still bound, and nothing beyond allocatable.
    for node, name in enumerate(c.node_names):
        entry = ledger.nodes[name]
        assert entry.used.get(BATCH_CPU, 0) == c.batch_requested_cpu[node]
        assert entry.used.get(CPU, 0) == c.requested_cpu[node]
        assert all(
            entry.used.get(k, 0) <= v for k, v in entry.allocatable.items() if k != BATCH_CPU
        )

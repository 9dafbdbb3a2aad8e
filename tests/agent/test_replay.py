"""colo agent replay: trace machines as the usage port, node → machine mapping, and the
replay driver over colo-agent's reporting engine — with fakes only through the ports
(node status patcher, heartbeat) and small synthetic traces.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pytest

from colo.apps.agent import AgentOptions
from colo.apps.replay import ReplayAgents, ReplayCollector, ReplayOptions
from colo.core.builders import NodeBuilder, PodBuilder
from colo.core.errors import InvalidInput
from colo.core.objects import Node, Pod
from colo.core.resources import BATCH_CPU, BATCH_MEMORY
from colo.core.usage import PodCgroup
from colo.traces.common import bad_rows
from colo.traces.replay import (
    MachinePattern,
    OnlineModel,
    TraceUsageReader,
    assign,
    load_patterns,
    online_pod,
)

GIB = 2**30


def pattern(name: str, values: list[float], step_s: float = 10.0) -> MachinePattern:
    return MachinePattern(name, step_s, np.array(values, dtype=np.float64))


def node(name: str, cores: int = 32, *, virtual: bool = False) -> Node:
    b = NodeBuilder(name).capacity(str(cores), f"{cores * 4}Gi")
    b = b.allocatable(str(cores - 1), f"{cores * 4 - 4}Gi")
    if virtual:
        b = b.label("type", "virtual-kubelet")
    return b.view()


def machine_usage(path: Path, machines: Mapping[str, list[float]], *, step_s: int = 10) -> Path:
    """An alibaba2018 machine_usage file (no header): cpu percent per sample."""
    lines = []
    for name, cpus in machines.items():
        for k, cpu in enumerate(cpus):
            lines.append(f"{name},{k * step_s},{cpu},50,,,1,1,1")
    path.write_text("\n".join(lines) + "\n")
    return path


# --- the pattern and its mean -----------------------------------------------------------


def test_the_mean_over_a_window_integrates_the_pattern_and_wraps_around_its_span() -> None:
    p = pattern("m", [0.0, 1.0, 0.5, 0.5])  # span 40 s
    assert p.mean(10.0, 20.0) == 1.0
    assert p.mean(5.0, 15.0) == pytest.approx(0.5)
    assert p.mean(0.0, 40.0) == pytest.approx(0.5)
    assert p.mean(40.0, 80.0) == pytest.approx(0.5)  # the next lap
    assert p.mean(35.0, 45.0) == pytest.approx(0.25)  # across the end: 0.5 then 0.0
    assert p.at(55.0) == 1.0


# --- trace → usage port ------------------------------------------------------------------


def test_a_read_reports_the_mean_since_the_previous_read_and_nothing_the_first_time() -> None:
    p = pattern("m", [0.0, 1.0, 0.5, 0.5])
    n = node("n1")
    pod, replayed = online_pod(n, assign("n1", [p], seed=0), OnlineModel())
    offset = replayed.assignment.offset_s
    reader = TraceUsageReader(origin_s=100.0 - offset, speed=1.0)  # trace time 0 at t=100
    reader.add(pod.uid, replayed)
    asked = [PodCgroup(pod.uid, "Burstable"), PodCgroup("someone-else", "BestEffort")]
    assert reader.read(asked, 100.0) == {}  # a first read: no interval yet
    sample = reader.read(asked, 120.0)[pod.uid]  # trace [0, 20): mean 0.5 of the peak
    assert sample.cpu_cores == pytest.approx(0.5 * replayed.peak_cpu_milli / 1000)
    assert sample.memory_bytes == replayed.memory_bytes
    assert set(reader.read(asked, 130.0)) == {pod.uid}  # other pods: nothing to tell
    assert reader.read(asked, 130.0) == {}  # no time passed: no interval to average


def test_the_speed_up_replays_more_trace_seconds_per_second() -> None:
    p = pattern("m", [0.0, 1.0, 0.0, 0.0])
    reader = TraceUsageReader(origin_s=0.0, speed=10.0)
    pod, replayed = online_pod(node("n1"), assign("n1", [p], seed=0), OnlineModel())
    reader.add(pod.uid, replayed)
    offset = replayed.assignment.offset_s
    assert reader.trace_time(pod.uid, 3.0) == offset + 30.0


def test_the_online_pod_is_sized_like_the_simulators() -> None:
    n = node("n1", cores=32)
    model = OnlineModel(request_share=0.5, peak_to_request=0.8, memory_usage_to_request=0.5)
    pod, replayed = online_pod(n, assign("n1", [pattern("m", [1.0])], seed=0), model)
    assert pod.requests.cpu_milli == 15_500  # half of 31 allocatable cores
    assert pod.requests.memory_bytes == 62 * GIB
    assert (pod.node_name, pod.tier.value, pod.key) == ("n1", "LS", "colo-trace/n1")
    assert replayed.peak_cpu_milli == pytest.approx(0.8 * 15_500)
    assert replayed.memory_bytes == 31 * GIB


def test_a_bad_online_model_names_the_field() -> None:
    with pytest.raises(InvalidInput, match="request_share"):
        OnlineModel(request_share=0.0)


# --- node → machine ------------------------------------------------------------------


def test_a_node_maps_to_the_same_machine_and_offset_for_the_same_seed_whatever_else() -> None:
    patterns = [pattern(f"m{i}", [float(i)] * (i + 5)) for i in range(8)]
    first = {f"node-{i:04d}": assign(f"node-{i:04d}", patterns, seed=7) for i in range(50)}
    assert assign("node-0003", patterns, seed=7) == first["node-0003"]
    assert len({a.machine.name for a in first.values()}) >= 6  # spread over the machines
    other_seed = {n: assign(n, patterns, seed=8) for n in first}
    assert any(other_seed[n] != first[n] for n in first)
    for a in first.values():
        assert 0 <= a.offset_s < a.machine.span_s and a.offset_s % a.machine.step_s == 0


# --- loading --------------------------------------------------------------------------


def test_bad_rows_are_skipped_and_counted_and_short_or_idle_machines_left_out(
    tmp_path: Path,
) -> None:
    path = machine_usage(
        tmp_path / "machine_usage.csv",
        {"m_a": [10, 20, 30] * 100, "m_b": [5] * 10, "m_idle": [0] * 300},
    )
    with path.open("a") as f:
        f.write("m_a,5000,101,50,,,1,1,1\n")  # cpu out of range
        f.write("m_a,oops,10,50,,,1,1,1\n")  # time not a number
    patterns, report = load_patterns(path, step_s=10.0)
    assert [p.name for p in patterns] == ["m_a"]
    assert bad_rows(report) == 2
    assert max(patterns[0].values) == pytest.approx(1.0)  # peak (p99) normalised


def test_a_trace_without_a_usable_machine_is_a_usage_error_naming_the_file(
    tmp_path: Path,
) -> None:
    path = machine_usage(tmp_path / "machine_usage.csv", {"m_b": [5] * 10})
    with pytest.raises(InvalidInput, match=r"machine_usage\.csv.*no machine to replay"):
        load_patterns(path)


# --- the driver over colo-agent's engine ------------------------------------------------


class Patcher:
    """The NodeStatusPatcher port: records what was published."""

    def __init__(self) -> None:
        self.published: dict[str, dict[str, int]] = {}

    async def patch_extended_resources(
        self, node_name: str, *, capacity: Mapping[str, int], allocatable: Mapping[str, int]
    ) -> None:
        assert capacity == allocatable
        self.published[node_name] = dict(allocatable)


class Beat:
    """The Heartbeat port."""

    def __init__(self) -> None:
        self.renewals = 0

    async def renew(self, annotations: Mapping[str, str] | None = None) -> None:
        self.renewals += 1


def replay(
    nodes: list[Node],
    *,
    pods: Mapping[str, list[Pod]] | None = None,
    warmup_s: float = 600.0,
    seed: int = 0,
) -> tuple[ReplayAgents, Patcher, dict[str, Beat], list[float]]:
    clock = [10_000.0]
    patcher, beats = Patcher(), dict[str, Beat]()
    patterns = [
        pattern("busy", list(np.linspace(0.5, 1.0, 60)) * 3),
        pattern("calm", list(np.linspace(0.1, 0.3, 60)) * 3),
    ]
    agent = AgentOptions(node="", interval_s=5.0, min_history_s=300.0, min_rises=5, horizon_s=30.0)
    agents = ReplayAgents(
        ReplayOptions(agent=agent, warmup_s=warmup_s, seed=seed),
        patterns,
        nodes=lambda: nodes,
        pods_on=lambda name: (pods or {}).get(name, []),
        patcher=patcher,
        heartbeat=lambda name: beats.setdefault(name, Beat()),
        clock=lambda: clock[0],
    )
    return agents, patcher, beats, clock


def test_every_standard_node_gets_the_engines_capacity_and_a_heartbeat_virtual_none() -> None:
    nodes = [node("node-0000"), node("node-0001", cores=64), node("v", virtual=True)]
    agents, patcher, beats, _ = replay(nodes)
    asyncio.run(agents.tick())
    assert set(patcher.published) == {"node-0000", "node-0001"}
    for name, agent in agents.agents.items():
        explained = agent.loop.explain(name)
        assert patcher.published[name] == {
            BATCH_CPU: explained.cpu_milli,
            BATCH_MEMORY: explained.memory_bytes,
        }
        (term,) = explained.pods
        assert term.name == f"colo-trace/{name}" and "predicted peak" in term.source
        assert 0 < explained.cpu_milli < agent.loop.capacity_cpu[0]
    assert {n: b.renewals for n, b in beats.items()} == {"node-0000": 1, "node-0001": 1}


def test_without_warm_up_the_stand_in_pod_counts_its_request_as_any_new_pod() -> None:
    agents, patcher, _, _ = replay([node("node-0000")], warmup_s=0.0)
    asyncio.run(agents.tick())
    (term,) = agents.agents["node-0000"].loop.explain("node-0000").pods
    assert term.cpu_milli == 18_600 and "request" in term.source  # 60 % of 31 cores
    assert patcher.published["node-0000"][BATCH_CPU] == 32_000 - 3_200 - 1_000 - 18_600


def test_pods_the_cluster_placed_count_their_request_and_offline_ones_nothing() -> None:
    online = (
        PodBuilder("web", namespace="prod").node("node-0000").phase("Running")
        .req(cpu="2").label("colo.io/qos", "LS").view()
    )  # fmt: skip
    offline = (
        PodBuilder("job", namespace="b").node("node-0000").phase("Running")
        .label("colo.io/qos", "BE").view()
    )  # fmt: skip
    alone, alone_patcher, _, _ = replay([node("node-0000")])
    busy, busy_patcher, _, _ = replay([node("node-0000")], pods={"node-0000": [online, offline]})
    asyncio.run(alone.tick())
    asyncio.run(busy.tick())
    less = (
        alone_patcher.published["node-0000"][BATCH_CPU]
        - (busy_patcher.published["node-0000"][BATCH_CPU])
    )
    assert less == 2_000


def test_the_same_seed_replays_the_same_capacity_round_after_round() -> None:
    def run(seed: int) -> list[dict[str, dict[str, int]]]:
        agents, patcher, _, clock = replay([node(f"node-{i:04d}") for i in range(4)], seed=seed)
        rounds = []
        for _ in range(20):
            asyncio.run(agents.tick())
            rounds.append(dict(patcher.published))
            clock[0] += 5.0
        return rounds

    assert run(3) == run(3)
    assert run(3) != run(4)


def test_nodes_that_come_and_go_are_taken_in_and_dropped() -> None:
    nodes = [node("node-0000")]
    agents, patcher, _, _ = replay(nodes)
    assert agents.sync() == (["node-0000"], [])
    nodes.append(node("node-0001"))
    nodes.pop(0)
    assert agents.sync() == (["node-0001"], ["node-0000"])
    asyncio.run(agents.tick())
    assert set(patcher.published) == {"node-0001"}


def test_the_metrics_sum_counters_over_nodes_and_keep_gauges_per_node(tmp_path: Path) -> None:
    from colo.apps.metrics import registry_of
    from colo.traces.common import LoadReport

    agents, _, _, _ = replay([node("node-0000"), node("node-0001")])
    asyncio.run(agents.tick())
    registry = registry_of(ReplayCollector(agents, LoadReport(path="x", rows_skipped=3)))
    value = registry.get_sample_value
    assert value("colo_agent_reports_total") == 2
    assert value("colo_agent_patches_total", {"result": "ok"}) == 2
    assert value("colo_agent_replay_nodes") == 2
    assert value("colo_agent_replay_trace_rows_skipped") == 3
    for name in ("node-0000", "node-0001"):
        published = agents.agents[name].loop.reporters[0].published
        assert published is not None
        assert value("colo_agent_published_batch_cpu_millicores", {"node": name}) == (
            published.cpu_milli
        )

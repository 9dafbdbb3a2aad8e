"""Every node's colo-agent (its protection half) at simulated time: a driver of the real loop.

The logic is `colo.agent.protection.ProtectionLoop`, one object over every standard node
(the real guard, box and anti-starvation), run with `cgroups=False`: it writes no cgroup,
the simulated physics reads the box's size instead. This driver only feeds it and
carries out what it says. Every `policies.colo.protect_interval` (default: the step), at
`PRIO_CONTROL`, so before the physics tick of the same instant:

- **measure** what a node's agent reads of the interval that just ended (the physics'
  ticks since the previous round, `colo.sim.physics.Physics`): online and offline CPU
  the physics *granted* (cgroup usage is what ran, not what was asked for), their mean
  over the interval; system CPU 0 (the physics has no system load); online memory (steady
  in the model) and offline memory (requests × `offline.memory_usage_to_request`). PSI
  and CPI are NaN: the simulator has no model of pressure stall or of cycles per
  instruction, so the guard runs on CPU and SLO signals only. `slo_failing` is 1 on a node
  where an online pod was over its SLO bound at the last tick, 0 elsewhere
  (`policies.colo.slo_probes`: a probe on each online service), NaN without probes.
  `room_elsewhere[i]`: the most batch CPU free on any other standard node
  (`colo.io/batch-cpu` allocatable less requests) covers the smallest cpu request among
  node i's offline pods (an approximation: one pod, cpu only, not what colo-batch would
  do; on nodes that cannot starve this round, any free batch CPU elsewhere);
- **tell** it the offline pods: counts per node (`set_offline_counts`), and the full list
  (`set_pods`, pods as BE with priority 0 and their start time) only on the nodes that may
  evict this round: in EVICT, in FORBID with the signals calling for EVICT, starving, or
  with a box too small for their pods (cheap, and the victim is picked from the pods
  running at that instant);
- **tick**, and carry out the commands: the box's size becomes the physics' offline cap
  (`ClusterState.offline_cap`, which `cpu_grants` applies); `Forbid` goes to the reclaim
  agents' reporting loop (`ReportingLoop.forbid`), which publishes at once
  (`SimReclaimAgents.publish_now`); `Evict` is a policy/v1 eviction through the
  simulated cluster's `Evictor` port, its outcome reported back (`evicted`);
  `Transitioned` and `Starving` become Events on the Node and counts.

While protection runs, the box runs SCHED_IDLE: the physics weighs a node's offline pods
together as one group of weight `policies.colo.idle_box_weight`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from colo.agent.box import BoxOptions
from colo.agent.guard import Level
from colo.agent.protection import (
    Apply,
    Command,
    Evict,
    Forbid,
    Measurements,
    ProtectedNode,
    ProtectedPod,
    ProtectionLoop,
    ProtectionOptions,
    Starving,
    Transitioned,
)
from colo.core.changes import PodRef
from colo.core.errors import Conflict, NotFound
from colo.core.qos import QoSTier
from colo.sim.cluster import SimCluster, complete
from colo.sim.engine import PRIO_CONTROL, EventLoop
from colo.sim.reclaim_agent import SimReclaimAgents, forward_fill
from colo.sim.results import (
    GUARD_EVICTIONS,
    GUARD_FORBID_NODE_S,
    GUARD_STARVATION_EVICTIONS,
    GUARD_TRANSITIONS,
    guard_level_series,
)
from colo.sim.scenario import ColoPolicy


def protection_options(config: ColoPolicy) -> ProtectionOptions:
    """The scenario's `colo` policy as protection options (the loop's defaults otherwise)."""
    return ProtectionOptions(box=BoxOptions(target_util=config.target_util))


class SimProtectionAgents:
    """The protection loops of every standard node's agent (see the module docstring)."""

    def __init__(
        self,
        cluster: SimCluster,
        loop: EventLoop,
        config: ColoPolicy,
        reclaim: SimReclaimAgents | None = None,
    ) -> None:
        self.cluster = cluster
        self.loop = loop
        self.config = config
        self.reclaim = reclaim
        self.interval_s = float(config.protect_interval or cluster.scenario.step)
        self.engine = ProtectionLoop(
            [
                ProtectedNode(name, capacity_milli=cpu, memory_bytes=memory)
                for name, cpu, memory in zip(
                    cluster.node_names,
                    cluster.capacity_cpu.tolist(),
                    cluster.capacity_memory.tolist(),
                    strict=True,
                )
            ],
            protection_options(config),
            cgroups=False,
        )
        n = len(cluster.node_names)
        self._listed: set[int] = set()  # nodes whose pods the loop holds (`set_pods`)
        self._seen_ticks = 0
        self._online_total = np.zeros(n)
        self._offline_total = np.zeros(n)
        # counts, for the summary and diagnostics
        self.rounds = 0
        self.by_level = dict.fromkeys(Level, 0)  # transitions into each level
        self.starving_said = 0
        self.forbid_node_s = 0.0
        self._forbidden_now = 0
        self._last_round_s: float | None = None
        ticks = len(cluster.workload.tick_s)
        self.level_counts = np.full((len(Level), ticks), np.nan)  # nodes per level, per tick

    def start(self) -> None:
        self.loop.schedule(0.0, self._round, priority=PRIO_CONTROL)

    # --- one round ---------------------------------------------------------------------
    def _round(self) -> None:
        now = self.loop.now()
        self._account(now)
        measured = self.measure(now)
        if measured is not None:
            self._tell_pods(measured)
            self.engine.observe(measured)
            self.carry_out(self.engine.tick(now), now)
            self.cluster.offline_cap = self.engine.box_milli.copy()
            self.rounds += 1
        self._record(now)
        self.loop.after(self.interval_s, self._round, priority=PRIO_CONTROL)

    def measure(self, now: float) -> Measurements | None:
        """What the agents measure of the interval since the previous round (None before
        the first physics tick)."""
        c = self.cluster
        physics = c.physics
        last = physics.last
        if last is None:
            return None
        done = physics.ticks_done - self._seen_ticks
        if done > 0:  # the mean over the ticks since the previous round
            online = (physics.granted_online_total - self._online_total) / done
            offline = (physics.granted_offline_total - self._offline_total) / done
            self._online_total = physics.granted_online_total.copy()
            self._offline_total = physics.granted_offline_total.copy()
            self._seen_ticks = physics.ticks_done
        else:  # a round shorter than a tick: the last tick is still the latest reading
            online, offline = last.g_on, last.g_off
        n = len(c.node_names)
        if self.config.slo_probes:
            slo = (last.node_violators > 0).astype(np.float64)
        else:
            slo = np.full(n, np.nan)
        usage_ratio = c.scenario.offline.memory_usage_to_request
        return Measurements.of(
            n,
            now,
            online_milli=online,
            offline_milli=offline,
            online_memory=physics.usage_model.online_memory,
            offline_memory=c.offline_memory * usage_ratio,
            slo_failing=slo,
        )

    def _tell_pods(self, m: Measurements) -> None:
        """Offline pod counts everywhere; the pods themselves where the loop may evict."""
        c, engine = self.cluster, self.engine
        counts = c.offline_running
        wanted = np.flatnonzero(engine.may_evict_next(counts))
        smallest = np.ones(len(counts))  # cpu (millicores) a pod needs elsewhere
        names = c.node_names
        for i in sorted(self._listed.difference(wanted.tolist())):
            engine.set_pods(names[i], ())
        for i in wanted.tolist():
            pods = c.running_on(i)
            engine.set_pods(names[i], [_protected(p.key, p.index, p.started_s) for p in pods])
            smallest[i] = min(p.cpu_milli for p in pods)
        self._listed = set(wanted.tolist())
        engine.set_offline_counts(counts)
        m.room_elsewhere = _room_elsewhere(c.free_cpu()[: len(names)], smallest)

    def carry_out(self, commands: Sequence[Command], now: float) -> None:
        """Do what the loop said, in its order; eviction outcomes go back to it."""
        c, engine = self.cluster, self.engine
        forbade = False
        for command in commands:
            if isinstance(command, Transitioned):
                self.by_level[command.new] += 1
                self._event(command.node, f"Guard{command.new.name.capitalize()}", command.reason)
            elif isinstance(command, Forbid):
                forbade = True
                if self.reclaim is not None:
                    self.reclaim.engine.forbid(command.node, command.on)
            elif isinstance(command, Starving):
                self.starving_said += command.on
                self._event(command.node, "OfflineStarving" if command.on else "OfflineFed",
                            command.reason)  # fmt: skip
            elif isinstance(command, Evict):
                namespace, _, name = command.key.partition("/")
                try:
                    complete(c.evict(PodRef(namespace, name, command.uid), reason=command.reason))
                except (Conflict, NotFound):
                    engine.evicted(command.node, command.key, now, ok=False)
                else:
                    engine.evicted(command.node, command.key, now, ok=True)
            else:
                assert not isinstance(command, Apply), "the simulator's loop writes no cgroups"
        if forbade and self.reclaim is not None:
            self.reclaim.publish_now()

    def _event(self, node: str, reason: str, message: str) -> None:
        complete(self.cluster.record(kind="Node", key=node, reason=reason, message=message))

    # --- what the run shows ---------------------------------------------------------------
    def _account(self, now: float) -> None:
        """Node-seconds in FORBID or above up to `now`."""
        if self._last_round_s is not None:
            self.forbid_node_s += self._forbidden_now * (now - self._last_round_s)
        self._last_round_s = now

    def _record(self, now: float) -> None:
        level = self.engine.guard.state.level
        self._forbidden_now = int(np.count_nonzero(level >= Level.FORBID))
        ticks = self.cluster.workload.tick_s
        k = min(len(ticks) - 1, max(0, int(np.searchsorted(ticks, now, side="right")) - 1))
        self.level_counts[:, k] = np.bincount(level, minlength=len(Level))[: len(Level)]

    def series(self) -> dict[str, np.ndarray]:
        """Nodes in THROTTLE, FORBID and EVICT per tick, for the report."""
        filled = np.nan_to_num(forward_fill(self.level_counts))  # none yet: 0 nodes
        return {guard_level_series(lvl.name): filled[lvl] for lvl in Level if lvl > Level.NORMAL}

    def figures(self) -> dict[str, float | int]:
        """The summary's guard figures, up to now."""
        e = self.engine
        now = self.loop.now()
        last = self._last_round_s
        pending = 0.0 if last is None else self._forbidden_now * (now - last)
        return {
            GUARD_TRANSITIONS: int(e.transitions),
            GUARD_EVICTIONS: int(e.evictions),
            GUARD_STARVATION_EVICTIONS: int(e.starvation_evictions),
            GUARD_FORBID_NODE_S: self.forbid_node_s + pending,
        }

    def diagnostics(self) -> dict[str, float | int]:
        out: dict[str, float | int] = {
            "guard_rounds": self.rounds,
            "guard_eviction_failures": int(self.engine.eviction_failures),
            "guard_starving_said": self.starving_said,
        }
        for lvl, count in self.by_level.items():
            out[f"guard_transitions_to_{lvl.name.lower()}"] = count
        if self.reclaim is not None:
            out["reclaim_immediate_reports"] = self.reclaim.immediate
        return out


def _protected(key: str, index: int, started_s: float) -> ProtectedPod:
    return ProtectedPod(key, str(index), QoSTier.BE, priority=0, started_s=started_s)


def _room_elsewhere(free: np.ndarray, need: np.ndarray) -> np.ndarray:
    """Per node i: whether another node has at least `need[i]` free (top-two maxima)."""
    n = len(free)
    if n < 2:
        return np.zeros(n, bool)
    top = int(np.argmax(free))
    best = np.full(n, float(free[top]))
    best[top] = float(np.max(np.delete(free, top)))
    return best >= need


def install(
    cluster: SimCluster, loop: EventLoop, config: ColoPolicy, reclaim: SimReclaimAgents | None
) -> SimProtectionAgents:
    agents = SimProtectionAgents(cluster, loop, config, reclaim)
    cluster.offline_box_weight = config.idle_box_weight
    agents.start()
    cluster.series_sources.append(agents.series)
    cluster.figure_sources.append(agents.figures)
    cluster.diagnostic_sources.append(agents.diagnostics)
    return agents

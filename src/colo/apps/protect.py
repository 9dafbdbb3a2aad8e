"""colo-agent's protection half: the asyncio driver of `colo.agent.protection.ProtectionLoop`.

`NodeProtector` runs the loop over its own node. Every interval it

1. scans the kubelet's pod tree (`Cgroups.scan`) and reads cpu time and memory of
   `kubepods` and of the offline box, the node's busy cpu time and memory
   (`colo.linux.node`) and PSI: online = kubepods − box, offline = box, system = the
   node − kubepods (cpu as the mean since the last round);
2. hands the loop the node's pods (`pods()`: from the API server in `colo agent serve`,
   from the cgroup tree alone in `colo agent protect`) and, where pods name one, what
   their SLO probes say (`SloProbes`);
3. ticks the loop and carries out its commands: intents to the cgroup port (the
   executor is the only writer), FORBID to the reporting loop (`on_forbid`), evictions
   through the `Evictor` port, every transition as an Event on the Node, a log line and
   a metric.

Signals this node cannot give are NaN, never zero: cpu PSI counts only the online pods'
own cgroups (the node-wide cpu PSI also counts offline threads waiting in SCHED_IDLE,
which is the box working, not interference; cgroup v1 keeps no PSI per cgroup, so on v1
the guard goes without cpu PSI), memory and io PSI are the node's "full" lines, CPI is
unavailable without hardware counters (this collector reports it as such).

A restart loses nothing the node holds: on the first tree it finds, the protector reads
the box's quota and the cpusets of LSE and LSR pods (`Cgroups.cpu_settings`) and the
loop carries on from them (`ProtectionLoop.adopt`) — no reset of the box to its floor,
no pinned pod moved. While no agent runs, the box keeps the quota, `cpu.idle` and
cpusets it was last given (the kernel holds them, not the agent).

Faults: a cgroup that vanished between the scan and a read is not an error (that round
skips it); a tree that cannot be read at all leaves the round unmeasured and logs why;
a refused eviction (a PodDisruptionBudget) is reported back to the loop, which picks
again after its cooldown. One bad pod never stops the loop.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import PurePosixPath
from typing import Any

import aiohttp
import numpy as np
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from colo.agent.kubeletcpu import KubeletCPUState
from colo.agent.protection import (
    Apply,
    Command,
    Evict,
    Forbid,
    Measurements,
    ProtectedPod,
    ProtectionLoop,
    Starving,
    Transitioned,
)
from colo.core.cgroups import ApplyReport
from colo.core.cgroupstats import KubeletTree, Pressure
from colo.core.changes import EventType, PodRef
from colo.core.errors import ColoError, InvalidInput, Retryable
from colo.core.objects import Pod
from colo.core.qos import QOS_LABEL, KubernetesQoSClass, QoSTier
from colo.ports.cgroups import Cgroups
from colo.ports.cluster import EventRecorder, Evictor

log = logging.getLogger(__name__)

#: Pod annotation: an HTTP URL the agent GETs every interval. It answers 2xx with a
#: body that is a latency in ms (`12.5`), `{"latency_ms": 12.5}` or `{"ok": true}`; a
#: non-2xx answer means failing. A probe that times out or cannot connect is unknown.
SLO_PROBE_ANNOTATION = "colo.io/slo-probe"
#: Pod annotation: the latency (ms) above which a probe's answer counts as failing.
SLO_TARGET_ANNOTATION = "colo.io/slo-target-ms"

_QOS_TIER: dict[KubernetesQoSClass, QoSTier] = {
    "Guaranteed": QoSTier.LSR,
    "Burstable": QoSTier.LS,
    "BestEffort": QoSTier.BE,
}


@dataclass(frozen=True, slots=True)
class LocalPod:
    """What `colo agent protect --pod UID=TIER[:CPUS]` says of a pod the cgroup tree
    cannot tell: its tier (as the `colo.io/qos` label would) and its cpus (request =
    limit, for LSE and LSR)."""

    tier: QoSTier
    cpus: int | None = None

    @classmethod
    def parse(cls, text: str) -> tuple[str, LocalPod]:
        uid, sep, rest = text.partition("=")
        tier_text, _, cpus_text = rest.partition(":")
        tiers = {t.value: t for t in (QoSTier.LSE, QoSTier.LSR, QoSTier.LS, QoSTier.BE)}
        tier = tiers.get(tier_text)
        cpus: int | None = None
        if cpus_text:
            cpus = int(cpus_text) if cpus_text.isdigit() and int(cpus_text) > 0 else -1
        if not sep or not uid or tier is None or cpus == -1:
            raise InvalidInput(
                "malformed",
                obj="colo agent protect",
                field="--pod",
                value=text,
                expected="UID=TIER[:CPUS], TIER one of LSE, LSR, LS, BE and CPUS a whole "
                "number > 0, e.g. 0c5e…-…=LSE:2",
            )
        return uid, cls(tier, cpus)


def pods_from_tree(
    tree: KubeletTree, told: Mapping[str, LocalPod] | None = None
) -> list[ProtectedPod]:
    """The node's pods as the cgroup tree alone shows them (no API server): each by its
    Kubernetes QoS class (Guaranteed → LSR, pinned only if the kubelet would pin it;
    Burstable → LS; BestEffort → BE) unless `told` says otherwise, named
    `<qos class>/<uid>`."""
    out = []
    for p in tree.pods:
        say = (told or {}).get(p.uid)
        milli = say.cpus * 1000 if say is not None and say.cpus else 0
        out.append(
            ProtectedPod(
                f"{p.qos_class.lower()}/{p.uid}",
                p.uid,
                say.tier if say is not None else _QOS_TIER[p.qos_class],
                cpu_request_milli=milli,
                cpu_limit_milli=milli or None,
                tier_from_label=say is not None,
                cgroups=(p.cgroup, *(c.cgroup for c in p.containers)),
            )
        )
    return out


def protected_pod(
    pod: Pod, tree: KubeletTree | None, *, mono_now: float, wall_now: float
) -> ProtectedPod:
    """An API server's pod with its cgroups from the tree; `started_s` its creation on
    the driver's monotonic clock."""
    cgroups: tuple[PurePosixPath, ...] = ()
    if tree is not None:
        for p in tree.pods:
            if p.uid == pod.uid:
                cgroups = (p.cgroup, *(c.cgroup for c in p.containers))
                break
    started = None if pod.created_s is None else mono_now - (wall_now - pod.created_s)
    return ProtectedPod(
        pod.key,
        pod.uid or pod.key,
        pod.tier,
        cpu_request_milli=pod.requests.cpu_milli,
        cpu_limit_milli=pod.limits.cpu_milli or None,
        tier_from_label=QOS_LABEL in pod.labels,
        priority=pod.priority,
        started_s=started,
        cgroups=cgroups,
    )


def lenient_pod(raw: Mapping[str, Any]) -> tuple[Pod | None, str | None]:
    """colo's view of a raw pod, forgiving a malformed `colo.io/qos` label: such a pod is
    read as if unlabelled (by its Kubernetes QoS class) and the second value says what
    was wrong, for a Warning event. Anything else malformed: (None, why)."""
    try:
        return Pod.from_k8s(raw), None
    except InvalidInput as e:
        labels = (raw.get("metadata") or {}).get("labels") or {}
        if QOS_LABEL not in labels or QOS_LABEL not in str(e):
            return None, str(e)
        meta = {**raw["metadata"], "labels": {k: v for k, v in labels.items() if k != QOS_LABEL}}
        try:
            pod = Pod.from_k8s({**raw, "metadata": meta})
        except InvalidInput as again:
            return None, str(again)
        return pod, (
            f"label {QOS_LABEL}={labels[QOS_LABEL]!r}: expected one of LSE, LSR, LS, BE; "
            f"treated by its Kubernetes QoS class ({pod.qos_class}) as {pod.tier}"
        )


@dataclass(frozen=True, slots=True)
class Probe:
    pod: str
    url: str
    target_ms: float | None


def probes_of(pods: Sequence[Pod]) -> tuple[list[Probe], list[tuple[Pod, str]]]:
    """The SLO probes online pods name, and (pod, what is wrong) for malformed ones."""
    out: list[Probe] = []
    bad: list[tuple[Pod, str]] = []
    for pod in pods:
        url = pod.annotations.get(SLO_PROBE_ANNOTATION)
        if url is None or pod.tier is QoSTier.BE:
            continue
        if not (url.startswith("http://") or url.startswith("https://")) or " " in url:
            bad.append((pod, f"annotation {SLO_PROBE_ANNOTATION}={url!r}: expected an http(s) URL"))
            continue
        target_text = pod.annotations.get(SLO_TARGET_ANNOTATION)
        target: float | None = None
        if target_text is not None:
            try:
                target = float(target_text)
                if not target > 0 or math.isinf(target):
                    raise ValueError
            except ValueError:
                bad.append(
                    (
                        pod,
                        f"annotation {SLO_TARGET_ANNOTATION}={target_text!r}: expected a "
                        "positive number of milliseconds; the probe's ok/not-ok is used alone",
                    )
                )
                target = None
        out.append(Probe(pod.key, url, target))
    return out, bad


def judge(status: int, body: str, target_ms: float | None) -> float:
    """What one probe answer says: 1.0 failing, 0.0 ok, NaN unknown."""
    if not 200 <= status < 300:
        return 1.0
    text = body.strip()
    latency: float | None = None
    try:
        doc = json.loads(text) if text else None
    except ValueError:
        return math.nan
    if isinstance(doc, bool):
        return 0.0 if doc else 1.0
    if isinstance(doc, (int, float)):
        latency = float(doc)
    elif isinstance(doc, dict):
        if isinstance(doc.get("ok"), bool):
            return 0.0 if doc["ok"] else 1.0
        value = doc.get("latency_ms")
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            latency = float(value)
    elif doc is None:
        return 0.0  # an empty 2xx: ok
    if latency is None:
        return math.nan
    if target_ms is None:
        return 0.0
    return 1.0 if latency > target_ms else 0.0


class SloProbes:
    """GETs every probe concurrently with a timeout; `run(probes)` → the node's
    slo_failing: 1 if any fails, 0 if some answered and none fails, NaN if none answered."""

    def __init__(self, timeout_s: float = 0.5) -> None:
        self.timeout_s = timeout_s
        self.failing = 0
        self.unknown = 0
        self.last: dict[str, float] = {}

    async def run(self, probes: Sequence[Probe]) -> float:
        if not probes:
            self.last = {}
            return math.nan
        timeout = aiohttp.ClientTimeout(total=self.timeout_s)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            results = await asyncio.gather(*(self._one(session, p) for p in probes))
        self.last = {p.pod: r for p, r in zip(probes, results, strict=True)}
        known = [r for r in results if not math.isnan(r)]
        self.failing += sum(r > 0 for r in known)
        self.unknown += len(results) - len(known)
        if not known:
            return math.nan
        return 1.0 if any(r > 0 for r in known) else 0.0

    async def _one(self, session: aiohttp.ClientSession, probe: Probe) -> float:
        try:
            async with session.get(probe.url) as response:
                body = await response.text()
                return judge(response.status, body, probe.target_ms)
        except (TimeoutError, OSError, ValueError, aiohttp.ClientError) as e:
            # timed out, refused, unreadable: unknown, never healthy
            log.debug("slo probe of %s (%s): unknown: %s", probe.pod, probe.url, e)
            return math.nan


@dataclass
class _Counters:
    at: float
    node_ns: int
    kubepods_ns: int
    box_ns: int
    online_pods_ns: int = 0


@dataclass
class Sample:
    """One round of the node's figures (what `Measurements` takes for one node)."""

    online_milli: float
    offline_milli: float
    system_milli: float
    online_memory: float
    offline_memory: float
    system_memory: float
    psi_cpu: float
    psi_memory: float
    psi_io: float


def _full_avg10(p: Pressure | None) -> float:
    if p is None or p.full is None:
        return math.nan
    return p.full.avg10 / 100.0


class NodeSampler:
    """Reads one node's figures from the cgroup port and the node's own files."""

    def __init__(
        self,
        cgroups: Cgroups,
        *,
        read_busy_ns: Callable[[], int],
        read_memory: Callable[[], tuple[int, int]],
    ) -> None:
        self.cgroups = cgroups
        self._busy = read_busy_ns
        self._memory = read_memory
        self._last: _Counters | None = None
        #: the cgroup whose cpu or memory could not be read in the last round (kubepods
        #: or the box: not there, or its controller not mounted), else None
        self.missing: PurePosixPath | None = None

    def sample(self, tree: KubeletTree, now_s: float) -> Sample | None:
        """None on the first round (no rates yet) or when kubepods or the box is gone
        (`missing` says which)."""
        c = self.cgroups
        kube = c.cpu(tree.kubepods)
        box = c.cpu(tree.box)
        kube_mem = c.memory(tree.kubepods)
        box_mem = c.memory(tree.box)
        if kube is None or box is None or kube_mem is None or box_mem is None:
            self.missing = tree.kubepods if kube is None or kube_mem is None else tree.box
            self._last = None
            return None
        self.missing = None
        now = _Counters(now_s, self._busy(), kube.usage_ns, box.usage_ns)
        last, self._last = self._last, now
        if last is None or now_s <= last.at:
            return None
        dt_ns = (now_s - last.at) * 1e9

        def milli(a: int, b: int) -> float:
            return max(0.0, (a - b) / dt_ns * 1000.0)

        node = milli(now.node_ns, last.node_ns)
        kubepods = milli(now.kubepods_ns, last.kubepods_ns)
        offline = milli(now.box_ns, last.box_ns)
        _, used = self._memory()
        node_psi = c.node_pressure()
        return Sample(
            online_milli=max(0.0, kubepods - offline),
            offline_milli=offline,
            system_milli=max(0.0, node - kubepods),
            online_memory=float(max(0, kube_mem.working_set_bytes - box_mem.working_set_bytes)),
            offline_memory=float(box_mem.usage_bytes),
            system_memory=float(max(0, used - kube_mem.usage_bytes)),
            psi_cpu=self._online_cpu_pressure(tree),
            psi_memory=_full_avg10(node_psi.memory),
            psi_io=_full_avg10(node_psi.io),
        )

    def _online_cpu_pressure(self, tree: KubeletTree) -> float:
        """The worst online pod's cpu PSI (some, avg10) where the kernel keeps it per
        cgroup; NaN otherwise (see the module docstring)."""
        worst = math.nan
        for pod in tree.pods:
            if pod.qos_class == "BestEffort":
                continue
            p = self.cgroups.pressure(pod.cgroup)
            if p is None or p.cpu is None:
                continue
            value = p.cpu.some.avg10 / 100.0
            worst = value if math.isnan(worst) else max(worst, value)
        return worst


@dataclass
class ProtectorHooks:
    """What the protector does beyond the cgroups, by mode: `on_forbid` (the reporting
    loop's `forbid`), evictions and Events (None: no API server — logged only),
    `room_elsewhere` (asked while the node starves its offline work: may a starved pod
    run on another node?), `after_round` (the driver's own work once a round is done),
    `keep_self_on` (moves the agent's own threads onto the cpus an `Apply` names for
    it: `colo.linux.affinity.OwnCpus.keep_on`; None leaves them be)."""

    on_forbid: Callable[[bool], None] = lambda on: None
    evictor: Evictor | None = None
    recorder: EventRecorder | None = None
    node_uid: str = ""
    room_elsewhere: Callable[[], Awaitable[bool]] | None = None
    after_round: Callable[[], Awaitable[None]] | None = None
    keep_self_on: Callable[[frozenset[int]], object] | None = None


@dataclass
class ProtectorStats:
    rounds: int = 0
    unmeasured: int = 0
    applied: dict[str, int] = field(
        default_factory=lambda: {"written": 0, "unchanged": 0, "failed": 0, "gone": 0}
    )
    transitions: dict[tuple[str, str], int] = field(default_factory=dict)
    evictions: dict[str, int] = field(default_factory=dict)
    bad_pods: int = 0
    last_apply: ApplyReport | None = None
    #: settings carried on from the cgroups as found at start (box quota, pinned pods)
    adopted: int = 0


class NodeProtector:
    """Drives a one-node `ProtectionLoop` against the node (see the module docstring).

    `pods(tree)` returns the node's pods (given the tree found this round, or None);
    `probes()` the SLO probes to run; `kubelet()` the kubelet's CPU manager state."""

    def __init__(
        self,
        loop: ProtectionLoop,
        *,
        sampler: NodeSampler,
        pods: Callable[[KubeletTree | None], Sequence[ProtectedPod]],
        probes: Callable[[], Sequence[Probe]] = lambda: (),
        slo: SloProbes | None = None,
        kubelet: Callable[[], KubeletCPUState | None] = lambda: None,
        hooks: ProtectorHooks | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if len(loop.node_names) != 1:
            raise ValueError("a NodeProtector drives a protection loop over its own node only")
        self.loop = loop
        self.name = loop.node_names[0]
        self.sampler = sampler
        self._pods = pods
        self._probes = probes
        self.slo = slo or SloProbes()
        self._kubelet = kubelet
        self.hooks = hooks or ProtectorHooks()
        self._clock = clock
        self.stats = ProtectorStats()
        self.sample: Sample | None = None
        self.slo_failing = math.nan
        self._said_no_tree = False
        self._said_missing: PurePosixPath | None = None
        self._adopted = False
        #: whether the cluster has room for this node's offline work elsewhere (None:
        #: unknown); set by a driver that can see the cluster
        self.room_elsewhere: bool | None = None

    async def tick(self) -> list[Command]:
        """One round: scan → measure → decide → carry out."""
        self.stats.rounds += 1
        if self.hooks.room_elsewhere is not None and self.loop.starving[0]:
            self.room_elsewhere = await self.hooks.room_elsewhere()
        tree = self._scan()
        pods = self._pods(tree)
        self.loop.set_pods(self.name, pods, kubelet=self._kubelet())
        if tree is not None and not self._adopted:
            self._adopt(tree, pods)
        now = self._clock()
        self.slo_failing = await self.slo.run(self._probes())
        sample = None
        if tree is not None:
            try:
                sample = self.sampler.sample(tree, now)
            except Retryable as e:
                log.warning("node %s: reading usage failed; not measured: %s", self.name, e)
        self.sample = sample
        missing = self.sampler.missing if tree is not None else None
        if missing != self._said_missing and missing is not None:
            log.warning(
                "node %s: cannot read cpu and memory of %s (not there yet, or a controller "
                "not mounted); not measured, nothing decided, until it can",
                self.name,
                missing,
            )
        self._said_missing = missing
        if sample is None:
            self.stats.unmeasured += 1
            return []
        self.loop.observe(self._measurements(sample, now))
        commands = self.loop.tick(now)
        for command in commands:
            await self._execute(command, now)
        return commands

    def _adopt(self, tree: KubeletTree, pods: Sequence[ProtectedPod]) -> None:
        """Once, on the first tree found: hand the loop what the cgroups hold now, so an
        agent that restarts carries on from its predecessor's settings (the box's quota,
        pinned pods' cpus) instead of starting over (`ProtectionLoop.adopt`)."""
        cgroups = self.loop_cgroups
        try:
            box = cgroups.cpu_settings(tree.box)
            pod_cpus: dict[str, frozenset[int]] = {}
            for pod in pods:
                if pod.tier in (QoSTier.LSE, QoSTier.LSR) and pod.cgroups:
                    got = cgroups.cpu_settings(pod.cgroups[0])
                    if got is not None and got.cpus is not None:
                        pod_cpus[pod.uid] = got.cpus
        except Retryable as e:
            log.warning("node %s: cannot read the cgroups to adopt (next round): %s", self.name, e)
            return
        self._adopted = True
        box_milli = None if box is None else box.limit_milli
        notes = self.loop.adopt(self.name, box_milli=box_milli, pod_cpus=pod_cpus)
        self.stats.adopted = len(notes)
        if notes:
            log.info("node %s: carrying on from the cgroups as found: %s", self.name,
                     "; ".join(notes))  # fmt: skip

    def _scan(self) -> KubeletTree | None:
        try:
            trees = self.loop_cgroups.scan()
        except Retryable as e:
            log.warning("node %s: cannot scan the kubelet's pod tree: %s", self.name, e)
            return None
        if not trees:
            if not self._said_no_tree:
                log.warning("node %s: no kubelet pod tree (kubepods) yet; waiting", self.name)
                self._said_no_tree = True
            return None
        self._said_no_tree = False
        return trees[0]

    @property
    def loop_cgroups(self) -> Cgroups:
        return self.sampler.cgroups

    def _measurements(self, s: Sample, now: float) -> Measurements:
        def one(v: float) -> np.ndarray:
            return np.array([v], np.float64)

        return Measurements(
            now_s=now,
            online_milli=one(s.online_milli),
            offline_milli=one(s.offline_milli),
            system_milli=one(s.system_milli),
            online_memory=one(s.online_memory),
            offline_memory=one(s.offline_memory),
            system_memory=one(s.system_memory),
            psi_cpu=one(s.psi_cpu),
            psi_memory=one(s.psi_memory),
            psi_io=one(s.psi_io),
            cpi=one(math.nan),  # no hardware counters here: unavailable, not zero
            slo_failing=one(self.slo_failing),
            room_elsewhere=None if self.room_elsewhere is None else np.array([self.room_elsewhere]),
        )

    async def _execute(self, command: Command, now: float) -> None:
        h = self.hooks
        if isinstance(command, Apply):
            report = self.loop_cgroups.apply(command.intents)
            self.stats.last_apply = report
            for k, v in report.counts().items():
                self.stats.applied[k] += v
            if command.own_cpus is not None and h.keep_self_on is not None:
                h.keep_self_on(command.own_cpus)
        elif isinstance(command, Transitioned):
            key = (command.old.name, command.new.name)
            self.stats.transitions[key] = self.stats.transitions.get(key, 0) + 1
            log.warning(
                "node %s: guard %s -> %s: %s",
                self.name,
                command.old.name,
                command.new.name,
                command.reason,
            )
            await self._event(
                f"Guard{command.new.name.title()}",
                f"{command.old.name} -> {command.new.name}: {command.reason}",
                EventType.WARNING if command.new > command.old else EventType.NORMAL,
            )
        elif isinstance(command, Forbid):
            h.on_forbid(command.on)
            log.info(
                "node %s: new offline pods %s",
                self.name,
                "forbidden" if command.on else "allowed again",
            )
        elif isinstance(command, Starving):
            log.warning("node %s: %s", self.name, command.reason)
            await self._event(
                "OfflineStarving" if command.on else "OfflineFed",
                command.reason,
                EventType.WARNING if command.on else EventType.NORMAL,
            )
        elif isinstance(command, Evict):
            await self._evict(command, now)

    async def _evict(self, command: Evict, now: float) -> None:
        ok = False
        if self.hooks.evictor is None:
            log.warning(
                "node %s: would evict %s (%s), but there is no API server to ask",
                self.name,
                command.key,
                command.reason,
            )
        else:
            ns, _, name = command.key.partition("/")
            try:
                await self.hooks.evictor.evict(
                    PodRef(ns, name, command.uid), reason=f"colo-agent: {command.reason}"
                )
                ok = True
                log.warning("node %s: evicted %s: %s", self.name, command.key, command.reason)
            except ColoError as e:
                log.warning("node %s: eviction of %s refused: %s", self.name, command.key, e)
        kind = "starved" if command.reason.startswith("starved") else "interference"
        result = f"{kind}/{'ok' if ok else 'failed'}"
        self.stats.evictions[result] = self.stats.evictions.get(result, 0) + 1
        self.loop.evicted(self.name, command.key, now, ok=ok)

    async def _event(self, reason: str, message: str, type: EventType) -> None:
        r = self.hooks.recorder
        if r is not None:
            await r.record(
                kind="Node",
                key=self.name,
                reason=reason,
                message=message,
                type=type,
                uid=self.hooks.node_uid,
            )

    async def warn_pod(self, pod: Pod, message: str) -> None:
        """A Warning event about a pod the agent read leniently (bad `colo.io/*`)."""
        self.stats.bad_pods += 1
        log.warning("pod %s: %s", pod.key, message)
        r = self.hooks.recorder
        if r is not None:
            await r.record(
                kind="Pod",
                key=pod.key,
                reason="BadColoAnnotation",
                message=message,
                type=EventType.WARNING,
                uid=pod.uid,
            )

    def state(self) -> dict[str, object]:
        """The loop's explanation plus what this driver saw (for the Lease annotation)."""
        out = self.loop.explain(self.name)
        out["at"] = datetime.now(UTC).isoformat(timespec="seconds")
        if self.slo.last:
            out["slo_probes"] = {k: _probe_word(v) for k, v in self.slo.last.items()}
        if self.stats.last_apply is not None and self.stats.last_apply.failed:
            out["cgroup_failures"] = [
                f"{f.cgroup} {f.file}: {f.reason}" for f in self.stats.last_apply.failed[:5]
            ]
        return out

    async def run(self) -> None:
        interval = self.loop.options.interval_s
        while True:
            began = self._clock()
            try:
                await self.tick()
                if self.hooks.after_round is not None:
                    await self.hooks.after_round()
            except Exception:  # one bad round must not end protection
                log.exception("node %s: protection round failed; next round as usual", self.name)
            await asyncio.sleep(max(0.0, interval - (self._clock() - began)))


def _probe_word(v: float) -> str:
    if math.isnan(v):
        return "unknown"
    return "failing" if v > 0 else "ok"


class ProtectionCollector(Collector):
    """colo-agent's protection: guard state, the box, signals, transitions, evictions."""

    def __init__(self, protector: NodeProtector) -> None:
        self._p = protector

    def collect(self) -> Iterator[Metric]:
        p, loop = self._p, self._p.loop
        node = [p.name]

        def gauge(name: str, doc: str, value: float) -> GaugeMetricFamily:
            g = GaugeMetricFamily(name, doc, labels=["node"])
            g.add_metric(node, value)
            return g

        yield gauge(
            "colo_agent_guard_level",
            "The guard's state: 0 NORMAL, 1 THROTTLE, 2 FORBID, 3 EVICT.",
            float(loop.guard.state.level[0]),
        )
        sized = loop.sized
        yield gauge(
            "colo_agent_box_cpu_millicores",
            "The offline box's cpu quota.",
            float(loop.box_milli[0]),
        )
        yield gauge(
            "colo_agent_box_memory_bytes",
            "The offline box's memory limit.",
            float(sized.memory_bytes[0]) if sized is not None else 0.0,
        )
        yield gauge(
            "colo_agent_forbidden",
            "1 while new offline pods are forbidden.",
            float(loop.forbidden[0]),
        )
        yield gauge(
            "colo_agent_starving",
            "1 while the node starves its offline work.",
            float(loop.starving[0]),
        )
        yield gauge(
            "colo_agent_offline_pods",
            "Offline (BE) pods on the node at the last round.",
            float(loop.offline_pods[0]),
        )
        s = p.sample
        if s is not None:
            for what, milli, memory, held in (
                ("online", s.online_milli, s.online_memory, "working set outside the box"),
                ("offline", s.offline_milli, s.offline_memory, "the box's usage"),
                ("system", s.system_milli, s.system_memory, "the node's, outside kubepods"),
            ):
                yield gauge(
                    f"colo_agent_{what}_cpu_used_millicores",
                    f"Cpu {what} work used over the last round.",
                    milli,
                )
                yield gauge(
                    f"colo_agent_{what}_memory_used_bytes",
                    f"Memory {what} work held at the last round ({held}).",
                    memory,
                )
            for what, value in (("cpu", s.psi_cpu), ("memory", s.psi_memory), ("io", s.psi_io)):
                if not math.isnan(value):
                    yield gauge(
                        f"colo_agent_pressure_{what}",
                        f"PSI {what} the guard sees (fraction of time).",
                        value,
                    )
        transitions = CounterMetricFamily(
            "colo_agent_guard_transitions", "Guard state changes.", labels=["node", "from", "to"]
        )
        for (old, new), n in sorted(p.stats.transitions.items()):
            transitions.add_metric([p.name, old, new], n)
        yield transitions
        evictions = CounterMetricFamily(
            "colo_agent_evictions",
            "Offline pods evicted, by why and result.",
            labels=["node", "reason", "result"],
        )
        for key, n in sorted(p.stats.evictions.items()):
            reason, _, result = key.partition("/")
            evictions.add_metric([p.name, reason, result], n)
        yield evictions
        writes = CounterMetricFamily(
            "colo_agent_cgroup_settings",
            "Cgroup settings applied, by outcome.",
            labels=["node", "outcome"],
        )
        for outcome, n in sorted(p.stats.applied.items()):
            writes.add_metric([p.name, outcome], n)
        yield writes
        yield CounterMetricFamily(
            "colo_agent_protection_rounds", "Protection rounds run.", value=p.stats.rounds
        )
        yield CounterMetricFamily(
            "colo_agent_protection_unmeasured",
            "Protection rounds without measurements.",
            value=p.stats.unmeasured,
        )
        yield CounterMetricFamily(
            "colo_agent_slo_probes_failing", "Probe answers that failed.", value=p.slo.failing
        )
        yield CounterMetricFamily(
            "colo_agent_slo_probes_unknown",
            "Probes that timed out or could not connect.",
            value=p.slo.unknown,
        )
        yield gauge("colo_agent_cpi_available", "0: no hardware counters, CPI unavailable.", 0.0)

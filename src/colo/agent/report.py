"""When the agent patches the node's `colo.io/batch-*` resources, and when it heartbeats.

Patching a Node is not free (every scheduler's informer sees it), so the reporter skips
changes smaller than `threshold` of the node's capacity and publishes at most once per
`min_interval_s` — except that a *drop* past the threshold goes out at once: offline
work must yield as soon as online load rises, and a rate limit must never delay that.
A fall to zero (stale metrics, or no room) always goes out at once.

Separately from the numbers, the agent renews a heartbeat every `heartbeat_interval_s`;
`HeartbeatMonitor` (run by whoever owns the cluster-wide view) zeroes the batch
resources of nodes whose heartbeat has not changed for `heartbeat_timeout_s`, so a
node whose agent died offers nothing rather than its last, stale number.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from colo.core.errors import InvalidInput
from colo.core.resources import BATCH_CPU, BATCH_MEMORY

BATCH_RESOURCES = (BATCH_CPU, BATCH_MEMORY)
#: Annotation on the agent's heartbeat Lease: its latest reclaim explanation (JSON).
EXPLANATION_ANNOTATION = "colo.io/reclaim-explanation"


@dataclass(frozen=True, slots=True)
class ReportOptions:
    threshold: float = 0.05
    min_interval_s: float = 10.0
    heartbeat_interval_s: float = 10.0
    heartbeat_timeout_s: float = 40.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.threshold < 1.0:
            raise InvalidInput(
                "out of range",
                obj="report options",
                field="threshold",
                value=self.threshold,
                expected="a fraction in [0, 1)",
            )
        if self.min_interval_s < 0 or self.heartbeat_interval_s <= 0:
            raise InvalidInput(
                "intervals must be positive",
                obj="report options",
                field="min_interval_s",
                value=(self.min_interval_s, self.heartbeat_interval_s),
            )
        if self.heartbeat_timeout_s <= 2 * self.heartbeat_interval_s:
            raise InvalidInput(
                "must exceed two heartbeat intervals, or one late renewal zeroes a healthy node",
                obj="report options",
                field="heartbeat_timeout_s",
                value=self.heartbeat_timeout_s,
            )


@dataclass(frozen=True, slots=True)
class Batch:
    """The two published figures: batch cpu in millicores, batch memory in bytes."""

    cpu_milli: int
    memory_bytes: int

    def as_extended(self) -> dict[str, int]:
        return {BATCH_CPU: self.cpu_milli, BATCH_MEMORY: self.memory_bytes}


@dataclass(frozen=True, slots=True)
class Decision:
    publish: Batch | None
    reason: str


class BatchReporter:
    """Decides, tick by tick, whether the node's batch resources need a patch."""

    def __init__(self, options: ReportOptions, *, cpu_capacity: int, memory_capacity: int) -> None:
        self.options = options
        self._cap = (max(1, cpu_capacity), max(1, memory_capacity))
        self.published: Batch | None = None
        self._published_at: float | None = None
        self.last_heartbeat_s: float | None = None
        self.skipped = 0

    def set_capacity(self, *, cpu_capacity: int, memory_capacity: int) -> None:
        """The node's capacity changed: thresholds are fractions of the new one."""
        self._cap = (max(1, cpu_capacity), max(1, memory_capacity))

    def decide(self, want: Batch, now_s: float) -> Decision:
        old = self.published
        if old is None:
            return Decision(want, "first report")
        if want == old:
            return Decision(None, "unchanged")
        t = self.options.threshold
        d_cpu = (want.cpu_milli - old.cpu_milli) / self._cap[0]
        d_mem = (want.memory_bytes - old.memory_bytes) / self._cap[1]
        to_zero = (want.cpu_milli == 0 and old.cpu_milli != 0) or (
            want.memory_bytes == 0 and old.memory_bytes != 0
        )
        if to_zero:
            return Decision(want, "fell to zero")
        if d_cpu <= -t or d_mem <= -t:
            return Decision(want, "dropped past the threshold")
        if abs(d_cpu) < t and abs(d_mem) < t:
            self.skipped += 1
            return Decision(None, f"change below {t:.0%} of capacity")
        assert self._published_at is not None
        if now_s - self._published_at < self.options.min_interval_s:
            self.skipped += 1
            return Decision(
                None, f"rose, but the last patch was < {self.options.min_interval_s:g} s ago"
            )
        return Decision(want, "rose past the threshold")

    def published_ok(self, batch: Batch, now_s: float) -> None:
        """Call after the patch succeeded (a failed patch is retried next tick)."""
        self.published = batch
        self._published_at = now_s

    def heartbeat_due(self, now_s: float) -> bool:
        last = self.last_heartbeat_s
        return last is None or now_s - last >= self.options.heartbeat_interval_s

    def heartbeat_ok(self, now_s: float) -> None:
        self.last_heartbeat_s = now_s


class HeartbeatMonitor:
    """Which nodes' agents have gone silent, judged by this monitor's own clock.

    `observe(node, marker, now)` is fed whatever the heartbeat carries (a Lease's
    renewTime, say); only a *change* of marker counts as a beat, and its time is when
    the monitor saw it — so the agents' clocks never matter.
    """

    def __init__(self, timeout_s: float) -> None:
        self.timeout_s = timeout_s
        self._seen: dict[str, tuple[str, float]] = {}

    def observe(self, node: str, marker: str, now_s: float) -> None:
        prev = self._seen.get(node)
        if prev is None or prev[0] != marker:
            self._seen[node] = (marker, now_s)

    def retain(self, nodes: Iterable[str]) -> None:
        """Forget nodes not in `nodes` (deleted from the cluster)."""
        keep = set(nodes)
        for gone in [n for n in self._seen if n not in keep]:
            del self._seen[gone]

    def __len__(self) -> int:
        return len(self._seen)

    def silent(self, nodes_with_batch: list[str], now_s: float, *, started_s: float) -> list[str]:
        """Nodes offering batch resources whose heartbeat is older than the timeout.

        A node never seen counts from `started_s` (the monitor's start), so a restart of
        the monitor does not zero the whole cluster at once.
        """
        out = []
        for node in nodes_with_batch:
            seen_at = self._seen.get(node, ("", started_s))[1]
            if now_s - seen_at > self.timeout_s:
                out.append(node)
        return sorted(out)

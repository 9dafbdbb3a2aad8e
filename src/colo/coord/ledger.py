"""The coordinator's ledger: per node, what is allocatable, bound and reserved.

Schedulers decide on their own (possibly stale) views and then ask `reserve` for a batch
of (pod, node, resources, priority). Each item is checked against its node only — a
light fit: bound + live reservations + the request within allocatable, per resource the
request names — and answered ok or conflict. Nothing is locked across nodes, so two
schedulers working on different nodes never wait for each other; two racing for the
same node are serialized there and the loser gets a conflict, replans and retries.

- Within one batch, items for the same node are taken by priority (highest first), then
  in the order given.
- A reservation lives `ttl_s` unless the pod is seen bound (`pod_bound`), which turns it
  into a bound entry; expired reservations are dropped before each batch.
- `reserve` is idempotent per pod: the same pod on the same node refreshes its TTL; on a
  different node it is a conflict (unreserve first). `unreserve` of an unknown pod does
  nothing.
- Status updates (`update_node`, `pod_bound`, `pod_gone`) are applied as they come; the
  service applies every queued update before it answers a batch.
- `rebuild` starts from the API server's nodes and bound pods, so after a restart the
  ledger never grants what is already bound.

Pure: time is a parameter.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from colo.core.reservation import Item, Reply

Amounts = dict[str, int]


@dataclass
class NodeEntry:
    allocatable: Amounts
    used: Amounts = field(default_factory=dict)  # bound + reserved
    bound: dict[str, Amounts] = field(default_factory=dict)
    reserved: dict[str, tuple[Amounts, float]] = field(
        default_factory=dict
    )  # pod -> (res, expires)


def _add(into: Amounts, res: Mapping[str, int], sign: int) -> None:
    for k, v in res.items():
        into[k] = into.get(k, 0) + sign * v


def _shortfall(entry: NodeEntry, resources: Mapping[str, int]) -> str:
    """The light fit: "" if bound + reserved + `resources` stay within allocatable."""
    for name, want in resources.items():
        if want and entry.used.get(name, 0) + want > entry.allocatable.get(name, 0):
            free = entry.allocatable.get(name, 0) - entry.used.get(name, 0)
            return f"insufficient {name}: {want} wanted, {free} free"
    return ""


class Ledger:
    def __init__(self, *, ttl_s: float = 30.0) -> None:
        if ttl_s <= 0:
            raise ValueError(f"reservation ttl must be > 0, got {ttl_s}")
        self.ttl_s = ttl_s
        self.nodes: dict[str, NodeEntry] = {}
        self._where: dict[str, tuple[str, bool]] = {}  # pod -> (node, bound?)
        self._expiry: list[tuple[float, str, str]] = []  # (expires, pod, node), lazy
        self.granted = 0
        self.conflicts = 0
        self.expired = 0

    # --- status updates ---------------------------------------------------------------
    def update_node(self, name: str, allocatable: Mapping[str, int]) -> None:
        entry = self.nodes.get(name)
        if entry is None:
            self.nodes[name] = NodeEntry(dict(allocatable))
        else:
            entry.allocatable = dict(allocatable)

    def remove_node(self, name: str) -> None:
        entry = self.nodes.pop(name, None)
        if entry is not None:
            for pod in [*entry.bound, *entry.reserved]:
                self._where.pop(pod, None)

    def pod_bound(self, pod: str, node: str, resources: Mapping[str, int]) -> None:
        """The API server shows `pod` bound to `node` (confirms a reservation, or not)."""
        where = self._where.get(pod)
        if where == (node, True) and self.nodes[node].bound.get(pod) == resources:
            return  # a status update of a pod already counted (most watch events)
        if where is not None and (where[0] != node or where[1]):
            self._drop(pod)
        entry = self.nodes.get(node)
        if entry is None:
            entry = self.nodes[node] = NodeEntry({})
        held = entry.reserved.pop(pod, None)
        if held is not None:
            _add(entry.used, held[0], -1)
        res = dict(resources)
        entry.bound[pod] = res
        _add(entry.used, res, +1)
        self._where[pod] = (node, True)

    def pod_gone(self, pod: str) -> None:
        """Deleted, finished or evicted: its resources are free again."""
        self._drop(pod)

    def _drop(self, pod: str) -> None:
        where = self._where.pop(pod, None)
        if where is None:
            return
        entry = self.nodes.get(where[0])
        if entry is None:
            return
        if where[1]:
            res = entry.bound.pop(pod, None)
            if res is not None:
                _add(entry.used, res, -1)
        else:
            held = entry.reserved.pop(pod, None)
            if held is not None:
                _add(entry.used, held[0], -1)

    def rebuild(
        self,
        nodes: Iterable[tuple[str, Mapping[str, int]]],
        bound: Iterable[tuple[str, str, Mapping[str, int]]],
    ) -> None:
        """Start over from the API server: nodes with allocatable, bound (pod, node, res)."""
        self.nodes.clear()
        self._where.clear()
        self._expiry.clear()
        for name, alloc in nodes:
            self.update_node(name, alloc)
        for pod, node, res in bound:
            self.pod_bound(pod, node, res)

    # --- reservations -----------------------------------------------------------------
    def expire(self, now_s: float) -> int:
        n = 0
        while self._expiry and self._expiry[0][0] <= now_s:
            expires, pod, node = heapq.heappop(self._expiry)
            entry = self.nodes.get(node)
            held = entry.reserved.get(pod) if entry is not None else None
            if entry is None or held is None or held[1] != expires:
                continue  # confirmed, released or refreshed since
            del entry.reserved[pod]
            _add(entry.used, held[0], -1)
            self._where.pop(pod, None)
            n += 1
        self.expired += n
        return n

    def reserve(self, items: Sequence[Item], now_s: float) -> list[Reply]:
        """Answer every item, in the order given."""
        self.expire(now_s)
        by_node: dict[str, list[int]] = {}
        for i, item in enumerate(items):
            by_node.setdefault(item.node, []).append(i)
        replies: list[Reply | None] = [None] * len(items)
        for idx in by_node.values():
            idx.sort(key=lambda i: -items[i].priority)  # stable: ties keep the given order
            for i in idx:
                replies[i] = self._one(items[i], now_s)
        out = [r for r in replies if r is not None]
        assert len(out) == len(items)
        return out

    def _one(self, item: Item, now_s: float) -> Reply:
        entry = self.nodes.get(item.node)
        if entry is None:
            self.conflicts += 1
            return Reply(item.pod, item.node, False, f"node {item.node} is not known")
        where = self._where.get(item.pod)
        if where is not None:
            node, bound = where
            if node != item.node:
                self.conflicts += 1
                what = "bound" if bound else "reserved"
                return Reply(item.pod, item.node, False, f"pod is already {what} on {node}")
            if bound:
                return Reply(item.pod, item.node, True, "already bound there")
            res, _ = entry.reserved[item.pod]
            expires = now_s + self.ttl_s
            entry.reserved[item.pod] = (res, expires)
            heapq.heappush(self._expiry, (expires, item.pod, item.node))
            return Reply(item.pod, item.node, True, "refreshed")
        short = _shortfall(entry, item.resources)
        if short:
            self.conflicts += 1
            return Reply(item.pod, item.node, False, short)
        res = {k: v for k, v in item.resources.items() if v}
        expires = now_s + self.ttl_s
        entry.reserved[item.pod] = (res, expires)
        _add(entry.used, res, +1)
        self._where[item.pod] = (item.node, False)
        heapq.heappush(self._expiry, (expires, item.pod, item.node))
        self.granted += 1
        return Reply(item.pod, item.node, True)

    def check(self, pod: str, node: str, resources: Mapping[str, int], now_s: float) -> str:
        """Why `pod` could not be reserved on `node` now ("" if it could); holds nothing."""
        self.expire(now_s)
        entry = self.nodes.get(node)
        if entry is None:
            return f"node {node} is not known"
        where = self._where.get(pod)
        if where is not None:
            what = "bound" if where[1] else "reserved"
            return "" if where[0] == node else f"pod is already {what} on {where[0]}"
        return _shortfall(entry, resources)

    def unreserve(self, pods: Iterable[str]) -> int:
        """Release reservations (bound pods are left alone); returns how many were released."""
        n = 0
        for pod in pods:
            where = self._where.get(pod)
            if where is not None and not where[1]:
                self._drop(pod)
                n += 1
        return n

    def free(self, node: str) -> Amounts:
        entry = self.nodes[node]
        return {k: v - entry.used.get(k, 0) for k, v in entry.allocatable.items()}


class InProcessCoordinator:
    """The calls of `colo.rpc.coordinator.CoordinatorClient`, straight into a ledger (for
    the simulator and single-process setups); `clock` gives the ledger its time."""

    def __init__(self, ledger: Ledger, clock: Callable[[], float]) -> None:
        self.ledger = ledger
        self._clock = clock

    async def reserve(self, items: Sequence[Item]) -> list[Reply]:
        return self.ledger.reserve(items, self._clock())

    async def unreserve(self, pods: Sequence[str]) -> int:
        return self.ledger.unreserve(pods)

    async def pod_bound(self, pod: str, node: str, resources: Mapping[str, int]) -> None:
        self.ledger.pod_bound(pod, node, resources)

    async def filter(
        self, pod: str, resources: Mapping[str, int], nodes: Sequence[str]
    ) -> tuple[list[str], dict[str, str]]:
        return filter_nodes(self.ledger, pod, resources, nodes, self._clock())


def filter_nodes(
    ledger: Ledger, pod: str, resources: Mapping[str, int], nodes: Sequence[str], now_s: float
) -> tuple[list[str], dict[str, str]]:
    """(nodes that could take `pod` now, in the order given; node -> why not for the rest)."""
    ok: list[str] = []
    failed: dict[str, str] = {}
    for node in nodes:
        why = ledger.check(pod, node, resources, now_s)
        if why:
            failed[node] = why
        else:
            ok.append(node)
    return ok, failed

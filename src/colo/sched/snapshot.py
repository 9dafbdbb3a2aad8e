"""The cluster as the batch cycle sees it: numpy arrays over nodes, kept up to date.

`alloc` and `used` are [N, R] int64 over a growing list of resource names (cpu, memory,
pods, the batch resources, then any extended resource a node or pod names). Labels and
taints stay per node; the static masks built from them (taints tolerated, selector and
affinity matched) are cached per pod placement key and dropped when a node's labels or
taints change. Updates are incremental: a node upsert touches one row, a pod bound or
gone touches one row of `used`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

from colo.core.objects import Node, Taint
from colo.core.resources import BATCH_CPU, BATCH_MEMORY, CPU, MEMORY, PODS

BASE_RESOURCES = (CPU, MEMORY, PODS, BATCH_CPU, BATCH_MEMORY)
POD_IPS = "colo.io/pod-ips"
"""A column of its own: each pod takes one IP; the limit comes from the node (below)."""
POD_IP_LIMIT_ANNOTATION = "colo.io/pod-ip-limit"
"""Node annotation: how many pod IPs its CIDR (or the CNI's pool) leaves; none: no limit."""
NO_IP_LIMIT = 2**40


@dataclass
class NodeMeta:
    labels: dict[str, str]
    taints: tuple[Taint, ...]


class Snapshot:
    def __init__(self, capacity: int = 1024) -> None:
        self.resources: list[str] = [*BASE_RESOURCES, POD_IPS]
        self._col = {r: i for i, r in enumerate(self.resources)}
        self.names: list[str] = []
        self.index: dict[str, int] = {}
        self.meta: list[NodeMeta] = []
        self.alloc = np.zeros((capacity, len(self.resources)), np.int64)
        self.used = np.zeros((capacity, len(self.resources)), np.int64)
        self.schedulable = np.zeros(capacity, bool)
        self.live = np.zeros(capacity, bool)
        self.generation = 0  # bumps when labels, taints, schedulability or membership change
        self.job_pods: dict[str, dict[int, int]] = {}  # job -> node -> pods placed there
        self._mask_cache: dict[tuple[object, ...], tuple[int, object]] = {}

    # --- shape ---------------------------------------------------------------------
    @property
    def n(self) -> int:
        return len(self.names)

    def column(self, resource: str) -> int:
        col = self._col.get(resource)
        if col is None:
            col = len(self.resources)
            self.resources.append(resource)
            self._col[resource] = col
            pad = np.zeros((self.alloc.shape[0], 1), np.int64)
            self.alloc = np.hstack([self.alloc, pad])
            self.used = np.hstack([self.used, pad.copy()])
        return col

    def _grow(self) -> None:
        rows = self.alloc.shape[0]
        self.alloc = np.vstack([self.alloc, np.zeros_like(self.alloc)])
        self.used = np.vstack([self.used, np.zeros_like(self.used)])
        self.schedulable = np.concatenate([self.schedulable, np.zeros(rows, bool)])
        self.live = np.concatenate([self.live, np.zeros(rows, bool)])

    # --- nodes ---------------------------------------------------------------------
    def upsert_node(self, node: Node) -> int:
        i = self.index.get(node.name)
        if i is None:
            i = len(self.names)
            if i >= self.alloc.shape[0]:
                self._grow()
            self.names.append(node.name)
            self.index[node.name] = i
            self.meta.append(NodeMeta({}, ()))
            self.generation += 1
        row = np.zeros(len(self.resources), np.int64)
        for name, value in node.allocatable.items():
            row = self._set(row, name, value)
        ip_limit = node.annotations.get(POD_IP_LIMIT_ANNOTATION)
        ips = int(ip_limit) if ip_limit and ip_limit.isdigit() else NO_IP_LIMIT
        row = self._set(row, POD_IPS, ips)
        self.alloc[i, : len(row)] = row
        self.alloc[i, len(row) :] = 0
        if self.schedulable[i] != node.schedulable or not self.live[i]:
            self.generation += 1  # static masks include NodeUnschedulable
        self.schedulable[i] = node.schedulable
        self.live[i] = True
        meta = NodeMeta(dict(node.labels), tuple(node.taints))
        if meta != self.meta[i]:
            self.meta[i] = meta
            self.generation += 1
        return i

    def _set(self, row: np.ndarray, name: str, value: int) -> np.ndarray:
        col = self.column(name)
        if col >= len(row):
            row = np.concatenate([row, np.zeros(col + 1 - len(row), np.int64)])
        row[col] = value
        return row

    def remove_node(self, name: str) -> None:
        i = self.index.get(name)
        if i is not None:
            self.live[i] = False
            self.schedulable[i] = False
            self.generation += 1

    # --- pods ----------------------------------------------------------------------
    def request_vector(self, requests: Iterable[tuple[str, int]], *, ip: bool = True) -> np.ndarray:
        cols = [(self.column(n), v) for n, v in requests]
        vec = np.zeros(len(self.resources), np.int64)
        for c, v in cols:
            vec[c] += v
        if ip:
            vec[self._col[POD_IPS]] += 1
        return vec

    def add_pod(self, node: int, vec: np.ndarray, job: str = "") -> None:
        self.used[node, : len(vec)] += vec
        if job:
            per = self.job_pods.setdefault(job, {})
            per[node] = per.get(node, 0) + 1

    def remove_pod(self, node: int, vec: np.ndarray, job: str = "") -> None:
        self.used[node, : len(vec)] -= vec
        if job and job in self.job_pods:
            per = self.job_pods[job]
            per[node] = per.get(node, 0) - 1
            if per[node] <= 0:
                del per[node]
            if not per:
                del self.job_pods[job]

    def free(self) -> np.ndarray:
        n = self.n
        return self.alloc[:n] - self.used[:n]

    # --- cached static masks -------------------------------------------------------
    def cached_mask(self, key: tuple[object, ...], build: Callable[[], object]) -> object:
        hit = self._mask_cache.get(key)
        if hit is not None and hit[0] == self.generation:
            return hit[1]
        value = build()
        self._mask_cache[key] = (self.generation, value)
        return value

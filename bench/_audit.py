"""The independent checker of bench/faults.py: what the API server says happened.

`Recorder` watches pods, nodes and Jobs of the whole cluster with plain HTTPS requests
(`http.client`, none of colo's client code), so a bug in colo's informer or binder cannot
hide itself here. A watch that breaks (an API server restart) resumes from the last
resourceVersion it saw, so no event is lost; only a `410 Gone` makes it list again, and
that is counted (`relists`), since changes inside the gap are then seen only as their end.

`audit` is pure: it replays the recorded events in resourceVersion order and counts

- pods lost: a pod of the audited namespace never seen bound, and not Failed with a reason;
- pods bound twice: a pod whose `spec.nodeName` changed once set (the API server forbids
  it; counted so a broken one would show);
- over-commit instants: a binding after which the pods bound to that node (not Succeeded,
  Failed or deleted) request more of a resource than the node's allocatable at that
  revision: cpu, memory, pods and every extended resource, `colo.io/batch-*` included;
- bindings onto a node more than `GRACE_S` after it turned NotReady or was deleted;
- CronJob runs missed (no Job for the scheduled time) or doubled (two Jobs for one
  scheduled time, or a Job with two pods);
- seconds to recover: from the end of the fault (a kill ends at once; a paused etcd when
  it is resumed) until the first binding of a pod created after the fault began.

Ordering the three watches by resourceVersion relies on the dev cluster's single etcd,
whose revisions are one counter for every resource; Kubernetes calls them opaque, so this
checker is for the dev cluster only.
"""

from __future__ import annotations

import http.client
import json
import ssl
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from colo.core.quantity import parse_quantity

#: A binding this long after its node turned NotReady or was deleted counts as one onto a
#: node colo should have known was gone: a binding decided just before may still land.
GRACE_S = 2.0
SCHEDULED_AT = "batch.kubernetes.io/cronjob-scheduled-timestamp"

RESOURCES = {
    "pod": "/api/v1/pods",
    "node": "/api/v1/nodes",
    "job": "/apis/batch/v1/jobs",
}


@dataclass(frozen=True)
class Event:
    """One change the checker saw: `kind` pod/node/job, `type` ADDED/MODIFIED/DELETED,
    `rv` the object's resourceVersion, `seen` the wall time it arrived, `obj` trimmed."""

    kind: str
    type: str
    rv: int
    seen: float
    obj: Mapping[str, Any]


def requests_of(spec: Mapping[str, Any]) -> dict[str, Decimal]:
    """A pod's effective requests: the sum over containers, at least the largest init
    container's, plus the overhead; and one of `pods`."""
    total: dict[str, Decimal] = defaultdict(Decimal)
    for c in spec.get("containers") or ():
        for name, q in ((c.get("resources") or {}).get("requests") or {}).items():
            total[name] += parse_quantity(q)
    for c in spec.get("initContainers") or ():
        for name, q in ((c.get("resources") or {}).get("requests") or {}).items():
            total[name] = max(total[name], parse_quantity(q))
    for name, q in (spec.get("overhead") or {}).items():
        total[name] += parse_quantity(q)
    total["pods"] += 1
    return {k: v for k, v in total.items() if v}


def trim(kind: str, obj: Mapping[str, Any]) -> dict[str, Any]:
    """The fields `audit` reads, so a long run keeps little."""
    meta = obj.get("metadata") or {}
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    out: dict[str, Any] = {"name": meta.get("name"), "namespace": meta.get("namespace"),
                           "uid": meta.get("uid")}  # fmt: skip
    if kind == "pod":
        out.update(
            node=spec.get("nodeName") or None,
            phase=status.get("phase"),
            reason=status.get("reason"),
            requests=requests_of(spec),
            owners=[(o.get("kind"), o.get("name")) for o in meta.get("ownerReferences") or ()],
            scheduler=spec.get("schedulerName"),
        )
    elif kind == "node":
        ready = [
            c.get("status") for c in status.get("conditions") or () if c.get("type") == "Ready"
        ]
        allocatable = status.get("allocatable") or {}
        out.update(
            allocatable={k: parse_quantity(v) for k, v in allocatable.items()},
            ready=ready == ["True"],
        )
    elif kind == "job":
        owners = meta.get("ownerReferences") or ()
        out.update(
            cronjob=next((o.get("name") for o in owners if o.get("kind") == "CronJob"), None),
            scheduled=(meta.get("annotations") or {}).get(SCHEDULED_AT),
        )
    return out


class Recorder:
    """Watches pods, nodes and Jobs (a thread each) from `start()` until `stop()`."""

    def __init__(self, server: str, *, token: str, ca_file: str) -> None:
        url = urlsplit(server)
        self._host, self._port = url.hostname or "127.0.0.1", url.port or 443
        self._headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        self._context = ssl.create_default_context(cafile=ca_file)
        self._lock = threading.Lock()
        self._events: list[Event] = []
        self._stopping = threading.Event()
        self._threads = [
            threading.Thread(target=self._run, args=(kind,), name=f"audit-{kind}", daemon=True)
            for kind in RESOURCES
        ]
        self._synced = {kind: threading.Event() for kind in RESOURCES}
        self.relists = 0
        self.reconnects = 0

    def start(self, timeout_s: float = 30.0) -> None:
        for thread in self._threads:
            thread.start()
        for kind, synced in self._synced.items():
            if not synced.wait(timeout_s):
                raise RuntimeError(f"the checker could not list {kind}s in {timeout_s:g} s")

    def stop(self) -> None:
        self._stopping.set()

    def events(self) -> list[Event]:
        with self._lock:
            return list(self._events)

    def _add(self, kind: str, kind_type: str, obj: Mapping[str, Any]) -> None:
        rv = int((obj.get("metadata") or {}).get("resourceVersion") or 0)
        event = Event(kind, kind_type, rv, time.time(), trim(kind, obj))
        with self._lock:
            self._events.append(event)

    def _connection(self, timeout_s: float) -> http.client.HTTPSConnection:
        return http.client.HTTPSConnection(
            self._host, self._port, context=self._context, timeout=timeout_s
        )

    def _list(self, kind: str) -> str:
        conn = self._connection(30)
        try:
            conn.request("GET", RESOURCES[kind], headers=self._headers)
            reply = conn.getresponse()
            body = reply.read()
            if reply.status != 200:
                raise OSError(f"list {kind}s: HTTP {reply.status}")
        finally:
            conn.close()
        listed = json.loads(body)
        for item in listed["items"]:
            self._add(kind, "ADDED", item)
        return str(listed["metadata"]["resourceVersion"])

    def _run(self, kind: str) -> None:
        rv: str | None = None
        while not self._stopping.is_set():
            try:
                if rv is None:
                    rv = self._list(kind)
                    self._synced[kind].set()
                rv = self._watch(kind, rv)
            except (OSError, http.client.HTTPException, ValueError):
                self.reconnects += 1
                self._stopping.wait(0.2)

    def _watch(self, kind: str, rv: str) -> str | None:
        """Watch from `rv` until the stream ends; the version to resume from (None: list
        again)."""
        conn = self._connection(90)
        try:
            path = (f"{RESOURCES[kind]}?watch=1&resourceVersion={rv}"
                    "&allowWatchBookmarks=true&timeoutSeconds=60")  # fmt: skip
            conn.request("GET", path, headers=self._headers)
            reply = conn.getresponse()
            if reply.status == 410:
                self.relists += 1
                return None
            if reply.status != 200:
                raise OSError(f"watch {kind}s: HTTP {reply.status}")
            while not self._stopping.is_set():
                line = reply.readline()
                if not line:
                    return rv
                event = json.loads(line)
                obj = event.get("object") or {}
                if event.get("type") == "ERROR":
                    if obj.get("code") == 410:
                        self.relists += 1
                        return None
                    raise OSError(f"watch {kind}s: {obj.get('message')}")
                rv = str(obj["metadata"]["resourceVersion"])
                if event["type"] != "BOOKMARK":
                    self._add(kind, event["type"], obj)
            return rv
        finally:
            conn.close()


@dataclass
class Audit:
    """What `audit` found for one namespace; counters, then details for the note."""

    pods_created: int = 0
    pods_bound: int = 0
    pods_lost: int = 0
    pods_bound_twice: int = 0
    overcommit_instants: int = 0
    bound_to_gone_nodes: int = 0
    cron_runs_expected: int = 0
    cron_runs_missed: int = 0
    cron_runs_doubled: int = 0
    recover_s: float | None = None
    stall_s: float | None = None
    details: list[str] = field(default_factory=list)

    @property
    def losses(self) -> int:
        """Everything the goal says must be zero."""
        return (
            self.pods_lost + self.pods_bound_twice + self.overcommit_instants
            + self.bound_to_gone_nodes + self.cron_runs_missed + self.cron_runs_doubled
        )  # fmt: skip


def audit(
    events: Iterable[Event],
    *,
    namespace: str,
    since: float,
    fault_at: float | None = None,
    fault_ended: float | None = None,
    cron_runs: Mapping[str, Iterable[str]] | None = None,
) -> Audit:
    """Replay `events` (every namespace, from the recorder's start) and count what went
    wrong in `namespace`, and on any node from wall time `since` on.

    `cron_runs`: {CronJob name: the scheduled-timestamp annotations of the runs it must
    have made, each exactly once}. `fault_at`, `fault_ended`: wall times the fault began
    and ended (the same for a kill; None: no fault). `recover_s` is the time from its end
    to the first binding, seen after the end, of a pod made after it began (0 when every
    pod made after it began was bound before it ended: no stall); `stall_s` the time
    from its beginning to that binding.
    """
    out = Audit()
    pods: dict[str, dict[str, Any]] = {}  # uid -> last trimmed pod
    created_at: dict[str, float] = {}
    bound_at: dict[str, float] = {}
    used: dict[str, Counter[str]] = defaultdict(Counter)
    nodes: dict[str, dict[str, Any]] = {}
    gone_since: dict[str, float] = {}  # node -> when it turned NotReady or was deleted
    jobs: dict[str, dict[str, Any]] = {}  # "ns/name" -> every Job ever seen
    job_pods: dict[str, set[str]] = defaultdict(set)

    def counts(pod: Mapping[str, Any]) -> bool:
        return pod["node"] is not None and pod["phase"] not in ("Succeeded", "Failed")

    def release(pod: Mapping[str, Any]) -> None:
        if counts(pod):
            used[pod["node"]].subtract(pod["requests"])

    for ev in sorted(events, key=lambda e: e.rv):
        obj = ev.obj
        if ev.kind == "node":
            name = obj["name"]
            if ev.type == "DELETED":
                nodes.pop(name, None)
                gone_since.setdefault(name, ev.seen)
                continue
            nodes[name] = dict(obj)
            if obj["ready"]:
                gone_since.pop(name, None)
            else:
                gone_since.setdefault(name, ev.seen)
            continue
        if ev.kind == "job":  # kept when deleted: a CronJob's history limit deletes old runs
            jobs[f"{obj['namespace']}/{obj['name']}"] = dict(obj)
            continue
        uid, ours = obj["uid"], obj["namespace"] == namespace
        before = pods.get(uid)
        if ours and uid not in created_at:
            created_at[uid] = ev.seen
            out.pods_created += 1
        if before is not None:
            release(before)
        if ev.type == "DELETED":
            pods.pop(uid, None)
            continue
        pods[uid] = dict(obj)
        if ours:
            for kind, owner in obj["owners"]:
                if kind == "Job":
                    job_pods[f"{namespace}/{owner}"].add(uid)
        if before is not None and before["node"] and obj["node"] != before["node"]:
            out.pods_bound_twice += 1
            out.details.append(f"pod {obj['namespace']}/{obj['name']} moved from "
                               f"{before['node']} to {obj['node']}")  # fmt: skip
        if not counts(obj):
            continue
        node = obj["node"]
        used[node].update(obj["requests"])
        newly = before is None or before["node"] is None
        if not newly:
            continue
        if ours:
            bound_at.setdefault(uid, ev.seen)
        if ev.seen < since:
            continue
        allocatable = (nodes.get(node) or {}).get("allocatable", {})
        over = [r for r in obj["requests"] if used[node][r] > allocatable.get(r, Decimal(0))]
        if over:
            out.overcommit_instants += 1
            out.details.append(
                f"binding {obj['namespace']}/{obj['name']} over-commits {node}: " + ", ".join(
                    f"{r} {used[node][r]} > {allocatable.get(r, 0)}" for r in over)
            )  # fmt: skip
        went = gone_since.get(node)
        if went is not None and ev.seen - went > GRACE_S:
            out.bound_to_gone_nodes += 1
            out.details.append(f"{obj['namespace']}/{obj['name']} bound to {node} "
                               f"{ev.seen - went:.1f} s after it went away")  # fmt: skip

    out.pods_bound = len(bound_at)
    for uid, seen in created_at.items():
        if uid in bound_at:
            continue
        pod = pods.get(uid)
        if pod is not None and pod["phase"] == "Failed" and pod["reason"]:
            continue
        out.pods_lost += 1
        name = pod["name"] if pod else f"uid {uid} (deleted)"
        out.details.append(f"pod {namespace}/{name} created at +{seen - since:.1f} s never bound")
    if fault_at is not None:
        ended = fault_at if fault_ended is None else fault_ended
        made = [u for u, c in created_at.items() if c > fault_at]
        after = [bound_at[u] for u in made if bound_at.get(u, -1.0) >= ended]
        if after:
            out.recover_s, out.stall_s = min(after) - ended, min(after) - fault_at
        elif made and all(u in bound_at for u in made):
            out.recover_s = out.stall_s = 0.0  # all bound while the fault lasted: no stall
    expected = [(c, at) for c, times in (cron_runs or {}).items() for at in times]
    for cronjob, scheduled in expected:
        out.cron_runs_expected += 1
        runs = [key for key, job in jobs.items() if job["namespace"] == namespace
                and job["cronjob"] == cronjob and job["scheduled"] == scheduled]  # fmt: skip
        if not runs:
            out.cron_runs_missed += 1
            out.details.append(f"CronJob {namespace}/{cronjob}: no Job for {scheduled}")
        elif len(runs) > 1 or any(len(job_pods[key]) > 1 for key in runs):
            out.cron_runs_doubled += 1
            out.details.append(f"CronJob {namespace}/{cronjob} ran {scheduled} twice: " + ", ".join(
                f"{key} ({len(job_pods[key])} pods)" for key in runs))  # fmt: skip
    return out

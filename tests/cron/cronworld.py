"""A tiny in-memory API server and a driver for `CronLoop` tests (fakes through the
loop's own seam: its events and commands; tests/e2e runs the real one).

`World` keeps CronJobs, Jobs and pods as JSON, answers the loop's commands as the API
server would (uids, `AlreadyExists`, merge-patched status, a deleted Job taking its pods),
and turns every change into the `Seen` event a watch would deliver. `run_until(t)` moves
the clock, waking the loop when it asked; `bind(pod)` and `finish(pod)` play colo-batch
and the kubelet.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from colo.core.changes import ChangeKind
from colo.core.objects import Pod
from colo.cron.loop import CronLoop, CronOptions
from colo.cron.messages import (
    Command,
    Created,
    CreateFailed,
    CreateJob,
    CreatePod,
    Delete,
    Event,
    PatchStatus,
    Record,
    Seen,
    TimerDue,
)
from colo.cron.resources import CronJobView, JobView

T0 = datetime(2026, 12, 4, 23, 0, tzinfo=UTC).timestamp()


def rfc3339(unix_s: float) -> str:
    return datetime.fromtimestamp(unix_s, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def cronjob(name: str, schedule: str, *, namespace: str = "ns", created_s: float = T0,
            **spec: Any) -> dict[str, Any]:  # fmt: skip
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {"name": name, "namespace": namespace, "creationTimestamp": rfc3339(created_s)},
        "spec": {
            "schedule": schedule,
            "jobTemplate": {
                "metadata": {"labels": {"app": name}},
                "spec": {
                    "template": {
                        "metadata": {"labels": {"app": name}},
                        "spec": {
                            "restartPolicy": "Never",
                            "containers": [{"name": "c", "image": "busybox"}],
                        },
                    }
                },
            },
            **spec,
        },
    }


class World:
    def __init__(self, options: CronOptions | None = None, *, now: float = T0) -> None:
        self.loop = CronLoop(options or CronOptions())
        self.now = now
        self.objects: dict[tuple[str, str], dict[str, Any]] = {}  # (resource, key) -> JSON
        self.commands: list[tuple[float, Command]] = []
        self.events: list[tuple[float, Record]] = []
        self.fail_creates: dict[str, str] = {}  # key -> error to answer once
        self._uids = itertools.count(1)
        self._queue: list[Event] = []

    # --- the API server ------------------------------------------------------------------
    def _view(self, resource: str, raw: Mapping[str, Any]) -> CronJobView | JobView | Pod:
        if resource == "cronjobs":
            return CronJobView.from_k8s(raw)
        if resource == "jobs":
            return JobView.from_k8s(raw)
        return Pod.from_k8s(raw)

    def put(self, resource: str, raw: dict[str, Any], kind: ChangeKind = ChangeKind.ADDED) -> None:
        meta = raw["metadata"]
        meta.setdefault("uid", f"uid-{next(self._uids)}")
        meta.setdefault("creationTimestamp", rfc3339(self.now))
        key = f"{meta['namespace']}/{meta['name']}"
        if kind is ChangeKind.ADDED and (resource, key) in self.objects:
            kind = ChangeKind.MODIFIED
        self.objects[(resource, key)] = raw
        self._queue.append(Seen(kind, self._view(resource, raw)))

    def remove(self, resource: str, key: str) -> None:
        raw = self.objects.pop((resource, key), None)
        if raw is None:
            return
        self._queue.append(Seen(ChangeKind.DELETED, self._view(resource, raw)))
        if resource == "jobs":  # the garbage collector takes its pods
            uid = raw["metadata"]["uid"]
            for (res, k), obj in list(self.objects.items()):
                owners = obj["metadata"].get("ownerReferences") or []
                if res == "pods" and any(o.get("uid") == uid for o in owners):
                    self.remove("pods", k)

    def get(self, resource: str, key: str) -> dict[str, Any]:
        return self.objects[(resource, key)]

    def keys(self, resource: str) -> list[str]:
        return sorted(k for r, k in self.objects if r == resource)

    def _execute(self, command: Command) -> None:
        self.commands.append((self.now, command))
        if isinstance(command, CreateJob | CreatePod):
            resource = "jobs" if isinstance(command, CreateJob) else "pods"
            error = self.fail_creates.pop(command.key, None)
            if error is not None:
                self._queue.append(CreateFailed(resource, command.key, error))
            elif (resource, command.key) in self.objects:
                self._queue.append(CreateFailed(resource, command.key, "exists", exists=True))
            else:
                raw = copy.deepcopy(dict(command.body))
                if resource == "jobs":  # the API server completes a Job's template labels
                    uid = f"uid-{next(self._uids)}"
                    raw["metadata"]["uid"] = uid
                    template = raw["spec"]["template"].setdefault("metadata", {})
                    labels = template.setdefault("labels", {})
                    labels["batch.kubernetes.io/controller-uid"] = uid
                    labels["batch.kubernetes.io/job-name"] = raw["metadata"]["name"]
                self.put(resource, raw)
                self._queue.append(Created(resource, command.key, copy.deepcopy(raw)))
        elif isinstance(command, Delete):
            self.remove(command.resource, command.key)
        elif isinstance(command, PatchStatus):
            raw = self.objects.get((command.resource, command.key))
            if raw is not None:
                status = raw.setdefault("status", {})
                for k, v in command.status.items():
                    if v is None:
                        status.pop(k, None)
                    else:
                        status[k] = v
                self.put(command.resource, raw, ChangeKind.MODIFIED)
        elif isinstance(command, Record):
            self.events.append((self.now, command))

    # --- driving the loop ----------------------------------------------------------------
    def settle(self) -> None:
        """Hand the loop every queued event, and carry out what it says, until quiet."""
        for _ in range(10_000):
            if not self._queue:
                return
            event = self._queue.pop(0)
            for command in self.loop.handle(event, self.now):
                self._execute(command)
        raise AssertionError("the loop never settled")

    def run_until(self, t: float) -> None:
        self.settle()
        while True:
            at = self.loop.timer_at()
            if at is None or at > t:
                break
            self.now = max(self.now, at)
            self._queue.append(TimerDue())
            self.settle()
        self.now = t
        self.settle()

    # --- colo-batch and the kubelet --------------------------------------------------------
    def set_phase(self, pod: str, phase: str, node: str = "node-1") -> None:
        raw = self.get("pods", pod)
        raw["spec"]["nodeName"] = node
        raw.setdefault("status", {})["phase"] = phase
        self.put("pods", raw, ChangeKind.MODIFIED)
        self.settle()

    def made(self, kind: type) -> list[tuple[float, Any]]:
        return [(t, c) for t, c in self.commands if isinstance(c, kind)]

    def said(self, reason: str) -> list[str]:
        return [r.message for _, r in self.events if r.reason == reason]

"""colo-cron's controller loop, one sans-I/O object that `colo cron serve` and `colo sim`
both drive (ARCHITECTURE.md, "One loop, two drivers").

It does what kube-controller-manager's CronJob controller does — the decisions are
`colo.cron.policy.decide`, Kubernetes' `syncCronJob` — with one difference in *when*:

1. `lead_s` before a run is due it creates the run's Job (the name of the scheduled time,
   `spec.managedBy: colo.io/cron`, so the built-in Job controller leaves it alone) and at
   once the Job's pods, annotated `colo.io/start-at: <scheduled time>` and addressed to
   colo-batch, which places and reserves them ahead and binds them at that second. At the
   tick nothing of colo-cron's is left to do: one binding per pod is the only write.
2. It then runs those Jobs as Kubernetes' Job controller would (`colo.cron.runs`): pods
   replaced after failures with back-off, `Complete`/`Failed`, the Job's status.
3. Status writes (the CronJob's `active`, `lastScheduleTime`, `lastSuccessfulTime`; the
   Jobs') go out `status_delay_s` after the tick at the earliest, coalesced.
4. History limits prune finished Jobs (`colo.cron.history`), as Kubernetes does.

Runs the loop does not pre-create: a Job template it does not run itself
(`colo.cron.bodies.unmanageable`: indexed Jobs, pod failure policies, another scheduler,
…) — created at the tick, for the built-in Job controller; a `Forbid` CronJob whose last
run is still active ahead of the tick — decided again at the tick; a run already late
(after downtime: Kubernetes' missed-run rules) — created at once.

A Job name is the lock: creating the same run twice (a retry, a second leader, the stock
CronJob controller left running) meets `AlreadyExists`, so no run ever fires twice.
`now` is unix seconds on the wall clock (cron is wall-clock work); the simulator passes
its own time.
"""

from __future__ import annotations

import heapq
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from colo.core.changes import ChangeKind, EventType
from colo.core.objects import Pod
from colo.cron.bodies import MANAGER, job_body, pod_body, pod_name, unmanageable
from colo.cron.history import finished_jobs_to_delete
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
    WriteFailed,
)
from colo.cron.missed import NEXT_SCHEDULE_DELTA
from colo.cron.objects import CronJob, JobFinish, JobRef
from colo.cron.policy import Outcome, SyncDecision, decide
from colo.cron.resources import CronJobView, JobView
from colo.cron.runs import RunPod, plan_run

log = logging.getLogger(__name__)

RETRY_MAX_S = 300.0


@dataclass(frozen=True)
class CronOptions:
    lead_s: float = 10.0
    """Create a run's Job and pods this long before it is due."""
    status_delay_s: float = 5.0
    """Write statuses no sooner than this after a run's scheduled time (off the tick)."""
    scheduler_name: str = "colo-batch"
    """Who places the pods colo-cron makes (it must honour `colo.io/start-at`)."""
    manage_jobs: bool = True
    """Run the Jobs itself; False leaves every Job to the built-in Job controller."""
    retry_s: float = 5.0
    """First delay before a failed create is tried again (doubling, at most 5 min)."""
    local_zone: tzinfo = UTC
    """Where a CronJob without `spec.timeZone` runs (kube-controller-manager's zone)."""


@dataclass
class CronStats:
    runs_created: int = 0
    runs_ahead: int = 0
    """Of those, created `lead_s` ahead of their time."""
    runs_missed: int = 0
    runs_skipped: int = 0
    """Skipped by `concurrencyPolicy: Forbid`."""
    create_failures: int = 0
    jobs_completed: int = 0
    jobs_failed: int = 0
    pods_created: int = 0
    lateness_s: list[float] = field(default_factory=list)
    """Per run pod: seen bound this long after its scheduled time (drained by the driver)."""


def _utc(unix_s: float) -> datetime:
    return datetime.fromtimestamp(unix_s, UTC)


def _job_ref(ref: JobRef) -> dict[str, str]:
    """An entry of a CronJob's `status.active` (an ObjectReference)."""
    return {"apiVersion": "batch/v1", "kind": "Job", "namespace": ref.namespace,
            "name": ref.name, "uid": ref.uid}  # fmt: skip


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class CronLoop:
    """colo-cron over every CronJob it watches (see the module docstring)."""

    def __init__(self, options: CronOptions | None = None) -> None:
        self.options = options or CronOptions()
        self.stats = CronStats()
        self.cronjobs: dict[str, CronJobView] = {}
        self.jobs: dict[str, JobView] = {}
        self._by_uid: dict[str, str] = {}  # cronjob uid -> key
        self._owned: dict[str, set[str]] = {}  # cronjob uid -> its jobs' keys
        self._pods: dict[str, dict[str, tuple[RunPod, str]]] = {}  # job -> name -> (pod, uid)
        self._bound: set[str] = set()  # pods whose binding was seen
        self._creating_jobs: dict[str, tuple[str, datetime]] = {}  # job -> (cronjob, time)
        self._creating_pods: dict[str, set[str]] = {}
        self._next_pod: dict[str, int] = {}
        self._scheduled: dict[str, datetime] = {}  # cronjob -> latest run created
        self._finished: dict[str, tuple[JobFinish, float]] = {}  # decided here
        self._deleting: set[str] = set()
        self._last_failure: dict[str, float] = {}
        self._failed_seen: dict[str, int] = {}
        self._create_failures: dict[str, int] = {}
        self._replace: dict[str, tuple[JobRef, ...]] = {}  # cronjob -> to delete at its tick
        self._job_status: dict[str, dict[str, object]] = {}
        self._said: dict[tuple[str, str], str] = {}  # (object, reason) -> last message
        self._timers: list[tuple[float, int, str, str]] = []
        self._timer_at: dict[tuple[str, str], float] = {}
        self._seq = 0

    # --- the driver's view ---------------------------------------------------------------
    def timer_at(self) -> float | None:
        while self._timers:
            at, _, kind, key = self._timers[0]
            if self._timer_at.get((kind, key)) == at:
                return at
            heapq.heappop(self._timers)  # superseded
        return None

    def _per_job(self) -> tuple[dict[str, Any], ...]:
        """Every map keyed by Job: what a deleted Job must leave."""
        return (self._pods, self._finished, self._next_pod, self._last_failure,
                self._failed_seen, self._creating_pods, self._job_status)  # fmt: skip

    def remembered_jobs(self) -> set[str]:
        """The Jobs any per-Job state still names: once a Job and its pods are gone, it
        must not be among them (the soak bench watches the process's memory)."""
        return {key for state in self._per_job() for key in state} | set(self.jobs)

    def handle(self, event: Event, now: float) -> list[Command]:
        out: list[Command] = []
        if isinstance(event, Seen):
            obj = event.obj
            if isinstance(obj, CronJobView):
                self._seen_cronjob(event.kind, obj, now, out)
            elif isinstance(obj, JobView):
                self._seen_job(event.kind, obj, now, out)
            else:
                self._seen_pod(event.kind, obj, now, out)
        elif isinstance(event, TimerDue):
            self._timers_due(now, out)
        elif isinstance(event, Created):
            self._created(event, now, out)
        elif isinstance(event, CreateFailed):
            self._create_failed(event, now, out)
        elif isinstance(event, WriteFailed):
            self._write_failed(event, now)
        else:  # pragma: no cover - a driver bug
            raise TypeError(f"CronLoop cannot handle {event!r}")
        return out

    # --- timers --------------------------------------------------------------------------
    def _at(self, when: float, kind: str, key: str) -> None:
        """Be woken at `when` for (kind, key); an earlier request for the same wins."""
        have = self._timer_at.get((kind, key))
        if have is not None and have <= when:
            return
        self._timer_at[(kind, key)] = when
        heapq.heappush(self._timers, (when, self._seq, kind, key))
        self._seq += 1

    def _timers_due(self, now: float, out: list[Command]) -> None:
        while self._timers and self._timers[0][0] <= now:
            at, _, kind, key = heapq.heappop(self._timers)
            if self._timer_at.get((kind, key)) != at:
                continue
            del self._timer_at[(kind, key)]
            if kind == "sync" and key in self.cronjobs:
                self._sync(key, now, out)
            elif kind == "replace":
                for ref in self._replace.pop(key, ()):
                    self._delete_job(f"{ref.namespace}/{ref.name}", ref.uid, out, key)
            elif kind == "job" and key in self.jobs:
                self._reconcile_job(key, now, out)
            elif kind == "jobstatus":
                status = self._job_status.pop(key, None)
                if status is not None and key in self.jobs:
                    out.append(PatchStatus("jobs", key, status))
            elif kind == "cronstatus" and key in self.cronjobs:
                self._write_cronjob_status(key, out)

    # --- the watch -----------------------------------------------------------------------
    def _seen_cronjob(
        self, kind: ChangeKind, cj: CronJobView, now: float, out: list[Command]
    ) -> None:
        key = cj.key
        if kind is ChangeKind.DELETED:
            self.cronjobs.pop(key, None)
            self._by_uid.pop(cj.uid, None)
            self._scheduled.pop(key, None)
            self._replace.pop(key, None)
            for said in [s for s in self._said if s[0] == key]:
                del self._said[said]
            return
        self.cronjobs[key] = cj
        self._by_uid[cj.uid] = key
        self._sync(key, now, out)

    def _owner_key(self, job: JobView) -> str | None:
        if job.owner is None or job.owner[0] != "CronJob":
            return None
        return self._by_uid.get(job.owner[2])

    def _seen_job(self, kind: ChangeKind, job: JobView, now: float, out: list[Command]) -> None:
        key = job.key
        owner_uid = job.owner[2] if job.owner and job.owner[0] == "CronJob" else None
        if kind is ChangeKind.DELETED:
            self.jobs.pop(key, None)
            for state in self._per_job():
                state.pop(key, None)
            self._deleting.discard(key)
            if owner_uid is not None:
                self._owned.get(owner_uid, set()).discard(key)
                cj = self._by_uid.get(owner_uid)
                if cj is not None:
                    self._at(now, "cronstatus", cj)
            return
        fresh = key not in self.jobs
        self.jobs[key] = job
        if owner_uid is not None:
            self._owned.setdefault(owner_uid, set()).add(key)
        cronjob = self._owner_key(job)
        if fresh and cronjob is not None and job.scheduled is not None and not job.made_by_colo:
            self._say(cronjob, EventType.WARNING, "ForeignJob",
                      f"job {job.name} of this CronJob was not made by colo-cron: is "
                      "kube-controller-manager's CronJob controller running too? Start it "
                      "with --controllers=*,-cronjob-controller", out)  # fmt: skip
        if job.managed_by == MANAGER:
            self._reconcile_job(key, now, out)
        if cronjob is not None and (job.finished or key in self._finished):
            self._at(now, "sync", cronjob)

    def _seen_pod(self, kind: ChangeKind, pod: Pod, now: float, out: list[Command]) -> None:
        if pod.owner_kind != "Job" or not pod.owner_name:
            return
        job_key = f"{pod.namespace}/{pod.owner_name}"
        if kind is ChangeKind.DELETED:
            pods = self._pods.get(job_key, {})
            pods.pop(pod.name, None)
            if not pods:
                # the garbage collector deletes a Job's pods after the Job: its entry must
                # not come back empty and stay for good (a leak of one entry per run)
                self._pods.pop(job_key, None)
            self._bound.discard(pod.key)
        else:
            pods = self._pods.setdefault(job_key, {})
            ready = pod.phase == "Running"
            pods[pod.name] = (RunPod(pod.name, pod.phase, ready), pod.uid)
            self._creating_pods.get(job_key, set()).discard(pod.name)
            job = self.jobs.get(job_key)
            if pod.node_name and pod.key not in self._bound:
                self._bound.add(pod.key)
                if job is not None and job.managed_by == MANAGER and job.scheduled is not None:
                    self.stats.lateness_s.append(now - job.scheduled.timestamp())
        job = self.jobs.get(job_key)
        if job is not None and job.managed_by == MANAGER:
            self._reconcile_job(job_key, now, out)

    # --- one CronJob ---------------------------------------------------------------------
    def _active(self, cj: CronJobView) -> tuple[JobRef, ...]:
        refs = []
        for key in sorted(self._owned.get(cj.uid, ())):
            job = self.jobs.get(key)
            if job is None or key in self._deleting:
                continue
            if job.finished is None and key not in self._finished:
                refs.append(job.ref)
        for key, (owner, _) in sorted(self._creating_jobs.items()):
            if owner == cj.key:
                ns, name = key.split("/", 1)
                refs.append(JobRef(ns, name))
        return tuple(refs)

    def _last_scheduled(self, cj: CronJobView) -> datetime | None:
        times = [t for t in (cj.facts.last_schedule_time, self._scheduled.get(cj.key)) if t]
        for key in self._owned.get(cj.uid, ()):
            job = self.jobs.get(key)
            if job is not None and job.scheduled is not None:
                times.append(job.scheduled)
        return max(times, key=lambda t: t.timestamp()) if times else None

    def _sync(self, key: str, now: float, out: list[Command]) -> None:
        cj = self.cronjobs[key]
        facts = cj.facts.with_status(
            last_schedule_time=self._last_scheduled(cj), active=self._active(cj)
        )
        self._prune(cj, facts, out)
        at = _utc(now)
        d = decide(facts, at, local_zone=self.options.local_zone)
        for ev in d.events:
            self._say(key, EventType(ev.type), ev.reason, ev.message, out)
        if d.outcome is Outcome.MISSED_DEADLINE:
            self.stats.runs_missed += 1
        elif d.outcome is Outcome.FORBIDDEN_CONCURRENT:
            self.stats.runs_skipped += 1
        if d.outcome is Outcome.CREATE_JOB:
            self._create_run(cj, d, now, out, ahead=False)
        elif d.outcome in (Outcome.NOTHING_DUE, Outcome.ALREADY_CREATED, Outcome.MISSED_DEADLINE):
            self._look_ahead(cj, facts, now, out)
        if d.requeue_after is not None:
            due = now + d.requeue_after.total_seconds()  # Kubernetes adds a little
            early = due - NEXT_SCHEDULE_DELTA.total_seconds() - self.options.lead_s
            self._at(early if early > now else due, "sync", key)
        # The status says what was made, once its time has come (never a future run).
        made = [t.timestamp() for t in (self._scheduled.get(key),) if t is not None]
        made += [t.timestamp() for owner, t in self._creating_jobs.values() if owner == key]
        tick = max(made, default=now)
        self._at(max(now + 1.0, tick + self.options.status_delay_s), "cronstatus", key)

    def _look_ahead(self, cj: CronJobView, facts: CronJob, now: float, out: list[Command]) -> None:
        """The run due within `lead_s`, if any: made now, or decided again at its time."""
        at = _utc(now)
        ahead = decide(facts, at + timedelta(seconds=self.options.lead_s),
                       local_zone=self.options.local_zone)  # fmt: skip
        if ahead.scheduled_time is None or ahead.scheduled_time <= at:
            return
        tick = ahead.scheduled_time.timestamp()
        if ahead.outcome is Outcome.CREATE_JOB and self._runs_itself(cj):
            self._create_run(cj, ahead, now, out, ahead=True)
        elif ahead.outcome in (Outcome.CREATE_JOB, Outcome.FORBIDDEN_CONCURRENT):
            self._at(tick, "sync", cj.key)  # the built-in Job controller's, or Forbid

    def _runs_itself(self, cj: CronJobView) -> bool:
        spec = cj.job_template.get("spec") or {}
        return self.options.manage_jobs and not unmanageable(spec, self.options.scheduler_name)

    def _create_run(
        self, cj: CronJobView, d: SyncDecision, now: float, out: list[Command], *, ahead: bool
    ) -> None:
        assert d.job_name is not None and d.scheduled_time is not None
        key = f"{cj.facts.namespace}/{d.job_name}"
        if key in self.jobs or key in self._creating_jobs:
            return
        body = job_body(cj, d.job_name, d.scheduled_timestamp or _rfc3339(d.scheduled_time),
                        managed=self._runs_itself(cj))  # fmt: skip
        self._creating_jobs[key] = (cj.key, d.scheduled_time)
        out.append(CreateJob(key, body))
        self.stats.runs_created += 1
        self.stats.runs_ahead += ahead
        if d.delete_first:
            if ahead:  # Replace: the old run goes at the new one's time
                self._replace[cj.key] = d.delete_first
                self._at(d.scheduled_time.timestamp(), "replace", cj.key)
            else:
                for ref in d.delete_first:
                    self._delete_job(f"{ref.namespace}/{ref.name}", ref.uid, out, cj.key)

    def _prune(self, cj: CronJobView, facts: CronJob, out: list[Command]) -> None:
        finished = []
        for key in self._owned.get(cj.uid, ()):
            job = self.jobs.get(key)
            if job is None or key in self._deleting:
                continue
            done = self._finished.get(key)
            if done is not None and job.finished is None:
                job = JobView(**{**job.__dict__, "finished": done[0]})
            if job.finished is not None:
                finished.append(job.facts)
        for gone in finished_jobs_to_delete(facts, finished):
            self._delete_job(f"{gone.namespace}/{gone.name}", gone.uid, out, cj.key)

    def _delete_job(self, key: str, uid: str, out: list[Command], cronjob: str) -> None:
        if key in self._deleting:
            return
        self._deleting.add(key)
        out.append(Delete("jobs", key, uid))
        self._say(
            cronjob, EventType.NORMAL, "SuccessfulDelete", f"Deleted job {key.split('/')[1]}", out
        )

    def _write_cronjob_status(self, key: str, out: list[Command]) -> None:
        cj = self.cronjobs[key]
        active = [_job_ref(r) for r in self._active(cj) if r.uid]
        status: dict[str, object] = {"active": active or None}
        last = self._last_scheduled(cj)
        if last is not None:
            status["lastScheduleTime"] = _rfc3339(last)
        success = self._last_success(cj)
        if success is not None:
            status["lastSuccessfulTime"] = _rfc3339(success)
        current = {
            "active": [_job_ref(r) for r in cj.facts.active] or None,
            **(
                {"lastScheduleTime": _rfc3339(cj.facts.last_schedule_time)}
                if cj.facts.last_schedule_time
                else {}
            ),
            **(
                {"lastSuccessfulTime": _rfc3339(cj.last_successful_time)}
                if cj.last_successful_time
                else {}
            ),
        }
        if status != current:
            out.append(PatchStatus("cronjobs", key, status))

    def _last_success(self, cj: CronJobView) -> datetime | None:
        times = [cj.last_successful_time] if cj.last_successful_time else []
        for key in self._owned.get(cj.uid, ()):
            job = self.jobs.get(key)
            done = self._finished.get(key)
            if job is not None and job.completion_time is not None:
                times.append(job.completion_time)
            elif done is not None and done[0] is JobFinish.COMPLETE:
                times.append(_utc(done[1]))
        return max(times, key=lambda t: t.timestamp()) if times else None

    # --- the Jobs colo-cron runs ---------------------------------------------------------
    def _reconcile_job(self, key: str, now: float, out: list[Command]) -> None:
        job = self.jobs[key]
        if job.managed_by != MANAGER or job.deleting or key in self._deleting:
            return
        pods = self._pods.get(key, {})
        failed = sum(p.phase == "Failed" for p, _ in pods.values())
        if failed > self._failed_seen.get(key, 0):  # a pod failed since we last looked
            self._failed_seen[key] = failed
            self._last_failure[key] = now
        creating = self._creating_pods.setdefault(key, set())
        done = self._finished.get(key)
        plan = plan_run(
            job, [p for p, _ in pods.values()], creating=len(creating), now_s=now,
            last_failure_s=self._last_failure.get(key),
            finished=done[0] if done else None,
        )  # fmt: skip
        start = _rfc3339(job.scheduled) if job.scheduled else _rfc3339(_utc(now))
        for _ in range(plan.create):
            n = self._next_index(key)
            name = pod_name(job.name, n)
            creating.add(name)
            body = pod_body(job, n, start_at=start, scheduler=self.options.scheduler_name)
            out.append(CreatePod(f"{job.namespace}/{name}", body))
            self.stats.pods_created += 1
        if plan.create_at is not None:
            self._at(plan.create_at, "job", key)
        for name in plan.delete:
            uid = pods[name][1]
            out.append(Delete("pods", f"{job.namespace}/{name}", uid))
        if plan.finished is not None and done is None:
            self._finished[key] = (plan.finished, now)
            if plan.finished is JobFinish.COMPLETE:
                self.stats.jobs_completed += 1
            else:
                self.stats.jobs_failed += 1
            cronjob = self._owner_key(job)
            if cronjob is not None:
                self._at(now, "sync", cronjob)
        if plan.status is not None:
            self._job_status[key] = plan.status
            tick = job.scheduled.timestamp() if job.scheduled else now
            self._at(max(now, tick + self.options.status_delay_s), "jobstatus", key)

    def _next_index(self, key: str) -> int:
        name = key.split("/", 1)[1]
        taken = [*self._pods.get(key, {}), *self._creating_pods.get(key, ())]
        used = [
            int(p.rsplit("-", 1)[1])
            for p in taken
            if p.startswith(f"{name}-") and p.rsplit("-", 1)[1].isdigit()
        ]
        n = max([self._next_pod.get(key, 0) - 1, *used], default=-1) + 1
        self._next_pod[key] = n + 1
        return n

    # --- answers -------------------------------------------------------------------------
    def _created(self, event: Created, now: float, out: list[Command]) -> None:
        self._create_failures.pop(event.key, None)
        if event.resource == "jobs":
            owner = self._creating_jobs.pop(event.key, None)
            job = JobView.from_k8s(event.obj)
            if owner is not None:
                cronjob, scheduled = owner
                self._scheduled[cronjob] = max(
                    (t for t in (self._scheduled.get(cronjob), scheduled) if t),
                    key=lambda t: t.timestamp(),
                )
                self._say(
                    cronjob, EventType.NORMAL, "SuccessfulCreate", f"Created job {job.name}", out
                )
            self._seen_job(ChangeKind.ADDED, job, now, out)
        elif event.resource == "pods":
            job_key = event.key.rsplit("-", 1)[0]
            self._creating_pods.get(job_key, set()).discard(event.key.split("/", 1)[1])
            pod = Pod.from_k8s(event.obj)
            self._seen_pod(ChangeKind.ADDED, pod, now, out)

    def _create_failed(self, event: CreateFailed, now: float, out: list[Command]) -> None:
        if event.resource == "jobs":
            owner = self._creating_jobs.pop(event.key, None)
            if event.exists:
                if owner is not None:  # someone made this run: it counts as made
                    self._scheduled[owner[0]] = max(
                        (t for t in (self._scheduled.get(owner[0]), owner[1]) if t),
                        key=lambda t: t.timestamp(),
                    )
                return
            self.stats.create_failures += 1
            self.stats.runs_created -= 1
            if owner is None:
                return
            tries = self._create_failures[event.key] = self._create_failures.get(event.key, 0) + 1
            delay = min(RETRY_MAX_S, self.options.retry_s * 2 ** (tries - 1))
            why = f"Error creating job: {event.error}; retrying in {delay:g}s"
            self._say(owner[0], EventType.WARNING, "FailedCreate", why, out)
            self._at(now + delay, "sync", owner[0])
        else:
            job_key = event.key.rsplit("-", 1)[0]
            name = event.key.split("/", 1)[1]
            self._creating_pods.get(job_key, set()).discard(name)
            if event.exists:
                return
            self.stats.create_failures += 1
            tries = self._create_failures[event.key] = self._create_failures.get(event.key, 0) + 1
            delay = min(RETRY_MAX_S, self.options.retry_s * 2 ** (tries - 1))
            if job_key in self.jobs:
                why = f"Error creating pod: {event.error}; retrying in {delay:g}s"
                self._say(job_key, EventType.WARNING, "FailedCreate", why, out, kind="Job")
                self._at(now + delay, "job", job_key)

    def _write_failed(self, event: WriteFailed, now: float) -> None:
        log.warning("colo-cron: %s %s: %s (tried again at its next sync)",
                    event.resource, event.key, event.error)  # fmt: skip
        if event.resource == "jobs":
            self._deleting.discard(event.key)
            if event.key in self.jobs:
                self._at(now + self.options.retry_s, "job", event.key)
        elif event.resource == "cronjobs" and event.key in self.cronjobs:
            self._at(now + self.options.retry_s, "cronstatus", event.key)

    # --- events --------------------------------------------------------------------------
    def _say(
        self, key: str, type: EventType, reason: str, message: str, out: list[Command],
        *, kind: str = "CronJob",
    ) -> None:  # fmt: skip
        """Record an Event, not again while the object's last one of that reason said the
        same (a sync that changes nothing repeats nothing)."""
        if self._said.get((key, reason)) == message:
            return
        self._said[(key, reason)] = message
        if kind == "Job":
            job = self.jobs.get(key)
            out.append(Record("Job", key, type, reason, message, job.uid if job else ""))
        else:
            cj = self.cronjobs.get(key)
            out.append(Record("CronJob", key, type, reason, message, cj.uid if cj else ""))
        if type is EventType.WARNING or reason != "SuccessfulCreate":
            log.log(logging.WARNING if type is EventType.WARNING else logging.INFO,
                    "%s %s: %s: %s", kind, key, reason, message)  # fmt: skip

"""A run's Job, when colo-cron runs it itself (`spec.managedBy: colo.io/cron`): which pods
to make and what the Job's status says, as Kubernetes' Job controller would for a
non-indexed Job without a pod failure policy.

- It keeps `min(parallelism, completions − succeeded)` pods active; a failed pod is
  replaced after the Job controller's back-off, 10 s × 2^(failures − 1), at most 6 min.
- It is **Complete** once `succeeded >= completions`; **Failed** once more pods failed
  than `backoffLimit` (reason `BackoffLimitExceeded`) or it ran longer than
  `activeDeadlineSeconds` (`DeadlineExceeded`), and then its active pods are deleted.
- Its status obeys the API server's rules for Jobs other controllers manage
  (`validateJobStatus`): `startTime` once started and never changed (here: the scheduled
  time, when the pods may start), counters never decrease, `SuccessCriteriaMet` with
  `Complete` and `FailureTarget` with `Failed`, `completionTime` only when complete,
  no active pods once finished.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from colo.cron.objects import JobFinish
from colo.cron.resources import JobView

BACKOFF_BASE_S = 10.0
BACKOFF_MAX_S = 360.0
# (reason, message) of the terminal conditions, as Kubernetes' Job controller writes them
_COMPLETE = ("CompletionsReached", "Reached expected number of succeeded pods")
_BACKOFF = ("BackoffLimitExceeded", "Job has reached the specified backoff limit")
_DEADLINE = ("DeadlineExceeded", "Job was active longer than specified deadline")


@dataclass(frozen=True, slots=True)
class RunPod:
    """One of a Job's pods, as the watch shows it."""

    name: str
    phase: str
    ready: bool = False

    @property
    def active(self) -> bool:
        return self.phase not in ("Succeeded", "Failed")


@dataclass(frozen=True)
class RunPlan:
    create: int = 0
    """Pods to make now."""
    create_at: float | None = None
    """When the next replacement may be made, if that is later than now (back-off)."""
    delete: tuple[str, ...] = ()
    """Active pods to delete (the Job failed)."""
    finished: JobFinish | None = None
    reason: str = ""
    status: dict[str, Any] | None = None
    """The Job's status to write; None when it says what it says already."""


def _rfc3339(unix_s: float) -> str:
    return datetime.fromtimestamp(unix_s, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def backoff_s(failures: int) -> float:
    return float(min(BACKOFF_MAX_S, BACKOFF_BASE_S * 2.0 ** max(0, failures - 1)))


def _condition(kind: str, reason: str, message: str, now_s: float) -> dict[str, str]:
    at = _rfc3339(now_s)
    return {
        "type": kind,
        "status": "True",
        "reason": reason,
        "message": message,
        "lastProbeTime": at,
        "lastTransitionTime": at,
    }


def plan_run(
    job: JobView,
    pods: Sequence[RunPod],
    *,
    creating: int,
    now_s: float,
    last_failure_s: float | None,
    finished: JobFinish | None = None,
) -> RunPlan:
    """What to do for `job` now. `creating`: pods asked for and not yet seen;
    `finished`: what this controller already decided (its status write may be in flight).
    """
    active = [p for p in pods if p.active]
    succeeded = max(job.succeeded, sum(p.phase == "Succeeded" for p in pods))
    failed = max(job.failed, sum(p.phase == "Failed" for p in pods))
    ready = sum(p.ready and p.phase == "Running" for p in active)
    scheduled_s = job.scheduled.timestamp() if job.scheduled else None
    started = job.start_time.timestamp() if job.start_time else None
    if started is None and (scheduled_s is None or now_s >= scheduled_s):
        started = scheduled_s if scheduled_s is not None else now_s
    done = finished or job.finished
    why: tuple[str, str] = ("", "")
    if done is None:
        if succeeded >= job.completions:
            done, why = JobFinish.COMPLETE, _COMPLETE
        elif failed > job.backoff_limit:
            done, why = JobFinish.FAILED, _BACKOFF
        elif (
            job.active_deadline_s is not None
            and started is not None
            and now_s - started >= job.active_deadline_s
        ):
            done, why = JobFinish.FAILED, _DEADLINE
    if done is not None:
        delete = tuple(p.name for p in active) if done is JobFinish.FAILED else ()
        status = _status(job, 0, 0, succeeded, failed, started or now_s, now_s, done, *why)
        return RunPlan(delete=delete, finished=done, reason=why[0], status=status)
    want = min(job.parallelism, job.completions - succeeded) - len(active) - creating
    create, create_at = max(0, want), None
    if create and failed and last_failure_s is not None:
        ready_at = last_failure_s + backoff_s(failed)
        if ready_at > now_s:
            create, create_at = 0, ready_at
    status = _status(job, len(active), ready, succeeded, failed, started, now_s, None, "", "")
    return RunPlan(create=create, create_at=create_at, status=status)


def _status(
    job: JobView,
    active: int,
    ready: int,
    succeeded: int,
    failed: int,
    started: float | None,
    now_s: float,
    done: JobFinish | None,
    reason: str,
    message: str,
) -> dict[str, Any] | None:
    same = (
        job.active == active
        and job.succeeded == succeeded
        and job.failed == failed
        and (job.start_time is not None or started is None)
        and job.finished == done
    )
    if same:
        return None
    status: dict[str, Any] = {
        "active": active,
        "ready": ready,
        "succeeded": succeeded,
        "failed": failed,
    }
    if job.start_time is not None:
        status["startTime"] = _rfc3339(job.start_time.timestamp())
    elif started is not None:
        status["startTime"] = _rfc3339(started)
    if done is JobFinish.COMPLETE:
        status["conditions"] = [
            _condition("SuccessCriteriaMet", reason, message, now_s),
            _condition("Complete", reason, message, now_s),
        ]
        status["completionTime"] = _rfc3339(max(now_s, started or now_s))
    elif done is JobFinish.FAILED:
        status["conditions"] = [
            _condition("FailureTarget", reason, message, now_s),
            _condition("Failed", reason, message, now_s),
        ]
    return status

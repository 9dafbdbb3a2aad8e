"""The CronJob and Job facts the controller's decisions read: small values, built by the
caller (from the API's objects, or a scenario) and never changed.

Field names follow `batch/v1`; defaults are what the API server fills in
(`concurrencyPolicy: Allow`, `successfulJobsHistoryLimit: 3`, `failedJobsHistoryLimit: 1`,
`suspend: false`). Times are timezone-aware datetimes. Construction rejects what the API
server would (negative deadlines or limits) with InvalidInput naming the object and field,
and naive datetimes with ValueError (a caller's bug, not a user's).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from colo.core.errors import InvalidInput


class ConcurrencyPolicy(StrEnum):
    """`spec.concurrencyPolicy`: what a due run does while an earlier one is active."""

    #: run alongside the active Jobs
    ALLOW = "Allow"
    #: skip this run while any Job is active (the run is not made up later)
    FORBID = "Forbid"
    #: delete the active Jobs, then run
    REPLACE = "Replace"


class JobFinish(StrEnum):
    """The Job condition (status True) that marks it finished."""

    COMPLETE = "Complete"
    FAILED = "Failed"


@dataclass(frozen=True, slots=True)
class JobRef:
    """An entry of `status.active`."""

    namespace: str
    name: str
    uid: str = ""


@dataclass(frozen=True, slots=True)
class Job:
    """A Job the CronJob owns (its controller reference names the CronJob)."""

    namespace: str
    name: str
    uid: str = ""
    #: `status.startTime`; None until the Job controller starts it
    start_time: datetime | None = None
    #: which of Complete/Failed is True; None while it runs
    finished: JobFinish | None = None

    def __post_init__(self) -> None:
        _require_aware(self.start_time, "start_time")

    @property
    def ref(self) -> JobRef:
        return JobRef(self.namespace, self.name, self.uid)


def _require_aware(moment: datetime | None, what: str) -> None:
    if moment is not None and moment.utcoffset() is None:
        raise ValueError(f"{what} must be a timezone-aware datetime, got {moment!r}")


@dataclass(frozen=True, slots=True)
class CronJob:
    """What the CronJob controller reads of a CronJob."""

    namespace: str
    name: str
    #: `spec.schedule`, as written
    schedule: str
    #: `metadata.creationTimestamp`
    creation_timestamp: datetime
    #: `spec.timeZone`; None runs in kube-controller-manager's zone
    time_zone: str | None = None
    suspend: bool = False
    concurrency_policy: ConcurrencyPolicy = ConcurrencyPolicy.ALLOW
    #: `spec.startingDeadlineSeconds`: how late a run may still start; None: any lateness
    starting_deadline_seconds: int | None = None
    successful_jobs_history_limit: int | None = 3
    failed_jobs_history_limit: int | None = 1
    #: `status.lastScheduleTime`
    last_schedule_time: datetime | None = None
    #: `status.active`
    active: tuple[JobRef, ...] = ()
    #: `metadata.deletionTimestamp` is set
    deleting: bool = False

    def __post_init__(self) -> None:
        _require_aware(self.creation_timestamp, "creation_timestamp")
        _require_aware(self.last_schedule_time, "last_schedule_time")
        for field, value in (
            ("spec.startingDeadlineSeconds", self.starting_deadline_seconds),
            ("spec.successfulJobsHistoryLimit", self.successful_jobs_history_limit),
            ("spec.failedJobsHistoryLimit", self.failed_jobs_history_limit),
        ):
            if value is not None and value < 0:
                raise InvalidInput(
                    "must be greater than or equal to 0", obj=self.ref, field=field, value=value
                )

    @property
    def ref(self) -> str:
        """`cronjob <namespace>/<name>`, as errors name it."""
        return f"cronjob {self.namespace}/{self.name}"

    def with_status(
        self, *, last_schedule_time: datetime | None, active: tuple[JobRef, ...]
    ) -> CronJob:
        """The same CronJob with a new `status.lastScheduleTime` and `status.active`."""
        return replace(self, last_schedule_time=last_schedule_time, active=active)

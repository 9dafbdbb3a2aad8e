"""Which finished Jobs a CronJob's history limits delete: Kubernetes' `cleanupFinishedJobs`
and `removeOldestJobs` (`pkg/controller/cronjob/cronjob_controllerv2.go`).

Before every sync — suspended or not — the controller splits the CronJob's finished Jobs
into succeeded (`Complete`) and failed (`Failed`), sorts each oldest first by
`status.startTime` (Jobs never started last; ties by name: `byJobStartTime`), and deletes
from the front of each list until `successfulJobsHistoryLimit` and `failedJobsHistoryLimit`
remain. A limit of 0 keeps none; with both limits unset nothing is deleted. Jobs still
running are never touched. Each deleted Job also leaves `status.active`.
"""

from __future__ import annotations

from collections.abc import Iterable

from colo.cron.objects import CronJob, Job, JobFinish
from colo.cron.walltime import to_us


def _start_key(job: Job) -> tuple[bool, int, str]:
    # instants as integers: Python calls a time in a repeated hour unequal to the same
    # instant in another zone, which would break ties wrongly
    started = job.start_time
    return (started is None, 0 if started is None else to_us(started), job.name)


def oldest_first(jobs: Iterable[Job]) -> list[Job]:
    """Kubernetes' `byJobStartTime` order: by start time, unstarted last, ties by name."""
    return sorted(jobs, key=_start_key)


def _over_limit(jobs: list[Job], limit: int | None) -> list[Job]:
    if limit is None or len(jobs) <= limit:
        return []
    return oldest_first(jobs)[: len(jobs) - limit]


def finished_jobs_to_delete(cronjob: CronJob, jobs: Iterable[Job]) -> tuple[Job, ...]:
    """The Jobs (of those `cronjob` owns) its history limits delete now, succeeded ones
    first, each group oldest first: the order Kubernetes deletes them in."""
    owned = list(jobs)
    succeeded = [job for job in owned if job.finished is JobFinish.COMPLETE]
    failed = [job for job in owned if job.finished is JobFinish.FAILED]
    return tuple(
        _over_limit(succeeded, cronjob.successful_jobs_history_limit)
        + _over_limit(failed, cronjob.failed_jobs_history_limit)
    )

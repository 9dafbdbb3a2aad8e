"""Shared helpers for the cron tests: fixed timestamps, zones and a CronJob builder."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from colo.cron import ConcurrencyPolicy, CronJob, JobRef

NEW_YORK = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")

#: Kubernetes' `topOfTheHour()` in pkg/controller/cronjob/utils_test.go: a Thursday.
TOP_OF_THE_HOUR = datetime(2016, 5, 19, 10, 0, tzinfo=UTC)


def at(text: str) -> datetime:
    """An aware datetime from RFC 3339 text (`Z` or an offset)."""
    moment = datetime.fromisoformat(text)
    assert moment.tzinfo is not None, text
    return moment


def after_top(delta: timedelta) -> datetime:
    """Kubernetes' `deltaTimeAfterTopOfTheHour`."""
    return TOP_OF_THE_HOUR + delta


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)


def hours(n: float) -> timedelta:
    return timedelta(hours=n)


class MakeCronJob:
    """`MakeCronJob().schedule("0 * * * *").last(t).obj()`, in the manner of the
    scheduler framework's `MakePod()` builders."""

    def __init__(self, name: str = "mycronjob", namespace: str = "default") -> None:
        self._job = CronJob(namespace, name, "0 * * * *", TOP_OF_THE_HOUR)

    def schedule(self, text: str) -> MakeCronJob:
        self._job = replace(self._job, schedule=text)
        return self

    def created(self, when: datetime) -> MakeCronJob:
        self._job = replace(self._job, creation_timestamp=when)
        return self

    def last(self, when: datetime | None) -> MakeCronJob:
        self._job = replace(self._job, last_schedule_time=when)
        return self

    def deadline(self, seconds: int | None) -> MakeCronJob:
        self._job = replace(self._job, starting_deadline_seconds=seconds)
        return self

    def zone(self, name: str | None) -> MakeCronJob:
        self._job = replace(self._job, time_zone=name)
        return self

    def policy(self, policy: ConcurrencyPolicy) -> MakeCronJob:
        self._job = replace(self._job, concurrency_policy=policy)
        return self

    def suspended(self) -> MakeCronJob:
        self._job = replace(self._job, suspend=True)
        return self

    def deleting(self) -> MakeCronJob:
        self._job = replace(self._job, deleting=True)
        return self

    def active(self, *names: str) -> MakeCronJob:
        refs = tuple(JobRef(self._job.namespace, name, f"uid-{name}") for name in names)
        self._job = replace(self._job, active=refs)
        return self

    def limits(self, successful: int | None, failed: int | None) -> MakeCronJob:
        self._job = replace(
            self._job,
            successful_jobs_history_limit=successful,
            failed_jobs_history_limit=failed,
        )
        return self

    def obj(self) -> CronJob:
        return self._job

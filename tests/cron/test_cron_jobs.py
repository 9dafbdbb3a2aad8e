"""The Jobs of a CronJob: their names, their scheduled-time annotation, which finished ones
the history limits delete, and the CronJob values the decisions read.

Sources: `getJobName`/`getTimeHashInMinutes` and `getJobFromTemplate2` (TestGetJobFromTemplate2
in `pkg/controller/cronjob/utils_test.go`), `byJobStartTime` (TestByJobStartTime there),
`cleanupFinishedJobs`/`removeOldestJobs` (`cronjob_controllerv2.go`, the history cases written
from that code) and `validateCronJobSpec`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from cronkit import TOP_OF_THE_HOUR, MakeCronJob, at

from colo.core.errors import InvalidInput
from colo.cron import (
    MAX_CRONJOB_NAME_LENGTH,
    CronJob,
    Job,
    JobFinish,
    finished_jobs_to_delete,
    job_name,
    oldest_first,
    scheduled_timestamp,
)
from colo.cron.naming import minutes_since_epoch

COMPLETE, FAILED = JobFinish.COMPLETE, JobFinish.FAILED


@pytest.mark.parametrize(
    ("scheduled", "name"),
    [
        ("2016-05-19T10:00:00Z", "mycronjob-24394200"),
        ("2016-05-19T10:00:59Z", "mycronjob-24394200"),  # whole minutes
        ("2016-05-19T12:00:00+02:00", "mycronjob-24394200"),  # the instant, not the wall clock
        ("1970-01-01T00:00:00Z", "mycronjob-0"),
        ("1969-12-31T23:59:00Z", "mycronjob--1"),
        ("1969-12-31T23:59:30Z", "mycronjob-0"),  # Go's integer division rounds toward zero
    ],
)
def test_a_job_is_named_for_the_minute_it_was_scheduled(scheduled: str, name: str) -> None:
    assert job_name("mycronjob", at(scheduled)) == name


def test_the_name_is_the_same_however_often_a_run_is_retried() -> None:
    scheduled = at("2024-03-10T07:00:00Z")
    names = {job_name("backup", scheduled) for _ in range(3)}
    assert names == {f"backup-{minutes_since_epoch(scheduled)}"}
    # a 52-character CronJob name (the API server's limit) still makes a valid Job name
    assert len(job_name("x" * MAX_CRONJOB_NAME_LENGTH, scheduled)) <= 63


@pytest.mark.parametrize(
    ("zone", "expected"),
    [
        (None, "2016-05-19T10:00:00Z"),  # no spec.timeZone: UTC, whatever the controller's zone
        (UTC, "2016-05-19T10:00:00Z"),
        (ZoneInfo("Europe/Rome"), "2016-05-19T12:00:00+02:00"),
        (ZoneInfo("America/New_York"), "2016-05-19T06:00:00-04:00"),
        (ZoneInfo("Europe/London"), "2016-12-19T10:00:00Z"),  # zero offset in winter: Z
        (ZoneInfo("Asia/Kolkata"), "2016-05-19T15:30:00+05:30"),
    ],
)
def test_the_scheduled_timestamp_annotation_is_go_rfc3339_in_the_time_zone(
    zone: ZoneInfo | None, expected: str
) -> None:
    scheduled = at("2016-12-19T10:00:00Z") if "12-19" in expected else TOP_OF_THE_HOUR
    assert scheduled_timestamp(scheduled.replace(microsecond=500), zone) == expected


def job(name: str, start: datetime | None, finished: JobFinish | None = COMPLETE) -> Job:
    return Job("default", name, f"uid-{name}", start, finished)


NOW = datetime(2018, 1, 1, 2, 3, 4, tzinfo=UTC)
LATER = datetime(2019, 1, 1, 2, 3, 4, tzinfo=UTC)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ([job("b", None), job("a", None)], ["a", "b"]),  # both unstarted: by name
        ([job("a", None), job("b", NOW)], ["b", "a"]),  # unstarted last
        ([job("a", NOW), job("b", None)], ["a", "b"]),
        ([job("b", NOW), job("a", NOW)], ["a", "b"]),  # same start: by name
        ([job("a", LATER), job("b", NOW)], ["b", "a"]),
    ],
)
def test_jobs_are_ordered_oldest_first_as_kubernetes_sorts_them(
    given: list[Job], expected: list[str]
) -> None:
    assert [j.name for j in oldest_first(given)] == expected


def hour(n: int) -> datetime:
    return datetime(2024, 1, 1, n, tzinfo=UTC)


HISTORY = [
    job("ok-1", hour(1)),
    job("ok-2", hour(2)),
    job("ok-3", hour(3)),
    job("ok-4", hour(4)),
    job("bad-1", hour(1), FAILED),
    job("bad-2", hour(2), FAILED),
    job("bad-3", hour(3), FAILED),
    job("running", hour(5), None),
]


@pytest.mark.parametrize(
    ("successful", "failed", "deleted"),
    [
        (3, 1, ["ok-1", "bad-1", "bad-2"]),  # the API server's defaults
        (0, 0, ["ok-1", "ok-2", "ok-3", "ok-4", "bad-1", "bad-2", "bad-3"]),
        (10, 10, []),
        (None, None, []),  # both unset: nothing is cleaned up
        (None, 1, ["bad-1", "bad-2"]),
        (2, None, ["ok-1", "ok-2"]),
    ],
)
def test_history_limits_delete_the_oldest_finished_jobs_beyond_them(
    successful: int | None, failed: int | None, deleted: list[str]
) -> None:
    cronjob = MakeCronJob().limits(successful, failed).obj()
    assert [j.name for j in finished_jobs_to_delete(cronjob, HISTORY)] == deleted


def test_a_running_job_is_never_deleted_for_history() -> None:
    cronjob = MakeCronJob().limits(0, 0).obj()
    assert finished_jobs_to_delete(cronjob, [job("running", hour(1), None)]) == ()


def test_the_same_start_in_different_zones_ties_by_name() -> None:
    # 01:30 EST in a repeated hour and the same instant in UTC
    ny = ZoneInfo("America/New_York")
    first = job("b", datetime(2021, 11, 7, 1, 30, fold=1, tzinfo=ny))
    second = job("a", at("2021-11-07T06:30:00Z"))
    assert [j.name for j in oldest_first([first, second])] == ["a", "b"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"starting_deadline_seconds": -1}, "spec.startingDeadlineSeconds"),
        ({"successful_jobs_history_limit": -1}, "spec.successfulJobsHistoryLimit"),
        ({"failed_jobs_history_limit": -2}, "spec.failedJobsHistoryLimit"),
    ],
)
def test_a_cronjob_refuses_negative_counts_as_the_api_server_does(
    change: dict[str, int], field: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        CronJob("default", "backup", "0 * * * *", TOP_OF_THE_HOUR, **change)  # type: ignore[arg-type]
    assert caught.value.obj == "cronjob default/backup"
    assert caught.value.field == field
    assert caught.value.message == "must be greater than or equal to 0"


def test_naive_times_are_a_callers_bug() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        CronJob("default", "backup", "0 * * * *", datetime(2024, 1, 1))
    with pytest.raises(ValueError, match="timezone-aware"):
        Job("default", "j", start_time=datetime(2024, 1, 1))


def test_a_cronjob_defaults_as_the_api_server_fills_it_in() -> None:
    cronjob = CronJob("default", "backup", "0 * * * *", TOP_OF_THE_HOUR)
    assert cronjob.concurrency_policy == "Allow"
    assert (cronjob.successful_jobs_history_limit, cronjob.failed_jobs_history_limit) == (3, 1)
    assert not cronjob.suspend and cronjob.time_zone is None and cronjob.active == ()
    assert cronjob.ref == "cronjob default/backup"

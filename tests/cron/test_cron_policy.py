"""One sync of a CronJob decides what Kubernetes' controller decides.

The table is Kubernetes' `TestControllerV2SyncCronJob`
(`pkg/controller/cronjob/cronjob_controllerv2_test.go`): the same CronJobs, clocks and
expectations (a Job created or not, active Jobs deleted or not, the number of Warning
events, the requeue delay), with its set-up (`ranPreviously`: created 08:59, last scheduled
09:01; `stillActive`: that run's Job in `status.active`) built by `case()` below. Cases
about API errors (create or get failing, a terminating namespace, a slow lister) are the
driver's and are left out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from cronkit import NEW_YORK, MakeCronJob, at, minutes

from colo.cron import (
    NEXT_SCHEDULE_DELTA,
    SCHEDULED_TIMESTAMP_ANNOTATION,
    ConcurrencyPolicy,
    CronJob,
    Outcome,
    decide,
    job_name,
)

A, F, R = ConcurrencyPolicy.ALLOW, ConcurrencyPolicy.FORBID, ConcurrencyPolicy.REPLACE
SHORT_DEAD, MEDIUM_DEAD, LONG_DEAD = 10, 2 * 60 * 60, 1_000_000
ON_THE_HOUR, EVERY_HOUR, ERROR_SCHEDULE = "0 * * * ?", "@every 1h", "obvious error schedule"

JUST_BEFORE_THE_PRIOR_HOUR = at("2016-05-19T08:59:00Z")
JUST_AFTER_THE_PRIOR_HOUR = at("2016-05-19T09:01:00Z")
JUST_BEFORE_THE_HOUR = at("2016-05-19T09:59:00Z")
TOP_OF_THE_HOUR = at("2016-05-19T10:00:00Z")
JUST_AFTER_THE_HOUR = at("2016-05-19T10:01:00Z")
JUST_BEFORE_THE_NEXT_HOUR = at("2016-05-19T10:59:00Z")
WEEK_AFTER_THE_HOUR = at("2016-05-26T10:00:00Z")
DELTA = NEXT_SCHEDULE_DELTA


@dataclass(frozen=True)
class Case:
    policy: ConcurrencyPolicy
    schedule: str
    now: datetime
    deadline: int | None = None
    suspend: bool = False
    time_zone: str | None = None
    ran_previously: bool = False
    still_active: bool = False
    cronjob_created: datetime | None = None
    job_created: datetime = JUST_AFTER_THE_PRIOR_HOUR
    last_scheduled: datetime | None = None
    # expectations
    create: bool = False
    delete: bool = False
    warnings: int = 0
    requeue: timedelta | None = field(default=None)

    def cronjob(self) -> CronJob:
        make = MakeCronJob("mycronjob", "snazzycats").schedule(self.schedule).policy(self.policy)
        make.deadline(self.deadline).zone(self.time_zone)
        if self.suspend:
            make.suspended()
        if self.ran_previously:
            make.created(self.cronjob_created or JUST_BEFORE_THE_PRIOR_HOUR)
            make.last(self.last_scheduled or JUST_AFTER_THE_PRIOR_HOUR)
            if self.still_active:
                make.active(job_name("mycronjob", self.job_created))
        else:
            make.created(self.cronjob_created or JUST_BEFORE_THE_HOUR)
        return make.obj()


HOUR = timedelta(hours=1)
IN_A_MINUTE = minutes(1) + DELTA
SECONDS = timedelta(seconds=1)
CASES = {
    "never ran, not valid schedule, A": Case(A, ERROR_SCHEDULE, JUST_BEFORE_THE_HOUR, warnings=1),
    "never ran, not valid schedule, F": Case(F, ERROR_SCHEDULE, JUST_BEFORE_THE_HOUR, warnings=1),
    "never ran, not valid time zone": Case(
        A, ON_THE_HOUR, JUST_BEFORE_THE_HOUR, time_zone="bad timezone", warnings=1
    ),
    "never ran, not time, A": Case(A, ON_THE_HOUR, JUST_BEFORE_THE_HOUR, requeue=IN_A_MINUTE),
    "never ran, not time, F": Case(F, ON_THE_HOUR, JUST_BEFORE_THE_HOUR, requeue=IN_A_MINUTE),
    "never ran, not time, R": Case(R, ON_THE_HOUR, JUST_BEFORE_THE_HOUR, requeue=IN_A_MINUTE),
    "never ran, not time in zone": Case(
        A, ON_THE_HOUR, JUST_BEFORE_THE_HOUR, time_zone="America/New_York",
        requeue=minutes(1) + DELTA,
    ),
    "never ran, is time, A": Case(
        A, ON_THE_HOUR, JUST_AFTER_THE_HOUR, create=True, requeue=HOUR - minutes(1) + DELTA
    ),
    "never ran, is time, F": Case(
        F, ON_THE_HOUR, JUST_AFTER_THE_HOUR, create=True, requeue=HOUR - minutes(1) + DELTA
    ),
    "never ran, is time, R": Case(
        R, ON_THE_HOUR, JUST_AFTER_THE_HOUR, create=True, requeue=HOUR - minutes(1) + DELTA
    ),
    "never ran, is time in zone": Case(
        A, ON_THE_HOUR, JUST_AFTER_THE_HOUR.astimezone(NEW_YORK), time_zone="America/New_York",
        create=True, requeue=HOUR - minutes(1) + DELTA,
    ),
    "never ran, is time in zone, but TZ is also set in schedule": Case(
        A, "TZ=UTC " + ON_THE_HOUR, JUST_AFTER_THE_HOUR, time_zone="America/New_York",
        create=True, warnings=1, requeue=HOUR - minutes(1) + DELTA,
    ),
    "never ran, is time, suspended": Case(A, ON_THE_HOUR, JUST_AFTER_THE_HOUR, suspend=True),
    "never ran, is time, past deadline": Case(
        A, ON_THE_HOUR, JUST_AFTER_THE_HOUR + minutes(SHORT_DEAD + 1), deadline=SHORT_DEAD,
        requeue=HOUR - minutes(1) - minutes(SHORT_DEAD + 1) + DELTA,
    ),
    "never ran, is time, not past deadline": Case(
        A, ON_THE_HOUR, JUST_AFTER_THE_HOUR, deadline=LONG_DEAD, create=True,
        requeue=HOUR - minutes(1) + DELTA,
    ),
    "prev ran but done, not time, A": Case(
        A, ON_THE_HOUR, JUST_BEFORE_THE_HOUR, ran_previously=True, requeue=minutes(1) + DELTA
    ),
    "prev ran but done, not time, R": Case(
        R, ON_THE_HOUR, JUST_BEFORE_THE_HOUR, ran_previously=True, requeue=minutes(1) + DELTA
    ),
    "prev ran but done, is time, A": Case(
        A, ON_THE_HOUR, JUST_AFTER_THE_HOUR, ran_previously=True, create=True,
        requeue=HOUR - minutes(1) + DELTA,
    ),
    "prev ran but done, is time, F": Case(
        F, ON_THE_HOUR, JUST_AFTER_THE_HOUR, ran_previously=True, create=True,
        requeue=HOUR - minutes(1) + DELTA,
    ),
    "prev ran but done, is time, suspended": Case(
        A, ON_THE_HOUR, JUST_AFTER_THE_HOUR, ran_previously=True, suspend=True
    ),
    "prev ran but done, is time, past deadline": Case(
        A, ON_THE_HOUR, JUST_AFTER_THE_HOUR, ran_previously=True, deadline=SHORT_DEAD,
        requeue=HOUR - minutes(1) + DELTA,
    ),
    "prev ran but done, is time, not past deadline": Case(
        A, ON_THE_HOUR, JUST_AFTER_THE_HOUR, ran_previously=True, deadline=LONG_DEAD,
        create=True, requeue=HOUR - minutes(1) + DELTA,
    ),
    "still active, not time, A": Case(
        A, ON_THE_HOUR, JUST_BEFORE_THE_HOUR, ran_previously=True, still_active=True,
        requeue=minutes(1) + DELTA,
    ),
    "still active, not time, F": Case(
        F, ON_THE_HOUR, JUST_BEFORE_THE_HOUR, ran_previously=True, still_active=True,
        requeue=minutes(1) + DELTA,
    ),
    "still active, is time, A": Case(
        A, ON_THE_HOUR, JUST_AFTER_THE_HOUR, ran_previously=True, still_active=True,
        create=True, requeue=HOUR - minutes(1) + DELTA,
    ),
    "still active, is time, F": Case(
        F, ON_THE_HOUR, JUST_AFTER_THE_HOUR, ran_previously=True, still_active=True,
        requeue=HOUR - minutes(1) + DELTA,
    ),
    "still active, is time, R": Case(
        R, ON_THE_HOUR, JUST_AFTER_THE_HOUR, ran_previously=True, still_active=True,
        create=True, delete=True, requeue=HOUR - minutes(1) + DELTA,
    ),
    "still active, is time, suspended": Case(
        A, ON_THE_HOUR, JUST_AFTER_THE_HOUR, ran_previously=True, still_active=True, suspend=True
    ),
    "still active, is time, past deadline": Case(
        A, ON_THE_HOUR, JUST_AFTER_THE_HOUR, ran_previously=True, still_active=True,
        deadline=SHORT_DEAD, requeue=HOUR - minutes(1) + DELTA,
    ),
    "prev ran but done, long overdue, not past deadline, A": Case(
        A, ON_THE_HOUR, WEEK_AFTER_THE_HOUR, ran_previously=True, deadline=LONG_DEAD,
        create=True, warnings=1, requeue=HOUR + DELTA,
    ),
    "prev ran but done, long overdue, no deadline, F": Case(
        F, ON_THE_HOUR, WEEK_AFTER_THE_HOUR, ran_previously=True, create=True, warnings=1,
        requeue=HOUR + DELTA,
    ),
    "prev ran but done, long overdue, past medium deadline, A": Case(
        A, ON_THE_HOUR, WEEK_AFTER_THE_HOUR, ran_previously=True, deadline=MEDIUM_DEAD,
        create=True, requeue=HOUR + DELTA,
    ),
    "prev ran but done, long overdue, past short deadline, R": Case(
        R, ON_THE_HOUR, WEEK_AFTER_THE_HOUR, ran_previously=True, deadline=SHORT_DEAD,
        create=True, requeue=HOUR + DELTA,
    ),
    "with @every schedule, never ran, not time": Case(
        A, EVERY_HOUR, TOP_OF_THE_HOUR, cronjob_created=JUST_BEFORE_THE_HOUR,
        requeue=HOUR - minutes(1) + DELTA,
    ),
    "with @every schedule, never ran, is time": Case(
        A, EVERY_HOUR, JUST_BEFORE_THE_HOUR, cronjob_created=JUST_BEFORE_THE_PRIOR_HOUR,
        create=True, requeue=HOUR + DELTA,
    ),
    "with @every schedule, never ran, is time, past deadline": Case(
        A, EVERY_HOUR, JUST_BEFORE_THE_HOUR + (SHORT_DEAD + 1) * SECONDS, deadline=SHORT_DEAD,
        cronjob_created=JUST_BEFORE_THE_PRIOR_HOUR,
        requeue=HOUR - (SHORT_DEAD + 1) * SECONDS + DELTA,
    ),
    "with @every schedule, never ran, is time, not past deadline": Case(
        A, EVERY_HOUR, JUST_BEFORE_THE_HOUR + (SHORT_DEAD - 1) * SECONDS, deadline=LONG_DEAD,
        cronjob_created=JUST_BEFORE_THE_PRIOR_HOUR, create=True,
        requeue=HOUR - (SHORT_DEAD - 1) * SECONDS + DELTA,
    ),
    "with @every schedule, prev ran but done, not time": Case(
        A, EVERY_HOUR, TOP_OF_THE_HOUR, ran_previously=True,
        cronjob_created=JUST_BEFORE_THE_PRIOR_HOUR, last_scheduled=JUST_BEFORE_THE_HOUR,
        requeue=HOUR - minutes(1) + DELTA,
    ),
    "with @every schedule, prev ran but done, is time": Case(
        A, EVERY_HOUR, TOP_OF_THE_HOUR + HOUR, ran_previously=True,
        cronjob_created=JUST_BEFORE_THE_PRIOR_HOUR, last_scheduled=JUST_BEFORE_THE_HOUR,
        create=True, requeue=HOUR - minutes(1) + DELTA,
    ),
    "with @every schedule, prev ran but done, is time, past deadline": Case(
        A, EVERY_HOUR, JUST_BEFORE_THE_NEXT_HOUR + (SHORT_DEAD + 1) * SECONDS,
        deadline=SHORT_DEAD, ran_previously=True, cronjob_created=JUST_BEFORE_THE_PRIOR_HOUR,
        last_scheduled=JUST_BEFORE_THE_HOUR, requeue=HOUR - (SHORT_DEAD + 1) * SECONDS + DELTA,
    ),
    "with @every schedule, still active, is time": Case(
        A, EVERY_HOUR, JUST_AFTER_THE_HOUR, ran_previously=True, still_active=True,
        cronjob_created=JUST_BEFORE_THE_PRIOR_HOUR, job_created=JUST_BEFORE_THE_PRIOR_HOUR,
        last_scheduled=JUST_BEFORE_THE_PRIOR_HOUR, create=True,
        requeue=HOUR - minutes(2) + DELTA,
    ),
    "with @every schedule, prev ran but done, long overdue, no deadline": Case(
        A, EVERY_HOUR, WEEK_AFTER_THE_HOUR, ran_previously=True,
        cronjob_created=JUST_AFTER_THE_PRIOR_HOUR, last_scheduled=JUST_AFTER_THE_HOUR,
        create=True, warnings=1, requeue=minutes(1) + DELTA,
    ),
    "with @every schedule, prev ran but done, long overdue, past deadline": Case(
        A, EVERY_HOUR, WEEK_AFTER_THE_HOUR + minutes(1) + (SHORT_DEAD + 1) * SECONDS,
        deadline=SHORT_DEAD, ran_previously=True, cronjob_created=JUST_AFTER_THE_PRIOR_HOUR,
        last_scheduled=JUST_AFTER_THE_HOUR, requeue=HOUR - (SHORT_DEAD + 1) * SECONDS + DELTA,
    ),
}  # fmt: skip


@pytest.mark.parametrize("name", list(CASES))
def test_a_sync_decides_what_kubernetes_controller_decides(name: str) -> None:
    case = CASES[name]
    cronjob = case.cronjob()
    decision = decide(cronjob, case.now)
    assert (decision.outcome is Outcome.CREATE_JOB) is case.create, decision
    assert bool(decision.delete_first) is case.delete
    if case.delete:
        assert decision.delete_first == cronjob.active
    warnings = [event for event in decision.events if event.type == "Warning"]
    assert len(warnings) == case.warnings, decision.events
    assert decision.requeue_after == case.requeue
    if case.create:
        assert decision.scheduled_time is not None
        assert decision.job_name == job_name("mycronjob", decision.scheduled_time)


def test_forbid_with_an_active_job_skips_the_run_with_a_normal_event() -> None:
    decision = CASES["still active, is time, F"]
    got = decide(decision.cronjob(), decision.now)
    assert got.outcome is Outcome.FORBIDDEN_CONCURRENT
    assert [(e.type, e.reason) for e in got.events] == [("Normal", "JobAlreadyActive")]
    assert got.scheduled_time == TOP_OF_THE_HOUR


def test_too_many_missed_runs_warn_and_still_start_the_most_recent() -> None:
    case = CASES["prev ran but done, long overdue, no deadline, F"]
    got = decide(case.cronjob(), case.now)
    assert got.outcome is Outcome.CREATE_JOB
    assert got.scheduled_time == WEEK_AFTER_THE_HOUR
    assert [(e.type, e.reason, e.message) for e in got.events] == [
        (
            "Warning",
            "TooManyMissedTimes",
            "too many missed start times. Set or decrease .spec.startingDeadlineSeconds or "
            "check clock skew",
        )
    ]


def test_a_run_already_recorded_is_not_created_twice() -> None:
    base = MakeCronJob().schedule(ON_THE_HOUR).created(JUST_BEFORE_THE_HOUR)
    by_last_schedule = decide(base.last(TOP_OF_THE_HOUR).obj(), JUST_AFTER_THE_HOUR)
    assert by_last_schedule.outcome is Outcome.NOTHING_DUE  # nothing after 10:00 is due
    # the status update was lost but the Job exists in the active list by name
    by_name = decide(
        base.last(None).active(job_name("mycronjob", TOP_OF_THE_HOUR)).obj(), JUST_AFTER_THE_HOUR
    )
    assert by_name.outcome is Outcome.ALREADY_CREATED
    assert by_name.job_name == "mycronjob-24394200"
    assert by_name.requeue_after == HOUR - minutes(1) + DELTA


def test_the_created_job_is_named_and_annotated_for_its_scheduled_time() -> None:
    cronjob = MakeCronJob().schedule("0 * * * *").zone("Europe/Rome")
    cronjob = cronjob.created(JUST_BEFORE_THE_HOUR).obj()
    got = decide(cronjob, JUST_AFTER_THE_HOUR)
    assert got.outcome is Outcome.CREATE_JOB
    assert got.job_name == "mycronjob-24394200"  # 2016-05-19T10:00Z: 1463652000 s, minute 24394200
    assert got.scheduled_timestamp == "2016-05-19T12:00:00+02:00"
    assert SCHEDULED_TIMESTAMP_ANNOTATION == "batch.kubernetes.io/cronjob-scheduled-timestamp"


def test_a_cronjob_being_deleted_does_nothing() -> None:
    got = decide(MakeCronJob().deleting().obj(), JUST_AFTER_THE_HOUR)
    assert got.outcome is Outcome.DELETING and got.requeue_after is None and not got.events


def test_an_unknown_time_zone_is_reported_before_suspension() -> None:
    cronjob = MakeCronJob().zone("Mars/Base").suspended().obj()
    got = decide(cronjob, JUST_AFTER_THE_HOUR)
    assert got.outcome is Outcome.UNKNOWN_TIME_ZONE
    assert got.requeue_after is None
    assert got.events[0].message == 'invalid timeZone: "Mars/Base": unknown time zone Mars/Base'


def test_a_suspended_cronjob_with_a_bad_schedule_is_just_suspended() -> None:
    got = decide(MakeCronJob().schedule(ERROR_SCHEDULE).suspended().obj(), JUST_AFTER_THE_HOUR)
    assert got.outcome is Outcome.SUSPENDED and not got.events


def test_an_unparseable_schedule_warns_with_kubernetes_message() -> None:
    got = decide(MakeCronJob().schedule("61 * * * *").obj(), JUST_AFTER_THE_HOUR)
    assert got.outcome is Outcome.UNPARSEABLE_SCHEDULE
    assert got.requeue_after is None
    assert got.events[0].message == (
        'unparseable schedule: "61 * * * *" : end of range (61) above maximum (59): 61'
    )


def test_a_schedule_that_never_fires_is_an_invalid_schedule() -> None:
    # Kubernetes' "rogue cronjob": 31 February
    got = decide(MakeCronJob().schedule("59 23 31 2 *").obj(), JUST_AFTER_THE_HOUR)
    assert got.outcome is Outcome.INVALID_SCHEDULE
    assert got.requeue_after is None
    assert [(e.reason, e.message) for e in got.events] == [
        (
            "InvalidSchedule",
            "invalid schedule: 59 23 31 2 * : time difference between two schedules is less "
            "than 1 second",
        )
    ]


def test_a_tz_in_the_schedule_wins_over_the_time_zone_with_a_warning() -> None:
    cronjob = MakeCronJob().schedule("CRON_TZ=Asia/Tokyo 0 9 * * *").zone("Europe/Berlin")
    got = decide(cronjob.created(at("2024-01-01T00:30:00Z")).obj(), at("2024-01-01T00:01:00Z"))
    assert got.outcome is Outcome.NOTHING_DUE
    assert got.requeue_after == at("2024-01-02T00:00:00Z") - at("2024-01-01T00:01:00Z") + DELTA
    assert got.events[0].reason == "UnsupportedSchedule"


def test_without_a_time_zone_the_controllers_zone_is_used() -> None:
    cronjob = MakeCronJob().schedule("0 9 * * *").created(at("2024-01-01T00:00:00Z")).obj()
    now = at("2024-01-01T08:30:00Z")
    assert decide(cronjob, now).requeue_after == timedelta(minutes=30) + DELTA
    tokyo_local = decide(cronjob, now, local_zone=ZoneInfo("Asia/Tokyo"))
    assert tokyo_local.requeue_after == at("2024-01-02T00:00:00Z") - now + DELTA


def test_creating_under_replace_deletes_every_active_job_first() -> None:
    cronjob = MakeCronJob().policy(R).active("a", "b").created(JUST_BEFORE_THE_HOUR).obj()
    got = decide(cronjob, JUST_AFTER_THE_HOUR)
    assert got.outcome is Outcome.CREATE_JOB
    assert [ref.name for ref in got.delete_first] == ["a", "b"]
    assert decide(MakeCronJob().policy(A).active("a").obj(), JUST_AFTER_THE_HOUR).delete_first == ()


def test_decisions_are_values() -> None:
    now = datetime(2016, 5, 19, 10, 1, tzinfo=UTC)
    assert decide(MakeCronJob().obj(), now) == decide(MakeCronJob().obj(), now)

"""What the CronJob controller does for one CronJob now: Kubernetes' `syncCronJob`
(`pkg/controller/cronjob/cronjob_controllerv2.go`) from the point where `status.active`
has been reconciled with the Jobs that exist, as one pure decision.

The checks run in Kubernetes' order, and the first that applies decides:

1. being deleted: nothing;
2. `spec.timeZone` the controller cannot load: Warning `UnknownTimeZone`, no requeue;
3. `suspend`: nothing, no requeue (an update of the CronJob wakes it);
4. a schedule robfig cannot parse: Warning `UnparseableSchedule`, no requeue (a schedule
   containing `TZ` is run as written, with Warning `UnsupportedSchedule`, and
   `spec.timeZone` is ignored);
5. `nextScheduleTime` fails (a schedule that never fires): Warning `InvalidSchedule`;
6. nothing due: requeue at the next fire time;
7. the due time plus `startingDeadlineSeconds` is before now: Warning `MissSchedule`, and
   the run is skipped (Kubernetes keeps this check; as step 5 already starts the search at
   `now − startingDeadlineSeconds`, a run that late is never found, and a missed deadline
   shows as step 6: nothing due, no event);
8. that run's Job is already in `status.active` by name, or `status.lastScheduleTime` is
   that time: nothing (it was created);
9. `Forbid` with any active Job: Normal `JobAlreadyActive`, the run is skipped;
10. otherwise create the Job `job_name(...)`; `Replace` deletes every active Job first.

Too many missed start times (`colo.cron.missed`) adds Warning `TooManyMissedTimes` and
still starts the most recent one. Events the controller records after an API call
(`SuccessfulCreate`, `SuccessfulDelete`, `FailedCreate`, ...) belong to the driver.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from enum import StrEnum

from colo.cron.missed import next_schedule_time, requeue_after
from colo.cron.naming import job_name, scheduled_timestamp
from colo.cron.objects import ConcurrencyPolicy, CronJob, JobRef
from colo.cron.parser import ScheduleSyntaxError, parse_standard
from colo.cron.schedule import Schedule
from colo.cron.walltime import to_us
from colo.cron.zones import UnknownTimeZone, load_location

NORMAL = "Normal"
WARNING = "Warning"
CRONJOB_DOCS = "https://kubernetes.io/docs/concepts/workloads/controllers/cron-jobs/"


class Outcome(StrEnum):
    """What the controller does; the comment says what happens next."""

    #: create `job_name` (after deleting `delete_first`); record `scheduled_time` as
    #: `status.lastScheduleTime` and the Job in `status.active`; requeue
    CREATE_JOB = "CreateJob"
    #: no fire time is due; requeue at the next one
    NOTHING_DUE = "NothingDue"
    #: the due run is later than `startingDeadlineSeconds` allows: skipped; requeue
    MISSED_DEADLINE = "MissedDeadline"
    #: the due run's Job was already created; requeue
    ALREADY_CREATED = "AlreadyCreated"
    #: `Forbid` and a Job is still active: the run is skipped; requeue
    FORBIDDEN_CONCURRENT = "ForbiddenConcurrent"
    #: `spec.suspend`: nothing until the CronJob changes
    SUSPENDED = "Suspended"
    #: being deleted: nothing
    DELETING = "Deleting"
    #: `spec.timeZone` does not load: nothing until the CronJob changes
    UNKNOWN_TIME_ZONE = "UnknownTimeZone"
    #: robfig cannot parse the schedule: nothing until the CronJob changes
    UNPARSEABLE_SCHEDULE = "UnparseableSchedule"
    #: the schedule never fires: nothing until the CronJob changes
    INVALID_SCHEDULE = "InvalidSchedule"


@dataclass(frozen=True, slots=True)
class Event:
    """An event the controller records on the CronJob."""

    type: str
    reason: str
    message: str


@dataclass(frozen=True, slots=True)
class SyncDecision:
    outcome: Outcome
    #: when to sync this CronJob again; None: not until it changes
    requeue_after: timedelta | None = None
    #: the due run's scheduled time (for CREATE_JOB and the skips that name a run)
    scheduled_time: datetime | None = None
    #: the Job to create (CREATE_JOB) or that exists already (ALREADY_CREATED)
    job_name: str | None = None
    #: the Job's `batch.kubernetes.io/cronjob-scheduled-timestamp` (CREATE_JOB)
    scheduled_timestamp: str | None = None
    #: Jobs to delete before creating (`Replace`): all of `status.active`
    delete_first: tuple[JobRef, ...] = ()
    events: tuple[Event, ...] = ()


def _go_quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _rfc1123z_utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%a, %d %b %Y %H:%M:%S +0000")


@dataclass(frozen=True, slots=True)
class ControllerSchedule:
    """The schedule the controller runs (`formatSchedule` + `ParseStandard`), or why not."""

    schedule: Schedule | None
    #: the zone `spec.timeZone` names (None when unset or not loadable)
    zone: tzinfo | None
    events: tuple[Event, ...]
    outcome: Outcome | None = None


def controller_schedule(cronjob: CronJob, *, local_zone: tzinfo = UTC) -> ControllerSchedule:
    """Load `spec.timeZone` and parse `spec.schedule` as the controller does (steps 2 and 4
    of the module; suspension, step 3, is checked between them by `decide`)."""
    zone: tzinfo | None = None
    if cronjob.time_zone is not None:
        try:
            zone = load_location(cronjob.time_zone, local_zone=local_zone)
        except UnknownTimeZone as exc:
            message = f"invalid timeZone: {_go_quote(cronjob.time_zone)}: {exc}"
            event = Event(WARNING, "UnknownTimeZone", message)
            return ControllerSchedule(None, None, (event,), Outcome.UNKNOWN_TIME_ZONE)
    events: list[Event] = []
    if "TZ" in cronjob.schedule:
        message = (
            f"CRON_TZ or TZ used in schedule {_go_quote(cronjob.schedule)} is not officially "
            f"supported, see {CRONJOB_DOCS} for more details"
        )
        events.append(Event(WARNING, "UnsupportedSchedule", message))
        run_in = local_zone
    else:
        run_in = zone or local_zone
    try:
        schedule = parse_standard(cronjob.schedule, zone=run_in, local_zone=local_zone)
    except ScheduleSyntaxError as exc:
        message = f"unparseable schedule: {_go_quote(cronjob.schedule)} : {exc}"
        events.append(Event(WARNING, "UnparseableSchedule", message))
        return ControllerSchedule(None, zone, tuple(events), Outcome.UNPARSEABLE_SCHEDULE)
    return ControllerSchedule(schedule, zone, tuple(events))


def decide(cronjob: CronJob, now: datetime, *, local_zone: tzinfo = UTC) -> SyncDecision:
    """What Kubernetes' controller does for `cronjob` at `now` (see the module).

    `local_zone` is kube-controller-manager's own zone (UTC unless its `TZ` is set), where
    a CronJob without `spec.timeZone` runs.
    """
    if cronjob.deleting:
        return SyncDecision(Outcome.DELETING)
    loaded = controller_schedule(cronjob, local_zone=local_zone)
    if loaded.outcome is Outcome.UNKNOWN_TIME_ZONE:
        return SyncDecision(loaded.outcome, events=loaded.events)
    if cronjob.suspend:
        return SyncDecision(Outcome.SUSPENDED)
    if loaded.schedule is None:
        assert loaded.outcome is not None
        return SyncDecision(loaded.outcome, events=loaded.events)
    schedule = loaded.schedule
    events = list(loaded.events)

    due = next_schedule_time(cronjob, schedule, now)
    if due.error is not None:
        message = f"invalid schedule: {cronjob.schedule} : {due.error}"
        events.append(Event(WARNING, "InvalidSchedule", message))
        return SyncDecision(Outcome.INVALID_SCHEDULE, events=tuple(events))
    if due.too_many_missed:
        message = (
            "too many missed start times. Set or decrease .spec.startingDeadlineSeconds "
            "or check clock skew"
        )
        events.append(Event(WARNING, "TooManyMissedTimes", message))
    requeue = requeue_after(cronjob, schedule, now)
    if due.time is None:
        return SyncDecision(Outcome.NOTHING_DUE, requeue, events=tuple(events))
    scheduled = due.time
    deadline = cronjob.starting_deadline_seconds
    if deadline is not None and scheduled + timedelta(seconds=deadline) < now:
        message = f"Missed scheduled time to start a job: {_rfc1123z_utc(scheduled)}"
        events.append(Event(WARNING, "MissSchedule", message))
        return SyncDecision(Outcome.MISSED_DEADLINE, requeue, scheduled, events=tuple(events))
    name = job_name(cronjob.name, scheduled)
    if any(ref.name == name and ref.namespace == cronjob.namespace for ref in cronjob.active) or (
        cronjob.last_schedule_time is not None
        and to_us(cronjob.last_schedule_time) == to_us(scheduled)
    ):
        return SyncDecision(Outcome.ALREADY_CREATED, requeue, scheduled, name, events=tuple(events))
    if cronjob.concurrency_policy is ConcurrencyPolicy.FORBID and cronjob.active:
        message = (
            "Not starting job because prior execution is running and concurrency policy is Forbid"
        )
        events.append(Event(NORMAL, "JobAlreadyActive", message))
        return SyncDecision(Outcome.FORBIDDEN_CONCURRENT, requeue, scheduled, events=tuple(events))
    delete_first = cronjob.active if cronjob.concurrency_policy is ConcurrencyPolicy.REPLACE else ()
    created = cronjob.with_status(last_schedule_time=scheduled, active=cronjob.active)
    return SyncDecision(
        Outcome.CREATE_JOB,
        requeue_after(created, schedule, now),
        scheduled,
        name,
        scheduled_timestamp(scheduled, loaded.zone),
        delete_first,
        tuple(events),
    )

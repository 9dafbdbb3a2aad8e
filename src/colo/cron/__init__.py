"""Kubernetes' CronJob semantics as a pure engine: schedules exactly as robfig/cron v3
parses and runs them, and the CronJob controller's decisions (which run is due, what
concurrency and suspension allow, the Job's name, which finished Jobs go, when to look
again). No I/O and no clock: `now` is an argument and every time is timezone-aware.

See docs/cron.md for what colo follows and where it comes from.
"""

from __future__ import annotations

from colo.cron.history import finished_jobs_to_delete, oldest_first
from colo.cron.missed import (
    NEXT_SCHEDULE_DELTA,
    TOO_MANY_MISSED,
    Due,
    Missed,
    ScheduleTimes,
    most_recent_schedule_time,
    next_schedule_time,
    requeue_after,
)
from colo.cron.naming import (
    MAX_CRONJOB_NAME_LENGTH,
    SCHEDULED_TIMESTAMP_ANNOTATION,
    job_name,
    scheduled_timestamp,
)
from colo.cron.objects import ConcurrencyPolicy, CronJob, Job, JobFinish, JobRef
from colo.cron.parser import ScheduleSyntaxError, parse_standard
from colo.cron.policy import (
    ControllerSchedule,
    Event,
    Outcome,
    SyncDecision,
    controller_schedule,
    decide,
)
from colo.cron.schedule import EverySchedule, Schedule, SpecSchedule
from colo.cron.validation import cronjob_ref, parse_cronjob_schedule
from colo.cron.zones import UnknownTimeZone, load_location, validate_time_zone

__all__ = [
    "MAX_CRONJOB_NAME_LENGTH",
    "NEXT_SCHEDULE_DELTA",
    "SCHEDULED_TIMESTAMP_ANNOTATION",
    "TOO_MANY_MISSED",
    "ConcurrencyPolicy",
    "ControllerSchedule",
    "CronJob",
    "Due",
    "Event",
    "EverySchedule",
    "Job",
    "JobFinish",
    "JobRef",
    "Missed",
    "Outcome",
    "Schedule",
    "ScheduleSyntaxError",
    "ScheduleTimes",
    "SpecSchedule",
    "SyncDecision",
    "UnknownTimeZone",
    "controller_schedule",
    "cronjob_ref",
    "decide",
    "finished_jobs_to_delete",
    "job_name",
    "load_location",
    "most_recent_schedule_time",
    "next_schedule_time",
    "oldest_first",
    "parse_cronjob_schedule",
    "parse_standard",
    "requeue_after",
    "scheduled_timestamp",
    "validate_time_zone",
]

"""The name and annotation Kubernetes gives the Job of one scheduled run.

The name is `<cronjob name>-<scheduled time in whole minutes since the Unix epoch>`
(`getJobName` and `getTimeHashInMinutes` in `pkg/controller/cronjob`): one scheduled time,
one name, so a retried create meets `AlreadyExists` instead of starting the run twice —
the name is the lock. The API server caps CronJob names at 52 characters so the 11
characters of `-<minutes>` still fit a 63-character Job name.

The Job also carries `batch.kubernetes.io/cronjob-scheduled-timestamp`: the scheduled time
in RFC 3339 (Go's `time.RFC3339`, so whole seconds and `Z` for a zero offset) in
`spec.timeZone`, or in UTC when it is unset (`time.LoadLocation("")`), even when the
schedule itself ran in kube-controller-manager's own zone.
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo

from colo.cron.walltime import SECOND_US, offset_s, to_us

SCHEDULED_TIMESTAMP_ANNOTATION = "batch.kubernetes.io/cronjob-scheduled-timestamp"
#: `metadata.name` of a CronJob, at most (validation.go: DNS1035LabelMaxLength − 11)
MAX_CRONJOB_NAME_LENGTH = 52


def minutes_since_epoch(scheduled_time: datetime) -> int:
    """Go's `scheduledTime.Unix() / 60`: seconds floored, then divided toward zero."""
    seconds = to_us(scheduled_time) // SECOND_US
    return seconds // 60 if seconds >= 0 else -(-seconds // 60)


def job_name(cronjob_name: str, scheduled_time: datetime) -> str:
    """The Job Kubernetes creates for the run scheduled at `scheduled_time`."""
    return f"{cronjob_name}-{minutes_since_epoch(scheduled_time)}"


def go_rfc3339(moment: datetime, zone: tzinfo) -> str:
    """`moment.In(zone).Format(time.RFC3339)`: whole seconds; `Z` for a zero offset."""
    seconds = to_us(moment) // SECOND_US
    offset = offset_s(zone, seconds)
    wall = datetime.fromtimestamp(seconds + offset, UTC).replace(tzinfo=None)
    if offset == 0:
        suffix = "Z"
    else:
        sign = "+" if offset > 0 else "-"
        hours, rest = divmod(abs(offset), 3600)
        suffix = f"{sign}{hours:02d}:{rest // 60:02d}"
    return wall.strftime("%Y-%m-%dT%H:%M:%S") + suffix


def scheduled_timestamp(scheduled_time: datetime, zone: tzinfo | None) -> str:
    """The `cronjob-scheduled-timestamp` annotation's value (`zone`: `spec.timeZone`'s
    zone, None when unset)."""
    return go_rfc3339(scheduled_time, UTC if zone is None else zone)

"""`spec.schedule` and `spec.timeZone` as the API server admits them, parsed as the
controller will run them.

Kubernetes' `validateCronJobSpec` (`pkg/apis/batch/validation/validation.go`) rejects, on
create:

* an empty schedule (`spec.schedule: Required value`);
* a schedule robfig's `ParseStandard` refuses (its message verbatim);
* any schedule containing `TZ` ("cannot use TZ or CRON_TZ in schedule, use timeZone field
  instead"). On update an object whose old schedule held `TZ` may keep one, but not
  together with `spec.timeZone` ("cannot use both timeZone field and TZ or CRON_TZ in
  schedule") — `tz_in_schedule_allowed` here;
* a bad `spec.timeZone` (`colo.cron.zones.validate_time_zone`).

The controller then runs `TZ=<spec.timeZone> <spec.schedule>` through `ParseStandard`
(`formatSchedule` in `cronjob_controllerv2.go`); a schedule that already contains `TZ` is
run as written and `spec.timeZone` is ignored.
"""

from __future__ import annotations

from datetime import UTC, tzinfo

from colo.core.errors import InvalidInput
from colo.cron.parser import ScheduleSyntaxError, parse_standard
from colo.cron.schedule import Schedule
from colo.cron.zones import validate_time_zone

SCHEDULE_FIELD = "spec.schedule"
TZ_IN_SCHEDULE = "cannot use TZ or CRON_TZ in schedule, use timeZone field instead"
TZ_IN_BOTH = "cannot use both timeZone field and TZ or CRON_TZ in schedule"


def cronjob_ref(namespace: str | None, name: str | None) -> str | None:
    """How errors name a CronJob: `cronjob <ns>/<name>` (None when the name is unknown)."""
    if not name:
        return None
    return f"cronjob {namespace}/{name}" if namespace else f"cronjob {name}"


def parse_cronjob_schedule(
    schedule: str,
    time_zone: str | None = None,
    *,
    obj: str | None = None,
    local_zone: tzinfo = UTC,
    tz_in_schedule_allowed: bool = False,
) -> Schedule:
    """The schedule a CronJob with `spec.schedule` and `spec.timeZone` fires on.

    Validates both as the API server does on create (or, with `tz_in_schedule_allowed`, on
    an update of an object whose old schedule contained `TZ`). `local_zone` is
    kube-controller-manager's zone, used when `time_zone` is None. Raises InvalidInput
    naming `obj` (e.g. `cronjob default/backup`), the field and Kubernetes' reason; the
    schedule's errors come before the time zone's, as Kubernetes lists them.
    """
    if schedule == "":
        raise InvalidInput("required value", obj=obj, field=SCHEDULE_FIELD)
    if "TZ" in schedule:
        if not tz_in_schedule_allowed:
            raise InvalidInput(TZ_IN_SCHEDULE, obj=obj, field=SCHEDULE_FIELD, value=schedule)
        if time_zone is not None:
            raise InvalidInput(TZ_IN_BOTH, obj=obj, field=SCHEDULE_FIELD, value=schedule)
    try:
        parsed = parse_standard(schedule, zone=local_zone, local_zone=local_zone)
    except ScheduleSyntaxError as exc:
        raise InvalidInput(
            f"unparseable schedule: {exc}", obj=obj, field=SCHEDULE_FIELD, value=schedule
        ) from None
    zone = validate_time_zone(time_zone, obj=obj, local_zone=local_zone)
    if zone is None or "TZ" in schedule:
        return parsed
    return parse_standard(schedule, zone=zone, local_zone=local_zone)

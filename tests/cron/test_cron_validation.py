"""`spec.schedule` and `spec.timeZone` are refused where the API server refuses them, with
errors naming the CronJob, the field and Kubernetes' reason.

Cases follow Kubernetes `pkg/apis/batch/validation/validation_test.go` (TestValidateCronJob:
"spec.schedule: Required value", "cannot use both timeZone field and TZ or CRON_TZ in
schedule", "timeZone must be nil or non-empty string", "timeZone must be an explicit time
zone ...", " Continent/Zone", "AMERICA/new_york"; TestValidateCronJobScheduleTZ: TZ in a
schedule on create and update) and the rules of `validateTimeZone`.
"""

from __future__ import annotations

from datetime import UTC
from zoneinfo import ZoneInfo

import pytest

from colo.core.errors import InvalidInput
from colo.cron import (
    EverySchedule,
    SpecSchedule,
    cronjob_ref,
    load_location,
    parse_cronjob_schedule,
    validate_time_zone,
)
from colo.cron.zones import UnknownTimeZone

OBJ = "cronjob default/mycronjob"


def refusal(schedule: str, time_zone: str | None = None, **kwargs: bool) -> InvalidInput:
    with pytest.raises(InvalidInput) as caught:
        parse_cronjob_schedule(schedule, time_zone, obj=OBJ, **kwargs)
    return caught.value


@pytest.mark.parametrize(
    ("schedule", "time_zone", "field", "message"),
    [
        ("", None, "spec.schedule", "required value"),
        ("61 * * * *", None, "spec.schedule", "unparseable schedule: end of range (61) above "
         "maximum (59): 61"),
        ("* * * * 7", None, "spec.schedule", "unparseable schedule: end of range (7) above "
         "maximum (6): 7"),
        ("@reboot", None, "spec.schedule",
         "unparseable schedule: unrecognized descriptor: @reboot"),
        ("0 0 0 * * *", None, "spec.schedule", "unparseable schedule: expected exactly 5 fields, "
         "found 6: [0 0 0 * * *]"),
        ("TZ=UTC 0 * * * *", None, "spec.schedule",
         "cannot use TZ or CRON_TZ in schedule, use timeZone field instead"),
        ("CRON_TZ=Europe/Rome 0 * * * *", None, "spec.schedule",
         "cannot use TZ or CRON_TZ in schedule, use timeZone field instead"),
        ("TZ=UTC", None, "spec.schedule",
         "cannot use TZ or CRON_TZ in schedule, use timeZone field instead"),
        ("0 * * * *", "", "spec.timeZone", "timeZone must be nil or non-empty string"),
        ("0 * * * *", "Local", "spec.timeZone",
         "timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones"),
        ("0 * * * *", "LOCAL", "spec.timeZone",
         "timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones"),
        ("0 * * * *", " Continent/Zone", "spec.timeZone", "unknown time zone  Continent/Zone"),
        ("0 * * * *", "Continent/Zone ", "spec.timeZone", "unknown time zone Continent/Zone "),
        ("0 * * * *", "Continent/InvalidZone", "spec.timeZone",
         "unknown time zone Continent/InvalidZone"),
        ("0 * * * *", "AMERICA/new_york", "spec.timeZone", "unknown time zone AMERICA/new_york"),
        ("0 * * * *", "America/../Europe/Berlin", "spec.timeZone",
         "unknown time zone America/../Europe/Berlin"),
        ("0 * * * *", "/etc/localtime", "spec.timeZone", "unknown time zone /etc/localtime"),
        ("0 * * * *", "Etc/-5", "spec.timeZone", "unknown time zone Etc/-5"),
        ("0 * * * *", "America/Argentina_Buenos_Aires", "spec.timeZone",
         "unknown time zone America/Argentina_Buenos_Aires"),  # a part over 14 characters
        ("0 * * * *", "America", "spec.timeZone", "unknown time zone America"),  # a folder
        ("0 * * * *", "zone.tab", "spec.timeZone", "unknown time zone zone.tab"),  # not a zone
    ],
)  # fmt: skip
def test_the_api_server_refuses_with_kubernetes_reason(
    schedule: str, time_zone: str | None, field: str, message: str
) -> None:
    error = refusal(schedule, time_zone)
    assert error.obj == OBJ
    assert error.field == field
    assert error.message == message
    assert str(error).startswith(f"{OBJ}: field {field}: {message}")


def test_the_schedules_error_comes_before_the_zones() -> None:
    assert refusal("61 * * * *", "Mars/Base").field == "spec.schedule"


def test_an_update_may_keep_a_tz_schedule_but_not_with_a_time_zone() -> None:
    kept = parse_cronjob_schedule("TZ=Europe/Rome 0 * * * *", tz_in_schedule_allowed=True)
    assert str(kept.zone) == "Europe/Rome"
    error = refusal("TZ=UTC 0 * * * *", "UTC", tz_in_schedule_allowed=True)
    assert error.message == "cannot use both timeZone field and TZ or CRON_TZ in schedule"


@pytest.mark.parametrize(
    "time_zone",
    ["UTC", "Etc/UTC", "Europe/Berlin", "America/New_York", "Etc/GMT+5", "EST5EDT", "US/Eastern"],
)
def test_real_iana_zones_are_accepted(time_zone: str) -> None:
    schedule = parse_cronjob_schedule("0 9 * * *", time_zone, obj=OBJ)
    assert isinstance(schedule, SpecSchedule)
    expected = UTC if time_zone == "UTC" else ZoneInfo(time_zone)
    assert schedule.zone == expected


def test_without_a_time_zone_the_schedule_runs_in_the_controllers_zone() -> None:
    assert parse_cronjob_schedule("0 9 * * *").zone is UTC
    tokyo = ZoneInfo("Asia/Tokyo")
    assert parse_cronjob_schedule("0 9 * * *", local_zone=tokyo).zone is tokyo
    assert parse_cronjob_schedule("@every 1h", "Europe/Berlin").zone == ZoneInfo("Europe/Berlin")
    assert isinstance(parse_cronjob_schedule("@every 1h"), EverySchedule)


def test_validate_time_zone_returns_the_zone_or_none_when_unset() -> None:
    assert validate_time_zone(None) is None
    assert validate_time_zone("Europe/Berlin") == ZoneInfo("Europe/Berlin")


def test_the_controller_loads_zones_as_go_does() -> None:
    tokyo = ZoneInfo("Asia/Tokyo")
    assert load_location("") is UTC
    assert load_location("UTC") is UTC
    assert load_location("Local", local_zone=tokyo) is tokyo
    with pytest.raises(UnknownTimeZone, match=r"^unknown time zone Mars/Base$"):
        load_location("Mars/Base")
    with pytest.raises(UnknownTimeZone, match=r"^time: invalid location name$"):
        load_location("../etc/passwd")


def test_errors_name_the_cronjob_as_cronjob_namespace_slash_name() -> None:
    assert cronjob_ref("default", "backup") == "cronjob default/backup"
    assert cronjob_ref(None, "backup") == "cronjob backup"
    assert cronjob_ref("default", None) is None
    error = refusal("61 * * * *")
    assert str(error) == (
        "cronjob default/mycronjob: field spec.schedule: unparseable schedule: end of range "
        "(61) above maximum (59): 61 (got '61 * * * *')"
    )

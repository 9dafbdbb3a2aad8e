"""`spec.timeZone`: which names Kubernetes accepts, and how the controller loads them.

Two rules, from two places in Kubernetes:

* The API server (`pkg/apis/batch/validation/validation.go`, `validateTimeZone`) rejects
  an empty name ("timeZone must be nil or non-empty string"); a name with a `/`-separated
  part that is `.` or `..`, starts with `-`, or is not 1–14 of `A-Za-z.-_0-9+` ("unknown
  time zone X", after the IANA naming rules); `Local` in any case; and a name Go's
  `time.LoadLocation` cannot load ("unknown time zone X").
* The controller loads the zone with `time.LoadLocation` (`load_location` here): `""` and
  `UTC` are UTC, `Local` is the controller's own zone, anything else comes from the IANA
  database — here through `zoneinfo` (the system's database, else the `tzdata` package, as
  Go uses the system's, else its embedded copy). Reading that database is the one thing this
  engine reads; it is reference data, cached by `zoneinfo`, like an import.

Without `spec.timeZone` a CronJob runs in kube-controller-manager's local zone: UTC unless
its `TZ` is set. colo's callers pass that zone as `local_zone` (default UTC).
"""

from __future__ import annotations

import re
from datetime import UTC, tzinfo
from zoneinfo import ZoneInfo

from colo.core.errors import InvalidInput

TIME_ZONE_FIELD = "spec.timeZone"
#: validation.go's `validTimeZoneCharacters`, applied to each `/`-separated part.
_PART = re.compile(r"[A-Za-z.\-_0-9+]{1,14}")


class UnknownTimeZone(ValueError):
    """Go's `time.LoadLocation` failed; `str()` is Go's message."""


def load_location(name: str, *, local_zone: tzinfo = UTC) -> tzinfo:
    """Go's `time.LoadLocation(name)`, with `local_zone` standing for Go's `time.Local`."""
    if name in ("", "UTC"):
        return UTC
    if name == "Local":
        return local_zone
    if ".." in name or name[0] in "/\\":
        raise UnknownTimeZone("time: invalid location name")
    try:
        return ZoneInfo(name)
    except (KeyError, ValueError, OSError):
        raise UnknownTimeZone(f"unknown time zone {name}") from None


def validate_time_zone(
    time_zone: str | None, *, obj: str | None = None, local_zone: tzinfo = UTC
) -> tzinfo | None:
    """The zone `spec.timeZone` names, validated as the API server does; None when unset.

    Raises InvalidInput naming `obj` and `spec.timeZone` with Kubernetes' reason.
    """
    if time_zone is None:
        return None
    if time_zone == "":
        raise InvalidInput(
            "timeZone must be nil or non-empty string", obj=obj, field=TIME_ZONE_FIELD, value=""
        )
    for part in time_zone.split("/"):
        if part in (".", "..") or part.startswith("-") or not _PART.fullmatch(part):
            raise InvalidInput(
                f"unknown time zone {time_zone}", obj=obj, field=TIME_ZONE_FIELD, value=time_zone
            )
    if time_zone.lower() == "local":
        raise InvalidInput(
            "timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones",
            obj=obj,
            field=TIME_ZONE_FIELD,
            value=time_zone,
        )
    try:
        return load_location(time_zone, local_zone=local_zone)
    except UnknownTimeZone as exc:
        raise InvalidInput(str(exc), obj=obj, field=TIME_ZONE_FIELD, value=time_zone) from None

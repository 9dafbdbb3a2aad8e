"""`colo cron next`: when a CronJob schedule fires, as Kubernetes would fire it.

colo cron next SCHEDULE [--time-zone TZ] [--after RFC3339] [--count 5] [--json]

Prints the next fire times after `--after` (default: now), one RFC 3339 time with its
offset per line, or one JSON list with `--json`. The schedule and zone are validated as
the API server validates `spec.schedule` and `spec.timeZone`; what it rejects exits 2 with
Kubernetes' reason. Without `--time-zone` the schedule runs in UTC, the zone of
kube-controller-manager unless its `TZ` says otherwise.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from typing import Any

from colo.cli.args import whole_number


def rfc3339_time(text: str) -> datetime:
    """An RFC 3339 time with an offset or `Z`, e.g. 2024-03-10T01:30:00-05:00."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        moment = None
    if moment is None or moment.utcoffset() is None:
        raise argparse.ArgumentTypeError(
            f"expected an RFC 3339 time with an offset like 2024-03-10T01:30:00Z or "
            f"2024-03-10T01:30:00-05:00, got {text!r}"
        )
    return moment


def add_parser(commands: Any) -> None:
    cron = commands.add_parser("cron", help="CronJob schedules as Kubernetes runs them")
    sub = cron.add_subparsers(dest="cron_command", metavar="COMMAND")
    sub.required = True
    nxt = sub.add_parser(
        "next",
        help="print when a CronJob schedule fires next",
        description="Print the next fire times of a CronJob schedule, as Kubernetes' "
        "CronJob controller (robfig/cron v3) computes them.",
    )
    nxt.add_argument("schedule", metavar="SCHEDULE", help='spec.schedule, e.g. "*/15 * * * *"')
    nxt.add_argument(
        "--time-zone", default=None, metavar="TZ",
        help="spec.timeZone, an IANA zone like Europe/Berlin (default: UTC, as "
        "kube-controller-manager without TZ)",
    )  # fmt: skip
    nxt.add_argument(
        "--after", type=rfc3339_time, default=None, metavar="RFC3339",
        help="list fire times after this time (default: now)",
    )  # fmt: skip
    nxt.add_argument(
        "--count", type=whole_number(1), default=5, metavar="N",
        help="how many fire times (default: 5)",
    )  # fmt: skip
    nxt.add_argument("--json", action="store_true", help="print one JSON list of strings")


def run_cron(args: argparse.Namespace) -> int:
    from itertools import islice

    from colo.cron import parse_cronjob_schedule

    schedule = parse_cronjob_schedule(args.schedule, args.time_zone)
    after = args.after if args.after is not None else datetime.now(UTC)
    times = [moment.isoformat() for moment in islice(schedule.fire_times(after), args.count)]
    if args.json:
        print(json.dumps(times))
    else:
        for line in times:
            print(line)
    if len(times) < args.count:
        print(
            f"colo: note: {len(times)} of {args.count} fire times: robfig/cron, and so "
            "Kubernetes, finds no further one within five years",
            file=sys.stderr,
        )
    return 0

"""`colo cron next`: when a CronJob schedule fires, as Kubernetes would fire it;
`colo cron serve`: run colo-cron.

colo cron next SCHEDULE [--time-zone TZ] [--after RFC3339] [--count 5] [--json]
colo cron serve [--kubeconfig PATH] [--context NAME] [--lead 10s] [--status-delay 5s]
                [--scheduler-name colo-batch] [--no-manage-jobs] [--qps 500] [--burst 1000]
                [--write-concurrency 64] [--no-leader-elect] [--lease-namespace kube-system]
                [--lease-duration 15s] [--metrics-listen HOST:PORT] [-v]

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

from colo.cli.args import duration, host_port, lease_duration, positive_number, whole_number


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
    _add_serve(sub)


def _add_serve(sub: Any) -> None:
    serve = sub.add_parser(
        "serve",
        help="run colo-cron: fire CronJobs on the second (kube-controller-manager's CronJob "
        "controller must be off: --controllers=*,-cronjob-controller)",
    )
    serve.add_argument("--kubeconfig", default=None, help="kubeconfig file (default: kubectl's)")
    serve.add_argument("--context", default=None, help="kubeconfig context")
    serve.add_argument(
        "--lead", type=duration(allow_zero=True), default=10.0, metavar="DURATION",
        help="create each run's Job and pods this long before it is due (default: 10s)",
    )  # fmt: skip
    serve.add_argument(
        "--status-delay", type=duration(allow_zero=True), default=5.0, metavar="DURATION",
        help="write statuses no sooner than this after a run's time (default: 5s)",
    )  # fmt: skip
    serve.add_argument(
        "--scheduler-name", default="colo-batch",
        help="the scheduler of the pods colo-cron makes; it must honour colo.io/start-at "
        "(default: colo-batch)",
    )  # fmt: skip
    serve.add_argument(
        "--manage-jobs", action=argparse.BooleanOptionalAction, default=True,
        help="run the Jobs itself and make their pods ahead (default: on; off leaves every "
        "Job to kube-controller-manager's Job controller, created at its second)",
    )  # fmt: skip
    serve.add_argument(
        "--qps", type=positive_number("requests per second"), default=500.0,
        help="client-side API request rate (default: 500)",
    )  # fmt: skip
    serve.add_argument("--burst", type=whole_number(1), default=1000, help="default: 1000")
    serve.add_argument(
        "--write-concurrency", type=whole_number(1), default=64, metavar="N",
        help="API writes in flight at once; the rest of a wave's burst waits its turn, in "
        "order (default: 64)",
    )  # fmt: skip
    serve.add_argument(
        "--leader-elect", action=argparse.BooleanOptionalAction, default=True,
        help="run only while holding the Lease kube-system/colo-cron (default: on)",
    )  # fmt: skip
    serve.add_argument("--lease-namespace", default="kube-system", help="default: kube-system")
    serve.add_argument(
        "--lease-duration", type=lease_duration, default=15.0, metavar="DURATION",
        help="how long a silent leader's Lease holds; at least 3s (default: 15s)",
    )  # fmt: skip
    serve.add_argument(
        "--metrics-listen", default=None, type=host_port, metavar="HOST:PORT",
        help="serve Prometheus /metrics and /healthz here (default: off)",
    )  # fmt: skip
    serve.add_argument("-v", "--verbose", action="store_true", help="log every decision")


def run_serve(args: argparse.Namespace) -> int:
    import asyncio
    import logging

    from colo.apps.batch import default_identity
    from colo.apps.cron import CronServeOptions, serve
    from colo.cron.loop import CronOptions
    from colo.kube.config import load_config

    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    config = load_config(args.kubeconfig, context=args.context)
    options = CronServeOptions(
        cron=CronOptions(
            lead_s=args.lead, status_delay_s=args.status_delay,
            scheduler_name=args.scheduler_name, manage_jobs=args.manage_jobs,
        ),
        qps=args.qps, burst=args.burst, leader_elect=args.leader_elect,
        lease_namespace=args.lease_namespace, lease_duration_s=args.lease_duration,
        identity=default_identity(), metrics_listen=args.metrics_listen,
        write_concurrency=args.write_concurrency,
    )  # fmt: skip
    asyncio.run(serve(config, options))
    return 0


def run_cron(args: argparse.Namespace) -> int:
    if args.cron_command == "serve":
        return run_serve(args)
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

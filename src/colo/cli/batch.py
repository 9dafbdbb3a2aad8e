"""`colo batch serve`: run colo-batch (the composition root of that process).

colo batch serve [--kubeconfig PATH] [--context NAME]
                 [--coordinator HOST:PORT | --coordinator-listen HOST:PORT]
                 [--scheduler-name colo-batch] [--qps 500] [--burst 1000]
                 [--bind-concurrency 64] [--batch-delay 0.05] [--no-leader-elect]
                 [--lease-namespace kube-system] [--lease-duration 15s]
                 [--jobs-on-virtual-nodes prefer]
                 [--metrics-listen HOST:PORT]
                 [--sweep-silent-nodes DURATION [--heartbeat-namespace colo-system]]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
from typing import Any

from colo.cli.args import duration, host_port, lease_duration, positive_number, whole_number
from colo.sched.requirements import VIRTUAL_MODES


def add_parser(commands: Any) -> None:
    batch = commands.add_parser("batch", help="colo-batch, the batch scheduler")
    sub = batch.add_subparsers(dest="batch_command", metavar="COMMAND")
    sub.required = True
    serve = sub.add_parser(
        "serve",
        help="schedule pending pods whose schedulerName is colo-batch's, many per cycle",
    )
    serve.add_argument("--kubeconfig", default=None, help="kubeconfig file (default: kubectl's)")
    serve.add_argument("--context", default=None, help="kubeconfig context")
    serve.add_argument(
        "--coordinator",
        default=None,
        metavar="HOST:PORT",
        help="colo-coordinator to reserve at before binding (default: none; only safe when "
        "no other scheduler places pods on the same nodes)",
    )
    serve.add_argument(
        "--coordinator-listen",
        default=None,
        metavar="HOST:PORT",
        help="host colo-coordinator in this process (sharing its informers) and serve it "
        "to other schedulers on this gRPC address; colo-batch then reserves in-process",
    )
    serve.add_argument("--scheduler-name", default="colo-batch", help="default: colo-batch")
    serve.add_argument(
        "--qps", type=positive_number("requests per second"), default=500.0,
        help="client-side API request rate (default: 500)",
    )  # fmt: skip
    serve.add_argument("--burst", type=whole_number(1), default=1000, help="default: 1000")
    serve.add_argument(
        "--bind-concurrency", type=whole_number(1), default=64,
        help="bindings in flight at once (default: 64)",
    )  # fmt: skip
    serve.add_argument(
        "--batch-delay", type=positive_number("a number of seconds"), default=0.05,
        help="wait this long after a change so a wave of pods lands in one cycle (default: 0.05)",
    )  # fmt: skip
    serve.add_argument(
        "--leader-elect", action=argparse.BooleanOptionalAction, default=True,
        help="run only while holding the Lease (default: on)",
    )  # fmt: skip
    serve.add_argument("--lease-namespace", default="kube-system", help="default: kube-system")
    serve.add_argument(
        "--lease-duration", type=lease_duration, default=15.0, metavar="DURATION",
        help="how long a silent leader's Lease holds before a standby takes over; at least 3s "
        "(default: 15s)",
    )  # fmt: skip
    serve.add_argument(
        "--jobs-on-virtual-nodes", choices=VIRTUAL_MODES, default="prefer",
        help="where pods of Jobs (and so CronJobs) go by default (default: prefer)",
    )  # fmt: skip
    serve.add_argument(
        "--metrics-listen", default=None, type=host_port, metavar="HOST:PORT",
        help="serve Prometheus /metrics and /healthz here (default: off)",
    )  # fmt: skip
    serve.add_argument(
        "--sweep-silent-nodes", type=duration(), default=None, metavar="DURATION",
        help="while leading, zero the colo.io/batch-* of nodes whose colo-agent heartbeat "
        "has not moved for this long, e.g. 1m (default: off)",
    )  # fmt: skip
    serve.add_argument(
        "--heartbeat-namespace", default="colo-system",
        help="where the agents' heartbeat Leases are (default: colo-system)",
    )  # fmt: skip
    serve.add_argument("-v", "--verbose", action="store_true", help="log every cycle")


def run_batch(args: argparse.Namespace) -> int:
    from colo.core.gcpause import cyclic_gc_paused

    # What these load lives as long as the process: loaded with the cyclic collector
    # off and frozen out of its walks, as serve() does with the first listing.
    with cyclic_gc_paused(freeze=True):
        from colo.apps.batch import BatchOptions, default_identity, serve
        from colo.core.errors import InvalidInput
        from colo.kube.config import load_config
        from colo.sched.requirements import VirtualNodePolicy

    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if args.coordinator and args.coordinator_listen:
        raise InvalidInput(
            "give one of --coordinator (use a coordinator elsewhere) and --coordinator-listen "
            "(host one here)",
            field="--coordinator",
        )
    config = load_config(args.kubeconfig, context=args.context)
    options = BatchOptions(
        scheduler_name=args.scheduler_name,
        coordinator=args.coordinator,
        coordinator_listen=args.coordinator_listen,
        metrics_listen=args.metrics_listen,
        qps=args.qps,
        burst=args.burst,
        bind_concurrency=args.bind_concurrency,
        batch_delay_s=args.batch_delay,
        leader_elect=args.leader_elect,
        lease_namespace=args.lease_namespace,
        lease_duration_s=args.lease_duration,
        identity=default_identity(),
        virtual=VirtualNodePolicy(jobs=args.jobs_on_virtual_nodes),
        sweep_silent_after_s=args.sweep_silent_nodes,
        heartbeat_namespace=args.heartbeat_namespace,
    )
    asyncio.run(serve(config, options))
    return 0

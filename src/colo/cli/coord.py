"""`colo coord serve`: the flags of colo-coordinator (`colo.apps.coordinator.serve` runs it).

colo coord serve [--kubeconfig PATH] [--context NAME] [--listen 127.0.0.1:7070] [--ttl 30]
                 [--metrics-listen HOST:PORT]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
from typing import Any

from colo.cli.args import host_port, positive_number


def add_parser(commands: Any) -> None:
    coord = commands.add_parser("coord", help="colo-coordinator, the shared-state coordinator")
    sub = coord.add_subparsers(dest="coord_command", metavar="COMMAND")
    sub.required = True
    serve = sub.add_parser(
        "serve", help="serve reservations over gRPC, kept in step with the API server"
    )
    serve.add_argument("--kubeconfig", default=None, help="kubeconfig file (default: kubectl's)")
    serve.add_argument("--context", default=None, help="kubeconfig context")
    serve.add_argument(
        "--listen", default="127.0.0.1:7070", metavar="HOST:PORT",
        help="gRPC address (default: 127.0.0.1:7070; port 0 picks a free one)",
    )  # fmt: skip
    serve.add_argument(
        "--ttl", type=positive_number("a number of seconds"), default=30.0,
        help="how long a reservation lives unless its pod is seen bound (default: 30)",
    )  # fmt: skip
    serve.add_argument(
        "--metrics-listen", default=None, type=host_port, metavar="HOST:PORT",
        help="serve Prometheus /metrics and /healthz here (default: off)",
    )  # fmt: skip


def run_coord(args: argparse.Namespace) -> int:
    from colo.apps.coordinator import CoordOptions, serve
    from colo.kube.config import load_config

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    config = load_config(args.kubeconfig, context=args.context)
    options = CoordOptions(listen=args.listen, ttl_s=args.ttl, metrics_listen=args.metrics_listen)
    asyncio.run(serve(config, options))
    return 0

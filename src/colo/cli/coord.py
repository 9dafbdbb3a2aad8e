"""`colo coord serve`: run colo-coordinator (the composition root of that process).

colo coord serve [--kubeconfig PATH] [--context NAME] [--listen 127.0.0.1:7070] [--ttl 30]
                 [--metrics-listen HOST:PORT]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
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
    from colo.apps.coordinator import CoordinatorApp
    from colo.apps.metrics import LedgerCollector, registry_of, start_metrics
    from colo.core.errors import InvalidInput
    from colo.kube.config import load_config
    from colo.kube.transport import Transport

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    config = load_config(args.kubeconfig, context=args.context)

    async def serve() -> None:
        async with Transport.from_config(config, user_agent="colo-coordinator") as t:
            app = CoordinatorApp(t, listen=args.listen, ttl_s=args.ttl)
            metrics = None
            if args.metrics_listen:
                try:
                    metrics, _ = await start_metrics(
                        registry_of(LedgerCollector(app.ledger)), args.metrics_listen
                    )
                except OSError as e:
                    raise InvalidInput(
                        f"cannot listen there: {e.strerror or e}", obj="colo-coordinator",
                        field="--metrics-listen", value=args.metrics_listen,
                    ) from None  # fmt: skip
            try:
                port = await app.start()
                print(f"colo-coordinator serving gRPC on port {port}", file=sys.stderr, flush=True)
                await app.wait()
            finally:
                await app.stop()
                if metrics is not None:
                    await metrics.cleanup()

    asyncio.run(serve())
    return 0

"""`colo extender serve`: the flags of colo-extender (`colo.apps.extender.serve` runs it).

colo extender serve --coordinator HOST:PORT [--host 127.0.0.1] [--port 8888]
                    [--kubeconfig PATH] [--context NAME] [--qps 200] [--burst 400]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
from typing import Any

from colo.cli.args import host_port, port_number, positive_number, whole_number


def add_parser(commands: Any) -> None:
    ext = commands.add_parser(
        "extender", help="the kube-scheduler extender (joins the coordinator)"
    )
    sub = ext.add_subparsers(dest="extender_command", metavar="COMMAND")
    sub.required = True
    serve = sub.add_parser(
        "serve",
        help="serve kube-scheduler's filter and bind verbs over HTTP",
        description="Serve kube-scheduler's extender filter and bind verbs over HTTP: "
        "filter drops nodes whose room colo-coordinator has given away, bind reserves "
        "at the coordinator before binding (docs/extender.md).",
    )
    serve.add_argument(
        "--coordinator", required=True, type=host_port, metavar="HOST:PORT",
        help="colo-coordinator's gRPC address",
    )  # fmt: skip
    serve.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)"
    )
    serve.add_argument(
        "--port", type=port_number, default=8888, help="port (default: 8888; 0 picks one)"
    )
    serve.add_argument("--kubeconfig", default=None, help="kubeconfig file (default: kubectl's)")
    serve.add_argument("--context", default=None, help="kubeconfig context")
    serve.add_argument(
        "--qps", type=positive_number("requests per second"), default=200.0,
        help="client-side API request rate for bindings (default: 200)",
    )  # fmt: skip
    serve.add_argument("--burst", type=whole_number(1), default=400, help="default: 400")


def run_extender(args: argparse.Namespace) -> int:
    from colo.apps.extender import ExtenderOptions, serve
    from colo.kube.config import load_config

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    config = load_config(args.kubeconfig, context=args.context)
    options = ExtenderOptions(
        coordinator=args.coordinator, host=args.host, port=args.port, qps=args.qps, burst=args.burst
    )
    asyncio.run(serve(config, options))
    return 0

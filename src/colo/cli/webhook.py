"""`colo webhook serve`: the flags of colo-webhook (`colo.apps.webhook.serve` runs it).

colo webhook serve --cert FILE --key FILE [--host 127.0.0.1] [--port 9443]
                   [--scheduler-name colo-batch]
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
from typing import Any

from colo.cli.args import whole_number


def add_parser(commands: Any) -> None:
    webhook = commands.add_parser("webhook", help="the mutating admission webhook")
    sub = webhook.add_subparsers(dest="webhook_command", metavar="COMMAND")
    sub.required = True
    serve = sub.add_parser("serve", help="serve AdmissionReview requests over HTTPS")
    serve.add_argument("--cert", type=Path, required=True, help="PEM certificate (chain)")
    serve.add_argument("--key", type=Path, required=True, help="PEM private key")
    serve.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)"
    )
    serve.add_argument("--port", type=whole_number(1), default=9443, help="port (default: 9443)")
    serve.add_argument(
        "--scheduler-name",
        default="colo-batch",
        help="schedulerName given to offline pods (default: colo-batch)",
    )


def run_webhook(args: argparse.Namespace) -> int:
    from colo.apps.webhook import WebhookServerOptions, serve
    from colo.webhook.mutate import WebhookOptions

    options = WebhookServerOptions(
        cert=args.cert,
        key=args.key,
        host=args.host,
        port=args.port,
        mutate=WebhookOptions(scheduler_name=args.scheduler_name),
    )
    asyncio.run(serve(options))
    return 0

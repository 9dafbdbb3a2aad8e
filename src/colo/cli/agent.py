"""`colo agent serve`: run colo-agent on one node (reporting; protection comes later).

colo agent serve --node NAME [--kubeconfig PATH] [--context NAME] [--interval 5s]
                 [--cgroup-root /sys/fs/cgroup] [--kubelet-cgroup-root /]
                 [--metrics-listen HOST:PORT] [--safety-margin 0.1] [--threshold 0.05]
                 [--cpu-policy usage] [--memory-policy usage] [--min-history 30m]
                 [--horizon 10m] [--min-rises 30] [--heartbeat-namespace colo-system]
                 [--qps 5] [--burst 10] [-v]

This module only parses flags; `colo.apps.agent.serve` is the process.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
from typing import Any

from colo.cli.args import duration, fraction, host_port, positive_number, whole_number

POLICIES = ("usage", "request", "max-usage-request")


def add_parser(commands: Any) -> None:
    agent = commands.add_parser("agent", help="colo-agent, the node agent")
    sub = agent.add_subparsers(dest="agent_command", metavar="COMMAND")
    sub.required = True
    serve = sub.add_parser(
        "serve",
        help="report the node's reclaimable batch resources (colo.io/batch-*)",
        description="Measure the node's online pods from its cgroups, predict their peak, "
        "and publish what offline work may use as colo.io/batch-cpu and colo.io/batch-memory "
        "in the Node's status, with a heartbeat Lease carrying the explanation "
        "(docs/agent.md).",
    )
    serve.add_argument(
        "--node", default=os.environ.get("NODE_NAME"),
        help="the node this agent runs on (default: $NODE_NAME)",
    )  # fmt: skip
    serve.add_argument("--kubeconfig", default=None, help="kubeconfig file (default: kubectl's)")
    serve.add_argument("--context", default=None, help="kubeconfig context")
    serve.add_argument(
        "--interval", type=duration(), default=5.0,
        help="how often to measure and report, e.g. 5s (default: 5s)",
    )  # fmt: skip
    serve.add_argument(
        "--cgroup-root", default="/sys/fs/cgroup",
        help="where the cgroup filesystem is mounted (default: /sys/fs/cgroup)",
    )  # fmt: skip
    serve.add_argument(
        "--kubelet-cgroup-root", default="/",
        help="the kubelet's --cgroup-root: the cgroup holding kubepods (default: /)",
    )  # fmt: skip
    serve.add_argument(
        "--metrics-listen", default=None, type=host_port, metavar="HOST:PORT",
        help="serve Prometheus /metrics and /healthz here (default: off)",
    )  # fmt: skip
    serve.add_argument(
        "--safety-margin", type=fraction, default=0.10,
        help="share of the node's capacity never offered (default: 0.1)",
    )  # fmt: skip
    serve.add_argument(
        "--threshold", type=fraction, default=0.05,
        help="changes below this share of capacity are not published (default: 0.05)",
    )  # fmt: skip
    serve.add_argument(
        "--cpu-policy", choices=POLICIES, default="usage",
        help="what an online pod holds back of cpu (default: usage, its predicted peak)",
    )  # fmt: skip
    serve.add_argument(
        "--memory-policy", choices=POLICIES, default="usage",
        help="what an online pod holds back of memory (default: usage)",
    )  # fmt: skip
    serve.add_argument(
        "--min-history", type=duration(allow_zero=True), default=1800.0,
        help="pods measured for less count their request (default: 30m)",
    )  # fmt: skip
    serve.add_argument(
        "--horizon", type=duration(), default=600.0,
        help="how far ahead a predicted peak must hold (default: 10m)",
    )  # fmt: skip
    serve.add_argument(
        "--min-rises", type=whole_number(0), default=30,
        help="rises a pod's estimator must see before its prediction is used (default: 30)",
    )  # fmt: skip
    serve.add_argument(
        "--heartbeat-namespace", default="colo-system",
        help="namespace of the heartbeat Leases (default: colo-system)",
    )  # fmt: skip
    serve.add_argument(
        "--qps", type=positive_number("requests per second"), default=5.0,
        help="client-side API request rate (default: 5)",
    )  # fmt: skip
    serve.add_argument("--burst", type=whole_number(1), default=10, help="default: 10")
    serve.add_argument("-v", "--verbose", action="store_true", help="log every round")


def run_agent(args: argparse.Namespace) -> int:
    from colo.apps.agent import AgentOptions, serve
    from colo.core.errors import InvalidInput
    from colo.kube.config import load_config
    from colo.predict.reclaim import ReclaimPolicy

    if not args.node:
        raise InvalidInput("required (or set $NODE_NAME)", obj="colo agent serve", field="--node")
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    config = load_config(args.kubeconfig, context=args.context)
    options = AgentOptions(
        node=args.node,
        interval_s=args.interval,
        cgroup_root=args.cgroup_root,
        kubelet_cgroup_root=args.kubelet_cgroup_root,
        metrics_listen=args.metrics_listen,
        safety_margin=args.safety_margin,
        cpu_policy=ReclaimPolicy(args.cpu_policy),
        memory_policy=ReclaimPolicy(args.memory_policy),
        min_history_s=args.min_history,
        threshold=args.threshold,
        horizon_s=args.horizon,
        min_rises=args.min_rises,
        heartbeat_namespace=args.heartbeat_namespace,
        qps=args.qps,
        burst=args.burst,
    )
    asyncio.run(serve(config, options))
    return 0

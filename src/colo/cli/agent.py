"""`colo agent serve` / `colo agent protect`: run colo-agent on one node.

colo agent serve --node NAME [--kubeconfig PATH] [--context NAME] [--interval 5s]
                 [--cgroup-root /sys/fs/cgroup] [--kubelet-cgroup-root /]
                 [--metrics-listen HOST:PORT] [--safety-margin 0.1] [--threshold 0.05]
                 [--cpu-policy usage] [--memory-policy usage] [--min-history 30m]
                 [--horizon 10m] [--min-rises 30] [--heartbeat-namespace colo-system]
                 [--qps 5] [--burst 10] [--no-protect] [--protect-interval 1s]
                 [--target-util 0.9] [--box-period 10ms] [--probe-timeout 500ms]
                 [--no-cpusets] [-v]
colo agent replay [--kubeconfig PATH] [--context NAME] [--trace DIR] [--nodes SELECTOR|all]
                 [--speed 1] [--seed 0] [--warmup 30m] [--interval 5s]
                 [--metrics-listen HOST:PORT] [--safety-margin 0.1] [--threshold 0.05]
                 [--heartbeat-namespace colo-system] [--qps 50] [--burst 100] [...] [-v]
colo agent protect [--node NAME] [--interval 1s] [--target-util 0.9]
                 [--box-period 10ms] [--cgroup-root /sys/fs/cgroup] [--kubelet-cgroup-root /]
                 [--metrics-listen HOST:PORT] [--no-cpusets] [-v]

This module only parses flags; `colo.apps.agent.serve` and `protect_local`, and
`colo.apps.replay.serve` (`replay`: fake nodes, usage from traces) are the processes.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import logging
import os
import socket
from typing import TYPE_CHECKING, Any

from colo.cli.args import duration, fraction, host_port, positive_number, whole_number

if TYPE_CHECKING:
    from colo.apps.agent import AgentOptions

POLICIES = ("usage", "request", "max-usage-request")
#: colo.agent.box.BoxOptions.period_us, kept here so `--help` imports no engine
BOX_PERIOD_S = 0.010


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
        "--cgroup-root", default="/sys/fs/cgroup",
        help="where the cgroup filesystem is mounted (default: /sys/fs/cgroup)",
    )  # fmt: skip
    serve.add_argument(
        "--kubelet-cgroup-root", default="/",
        help="the kubelet's --cgroup-root: the cgroup holding kubepods (default: /)",
    )  # fmt: skip
    _reporting_flags(serve, qps=5.0, burst=10)
    _protection_flags(serve, interval="--protect-interval")
    serve.add_argument(
        "--no-protect",
        action="store_true",
        help="report only: no offline box, cpu tiers, guard or evictions",
    )
    serve.add_argument(
        "--probe-timeout",
        type=duration(),
        default=0.5,
        help="how long an SLO probe may take before it counts as unknown (default: 500ms)",
    )
    serve.add_argument("-v", "--verbose", action="store_true", help="log every round")
    local = sub.add_parser(
        "protect",
        help="protect the node's online pods without an API server (pods from cgroups)",
        description="Run the protection loop alone: the offline box, cpu tiers and the "
        "guard over the pods found in the kubelet's cgroup tree (each by its Kubernetes QoS "
        "class), with no API server: nothing is published and evictions are only logged. "
        "For nodes and benchmarks without a kubelet (docs/agent.md).",
    )
    local.add_argument(
        "--node",
        default=os.environ.get("NODE_NAME") or socket.gethostname(),
        help="the node's name in logs (default: $NODE_NAME or the host name)",
    )
    local.add_argument(
        "--cgroup-root",
        default="/sys/fs/cgroup",
        help="where the cgroup filesystem is mounted (default: /sys/fs/cgroup)",
    )
    local.add_argument(
        "--kubelet-cgroup-root",
        default="/",
        help="the kubelet's --cgroup-root: the cgroup holding kubepods (default: /)",
    )
    local.add_argument(
        "--metrics-listen",
        default=None,
        type=host_port,
        metavar="HOST:PORT",
        help="serve Prometheus /metrics and /healthz here (default: off)",
    )
    local.add_argument(
        "--pod",
        action="append",
        default=[],
        metavar="UID=TIER[:CPUS]",
        help="what the cgroup tree cannot tell of a pod: its tier (LSE, LSR, LS, BE, as "
        "the colo.io/qos label would say) and, for LSE and LSR, its cpus; repeatable",
    )
    _protection_flags(local, interval="--interval")
    local.add_argument("-v", "--verbose", action="store_true", help="log every round")
    _add_replay(sub)


def _add_replay(sub: Any) -> None:
    replay = sub.add_parser(
        "replay",
        help="report batch resources for fake (kwok) nodes, their usage replayed from traces",
        description="colo-agent's reporting loop for every selected node at once, in one "
        "process: each node's online usage is a trace machine's (alibaba2018), replayed, "
        "instead of its cgroups'. For clusters of fake nodes, such as colo dev cluster "
        "(docs/dev-cluster.md).",
    )
    replay.add_argument("--kubeconfig", default=None, help="kubeconfig file (default: kubectl's)")
    replay.add_argument("--context", default=None, help="kubeconfig context")
    replay.add_argument(
        "--trace", default=None, metavar="DIR",
        help="traces directory (default: $COLO_TRACES or shared/traces beside the checkout)",
    )  # fmt: skip
    replay.add_argument(
        "--nodes", default="all", metavar="SELECTOR",
        help="label selector of the nodes to replay, or all (virtual nodes never are; "
        "default: all)",
    )  # fmt: skip
    replay.add_argument(
        "--speed", type=positive_number("a speed-up factor"), default=1.0,
        help="trace seconds replayed per second (default: 1)",
    )  # fmt: skip
    replay.add_argument(
        "--seed", type=int, default=0,
        help="picks each node's machine and starting point (default: 0)",
    )  # fmt: skip
    replay.add_argument(
        "--warmup", type=duration(allow_zero=True), default=1800.0,
        help="trace history each node is measured over before its first report "
        "(default: 30m, the default --min-history)",
    )  # fmt: skip
    _reporting_flags(replay, qps=50.0, burst=100)
    replay.add_argument("-v", "--verbose", action="store_true", help="log every round")


def _reporting_flags(p: argparse.ArgumentParser, *, qps: float, burst: int) -> None:
    """The reporting loop's flags, the same for `serve` and `replay`."""
    p.add_argument(
        "--interval", type=duration(), default=5.0,
        help="how often to measure and report, e.g. 5s (default: 5s)",
    )  # fmt: skip
    p.add_argument(
        "--metrics-listen", default=None, type=host_port, metavar="HOST:PORT",
        help="serve Prometheus /metrics and /healthz here (default: off)",
    )  # fmt: skip
    p.add_argument(
        "--safety-margin", type=fraction, default=0.10,
        help="share of the node's capacity never offered (default: 0.1)",
    )  # fmt: skip
    p.add_argument(
        "--threshold", type=fraction, default=0.05,
        help="changes below this share of capacity are not published (default: 0.05)",
    )  # fmt: skip
    p.add_argument(
        "--cpu-policy", choices=POLICIES, default="usage",
        help="what an online pod holds back of cpu (default: usage, its predicted peak)",
    )  # fmt: skip
    p.add_argument(
        "--memory-policy", choices=POLICIES, default="usage",
        help="what an online pod holds back of memory (default: usage)",
    )  # fmt: skip
    p.add_argument(
        "--min-history", type=duration(allow_zero=True), default=1800.0,
        help="pods measured for less count their request (default: 30m)",
    )  # fmt: skip
    p.add_argument(
        "--horizon", type=duration(), default=600.0,
        help="how far ahead a predicted peak must hold (default: 10m)",
    )  # fmt: skip
    p.add_argument(
        "--min-rises", type=whole_number(0), default=30,
        help="rises a pod's estimator must see before its prediction is used (default: 30)",
    )  # fmt: skip
    p.add_argument(
        "--heartbeat-namespace", default="colo-system",
        help="namespace of the heartbeat Leases (default: colo-system)",
    )  # fmt: skip
    p.add_argument(
        "--qps", type=positive_number("requests per second"), default=qps,
        help=f"client-side API request rate (default: {qps:g})",
    )  # fmt: skip
    p.add_argument("--burst", type=whole_number(1), default=burst, help=f"default: {burst}")


def _share(text: str) -> float:
    """A fraction in (0, 1]."""
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0.0 < value <= 1.0:
        raise argparse.ArgumentTypeError(f"expected a fraction in (0, 1], got {text!r}")
    return value


def _box_period(text: str) -> float:
    """`--box-period`: a CFS period the kernel takes, 1 ms to 1 s."""
    value = duration()(text)
    if not 0.001 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"expected a duration from 1ms to 1s, got {text!r}")
    return value


def _protection_flags(p: argparse.ArgumentParser, *, interval: str) -> None:
    p.add_argument(
        interval,
        dest="protect_interval",
        type=duration(),
        default=1.0,
        help="how often to measure, size the offline box and step the guard (default: 1s)",
    )
    p.add_argument(
        "--target-util",
        type=_share,
        default=0.90,
        help="share of the node's cpu online, offline and system work may use together; "
        "the offline box gets the rest of it (default: 0.9)",
    )
    p.add_argument(
        "--box-period",
        type=_box_period,
        default=BOX_PERIOD_S,
        help="CFS period of the offline box's quota; shorter than the kubelet's 100ms so "
        "offline work comes in slices, not a block per period (docs/agent.md) "
        f"(default: {BOX_PERIOD_S * 1000:g}ms)",
    )
    p.add_argument(
        "--no-cpusets",
        action="store_true",
        help="write no cpusets by tier (the box's quota, idle class and memory only)",
    )


def run_protect(args: argparse.Namespace) -> int:
    from colo.apps.agent import LocalProtectOptions, protect_local
    from colo.apps.protect import LocalPod

    pods = dict(LocalPod.parse(text) for text in args.pod)
    _logging(args.verbose)
    options = LocalProtectOptions(
        node=args.node,
        interval_s=args.protect_interval,
        target_util=args.target_util,
        box_period_s=args.box_period,
        cgroup_root=args.cgroup_root,
        kubelet_cgroup_root=args.kubelet_cgroup_root,
        metrics_listen=args.metrics_listen,
        cpusets=not args.no_cpusets,
        pods=pods,
    )
    asyncio.run(protect_local(options))
    return 0


def _logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


def _reporting_options(args: argparse.Namespace, node: str) -> AgentOptions:
    from colo.apps.agent import AgentOptions
    from colo.predict.reclaim import ReclaimPolicy

    return AgentOptions(
        node=node,
        interval_s=args.interval,
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


def run_replay(args: argparse.Namespace) -> int:
    from colo.apps.replay import ReplayOptions, serve
    from colo.kube.config import load_config

    _logging(args.verbose)
    config = load_config(args.kubeconfig, context=args.context)
    options = ReplayOptions(
        agent=_reporting_options(args, node=""),
        traces=args.trace,
        nodes=args.nodes,
        speed=args.speed,
        seed=args.seed,
        warmup_s=args.warmup,
    )
    asyncio.run(serve(config, options))
    return 0


def run_agent(args: argparse.Namespace) -> int:
    if args.agent_command == "protect":
        return run_protect(args)
    if args.agent_command == "replay":
        return run_replay(args)
    from colo.apps.agent import serve
    from colo.core.errors import InvalidInput
    from colo.kube.config import load_config

    if not args.node:
        raise InvalidInput("required (or set $NODE_NAME)", obj="colo agent serve", field="--node")
    _logging(args.verbose)
    config = load_config(args.kubeconfig, context=args.context)
    options = dataclasses.replace(
        _reporting_options(args, node=args.node),
        cgroup_root=args.cgroup_root,
        kubelet_cgroup_root=args.kubelet_cgroup_root,
        protect=not args.no_protect,
        protect_interval_s=args.protect_interval,
        target_util=args.target_util,
        box_period_s=args.box_period,
        probe_timeout_s=args.probe_timeout,
        cpusets=not args.no_cpusets,
    )
    asyncio.run(serve(config, options))
    return 0

"""`colo dev cluster up|down|env`: a local control plane with kwok nodes (colo.devcluster).

    colo dev cluster up [--nodes N] [--virtual-nodes M] [--with-scheduler]
                        [--no-cronjob-controller] [--with-colo [--traces DIR]] [--dir DIR]
                        [--controller-qps Q] [--controller-burst B]
                        [--scheduler-qps Q] [--scheduler-burst B]
    colo dev cluster down [--dir DIR]
    colo dev cluster env [--dir DIR]      # eval "$(colo dev cluster env)"

Progress goes to stderr; `up`'s summary and `env`'s exports go to stdout.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from pathlib import Path
from typing import Any

from colo.cli.args import positive_number, whole_number
from colo.core.errors import InvalidInput


def _add_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--dir",
        type=Path,
        default=None,
        help="state directory: logs, kubeconfig, state.json (default: ~/.cache/colo/dev-cluster)",
    )


def add_parser(commands: Any) -> None:
    """Register `dev` on the top-level subparsers object."""
    dev = commands.add_parser(
        "dev",
        help="developer tools: a local cluster with fake nodes",
        description="Developer tools.",
    )
    dev_commands = dev.add_subparsers(dest="dev_command", metavar="COMMAND")
    dev_commands.required = True
    cluster = dev_commands.add_parser(
        "cluster",
        help="a local kube-apiserver, controllers and kwok fake nodes on 127.0.0.1",
        description=(
            "Run etcd, kube-apiserver, kube-controller-manager, optionally kube-scheduler, "
            "and kwok on 127.0.0.1 from the binaries of `make cluster-bins`."
        ),
    )
    actions = cluster.add_subparsers(dest="cluster_command", metavar="ACTION")
    actions.required = True

    up = actions.add_parser(
        "up",
        help="start a cluster and create fake nodes",
        description="Start a cluster in the background, create fake nodes, wait until Ready.",
    )
    up.add_argument(
        "--nodes", type=whole_number(0), default=10, help="standard kwok nodes (default: 10)"
    )
    up.add_argument(
        "--virtual-nodes",
        type=whole_number(0),
        default=0,
        help="virtual-kubelet-like nodes (default: 0)",
    )
    up.add_argument("--with-scheduler", action="store_true", help="also run kube-scheduler")
    up.add_argument(
        "--no-cronjob-controller",
        action="store_true",
        help="run kube-controller-manager without its CronJob controller",
    )
    up.add_argument(
        "--with-colo",
        action="store_true",
        help="also run colo: webhook (registered), coordinator, colo-batch, colo-cron and a "
        "replay agent publishing batch capacity from traces; implies --no-cronjob-controller",
    )
    up.add_argument(
        "--traces", type=Path, default=None, metavar="DIR",
        help="with --with-colo: the traces the replay agent replays (default: $COLO_TRACES "
        "or shared/traces beside the checkout)",
    )  # fmt: skip
    up.add_argument(
        "--controller-qps", type=positive_number(), default=20.0,
        help="kube-controller-manager client QPS (default: 20, the stock value)",
    )  # fmt: skip
    up.add_argument(
        "--controller-burst", type=whole_number(1), default=30,
        help="kube-controller-manager client burst (default: 30)",
    )  # fmt: skip
    up.add_argument(
        "--scheduler-qps", type=positive_number(), default=50.0,
        help="kube-scheduler client QPS (default: 50, the stock value)",
    )  # fmt: skip
    up.add_argument(
        "--scheduler-burst", type=whole_number(1), default=100,
        help="kube-scheduler client burst (default: 100)",
    )  # fmt: skip
    _add_dir(up)

    down = actions.add_parser(
        "down", help="stop the cluster", description="Stop every process of the cluster."
    )
    _add_dir(down)
    env = actions.add_parser(
        "env",
        help="print shell exports for the running cluster",
        description='Print KUBECONFIG and the server/token, for eval "$(colo dev cluster env)".',
    )
    _add_dir(env)


def run_dev(args: argparse.Namespace) -> int:
    if args.dev_command != "cluster":  # argparse only lets "cluster" through
        raise InvalidInput("unknown dev command", value=args.dev_command)
    action = args.cluster_command
    if action == "up":
        return _up(args)
    if action == "down":
        return _down(args)
    if action == "env":
        return _env(args)
    raise InvalidInput("unknown action", field="colo dev cluster", value=action)


def _dir_flag(args: argparse.Namespace) -> str:
    return "" if args.dir is None else f" --dir {shlex.quote(str(args.dir))}"


def _up(args: argparse.Namespace) -> int:
    from colo.devcluster import ClusterOptions, DevCluster
    from colo.devcluster.binaries import find_kubectl

    if args.traces is not None and not args.with_colo:
        raise InvalidInput("only with --with-colo", field="--traces", value=str(args.traces))
    began = time.monotonic()

    def progress(message: str) -> None:
        print(f"[{time.monotonic() - began:6.1f}s] {message}", file=sys.stderr, flush=True)

    cluster = DevCluster(args.dir, progress=progress)
    state = cluster.up(
        ClusterOptions(
            nodes=args.nodes,
            virtual_nodes=args.virtual_nodes,
            with_scheduler=args.with_scheduler,
            cronjob_controller=not args.no_cronjob_controller,
            with_colo=args.with_colo,
            traces=args.traces,
            controller_qps=args.controller_qps,
            controller_burst=args.controller_burst,
            scheduler_qps=args.scheduler_qps,
            scheduler_burst=args.scheduler_burst,
        )
    )
    print(
        f"dev cluster up in {time.monotonic() - began:.1f} s: {state.server}, "
        f"{state.nodes} standard + {state.virtual_nodes} virtual nodes Ready"
    )
    for record in state.processes:
        print(f"  {record.name:<24} pid {record.pid:<8} log {record.log}")
    if args.with_colo:
        from colo.devcluster.withcolo import endpoints

        print()
        print("colo (offline pods go to colo-batch; label a namespace colo.io/webhook=disabled")
        print("to keep colo-webhook out of it):")
        for name, where in endpoints(state.ports).items():
            print(f"  {name:<24} {'  '.join(where)}")
    print()
    print(f"  export KUBECONFIG={shlex.quote(state.kubeconfig)}")
    kubectl = find_kubectl()
    print(f"  {shlex.quote(str(kubectl)) if kubectl else 'kubectl'} get nodes")
    print()
    print(f"stop it with: colo dev cluster down{_dir_flag(args)}")
    return 0


def _down(args: argparse.Namespace) -> int:
    from colo.devcluster import DevCluster

    cluster = DevCluster(args.dir)
    stopped = cluster.down()
    if not stopped:
        print(f"no dev cluster running from {cluster.layout.root}")
        return 0
    names = ", ".join(f"{r.name} (pid {r.pid})" for r in stopped)
    print(f"stopped {names}; logs kept in {cluster.layout.log_dir}")
    return 0


def _env(args: argparse.Namespace) -> int:
    from colo.devcluster import DevCluster
    from colo.devcluster.binaries import find_kubectl

    state = DevCluster(args.dir).running()
    for name, value in state.env().items():
        print(f"export {name}={shlex.quote(value)}")
    kubectl = find_kubectl()
    if kubectl is not None:  # the matching kubectl first on PATH
        print(f'export PATH={shlex.quote(str(kubectl.parent))}:"$PATH"')
    return 0

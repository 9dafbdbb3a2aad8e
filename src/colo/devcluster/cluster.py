"""`DevCluster`: bring a local control plane with kwok nodes up, find it again, take it down.

`up` starts, in order, etcd → kube-apiserver → (kube-controller-manager, kube-scheduler,
kwok, started together), waits for each to be ready, then creates the fake nodes and waits
until they are Ready and schedulable. With `with_colo` it then starts colo's processes
(`colo.devcluster.withcolo`), waits until each is healthy, and registers colo-webhook
with the API server. It writes DIR/state.json after every process it
starts, so `down` from any other process can stop a cluster even if `up` itself died
half-way. If anything fails, `up` stops every process it started and raises; a component
failure is a `ComponentFailed` naming the component and quoting its log tail.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from colo.core.errors import ColoError
from colo.devcluster import components as comp
from colo.devcluster import withcolo as colo
from colo.devcluster.admission import NOT_DISABLED, register, wait_active, webhook_configuration
from colo.devcluster.apiclient import ApiClient, ApiError
from colo.devcluster.binaries import (
    APISERVER,
    CONTROLLER_MANAGER,
    ETCD,
    KWOK,
    SCHEDULER,
    Binaries,
    load_binaries,
)
from colo.devcluster.credentials import (
    ADMIN,
    new_token,
    write_kubeconfig,
    write_service_account_keys,
    write_serving_cert,
    write_token_file,
)
from colo.devcluster.errors import ClusterAlreadyRunning, ClusterNotRunning, ComponentFailed
from colo.devcluster.kwokconfig import render_kwok_config
from colo.devcluster.layout import Layout
from colo.devcluster.nodes import (
    STANDARD_PREFIX,
    VIRTUAL_PREFIX,
    create_nodes,
    fleet,
    node_name,
    wait_schedulable,
)
from colo.devcluster.options import ClusterOptions
from colo.devcluster.processes import (
    Probe,
    ProcessRecord,
    describe_exit,
    free_ports,
    is_running,
    log_tail,
    signal_group,
    start,
    stop,
    wait_ready,
)
from colo.devcluster.state import ClusterState

Progress = Callable[[str], None]


def ensure_namespace(client: ApiClient, name: str) -> None:
    """Create namespace `name` unless it exists."""
    try:
        client.post(
            "/api/v1/namespaces",
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}},
        )
    except ApiError as exc:
        if exc.status != 409:
            raise


class DevCluster:
    """One dev cluster, living in one state directory.

    Keyword-only collaborators: `manifest` overrides where binaries are found (see
    `binaries.load_binaries`); `progress` receives one-line status messages during `up`.
    """

    def __init__(
        self,
        directory: Path | str | None = None,
        *,
        manifest: Path | None = None,
        progress: Progress | None = None,
    ) -> None:
        self.layout = Layout.at(directory)
        self._manifest = manifest
        self._progress = progress or (lambda message: None)
        # Popen handles of processes this object started, so `down` can reap them.
        self._children: dict[int, subprocess.Popen[bytes]] = {}
        # `restart` and `add` may run in several threads at once (a supervisor restarting
        # two processes): their read-modify-write of the state file is serialised here.
        self._faults_lock = threading.Lock()

    # --- finding a cluster ----------------------------------------------------

    def state(self) -> ClusterState | None:
        """The recorded state, or None if there is none. Raises on an unreadable file."""
        try:
            raw = json.loads(self.layout.state_file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        try:
            return ClusterState.from_json(raw)
        except (KeyError, TypeError, ValueError) as exc:
            raise ColoError(
                f"{self.layout.state_file} is not a dev cluster state file ({exc}); "
                "remove it, and stop any leftover processes by hand"
            ) from None

    def running(self) -> ClusterState:
        """The state of a cluster whose processes all run and whose nodes were Ready.

        Raises `ClusterNotRunning` when none is, and `ColoError` naming the dead
        components (and their logs) when only some run.
        """
        state = self.state()
        if state is None:
            raise ClusterNotRunning(self.layout.root)
        dead = [p for p in state.processes if not is_running(p)]
        if len(dead) == len(state.processes):
            raise ClusterNotRunning(self.layout.root)
        if dead or not state.ready:
            problems = [f"{p.name} (pid {p.pid}) is not running; log: {p.log}" for p in dead]
            if not state.ready:
                problems.append("`up` has not finished (it is still running, or was killed)")
            raise ColoError(
                f"the dev cluster in {self.layout.root} is broken: {'; '.join(problems)}. "
                "Run colo dev cluster down, then up again."
            )
        return state

    # --- up -----------------------------------------------------------------

    def up(self, options: ClusterOptions | None = None) -> ClusterState:
        """Start a cluster; return its state once every node is Ready and schedulable."""
        options = options or ClusterOptions()
        options.validate()
        needed = [ETCD, APISERVER, CONTROLLER_MANAGER, KWOK]
        if options.with_scheduler:
            needed.append(SCHEDULER)
        binaries = load_binaries(needed, manifest=self._manifest)
        traces = None
        if options.with_colo:
            from colo.traces import TraceSet

            traces = TraceSet.locate(options.traces).root  # missing traces: a usage error
        self.layout.claim()
        with self.layout.locked():
            previous = self.state()
            if previous is not None:
                live = [p.pid for p in previous.processes if is_running(p)]
                if live:
                    raise ClusterAlreadyRunning(self.layout.root, live)
            self.layout.reset()
            return self._up(options, binaries, traces)

    def _up(self, options: ClusterOptions, binaries: Binaries, traces: Path | None) -> ClusterState:
        layout = self.layout
        began = time.monotonic()
        port_names = comp.PORT_NAMES + (colo.PORT_NAMES if options.with_colo else ())
        picked = free_ports(len(port_names))
        ports = {name: options.ports.get(name, port) for name, port in zip(
            port_names, picked, strict=True)}  # fmt: skip
        tokens = {ADMIN: new_token()}
        for client in (CONTROLLER_MANAGER, SCHEDULER, KWOK):
            tokens[client] = new_token()
        if options.with_colo:
            for client in colo.API_CLIENTS:
                tokens[client] = new_token()
        server = comp.server_url(ports)
        state = ClusterState(
            directory=str(layout.root),
            server=server,
            token=tokens[ADMIN],
            kubeconfig=str(layout.kubeconfig),
            ca_file=str(layout.ca_file),
            ports=ports,
            processes=[],
            nodes=options.nodes,
            virtual_nodes=options.virtual_nodes,
            versions=binaries.versions(),
            started_at=time.time(),
        )
        self._write_config(options, tokens, server)
        try:
            self._start_all(options, binaries, state)
            self._make_nodes(options, state)
            if options.with_colo:
                self._start_colo(options, state, traces)
        except BaseException as exc:
            self._progress("failed; stopping what was started")
            crashed = None if isinstance(exc, ComponentFailed) else self._first_crash(state)
            self._stop(state.processes)
            layout.state_file.unlink(missing_ok=True)
            if crashed is not None and isinstance(exc, Exception):
                # e.g. node creation failed because kube-apiserver died: name the culprit.
                raise crashed from exc
            raise
        state.ready = True
        state.timings_s["total"] = round(time.monotonic() - began, 2)
        state.save(layout.state_file)
        return state

    def _first_crash(self, state: ClusterState) -> ComponentFailed | None:
        """A `ComponentFailed` for the first started process that has exited, if any."""
        for record in state.processes:
            child = self._children.get(record.pid)
            code = child.poll() if child is not None else None
            if code is not None:
                log = Path(record.log)
                return ComponentFailed(
                    record.name, describe_exit(code), log=log, log_tail=log_tail(log)
                )
        return None

    def _write_config(self, options: ClusterOptions, tokens: dict[str, str], server: str) -> None:
        layout = self.layout
        write_service_account_keys(layout.config("sa.key"), layout.config("sa.pub"))
        write_token_file(layout.config("tokens.csv"), tokens)
        for user, token in tokens.items():
            path = layout.kubeconfig if user == ADMIN else layout.config(f"{user}.kubeconfig")
            write_kubeconfig(path, server=server, token=token, ca_file=layout.ca_file, user=user)
        layout.config("kube-scheduler.yaml").write_text(
            comp.render_scheduler_config(
                layout, qps=options.scheduler_qps, burst=options.scheduler_burst
            ),
            encoding="utf-8",
        )
        layout.config("kwok.yaml").write_text(render_kwok_config(), encoding="utf-8")

    def _start_all(self, options: ClusterOptions, binaries: Binaries, state: ClusterState) -> None:
        layout, ports = self.layout, state.ports
        argv = {
            ETCD: comp.etcd_argv(binaries[ETCD].path, layout, ports),
            APISERVER: comp.apiserver_argv(binaries[APISERVER].path, layout, ports),
            CONTROLLER_MANAGER: comp.controller_manager_argv(
                binaries[CONTROLLER_MANAGER].path,
                layout,
                ports,
                cronjob_controller=options.runs_cronjob_controller,
                qps=options.controller_qps,
                burst=options.controller_burst,
            ),
            KWOK: comp.kwok_argv(binaries[KWOK].path, layout, ports),
        }
        if options.with_scheduler:
            argv[SCHEDULER] = comp.scheduler_argv(binaries[SCHEDULER].path, layout, ports)
        for name, extra in options.extra_args.items():
            if name in argv:
                argv[name] = [*argv[name], *extra]

        def launch(name: str) -> subprocess.Popen[bytes]:
            return self._launch(name, argv[name], state)

        def ready(name: str, popen: subprocess.Popen[bytes]) -> None:
            probe = comp.readiness_probe(name, ports, admin_token=state.token)
            self._ready(name, popen, probe, state, options)

        for name in (ETCD, APISERVER):
            self._progress(f"starting {name}")
            ready(name, launch(name))
        rest = [n for n in (CONTROLLER_MANAGER, SCHEDULER, KWOK) if n in argv]
        self._progress(f"starting {', '.join(rest)}")
        launched = [(name, launch(name)) for name in rest]
        for name, popen in launched:
            ready(name, popen)

    def _launch(self, name: str, argv: list[str], state: ClusterState) -> subprocess.Popen[bytes]:
        """Start one process, record it in the state file at once (so `down` finds it)."""
        layout = self.layout
        popen, record = start(name, argv, log=layout.log(name), cwd=layout.root)
        self._children[popen.pid] = popen
        state.processes.append(record)
        state.save(layout.state_file)
        return popen

    def _ready(
        self,
        name: str,
        popen: subprocess.Popen[bytes],
        probe: Probe,
        state: ClusterState,
        options: ClusterOptions,
    ) -> None:
        took = wait_ready(
            name, popen, probe, log=self.layout.log(name), timeout_s=options.component_timeout_s
        )
        state.timings_s[name] = round(took, 2)
        port = state.ports.get(name) or state.ports.get(colo.metrics_port(name))
        self._progress(f"{name} ready in {took:.1f} s (port {port})")

    def _start_colo(
        self, options: ClusterOptions, state: ClusterState, traces: Path | None
    ) -> None:
        """colo's processes (`colo.devcluster.withcolo`): namespace, webhook certificate,
        start all, wait until each is healthy, register the webhook and wait until the
        API server calls it."""
        layout = self.layout
        client = state.client()
        try:
            ensure_namespace(client, colo.NAMESPACE)
            cert_dir = layout.config("colo-webhook")
            cert_dir.mkdir(mode=0o700, exist_ok=True)
            write_serving_cert(cert_dir / "tls.crt", cert_dir / "tls.key")
            kubeconfigs = {p: layout.config(f"{p}.kubeconfig") for p in colo.API_CLIENTS}
            args = colo.colo_argv(
                state.ports, cert_dir=cert_dir, kubeconfigs=kubeconfigs, traces=traces
            )
            program = [sys.executable, "-m", "colo.cli.main"]
            self._progress(f"starting {', '.join(colo.PROCESSES)}")
            launched = []
            for name in colo.PROCESSES:
                argv = [*program, *args[name], *options.extra_args.get(name, ())]
                launched.append((name, self._launch(name, argv, state)))
            for name, popen in launched:
                self._ready(name, popen, colo.readiness_probe(name, state.ports), state, options)
            register(
                client,
                webhook_configuration(
                    colo.WEBHOOK_CONFIGURATION,
                    f"https://{comp.HOST}:{state.ports[colo.WEBHOOK]}/mutate",
                    cert_dir / "tls.crt",
                    namespace_selector=NOT_DISABLED,
                ),
            )
            took = wait_active(client, namespace="default", scheduler_name=colo.SCHEDULER_NAME)
            state.timings_s["colo-webhook-active"] = round(took, 2)
            self._progress(f"colo-webhook registered, called by the API server in {took:.1f} s")
        finally:
            client.close()

    def _make_nodes(self, options: ClusterOptions, state: ClusterState) -> None:
        total = options.nodes + options.virtual_nodes
        if total == 0:
            return
        client = state.client()
        try:
            began = time.monotonic()
            self._progress(
                f"creating {options.nodes} standard and {options.virtual_nodes} virtual nodes"
            )
            create_nodes(client, fleet(options.nodes, options.virtual_nodes))
            state.timings_s["create-nodes"] = round(time.monotonic() - began, 2)
            names = [node_name(STANDARD_PREFIX, i) for i in range(options.nodes)]
            names += [node_name(VIRTUAL_PREFIX, i) for i in range(options.virtual_nodes)]

            def report(done: int, wanted: int) -> None:
                self._progress(f"nodes Ready and schedulable: {done}/{wanted}")

            took = wait_schedulable(
                client, names, timeout_s=options.node_wait_s(), on_progress=report
            )
            state.timings_s["nodes-ready"] = round(took, 2)
        finally:
            client.close()

    # --- faults: one process at a time (bench/faults.py) ----------------------

    def kill(
        self, name: str, sig: signal.Signals = signal.SIGKILL, *, grace_s: float = 10.0
    ) -> ProcessRecord:
        """Stop the process `name` and wait until it is gone: SIGKILL is `kill -9` (no chance
        to clean up); SIGTERM is a graceful stop, SIGKILL after `grace_s`. It stays in the
        state file, so `restart` starts it again and `down` still knows it."""
        record = self._record(name)
        signal_group(record, sig)
        stop([record], children=self._children, grace_s=grace_s)
        return record

    def pause(self, name: str) -> None:
        """SIGSTOP the process `name` (its whole group): it holds its sockets and answers
        nothing, like a machine that hangs. `resume` continues it."""
        signal_group(self._record(name), signal.SIGSTOP)

    def resume(self, name: str) -> None:
        signal_group(self._record(name), signal.SIGCONT)

    def restart(self, name: str, *, probe: Probe | None = None, timeout_s: float = 90.0) -> float:
        """Start the stopped process `name` again with its recorded command line (log
        appended) and wait until it is ready; return the seconds that took. `probe`: its
        readiness (default: the one `up` used, for the processes `up` starts)."""
        with self._faults_lock:
            state = self._state()
            index, record = self._find(state, name)
            if is_running(record):
                raise ColoError(f"{name} (pid {record.pid}) is still running; stop it first")
            if not record.argv:
                raise ColoError(f"{name} was started before colo recorded command lines; "
                                "run colo dev cluster down, then up again")  # fmt: skip
            popen, fresh = start(name, record.argv, log=Path(record.log), cwd=self.layout.root)
            self._children[popen.pid] = popen
            state.processes[index] = fresh
            state.save(self.layout.state_file)
        return wait_ready(name, popen, probe or self._probe(name, state), log=Path(record.log),
                          timeout_s=timeout_s)  # fmt: skip

    def add(
        self, name: str, argv: Sequence[str], probe: Probe, *, timeout_s: float = 90.0
    ) -> float:
        """Start one more process (a standby replica, say) as part of the cluster, so
        `kill`, `restart` and `down` know it; wait until `probe` says it is ready."""
        with self._faults_lock:
            state = self._state()
            if any(p.name == name for p in state.processes):
                raise ColoError(f"the dev cluster already has a process named {name}")
            popen = self._launch(name, list(argv), state)
        return wait_ready(name, popen, probe, log=self.layout.log(name), timeout_s=timeout_s)

    def _state(self) -> ClusterState:
        state = self.state()
        if state is None:
            raise ClusterNotRunning(self.layout.root)
        return state

    @staticmethod
    def _find(state: ClusterState, name: str) -> tuple[int, ProcessRecord]:
        for index, record in enumerate(state.processes):
            if record.name == name:
                return index, record
        known = ", ".join(p.name for p in state.processes)
        raise ColoError(f"the dev cluster has no process named {name!r} (it has: {known})")

    def _record(self, name: str) -> ProcessRecord:
        return self._find(self._state(), name)[1]

    @staticmethod
    def _probe(name: str, state: ClusterState) -> Probe:
        if name in colo.PROCESSES:
            return colo.readiness_probe(name, state.ports)
        return comp.readiness_probe(name, state.ports, admin_token=state.token)

    # --- down ---------------------------------------------------------------

    def down(self, *, grace_s: float = 10.0) -> list[ProcessRecord]:
        """Stop every recorded process (SIGTERM, SIGKILL after `grace_s`); return those that
        were still running. Deletes etcd data, certs, credentials and state; keeps logs.
        A directory without a cluster is a no-op returning []."""
        layout = self.layout
        if not layout.state_file.exists():
            return []
        with layout.locked():
            state = self.state()
            if state is None:
                return []
            stopped = self._stop(state.processes, grace_s=grace_s)
            layout.state_file.unlink(missing_ok=True)
            layout.kubeconfig.unlink(missing_ok=True)
            for path in (layout.etcd_dir, layout.cert_dir, layout.config_dir):
                shutil.rmtree(path, ignore_errors=True)
            return stopped

    def _stop(
        self, records: Sequence[ProcessRecord], *, grace_s: float = 10.0
    ) -> list[ProcessRecord]:
        """Stop etcd last: a kube-apiserver whose etcd is gone hangs in its shutdown."""
        first = [r for r in records if r.name != ETCD]
        last = [r for r in records if r.name == ETCD]
        try:
            return stop(first, children=self._children, grace_s=grace_s) + stop(
                last, children=self._children, grace_s=grace_s
            )
        finally:
            self._children = {
                pid: child for pid, child in self._children.items() if child.poll() is None
            }

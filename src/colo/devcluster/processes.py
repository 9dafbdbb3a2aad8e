"""Start, watch and stop the dev cluster's processes.

Every component runs in its own session (so its process group id equals its pid), with
stdout and stderr in one log file, and outlives the command that started it. A started
process is remembered as a `ProcessRecord`: pid, plus the kernel start time from
/proc/PID/stat and argv[0], so a later `down` (another process, maybe much later) signals
only that process and never a stranger that reused the pid.

A zombie counts as stopped: when the parent that started the components exits, they are
re-parented to PID 1, which (in some containers) never reaps them.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from colo.core.errors import InfrastructureError
from colo.devcluster.errors import ComponentFailed

#: Ports are picked below the usual ephemeral range (32768–60999), so an outgoing
#: connection cannot take one between picking it and the component binding it.
_PORT_RANGE = (20000, 32000)

LOG_TAIL_LINES = 20

Probe = Callable[[], bool]


@dataclass(frozen=True)
class ProcessRecord:
    """A started component: what `down` needs to find and stop it again."""

    name: str
    pid: int
    start_ticks: int  # /proc/PID/stat field 22: start time in clock ticks since boot
    argv0: str
    log: str
    #: the whole command line, so the process can be started again (`DevCluster.restart`);
    #: empty in state files written before it was recorded
    argv: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["argv"] = list(self.argv)
        return out

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> ProcessRecord:
        return cls(
            name=str(raw["name"]),
            pid=int(raw["pid"]),
            start_ticks=int(raw["start_ticks"]),
            argv0=str(raw["argv0"]),
            log=str(raw["log"]),
            argv=tuple(str(a) for a in raw.get("argv", ())),
        )


def describe_exit(code: int) -> str:
    """'exited with code 1' or 'was killed by SIGKILL' for a Popen returncode."""
    if code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with code {code}"


def _stat(pid: int) -> tuple[str, int] | None:
    """(state letter, start ticks) of a pid, or None if there is no such process."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    fields = raw[raw.rindex(")") + 2 :].split()
    return fields[0], int(fields[19])


def _argv0(pid: int) -> str | None:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return raw.split(b"\0", 1)[0].decode(errors="replace")


def is_running(record: ProcessRecord) -> bool:
    """True if the recorded process still exists, is not a zombie, and is the same process."""
    stat = _stat(record.pid)
    if stat is None:
        return False
    state, start_ticks = stat
    if state in ("Z", "X") or start_ticks != record.start_ticks:
        return False
    # A zombie's cmdline is empty; checked above. A live one must still be our binary.
    return _argv0(record.pid) == record.argv0


def free_ports(count: int) -> list[int]:
    """`count` distinct loopback TCP ports that were free a moment ago."""
    rng = random.Random()
    held: list[socket.socket] = []
    try:
        for _ in range(200 * count):
            if len(held) == count:
                break
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            try:
                sock.bind(("127.0.0.1", rng.randrange(*_PORT_RANGE)))
            except OSError:
                sock.close()
                continue
            held.append(sock)
        if len(held) < count:
            raise InfrastructureError(f"could not find {count} free loopback ports")
        return [sock.getsockname()[1] for sock in held]
    finally:
        for sock in held:
            sock.close()


def start(
    name: str, argv: Sequence[str], *, log: Path, cwd: Path
) -> tuple[subprocess.Popen[bytes], ProcessRecord]:
    """Start `argv` in a new session, stdout+stderr appended to `log`.

    Raises `ComponentFailed` if the executable cannot be started at all.
    """
    with open(log, "ab") as out:
        out.write(f"# colo dev cluster: {' '.join(argv)}\n".encode())
        out.flush()
        try:
            popen = subprocess.Popen(
                list(argv),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=cwd,
                start_new_session=True,
                close_fds=True,
            )
        except OSError as exc:
            out.write(f"# cannot start: {exc}\n".encode())
            out.flush()
            raise ComponentFailed(
                name, f"could not be started ({exc.strerror})", log=log, log_tail=log_tail(log)
            ) from None
    stat = _stat(popen.pid)
    start_ticks = stat[1] if stat is not None else -1
    return popen, ProcessRecord(name, popen.pid, start_ticks, argv[0], str(log), tuple(argv))


def log_tail(log: Path, lines: int = LOG_TAIL_LINES) -> list[str]:
    """The last `lines` lines of a log file (fewer if shorter; [] if unreadable)."""
    try:
        with open(log, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - 64 * 1024))
            text = handle.read().decode(errors="replace")
    except OSError:
        return []
    return [line.rstrip() for line in text.splitlines()[-lines:]]


def wait_ready(
    name: str,
    popen: subprocess.Popen[bytes],
    probe: Probe,
    *,
    log: Path,
    timeout_s: float,
    poll_s: float = 0.2,
) -> float:
    """Poll `probe` until it returns True; return the seconds it took.

    Raises `ComponentFailed` with the log tail if the process exits first or the probe
    is still failing after `timeout_s`. A probe must not raise and should time out fast.
    """
    started = time.monotonic()
    while True:
        code = popen.poll()
        if code is not None:
            raise ComponentFailed(
                name,
                f"{describe_exit(code)} before it was ready",
                log=log,
                log_tail=log_tail(log),
            )
        if probe():
            return time.monotonic() - started
        if time.monotonic() - started > timeout_s:
            raise ComponentFailed(
                name, f"was not ready within {timeout_s:g} s", log=log, log_tail=log_tail(log)
            )
        time.sleep(poll_s)


def signal_group(record: ProcessRecord, sig: signal.Signals) -> None:
    """Send `sig` to the process group of a recorded process (gone already: nothing)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(record.pid, sig)


def stop(
    records: Sequence[ProcessRecord],
    *,
    children: Mapping[int, subprocess.Popen[bytes]] | None = None,
    grace_s: float = 10.0,
    kill_wait_s: float = 5.0,
) -> list[ProcessRecord]:
    """SIGTERM every running record's process group, SIGKILL what is left after `grace_s`.

    `children` are Popen handles of processes this process started; they are reaped.
    Returns the records that were running and have been stopped. Raises
    `InfrastructureError` naming any process still running after SIGKILL.
    """
    children = children or {}

    def running(batch: Sequence[ProcessRecord]) -> list[ProcessRecord]:
        for record in batch:
            child = children.get(record.pid)
            if child is not None:
                child.poll()
        return [r for r in batch if is_running(r)]

    def wait(batch: list[ProcessRecord], seconds: float) -> list[ProcessRecord]:
        deadline = time.monotonic() + seconds
        while batch and time.monotonic() < deadline:
            time.sleep(0.05)
            batch = running(batch)
        return batch

    live = running(records)
    for record in live:
        signal_group(record, signal.SIGTERM)
    left = wait(list(live), grace_s)
    for record in left:
        signal_group(record, signal.SIGKILL)
    left = wait(left, kill_wait_s)
    # Leaders are gone; anything they forked into their group goes too.
    for record in live:
        if record not in left:
            signal_group(record, signal.SIGKILL)
    for record in records:
        child = children.get(record.pid)
        if child is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.wait(timeout=0.5)
    if left:
        names = ", ".join(f"{r.name} (pid {r.pid})" for r in left)
        raise InfrastructureError(f"still running after SIGKILL: {names}")
    return live


@contextlib.contextmanager
def background(argv: Sequence[str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """Run `argv` (stdout and stderr to `log`) for the `with` block; SIGTERM it after,
    SIGKILL if it has not exited 10 s later. For tests and benchmarks that run colo's
    own processes beside a dev cluster."""
    with open(log, "wb") as out:
        proc = subprocess.Popen(list(argv), stdout=out, stderr=subprocess.STDOUT)
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def tcp_probe(port: int, timeout_s: float = 1.0) -> Probe:
    """A probe: something accepts connections on 127.0.0.1:`port`."""

    def probe() -> bool:
        with socket.socket() as sock:
            sock.settimeout(timeout_s)
            return sock.connect_ex(("127.0.0.1", port)) == 0

    return probe


def wait_listening(
    port: int, proc: subprocess.Popen[bytes], log: Path, *, timeout_s: float = 30.0
) -> None:
    """Until something accepts connections on 127.0.0.1:`port`; `ComponentFailed` with
    the log tail if `proc` exits first or nothing listens within `timeout_s`."""
    listening = tcp_probe(port)
    started = time.monotonic()
    while True:
        code = proc.poll()
        if code is not None:
            raise ComponentFailed(
                str(log.stem), f"{describe_exit(code)} before it listened on {port}",
                log=log, log_tail=log_tail(log),
            )  # fmt: skip
        if listening():
            return
        if time.monotonic() - started > timeout_s:
            raise ComponentFailed(str(log.stem), f"did not listen on {port} within {timeout_s:g} s",
                                  log=log, log_tail=log_tail(log))  # fmt: skip
        time.sleep(0.1)

"""Helpers shared by the e2e tests: sizes of the session cluster, polling, process checks."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

#: Nodes of the session cluster (conftest.dev_cluster).
STANDARD_NODES = 50
VIRTUAL_NODES = 5

Kubectl = Callable[..., subprocess.CompletedProcess[str]]
Colo = Callable[..., subprocess.CompletedProcess[str]]


def eventually(
    check: Callable[[], Any], *, timeout_s: float = 30.0, poll_s: float = 0.2, what: str
) -> Any:
    """Call `check` until it returns something truthy; return that. Fail after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(poll_s)
    pytest.fail(f"timed out after {timeout_s:g} s waiting for {what} (last: {last!r})")


def live_pids_mentioning(text: str, *, exclude: Sequence[int] = ()) -> list[int]:
    """Pids of live (non-zombie) processes whose command line contains `text`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) in exclude:
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        state = stat[stat.rindex(")") + 2 :].split()[0]
        if text in cmdline and state not in ("Z", "X"):
            found.append(int(entry.name))
    return found

"""Shared by the benchmarks: argument parsing, medians, and the two output forms."""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path


def parser(description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--json", action="store_true", help="print one JSON object of the figures")
    p.add_argument("--repeats", type=int, default=5, help="timed repetitions (median reported)")
    return p


def median_time_s(fn: Callable[[], object], repeats: int, warmup: int = 1) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def emit(title: str, figures: dict[str, float], *, as_json: bool, notes: str = "") -> None:
    if as_json:
        print(json.dumps(figures, sort_keys=True))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(
        title=title,
        caption=f"{platform.processor() or platform.machine()}, "
        f"python {sys.version.split()[0]}. {notes}",
    )
    table.add_column("figure")
    table.add_column("value", justify="right")
    for name, value in figures.items():
        table.add_row(name, f"{value:,.3f}" if isinstance(value, float) else str(value))
    Console().print(table)


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of a live process, from /proc/<pid>/stat (0 if it is
    gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_cpu_jiffies() -> list[int]:
    """The aggregate `cpu` line of /proc/stat, in jiffies: user nice system idle iowait
    irq softirq steal guest guest_nice (guest time is already inside user and nice)."""
    with open("/proc/stat") as f:
        return [int(x) for x in f.readline().split()[1:]]

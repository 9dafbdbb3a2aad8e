"""The cgroup filesystem's files: how colo.linux reads and writes them, and their formats.

`KernelFiles` is the one seam to the files (tests of the v2 driver hand the executor a
model of the unified tree's write semantics through it). A write is one `write(2)` on a
file opened `O_WRONLY` — never `O_CREAT` or `O_TRUNC`: cgroup files are the kernel's,
and a missing file must fail (ENOENT) rather than be created in a directory model.

Formats (the kernel's):
- flat keyed, `key value` per line: cpu.stat, memory.stat;
- nested keyed, `KEY sub=value sub=value` per line: io.max, PSI files
  (`some avg10=0.00 avg60=0.00 avg300=0.00 total=0`);
- one value: everything else.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

from colo.core.cgroupstats import Pressure, PressureLine
from colo.core.errors import Retryable

#: what reading or writing a file of a cgroup that went away fails with
GONE_ERRNOS = frozenset({errno.ENOENT, errno.ENODEV, errno.ESRCH})


class Gone(Exception):
    """The cgroup (or a file of it that must exist) is not there."""


class KernelFiles:
    """Reads and writes files on the cgroup filesystem. OSErrors pass through: what an
    errno means depends on the file, and the callers say."""

    def read(self, path: Path) -> str:
        with open(path, encoding="utf-8") as f:
            return f.read()

    def write(self, path: Path, text: str) -> None:
        data = text.encode("ascii")
        fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
        try:
            written = os.write(fd, data)
        finally:
            os.close(fd)
        if written != len(data):  # the kernel takes a value in one write or refuses it
            raise OSError(errno.EIO, f"short write ({written} of {len(data)} bytes)", str(path))

    def is_dir(self, path: Path) -> bool:
        return path.is_dir()

    def children(self, path: Path) -> list[str]:
        """Names of the sub-directories (child cgroups) of `path`, sorted; [] if gone."""
        try:
            return sorted(e.name for e in os.scandir(path) if e.is_dir(follow_symlinks=False))
        except (FileNotFoundError, NotADirectoryError):
            return []


def read_or_gone(files: KernelFiles, path: Path) -> str:
    """The file's text. Gone when it (or its cgroup) is not there; Retryable, naming the
    file, on any other failure."""
    try:
        return files.read(path)
    except OSError as e:
        if e.errno in GONE_ERRNOS:
            raise Gone(str(path)) from None
        raise Retryable(f"cannot read {path}: {e.strerror or e}") from None


def flat_keyed(text: str) -> dict[str, int]:
    """`key value` lines as a dict (cpu.stat, memory.stat)."""
    out: dict[str, int] = {}
    for line in text.splitlines():
        name, _, value = line.partition(" ")
        if value.strip().lstrip("-").isdigit():
            out[name] = int(value)
    return out


def nested_keyed(text: str) -> dict[str, dict[str, str]]:
    """`KEY sub=value ...` lines as {KEY: {sub: value}} (io.max, PSI files)."""
    out: dict[str, dict[str, str]] = {}
    for line in text.splitlines():
        key, *pairs = line.split()
        out[key] = dict(p.partition("=")[::2] for p in pairs)
    return out


def parse_pressure(text: str) -> Pressure:
    """A PSI file (`some ...` and, since 5.13 for cpu, `full ...`)."""
    lines = nested_keyed(text)

    def line(kind: str) -> PressureLine | None:
        v = lines.get(kind)
        if v is None:
            return None
        return PressureLine(
            avg10=float(v["avg10"]),
            avg60=float(v["avg60"]),
            avg300=float(v["avg300"]),
            total_us=int(v["total"]),
        )

    some = line("some")
    if some is None:
        raise ValueError(f"not a PSI file: {text!r}")
    return Pressure(some=some, full=line("full"))


def read_pressure(files: KernelFiles, path: Path) -> Pressure | None:
    """The PSI file at `path`; None when there is none (no such file, PSI off:
    EOPNOTSUPP)."""
    try:
        text = files.read(path)
    except OSError as e:
        if e.errno in GONE_ERRNOS or e.errno in (errno.EOPNOTSUPP, errno.EINVAL):
            return None
        raise Retryable(f"cannot read {path}: {e.strerror or e}") from None
    return parse_pressure(text)


def errno_name(code: int | None) -> str:
    return errno.errorcode.get(code or 0, f"errno {code}")

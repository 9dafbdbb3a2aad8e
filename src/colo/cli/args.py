"""argparse value types shared by the `colo` subcommands (errors become exit code 2)."""

from __future__ import annotations

import argparse
from collections.abc import Callable


def whole_number(minimum: int) -> Callable[[str], int]:
    """An integer >= `minimum`."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = minimum - 1
        if value < minimum:
            raise argparse.ArgumentTypeError(f"expected a whole number >= {minimum}, got {text!r}")
        return value

    return parse


def positive_number(what: str = "a number") -> Callable[[str], float]:
    """A finite float > 0; `what` names it in the error ("a number of seconds")."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = 0.0
        if not 0 < value < float("inf"):
            raise argparse.ArgumentTypeError(f"expected {what} > 0, got {text!r}")
        return value

    return parse


def host_port(text: str) -> str:
    """HOST:PORT with a port in 1..65535 (`[::1]:7070` for IPv6); returned as given."""
    host, sep, port = text.rpartition(":")
    try:
        number = int(port)
    except ValueError:
        number = 0
    if not sep or not host or not 0 < number < 65536:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT with a port 1-65535, got {text!r}")
    return text


def port_number(text: str) -> int:
    """A TCP port to listen on: 0..65535 (0 lets the kernel pick one)."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value < 65536:
        raise argparse.ArgumentTypeError(f"expected a port 0-65535, got {text!r}")
    return value


def duration(*, allow_zero: bool = False) -> Callable[[str], float]:
    """Seconds in a duration like `5s`, `1m30s` or a bare number of seconds; > 0 unless
    `allow_zero`."""

    def parse(text: str) -> float:
        from colo.core.duration import DURATION_EXPECTED, parse_duration_s
        from colo.core.errors import InvalidInput

        try:
            value = parse_duration_s(text)
        except InvalidInput:
            raise argparse.ArgumentTypeError(
                f"expected {DURATION_EXPECTED}, got {text!r}"
            ) from None
        if value == 0 and not allow_zero:
            raise argparse.ArgumentTypeError(f"expected a duration > 0, got {text!r}")
        return value

    return parse


#: The shortest Lease the leader-elected processes take: the leader renews every ⅓ of it
#: at most, and a shorter one would step a leader down on an ordinary pause.
MIN_LEASE_S = 3.0


def lease_duration(text: str) -> float:
    """`--lease-duration`: a duration of at least `MIN_LEASE_S`."""
    value = duration()(text)
    if value < MIN_LEASE_S:
        raise argparse.ArgumentTypeError(f"expected at least {MIN_LEASE_S:g}s, got {text!r}")
    return value


def fraction(text: str) -> float:
    """A fraction in [0, 1)."""
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError(f"expected a fraction in [0, 1), got {text!r}")
    return value

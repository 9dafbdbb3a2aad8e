"""colo's own error hierarchy.

Errors from the outside world (the API server, the kernel, files) are translated at the
edge into these types. The *type* carries the retry policy: `Retryable` says "try again
after `delay_s`", `Permanent` says "do not retry". `InvalidInput` is user error: it names
the object, the field and what was expected, and the CLI turns it into exit code 2.
"""

from __future__ import annotations


class ColoError(Exception):
    """Base of every error colo raises on purpose."""


class InvalidInput(ColoError, ValueError):
    """Bad input from a user or an object: names the object, the field and what was expected."""

    def __init__(
        self,
        message: str,
        *,
        obj: str | None = None,
        field: str | None = None,
        value: object = None,
        expected: str | None = None,
    ) -> None:
        self.obj = obj
        self.field = field
        self.value = value
        self.expected = expected
        self.message = message
        parts: list[str] = []
        if obj:
            parts.append(obj)
        if field:
            parts.append(f"field {field}")
        text = message
        if expected:
            text = f"{text}: expected {expected}"
        if value is not None:
            text = f"{text} (got {value!r})"
        parts.append(text)
        super().__init__(": ".join(parts))


class InfrastructureError(ColoError):
    """A fault outside colo (API server, kernel, network)."""


class Retryable(InfrastructureError):
    """A transient fault: the caller should retry after `delay_s` seconds."""

    def __init__(self, message: str, *, delay_s: float = 1.0) -> None:
        super().__init__(message)
        self.delay_s = delay_s


class Permanent(InfrastructureError):
    """A fault that will not go away by retrying (forbidden, invalid object, not found)."""


class NotFound(Permanent):
    """The object does not exist (any more)."""


class Conflict(ColoError):
    """A write lost a race: already bound, resourceVersion changed, or capacity taken."""

"""Timestamps the API server expects, formatted from a datetime the caller supplies."""

from __future__ import annotations

from datetime import UTC, datetime


def micro_time(t: datetime) -> str:
    """metav1.MicroTime: RFC 3339 in UTC with microseconds (Lease renewTime, acquireTime)."""
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def rfc3339(t: datetime) -> str:
    """metav1.Time: RFC 3339 in UTC to the second (Event timestamps)."""
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

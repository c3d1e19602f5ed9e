"""Time as a dependency: logic takes a ``Clock`` so tests (and the local runtime's
simulated clock) decide what "now" is. Storage is always UTC."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """Now in UTC, to the second (what is stored and shown)."""
    return datetime.now(UTC).replace(microsecond=0)


def iso(moment: datetime) -> str:
    """UTC, second precision, ``Z`` suffix: sortable as text."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

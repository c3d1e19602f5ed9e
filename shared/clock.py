"""Time as a dependency: logic takes a ``Clock`` so tests (and the local runtime's
simulated clock) decide what "now" is. Storage is always UTC.

The local runtime can run the whole system on a simulated clock. It writes the
clock's state to a small JSON file and names that file in ``DANGOL_CLOCK_FILE`` for
its Lambda workers; ``utc_now`` then follows it. The file holds one of:

- ``{"offset_s": 3600.0}``: real time plus that many seconds (the clock keeps running);
- ``{"frozen_at": "2026-12-24T00:00:00Z"}``: that instant, standing still.

In AWS the variable is never set and ``utc_now`` is one ``os.environ`` lookup more than
``datetime.now``. A missing, unreadable or malformed file means real time: a simulated
clock may be wrong, it never breaks a request. ``infra/local/clock.py`` writes the file
with ``ClockState.to_json`` so the format lives here, once.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

Clock = Callable[[], datetime]

CLOCK_FILE_ENV = "DANGOL_CLOCK_FILE"
MAX_CLOCK_FILE_BYTES = 4096
MAX_OFFSET_S = 1e10


def utc_now() -> datetime:
    """Now in UTC, to the second (what is stored and shown); the simulated clock's now
    when ``DANGOL_CLOCK_FILE`` names a clock file (local runtime only)."""
    path = os.environ.get(CLOCK_FILE_ENV)
    if not path:
        return datetime.now(UTC).replace(microsecond=0)
    return read_clock_file(path).replace(microsecond=0)


def iso(moment: datetime) -> str:
    """UTC, second precision, ``Z`` suffix: sortable as text."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class ClockState:
    """A simulated clock: real time shifted by ``offset_s`` seconds, or frozen at ``frozen_at``."""

    offset_s: float = 0.0
    frozen_at: datetime | None = None

    def __post_init__(self) -> None:
        if isinstance(self.offset_s, bool) or not isinstance(self.offset_s, int | float):
            raise TypeError("offset_s must be a number of seconds")
        if not math.isfinite(self.offset_s) or abs(self.offset_s) > MAX_OFFSET_S:
            raise ValueError(f"offset_s must be finite and at most {MAX_OFFSET_S:.0e} s (about 300 years)")
        if self.frozen_at is not None and self.frozen_at.utcoffset() is None:
            raise ValueError("frozen_at must be timezone-aware")

    def now(self, real: datetime) -> datetime:
        """The simulated now (UTC) when the real time is ``real``."""
        if self.frozen_at is not None:
            return self.frozen_at.astimezone(UTC)
        return real.astimezone(UTC) + timedelta(seconds=self.offset_s)

    def to_json(self) -> str:
        if self.frozen_at is not None:
            frozen = self.frozen_at.astimezone(UTC).isoformat().replace("+00:00", "Z")
            return json.dumps({"frozen_at": frozen})
        return json.dumps({"offset_s": float(self.offset_s)})

    @classmethod
    def from_json(cls, text: str) -> ClockState:
        """Parse the file's text; ``ValueError`` if it is not one of the two forms."""
        data = json.loads(text)
        if not isinstance(data, dict):
            raise ValueError("a clock file holds a JSON object")
        if set(data) == {"offset_s"}:
            offset = data["offset_s"]
            if isinstance(offset, bool) or not isinstance(offset, int | float):
                raise ValueError("offset_s must be a number")
            return cls(offset_s=float(offset))
        if set(data) == {"frozen_at"}:
            frozen = data["frozen_at"]
            if not isinstance(frozen, str):
                raise ValueError("frozen_at must be an ISO 8601 text")
            moment = datetime.fromisoformat(frozen)
            if moment.utcoffset() is None:
                raise ValueError("frozen_at must carry its UTC offset")
            return cls(frozen_at=moment.astimezone(UTC))
        raise ValueError('a clock file holds {"offset_s": seconds} or {"frozen_at": iso}')


def load_clock_state(path: str | os.PathLike[str]) -> ClockState | None:
    """The state in a clock file, or None when it is missing, unreadable or malformed."""
    try:
        with open(path, "rb") as file:
            raw = file.read(MAX_CLOCK_FILE_BYTES + 1)
        if len(raw) > MAX_CLOCK_FILE_BYTES:
            return None
        return ClockState.from_json(raw.decode("utf-8"))
    except (OSError, ValueError, TypeError):  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        return None


def read_clock_file(path: str | os.PathLike[str]) -> datetime:
    """The simulated now (UTC, microseconds kept) a clock file describes; real time if the
    file is missing, unreadable or malformed. One small read and a JSON parse: cheap."""
    real = datetime.now(UTC)
    state = load_clock_state(path)
    if state is None:
        return real
    try:
        return state.now(real)
    except OverflowError:  # an offset beyond year 9999
        return real

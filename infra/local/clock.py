"""The local runtime's simulated clock: real time plus an offset, or a frozen instant.

    clock = SimulatedClock(state_dir / "clock.json")
    clock.set("2026-12-24T09:00", "Asia/Seoul")   # Christmas Eve, 09:00 in Seoul
    clock.advance("1d")                           # the scheduler catches up a whole day
    clock.freeze(); clock.unfreeze(); clock.reset()

With a path, the file is the single source of truth: every call reads it, and every
change is written to it atomically (a temporary file renamed over it) under a lock
(a thread lock, and an ``flock`` on ``<file>.lock`` between processes), so the runtime,
``dangol-local clock ...`` in another process and the Lambda workers (through
``shared.clock.utc_now`` and ``DANGOL_CLOCK_FILE``) all see the same time. A missing
file is real time; constructing a clock writes nothing (call ``reset`` to start a run
from real time). Without a path the clock lives in memory (tests).

The file format is ``shared.clock.ClockState``'s, so ``shared/`` reads what this writes.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from shared.clock import CLOCK_FILE_ENV, ClockState, load_clock_state, read_clock_file

__all__ = [
    "CLOCK_FILE_ENV",
    "ClockState",
    "SimulatedClock",
    "parse_duration",
    "parse_local_time",
    "read_clock_file",
]

_DURATION = re.compile(r"^([+-])?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")


def parse_duration(text: str) -> timedelta:
    """``"1d"``, ``"90m"``, ``"2h30m"``, ``"45s"``, ``"1w2d"``, ``"-1d"`` (units w d h m s,
    largest first, each at most once; a leading ``-`` goes back in time)."""
    compact = text.strip().lower().replace(" ", "")
    match = _DURATION.match(compact)
    if not match or not any(match.groups()[1:]):
        raise ValueError(f"{text!r} is not a duration like 1d, 90m, 2h30m or 45s")
    sign, weeks, days, hours, minutes, seconds = match.groups()
    delta = timedelta(
        weeks=int(weeks or 0),
        days=int(days or 0),
        hours=int(hours or 0),
        minutes=int(minutes or 0),
        seconds=int(seconds or 0),
    )
    return -delta if sign == "-" else delta


def parse_local_time(text: str | datetime, tz: str = "UTC") -> datetime:
    """A wall-clock time in ``tz`` (``"2026-12-24T09:00"``, seconds optional) as an aware
    UTC datetime. Text or a datetime that carries its own offset ignores ``tz``. A local
    time that does not exist (the hour skipped when daylight saving time starts) is
    refused; an ambiguous one (the hour repeated when it ends) is its first occurrence."""
    if isinstance(text, datetime):
        moment = text
    else:
        try:
            moment = datetime.fromisoformat(text.strip())
        except ValueError:
            raise ValueError(f"{text!r} is not a date and time like 2026-12-24T09:00") from None
    if moment.utcoffset() is not None:
        return moment.astimezone(UTC)
    try:
        zone = ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {tz!r}") from None
    local = moment.replace(tzinfo=zone, fold=0)
    utc = local.astimezone(UTC)
    if utc.astimezone(zone).replace(tzinfo=None) != moment.replace(fold=0):
        raise ValueError(f"{moment.isoformat()} does not exist in {tz} (daylight saving time)")
    return utc


def _real_now() -> datetime:
    return datetime.now(UTC)


class SimulatedClock:
    """A thread-safe clock for the local runtime; call it (or ``now()``) for the time.

    ``real`` is where real time comes from (tests pass a fake). ``now()`` is in UTC to
    the second, like ``shared.clock.utc_now``.
    """

    def __init__(
        self, path: str | os.PathLike[str] | None = None, *, real: Callable[[], datetime] = _real_now
    ) -> None:
        self._path = Path(path) if path is not None else None
        self._real = real
        self._lock = threading.RLock()
        self._state = ClockState()

    @property
    def path(self) -> Path | None:
        return self._path

    def __call__(self) -> datetime:
        return self.now()

    def now(self) -> datetime:
        """The simulated now, UTC, second precision."""
        return self.now_precise().replace(microsecond=0)

    def now_precise(self) -> datetime:
        """The simulated now, UTC, with microseconds."""
        return self.state().now(self._real())

    def state(self) -> ClockState:
        """The current state (read from the file when there is one)."""
        with self._lock:
            return self._load()

    @property
    def frozen(self) -> bool:
        return self.state().frozen_at is not None

    @property
    def offset(self) -> timedelta:
        """How far the simulated clock is from real time (now, if frozen)."""
        real = self._real()
        return self.state().now(real) - real.astimezone(UTC)

    def set(self, when: str | datetime, tz: str = "UTC") -> datetime:
        """Jump to a wall-clock time in ``tz`` (``set("2026-12-24T09:00", "Asia/Seoul")``);
        a frozen clock stays frozen there. Returns the new now (UTC, second precision)."""
        target = parse_local_time(when, tz)
        with self._changing() as state:
            if state.frozen_at is not None:
                new = ClockState(frozen_at=target)
            else:
                new = ClockState(offset_s=(target - self._real().astimezone(UTC)).total_seconds())
            self._save(new)
        return self.now()

    def advance(self, duration: str | timedelta) -> datetime:
        """Move forward (``"1d"``, ``"90m"``, ``"2h30m"``, ``"45s"``; ``"-1h"`` goes back).
        Returns the new now (UTC, second precision)."""
        delta = parse_duration(duration) if isinstance(duration, str) else duration
        with self._changing() as state:
            if state.frozen_at is not None:
                new = ClockState(frozen_at=state.frozen_at + delta)
            else:
                new = ClockState(offset_s=state.offset_s + delta.total_seconds())
            self._save(new)
        return self.now()

    def freeze(self) -> datetime:
        """Stop the clock at the current simulated now (microseconds dropped)."""
        with self._changing() as state:
            self._save(ClockState(frozen_at=state.now(self._real()).replace(microsecond=0)))
        return self.now()

    def unfreeze(self) -> datetime:
        """Let a frozen clock run on from where it stands."""
        with self._changing() as state:
            if state.frozen_at is not None:
                offset = (state.frozen_at - self._real().astimezone(UTC)).total_seconds()
                self._save(ClockState(offset_s=offset))
        return self.now()

    def reset(self) -> datetime:
        """Back to real time (and running)."""
        with self._changing():
            self._save(ClockState())
        return self.now()

    @contextlib.contextmanager
    def _changing(self) -> Iterator[ClockState]:
        """Hold both locks around a read-modify-write of the state."""
        with self._lock, self._file_lock():
            yield self._load()

    @contextlib.contextmanager
    def _file_lock(self) -> Iterator[None]:
        if self._path is None or sys.platform == "win32":
            yield
            return
        import fcntl  # noqa: PLC0415 - POSIX only

        self._path.parent.mkdir(parents=True, exist_ok=True)
        with open(self._path.with_name(self._path.name + ".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _load(self) -> ClockState:
        if self._path is None:
            return self._state
        return load_clock_state(self._path) or ClockState()

    def _save(self, state: ClockState) -> None:
        self._state = state
        if self._path is None:
            return
        self._path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self._path.parent, prefix=f".{self._path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w") as file:
                file.write(state.to_json())
            os.replace(tmp, self._path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

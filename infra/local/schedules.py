"""EventBridge Scheduler on one laptop: a catch-up scheduler over ``shared.cron``'s expressions.

Pure: no I/O, no threads of its own, no clock of its own. The runtime asks
``Scheduler.due(now)`` with its (simulated) clock and delivers the firings.

The Scheduler
-------------
Holds entries (the topology's schedules, and ones created at run time through the
Scheduler API) and remembers, per entry, up to when it has fired. ``due(now)`` returns
every occurrence since then, in time order, each exactly once: advancing the clock by a
day fires the whole day; a clock moved backwards fires nothing until it passes what
already fired. A disabled schedule skips what falls while it is disabled. A one-time
schedule fires once and is then complete (deleted when its action after completion is
DELETE, as is a recurring schedule once past its end date). A jump that would fire more
than ``MAX_OCCURRENCES`` times for one schedule raises ``TooManyOccurrences`` and
changes nothing; ``skip_to(now)`` then moves on without firing.
"""

from __future__ import annotations

import re
import threading
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Literal, TypeAlias

from shared.clock import iso
from shared.cron import (
    _EPSILON,
    MAX_OCCURRENCES,
    At,
    Expression,
    Rate,
    TooManyOccurrences,
    _aware,
    iter_occurrences,
    parse_expression,
    zone,
)
from shared.topology import Function, Queue, Schedule

DEFAULT_GROUP = "default"

Target: TypeAlias = Queue | Function | str  # a topology resource, or an ARN from the API
State: TypeAlias = Literal["ENABLED", "DISABLED"]
AfterCompletion: TypeAlias = Literal["NONE", "DELETE"]

_NAME = re.compile(r"^[0-9a-zA-Z._-]{1,64}$")


# ------------------------------------------------------------------------- scheduler


@dataclass(frozen=True)
class ScheduleEntry:
    """One schedule as EventBridge Scheduler knows it. Defaults are the API's."""

    name: str
    expression: str
    target: Target
    timezone: str = "UTC"
    input: str = "{}"
    state: State = "ENABLED"
    group: str = DEFAULT_GROUP
    description: str = ""
    start_date: datetime | None = None  # recurring only: no occurrence before it
    end_date: datetime | None = None  # recurring only: no occurrence after it
    flexible_window_min: int | None = None  # AWS fires within it; locally at its start
    action_after_completion: AfterCompletion = "NONE"
    retry_attempts: int = 185
    max_event_age_s: int = 86400

    def __post_init__(self) -> None:
        for what, value in (("name", self.name), ("group", self.group)):
            if not _NAME.match(value):
                raise ValueError(f"schedule {what} {value!r} must be 1-64 of 0-9 a-z A-Z . _ -")
        self.parsed  # noqa: B018 - validates the expression
        zone(self.timezone)
        if self.state not in ("ENABLED", "DISABLED"):
            raise ValueError(f"schedule {self.name}: state is ENABLED or DISABLED, not {self.state!r}")
        if self.action_after_completion not in ("NONE", "DELETE"):
            raise ValueError(f"schedule {self.name}: action after completion is NONE or DELETE")
        if self.flexible_window_min is not None and not 1 <= self.flexible_window_min <= 1440:
            raise ValueError(f"schedule {self.name}: the flexible window is 1-1440 minutes")
        for what, moment in (("start_date", self.start_date), ("end_date", self.end_date)):
            if moment is not None and moment.utcoffset() is None:
                raise ValueError(f"schedule {self.name}: {what} must be timezone-aware")
        if self.start_date and self.end_date and self.end_date <= self.start_date:
            raise ValueError(f"schedule {self.name}: end_date must be after start_date")
        if not 0 <= self.retry_attempts <= 185 or not 60 <= self.max_event_age_s <= 86400:
            raise ValueError(f"schedule {self.name}: retry attempts 0-185, maximum event age 60-86400 s")

    @property
    def parsed(self) -> Expression:
        return parse_expression(self.expression)

    @property
    def key(self) -> tuple[str, str]:
        return (self.group, self.name)

    @property
    def one_time(self) -> bool:
        return isinstance(self.parsed, At)

    @classmethod
    def from_topology(cls, schedule: Schedule) -> ScheduleEntry:
        return cls(
            name=schedule.id,
            expression=schedule.expression,
            target=schedule.target,
            timezone=schedule.timezone,
            input=schedule.input,
            flexible_window_min=schedule.flexible_window_min,
            retry_attempts=schedule.retry_attempts,
            max_event_age_s=schedule.max_event_age_s,
        )


@dataclass(frozen=True)
class Firing:
    """One occurrence to deliver: ``input`` goes to ``target``."""

    schedule_id: str
    group: str
    scheduled_utc: datetime
    scheduled_local: datetime  # the same instant in the schedule's zone
    target: Target
    input: str
    entry: ScheduleEntry

    @property
    def latest_utc(self) -> datetime:
        """The end of the flexible time window (AWS may deliver until then; we fire at its start)."""
        return self.scheduled_utc + timedelta(minutes=self.entry.flexible_window_min or 0)

    @property
    def execution_id(self) -> str:
        """Stable per occurrence: the same schedule and time give the same id."""
        return str(
            uuid.uuid5(
                uuid.NAMESPACE_URL, f"scheduler:{self.group}/{self.schedule_id}@{iso(self.scheduled_utc)}"
            )
        )

    def render_input(self, schedule_arn: str = "", attempt: int = 1) -> str:
        """The input with EventBridge Scheduler's context attributes filled in."""
        return (
            self.input.replace("<aws.scheduler.schedule-arn>", schedule_arn)
            .replace("<aws.scheduler.scheduled-time>", iso(self.scheduled_utc))
            .replace("<aws.scheduler.execution-id>", self.execution_id)
            .replace("<aws.scheduler.attempt-number>", str(attempt))
        )


@dataclass(frozen=True)
class ScheduleStatus:
    entry: ScheduleEntry
    next_utc: datetime | None  # the next occurrence still to fire (None: none left, or disabled)
    last_fired_utc: datetime | None
    fired: int
    completed: bool


@dataclass
class _Slot:
    entry: ScheduleEntry
    anchor: datetime  # where a rate starts
    through: datetime  # every occurrence at or before this has been handled
    last_fired: datetime | None = None
    fired: int = 0
    completed: bool = False


def _second(moment: datetime) -> datetime:
    return _aware("now", moment).replace(microsecond=0)


class Scheduler:
    """The schedules of a running system, and what each has fired. Thread-safe.

    Every method that changes something takes ``now`` (the clock's time): a schedule
    created at ``now`` fires what falls at or after it.
    """

    def __init__(self, entries: Iterable[ScheduleEntry] = (), *, now: datetime) -> None:
        self._lock = threading.RLock()
        self._slots: dict[tuple[str, str], _Slot] = {}
        self._pending: list[Firing] = []
        for entry in entries:
            self.add(entry, now=now)

    @classmethod
    def from_topology(cls, schedules: Iterable[Schedule], *, now: datetime) -> Scheduler:
        return cls((ScheduleEntry.from_topology(s) for s in schedules), now=now)

    # -- the schedules

    def add(self, entry: ScheduleEntry, *, now: datetime) -> None:
        """Create a schedule; ``ValueError`` if one of that name is in its group."""
        created = _second(now)
        with self._lock:
            if entry.key in self._slots:
                raise ValueError(f"schedule {entry.group}/{entry.name} already exists")
            self._slots[entry.key] = _Slot(entry, entry.start_date or created, created - _EPSILON)

    def update(self, entry: ScheduleEntry, *, now: datetime) -> None:
        """Replace a schedule (``KeyError`` if it does not exist). What the old definition
        had due until ``now`` still fires (at the next ``due``); the new one fires what falls
        after. A rate keeps its anchor unless its expression or start date changed."""
        now = _aware("now", now)
        with self._lock:
            slot = self._slots[entry.key]
            self._pend(slot, now)
            if entry.key not in self._slots:  # it completed with DELETE just now, as in AWS
                raise KeyError(entry.key)
            old = slot.entry
            if entry.start_date:
                slot.anchor = entry.start_date
            elif entry.expression != old.expression or old.start_date:
                slot.anchor = _second(now)
            if old.state == "DISABLED" and entry.state == "ENABLED":
                slot.through = max(slot.through, now)
            slot.entry = entry
            slot.completed = False
            self._complete(slot)

    def put(self, entry: ScheduleEntry, *, now: datetime) -> None:
        """Create or replace."""
        with self._lock:
            if entry.key in self._slots:
                self.update(entry, now=now)
            else:
                self.add(entry, now=now)

    def set_state(self, name: str, state: State, *, now: datetime, group: str = DEFAULT_GROUP) -> None:
        """Enable or disable. A disabled schedule never fires what falls while it is disabled."""
        with self._lock:
            self.update(replace(self.get(name, group), state=state), now=now)

    def remove(self, name: str, group: str = DEFAULT_GROUP) -> ScheduleEntry:
        """Delete (``KeyError`` if missing); it fires nothing more."""
        with self._lock:
            slot = self._slots.pop((group, name))
            self._pending = [f for f in self._pending if (f.group, f.schedule_id) != (group, name)]
            return slot.entry

    def get(self, name: str, group: str = DEFAULT_GROUP) -> ScheduleEntry:
        with self._lock:
            return self._slots[(group, name)].entry

    def entries(self) -> list[ScheduleEntry]:
        with self._lock:
            return [slot.entry for _, slot in sorted(self._slots.items())]

    def status(self, name: str, group: str = DEFAULT_GROUP) -> ScheduleStatus:
        with self._lock:
            slot = self._slots[(group, name)]
            upcoming = None
            if not slot.completed and slot.entry.state == "ENABLED":
                upcoming = next(self._iter(slot, slot.through), None)
            return ScheduleStatus(slot.entry, upcoming, slot.last_fired, slot.fired, slot.completed)

    # -- firing

    def due(self, now: datetime) -> list[Firing]:
        """Every occurrence since the last call up to ``now``, in time order, each once.

        Raises ``TooManyOccurrences`` (changing nothing) if one schedule would fire more
        than ``MAX_OCCURRENCES`` times; see ``skip_to``.
        """
        now = _aware("now", now)
        with self._lock:
            planned = [(slot, self._window(slot, now)) for slot in self._active(now)]
            firings = self._pending
            self._pending = []
            for slot, times in planned:
                firings.extend(self._fire(slot, times, now))
            firings.sort(key=lambda f: (f.scheduled_utc, f.group, f.schedule_id))
            return firings

    def skip_to(self, now: datetime) -> None:
        """Mark everything up to ``now`` as handled, without firing it."""
        now = _aware("now", now)
        with self._lock:
            self._pending = []
            for slot in self._active(now):
                slot.through = now
                self._complete(slot)

    def jump_to(self, now: datetime) -> None:
        """The clock was set (forwards or back): what lies before ``now`` counts as handled and
        what comes after fires as it comes, even if the clock had once been further ahead."""
        now = _aware("now", now)
        with self._lock:
            self._pending = []
            for slot in self._slots.values():
                if not slot.completed:
                    slot.through = now

    # -- internals (called with the lock held)

    def _active(self, now: datetime) -> list[_Slot]:
        return [s for s in list(self._slots.values()) if not s.completed and now > s.through]

    def _iter(self, slot: _Slot, after: datetime) -> Iterator[datetime]:
        entry = slot.entry
        parsed = entry.parsed
        start = slot.anchor if isinstance(parsed, Rate) else entry.start_date
        for moment in iter_occurrences(parsed, entry.timezone, after, start):
            if entry.end_date and not entry.one_time and moment > entry.end_date:
                return
            yield moment

    def _window(self, slot: _Slot, until: datetime) -> list[datetime]:
        if slot.entry.state == "DISABLED":
            return []
        times: list[datetime] = []
        for moment in self._iter(slot, slot.through):
            if moment > until:
                break
            if len(times) == MAX_OCCURRENCES:
                raise TooManyOccurrences(
                    f"schedule {slot.entry.group}/{slot.entry.name} ({slot.entry.expression}) would fire "
                    f"more than {MAX_OCCURRENCES} times up to {iso(until)}: advance the clock in smaller "
                    "steps, or skip_to(now)"
                )
            times.append(moment)
        return times

    def _fire(self, slot: _Slot, times: list[datetime], now: datetime) -> list[Firing]:
        entry = slot.entry
        tz = zone(entry.timezone)
        firings = [
            Firing(entry.name, entry.group, t, t.astimezone(tz), entry.target, entry.input, entry)
            for t in times
        ]
        if times:
            slot.last_fired = times[-1]
            slot.fired += len(times)
        slot.through = now
        self._complete(slot)
        return firings

    def _pend(self, slot: _Slot, now: datetime) -> None:
        """Queue what the slot's current definition has due up to ``now``."""
        if not slot.completed and now > slot.through:
            self._pending.extend(self._fire(slot, self._window(slot, now), now))

    def _complete(self, slot: _Slot) -> None:
        entry = slot.entry
        parsed = entry.parsed
        if isinstance(parsed, At):
            nominal = parsed.local.replace(tzinfo=zone(entry.timezone)).astimezone(UTC)
            done = slot.through >= nominal
        else:
            done = entry.end_date is not None and slot.through >= entry.end_date
        if not done:
            return
        slot.completed = True
        if entry.action_after_completion == "DELETE":
            self._slots.pop(entry.key, None)

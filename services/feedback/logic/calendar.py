"""Business hours: when a team is at work, and how much of its working time lies between two
instants. The SLA clocks (``logic.sla``) count in these business seconds.

A ``Calendar`` is a zone, a country and weekly hours: one opening per weekday (or none), in the
zone's wall-clock time, never across midnight; the country's public holidays (from ``holidays``,
lunar ones and substitute holidays included) and any extra ``closed`` dates are shut all day.
Nothing here reads a clock: every function takes its instants, which must be aware; instants
returned are in UTC (show them with ``.astimezone(calendar.tz)``).

The teams (``TEAMS``), both on Korea's public holidays:

- ``frontline``, the social-care desk: every day 09:00-21:00 Asia/Seoul;
- ``follow_up``, the follow-up team: Monday to Friday 09:00-18:00 Asia/Seoul.

Rules worth knowing:

- An opening is half-open, ``[opens, closes)``: open at 09:00:00, closed at 18:00:00.
- ``add_business_time(start, n)`` is the earliest instant by which ``n`` seconds of open time
  have passed since ``start``: from outside hours it counts from the next opening, and adding
  exactly what is left of a day lands on its closing instant, not on the next morning
  (``n = 0`` is ``start`` itself). ``business_seconds_between`` is its inverse.
- Hours are wall-clock hours, so a day keeps its 09:00 and 18:00 across a DST change; a wall time
  that does not exist that day (in the spring gap) is read as the clock would show it after
  the change, with the offset before it (``fold=0``): 02:30 is 03:30 on New York's spring day.
- Holidays are loaded per (country, year) and cached; a computation that crosses a year end
  loads each year it touches. ``holidays`` is imported on first use (it takes about half a
  second), so a function that only imports this module does not pay for it; for the same
  reason a country code is checked for its form when a calendar is built, and a country the
  package does not know is a ``ValueError`` on first use.
- An opening ends at the latest at ``23:59:59.999999`` (``time`` has no 24:00).
- Work is linear in the days spanned. A calendar with no hours on any weekday is refused when
  built, and a search that finds no open hour in ``MAX_CLOSED_DAYS`` days in a row (a year of
  extra closed dates) raises ``ValueError`` instead of looping.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from types import MappingProxyType
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

MONDAY, TUESDAY, WEDNESDAY, THURSDAY, FRIDAY, SATURDAY, SUNDAY = range(7)
WEEKDAYS = (MONDAY, TUESDAY, WEDNESDAY, THURSDAY, FRIDAY)
EVERY_DAY = (*WEEKDAYS, SATURDAY, SUNDAY)
MAX_CLOSED_DAYS = 400  # closed this many days in a row: there is no next opening to find
COUNTRY = re.compile(r"^[A-Z]{2}$")  # ISO 3166-1 alpha-2, as ``holidays`` names countries

_SECOND = timedelta(seconds=1)


@dataclass(frozen=True)
class Hours:
    """One day's opening, in wall-clock time: ``opens`` before ``closes``, the same day."""

    opens: time
    closes: time

    def __post_init__(self) -> None:
        if self.opens.tzinfo is not None or self.closes.tzinfo is not None:
            raise ValueError("opening hours are wall-clock times: no tzinfo (the calendar has the zone)")
        if self.opens >= self.closes:
            raise ValueError(
                f"hours {self.opens}-{self.closes} must close after they open, the same day "
                "(hours may not cross midnight)"
            )

    @classmethod
    def parse(cls, opens: str, closes: str) -> Hours:
        """``Hours.parse("09:00", "18:00")``."""
        return cls(time.fromisoformat(opens), time.fromisoformat(closes))


def week(hours: Hours, days: Iterable[int] = EVERY_DAY) -> tuple[Hours | None, ...]:
    """Seven entries, Monday first: ``hours`` on ``days`` (0 is Monday), closed on the others."""
    chosen = set(days)
    if not chosen <= set(EVERY_DAY):
        raise ValueError(f"weekdays are 0 (Monday) to 6 (Sunday), not {sorted(chosen - set(EVERY_DAY))}")
    return tuple(hours if day in chosen else None for day in EVERY_DAY)


@cache
def holidays_of(country: str, year: int) -> frozenset[date]:
    """The public holidays of ``country`` in ``year`` (substitute holidays included), cached."""
    import holidays  # noqa: PLC0415 - half a second of import, paid on first use only

    try:
        found = holidays.country_holidays(country, years=year)
    except NotImplementedError as error:
        raise ValueError(f"the holidays package does not know the country {country!r}") from error
    return frozenset(found.keys())


def _aware(at: datetime, name: str = "at") -> datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime (an instant), not {at!r}")
    return at.astimezone(UTC)


@dataclass(frozen=True)
class Calendar:
    """When a team works. ``hours`` has seven entries, Monday first (``None``: closed all day);
    ``closed`` lists extra dates shut all day, on top of the country's public holidays."""

    zone: str
    country: str
    hours: tuple[Hours | None, ...]
    closed: frozenset[date] = frozenset()
    tz: ZoneInfo = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        try:
            tz = ZoneInfo(self.zone)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise ValueError(f"{self.zone!r} is not an IANA time zone") from error
        object.__setattr__(self, "tz", tz)
        if not COUNTRY.match(self.country):
            raise ValueError(f"country {self.country!r} is not an ISO 3166 alpha-2 code (e.g. 'KR')")
        hours = tuple(self.hours)
        if len(hours) != len(EVERY_DAY):
            raise ValueError(f"hours has one entry per weekday, Monday first: 7, not {len(hours)}")
        if any(h is not None and not isinstance(h, Hours) for h in hours):
            raise ValueError("each weekday's hours are an Hours or None")
        if all(h is None for h in hours):
            raise ValueError("a calendar with no open hours on any weekday would never open")
        object.__setattr__(self, "hours", hours)
        object.__setattr__(self, "closed", frozenset(self.closed))

    # -- days --------------------------------------------------------------------------------

    def is_holiday(self, day: date) -> bool:
        """Shut all day: a public holiday of the country or one of the extra closed dates."""
        return day in self.closed or day in holidays_of(self.country, day.year)

    def opening(self, day: date) -> tuple[datetime, datetime] | None:
        """The day's opening as UTC instants ``[opens, closes)``, or None when closed all day."""
        hours = self.hours[day.weekday()]
        if hours is None or self.is_holiday(day):
            return None
        opens = datetime.combine(day, hours.opens, tzinfo=self.tz).astimezone(UTC)
        closes = datetime.combine(day, hours.closes, tzinfo=self.tz).astimezone(UTC)
        # Only hours inside a DST gap can come out empty (02:30-03:00 on New York's spring day).
        return (opens, closes) if opens < closes else None

    def _openings(self, after: datetime) -> Iterator[tuple[datetime, datetime]]:
        """The openings that close after ``after`` (UTC), in order; endless unless it finds none
        for ``MAX_CLOSED_DAYS`` days in a row."""
        day = after.astimezone(self.tz).date() - timedelta(days=1)  # safe side of the local date
        closed_run = 0
        while True:
            opening = self.opening(day)
            if opening is None:
                closed_run += 1
                if closed_run > MAX_CLOSED_DAYS:
                    raise ValueError(f"the calendar has no open hour in {MAX_CLOSED_DAYS} days after {day}")
            else:
                closed_run = 0
                if opening[1] > after:
                    yield opening
            day += timedelta(days=1)

    # -- instants ------------------------------------------------------------------------------

    def is_open(self, at: datetime) -> bool:
        instant = _aware(at)
        opens, _ = next(self._openings(instant))
        return opens <= instant

    def next_open(self, at: datetime) -> datetime:
        """The first instant at or after ``at`` when the calendar is open (``at`` itself if open)."""
        instant = _aware(at)
        opens, _ = next(self._openings(instant))
        return max(opens, instant)

    def add_business_time(self, start: datetime, seconds: int) -> datetime:
        """The earliest instant by which ``seconds`` of open time have passed since ``start``."""
        if seconds < 0:
            raise ValueError(f"business time to add must be ≥ 0, not {seconds}")
        instant = _aware(start, "start")
        if seconds == 0:
            return instant
        left = timedelta(seconds=seconds)
        for opens, closes in self._openings(instant):
            begin = max(opens, instant)
            if left <= closes - begin:
                return begin + left
            left -= closes - begin
        raise AssertionError("unreachable: openings never run out")  # pragma: no cover

    def business_seconds_between(self, a: datetime, b: datetime) -> int:
        """Whole seconds of open time in ``[a, b)``, rounded down; negative when ``b`` is before ``a``."""
        low, high = _aware(a, "a"), _aware(b, "b")
        if high < low:
            return -self.business_seconds_between(b, a)
        total = timedelta(0)
        for opens, closes in self._openings(low):
            if opens >= high:
                break
            total += min(closes, high) - max(opens, low)
        return total // _SECOND


SEOUL = "Asia/Seoul"

# Read-only: a calendar is shared by every case of its team.
TEAMS: Mapping[str, Calendar] = MappingProxyType(
    {
        "frontline": Calendar(zone=SEOUL, country="KR", hours=week(Hours.parse("09:00", "21:00"))),
        "follow_up": Calendar(zone=SEOUL, country="KR", hours=week(Hours.parse("09:00", "18:00"), WEEKDAYS)),
    }
)

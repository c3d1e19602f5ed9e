"""Which anniversaries fall N days ahead of a customer's local today, found by month-day.

Every anniversary (and the birthday) has an index item under its month-day
(``ANNIV#MM-DD#<shard>``), so a run reads only the days that can be due, never
the whole table. A 29 February anniversary falls on 28 February in other years.
A run is due for a customer once their local time has passed the morning hour;
the caller makes sure each occurrence is announced once a year.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

LEAP_DAY = "02-29"


def occurs_on(original: date, year: int) -> date:
    """The day an anniversary falls on in ``year`` (29 February -> 28 February in common years)."""
    if original.month == 2 and original.day == 29 and not calendar.isleap(year):
        return date(year, 2, 28)
    return original.replace(year=year)


def month_day(day: date) -> str:
    return f"{day.month:02d}-{day.day:02d}"


def month_days_to_read(now_utc: datetime, lead_days: int) -> list[str]:
    """Every month-day that can be due somewhere on Earth now (local dates span UTC-12..UTC+14)."""
    days: set[str] = set()
    for offset in (-1, 0, 1):
        target = (now_utc + timedelta(days=offset)).date() + timedelta(days=lead_days)
        days.add(month_day(target))
        if target.month == 2 and target.day == 28 and not calendar.isleap(target.year):
            days.add(LEAP_DAY)
    return sorted(days)


@dataclass(frozen=True)
class Due:
    occurs_on: date
    years: int


def due(
    original: date, time_zone: str, *, now_utc: datetime, lead_days: int, morning_hour: int
) -> Due | None:
    """The occurrence announced now for a customer in ``time_zone``, or None."""
    local = now_utc.astimezone(ZoneInfo(time_zone))
    if local.hour < morning_hour:
        return None
    target = local.date() + timedelta(days=lead_days)
    day = occurs_on(original, target.year)
    if day != target or target.year <= original.year:
        return None
    return Due(occurs_on=day, years=target.year - original.year)

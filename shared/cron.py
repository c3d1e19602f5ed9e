"""EventBridge Scheduler's schedule expressions: parsed as AWS parses them, and their occurrences.

Pure: no I/O and no clock of its own. The local runtime's scheduler (``infra/local/schedules.py``)
fires schedules with it; the campaigns service checks a recurring campaign's cron with it
(one that never fires is refused) and finds its next run.

Expressions, as EventBridge Scheduler defines them
--------------------------------------------------
``cron(minutes hours day-of-month month day-of-week year)``

    ============  ===============  =================
    field         values           wildcards
    ============  ===============  =================
    minutes       0-59             , - * /
    hours         0-23             , - * /
    day-of-month  1-31             , - * ? / L W
    month         1-12 or JAN-DEC  , - * /
    day-of-week   1-7 or SUN-SAT   , - * ? L #
    year          1970-2199        , - * /
    ============  ===============  =================

- Day-of-week 1 is SUNDAY (Quartz, not Unix). Names are case-insensitive.
- Exactly one of day-of-month and day-of-week is ``?``.
- ``a/n`` is every n-th value from a to the field's end; ``*/n`` and ``a-b/n`` too. The
  step is 1 to the field's largest value (``*/60`` in minutes is refused, as by AWS).
- A range that runs backwards wraps round the field (``22-2`` hours, ``FRI-MON``), as
  Quartz does; except in the year field, where it is refused.
- Day-of-month: ``L`` last day of the month, ``LW`` its last weekday, ``15W`` the weekday
  nearest the 15th without leaving the month (``1W`` on a Saturday is Monday the 3rd). A
  ``nW`` whose day the month lacks (``31W`` in April) does not fire that month.
- Day-of-week: ``L`` alone is Saturday (the last day of the week); ``5L`` is the month's
  last Thursday; ``6#3`` its third Friday (``#`` 1-5; no fifth one, no firing).
- ``L``, ``W`` and ``#`` stand alone in their field (``3#1,6#3`` is refused, as by AWS).

``rate(value unit)``: a positive integer and minute|minutes|hour|hours|day|days, the
unit singular exactly when the value is 1. A rate ignores time zones: ``rate(1 day)``
is every 24 hours. It fires at its start (the StartDate, or the moment it was created:
AWS "starts invoking the target immediately") and every interval after.

``at(yyyy-mm-ddThh:mm:ss)``: once, at that wall-clock time in the schedule's zone.

Time zones and daylight saving time
-----------------------------------
cron and at are evaluated in the IANA zone's wall time; every occurrence is returned
as an aware UTC datetime. As AWS documents: a wall time the spring-forward gap skips
(02:30 on the night clocks jump from 02:00 to 03:00) does not fire that day (an at()
on such a time never fires); a wall time the fall-back repeats fires once, at its first
occurrence (still in daylight saving time).

Flexible time windows
---------------------
AWS invokes a schedule with ``flexible_window_min`` at some moment within that many
minutes after the scheduled time. The local scheduler always fires at the window's
start (the scheduled time itself), so runs are reproducible; ``Firing.latest_utc`` is
the window's end, should a test want to assert a delivery falls inside it.
"""

from __future__ import annotations

import bisect
import calendar
import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TypeAlias
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

MAX_OCCURRENCES = 100_000
MIN_YEAR, MAX_YEAR = 1970, 2199
_EPSILON = timedelta(microseconds=1)


class TooManyOccurrences(ValueError):
    """A window holds more occurrences than may be listed (or fired) at once."""


# --------------------------------------------------------------------------- parsing


_MONTHS = {name.upper(): i for i, name in enumerate(calendar.month_abbr) if name}
_DAYS = {"SUN": 1, "MON": 2, "TUE": 3, "WED": 4, "THU": 5, "FRI": 6, "SAT": 7}


@dataclass(frozen=True)
class _Field:
    name: str
    lo: int
    hi: int
    names: dict[str, int] = field(default_factory=dict)
    step: bool = True  # whether "/" is allowed
    wrap: bool = True  # whether a backwards range wraps round

    @property
    def max_step(self) -> int:
        return self.hi if self.hi < MIN_YEAR else self.hi - self.lo


_MINUTES = _Field("minutes", 0, 59)
_HOURS = _Field("hours", 0, 23)
_DOM = _Field("day-of-month", 1, 31)
_MONTH = _Field("month", 1, 12, _MONTHS)
_DOW = _Field("day-of-week", 1, 7, _DAYS, step=False)
_YEAR = _Field("year", MIN_YEAR, MAX_YEAR, wrap=False)


def _value(text: str, f: _Field) -> int:
    if text.isdigit():
        value = int(text)
    elif text.upper() in f.names:
        value = f.names[text.upper()]
    else:
        raise ValueError(f"{f.name}: {text!r} is not a number" + (" or a name" if f.names else ""))
    if not f.lo <= value <= f.hi:
        raise ValueError(f"{f.name}: {value} is out of range {f.lo}-{f.hi}")
    return value


def _item(text: str, f: _Field) -> list[int]:
    body, slash, step_text = text.partition("/")
    step = 1
    if slash:
        if not f.step:
            raise ValueError(f"{f.name}: '/' is not allowed")
        if not step_text.isdigit() or not 1 <= int(step_text) <= f.max_step:
            raise ValueError(f"{f.name}: the step in {text!r} must be 1-{f.max_step}")
        step = int(step_text)
    if body == "*":
        lo, hi = f.lo, f.hi
    elif "-" in body:
        first, _, last = body.partition("-")
        lo, hi = _value(first, f), _value(last, f)
    else:
        lo = _value(body, f)
        hi = f.hi if slash else lo
    if lo <= hi:
        return list(range(lo, hi + 1, step))
    if not f.wrap:
        raise ValueError(f"{f.name}: the range {body!r} runs backwards")
    return (list(range(lo, f.hi + 1)) + list(range(f.lo, hi + 1)))[::step]


def _set(text: str, f: _Field) -> tuple[int, ...]:
    values: set[int] = set()
    for item in text.split(","):
        if not item:
            raise ValueError(f"{f.name}: empty item in {text!r}")
        values.update(_item(item, f))
    return tuple(sorted(values))


def _aws_weekday(day: date) -> int:
    """1 = Sunday ... 7 = Saturday."""
    return (day.weekday() + 1) % 7 + 1


@dataclass(frozen=True)
class DaySpec:
    """Which days of a month fire: from the day-of-month or the day-of-week field.

    ``kind`` is one of ``dom`` (``values``), ``last`` (L), ``last_weekday`` (LW),
    ``nearest_weekday`` (``n``W), ``dow`` (``values``, 1 = Sunday), ``last_dow``
    (``n``L: the last such weekday) and ``nth_dow`` (``values[0]``#``n``).
    """

    kind: str
    values: tuple[int, ...] = ()
    n: int = 0

    def days(self, year: int, month: int) -> list[int]:
        """The days of that month that fire, ascending."""
        first_weekday, last = calendar.monthrange(year, month)  # Monday = 0
        aws_first = (first_weekday + 1) % 7 + 1
        if self.kind == "dom":
            return [d for d in self.values if d <= last]
        if self.kind == "last":
            return [last]
        if self.kind == "last_weekday":
            day = last
            while _aws_weekday(date(year, month, day)) in (1, 7):
                day -= 1
            return [day]
        if self.kind == "nearest_weekday":
            day = self.n
            if day > last:
                return []
            weekday = _aws_weekday(date(year, month, day))
            if weekday == 7:  # Saturday: Friday, or Monday if that leaves the month
                day = day - 1 if day > 1 else day + 2
            elif weekday == 1:  # Sunday: Monday, or Friday if that leaves the month
                day = day + 1 if day < last else day - 2
            return [day]
        # day-of-week kinds: the weekday of day d is (aws_first - 1 + d - 1) % 7 + 1
        if self.kind == "dow":
            return [d for d in range(1, last + 1) if (aws_first + d - 2) % 7 + 1 in self.values]
        target = self.values[0]
        first = 1 + (target - aws_first) % 7  # the month's first such weekday
        if self.kind == "last_dow":
            return [first + 7 * ((last - first) // 7)]
        day = first + 7 * (self.n - 1)  # nth_dow
        return [day] if day <= last else []


_NTH = re.compile(r"^([1-7]|[A-Za-z]{3})#([1-5])$")
_LAST_DOW = re.compile(r"^([1-7]|[A-Za-z]{3})L$", re.IGNORECASE)
_NEAREST = re.compile(r"^(\d{1,2})W$", re.IGNORECASE)


def _dom(text: str) -> DaySpec:
    upper = text.upper()
    if upper == "L":
        return DaySpec("last")
    if upper == "LW":
        return DaySpec("last_weekday")
    if match := _NEAREST.match(text):
        return DaySpec("nearest_weekday", n=_value(match.group(1), _DOM))
    if "L" in upper or "W" in upper:
        raise ValueError(f"day-of-month: {text!r}: L, LW and nW stand alone (e.g. L, LW, 15W)")
    return DaySpec("dom", _set(text, _DOM))


def _dow(text: str) -> DaySpec:
    if text.upper() == "L":
        return DaySpec("dow", (7,))
    if match := _NTH.match(text):
        return DaySpec("nth_dow", (_value(match.group(1), _DOW),), n=int(match.group(2)))
    if match := _LAST_DOW.match(text):
        return DaySpec("last_dow", (_value(match.group(1), _DOW),))
    if "#" in text:
        raise ValueError(f"day-of-week: {text!r}: '#' takes one weekday and 1-5, alone (e.g. 6#3)")
    if "L" in text.upper():  # no weekday name has an L
        raise ValueError(f"day-of-week: {text!r}: L stands alone, or after one weekday (e.g. 6L)")
    return DaySpec("dow", _set(text, _DOW))


@dataclass(frozen=True)
class Cron:
    text: str
    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    days: DaySpec
    months: tuple[int, ...]
    years: tuple[int, ...]

    def dates(self, since: date) -> Iterator[date]:
        """The days that fire, ascending, from ``since`` on."""
        for year in self.years[bisect.bisect_left(self.years, since.year) :]:
            for month in self.months:
                if (year, month) < (since.year, since.month):
                    continue
                for day in self.days.days(year, month):
                    if (year, month, day) >= (since.year, since.month, since.day):
                        yield date(year, month, day)


@dataclass(frozen=True)
class Rate:
    text: str
    value: int
    unit: str

    @property
    def interval(self) -> timedelta:
        return self.value * _UNITS[self.unit.rstrip("s")]


@dataclass(frozen=True)
class At:
    text: str
    local: datetime  # naive wall-clock time in the schedule's zone


Expression: TypeAlias = Cron | Rate | At

_UNITS = {"minute": timedelta(minutes=1), "hour": timedelta(hours=1), "day": timedelta(days=1)}
_RATE = re.compile(r"^([0-9]+) (minute|minutes|hour|hours|day|days)$")
_AT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$")


@functools.lru_cache(maxsize=1024)
def parse_expression(expression: str) -> Expression:
    """Parse ``cron(...)``, ``rate(...)`` or ``at(...)``; ``ValueError`` says what is wrong."""
    if not isinstance(expression, str):
        raise ValueError("a schedule expression is a string")
    kind, paren, rest = expression.partition("(")
    if not paren or not rest.endswith(")") or kind not in ("cron", "rate", "at"):
        raise ValueError(
            f"{expression!r} is not cron(m h dom mon dow y), rate(n unit) or at(yyyy-mm-ddThh:mm:ss)"
        )
    body = rest[:-1]
    try:
        if kind == "cron":
            return _parse_cron(expression, body)
        if kind == "rate":
            return _parse_rate(expression, body)
        return _parse_at(expression, body)
    except ValueError as exc:
        raise ValueError(f"{expression}: {exc}") from None


def _parse_cron(text: str, body: str) -> Cron:
    fields = body.split()
    if len(fields) != 6:
        raise ValueError(
            f"a cron expression has 6 fields (minutes hours day-of-month month day-of-week year), "
            f"not {len(fields)}"
        )
    minutes, hours, dom, month, dow, year = fields
    for name, value in (("minutes", minutes), ("hours", hours), ("month", month), ("year", year)):
        if value == "?":
            raise ValueError(f"{name}: '?' is only for day-of-month and day-of-week")
    if (dom == "?") == (dow == "?"):
        raise ValueError("exactly one of day-of-month and day-of-week must be '?'")
    return Cron(
        text=text,
        minutes=_set(minutes, _MINUTES),
        hours=_set(hours, _HOURS),
        days=_dow(dow) if dom == "?" else _dom(dom),
        months=_set(month, _MONTH),
        years=_set(year, _YEAR),
    )


def _parse_rate(text: str, body: str) -> Rate:
    match = _RATE.match(body)
    if not match:
        raise ValueError("a rate is 'value unit' with unit minute(s), hour(s) or day(s)")
    value, unit = int(match.group(1)), match.group(2)
    if value < 1:
        raise ValueError("the value of a rate must be a positive integer")
    if (value == 1) != (not unit.endswith("s")):
        raise ValueError(f"use the singular unit for 1 and the plural above 1 (not {value} {unit})")
    return Rate(text, value, unit)


def _parse_at(text: str, body: str) -> At:
    if not _AT.match(body):
        raise ValueError("a one-time schedule is at(yyyy-mm-ddThh:mm:ss)")
    try:
        return At(text, datetime.strptime(body, "%Y-%m-%dT%H:%M:%S"))  # noqa: DTZ007 - wall time
    except ValueError as exc:
        raise ValueError(f"{body} is not a valid date and time ({exc})") from None


@functools.lru_cache(maxsize=256)
def zone(tz: str) -> ZoneInfo:
    """The IANA zone; ``ValueError`` if unknown."""
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {tz!r}") from None


# ------------------------------------------------------------------------ evaluation


def local_to_utc(local: datetime, tz: ZoneInfo) -> datetime | None:
    """A naive wall-clock time in ``tz`` as UTC; None if the time does not exist there
    (a daylight-saving gap); the first of two if it is ambiguous (fold=0)."""
    utc = local.replace(tzinfo=tz, fold=0).astimezone(UTC)
    if utc.astimezone(tz).replace(tzinfo=None) != local:
        return None
    return utc


def _aware(name: str, moment: datetime) -> datetime:
    if moment.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")
    return moment.astimezone(UTC)


def _steady_offset(day: datetime, tz: ZoneInfo) -> timedelta | None:
    """The day's UTC offset if it has no transition (all its wall times exist, once)."""
    last = day.replace(hour=23, minute=59)
    offset = tz.utcoffset(day)
    if offset is None or offset != tz.utcoffset(last):
        return None
    if local_to_utc(day, tz) is None or local_to_utc(last, tz) is None:
        return None  # a day inside a gap (Pacific/Apia skipped 2011-12-30)
    return offset


def _cron_times(cron: Cron, tz: ZoneInfo, after: datetime) -> Iterator[datetime]:
    """Every occurrence strictly after ``after`` (UTC), ascending, to the year 2199.

    Wall times map to UTC monotonically (the first of two ambiguous ones, gaps skipped),
    so the walk starts at ``after``'s own wall time and stays in order.
    """
    start = after.astimezone(tz).replace(tzinfo=None)
    for day in cron.dates(start.date()):
        midnight = datetime(day.year, day.month, day.day)  # noqa: DTZ001 - wall time
        offset = _steady_offset(midnight, tz)
        hours = cron.hours
        if day == start.date():
            hours = hours[bisect.bisect_left(hours, start.hour) :]
        for hour in hours:
            for minute in cron.minutes:
                local = midnight.replace(hour=hour, minute=minute)
                if offset is not None:
                    utc: datetime | None = (local - offset).replace(tzinfo=UTC)
                else:
                    utc = local_to_utc(local, tz)
                if utc is not None and utc > after:
                    yield utc


def _rate_times(rate: Rate, start: datetime, after: datetime) -> Iterator[datetime]:
    interval = rate.interval
    k = 0 if after < start else (after - start) // interval + 1
    try:
        while True:
            yield start + k * interval
            k += 1
    except OverflowError:  # past the year 9999
        return


def _rate_count(rate: Rate, start: datetime, after: datetime, until: datetime) -> int:
    """How many times a rate fires in (after, until]."""
    if until < start:
        return 0
    first = 0 if after < start else (after - start) // rate.interval + 1
    return max(0, (until - start) // rate.interval - first + 1)


def iter_occurrences(
    expression: str | Expression, tz: str, after: datetime, start: datetime | None = None
) -> Iterator[datetime]:
    """Every fire time strictly after ``after``, ascending, as aware UTC datetimes; lazy.

    ``start``: for a rate, its anchor (required: the StartDate, or the creation time): it
    fires at ``start + k * interval``, k >= 0. For a cron, a lower bound (inclusive: the
    StartDate). Ignored for at(), as AWS ignores StartDate for one-time schedules.
    Arguments are checked at once (``ValueError``), not when iteration begins.
    """
    parsed = parse_expression(expression) if isinstance(expression, str) else expression
    zone_info = zone(tz)
    after = _aware("after", after)
    if isinstance(parsed, Rate):
        if start is None:
            raise ValueError(f"{parsed.text} needs a start (the schedule's start date or creation time)")
        return _rate_times(parsed, _aware("start", start), after)
    if isinstance(parsed, At):
        utc = local_to_utc(parsed.local, zone_info)
        return iter([utc] if utc is not None and utc > after else [])
    if start is not None:
        after = max(after, _aware("start", start) - _EPSILON)
    return _cron_times(parsed, zone_info, after)


def occurrences(
    expression: str | Expression,
    tz: str,
    after: datetime,
    until: datetime,
    start: datetime | None = None,
) -> list[datetime]:
    """Every fire time in (after, until], ascending, as aware UTC datetimes.

    cron and at are evaluated in ``tz``'s wall time (see the module's notes on daylight
    saving time); a rate is anchored at ``start`` (see ``iter_occurrences``). Refuses
    (``TooManyOccurrences``, a ``ValueError``) a window of more than ``MAX_OCCURRENCES``.
    """
    parsed = parse_expression(expression) if isinstance(expression, str) else expression
    until = _aware("until", until)
    # Count a rate first: its occurrences are arithmetic, so a huge window fails fast.
    if (
        isinstance(parsed, Rate)
        and start is not None
        and _rate_count(parsed, _aware("start", start), _aware("after", after), until) > MAX_OCCURRENCES
    ):
        raise TooManyOccurrences(f"{parsed.text} fires more than {MAX_OCCURRENCES} times in the window")
    result: list[datetime] = []
    for moment in iter_occurrences(parsed, tz, after, start):
        if moment > until:
            break
        if len(result) == MAX_OCCURRENCES:
            raise TooManyOccurrences(f"{parsed.text} fires more than {MAX_OCCURRENCES} times in the window")
        result.append(moment)
    return result


def next_occurrence(
    expression: str | Expression, tz: str, after: datetime, start: datetime | None = None
) -> datetime | None:
    """The first fire time strictly after ``after`` (UTC), or None if there is none."""
    return next(iter_occurrences(expression, tz, after, start), None)

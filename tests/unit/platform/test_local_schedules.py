"""EventBridge Scheduler expressions evaluate as AWS defines them, in the schedule's zone,
and the local Scheduler fires every occurrence exactly once however the clock moves."""

from __future__ import annotations

import calendar
import functools
import itertools
import json
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from infra.local.clock import SimulatedClock
from infra.local.schedules import Firing, ScheduleEntry, Scheduler
from shared.cron import (
    MAX_OCCURRENCES,
    Cron,
    DaySpec,
    Rate,
    TooManyOccurrences,
    next_occurrence,
    occurrences,
    parse_expression,
)
from shared.topology import Function, Queue, Schedule

SEOUL = "Asia/Seoul"
LA = "America/Los_Angeles"
BERLIN = "Europe/Berlin"
JAN_1 = datetime(2026, 1, 1, tzinfo=UTC)
QUEUE = Queue(id="reminders")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def in_year(expression: str, tz: str = "UTC", year: int = 2026) -> list[datetime]:
    return occurrences(expression, tz, utc(year, 1, 1) - timedelta(microseconds=1), utc(year, 12, 31, 23, 59))


def dates(moments: list[datetime]) -> list[date]:
    return [m.date() for m in moments]


# ------------------------------------------------------------------ AWS cron examples


def test_daily_nine_in_seoul_fires_at_midnight_utc() -> None:
    # Given a daily 09:00 schedule in Asia/Seoul (UTC+9, no daylight saving time)
    # When its occurrences over three days are listed
    fired = occurrences("cron(0 9 * * ? *)", SEOUL, JAN_1, JAN_1 + timedelta(days=3))
    # Then it fires at 00:00 UTC each day, never at 09:00 UTC
    assert fired == [utc(2026, 1, 2), utc(2026, 1, 3), utc(2026, 1, 4)]


def test_weekdays_at_ten_skip_the_weekend() -> None:
    # Given 10:00 Monday to Friday (2026-01-05 is a Monday)
    # When one week is listed
    fired = occurrences("cron(0 10 ? * MON-FRI *)", "UTC", utc(2026, 1, 4), utc(2026, 1, 11))
    # Then it fires on the five weekdays only
    assert fired == [utc(2026, 1, d, 10) for d in (5, 6, 7, 8, 9)]


def test_day_of_week_one_is_sunday() -> None:
    # Given day-of-week 1 (AWS: SUNDAY, not Monday as in Unix cron) and 2-6 (MON-FRI)
    # When a week of each is listed
    sundays = occurrences("cron(0 0 ? * 1 *)", "UTC", utc(2026, 1, 1), utc(2026, 1, 8))
    weekdays = occurrences("cron(0 0 ? * 2-6 *)", "UTC", utc(2026, 1, 4), utc(2026, 1, 11))
    # Then 1 is Sunday 2026-01-04, and 2-6 is the same as MON-FRI
    assert sundays == [utc(2026, 1, 4)]
    assert weekdays == occurrences("cron(0 0 ? * MON-FRI *)", "UTC", utc(2026, 1, 4), utc(2026, 1, 11))


def test_last_friday_of_each_month_in_2026() -> None:
    # Given AWS's own example: 10:15 on the last Friday (6L) of each month, in 2026 only
    fired = in_year("cron(15 10 ? * 6L 2026)")
    # Then it fires twelve times, on each month's last Friday at 10:15
    assert dates(fired) == [
        date(2026, 1, 30),
        date(2026, 2, 27),
        date(2026, 3, 27),
        date(2026, 4, 24),
        date(2026, 5, 29),
        date(2026, 6, 26),
        date(2026, 7, 31),
        date(2026, 8, 28),
        date(2026, 9, 25),
        date(2026, 10, 30),
        date(2026, 11, 27),
        date(2026, 12, 25),
    ]
    assert all((m.hour, m.minute, m.weekday()) == (10, 15, calendar.FRIDAY) for m in fired)
    # And not in any other year
    assert in_year("cron(15 10 ? * 6L 2026)", year=2027) == []


def test_last_day_of_month_knows_february_and_leap_years() -> None:
    # Given midnight on the last day of every month
    # When 2026 and 2028 (a leap year) are listed
    fired_2026 = dates(in_year("cron(0 0 L * ? *)"))
    fired_2028 = dates(in_year("cron(0 0 L * ? *)", year=2028))
    # Then each month's last day fires, February the 28th or the 29th
    assert fired_2026 == [date(2026, m, calendar.monthrange(2026, m)[1]) for m in range(1, 13)]
    assert date(2026, 2, 28) in fired_2026
    assert date(2028, 2, 29) in fired_2028


def test_first_monday_of_the_month() -> None:
    # Given 08:00 on the first Monday (2#1)
    fired = occurrences("cron(0 8 ? * 2#1 *)", "UTC", JAN_1, utc(2026, 5, 1))
    # Then it fires on the first Monday of January to April 2026
    assert fired == [utc(2026, 1, 5, 8), utc(2026, 2, 2, 8), utc(2026, 3, 2, 8), utc(2026, 4, 6, 8)]


def test_third_friday_and_a_missing_fifth() -> None:
    # Given the third Friday (6#3) and the fifth Friday (6#5) of each month
    third = dates(in_year("cron(0 12 ? * 6#3 *)"))
    fifth = dates(in_year("cron(0 12 ? * FRI#5 *)"))
    # Then the third Friday is always the 15th-21st; a fifth exists only in some months
    assert len(third) == 12
    assert all(15 <= d.day <= 21 and d.weekday() == calendar.FRIDAY for d in third)
    assert fifth == [date(2026, 1, 30), date(2026, 5, 29), date(2026, 7, 31), date(2026, 10, 30)]


def test_every_fifteen_minutes_is_96_a_day() -> None:
    # Given every 15 minutes (0/15)
    # When one UTC day is listed
    fired = occurrences("cron(0/15 * * * ? *)", "UTC", JAN_1 - timedelta(seconds=1), utc(2026, 1, 1, 23, 59))
    # Then there are 96, at :00 :15 :30 :45
    assert len(fired) == 96
    assert {m.minute for m in fired} == {0, 15, 30, 45}
    assert fired == sorted(fired)


def test_aws_examples_from_the_documentation() -> None:
    # Given AWS's example expressions
    # When a week from Monday 2026-01-05 is listed
    def week(expression: str) -> list[datetime]:
        return occurrences(
            expression, "UTC", utc(2026, 1, 5) - timedelta(seconds=1), utc(2026, 1, 11, 23, 59)
        )

    # Then each fires as its documented meaning says
    assert len(week("cron(0 10 * * ? *)")) == 7  # 10:00 every day
    assert week("cron(15 12 * * ? *)")[0] == utc(2026, 1, 5, 12, 15)  # 12:15 every day
    assert len(week("cron(0 18 ? * MON-FRI *)")) == 5  # 18:00 on weekdays
    assert len(week("cron(0/10 * ? * MON-FRI *)")) == 5 * 24 * 6  # every 10 min on weekdays
    assert len(week("cron(0/5 8-17 ? * MON-FRI *)")) == 5 * 10 * 12  # every 5 min 8:00-17:55
    assert week("cron(0 8 1 * ? *)") == []  # 08:00 on the 1st: not this week


def test_the_w_wildcard_finds_the_nearest_weekday_within_the_month() -> None:
    # Given 2026-08-01 is a Saturday, 2026-05-31 and 2026-03-15 are Sundays
    assert date(2026, 8, 1).weekday() == calendar.SATURDAY
    assert date(2026, 5, 31).weekday() == date(2026, 3, 15).weekday() == calendar.SUNDAY
    # When 1W, 31W and 15W are evaluated
    first = dates(occurrences("cron(0 9 1W * ? *)", "UTC", utc(2026, 7, 31), utc(2026, 8, 31)))
    last = dates(occurrences("cron(0 9 31W * ? *)", "UTC", utc(2026, 4, 1), utc(2026, 6, 1)))
    middle = dates(occurrences("cron(0 9 15W * ? *)", "UTC", utc(2026, 3, 1), utc(2026, 3, 31)))
    # Then a Saturday 1st moves forward to Monday the 3rd (never back into July), a Sunday 31st
    # back to Friday the 29th, a Sunday 15th to Monday the 16th; April has no 31st
    assert first == [date(2026, 8, 3)]
    assert last == [date(2026, 5, 29)]
    assert middle == [date(2026, 3, 16)]


def test_lw_is_the_last_weekday() -> None:
    # Given the last weekday of the month (LW); 2026-01-31 and 2026-10-31 are Saturdays
    fired = dates(in_year("cron(0 17 LW * ? *)"))
    # Then January and October fire on Friday the 30th, and every firing is a weekday
    assert date(2026, 1, 30) in fired
    assert date(2026, 10, 30) in fired
    assert len(fired) == 12
    assert all(d.weekday() < calendar.SATURDAY for d in fired)


def test_l_alone_in_day_of_week_is_saturday() -> None:
    # Given L alone in day-of-week (the last day of the week)
    fired = occurrences("cron(0 0 ? * L *)", "UTC", JAN_1, utc(2026, 1, 15))
    # Then it fires on Saturdays
    assert dates(fired) == [date(2026, 1, 3), date(2026, 1, 10)]


@pytest.mark.parametrize(
    ("field", "expected"),
    [
        ("1/10", (1, 11, 21, 31, 41, 51)),  # AWS: every tenth minute from the first
        ("*/20", (0, 20, 40)),
        ("10-50/20", (10, 30, 50)),
        ("5,10,55-57", (5, 10, 55, 56, 57)),
        ("58-2", (0, 1, 2, 58, 59)),  # a backwards range wraps round, as in Quartz
        ("55/10", (55,)),
        ("7", (7,)),
    ],
)
def test_minute_lists_ranges_and_increments(field: str, expected: tuple[int, ...]) -> None:
    # Given a minutes field
    # When it is parsed
    parsed = parse_expression(f"cron({field} * * * ? *)")
    # Then it means those minutes
    assert isinstance(parsed, Cron)
    assert parsed.minutes == expected


def test_names_ranges_and_years() -> None:
    # Given names in either case, wrapping ranges and a year range
    parsed = parse_expression("cron(0 22-2 ? nov-FEB fri-MON 2026-2028)")
    # Then they expand as AWS (Quartz) does
    assert isinstance(parsed, Cron)
    assert parsed.hours == (0, 1, 2, 22, 23)
    assert parsed.months == (1, 2, 11, 12)
    assert parsed.days == DaySpec("dow", (1, 2, 6, 7))
    assert parsed.years == (2026, 2027, 2028)


@pytest.mark.parametrize(
    "expression",
    [
        "cron(0 9 * * * *)",  # both day fields given
        "cron(0 9 ? * ? *)",  # neither
        "cron(0 9 * * ?)",  # five fields
        "cron(0 9 * * ? * *)",  # seven
        "cron(60 9 * * ? *)",
        "cron(0 24 * * ? *)",
        "cron(0 0 32 * ? *)",
        "cron(0 0 0 * ? *)",
        "cron(0 0 1 13 ? *)",
        "cron(0 0 ? * 0 *)",  # 0 is not a day of the week in AWS (1-7)
        "cron(0 0 ? * 8 *)",
        "cron(0 0 1 * ? 1969)",
        "cron(0 0 1 * ? 2200)",
        "cron(0 0 1 * ? 2030-2026)",  # years do not wrap
        "cron(*/60 * * * ? *)",  # a step beyond the field
        "cron(0/0 * * * ? *)",
        "cron(0 0 ? * 1/2 *)",  # no '/' in day-of-week
        "cron(0 0 ? * 3#1,6#3 *)",  # AWS: only one '#' expression
        "cron(0 0 ? * 6#6 *)",
        "cron(0 0 ? * 6#0 *)",
        "cron(0 0 ? * 2,6L *)",
        "cron(0 0 1W,15W * ? *)",  # W only for a single day
        "cron(0 0 L,15 * ? *)",
        "cron(0 0 32W * ? *)",
        "cron(L 0 1 * ? *)",
        "cron(0 0 1 MON ? *)",  # a weekday name in the month field
        "cron(0 0 ? * JAN *)",
        "cron(0 ? 1 * ? *)",
        "cron(0 0 1 * ? *",
        "cron(0,,5 0 1 * ? *)",
        "cron(0 0 1-5-7 * ? *)",
        "cron(-5 0 1 * ? *)",
        "rate(0 minutes)",
        "rate(1 minutes)",  # 1 takes the singular
        "rate(5 minute)",  # above 1, the plural
        "rate(5 seconds)",
        "rate(-1 days)",
        "rate(1.5 hours)",
        "rate(5minutes)",
        "rate()",
        "at(2026-13-01T00:00:00)",
        "at(2026-02-30T00:00:00)",
        "at(2026-12-24 09:00:00)",
        "at(2026-12-24T09:00)",
        "at(2026-12-24T24:00:00)",
        "every(5 minutes)",
        "CRON(0 9 * * ? *)",
        " cron(0 9 * * ? *)",
        "",
        "0 9 * * ? *",
    ],
)
def test_invalid_expressions_are_refused(expression: str) -> None:
    # Given an expression AWS would refuse
    # When it is parsed
    # Then a ValueError names the expression
    with pytest.raises(ValueError, match=r"\S") as caught:
        parse_expression(expression)
    assert expression.strip() in str(caught.value) or expression == ""


def test_messages_say_what_is_wrong() -> None:
    # Given expressions with one mistake each
    # When they are parsed
    # Then the message names the field and the rule
    with pytest.raises(ValueError, match="exactly one of day-of-month and day-of-week"):
        parse_expression("cron(0 9 * * MON *)")
    with pytest.raises(ValueError, match=r"minutes: 60 is out of range 0-59"):
        parse_expression("cron(60 9 * * ? *)")
    with pytest.raises(ValueError, match="singular"):
        parse_expression("rate(1 hours)")


@pytest.mark.parametrize(
    "expression",
    [
        "cron(0 9 * * ? *)",
        "cron(0 9 ? * * *)",
        "cron(0/5 8-17 ? * MON-FRI *)",
        "cron(15 10 ? * 6L 2002-2005)",
        "cron(0 0 ? * fril *)",
        "cron(0   9  *  * ? *)",
        "rate(1 minute)",
        "rate(2 hours)",
        "rate(1 day)",
        "rate(30 days)",
        "at(2026-12-24T09:00:00)",
    ],
)
def test_valid_expressions_are_accepted(expression: str) -> None:
    # Given an expression AWS accepts
    # When it is parsed
    # Then it parses
    assert parse_expression(expression).text == expression


# ----------------------------------------------------------------------- rate and at


def test_rate_is_anchored_at_its_start() -> None:
    # Given rate(15 minutes) created at 10:07:30
    start = utc(2026, 1, 1, 10, 7, 30)
    # When the next hour is listed, from just before its creation
    fired = occurrences(
        "rate(15 minutes)", "Asia/Seoul", start - timedelta(seconds=1), start + timedelta(hours=1), start
    )
    # Then it fires at once (AWS: without a StartDate it starts immediately) and every 15 minutes
    assert fired == [start + timedelta(minutes=15 * k) for k in range(5)]


def test_rate_days_are_24_hours_even_across_daylight_saving_time() -> None:
    # Given rate(1 day) started at 12:00 Los Angeles time before the spring change
    start = datetime(2026, 3, 7, 12, tzinfo=ZoneInfo(LA)).astimezone(UTC)
    # When three days are listed
    fired = occurrences("rate(1 day)", LA, start - timedelta(seconds=1), start + timedelta(days=2), start)
    # Then they are 24 hours apart in UTC: the wall time moves from 12:00 to 13:00
    assert [b - a for a, b in itertools.pairwise(fired)] == [timedelta(days=1)] * 2
    assert [m.astimezone(ZoneInfo(LA)).hour for m in fired] == [12, 13, 13]


def test_rate_needs_a_start() -> None:
    # Given a rate without the time it was created
    # When its occurrences are asked for
    # Then it is refused
    with pytest.raises(ValueError, match="needs a start"):
        occurrences("rate(5 minutes)", "UTC", JAN_1, JAN_1 + timedelta(hours=1))


def test_at_in_seoul_fires_once_at_midnight_utc() -> None:
    # Given a one-time schedule for 2026-12-24 09:00 in Seoul
    # When the whole of 2026 and 2027 is listed
    fired = occurrences("at(2026-12-24T09:00:00)", SEOUL, JAN_1, utc(2027, 12, 31))
    # Then it fires once, at 00:00 UTC
    assert fired == [utc(2026, 12, 24)]
    # And a window that starts at that instant (exclusive) does not include it
    assert occurrences("at(2026-12-24T09:00:00)", SEOUL, utc(2026, 12, 24), utc(2027, 1, 1)) == []


def test_windows_are_half_open_and_bounded() -> None:
    # Given daily midnight UTC
    # When the window (midnight, next midnight] is listed
    fired = occurrences("cron(0 0 * * ? *)", "UTC", JAN_1, JAN_1 + timedelta(days=1))
    # Then the start is excluded and the end included
    assert fired == [JAN_1 + timedelta(days=1)]
    # And an empty or reversed window is empty
    assert occurrences("cron(0 0 * * ? *)", "UTC", JAN_1, JAN_1) == []
    assert occurrences("cron(0 0 * * ? *)", "UTC", JAN_1, JAN_1 - timedelta(days=5)) == []


def test_huge_windows_are_refused() -> None:
    # Given an every-minute cron and rate, and windows of 70 days (100,800 minutes)
    end = JAN_1 + timedelta(days=70)
    # When they are listed
    # Then both are refused
    with pytest.raises(TooManyOccurrences):
        occurrences("cron(* * * * ? *)", "UTC", JAN_1, end)
    with pytest.raises(TooManyOccurrences):
        occurrences("rate(1 minute)", "UTC", JAN_1, end, JAN_1)
    # And exactly MAX_OCCURRENCES is still allowed
    assert len(
        occurrences("rate(1 minute)", "UTC", JAN_1, JAN_1 + timedelta(minutes=MAX_OCCURRENCES), JAN_1)
    ) == (MAX_OCCURRENCES)


def test_naive_datetimes_and_unknown_zones_are_refused() -> None:
    # Given a naive window bound, or a zone that does not exist
    # When occurrences are asked for
    # Then ValueError
    with pytest.raises(ValueError, match="timezone-aware"):
        occurrences("cron(0 0 * * ? *)", "UTC", datetime(2026, 1, 1), JAN_1)  # noqa: DTZ001
    with pytest.raises(ValueError, match="unknown time zone"):
        occurrences("cron(0 0 * * ? *)", "Mars/Olympus_Mons", JAN_1, JAN_1 + timedelta(days=1))


def test_next_occurrence() -> None:
    # Given a yearly expression and one that can never fire (30 February)
    # When the next occurrence is asked for
    # Then the first is found and the second has none
    assert next_occurrence("cron(0 0 1 JAN ? *)", "UTC", JAN_1) == utc(2027, 1, 1)
    assert next_occurrence("cron(0 0 30 FEB ? *)", "UTC", JAN_1) is None
    assert next_occurrence("cron(0 0 1 JAN ? 2026)", "UTC", JAN_1) is None


# ---------------------------------------------------------------- daylight saving time


def test_los_angeles_spring_forward_skips_the_missing_time() -> None:
    # Given 02:30 daily in Los Angeles; on 2026-03-08 clocks jump from 02:00 to 03:00
    # When 7-9 March are listed
    fired = occurrences("cron(30 2 * * ? *)", LA, utc(2026, 3, 7), utc(2026, 3, 10))
    # Then 02:30 PST on the 7th and 02:30 PDT on the 9th fire; the 8th (02:30 never exists) is skipped
    assert fired == [utc(2026, 3, 7, 10, 30), utc(2026, 3, 9, 9, 30)]


def test_los_angeles_fall_back_fires_the_repeated_time_once() -> None:
    # Given 01:30 daily in Los Angeles; on 2026-11-01 01:00-01:59 happens twice
    # When 31 October - 2 November are listed
    fired = occurrences("cron(30 1 * * ? *)", LA, utc(2026, 10, 31), utc(2026, 11, 3))
    # Then the 1st fires once, at the first 01:30 (PDT, 08:30 UTC), not again at 09:30 UTC
    assert fired == [utc(2026, 10, 31, 8, 30), utc(2026, 11, 1, 8, 30), utc(2026, 11, 2, 9, 30)]


def test_every_15_minutes_on_the_change_days_in_los_angeles() -> None:
    # Given every 15 minutes in Los Angeles
    def local_day(day: date) -> list[datetime]:
        tz = ZoneInfo(LA)
        begin = datetime(day.year, day.month, day.day, tzinfo=tz)
        end = datetime.combine(day + timedelta(days=1), datetime.min.time(), tz)
        return occurrences(
            "cron(0/15 * * * ? *)", LA, begin - timedelta(seconds=1), end - timedelta(seconds=1)
        )

    # When the two change days are listed
    # Then the 23-hour day fires 92 times and the 25-hour day 96 times (the repeated hour once)
    assert len(local_day(date(2026, 3, 8))) == 92
    assert len(local_day(date(2026, 11, 1))) == 96
    assert len(local_day(date(2026, 7, 1))) == 96


def test_berlin_daily_times_follow_the_wall_clock() -> None:
    # Given 09:00 daily in Berlin (CET UTC+1, CEST UTC+2 from 2026-03-29 to 2026-10-25)
    fired = occurrences("cron(0 9 * * ? *)", BERLIN, utc(2026, 3, 28), utc(2026, 3, 31))
    autumn = occurrences("cron(0 9 * * ? *)", BERLIN, utc(2026, 10, 24), utc(2026, 10, 27))
    # Then the UTC time moves by an hour across each change
    assert fired == [utc(2026, 3, 28, 8), utc(2026, 3, 29, 7), utc(2026, 3, 30, 7)]
    assert autumn == [utc(2026, 10, 24, 7), utc(2026, 10, 25, 8), utc(2026, 10, 26, 8)]


def test_berlin_missing_and_repeated_hours() -> None:
    # Given 02:30 daily in Berlin: it does not exist on 2026-03-29 and happens twice on 2026-10-25
    spring = occurrences("cron(30 2 * * ? *)", BERLIN, utc(2026, 3, 29), utc(2026, 3, 30))
    autumn = occurrences("cron(30 2 * * ? *)", BERLIN, utc(2026, 10, 25), utc(2026, 10, 26))
    # Then spring's is skipped and autumn's fires once, at the first (CEST) 02:30
    assert spring == []
    assert autumn == [utc(2026, 10, 25, 0, 30)]


def test_a_day_a_zone_skipped_entirely_never_fires() -> None:
    # Given noon daily in Pacific/Apia, which skipped 2011-12-30 when it crossed the date line
    # When 28 December 2011 - 1 January 2012 (UTC) is listed
    fired = occurrences("cron(0 12 * * ? *)", "Pacific/Apia", utc(2011, 12, 28), utc(2012, 1, 1))
    # Then the 28th and 29th (UTC-10) and the 31st and 1st (UTC+14) fire; the 30th never existed
    apia = ZoneInfo("Pacific/Apia")
    assert [m.astimezone(apia).day for m in fired] == [28, 29, 31, 1]
    assert fired == [
        utc(2011, 12, 28, 22),
        utc(2011, 12, 29, 22),
        utc(2011, 12, 30, 22),
        utc(2011, 12, 31, 22),
    ]


def test_at_a_missing_wall_time_never_fires() -> None:
    # Given a one-time schedule at 02:30 on the night Los Angeles skips 02:00-03:00
    # When the year is listed
    # Then it never fires (as a cron at that time is skipped); an ambiguous one fires once
    assert occurrences("at(2026-03-08T02:30:00)", LA, JAN_1, utc(2027, 1, 1)) == []
    assert occurrences("at(2026-11-01T01:30:00)", LA, JAN_1, utc(2027, 1, 1)) == [utc(2026, 11, 1, 8, 30)]


# ------------------------------------------------------ properties against an oracle

ZONES = ["UTC", SEOUL, LA, BERLIN, "Australia/Lord_Howe", "Asia/Kathmandu", "America/Havana"]


@functools.lru_cache(maxsize=4096)
def _oracle_days(spec: DaySpec, year: int, month: int) -> list[int]:
    """Which days fire, by a plain reading of each rule (independent of DaySpec.days)."""
    last = calendar.monthrange(year, month)[1]

    def aws_dow(d: int) -> int:  # 1 = Sunday
        return date(year, month, d).isoweekday() % 7 + 1

    weekdays = [d for d in range(1, last + 1) if aws_dow(d) not in (1, 7)]
    result = []
    for d in range(1, last + 1):
        ok = {
            "dom": d in spec.values,
            "last": d == last,
            "last_weekday": d == weekdays[-1],
            "nearest_weekday": spec.n <= last and d == min(weekdays, key=lambda w: (abs(w - spec.n), w)),
            "dow": aws_dow(d) in spec.values,
            "last_dow": bool(spec.values) and aws_dow(d) == spec.values[0] and d + 7 > last,
            "nth_dow": bool(spec.values) and aws_dow(d) == spec.values[0] and (d - 1) // 7 + 1 == spec.n,
        }[spec.kind]
        if ok:
            result.append(d)
    return result


_day_specs = st.one_of(
    st.just("L"),
    st.just("LW"),
    st.integers(1, 31).map(lambda n: f"{n}W"),
    st.lists(st.integers(1, 31), min_size=1, max_size=4).map(lambda xs: ",".join(map(str, xs))),
).map(lambda dom: f"cron(0 0 {dom} * ? *)") | st.one_of(
    st.just("L"),
    st.integers(1, 7).map(lambda n: f"{n}L"),
    st.tuples(st.integers(1, 7), st.integers(1, 5)).map(lambda t: f"{t[0]}#{t[1]}"),
    st.lists(st.integers(1, 7), min_size=1, max_size=3).map(lambda xs: ",".join(map(str, xs))),
).map(lambda dow: f"cron(0 0 ? * {dow} *)")


@settings(max_examples=150, deadline=None)
@given(expression=_day_specs, year=st.integers(1970, 2199), month=st.integers(1, 12))
def test_day_rules_match_a_plain_reading(expression: str, year: int, month: int) -> None:
    # Given any day-of-month or day-of-week rule and any month
    parsed = parse_expression(expression)
    assert isinstance(parsed, Cron)
    # When the month's firing days are computed
    # Then they are the days a plain reading of the rule picks
    assert parsed.days.days(year, month) == _oracle_days(parsed.days, year, month)


def _field(lo: int, hi: int) -> st.SearchStrategy[str]:
    single = st.integers(lo, hi).map(str)
    ranged = st.tuples(st.integers(lo, hi), st.integers(lo, hi)).map(lambda t: f"{t[0]}-{t[1]}")
    stepped = st.tuples(st.integers(lo, hi), st.integers(1, 17)).map(lambda t: f"{t[0]}/{t[1]}")
    every = st.integers(1, 17).map(lambda s: f"*/{s}")
    return st.one_of(
        st.just("*"), single, ranged, stepped, every, st.lists(single, min_size=2, max_size=3).map(",".join)
    )


_crons = st.builds(
    lambda m, h, days: f"cron({m} {h} {days} *)",
    _field(0, 59),
    _field(0, 23),
    st.sampled_from(
        [
            "* * ?",
            "? * *",
            "L * ?",
            "? * MON-FRI",
            "1W * ?",
            "15W * ?",
            "LW * ?",
            "? * 6L",
            "? * 1#1",
            "? * 2#2",
            "1,15 * ?",
            "? JAN,MAR,NOV 1-3",
            "28-3 * ?",
        ]
    ),
)


def _moments(first: datetime, last: datetime) -> st.SearchStrategy[datetime]:
    """Aware UTC instants between two, to the microsecond."""
    span = int((last - first) / timedelta(microseconds=1))
    return st.integers(0, span).map(lambda us: first + timedelta(microseconds=us))


# Around the 2026 changes in the zones above, and anywhere else in 2025-2027.
_starts = st.one_of(
    st.sampled_from(
        [
            utc(2026, 3, 8, 8),
            utc(2026, 11, 1, 7),
            utc(2026, 3, 29),
            utc(2026, 10, 25),
            utc(2026, 4, 4, 14),
            utc(2026, 10, 3, 14),
            utc(2026, 3, 8, 4),
            utc(2026, 11, 1, 4),
        ]
    ),
    _moments(utc(2025, 1, 1), utc(2027, 12, 31)),
)


@settings(max_examples=60, deadline=None)
@given(
    expression=_crons,
    tz=st.sampled_from(ZONES),
    start=_starts,
    shift=st.integers(-600, 600),
    hours=st.integers(1, 30),
)
def test_cron_matches_minute_by_minute_evaluation(
    expression: str, tz: str, start: datetime, shift: int, hours: int
) -> None:
    # Given any cron, zone and window (often across a daylight-saving change)
    after = start + timedelta(minutes=shift)
    until = after + timedelta(hours=hours)
    parsed = parse_expression(expression)
    assert isinstance(parsed, Cron)
    zone = ZoneInfo(tz)
    # When the window is walked minute by minute in UTC, each minute read in wall time, an
    # ambiguous wall time counting only at its first occurrence (gaps are never walked)
    expected = []
    moment = after.replace(second=0, microsecond=0) + timedelta(minutes=1)
    while moment <= until:
        local = moment.astimezone(zone)
        first = local.replace(fold=0).astimezone(UTC) == moment
        if (
            first
            and local.minute in parsed.minutes
            and local.hour in parsed.hours
            and local.month in parsed.months
            and local.year in parsed.years
            and local.day in _oracle_days(parsed.days, local.year, local.month)
        ):
            expected.append(moment)
        moment += timedelta(minutes=1)
    # Then occurrences() gives exactly those minutes, in order
    assert occurrences(parsed, tz, after, until) == expected


@settings(max_examples=40, deadline=None)
@given(
    value=st.integers(1, 90),
    unit=st.sampled_from(["minutes", "hours", "days"]),
    start=_moments(utc(2025, 1, 1), utc(2027, 1, 1)),
    lead=st.integers(-10_000, 10_000),
)
def test_rate_occurrences_are_evenly_spaced_from_the_start(
    value: int, unit: str, start: datetime, lead: int
) -> None:
    # Given any rate, start and window
    text = f"rate({value} {unit if value > 1 else unit[:-1]})"
    rate = parse_expression(text)
    assert isinstance(rate, Rate)
    after = start + timedelta(minutes=lead)
    until = max(after, start) + 300 * rate.interval
    # When the window is listed
    fired = occurrences(text, "UTC", after, until, start)
    # Then every occurrence is start + k * interval (k >= 0), inside the window, none missing
    assert fired
    assert all((m - start) % rate.interval == timedelta(0) and m >= start for m in fired)
    assert all(after < m <= until for m in fired)
    assert all(b - a == rate.interval for a, b in itertools.pairwise(fired))
    assert fired[0] - rate.interval <= max(after, start - rate.interval)
    assert fired[-1] + rate.interval > until


# ------------------------------------------------------------------------- Scheduler


def entry(name: str = "daily", expression: str = "cron(0 9 * * ? *)", **kw: object) -> ScheduleEntry:
    kw.setdefault("timezone", SEOUL)
    return ScheduleEntry(
        name=name, expression=expression, target=QUEUE, input='{"job": "' + name + '"}', **kw
    )  # type: ignore[arg-type]


def frozen_clock(when: str = "2026-12-01T00:30", tz: str = SEOUL) -> SimulatedClock:
    clock = SimulatedClock(real=lambda: utc(2026, 1, 1))
    clock.freeze()
    clock.set(when, tz)
    return clock


def test_daily_seoul_schedule_fires_once_per_simulated_day_at_midnight_utc() -> None:
    # Given a daily 09:00 Asia/Seoul schedule and a simulated clock, hour by hour for a week
    clock = frozen_clock()
    scheduler = Scheduler([entry()], now=clock())
    fired: list[Firing] = []
    # When the clock advances an hour at a time and the scheduler is asked each time
    for _ in range(7 * 24):
        clock.advance("1h")
        fired += scheduler.due(clock())
    # Then it fired once a day, at 00:00 UTC (09:00 in Seoul), never at 09:00 UTC
    assert [f.scheduled_utc for f in fired] == [utc(2026, 12, d) for d in range(1, 8)]
    assert all(f.scheduled_local.hour == 9 and f.scheduled_local.tzinfo == ZoneInfo(SEOUL) for f in fired)
    assert not any(f.scheduled_utc.hour == 9 for f in fired)
    assert {(f.schedule_id, f.target, f.input) for f in fired} == {("daily", QUEUE, '{"job": "daily"}')}


def test_advancing_a_day_at_once_fires_every_occurrence_once_in_order() -> None:
    # Given every 15 minutes, and a daily one, and the clock at midnight UTC
    clock = frozen_clock("2026-12-01T00:00:30", "UTC")
    scheduler = Scheduler([entry("quarter", "cron(0/15 * * * ? *)", timezone="UTC"), entry()], now=clock())
    # When the clock jumps a whole day and the scheduler is asked once
    fired = scheduler.due(clock.advance("1d"))
    # Then every quarter-hour of the day fired once, and the daily one
    quarters = [f.scheduled_utc for f in fired if f.schedule_id == "quarter"]
    assert quarters == [utc(2026, 12, 1) + timedelta(minutes=15 * k) for k in range(1, 97)]
    assert [f.scheduled_utc for f in fired if f.schedule_id == "daily"] == [utc(2026, 12, 2)]
    assert [f.scheduled_utc for f in fired] == sorted(f.scheduled_utc for f in fired)
    # And asking again at the same time fires nothing
    assert scheduler.due(clock()) == []


def test_moving_the_clock_back_fires_nothing_again() -> None:
    # Given an hourly schedule that has fired through a day
    clock = frozen_clock("2026-12-01T00:00:30", "UTC")
    scheduler = Scheduler([entry("hourly", "cron(0 * * * ? *)")], now=clock())
    assert len(scheduler.due(clock.advance("1d"))) == 24
    # When the clock goes back 12 hours, then forward again to where it was
    back = scheduler.due(clock.advance("-12h"))
    again = scheduler.due(clock.advance("12h"))
    # Then nothing fires twice, and the next new hour fires once
    assert back == again == []
    assert [f.scheduled_utc for f in scheduler.due(clock.advance("1h"))] == [utc(2026, 12, 2, 1)]


def test_one_time_schedule_fires_once_then_completes() -> None:
    # Given at(2026-12-24T09:00:00) in Seoul, and the clock on the 20th
    clock = frozen_clock("2026-12-20T00:00")
    scheduler = Scheduler([entry("xmas", "at(2026-12-24T09:00:00)")], now=clock())
    assert scheduler.status("xmas").next_utc == utc(2026, 12, 24)
    # When the clock passes the time, twice, and goes back and forward again
    first = scheduler.due(clock.set("2026-12-24T09:00", SEOUL))
    later = scheduler.due(clock.advance("30d"))
    clock.set("2026-12-23T00:00", SEOUL)
    scheduler.due(clock())
    replay = scheduler.due(clock.advance("5d"))
    # Then it fired exactly once, at 00:00 UTC, and is complete
    assert [f.scheduled_utc for f in first] == [utc(2026, 12, 24)]
    assert later == replay == []
    status = scheduler.status("xmas")
    assert status.completed
    assert status.fired == 1
    assert status.next_utc is None


def test_one_time_schedule_with_delete_goes_away() -> None:
    # Given a one-time schedule whose action after completion is DELETE
    clock = frozen_clock()
    scheduler = Scheduler(
        [entry("once", "at(2026-12-02T09:00:00)", action_after_completion="DELETE")], now=clock()
    )
    # When it fires
    fired = scheduler.due(clock.advance("2d"))
    # Then it is gone
    assert len(fired) == 1
    assert scheduler.entries() == []
    with pytest.raises(KeyError):
        scheduler.get("once")


def test_one_time_schedule_in_the_past_does_not_fire() -> None:
    # Given a one-time schedule created after its time
    clock = frozen_clock("2026-12-25T00:00")
    scheduler = Scheduler([entry("late", "at(2026-12-24T09:00:00)")], now=clock())
    # When the clock runs on
    # Then it never fires and is complete
    assert scheduler.due(clock.advance("1d")) == []
    assert scheduler.status("late").completed


def test_disabled_schedules_never_fire() -> None:
    # Given a disabled every-15-minutes schedule
    clock = frozen_clock()
    scheduler = Scheduler([entry("off", "rate(15 minutes)", state="DISABLED")], now=clock())
    # When days pass, at once and bit by bit
    fired = scheduler.due(clock.advance("3d"))
    for _ in range(10):
        fired += scheduler.due(clock.advance("7m"))
    # Then it never fired
    assert fired == []
    assert scheduler.status("off").next_utc is None


def test_disabling_keeps_what_was_due_and_enabling_skips_what_fell_while_disabled() -> None:
    # Given an hourly schedule created at 00:00:30 UTC
    clock = frozen_clock("2026-12-01T00:00:30", "UTC")
    scheduler = Scheduler([entry("hourly", "cron(0 * * * ? *)", timezone="UTC")], now=clock())
    # When it is disabled at 03:30 (before any due() call), enabled at 10:30, and due at 12:30
    scheduler.set_state("hourly", "DISABLED", now=clock.advance("3h30m"))
    scheduler.set_state("hourly", "ENABLED", now=clock.advance("7h"))
    fired = scheduler.due(clock.advance("2h"))
    # Then 01:00-03:00 (while enabled) and 11:00-12:00 fired; 04:00-10:00 did not
    assert [f.scheduled_utc.hour for f in fired] == [1, 2, 3, 11, 12]


def test_updating_keeps_what_already_fired() -> None:
    # Given an hourly schedule that fired through the morning
    clock = frozen_clock("2026-12-01T00:00:30", "UTC")
    scheduler = Scheduler([entry("job", "cron(0 * * * ? *)", timezone="UTC")], now=clock())
    assert len(scheduler.due(clock.advance("6h"))) == 6
    # When it is updated to every 30 minutes, and time goes on
    scheduler.update(entry("job", "cron(0/30 * * * ? *)", timezone="UTC"), now=clock())
    fired = scheduler.due(clock.advance("1h"))
    # Then only the new definition's occurrences after the update fire
    assert [f.scheduled_utc for f in fired] == [utc(2026, 12, 1, 6, 30), utc(2026, 12, 1, 7)]


def test_rate_fires_at_creation_and_every_interval() -> None:
    # Given rate(15 minutes) created at 09:07:42 Seoul time
    clock = frozen_clock("2026-12-01T09:07:42")
    scheduler = Scheduler(now=clock())
    scheduler.add(entry("poll", "rate(15 minutes)"), now=clock())
    # When 40 minutes pass
    fired = scheduler.due(clock.advance("40m"))
    # Then it fired at creation and 15 and 30 minutes later
    created = utc(2026, 12, 1, 0, 7, 42)
    assert [f.scheduled_utc for f in fired] == [created + timedelta(minutes=m) for m in (0, 15, 30)]


def test_start_and_end_dates_bound_a_recurring_schedule() -> None:
    # Given an hourly schedule from 02:00 to 05:00 UTC, deleted after completion
    clock = frozen_clock("2026-12-01T00:00", "UTC")
    scheduler = Scheduler(
        [
            entry(
                "window",
                "cron(0 * * * ? *)",
                start_date=utc(2026, 12, 1, 2),
                end_date=utc(2026, 12, 1, 5),
                action_after_completion="DELETE",
            )
        ],
        now=clock(),
    )
    # When the day passes
    fired = scheduler.due(clock.advance("1d"))
    # Then 02:00-05:00 fired and the schedule is gone
    assert [f.scheduled_utc.hour for f in fired] == [2, 3, 4, 5]
    assert scheduler.entries() == []


def test_flexible_window_fires_at_its_start() -> None:
    # Given a daily schedule with a 30-minute flexible window
    clock = frozen_clock()
    scheduler = Scheduler([entry(flexible_window_min=30)], now=clock())
    # When it falls due
    (firing,) = scheduler.due(clock.advance("1d"))
    # Then it fires at the scheduled time, the window's start, and says where the window ends
    assert firing.scheduled_utc == utc(2026, 12, 1)
    assert firing.latest_utc == utc(2026, 12, 1, 0, 30)


def test_a_jump_too_far_is_refused_without_losing_state() -> None:
    # Given an every-minute schedule
    clock = frozen_clock("2026-12-01T00:00", "UTC")
    scheduler = Scheduler([entry("minutely", "rate(1 minute)")], now=clock())
    # When the clock jumps 100 days
    # Then due() refuses, and changes nothing: a smaller step still fires from the start
    with pytest.raises(TooManyOccurrences, match="minutely"):
        scheduler.due(clock.advance("100d"))
    assert len(scheduler.due(utc(2026, 12, 1, 1))) == 61
    # And skip_to() moves on without firing
    scheduler.skip_to(clock())
    assert [f.scheduled_utc for f in scheduler.due(clock.advance("2m"))] == [
        clock() - timedelta(minutes=1),
        clock(),
    ]


def test_schedules_from_the_topology() -> None:
    # Given a topology schedule that targets a function
    fn = Function(
        id="digest", service="campaign", handler="services.campaign.handlers.digest.handler", description="x"
    )
    schedule = Schedule(
        id="weekly-digest",
        expression="cron(0 8 ? * MON *)",
        target=fn,
        timezone=SEOUL,
        input=json.dumps({"kind": "digest"}),
        flexible_window_min=15,
        retry_attempts=2,
        max_event_age_s=600,
    )
    clock = frozen_clock("2026-12-06T12:00")  # a Sunday in Seoul
    scheduler = Scheduler.from_topology([schedule], now=clock())
    # When a week passes
    fired = scheduler.due(clock.advance("7d"))
    # Then it fired on Monday 08:00 Seoul (Sunday 23:00 UTC) at the function, with its input and policy
    (firing,) = fired
    assert firing.scheduled_utc == utc(2026, 12, 6, 23)
    assert (firing.schedule_id, firing.group, firing.target, firing.input) == (
        "weekly-digest",
        "default",
        fn,
        '{"kind": "digest"}',
    )
    assert (firing.entry.retry_attempts, firing.entry.max_event_age_s, firing.entry.flexible_window_min) == (
        2,
        600,
        15,
    )


def test_firing_fills_in_context_attributes() -> None:
    # Given a schedule whose input uses EventBridge Scheduler's context attributes
    clock = frozen_clock("2026-12-01T00:00", "UTC")
    template = (
        '{"arn": "<aws.scheduler.schedule-arn>", "at": "<aws.scheduler.scheduled-time>",'
        ' "id": "<aws.scheduler.execution-id>", "attempt": <aws.scheduler.attempt-number>}'
    )
    scheduler = Scheduler(
        [
            ScheduleEntry(
                name="ctx", expression="cron(0 1 * * ? *)", target="arn:aws:sqs:x:1:q", input=template
            )
        ],
        now=clock(),
    )
    (firing,) = scheduler.due(clock.advance("1h"))
    # When its input is rendered
    rendered = json.loads(firing.render_input("arn:aws:scheduler:x:1:schedule/default/ctx", attempt=2))
    # Then the attributes are filled in; the execution id is stable for the occurrence
    assert rendered["arn"] == "arn:aws:scheduler:x:1:schedule/default/ctx"
    assert rendered["at"] == "2026-12-01T01:00:00Z"
    assert rendered["attempt"] == 2
    assert rendered["id"] == firing.execution_id == json.loads(firing.render_input())["id"]


def test_entries_are_validated_and_names_unique() -> None:
    # Given a scheduler with one schedule
    now = utc(2026, 12, 1, 1)
    scheduler = Scheduler([entry()], now=now)
    # When invalid entries or a duplicate are added
    # Then each is refused
    with pytest.raises(ValueError, match="already exists"):
        scheduler.add(entry(), now=now)
    for bad in (
        {"expression": "cron(0 9 * * * *)"},
        {"timezone": "Nowhere/Special"},
        {"state": "PAUSED"},
        {"flexible_window_min": 0},
        {"action_after_completion": "ARCHIVE"},
        {"name": "has space"},
        {"start_date": datetime(2026, 1, 1)},  # noqa: DTZ001
        {"start_date": utc(2026, 2, 1), "end_date": utc(2026, 1, 1)},
    ):
        with pytest.raises(ValueError, match=r"\S"):
            entry(**bad)
    # And the same name in another group is a different schedule
    scheduler.add(entry(group="other"), now=now)
    assert [e.key for e in scheduler.entries()] == [("default", "daily"), ("other", "daily")]
    # And removing makes it fire no more
    scheduler.remove("daily")
    assert [f.group for f in scheduler.due(now + timedelta(days=2))] == ["other", "other"]


_moves = st.lists(st.integers(-36 * 60, 36 * 60), min_size=1, max_size=25)


@settings(max_examples=40, deadline=None)
@given(
    expression=st.sampled_from(
        [
            "cron(0 9 * * ? *)",
            "cron(0/15 * * * ? *)",
            "cron(30 2 * * ? *)",
            "rate(7 minutes)",
            "rate(5 hours)",
            "at(2026-03-09T09:00:00)",
            "cron(0 10 ? * MON-FRI *)",
        ]
    ),
    tz=st.sampled_from([SEOUL, LA, BERLIN]),
    moves=_moves,
)
def test_any_clock_moves_fire_each_occurrence_exactly_once(
    expression: str, tz: str, moves: list[int]
) -> None:
    # Given a schedule created before the 2026 spring change, and any moves of the clock (back and forth)
    created = utc(2026, 3, 6, 12, 0, 0)
    scheduler = Scheduler(
        [ScheduleEntry(name="s", expression=expression, target=QUEUE, timezone=tz)], now=created
    )
    now, furthest, fired = created, created - timedelta(microseconds=1), []
    # When due() is asked after each move
    for minutes in moves:
        now += timedelta(minutes=minutes)
        batch = [f.scheduled_utc for f in scheduler.due(now)]
        assert batch == sorted(batch)
        assert all(t <= now for t in batch)
        fired += batch
        furthest = max(furthest, now)
    # Then the firings are exactly the occurrences up to the furthest time asked about, each once
    expected = occurrences(expression, tz, created - timedelta(microseconds=1), furthest, created)
    assert fired == expected


def test_jumping_the_clock_back_lets_past_days_fire_again_from_there() -> None:
    # Given a daily 09:00 Seoul schedule that has run up to late 2026
    entry = ScheduleEntry(name="greet", expression="cron(0 9 * * ? *)", target="arn:x", timezone="Asia/Seoul")
    scheduler = Scheduler([entry], now=datetime(2026, 11, 1, tzinfo=UTC))
    scheduler.due(datetime(2026, 11, 22, tzinfo=UTC))
    # When the simulated clock is set back to 08:59 Seoul on 27 February 2025 and runs two minutes
    scheduler.jump_to(datetime(2025, 2, 26, 23, 59, tzinfo=UTC))
    fired = scheduler.due(datetime(2025, 2, 27, 0, 1, tzinfo=UTC))
    # Then that day's 09:00 fires, once
    assert [f.scheduled_utc for f in fired] == [datetime(2025, 2, 27, 0, 0, tzinfo=UTC)]
    assert scheduler.due(datetime(2025, 2, 27, 0, 1, tzinfo=UTC)) == []

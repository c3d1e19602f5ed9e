"""Business-hours calendars: the teams' hours, Korea's public holidays (lunar and substitute ones
included), exact boundaries, wall-clock hours across a DST change, and ``business_seconds_between``
as the inverse of ``add_business_time`` for any calendar, start and amount."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays
import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.feedback.logic.calendar import (
    EVERY_DAY,
    MAX_CLOSED_DAYS,
    SATURDAY,
    SUNDAY,
    TEAMS,
    WEEKDAYS,
    Calendar,
    Hours,
    holidays_of,
    week,
)
from tests.unit.fakes import PROPERTIES

SEOUL = ZoneInfo("Asia/Seoul")
NEW_YORK = ZoneInfo("America/New_York")
FRONTLINE, FOLLOW_UP = TEAMS["frontline"], TEAMS["follow_up"]
HOUR = 3600
OFFICE = Hours.parse("09:00", "18:00")


def seoul(year: int, month: int, day: int, hour: int = 0, minute: int = 0, *, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=SEOUL)


def new_york(year: int, month: int, day: int, hour: int = 0, minute: int = 0, *, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=NEW_YORK)


def kr_2026(name: str, *, exact: bool = True) -> list[date]:
    """The days of 2026 the holidays package names ``name`` (or a name containing it)."""
    found = holidays.country_holidays("KR", years=2026)
    return sorted(
        d
        for d, names in found.items()
        if any(n == name or (not exact and name in n) for n in names.split("; "))
    )


# --- the teams ---------------------------------------------------------------------------------


def test_the_teams_calendars_are_seoul_hours_on_korean_holidays() -> None:
    assert set(TEAMS) == {"frontline", "follow_up"}
    assert Calendar(zone="Asia/Seoul", country="KR", hours=(Hours.parse("09:00", "21:00"),) * 7) == FRONTLINE
    assert Calendar(zone="Asia/Seoul", country="KR", hours=(OFFICE,) * 5 + (None, None)) == FOLLOW_UP
    with pytest.raises(TypeError):
        TEAMS["night"] = FRONTLINE  # type: ignore[index]


def test_a_complaint_at_friday_1730_with_one_business_hour_lands_monday_0930() -> None:
    # Given a complaint on Friday 13 March 2026 at 17:30 in Seoul, an ordinary week
    friday = seoul(2026, 3, 13, 17, 30)
    # When one business hour is added on the follow-up calendar
    due = FOLLOW_UP.add_business_time(friday, HOUR)
    # Then it lands on Monday at 09:30 (half an hour on Friday, half an hour on Monday)
    assert due == seoul(2026, 3, 16, 9, 30)
    assert due.tzinfo is UTC
    assert FOLLOW_UP.business_seconds_between(friday, due) == HOUR
    # And the social-care desk, open every day until 21:00, answers the same evening
    assert FRONTLINE.add_business_time(friday, HOUR) == seoul(2026, 3, 13, 18, 30)


def test_outside_hours_the_count_starts_at_the_next_opening() -> None:
    assert FOLLOW_UP.add_business_time(seoul(2026, 3, 14, 12), HOUR) == seoul(2026, 3, 16, 10)  # Saturday
    assert FOLLOW_UP.add_business_time(seoul(2026, 3, 16, 7), HOUR) == seoul(2026, 3, 16, 10)  # early
    assert FOLLOW_UP.add_business_time(seoul(2026, 3, 16, 20), HOUR) == seoul(2026, 3, 17, 10)  # late
    assert FOLLOW_UP.business_seconds_between(seoul(2026, 3, 14, 0), seoul(2026, 3, 16, 9)) == 0


# --- holidays ----------------------------------------------------------------------------------


def test_chuseok_2026_is_skipped() -> None:
    # Given Chuseok 2026 as the holidays package knows it: Thursday 24 to Saturday 26 September
    chuseok = kr_2026("Chuseok", exact=False)  # the day before, the day, the day after
    assert chuseok == [date(2026, 9, 24), date(2026, 9, 25), date(2026, 9, 26)]
    # When a complaint comes on the Wednesday before, at 17:30
    wednesday = seoul(2026, 9, 23, 17, 30)
    # Then the follow-up team's hour ends on Monday 28 (Thursday and Friday are Chuseok)
    assert FOLLOW_UP.add_business_time(wednesday, HOUR) == seoul(2026, 9, 28, 9, 30)
    # And the social-care desk, open at weekends, is closed the three days and opens on Sunday
    assert FRONTLINE.add_business_time(seoul(2026, 9, 23, 20, 30), HOUR) == seoul(2026, 9, 27, 9, 30)
    assert not any(FRONTLINE.is_open(seoul(d.year, d.month, d.day, 12)) for d in chuseok)


def test_a_substitute_holiday_is_skipped() -> None:
    # Given National Foundation Day on Saturday 3 October 2026, and its substitute on Monday 5
    assert kr_2026("National Foundation Day") == [date(2026, 10, 3)]
    assert kr_2026("Alternative holiday for National Foundation Day") == [date(2026, 10, 5)]
    # When a complaint comes on Friday 2 October at 17:30
    # Then the follow-up team's hour ends on Tuesday 6 October
    assert FOLLOW_UP.add_business_time(seoul(2026, 10, 2, 17, 30), HOUR) == seoul(2026, 10, 6, 9, 30)
    # And the social-care desk works Sunday 4 but not Saturday 3 nor Monday 5
    assert not FRONTLINE.is_open(seoul(2026, 10, 3, 12))
    assert FRONTLINE.is_open(seoul(2026, 10, 4, 12))
    assert FRONTLINE.add_business_time(seoul(2026, 10, 4, 20, 30), HOUR) == seoul(2026, 10, 6, 9, 30)


def test_a_computation_across_the_year_end_loads_the_next_years_holidays() -> None:
    # Given Thursday 31 December 2026, 17:30: New Year's Day 2027 is a Friday
    assert date(2027, 1, 1) in holidays_of("KR", 2027)
    # Then the follow-up team's hour ends on Monday 4 January 2027
    due = FOLLOW_UP.add_business_time(seoul(2026, 12, 31, 17, 30), HOUR)
    assert due == seoul(2027, 1, 4, 9, 30)
    assert FOLLOW_UP.business_seconds_between(seoul(2026, 12, 31, 17, 30), due) == HOUR


def test_extra_closed_dates_are_closed_all_day() -> None:
    # Given the follow-up team closed on Monday 16 March 2026 for a company event
    closed = Calendar(
        zone="Asia/Seoul", country="KR", hours=FOLLOW_UP.hours, closed=frozenset({date(2026, 3, 16)})
    )
    # Then Friday's last half hour and Tuesday's first make the hour
    assert closed.add_business_time(seoul(2026, 3, 13, 17, 30), HOUR) == seoul(2026, 3, 17, 9, 30)
    assert closed.is_holiday(date(2026, 3, 16))
    assert not closed.is_holiday(date(2026, 3, 17))


def test_holidays_are_loaded_once_per_country_and_year() -> None:
    assert holidays_of("KR", 2026) is holidays_of("KR", 2026)
    assert date(2026, 9, 25) in holidays_of("KR", 2026)


# --- boundaries ----------------------------------------------------------------------------------


def test_adding_exactly_the_rest_of_the_day_lands_on_the_closing_instant() -> None:
    monday = seoul(2026, 3, 16, 17)
    assert FOLLOW_UP.add_business_time(monday, HOUR) == seoul(2026, 3, 16, 18)  # not Tuesday 09:00
    assert FOLLOW_UP.add_business_time(monday, HOUR + 1) == seoul(2026, 3, 17, 9, 0, second=1)
    assert FOLLOW_UP.add_business_time(seoul(2026, 3, 16, 9), 9 * HOUR) == seoul(2026, 3, 16, 18)


def test_an_opening_is_open_at_its_first_second_and_closed_at_its_last_instant() -> None:
    assert FOLLOW_UP.is_open(seoul(2026, 3, 16, 9))
    assert FOLLOW_UP.is_open(seoul(2026, 3, 16, 17, 59, second=59))
    assert not FOLLOW_UP.is_open(seoul(2026, 3, 16, 18))
    assert not FOLLOW_UP.is_open(seoul(2026, 3, 16, 8, 59, second=59))
    assert not FOLLOW_UP.is_open(seoul(2026, 3, 14, 12))  # Saturday


def test_next_open_is_the_instant_itself_when_open() -> None:
    assert FOLLOW_UP.next_open(seoul(2026, 3, 16, 10)) == seoul(2026, 3, 16, 10)
    assert FOLLOW_UP.next_open(seoul(2026, 3, 16, 18)) == seoul(2026, 3, 17, 9)
    assert FOLLOW_UP.next_open(seoul(2026, 3, 13, 18)) == seoul(2026, 3, 16, 9)  # Friday evening


def test_adding_nothing_is_the_start_itself_even_outside_hours() -> None:
    saturday = seoul(2026, 3, 14, 12)
    assert FOLLOW_UP.add_business_time(saturday, 0) == saturday
    assert FOLLOW_UP.add_business_time(saturday, 1) == seoul(2026, 3, 16, 9, 0, second=1)


def test_business_seconds_count_whole_seconds_of_open_time() -> None:
    assert FOLLOW_UP.business_seconds_between(seoul(2026, 3, 16, 9), seoul(2026, 3, 16, 18)) == 9 * HOUR
    assert FOLLOW_UP.business_seconds_between(seoul(2026, 3, 16, 0), seoul(2026, 3, 23, 0)) == 45 * HOUR
    assert FRONTLINE.business_seconds_between(seoul(2026, 3, 16, 0), seoul(2026, 3, 23, 0)) == 84 * HOUR
    half = seoul(2026, 3, 16, 9) + timedelta(microseconds=999_999)
    assert FOLLOW_UP.business_seconds_between(seoul(2026, 3, 16, 9), half) == 0
    # And backwards is negative
    assert FOLLOW_UP.business_seconds_between(seoul(2026, 3, 16, 18), seoul(2026, 3, 16, 9)) == -9 * HOUR


# --- daylight saving time --------------------------------------------------------------------------


US_OFFICE = Calendar(zone="America/New_York", country="US", hours=week(OFFICE, WEEKDAYS))
US_NIGHT = Calendar(zone="America/New_York", country="US", hours=week(Hours.parse("01:00", "05:00")))


def test_new_york_office_hours_keep_their_wall_clock_across_the_spring_change() -> None:
    # Given Friday 6 March 2026, 17:30 in New York (EST); clocks go forward on Sunday 8 March
    friday = new_york(2026, 3, 6, 17, 30)
    # When one business hour is added
    due = US_OFFICE.add_business_time(friday, HOUR)
    # Then it is Monday 09:30 on the wall clock, which is now EDT (13:30 UTC, not 14:30)
    assert due == new_york(2026, 3, 9, 9, 30)
    assert due == datetime(2026, 3, 9, 13, 30, tzinfo=UTC)
    assert US_OFFICE.business_seconds_between(friday, due) == HOUR


def test_a_night_opening_is_an_hour_shorter_on_the_spring_day_and_longer_on_the_autumn_one() -> None:
    # Given New York hours 01:00-05:00 every day
    def day_length(day: date) -> int:
        start = new_york(day.year, day.month, day.day)
        return US_NIGHT.business_seconds_between(start, start + timedelta(days=2)) - 4 * HOUR

    # Then 8 March 2026 (02:00 -> 03:00) has 3 hours and 1 November (02:00 -> 01:00) has 5
    assert day_length(date(2026, 3, 8)) == 3 * HOUR
    assert day_length(date(2026, 11, 1)) == 5 * HOUR
    assert day_length(date(2026, 3, 15)) == 4 * HOUR
    # And two hours from the spring opening is 04:00 on the wall clock (EDT)
    assert US_NIGHT.add_business_time(new_york(2026, 3, 8, 1), 2 * HOUR) == new_york(2026, 3, 8, 4)
    # And on the autumn day, 01:00 is the first 01:00 (EDT) and 05:00 is EST
    autumn = US_NIGHT.opening(date(2026, 11, 1))
    assert autumn == (datetime(2026, 11, 1, 5, tzinfo=UTC), datetime(2026, 11, 1, 10, tzinfo=UTC))


def test_an_opening_inside_the_spring_gap_reads_its_times_with_the_offset_before_the_change() -> None:
    # Given hours 02:00-04:00: on 8 March 2026 there is no 02:00 in New York
    gap = Calendar(zone="America/New_York", country="US", hours=week(Hours.parse("02:00", "04:00")))
    # Then 02:00 is read as 03:00 EDT and the day has one hour
    assert gap.opening(date(2026, 3, 8)) == (
        datetime(2026, 3, 8, 7, tzinfo=UTC),
        datetime(2026, 3, 8, 8, tzinfo=UTC),
    )
    # And hours inside the gap move with it: 02:15-02:45 is 03:15-03:45 EDT that day
    inside = Calendar(zone="America/New_York", country="US", hours=week(Hours.parse("02:15", "02:45")))
    assert inside.opening(date(2026, 3, 8)) == (new_york(2026, 3, 8, 3, 15), new_york(2026, 3, 8, 3, 45))
    # But hours from inside the gap to its end (02:30 is 03:30, 03:00 is 03:00) are no opening
    empty = Calendar(zone="America/New_York", country="US", hours=week(Hours.parse("02:30", "03:00")))
    assert empty.opening(date(2026, 3, 8)) is None
    assert empty.opening(date(2026, 3, 9)) == (new_york(2026, 3, 9, 2, 30), new_york(2026, 3, 9, 3))


# --- validation ------------------------------------------------------------------------------------


def test_a_valid_calendar_is_accepted() -> None:
    weekend = Calendar(
        zone="Asia/Seoul",
        country="KR",
        hours=week(Hours(time(10), time(16)), (SATURDAY, SUNDAY)),
        closed=frozenset({date(2026, 3, 14)}),
    )
    assert weekend.is_open(seoul(2026, 3, 15, 10))
    assert not weekend.is_open(seoul(2026, 3, 14, 10))  # closed that Saturday
    assert not weekend.is_open(seoul(2026, 3, 16, 10))  # a Monday


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"zone": "Asia/Busan"}, "IANA time zone"),
        ({"zone": "../etc/passwd"}, "IANA time zone"),
        ({"country": "Korea"}, "alpha-2"),
        ({"country": "kr"}, "alpha-2"),
        ({"hours": (OFFICE,) * 6}, "7, not 6"),
        ({"hours": ("09:00-18:00",) * 7}, "an Hours or None"),
        ({"hours": (None,) * 7}, "never open"),
    ],
)
def test_an_invalid_calendar_is_refused(changes: dict[str, object], message: str) -> None:
    valid: dict[str, object] = {"zone": "Asia/Seoul", "country": "KR", "hours": week(OFFICE, WEEKDAYS)}
    Calendar(**valid)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=message):
        Calendar(**(valid | changes))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("opens", "closes", "message"),
    [
        (time(22), time(2), "may not cross midnight"),
        (time(9), time(9), "may not cross midnight"),
        (time(9, tzinfo=UTC), time(18), "no tzinfo"),
    ],
)
def test_invalid_hours_are_refused(opens: time, closes: time, message: str) -> None:
    assert Hours(time(9), time(18)) == OFFICE
    with pytest.raises(ValueError, match=message):
        Hours(opens, closes)


def test_weekdays_are_0_to_6() -> None:
    assert week(OFFICE, EVERY_DAY) == (OFFICE,) * 7
    with pytest.raises(ValueError, match=r"not \[7\]"):
        week(OFFICE, (0, 7))


def test_instants_must_be_aware_and_amounts_not_negative() -> None:
    assert FOLLOW_UP.add_business_time(seoul(2026, 3, 16, 9), 60) == seoul(2026, 3, 16, 9, 1)
    with pytest.raises(ValueError, match="aware"):
        FOLLOW_UP.add_business_time(datetime(2026, 3, 16, 9), 60)  # noqa: DTZ001 - the point
    with pytest.raises(ValueError, match="aware"):
        FOLLOW_UP.business_seconds_between(seoul(2026, 3, 16, 9), datetime(2026, 3, 16, 10))  # noqa: DTZ001
    with pytest.raises(ValueError, match="aware"):
        FOLLOW_UP.is_open(datetime(2026, 3, 16, 10))  # noqa: DTZ001
    with pytest.raises(ValueError, match="≥ 0"):
        FOLLOW_UP.add_business_time(seoul(2026, 3, 16, 9), -1)


def test_a_country_the_holidays_package_does_not_know_fails_on_first_use() -> None:
    nowhere = Calendar(zone="UTC", country="XX", hours=week(OFFICE))
    with pytest.raises(ValueError, match="does not know the country 'XX'"):
        nowhere.is_open(datetime(2026, 3, 16, 10, tzinfo=UTC))


def test_a_calendar_closed_for_longer_than_the_search_bound_raises_instead_of_looping() -> None:
    # Given a calendar whose every date for more than a year is an extra closed date
    first = date(2026, 1, 1)
    shut = frozenset(first + timedelta(days=n) for n in range(MAX_CLOSED_DAYS + 10))
    closed = Calendar(zone="Asia/Seoul", country="KR", hours=week(OFFICE), closed=shut)
    # Then looking for an opening gives up with an error
    with pytest.raises(ValueError, match="no open hour"):
        closed.next_open(seoul(2026, 1, 1))
    with pytest.raises(ValueError, match="no open hour"):
        closed.add_business_time(seoul(2026, 1, 1), 1)


# --- properties ------------------------------------------------------------------------------------

ZONES = ("Asia/Seoul", "America/New_York", "Europe/London", "Australia/Lord_Howe", "UTC")


@st.composite
def hours(draw: st.DrawFn) -> Hours:
    opens = draw(st.integers(0, 24 * 60 - 2))
    closes = draw(st.integers(opens + 1, 24 * 60 - 1))
    return Hours(time(opens // 60, opens % 60), time(closes // 60, closes % 60))


@st.composite
def calendars(draw: st.DrawFn) -> Calendar:
    days = draw(st.lists(st.one_of(st.none(), hours()), min_size=7, max_size=7).filter(any))
    zone = draw(st.sampled_from(ZONES))
    return Calendar(zone=zone, country=draw(st.sampled_from(("KR", "US", "GB"))), hours=tuple(days))


ANY_CALENDAR = st.one_of(st.sampled_from([FRONTLINE, FOLLOW_UP, US_OFFICE, US_NIGHT]), calendars())
# hypothesis takes naive bounds and makes them aware with ``timezones``
FIRST, LAST = datetime(2025, 1, 1), datetime(2028, 12, 31)  # noqa: DTZ001
INSTANTS = st.datetimes(min_value=FIRST, max_value=LAST, timezones=st.just(UTC))
WHOLE_SECONDS = INSTANTS.map(lambda at: at.replace(microsecond=0))
AMOUNTS = st.integers(min_value=0, max_value=30 * 24 * HOUR)


@PROPERTIES
@given(calendar=ANY_CALENDAR, start=INSTANTS, seconds=AMOUNTS)
def test_business_seconds_between_is_the_inverse_of_add_business_time(
    calendar: Calendar, start: datetime, seconds: int
) -> None:
    due = calendar.add_business_time(start, seconds)
    assert due >= start
    assert calendar.business_seconds_between(start, due) == seconds
    if seconds:
        # the earliest such instant: a second earlier, a second is still missing
        assert calendar.business_seconds_between(start, due - timedelta(seconds=1)) == seconds - 1


@PROPERTIES
@given(calendar=ANY_CALENDAR, start=INSTANTS, first=AMOUNTS, then=AMOUNTS)
def test_adding_twice_is_adding_the_sum(calendar: Calendar, start: datetime, first: int, then: int) -> None:
    twice = calendar.add_business_time(calendar.add_business_time(start, first), then)
    assert twice == calendar.add_business_time(start, first + then)


@PROPERTIES
@given(calendar=ANY_CALENDAR, instants=st.lists(WHOLE_SECONDS, min_size=3, max_size=3))
def test_business_seconds_add_up_over_consecutive_spans(calendar: Calendar, instants: list[datetime]) -> None:
    a, b, c = sorted(instants)
    between = calendar.business_seconds_between
    assert between(a, c) == between(a, b) + between(b, c)
    assert calendar.is_open(calendar.next_open(b))

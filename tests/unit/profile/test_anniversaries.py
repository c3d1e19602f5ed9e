"""Which anniversaries are due: local mornings, N days ahead, and 29 February in common years."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from services.profile.logic.anniversaries import Due, due, month_days_to_read, occurs_on


def test_a_leap_day_anniversary_falls_on_28_february_in_common_years_and_29_in_leap_years() -> None:
    # Given a wedding on 29 February 2024
    wedding = date(2024, 2, 29)
    # Then it falls on 28 February 2025 and on 29 February 2028
    assert occurs_on(wedding, 2025) == date(2025, 2, 28)
    assert occurs_on(wedding, 2028) == date(2028, 2, 29)


def test_a_leap_day_wedding_is_found_on_27_february_for_a_lead_of_one_day() -> None:
    # Given a Seoul customer married on 2024-02-29, and the morning of 2025-02-27 in Seoul (09:05 KST)
    now = datetime(2025, 2, 27, 0, 5, tzinfo=UTC)
    # When the finder asks what is due one day ahead
    found = due(date(2024, 2, 29), "Asia/Seoul", now_utc=now, lead_days=1, morning_hour=9)
    # Then the first anniversary, on 28 February, is due
    assert found == Due(occurs_on=date(2025, 2, 28), years=1)
    # And the index is read under both 02-28 and 02-29
    assert {"02-28", "02-29"} <= set(month_days_to_read(now, 1))


def test_nothing_is_due_before_the_customers_local_morning() -> None:
    # Given 08:59 in Seoul on the day before
    now = datetime(2025, 2, 26, 23, 59, tzinfo=UTC)
    # Then nothing is due yet, though it is already 23:59 in UTC
    assert due(date(2024, 2, 28), "Asia/Seoul", now_utc=now, lead_days=1, morning_hour=9) is None


def test_the_local_date_decides_not_utcs() -> None:
    # Given 10:00 on 1 March in Seoul, which is still 28 February in UTC and in Los Angeles
    now = datetime(2026, 3, 1, 1, 0, tzinfo=UTC)
    # Then a 2 March anniversary is due for Seoul, and not for Los Angeles (still 27 February 17:00)
    assert due(date(2020, 3, 2), "Asia/Seoul", now_utc=now, lead_days=1, morning_hour=9) == Due(
        date(2026, 3, 2), 6
    )
    assert due(date(2020, 3, 2), "America/Los_Angeles", now_utc=now, lead_days=1, morning_hour=9) is None


@pytest.mark.parametrize("lead", [0, 1, 7])
def test_the_lead_time_is_counted_in_local_days(lead: int) -> None:
    # Given noon in Seoul on 10 May 2026
    now = datetime(2026, 5, 10, 3, 0, tzinfo=UTC)
    original = date(2016, 5, 10 + lead)
    # Then the anniversary `lead` days ahead is due, with its count of years
    assert due(original, "Asia/Seoul", now_utc=now, lead_days=lead, morning_hour=9) == Due(
        date(2026, 5, 10 + lead), 10
    )


def test_the_original_day_itself_is_not_an_anniversary() -> None:
    # Given a membership that starts tomorrow
    now = datetime(2026, 5, 10, 3, 0, tzinfo=UTC)
    # Then nothing is announced for it this year
    assert due(date(2026, 5, 11), "Asia/Seoul", now_utc=now, lead_days=1, morning_hour=9) is None

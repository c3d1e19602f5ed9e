"""The SLA clock of a case: targets by priority, deadlines on the team's calendar, met once,
paused while the customer is awaited, breached once, moved to another team; stored as a plain
dict; and the digest's figures."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from services.feedback.logic.calendar import TEAMS, Calendar, Hours, week
from services.feedback.logic.sla import (
    TIMERS,
    Goal,
    SlaClock,
    Targets,
    TimerState,
    figures,
    percentile,
    priority_of,
)
from tests.unit.fakes import PROPERTIES

SEOUL = ZoneInfo("Asia/Seoul")
HOUR = 3600
FOLLOW_UP = TEAMS["follow_up"]


def seoul(year: int, month: int, day: int, hour: int = 0, minute: int = 0, *, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=SEOUL)


# An ordinary week of March 2026, no holiday in it: Friday 13, Saturday 14, Monday 16 ... Friday 20.
FRIDAY_1730 = seoul(2026, 3, 13, 17, 30)
MONDAY_0900 = seoul(2026, 3, 16, 9)


def follow_up_clock(at: datetime = MONDAY_0900, priority: str = "normal") -> SlaClock:
    return SlaClock.start("follow_up", priority, at)  # type: ignore[arg-type]


# --- targets and priority ------------------------------------------------------------------------


def test_the_default_targets_are_1_and_4_hours_to_respond_8_and_24_to_resolve() -> None:
    targets = Targets()
    assert targets.seconds("first_response", "high") == 1 * HOUR
    assert targets.seconds("first_response", "normal") == 4 * HOUR
    assert targets.seconds("resolution", "high") == 8 * HOUR
    assert targets.seconds("resolution", "normal") == 24 * HOUR  # three follow-up days


@pytest.mark.parametrize(
    ("sentiment", "reach", "escalated", "expected"),
    [
        ("negative", 1000, False, "high"),
        ("negative", 999, False, "normal"),
        ("neutral", 50_000, False, "normal"),
        ("positive", 50_000, False, "normal"),
        (None, 0, False, "normal"),  # raised in the app or by an agent
        (None, 0, True, "high"),
        ("negative", 10, True, "high"),
    ],
)
def test_a_loud_negative_mention_or_an_escalation_makes_a_case_high_priority(
    sentiment: Any, reach: int, escalated: bool, expected: str
) -> None:
    assert priority_of(sentiment=sentiment, reach=reach, escalated=escalated) == expected


def test_valid_targets_are_accepted() -> None:
    custom = Targets(first_response=Goal(high=600, normal=600), resolution=Goal(high=600, normal=HOUR))
    assert custom.seconds("resolution", "normal") == HOUR


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"first_response": {"high": 0, "normal": 600}}, "greater than 0"),
        ({"first_response": {"high": 2 * HOUR, "normal": HOUR}}, "looser than the normal"),
        ({"first_response": {"high": 9 * HOUR, "normal": 9 * HOUR}}, "high first-response target exceeds"),
        ({"resolution": {"high": 3 * HOUR, "normal": 3 * HOUR}}, "normal first-response target exceeds"),
        ({"overtime": 1}, "Extra inputs"),
    ],
)
def test_invalid_targets_are_refused(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Targets.model_validate(changes)


# --- starting --------------------------------------------------------------------------------------


def test_a_clock_starts_both_timers_with_deadlines_on_the_teams_calendar() -> None:
    # Given a normal case at Friday 17:30 on the follow-up calendar
    clock = follow_up_clock(FRIDAY_1730)
    # Then first response (4 h) is due Monday 12:30: half an hour on Friday, 3.5 on Monday
    assert clock.due("first_response") == seoul(2026, 3, 16, 12, 30)
    # And resolution (24 h) on Wednesday 14:30: 0.5 + 9 (Mon) + 9 (Tue) + 5.5 (Wed)
    assert clock.due("resolution") == seoul(2026, 3, 18, 14, 30)
    assert clock.first_response == TimerState(
        target_s=4 * HOUR, running_since=FRIDAY_1730, due_at=seoul(2026, 3, 16, 12, 30)
    )
    assert not clock.breached


def test_a_high_priority_case_on_the_frontline_desk_is_due_the_same_evening() -> None:
    clock = SlaClock.start("frontline", "high", FRIDAY_1730)
    assert clock.due("first_response") == seoul(2026, 3, 13, 18, 30)
    # 3.5 hours until 21:00, then 4.5 on Saturday (the desk works weekends)
    assert clock.due("resolution") == seoul(2026, 3, 14, 13, 30)


def test_targets_given_when_started_stay_on_the_clock() -> None:
    quick = Targets(first_response=Goal(high=60, normal=120), resolution=Goal(high=600, normal=1200))
    clock = SlaClock.start("follow_up", "normal", MONDAY_0900, targets=quick)
    assert (clock.first_response.target_s, clock.resolution.target_s) == (120, 1200)
    assert clock.due("first_response") == seoul(2026, 3, 16, 9, 2)


# --- meeting -------------------------------------------------------------------------------------------


def test_meeting_a_timer_records_the_business_time_it_took() -> None:
    # Given a case opened Friday 17:30, answered Monday at 10:00
    clock = follow_up_clock(FRIDAY_1730).meet("first_response", seoul(2026, 3, 16, 10))
    # Then it took an hour and a half of business time, within its 4 hours
    state = clock.first_response
    assert (state.consumed_s, state.met_at, state.due_at, state.on_time) == (
        90 * 60,
        seoul(2026, 3, 16, 10),
        None,
        True,
    )
    assert clock.due("first_response") is None
    assert clock.due("resolution") == seoul(2026, 3, 18, 14, 30)  # unaffected


def test_a_timer_met_or_breached_is_left_as_it_is() -> None:
    met = follow_up_clock().meet("first_response", seoul(2026, 3, 16, 10))
    assert met.meet("first_response", seoul(2026, 3, 16, 11)) is met
    breached, _ = follow_up_clock().breach("first_response", seoul(2026, 3, 16, 13))
    assert breached.meet("first_response", seoul(2026, 3, 16, 14)) is breached


def test_a_timer_met_after_its_deadline_is_late_and_the_breach_that_follows_is_stale() -> None:
    # Given a first response due at 13:00, given at 13:05 before the scheduler's breach came
    late = follow_up_clock().meet("first_response", seoul(2026, 3, 16, 13, 5))
    # Then it is met, but not on time, and the clock counts as breached
    assert late.first_response.met_at is not None
    assert late.first_response.on_time is False
    assert late.breached
    # And the breach arriving afterwards changes nothing
    assert late.breach("first_response", seoul(2026, 3, 16, 13, 6)) == (late, False)


# --- pausing -------------------------------------------------------------------------------------------


def test_pause_and_resume_keep_the_business_time_already_consumed() -> None:
    # Given a normal case opened Monday 09:00, put to wait for the customer at 11:00
    paused = follow_up_clock().pause(seoul(2026, 3, 16, 11))
    # Then the resolution timer has consumed 2 hours and has no deadline while it waits
    assert paused.resolution.consumed_s == 2 * HOUR
    assert paused.resolution.paused
    assert paused.due("resolution") is None
    assert paused.elapsed("resolution", seoul(2026, 3, 18, 15)) == 2 * HOUR
    # And the first response runs on, due at 13:00 as before
    assert paused.due("first_response") == seoul(2026, 3, 16, 13)
    # When the customer answers on Wednesday 15:00
    resumed = paused.resume(seoul(2026, 3, 18, 15))
    # Then the 22 hours left end on Monday 10:00: 3 (Wed) + 9 (Thu) + 9 (Fri) + 1 (Mon)
    assert resumed.due("resolution") == seoul(2026, 3, 23, 10)
    # And the resolution on Thursday 10:00 took 2 + 3 + 1 = 6 business hours
    resolved = resumed.meet("resolution", seoul(2026, 3, 19, 10))
    assert resolved.resolution.consumed_s == 6 * HOUR


def test_pausing_a_paused_clock_or_resuming_a_running_one_changes_nothing() -> None:
    running = follow_up_clock()
    assert running.resume(seoul(2026, 3, 16, 10)) is running
    paused = running.pause(seoul(2026, 3, 16, 10))
    assert paused.pause(seoul(2026, 3, 16, 11)) is paused
    resolved = running.meet("resolution", seoul(2026, 3, 16, 10))
    assert resolved.pause(seoul(2026, 3, 16, 11)) is resolved
    assert resolved.resume(seoul(2026, 3, 16, 11)) is resolved


# --- breaching -----------------------------------------------------------------------------------------


def test_a_breach_happens_once_at_or_after_the_deadline() -> None:
    clock = follow_up_clock()  # first response due Monday 13:00
    # Given the scheduler fires early (a deadline that has since moved): nothing
    assert clock.breach("first_response", seoul(2026, 3, 16, 12, 59, second=59)) == (clock, False)
    # When it fires at the deadline
    breached, first = clock.breach("first_response", seoul(2026, 3, 16, 13))
    # Then the timer is breached, for the first time
    assert first
    assert breached.first_response.breached_at == seoul(2026, 3, 16, 13)
    assert breached.first_response.consumed_s == 4 * HOUR
    assert breached.due("first_response") is None
    assert breached.breached
    # And a second breach (a redelivered timer) changes nothing and says so
    again, first_again = breached.breach("first_response", seoul(2026, 3, 16, 13, 0, second=5))
    assert again is breached
    assert not first_again


def test_a_met_or_paused_timer_is_not_breached() -> None:
    met = follow_up_clock().meet("first_response", seoul(2026, 3, 16, 10))
    assert met.breach("first_response", seoul(2026, 3, 16, 14)) == (met, False)
    paused = follow_up_clock().pause(seoul(2026, 3, 16, 10))
    assert paused.breach("resolution", seoul(2026, 3, 30, 10)) == (paused, False)


# --- moving --------------------------------------------------------------------------------------------


def test_moving_to_another_team_counts_what_is_left_on_the_new_calendar() -> None:
    # Given a normal case on the frontline desk opened Saturday 14 March at 10:00
    clock = SlaClock.start("frontline", "normal", seoul(2026, 3, 14, 10))
    # When it is escalated to the follow-up team at 12:00 (2 hours consumed on the weekend desk)
    moved = clock.move("follow_up", seoul(2026, 3, 14, 12))
    # Then the first response's 2 hours left start on Monday 09:00, due 11:00
    assert moved.team == "follow_up"
    assert moved.first_response.consumed_s == 2 * HOUR
    assert moved.due("first_response") == seoul(2026, 3, 16, 11)
    # And the resolution's 22 hours end on Wednesday 13:00: 9 (Mon) + 9 (Tue) + 4 (Wed)
    assert moved.due("resolution") == seoul(2026, 3, 18, 13)
    # And the targets stay those of the clock
    assert (moved.first_response.target_s, moved.resolution.target_s) == (4 * HOUR, 24 * HOUR)


def test_moving_keeps_ended_and_paused_timers_as_they_are() -> None:
    clock = (
        SlaClock.start("frontline", "normal", seoul(2026, 3, 14, 10))
        .meet("first_response", seoul(2026, 3, 14, 10, 30))
        .pause(seoul(2026, 3, 14, 11))
    )
    moved = clock.move("follow_up", seoul(2026, 3, 14, 12))
    assert (moved.first_response, moved.resolution) == (clock.first_response, clock.resolution)
    # And the paused resolution resumes on the follow-up calendar: 23 hours left from Sunday
    resumed = moved.resume(seoul(2026, 3, 15, 10))
    assert resumed.due("resolution") == seoul(2026, 3, 18, 14)  # 9 + 9 + 5


def test_moving_to_the_same_team_changes_nothing() -> None:
    clock = follow_up_clock()
    assert clock.move("follow_up", seoul(2026, 3, 16, 12)) is clock


def test_calendars_can_be_passed_in() -> None:
    # Given a third calendar: New York office hours, for a team the teams' map does not have
    calendars = {
        "follow_up": Calendar("America/New_York", "US", week(Hours.parse("09:00", "17:00"), range(5)))
    }
    clock = SlaClock.start("follow_up", "high", seoul(2026, 3, 16, 9), calendars=calendars)
    # Then Monday 09:00 in Seoul is Sunday evening in New York: due Monday 10:00 there
    assert clock.due("first_response") == datetime(2026, 3, 16, 10, tzinfo=ZoneInfo("America/New_York"))
    with pytest.raises(ValueError, match="no calendar for team 'frontline'"):
        clock.move("frontline", seoul(2026, 3, 16, 12), calendars=calendars)


# --- stored as a plain dict ------------------------------------------------------------------------------


def _plain(value: Any) -> bool:
    if isinstance(value, dict):
        return all(isinstance(k, str) and _plain(v) for k, v in value.items())
    return value is None or (isinstance(value, str | int) and not isinstance(value, bool))


def test_a_clock_is_a_plain_dict_of_strings_integers_and_none() -> None:
    clock = follow_up_clock(FRIDAY_1730).meet("first_response", seoul(2026, 3, 16, 10))
    stored = clock.to_dict()
    assert _plain(stored)
    assert stored == {
        "team": "follow_up",
        "priority": "normal",
        "first_response": {
            "target_s": 14400,
            "consumed_s": 5400,
            "running_since": None,
            "due_at": None,
            "met_at": "2026-03-16T01:00:00Z",
            "breached_at": None,
        },
        "resolution": {
            "target_s": 86400,
            "consumed_s": 0,
            "running_since": "2026-03-13T08:30:00Z",
            "due_at": "2026-03-18T05:30:00Z",
            "met_at": None,
            "breached_at": None,
        },
    }
    assert SlaClock.from_dict(json.loads(json.dumps(stored))) == clock


def test_a_clock_read_back_from_dynamodb_with_decimal_numbers_is_the_same_clock() -> None:
    clock = follow_up_clock().pause(seoul(2026, 3, 16, 11))
    stored = clock.to_dict()
    from_dynamo = {
        **stored,
        "resolution": {k: Decimal(v) if isinstance(v, int) else v for k, v in stored["resolution"].items()},
    }
    assert SlaClock.from_dict(from_dynamo) == clock


def test_a_stored_clock_is_validated_one_broken_field_at_a_time() -> None:
    valid = follow_up_clock().to_dict()
    assert SlaClock.from_dict(valid) == follow_up_clock()

    def broken(timer: dict[str, Any]) -> dict[str, Any]:
        return {**valid, "first_response": {**valid["first_response"], **timer}}

    cases: list[tuple[dict[str, Any], str]] = [
        ({**valid, "team": "night"}, "team"),
        ({**valid, "priority": "urgent"}, "priority"),
        ({**valid, "paused": True}, "Extra inputs"),
        (broken({"consumed_s": -1}), "greater than or equal to 0"),
        (broken({"due_at": "2026-03-16T13:00:00"}), "timezone"),
        (broken({"due_at": None}), "running_since and due_at"),
        (broken({"met_at": "2026-03-16T01:00:00Z", "breached_at": "2026-03-16T02:00:00Z"}), "not both"),
        (broken({"met_at": "2026-03-16T01:00:00Z"}), "does not run"),
    ]
    for data, message in cases:
        with pytest.raises(ValidationError, match=message):
            SlaClock.from_dict(data)


def test_what_agents_are_shown_of_a_timer() -> None:
    paused = follow_up_clock().pause(seoul(2026, 3, 16, 11))
    assert paused.view("resolution") == {
        "target_s": 24 * HOUR,
        "due_at": None,
        "met_at": None,
        "breached_at": None,
        "paused": True,
    }
    assert paused.view("first_response")["due_at"] == seoul(2026, 3, 16, 13)
    assert paused.view("first_response")["paused"] is False


def test_instants_must_be_aware_and_timers_known() -> None:
    assert follow_up_clock().due("resolution") is not None
    with pytest.raises(ValueError, match="aware"):
        SlaClock.start("follow_up", "normal", datetime(2026, 3, 16, 9))  # noqa: DTZ001 - the point
    with pytest.raises(ValueError, match="aware"):
        follow_up_clock().breach("first_response", datetime(2026, 3, 16, 14))  # noqa: DTZ001
    with pytest.raises(ValueError, match="no SLA timer 'confirmation'"):
        follow_up_clock().due("confirmation")  # type: ignore[arg-type]


# --- figures ---------------------------------------------------------------------------------------------


def test_the_digest_figures_count_met_late_breached_and_running_timers() -> None:
    # Given five cases opened Monday 09:00: first responses after 0.5, 1, 1.5 and 5 hours
    # (the last one late), and one breached at its deadline, the resolutions met after 6 h or running
    def case(answer_h: float | None, resolved_h: float | None) -> SlaClock:
        clock = follow_up_clock()
        if answer_h is None:
            clock, _ = clock.breach("first_response", MONDAY_0900 + timedelta(hours=4))
        else:
            clock = clock.meet("first_response", MONDAY_0900 + timedelta(hours=answer_h))
        if resolved_h is not None:
            clock = clock.meet("resolution", MONDAY_0900 + timedelta(hours=resolved_h))
        return clock

    clocks = [case(0.5, 6), case(1, None), case(1.5, None), case(5, None), case(None, None)]
    # When the digest's figures are made
    found = figures(iter(clocks))
    # Then the first response was met on time in 3 of the 5 that ended (one late, one breached)
    first = found.first_response
    assert (first.met, first.late, first.breached, first.running, first.ended) == (3, 1, 1, 0, 5)
    assert first.met_pct == 60.0
    # And the times are those of the met ones: 0.5, 1, 1.5 and 5 hours
    assert first.median_s == 1.25 * HOUR
    assert first.p90_s == round(1.5 * HOUR + 0.7 * 3.5 * HOUR)
    # And one resolution ended, on time
    resolution = found.resolution
    assert (resolution.met, resolution.running, resolution.met_pct, resolution.median_s) == (
        1,
        4,
        100.0,
        6 * HOUR,
    )
    assert (found.cases, found.first_response_met_pct, found.resolution_median_s) == (5, 60.0, 6 * HOUR)


def test_the_figures_of_no_case_are_empty_not_an_error() -> None:
    found = figures([])
    assert found.cases == 0
    assert (found.first_response.met_pct, found.first_response.median_s, found.first_response.p90_s) == (
        None,
        None,
        None,
    )
    running = figures([follow_up_clock()])
    assert (running.resolution.running, running.resolution.met_pct) == (1, None)


def test_percentiles_interpolate_between_ranks() -> None:
    assert percentile([7], 90) == 7
    assert percentile([1, 2, 3, 4], 50) == 2.5
    assert percentile([4, 1, 3, 2], 100) == 4
    assert percentile([], 50) is None
    with pytest.raises(ValueError, match="between 0 and 100"):
        percentile([1], 101)


# --- properties ----------------------------------------------------------------------------------------

OFFSETS = st.integers(min_value=0, max_value=10 * 24 * HOUR)  # seconds of wall time
# hypothesis takes naive bounds and makes them aware with ``timezones``
FIRST, LAST = datetime(2025, 1, 1), datetime(2027, 12, 31)  # noqa: DTZ001
STARTS = st.datetimes(min_value=FIRST, max_value=LAST, timezones=st.just(UTC))


@PROPERTIES
@given(
    team=st.sampled_from(["frontline", "follow_up"]),
    start=STARTS,
    gaps=st.lists(OFFSETS, min_size=3, max_size=3),
)
def test_the_resolution_time_is_the_business_time_it_ran_whatever_the_pause(
    team: str, start: datetime, gaps: list[int]
) -> None:
    # Given a clock started, paused, resumed and met at instants in that order
    start = start.replace(microsecond=0)
    pause, resume, meet = (start + timedelta(seconds=sum(gaps[: i + 1])) for i in range(3))
    clock = SlaClock.start(team, "normal", start).pause(pause).resume(resume).meet("resolution", meet)  # type: ignore[arg-type]
    calendar = TEAMS[team]
    # Then it took exactly the business time it ran, before the pause and after it
    ran = calendar.business_seconds_between(start, pause) + calendar.business_seconds_between(resume, meet)
    assert clock.resolution.consumed_s == ran
    assert clock.resolution.on_time == (ran <= 24 * HOUR)
    assert SlaClock.from_dict(clock.to_dict()) == clock


@PROPERTIES
@given(
    team=st.sampled_from(["frontline", "follow_up"]),
    start=STARTS,
    move_after=OFFSETS,
)
def test_a_move_keeps_the_total_business_time_to_the_deadline(
    team: str, start: datetime, move_after: int
) -> None:
    # Given a clock moved to the other team before its deadline
    clock = SlaClock.start(team, "high", start)  # type: ignore[arg-type]
    other = "follow_up" if team == "frontline" else "frontline"
    at = start + timedelta(seconds=move_after)
    due = clock.due("resolution")
    assert due is not None
    if at >= due:
        return
    moved = clock.move(other, at)  # type: ignore[arg-type]
    # Then what ran on the first calendar and what is left on the second make the target
    new_due = moved.due("resolution")
    assert new_due is not None
    before = TEAMS[team].business_seconds_between(start, at)
    after = TEAMS[other].business_seconds_between(at, new_due)
    assert before + after == 8 * HOUR
    assert all(moved.timer(t).target_s == clock.timer(t).target_s for t in TIMERS)

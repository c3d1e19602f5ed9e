"""Tiers: the rolling qualifying measure, up at once and down only after the grace period,
progress to the next tier; the tier program's validation. Properties hold for random programs."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from services.rewards.logic.tiers import decide, placement, progress, qualifying, window_months
from services.rewards.models.programs import TierProgram, TierProgramSpec, TierState
from tests.unit.fakes import PROPERTIES

DEFAULT = TierProgram(version=0)  # basic 0 / silver 300,000 / gold 1,000,000 / vip 3,000,000 won
TODAY = date(2025, 3, 14)
SILVER_SINCE = TierState(tier="silver", since=date(2024, 6, 1))


def program(**changes: Any) -> TierProgram:
    return TierProgram.model_validate({**TierProgramSpec().model_dump(), **changes, "version": 3})


# --- the measure -------------------------------------------------------------------------------


def test_the_window_is_this_month_and_the_ones_before_it_across_a_year_end() -> None:
    assert window_months(TODAY, 12) == [f"2024-{m:02d}" for m in range(4, 13)] + [
        "2025-01",
        "2025-02",
        "2025-03",
    ]
    assert window_months(date(2025, 1, 31), 2) == ["2024-12", "2025-01"]
    assert window_months(TODAY, 1) == ["2025-03"]
    with pytest.raises(ValueError, match="one month"):
        window_months(TODAY, 0)


def test_the_measure_sums_spend_or_points_inside_the_window_only() -> None:
    # Given months inside and outside a 12-month window
    months = {"2024-03": (900_000, 9_000), "2024-04": (100_000, 1_000), "2025-03": (50_000, 500)}
    # When the spend and the points programs measure them on 14 March 2025
    # Then March 2024 (13 months back) does not count
    assert qualifying(DEFAULT, months, TODAY) == 150_000
    assert qualifying(program(basis="points"), months, TODAY) == 1_500


def test_refunds_never_make_the_measure_negative() -> None:
    assert qualifying(DEFAULT, {"2025-03": (-5_000, -50)}, TODAY) == 0


# --- the decision ------------------------------------------------------------------------------


def test_a_new_account_is_placed_silently_in_the_first_tier() -> None:
    decision = decide(DEFAULT, TierState(), 0, TODAY)
    assert decision.state == TierState(tier="basic", since=TODAY)
    assert (decision.changed, decision.direction, decision.previous) == (True, None, None)


def test_a_new_account_that_already_qualifies_moves_up() -> None:
    decision = decide(DEFAULT, TierState(), 400_000, TODAY)
    assert (decision.state.tier, decision.changed, decision.direction) == ("silver", True, "up")


def test_up_is_at_once_even_past_several_tiers() -> None:
    # Given a silver customer whose measure reaches the VIP threshold
    decision = decide(DEFAULT, SILVER_SINCE, 3_000_000, TODAY)
    # Then they are VIP from today
    assert decision.state == TierState(tier="vip", since=TODAY)
    assert (decision.changed, decision.direction, decision.previous) == (True, "up", "silver")


def test_a_drop_below_the_threshold_starts_the_grace_period_without_a_change() -> None:
    # Given a silver customer whose measure falls below 300,000 today
    decision = decide(DEFAULT, SILVER_SINCE, 299_999, TODAY)
    # Then they stay silver, and the day it fell is kept
    assert decision.state == TierState(tier="silver", since=SILVER_SINCE.since, below_since=TODAY)
    assert (decision.changed, decision.direction) == (False, None)


def test_a_recovery_during_the_grace_period_clears_it() -> None:
    waiting = TierState(tier="silver", since=SILVER_SINCE.since, below_since=TODAY - timedelta(days=30))
    decision = decide(DEFAULT, waiting, 300_000, TODAY)
    assert decision.state == SILVER_SINCE
    assert not decision.changed


def test_down_only_once_the_grace_period_has_passed_and_to_the_tier_earned() -> None:
    # Given a gold customer below the threshold since 90 days ago minus one
    started = TODAY - timedelta(days=89)
    waiting = TierState(tier="gold", since=date(2024, 1, 1), below_since=started)
    # When evaluated with a measure that earns only basic
    early = decide(DEFAULT, waiting, 10_000, TODAY)
    late = decide(DEFAULT, waiting, 10_000, TODAY + timedelta(days=1))
    # Then on day 89 they stay gold; on day 90 they go down to basic, past silver
    assert (early.state.tier, early.changed, early.state.below_since) == ("gold", False, started)
    assert late.state == TierState(tier="basic", since=TODAY + timedelta(days=1))
    assert (late.changed, late.direction, late.previous) == (True, "down", "gold")


def test_with_no_grace_down_is_at_once() -> None:
    decision = decide(program(grace_days=0), SILVER_SINCE, 0, TODAY)
    assert (decision.state.tier, decision.direction) == ("basic", "down")


def test_a_tier_the_program_no_longer_has_is_replaced_at_once_by_the_measure() -> None:
    gone = TierState(tier="platinum", since=date(2024, 1, 1), below_since=date(2025, 3, 1))
    decision = decide(DEFAULT, gone, 1_200_000, TODAY)
    assert decision.state == TierState(tier="gold", since=TODAY)
    assert (decision.changed, decision.direction, decision.previous) == (True, "up", "platinum")


# --- progress ----------------------------------------------------------------------------------


def test_progress_to_the_next_tier() -> None:
    shown = progress(DEFAULT, "basic", 150_000)
    assert (shown.tier, shown.tier_name, shown.next_tier, shown.next_threshold) == (
        "basic",
        "Basic",
        "silver",
        300_000,
    )
    assert (shown.remaining, shown.percent, shown.downgrade_on) == (150_000, 50, None)
    assert shown.benefits.earn_multiplier_pct == 100


def test_progress_at_the_top_tier() -> None:
    shown = progress(DEFAULT, "vip", 5_000_000)
    assert (shown.next_tier, shown.next_threshold, shown.remaining, shown.percent) == (None, None, 0, 100)
    assert shown.benefits.earn_multiplier_pct == 150


def test_progress_during_the_grace_period_shows_the_downgrade_day() -> None:
    shown = progress(DEFAULT, "gold", 400_000, below_since=date(2025, 3, 1))
    assert (shown.tier, shown.downgrade_on) == ("gold", date(2025, 5, 30))
    assert (shown.remaining, shown.percent) == (2_600_000, 13)


def test_progress_without_a_known_tier_places_by_the_measure() -> None:
    assert progress(DEFAULT, None, 1_000_000).tier == "gold"
    assert progress(DEFAULT, "platinum", 0).tier == "basic"


# --- properties over random programs ----------------------------------------------------------


@st.composite
def programs(draw: st.DrawFn) -> TierProgram:
    steps = draw(st.lists(st.integers(1, 500_000), min_size=0, max_size=5))
    thresholds = [0]
    for step in steps:
        thresholds.append(thresholds[-1] + step)
    tiers = [
        {"id": f"t{i}", "name": f"Tier {i}", "threshold": t, "earn_multiplier_pct": 100 + 10 * i}
        for i, t in enumerate(thresholds)
    ]
    return program(tiers=tiers, grace_days=draw(st.integers(0, 120)))


measures = st.integers(-100_000, 3_000_000)


@st.composite
def states(draw: st.DrawFn, tiers: TierProgram) -> TierState:
    tier = draw(st.one_of(st.none(), st.just("gone"), st.sampled_from([t.id for t in tiers.tiers])))
    below = draw(st.one_of(st.none(), st.dates(date(2024, 1, 1), TODAY)))
    return TierState(tier=tier, since=date(2023, 1, 1) if tier else None, below_since=below)


@PROPERTIES
@given(data=st.data(), tiers=programs(), measure=measures)
def test_a_decision_is_always_a_program_tier_up_at_once_down_never_before_grace(
    data: st.DataObject, tiers: TierProgram, measure: int
) -> None:
    state = data.draw(states(tiers))
    decision = decide(tiers, state, measure, TODAY)
    ranks = {t.id: i for i, t in enumerate(tiers.tiers)}
    earned = placement(tiers, measure)
    assert decision.state.tier in ranks
    assert decision.changed == (decision.state.tier != state.tier)
    if state.tier in ranks and ranks[earned.id] > ranks[state.tier]:
        assert (decision.state.tier, decision.direction) == (earned.id, "up")
    if decision.direction == "down":
        since = state.below_since or TODAY
        assert (TODAY - since).days >= tiers.grace_days
    if state.tier in ranks and decision.direction != "down":
        assert ranks[decision.state.tier] >= ranks[state.tier]


@PROPERTIES
@given(tiers=programs(), daily=st.lists(measures, min_size=1, max_size=150))
def test_day_by_day_a_tier_drops_only_after_grace_days_below_it(tiers: TierProgram, daily: list[int]) -> None:
    # Given a customer evaluated once a day with a changing measure
    state, below_run = TierState(), 0
    for offset, measure in enumerate(daily):
        today = TODAY + timedelta(days=offset)
        current = next((t for t in tiers.tiers if t.id == state.tier), None)
        below_run = below_run + 1 if current and measure < current.threshold else 0
        decision = decide(tiers, state, measure, today)
        # Then a drop comes only after the measure has been below for grace_days days before today
        if decision.direction == "down":
            assert below_run - 1 >= tiers.grace_days
            below_run = 0
        state = decision.state


@PROPERTIES
@given(
    tiers=programs(),
    inside=st.lists(st.integers(0, 10**6), min_size=12, max_size=12),
    outside=st.dictionaries(
        st.sampled_from(["2023-01", "2024-02", "2024-03", "2025-04", "2030-12"]), st.integers()
    ),
)
def test_the_measure_never_uses_a_month_outside_the_window(
    tiers: TierProgram, inside: list[int], outside: dict[str, int]
) -> None:
    window = window_months(TODAY, 12)
    months = {m: (v, v // 100) for m, v in zip(window, inside, strict=True)}
    noisy = {**{m: (v, v) for m, v in outside.items()}, **months}
    assert qualifying(tiers, noisy, TODAY) == qualifying(tiers, months, TODAY) == sum(inside)


@PROPERTIES
@given(data=st.data(), tiers=programs(), measure=measures)
def test_progress_is_never_negative_and_within_0_to_100_percent(
    data: st.DataObject, tiers: TierProgram, measure: int
) -> None:
    state = data.draw(states(tiers))
    shown = progress(tiers, state.tier, measure, below_since=state.below_since)
    assert shown.remaining >= 0
    assert 0 <= shown.percent <= 100
    assert shown.tier in {t.id for t in tiers.tiers}
    if shown.next_threshold is None:
        assert (shown.next_tier, shown.remaining, shown.percent) == (None, 0, 100)
    else:
        assert shown.remaining == max(0, shown.next_threshold - max(measure, 0))


# --- validation of the PUT body ------------------------------------------------------------------


def tier(i: int, threshold: int, **changes: Any) -> dict[str, Any]:
    return {"id": f"tier-{i}", "name": f"Tier {i}", "threshold": threshold, **changes}


@pytest.mark.parametrize(
    "body",
    [
        {"basis": "balance"},
        {"currency": "krw"},
        {"window_months": 0},
        {"window_months": 25},
        {"grace_days": 366},
        {"tiers": []},
        {"tiers": [tier(0, 100)]},
        {"tiers": [tier(0, 0), tier(1, 100), tier(2, 100)]},
        {"tiers": [tier(0, 0), tier(1, 200), tier(2, 100)]},
        {"tiers": [tier(0, 0), {**tier(1, 100), "id": "tier-0"}]},
        {"tiers": [{**tier(0, 0), "id": "Gold"}]},
        {"tiers": [{**tier(0, 0), "id": "g"}]},
        {"tiers": [tier(0, 0, earn_multiplier_pct=99)]},
        {"tiers": [tier(0, 0, earn_multiplier_pct=1001)]},
        {"tiers": [tier(0, 0, colour="gold")]},
        {"tiers": [tier(0, 0), tier(1, -5)]},
        {"tiers": [tier(i, i * 10) for i in range(11)]},
        {"tiers": [tier(0, 0, perks=[""])]},
        {"discount": 5},
    ],
)
def test_a_bad_tier_program_is_refused(body: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        TierProgramSpec.model_validate(body)


def test_the_documented_default_program() -> None:
    shown = [(t.id, t.threshold, t.earn_multiplier_pct) for t in DEFAULT.tiers]
    assert shown == [
        ("basic", 0, 100),
        ("silver", 300_000, 110),
        ("gold", 1_000_000, 125),
        ("vip", 3_000_000, 150),
    ]
    assert (DEFAULT.basis, DEFAULT.currency, DEFAULT.window_months, DEFAULT.grace_days) == (
        "spend",
        "KRW",
        12,
        90,
    )

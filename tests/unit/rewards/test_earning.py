"""Points for a purchase: the base rate, the category, tier, store and window multipliers (exact,
floored once), the bonus, the cap; the rule version recorded; the earn rules' validation."""

from __future__ import annotations

from datetime import date
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from services.rewards.logic.earning import PurchaseFacts, points_for_purchase
from services.rewards.models.programs import EarnRules, EarnRulesSpec
from tests.unit.fakes import PROPERTIES

DEFAULTS = EarnRules(version=0)
DAY = date(2025, 3, 14)


def rules(**changes: Any) -> EarnRules:
    return EarnRules.model_validate({**EarnRulesSpec().model_dump(), **changes, "version": 7})


def purchase(
    total: int,
    *lines: tuple[str, int],
    currency: str = "KRW",
    store: str = "store-1",
    day: date = DAY,
) -> PurchaseFacts:
    return PurchaseFacts(currency=currency, total=total, store_id=store, local_date=day, lines=lines)


def spring(**changes: Any) -> dict[str, Any]:
    return {"name": "Spring", "starts_on": "2025-03-01", "ends_on": "2025-03-31", "pct": 200, **changes}


# --- the arithmetic ----------------------------------------------------------------------------


def test_the_default_rules_earn_one_point_per_100_won_and_record_version_0() -> None:
    # Given the built-in rules and a 12,345 won purchase
    # When its points are computed
    quote = points_for_purchase(DEFAULTS, purchase(12_345))
    # Then it earns 1 % (floored) under rule version 0
    assert (quote.points, quote.rule_version) == (123, 0)
    assert quote.breakdown["base"] == 123
    assert quote.breakdown["multipliers"] == {"categories": {}, "tier": 100, "store": 100, "windows": []}


def test_multipliers_combine_exactly_and_are_floored_once_at_the_end() -> None:
    # Given a 150 won purchase (1.5 base points) by a silver customer (x1.1) at a x1.5 store
    given = rules(store_multipliers={"store-1": 150})
    # When its points are computed
    quote = points_for_purchase(given, purchase(150), tier_multiplier_pct=110)
    # Then 1.5 x 1.1 x 1.5 = 2.475 is floored once to 2 (flooring at each step would give 1)
    assert quote.points == 2
    assert (quote.breakdown["base"], quote.breakdown["earned"]) == (1, 2)
    assert quote.rule_version == 7


def test_a_worked_example_with_every_multiplier() -> None:
    # Given coffee beans at x2, a x1.5 store, a spring x2 window and a gold customer (x1.25)
    given = rules(
        category_multipliers={"beans": 200, "merch": 0},
        store_multipliers={"store-1": 150},
        windows=[spring()],
    )
    # When a purchase of 10,000 won of beans, 5,000 of pastry and 3,000 of merch is computed
    quote = points_for_purchase(
        given,
        purchase(18_000, ("beans", 10_000), ("pastry", 5_000), ("merch", 3_000)),
        tier_multiplier_pct=125,
    )
    # Then (20,000 + 5,000 + 0) / 100 x 1.25 x 1.5 x 2 = 937.5 -> 937
    assert quote.points == 937
    assert quote.breakdown["multipliers"] == {
        "categories": {"beans": 200, "merch": 0},
        "tier": 125,
        "store": 150,
        "windows": [{"name": "Spring", "pct": 200}],
    }


def test_the_part_of_the_total_no_line_covers_earns_at_x1() -> None:
    # Given beans at x3 and lines that cover 1,000 of a 3,000 won total
    given = rules(category_multipliers={"beans": 300})
    # When its points are computed
    quote = points_for_purchase(given, purchase(3_000, ("beans", 1_000)))
    # Then 1,000 x 3 + 2,000 x 1 = 5,000 won are eligible: 50 points
    assert quote.points == 50


def test_lines_above_the_total_are_scaled_down_to_it() -> None:
    # Given an order-level discount: lines of 2,000 (beans x2) and 2,000 (pastry) for a 3,000 total
    given = rules(category_multipliers={"beans": 200})
    # When its points are computed
    quote = points_for_purchase(given, purchase(3_000, ("beans", 2_000), ("pastry", 2_000)))
    # Then the weighted 6,000 is scaled by 3/4: 4,500 won eligible, 45 points
    assert quote.points == 45


@pytest.mark.parametrize(
    ("day", "store", "applies"),
    [
        (date(2025, 3, 1), "store-1", True),
        (date(2025, 3, 31), "store-1", True),
        (date(2025, 2, 28), "store-1", False),
        (date(2025, 4, 1), "store-1", False),
        (date(2025, 3, 14), "store-2", False),
    ],
)
def test_a_window_applies_on_its_dates_inclusive_and_only_at_its_stores(
    day: date, store: str, applies: bool
) -> None:
    # Given a spring x2 window limited to store-1
    given = rules(windows=[spring(stores=["store-1"])])
    # When a 10,000 won purchase is made on that local date at that store
    quote = points_for_purchase(given, purchase(10_000, store=store, day=day))
    # Then it earns double only inside the window at its store
    assert quote.points == (200 if applies else 100)


def test_overlapping_windows_stack() -> None:
    # Given a x2 and a x1.5 window over the same day
    given = rules(windows=[spring(), spring(name="Anniversary", pct=150)])
    # When a 10,000 won purchase is made that day
    quote = points_for_purchase(given, purchase(10_000))
    # Then both apply: 100 x 2 x 1.5
    assert quote.points == 300
    assert [w["name"] for w in quote.breakdown["multipliers"]["windows"]] == ["Spring", "Anniversary"]


def test_the_highest_bonus_reached_in_the_purchases_currency_applies() -> None:
    # Given bonuses at 50,000 and 100,000 won, and one in dollars
    given = rules(
        bonuses=[
            {"min_total": 100_000, "currency": "KRW", "points": 1_000},
            {"min_total": 50_000, "currency": "KRW", "points": 300},
            {"min_total": 1, "currency": "USD", "points": 5_000},
        ]
    )
    # When purchases of 49,999, 50,000 and 120,000 won are computed
    below, at, above = (points_for_purchase(given, purchase(t)) for t in (49_999, 50_000, 120_000))
    # Then the bonus is none, the 50,000 one, the 100,000 one (never the dollar one)
    assert (below.breakdown["bonus"], at.breakdown["bonus"], above.breakdown["bonus"]) == (0, 300, 1_000)
    assert (below.points, at.points, above.points) == (499, 800, 2_200)


def test_a_currency_without_a_base_rate_earns_nothing() -> None:
    # Given rules with no rate for GBP, but a GBP bonus
    given = rules(bonuses=[{"min_total": 1, "currency": "GBP", "points": 50}])
    # When a GBP purchase is computed
    quote = points_for_purchase(given, purchase(10_000, currency="GBP"))
    # Then it earns 0, and the breakdown says there was no rate
    assert quote.points == 0
    assert quote.breakdown == {"currency": "GBP", "total": 10_000, "rate": None, "points": 0}


def test_the_cap_limits_a_purchase_and_says_so() -> None:
    # Given a cap of 5,000 points per purchase
    given = rules(max_points_per_purchase=5_000, bonuses=[{"min_total": 1, "currency": "KRW", "points": 10}])
    # When a 10,000,000 won purchase is computed
    quote = points_for_purchase(given, purchase(10_000_000))
    # Then it earns the cap
    assert (quote.points, quote.breakdown["capped"]) == (5_000, True)


def test_negative_amounts_are_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        purchase(-1)
    with pytest.raises(ValueError, match="negative"):
        purchase(100, ("beans", -5))


# --- properties --------------------------------------------------------------------------------

lines_st = st.lists(
    st.tuples(st.sampled_from(["beans", "pastry", "merch"]), st.integers(0, 10**7)), max_size=5
)
pct_st = st.integers(0, 1000)


def _plain(value: Any) -> bool:
    """Storable as-is: ints, text, bools, None, and lists/dicts of them (no floats)."""
    if isinstance(value, dict):
        return all(isinstance(k, str) and _plain(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_plain(v) for v in value)
    return value is None or isinstance(value, int | str | bool)


@PROPERTIES
@given(
    total=st.integers(0, 10**9),
    lines=lines_st,
    tier=st.integers(100, 1000),
    store=pct_st,
    beans=pct_st,
)
def test_points_are_the_exact_formula_floored_within_the_cap(
    total: int, lines: list[tuple[str, int]], tier: int, store: int, beans: int
) -> None:
    given = rules(category_multipliers={"beans": beans}, store_multipliers={"store-1": store})
    quote = points_for_purchase(given, purchase(total, *lines), tier_multiplier_pct=tier)
    line_sum = sum(a for _, a in lines)
    weighted = sum(a * (beans if c == "beans" else 100) for c, a in lines)
    eligible = (
        Fraction(weighted * total, line_sum * 100)
        if line_sum > total
        else Fraction(weighted, 100) + total - line_sum
    )
    expected = eligible * Fraction(1, 100) * Fraction(tier, 100) * Fraction(store, 100)
    assert quote.points == min(int(expected), given.max_points_per_purchase)
    assert 0 <= quote.points <= given.max_points_per_purchase
    assert _plain(quote.breakdown)
    assert quote == points_for_purchase(given, purchase(total, *lines), tier_multiplier_pct=tier)


@PROPERTIES
@given(total=st.integers(0, 10**8), lines=lines_st, low=st.integers(100, 1000), high=st.integers(100, 1000))
def test_a_higher_tier_never_earns_less(
    total: int, lines: list[tuple[str, int]], low: int, high: int
) -> None:
    low, high = sorted((low, high))
    facts = purchase(total, *lines)
    assert (
        points_for_purchase(DEFAULTS, facts, tier_multiplier_pct=low).points
        <= points_for_purchase(DEFAULTS, facts, tier_multiplier_pct=high).points
    )


# --- validation of the PUT body ------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        {"bonus": 1},
        {"base_rates": {"won": {"points": 1, "per": 100}}},
        {"base_rates": {"KRW": {"points": 1, "per": 0}}},
        {"base_rates": {"KRW": {"points": 1.5, "per": 100}}},
        {"base_rates": {"KRW": {"points": 1, "per": 100, "cap": 5}}},
        {"category_multipliers": {"beans": 1001}},
        {"category_multipliers": {"beans": -1}},
        {"category_multipliers": {"beans": "200"}},
        {"category_multipliers": {f"c{i}": 100 for i in range(201)}},
        {"store_multipliers": {f"s{i}": 100 for i in range(201)}},
        {"store_multipliers": {"": 100}},
        {"windows": [spring(starts_on="2025-04-01")]},
        {"windows": [spring(starts_on=20250301)]},
        {"windows": [spring(pct=2000)]},
        {"windows": [spring(stores=[])]},
        {"windows": [spring() for _ in range(51)]},
        {"bonuses": [{"min_total": 0, "currency": "KRW", "points": 1}]},
        {"bonuses": [{"min_total": 10, "currency": "KRW", "points": 1}] * 2},
        {"bonuses": [{"min_total": i + 1, "currency": "KRW", "points": 1} for i in range(51)]},
        {"signup_points": -1},
        {"points_valid_days": 0},
        {"max_points_per_purchase": 0},
    ],
)
def test_a_bad_earn_rules_body_is_refused(body: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        EarnRulesSpec.model_validate(body)


def test_the_documented_defaults() -> None:
    spec = EarnRulesSpec()
    assert spec.base_rates["KRW"].model_dump() == {"points": 1, "per": 100}
    assert {"USD", "EUR", "JPY"} <= set(spec.base_rates)
    assert (spec.signup_points, spec.points_valid_days, spec.max_points_per_purchase) == (
        1000,
        365,
        1_000_000,
    )

"""The value score: RFM scores, documented adjustments, a 0..100 score and a segment; the value
model's validation; and the versioned model changes (an in-memory store)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from services.profile.logic.value import DEFAULT_MODEL, assess, change_model, current_model
from services.profile.models.segments import PurchaseStats, Stale, ValueModel, ValueModelSpec
from shared.errors import Conflict, PreconditionFailed
from tests.unit.fakes import PROPERTIES, FakeClock

NOW = datetime(2025, 3, 14, 9, 0, tzinfo=UTC)
LONG_AGO = datetime(2020, 1, 1, tzinfo=UTC)


def stats(
    *,
    spend: int = 100_000,
    count: int = 10,
    first_days_ago: int = 365,
    last_days_ago: int = 10,
    premium: int = 0,
    on_time: int = 0,
    late: int = 0,
    currency: str = "KRW",
) -> PurchaseStats:
    return PurchaseStats(
        spend={currency: spend},
        purchase_count=count,
        premium_count=premium,
        first_purchase_at=NOW - timedelta(days=first_days_ago),
        last_purchase_at=NOW - timedelta(days=last_days_ago),
        payments_on_time=on_time,
        payments_late=late,
    )


# --- worked examples (the module docstring's formula) ------------------------------------------


def test_a_worked_example_of_the_default_model() -> None:
    # Given a customer since 2020 who bought 24 times in the last year for 600,000 won,
    # 10 days ago last, 6 of them with a premium service, and always paid on time
    customer = stats(spend=600_000, count=24, last_days_ago=10, premium=6, on_time=10)
    # When they are assessed with the default model
    value = assess(customer, created_at=LONG_AGO, now=NOW, model=DEFAULT_MODEL)
    # Then R=5 (<=30 days), F=4 (24 a year >= 12), M=4 (>= 500,000)
    assert value is not None
    c = value.components
    assert (c.recency, c.frequency, c.monetary) == (5, 4, 4)
    # base = (35x4 + 30x3 + 35x3) / 4 = 83.75 -> 84; tenure > 3 years +5; premium 25 % >= 20 % +5
    assert (c.base, c.tenure_points, c.premium_points, c.payment_points) == (84, 5, 5, 0)
    assert (value.score, value.segment, value.model_version) == (94, "top", 0)
    assert (c.spend, c.purchase_count, c.last_purchase_at) == (600_000, 24, NOW - timedelta(days=10))


def test_a_new_customer_with_one_small_purchase_is_occasional_or_below() -> None:
    # Given a customer who signed up today and bought once for 5,000 won an hour ago
    one = PurchaseStats(
        spend={"KRW": 5_000},
        purchase_count=1,
        first_purchase_at=NOW - timedelta(hours=1),
        last_purchase_at=NOW - timedelta(hours=1),
    )
    # When assessed
    value = assess(one, created_at=NOW - timedelta(hours=2), now=NOW, model=DEFAULT_MODEL)
    # Then frequency counts over at least 90 days (1 in 90 days = 4 a year: F=2), recency is 5
    assert value is not None
    assert (value.components.recency, value.components.frequency, value.components.monetary) == (5, 2, 1)
    # base = (35x4 + 30x1 + 0) / 4 = 42.5 -> 43: regular
    assert (value.score, value.segment) == (43, "regular")


def test_no_purchase_means_no_assessment() -> None:
    # Given statistics with visits but no purchase
    # When assessed
    # Then there is no assessment (and no segment) yet
    assert assess(PurchaseStats(), created_at=LONG_AGO, now=NOW, model=DEFAULT_MODEL) is None


def test_a_big_spender_who_stopped_coming_is_lapsed_whatever_the_score() -> None:
    # Given a customer who spent 5,000,000 won but last bought 400 days ago
    old = stats(spend=5_000_000, count=100, first_days_ago=2000, last_days_ago=400)
    # When assessed
    value = assess(old, created_at=LONG_AGO, now=NOW, model=DEFAULT_MODEL)
    # Then the score still counts the spend, but the segment is lapsed (more than 365 days)
    assert value is not None
    assert value.score > DEFAULT_MODEL.segments.occasional
    assert value.segment == "lapsed"
    # And with the lapse rule switched off, the score decides
    lenient = ValueModel(version=2, lapsed_after_days=None)
    again = assess(old, created_at=LONG_AGO, now=NOW, model=lenient)
    assert again is not None
    assert again.segment != "lapsed"


def test_late_payments_cost_points_only_with_enough_payments_on_record() -> None:
    # Given two otherwise equal customers, one paying half of 10 payments late, one 1 of 2 late
    on_time = assess(stats(on_time=10), created_at=LONG_AGO, now=NOW, model=DEFAULT_MODEL)
    half_late = assess(stats(on_time=5, late=5), created_at=LONG_AGO, now=NOW, model=DEFAULT_MODEL)
    few = assess(stats(on_time=1, late=1), created_at=LONG_AGO, now=NOW, model=DEFAULT_MODEL)
    assert on_time is not None
    assert half_late is not None
    assert few is not None
    # Then 50 % late costs the full 10 points; fewer than 3 payments cost nothing
    assert half_late.components.payment_points == -10
    assert on_time.score - half_late.score == 10
    assert few.components.payment_points == 0


def test_only_spend_in_the_home_currency_counts() -> None:
    # Given a customer whose spend is all in dollars
    dollars = stats(spend=10_000_000, currency="USD")
    # When assessed with the KRW model, and with a USD model
    krw = assess(dollars, created_at=LONG_AGO, now=NOW, model=DEFAULT_MODEL)
    usd = assess(dollars, created_at=LONG_AGO, now=NOW, model=ValueModel(version=1, home_currency="USD"))
    # Then only the USD model counts it
    assert krw is not None
    assert usd is not None
    assert (krw.components.spend, krw.components.monetary) == (0, 1)
    assert (usd.components.spend, usd.components.monetary) == (10_000_000, 5)


def test_refunds_beyond_purchases_do_not_make_anything_negative() -> None:
    # Given statistics where refunds left negative spend and count
    odd = stats(spend=-5_000, count=-1)
    # When assessed
    value = assess(odd, created_at=LONG_AGO, now=NOW, model=DEFAULT_MODEL)
    # Then spend and frequency count as zero and the score stays in range
    assert value is not None
    assert (value.components.spend, value.components.purchase_count, value.components.frequency) == (0, 0, 1)
    assert 0 <= value.score <= 100


# --- properties ------------------------------------------------------------------------------------


@st.composite
def models(draw: st.DrawFn) -> ValueModel:
    """Any valid value model."""

    def bands(low: int, high: int) -> list[int]:
        return sorted(draw(st.lists(st.integers(low, high), min_size=4, max_size=4, unique=True)))

    recency = draw(st.integers(0, 100))
    frequency = draw(st.integers(0, 100 - recency))
    segments = sorted(draw(st.lists(st.integers(1, 100), min_size=4, max_size=4, unique=True)), reverse=True)
    return ValueModel(
        version=draw(st.integers(0, 50)),
        recency_days=bands(1, 3650),
        frequency_per_year=bands(1, 400),
        monetary=bands(1, 10**9),
        frequency_min_span_days=draw(st.integers(1, 3650)),
        weights={"recency": recency, "frequency": frequency, "monetary": 100 - recency - frequency},
        premium_points=draw(st.integers(0, 20)),
        late_payment_points=draw(st.integers(0, 50)),
        segments=dict(zip(("top", "loyal", "regular", "occasional"), segments, strict=True)),
        lapsed_after_days=draw(st.none() | st.integers(1, 3650)),
    )


customers = st.builds(
    stats,
    spend=st.integers(-(10**6), 10**10),
    count=st.integers(-5, 5_000),
    first_days_ago=st.integers(0, 8000),
    last_days_ago=st.integers(0, 8000),
    premium=st.integers(0, 5_000),
    on_time=st.integers(0, 500),
    late=st.integers(0, 500),
)


@PROPERTIES
@given(model=models(), customer=customers)
def test_the_score_is_always_between_0_and_100(model: ValueModel, customer: PurchaseStats) -> None:
    # Given any model and any statistics
    value = assess(customer, created_at=LONG_AGO, now=NOW, model=model)
    # Then the score is an integer in 0..100 and every RFM score in 1..5
    assert value is not None
    assert isinstance(value.score, int)
    assert 0 <= value.score <= 100
    assert {value.components.recency, value.components.frequency, value.components.monetary} <= set(
        range(1, 6)
    )


@PROPERTIES
@given(model=models(), customer=customers, more=st.integers(1, 10**10))
def test_spending_more_never_lowers_the_score(model: ValueModel, customer: PurchaseStats, more: int) -> None:
    # Given a customer, and the same customer with more spend
    richer = dataclasses.replace(customer, spend={"KRW": customer.spend["KRW"] + more})
    # When both are assessed
    before = assess(customer, created_at=LONG_AGO, now=NOW, model=model)
    after = assess(richer, created_at=LONG_AGO, now=NOW, model=model)
    # Then the score did not go down
    assert before is not None
    assert after is not None
    assert after.score >= before.score


@PROPERTIES
@given(model=models(), customer=customers, days=st.integers(1, 5000))
def test_a_more_recent_purchase_never_lowers_the_score(
    model: ValueModel, customer: PurchaseStats, days: int
) -> None:
    # Given the same customer whose last purchase was ``days`` longer ago
    assert customer.last_purchase_at is not None
    older: dict[str, Any] = {
        **customer.__dict__,
        "last_purchase_at": customer.last_purchase_at - timedelta(days),
    }
    earlier = PurchaseStats(**older)
    # Then the more recent one scores at least as much
    recent = assess(customer, created_at=LONG_AGO, now=NOW, model=model)
    stale = assess(earlier, created_at=LONG_AGO, now=NOW, model=model)
    assert recent is not None
    assert stale is not None
    assert recent.score >= stale.score


@PROPERTIES
@given(model=models(), customer=customers, more=st.integers(1, 1000))
def test_buying_more_often_never_lowers_the_score(
    model: ValueModel, customer: PurchaseStats, more: int
) -> None:
    # Given the same customer with more purchases in the same span (no premium service either way)
    count = max(customer.purchase_count, 0)
    base = dataclasses.replace(customer, purchase_count=count, premium_count=0)
    frequent = dataclasses.replace(base, purchase_count=count + more)
    # Then more purchases score at least as much
    a = assess(base, created_at=LONG_AGO, now=NOW, model=model)
    b = assess(frequent, created_at=LONG_AGO, now=NOW, model=model)
    assert a is not None
    assert b is not None
    assert b.score >= a.score


@PROPERTIES
@given(model=models(), customer=customers)
def test_segments_follow_the_score(model: ValueModel, customer: PurchaseStats) -> None:
    # Given any assessment that is not lapsed by recency
    value = assess(customer, created_at=LONG_AGO, now=NOW, model=model)
    assert value is not None
    # Then its segment is the one whose band holds the score
    bands = model.segments
    expected = (
        "top"
        if value.score >= bands.top
        else "loyal"
        if value.score >= bands.loyal
        else "regular"
        if value.score >= bands.regular
        else "occasional"
        if value.score >= bands.occasional
        else "lapsed"
    )
    assert customer.last_purchase_at is not None
    lapsed = model.lapsed_after_days is not None and (NOW - customer.last_purchase_at).days > (
        model.lapsed_after_days
    )
    assert value.segment == ("lapsed" if lapsed else expected)


# --- validation of the model ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"recency_days": [30, 30, 180, 365]}, "strictly ascending"),
        ({"frequency_per_year": [52, 12, 6, 2]}, "strictly ascending"),
        ({"monetary": [1, 2, 3]}, "at least 4"),
        ({"monetary": [1, 2, 3, 10**14]}, "between"),
        ({"recency_days": [0, 1, 2, 3]}, "between"),
        ({"weights": {"recency": 50, "frequency": 50, "monetary": 50}}, "sum to 100"),
        ({"segments": {"top": 60, "loyal": 80, "regular": 40, "occasional": 20}}, "decrease strictly"),
        ({"segments": {"top": 80, "loyal": 60, "regular": 40, "occasional": 0}}, "greater than or equal"),
        ({"tenure_bonus": [{"days": 700, "points": 3}, {"days": 365, "points": 5}]}, "strictly ascending"),
        ({"tenure_bonus": [{"days": 365, "points": 5}, {"days": 700, "points": 3}]}, "must not decrease"),
        ({"home_currency": "krw"}, "pattern"),
        ({"premium_points": 21}, "less than or equal"),
        ({"colour": "blue"}, "Extra inputs"),
        ({"weights": {"recency": 100, "loyalty": 0}}, "Extra inputs"),
    ],
)
def test_a_bad_value_model_is_refused(change: dict[str, Any], problem: str) -> None:
    # Given a model with one bad part
    # When it is validated
    with pytest.raises(ValidationError) as refused:
        ValueModelSpec.model_validate(change)
    # Then it is refused, saying why
    assert problem in str(refused.value)


def test_the_defaults_are_a_valid_model_and_everything_is_optional() -> None:
    # Given an empty PUT body
    # Then it is the default model
    assert ValueModelSpec.model_validate({}).model_dump() == ValueModelSpec().model_dump()
    assert DEFAULT_MODEL.version == 0
    assert DEFAULT_MODEL.updated_at is None


# --- versioned changes ------------------------------------------------------------------------------


class FakeModelStore:
    def __init__(self) -> None:
        self.model: ValueModel | None = None
        self.races = 0  # how many times a concurrent writer gets in first

    def value_model(self) -> ValueModel | None:
        return self.model

    def put_value_model(self, model: ValueModel, *, previous_version: int) -> None:
        if self.races:
            self.races -= 1
            self.model = ValueModel(**model.model_dump(exclude={"version"}), version=previous_version + 1)
            raise Stale
        if (self.model.version if self.model else 0) != previous_version:
            raise Stale
        self.model = model


def test_a_model_change_is_a_new_version_and_a_stale_if_match_is_412() -> None:
    # Given the built-in defaults (version 0)
    store, clock = FakeModelStore(), FakeClock()
    assert current_model(store).version == 0
    # When marketing stores a model with If-Match 0, then with 1
    first = change_model(store, ValueModelSpec(premium_points=7), expected_version=0, clock=clock)
    second = change_model(store, ValueModelSpec(premium_points=8), expected_version=1, clock=clock)
    # Then each is a new version, with its time
    assert (first.version, second.version) == (1, 2)
    assert current_model(store).premium_points == 8
    assert second.updated_at == clock.now
    # And a change sent with the old version is refused
    with pytest.raises(PreconditionFailed):
        change_model(store, ValueModelSpec(), expected_version=1, clock=clock)
    assert current_model(store).version == 2


def test_without_if_match_a_lost_race_is_retried_and_with_it_it_is_412() -> None:
    # Given a store where another writer gets in first once
    store, clock = FakeModelStore(), FakeClock()
    store.races = 1
    # When a change without If-Match loses the race
    changed = change_model(store, ValueModelSpec(premium_points=3), expected_version=None, clock=clock)
    # Then it is applied on top of the other one
    assert (changed.version, current_model(store).premium_points) == (2, 3)
    # And with If-Match the lost race is a 412
    store.races = 1
    with pytest.raises(PreconditionFailed):
        change_model(store, ValueModelSpec(), expected_version=2, clock=clock)
    # And a writer that loses every time gives up with a 409
    store.races = 100
    with pytest.raises(Conflict):
        change_model(store, ValueModelSpec(), expected_version=None, clock=clock)

"""The rules of behaviour intake, without AWS: dayparts, merging lines, what makes two
submissions the same, how usual items and popular items are ranked, what input is refused,
and how a counter's max/min become DynamoDB conditions."""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from services.profile.dal.behaviour import Counter
from services.profile.logic import behaviour
from services.profile.models.behaviour import (
    AlreadyRecorded,
    Claim,
    CustomerGone,
    PopCounter,
    Purchase,
    PurchaseInput,
    PurchaseLineIn,
    RefundInput,
    StoreInfo,
    UsualItem,
    Visit,
    VisitInput,
)
from services.profile.models.events import PurchaseRecorded, PurchaseRefunded, VisitRecorded
from shared.dynamo import DynamoTable
from shared.errors import Conflict, NotFound, Unprocessable
from tests.unit.fakes import PROPERTIES, FakeClock

CUSTOMER = "cus_01JD5Z8Q6M3X7N2P4R9T0V1W2Y"
NOW = datetime(2025, 3, 14, 0, 26, 53, tzinfo=UTC)  # 09:26 in Seoul


def line(sku: str = "LATTE", quantity: int = 1, unit_price: int = 5000, **over: Any) -> dict[str, Any]:
    return {
        "sku": sku,
        "name": f"{sku} name",
        "category": "coffee",
        "quantity": quantity,
        "unit_price": unit_price,
        **over,
    }


def purchase_input(**over: Any) -> PurchaseInput:
    body = {
        "external_id": "pos-1",
        "customer_id": CUSTOMER,
        "store_id": "gangnam-01",
        "channel": "store",
        "currency": "KRW",
        "purchased_at": "2025-03-14T08:10:00+09:00",
        "lines": [line()],
        **over,
    }
    return PurchaseInput.model_validate(body)


# --- dayparts ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("local", "part"),
    [
        ("04:59", "evening"),
        ("05:00", "morning"),
        ("08:10", "morning"),
        ("10:59", "morning"),
        ("11:00", "midday"),
        ("16:59", "midday"),
        ("17:00", "evening"),
        ("23:59", "evening"),
        ("00:00", "evening"),
    ],
)
def test_dayparts_have_documented_bounds(local: str, part: str) -> None:
    # Given a moment at this local time in Seoul
    moment = datetime.fromisoformat(f"2025-03-14T{local}:00+09:00")
    # When its daypart is asked for in Seoul
    # Then it is the documented one
    assert behaviour.daypart(moment, "Asia/Seoul") == part


def test_a_daypart_is_in_the_customers_zone_not_the_stamps() -> None:
    # Given 08:10 in Seoul, which is 15:10 (PDT) or 16:10 (PST) the day before in Los Angeles
    moment = datetime.fromisoformat("2025-03-14T08:10:00+09:00")
    # When asked for a Seoul and a Los Angeles customer
    # Then one is in the morning and the other at midday
    assert behaviour.daypart(moment, "Asia/Seoul") == "morning"
    assert behaviour.daypart(moment, "America/Los_Angeles") == "midday"


NAIVE_BOUNDS = {"min_value": datetime(2000, 1, 1), "max_value": datetime(2100, 1, 1)}  # noqa: DTZ001 - hypothesis wants naive bounds


@PROPERTIES
@given(st.datetimes(timezones=st.just(UTC), **NAIVE_BOUNDS))
def test_every_moment_has_exactly_one_daypart(moment: datetime) -> None:
    # Given any moment
    # When its daypart is asked for in a few zones
    # Then it is one of the three, consistent with the local hour
    for zone in ("Asia/Seoul", "Europe/London", "America/New_York", "Pacific/Kiritimati"):
        hour = moment.astimezone(ZoneInfo(zone)).hour
        expected = "morning" if 5 <= hour <= 10 else "midday" if 11 <= hour <= 16 else "evening"
        assert behaviour.daypart(moment, zone) == expected


# --- lines, totals, fingerprints -----------------------------------------------------------------


def test_equal_lines_merge_and_the_same_sku_at_two_prices_stays_two_lines() -> None:
    # Given lines with a repeated latte, a latte at a discount and a premium service
    lines = [
        PurchaseLineIn.model_validate(x)
        for x in (
            line("LATTE", 1),
            line("LATTE", 2),
            line("LATTE", 1, 4000),
            line("CARE", 1, 9000, premium=True),
        )
    ]
    # When they are merged
    merged = behaviour.merge_lines(lines)
    # Then equal lines are one, amounts are quantity x price, and the order is canonical
    assert [(m.sku, m.quantity, m.unit_price, m.amount, m.premium) for m in merged] == [
        ("CARE", 1, 9000, 9000, True),
        ("LATTE", 1, 4000, 4000, False),
        ("LATTE", 3, 5000, 15_000, False),
    ]


@PROPERTIES
@given(
    st.lists(
        st.tuples(st.sampled_from(["A", "B", "C"]), st.integers(1, 50), st.sampled_from([0, 100, 4500])),
        min_size=1,
        max_size=12,
    )
)
def test_merging_keeps_every_unit_and_every_won(raw: list[tuple[str, int, int]]) -> None:
    # Given any lines
    lines = [PurchaseLineIn.model_validate(line(sku, q, p)) for sku, q, p in raw]
    # When they are merged
    merged = behaviour.merge_lines(lines)
    # Then no unit and no minor unit of money is lost or invented, whatever the order
    assert sum(m.quantity for m in merged) == sum(q for _, q, _ in raw)
    assert sum(m.amount for m in merged) == sum(q * p for _, q, p in raw)
    assert behaviour.merge_lines(reversed(lines)) == merged


def test_the_same_content_has_the_same_fingerprint_whatever_its_spelling() -> None:
    # Given one purchase sent twice: lines reordered and split, the time with and without seconds
    a = purchase_input(lines=[line("A", 2), line("B", 1)], purchased_at="2025-03-14T08:10:00+09:00")
    b = purchase_input(
        lines=[line("B", 1), line("A", 1), line("A", 1)], purchased_at="2025-03-14T08:10+09:00"
    )
    # Then they are the same submission
    fp_a = behaviour.purchase_fingerprint(a, behaviour.merge_lines(a.lines))
    fp_b = behaviour.purchase_fingerprint(b, behaviour.merge_lines(b.lines))
    assert fp_a == fp_b
    # But the same instant at another offset, or another price, is other content
    c = purchase_input(lines=[line("A", 2), line("B", 1)], purchased_at="2025-03-13T23:10:00Z")
    d = purchase_input(lines=[line("A", 2, 4999), line("B", 1)])
    assert behaviour.purchase_fingerprint(c, behaviour.merge_lines(c.lines)) != fp_a
    assert behaviour.purchase_fingerprint(d, behaviour.merge_lines(d.lines)) != fp_a


# --- what is refused -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "stamp",
    [
        "2025-03-14T08:10:00",
        "2025-03-14",
        "1741900000",
        1741900000,
        "2025-03-14T08:10:00+15:00",
        "14/03/2025 08:10 +09:00",
        "",
    ],
)
def test_timestamps_need_iso_text_with_a_real_offset(stamp: Any) -> None:
    # Given a purchase time without an offset, a Unix time, or an impossible offset
    # When the purchase is validated
    # Then it is refused at purchased_at
    with pytest.raises(ValidationError) as caught:
        purchase_input(purchased_at=stamp)
    assert caught.value.errors()[0]["loc"] == ("purchased_at",)


@pytest.mark.parametrize(
    "stamp", ["2025-03-14T08:10:00Z", "2025-03-14T08:10:00.123456-05:00", "2025-03-14 08:10+0900"]
)
def test_timestamps_with_an_offset_are_accepted(stamp: str) -> None:
    # Given ISO 8601 text with its offset (Z, with fractions, compact)
    # Then it is accepted with its offset kept
    assert purchase_input(purchased_at=stamp).purchased_at.utcoffset() is not None


@pytest.mark.parametrize(
    "bad",
    [
        {"quantity": "1"},
        {"quantity": 1.0},
        {"unit_price": 4500.5},
        {"unit_price": "4500"},
        {"unit_price": True},
        {"premium": 1},
        {"sku": "A#1"},
        {"sku": ""},
        {"name": "\x07bell"},
    ],
)
def test_line_fields_are_strict(bad: dict[str, Any]) -> None:
    # Given a line with a coerced or unsafe value
    # When it is validated
    # Then it is refused (money is never a float or a numeric string)
    with pytest.raises(ValidationError):
        PurchaseLineIn.model_validate(line(**bad))


def test_a_purchase_fits_one_transaction() -> None:
    # Given 40 distinct SKUs (in 80 lines), and 41
    forty = [line(f"S{i % 40}") for i in range(80)]
    # When validated
    # Then 40 pass and 41 are refused
    assert len(purchase_input(lines=forty).lines) == 80
    with pytest.raises(ValidationError, match="at most 40 distinct SKUs"):
        purchase_input(lines=[line(f"S{i}") for i in range(41)])


@pytest.mark.parametrize(
    ("kind", "place", "ok"),
    [
        ("store", "gangnam-01", True),
        ("page", "/menu/coffee", True),
        ("page", "/menu?email=a@b.c", False),
        ("page", "/menu#top", False),
        ("page", "menu", False),
        ("store", "/menu", False),
    ],
)
def test_a_visits_place_fits_its_kind(kind: str, place: str, ok: bool) -> None:
    # Given a visit to a store or a page (a page path never carries its query string)
    body = {
        "external_id": "v-1",
        "customer_id": CUSTOMER,
        "kind": kind,
        "place": place,
        "started_at": "2025-03-14T08:10:00+09:00",
        "duration_s": 60,
    }
    if ok:
        assert VisitInput.model_validate(body).place == place
    else:
        with pytest.raises(ValidationError):
            VisitInput.model_validate(body)


@pytest.mark.parametrize(
    ("moment", "problem"),
    [
        (NOW + timedelta(minutes=6), "in_future"),
        (NOW - timedelta(days=5 * 365 + 2), "too_old"),
    ],
)
def test_moments_too_far_ahead_or_back_are_refused(moment: datetime, problem: str) -> None:
    # Given a moment 6 minutes ahead of our clock, or over 5 years back
    # When checked
    # Then it is a 422 naming the field and the problem
    with pytest.raises(Unprocessable) as caught:
        behaviour.check_moment(moment, NOW, ("body", "purchased_at"))
    assert caught.value.details == [
        {"loc": ["body", "purchased_at"], "type": problem, "msg": caught.value.details[0]["msg"]}
    ]


def test_a_till_a_few_minutes_fast_is_fine() -> None:
    # Given a till 4 minutes fast, and a purchase just under 5 years old
    # When they are checked
    # Then both pass
    behaviour.check_moment(NOW + timedelta(minutes=4), NOW, ("x",))
    behaviour.check_moment(NOW - timedelta(days=5 * 365), NOW, ("x",))


# --- ranking -------------------------------------------------------------------------------------


def usual(sku: str, count: int, days_ago: int) -> UsualItem:
    return UsualItem(
        sku=sku, name=sku, category="c", count=count, quantity=count, last_at=NOW - timedelta(days=days_ago)
    )


def test_the_usual_needs_two_purchases_and_ranks_by_count_then_recency() -> None:
    # Given counters of one daypart
    counters = [
        usual("ONCE", 1, 0),
        usual("OLD", 3, 9),
        usual("NEW", 3, 1),
        usual("TWICE", 2, 0),
        usual("GONE", 0, 0),
    ]
    # When ranked
    ranked = behaviour.rank_usual(counters, limit=3)
    # Then a single purchase (or a refunded one) is not usual; more is better, then more recent
    assert [u.sku for u in ranked] == ["NEW", "OLD", "TWICE"]
    assert [u.sku for u in behaviour.rank_usual(counters, limit=1)] == ["NEW"]


def test_popularity_sums_days_names_items_by_their_latest_day_and_drops_refunded_ones() -> None:
    # Given one hour's counters over two days (a latte renamed on the second), and a refunded tea
    day = date(2025, 3, 10)
    counters = [
        PopCounter("LATTE", "Latte (old name)", "coffee", 2, 3, day),
        PopCounter("LATTE", "Latte", "coffee", 1, 1, day + timedelta(days=1)),
        PopCounter("MOCHA", "Mocha", "coffee", 3, 3, day),
        PopCounter("TEA", "Tea", "tea", 0, 0, day),
    ]
    # When ranked
    ranked = behaviour.rank_popular(counters, limit=10)
    # Then days add up, the latest name wins, ties go to more units, and the tea is gone
    assert [(p.sku, p.name, p.count, p.quantity) for p in ranked] == [
        ("LATTE", "Latte", 3, 4),
        ("MOCHA", "Mocha", 3, 3),
    ]


def test_a_stores_today_is_its_local_date() -> None:
    # Given a store first seen at +09:00, at 00:26 UTC (09:26 in Seoul)
    # Then its today is the Seoul date; a store at -08:00 is still on the day before
    assert behaviour.store_today(StoreInfo("s", 540), datetime(2025, 3, 13, 20, 0, tzinfo=UTC)) == date(
        2025, 3, 14
    )
    assert behaviour.store_today(StoreInfo("s", -480), NOW) == date(2025, 3, 13)


# --- max and min as conditions -------------------------------------------------------------------


def test_a_counter_assumes_order_first_then_moves_only_what_moves() -> None:
    # Given the STATS counter of a purchase (no network: the table only builds actions)
    table = DynamoTable("t", client=None)
    counter = Counter(
        {"pk": "CUSTOMER#c", "sk": "STATS"},
        add={"purchase_count": 1, "premium_count": 0},
        latest={"last_purchase_at": "2025-03-14T00:00:00Z"},
        earliest={"first_purchase_at": "2025-03-14T00:00:00Z"},
    )
    # When nothing was read: set last and (if absent) first, on the condition that neither is later
    optimistic = counter.update(table, read=False, seen=None)
    assert optimistic["UpdateExpression"] == "SET #a1 = :v1, #a2 = if_not_exists(#a2, :v2) ADD #a0 :v0"
    assert optimistic["ConditionExpression"] == (
        "(attribute_not_exists(#a1) OR #a1 <= :v1) AND (attribute_not_exists(#a2) OR #a2 <= :v2)"
    )
    # When the stored item says the purchase came late: only first moves, under a condition
    late = counter.update(
        table,
        read=True,
        seen={"last_purchase_at": "2025-03-20T00:00:00Z", "first_purchase_at": "2025-03-15T00:00:00Z"},
    )
    assert late["UpdateExpression"] == "SET #a1 = :v1 ADD #a0 :v0"
    assert late["ExpressionAttributeNames"] == {"#a0": "purchase_count", "#a1": "first_purchase_at"}
    assert late["ConditionExpression"] == "(attribute_not_exists(#a1) OR #a1 > :v1)"
    # When it is between first and last: nothing but the counts moves, unconditionally
    between = counter.update(
        table,
        read=True,
        seen={"last_purchase_at": "2025-03-20T00:00:00Z", "first_purchase_at": "2025-03-01T00:00:00Z"},
    )
    assert between["UpdateExpression"] == "ADD #a0 :v0"
    assert "ConditionExpression" not in between


# --- the decisions of the logic, over a small fake store ----------------------------------------


class FakeStore:
    """Just enough of the behaviour store to drive the logic's decisions."""

    window_days = 28

    def __init__(self) -> None:
        self.zones = {CUSTOMER: "Asia/Seoul"}
        self.erased_ids: set[str] = set()
        self.claims: dict[str, Claim] = {}
        self.purchases: dict[str, Purchase] = {}
        self.events: list[Any] = []

    def customer_zone(self, customer_id: str) -> str | None:
        return self.zones.get(customer_id)

    def erased(self, customer_id: str) -> bool:
        return customer_id in self.erased_ids

    def record_purchase(
        self, purchase: Purchase, fingerprint: str, event: PurchaseRecorded | None, *, at: datetime
    ) -> None:
        if purchase.external_id in self.claims:
            raise AlreadyRecorded(self.claims[purchase.external_id])
        if purchase.customer_id not in self.zones:
            raise CustomerGone
        self.claims[purchase.external_id] = Claim(purchase.customer_id, purchase.external_id, fingerprint)
        self.purchases[purchase.external_id] = purchase
        self.events += [event] if event else []

    def purchase(self, customer_id: str, sort_key: str) -> Purchase | None:
        return self.purchases.get(sort_key)

    def purchase_of(self, external_id: str) -> Purchase | None:
        return self.purchases.get(external_id)

    def refund(
        self, purchase: Purchase, refunded: Purchase, event: PurchaseRefunded, *, at: datetime
    ) -> None:
        self.purchases[purchase.external_id] = refunded
        self.events.append(event)

    def record_visit(self, visit: Visit, fingerprint: str, event: VisitRecorded, *, at: datetime) -> None:
        self.events.append(event)

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        yield


_IDS = itertools.count(1)


def record(store: FakeStore, **over: Any) -> tuple[Purchase, bool]:
    return behaviour.record_purchase(
        store,  # type: ignore[arg-type]
        purchase_input(**over),
        clock=FakeClock(NOW),
        new_id=lambda prefix: f"{prefix}_{next(_IDS):026d}",  # a new id per call, as in production
    )


def test_recording_fills_the_event_contract() -> None:
    # Given a Seoul customer's purchase of two lattes and a premium service
    store = FakeStore()
    # When it is recorded
    purchase, created = record(store, lines=[line("LATTE", 2, 5000), line("CARE", 1, 9000, premium=True)])
    # Then the event's total is the sum of the lines and its date the customer's local date
    assert created
    (event,) = store.events
    assert (event.total, event.local_date, event.purchase_id) == (19_000, date(2025, 3, 14), f"pur_{1:026d}")
    assert [(x.sku, x.amount, x.premium) for x in event.lines] == [
        ("CARE", 9000, True),
        ("LATTE", 10_000, False),
    ]
    assert purchase.daypart == "morning"


def test_the_same_submission_is_the_first_result_and_other_content_is_409() -> None:
    # Given a recorded purchase
    store = FakeStore()
    first, _ = record(store)
    # When the same comes again, then other content under its external id
    again, created = record(store, lines=[line()])
    # Then the first is the result, then it is a 409, and one event went out
    assert (again, created) == (first, False)
    with pytest.raises(Conflict) as caught:
        record(store, lines=[line(quantity=2)])
    assert caught.value.code == "external_id_reused"
    assert len(store.events) == 1


def test_unknown_and_erased_customers_have_their_codes() -> None:
    # Given a customer id without a profile, first never known, then erased
    store = FakeStore()
    other = "cus_01JD5Z8Q6M3X7N2P4R9T0V1W3Z"
    with pytest.raises(Unprocessable) as unknown:
        record(store, customer_id=other)
    store.erased_ids.add(other)
    with pytest.raises(Unprocessable) as erased:
        record(store, customer_id=other)
    assert (unknown.value.code, erased.value.code) == ("customer_not_found", "customer_erased")


def test_a_failed_payment_publishes_nothing_and_cannot_be_refunded() -> None:
    # Given a purchase whose payment failed
    store = FakeStore()
    record(store, payment_status="failed")
    # Then no event was made (nothing to earn on), and a refund of it is a conflict
    assert store.events == []
    with pytest.raises(Conflict) as caught:
        behaviour.refund_purchase(store, "pos-1", RefundInput(refund_id="r"), clock=FakeClock(NOW))  # type: ignore[arg-type]
    assert caught.value.code == "not_refundable"


def test_refund_decisions() -> None:
    # Given a recorded purchase, refunded once, then again with the same id, another id, an unknown one
    store = FakeStore()
    record(store)
    clock = FakeClock(NOW)
    refunded, created = behaviour.refund_purchase(store, "pos-1", RefundInput(refund_id="r1"), clock=clock)  # type: ignore[arg-type]
    again, again_created = behaviour.refund_purchase(store, "pos-1", RefundInput(refund_id="r1"), clock=clock)  # type: ignore[arg-type]
    # Then: refunded now; the same result; already_refunded; purchase_not_found; two events in all
    assert (refunded.status, refunded.refunded_at, created) == ("refunded", NOW, True)
    assert (again, again_created) == (refunded, False)
    with pytest.raises(Conflict) as second:
        behaviour.refund_purchase(store, "pos-1", RefundInput(refund_id="r2"), clock=clock)  # type: ignore[arg-type]
    with pytest.raises(NotFound) as missing:
        behaviour.refund_purchase(store, "pos-404", RefundInput(refund_id="r"), clock=clock)  # type: ignore[arg-type]
    assert (second.value.code, missing.value.code) == ("already_refunded", "purchase_not_found")
    assert [type(e).__name__ for e in store.events] == ["PurchaseRecorded", "PurchaseRefunded"]

"""Coupons and gifts without AWS: codes, discounts, validity, qualification, and the draw and
purchase rules on a small in-memory store."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from services.rewards.dal.offers import code_hash
from services.rewards.logic import coupons, gifts
from services.rewards.models.offers import (
    AmountOff,
    ClaimStatus,
    CouponRecord,
    CouponTemplate,
    Gift,
    GrantVia,
    Money,
    PercentOff,
    TemplateCreate,
    WonGift,
)
from shared.errors import Conflict
from tests.unit.fakes import PROPERTIES

NOW = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


# -- codes ---------------------------------------------------------------------------------------


def test_codes_are_grouped_unambiguous_and_carry_80_bits() -> None:
    codes = {coupons.new_code() for _ in range(500)}
    assert len(codes) == 500
    for code in codes:
        groups = code.split("-")
        assert [len(g) for g in groups] == [4, 4, 4, 4]
        assert set("".join(groups)) <= set(coupons.ALPHABET)
    assert not set("01OI") & set(coupons.ALPHABET)
    assert coupons.CODE_LENGTH * math.log2(len(set(coupons.ALPHABET))) >= 80


def test_a_code_is_found_however_it_is_typed() -> None:
    code = "ABCD-EFGH-JKMN-PQRS"
    for typed in ("abcd-efgh-jkmn-pqrs", "ABCDEFGHJKMNPQRS", " abcd efgh jkmn pqrs "):
        assert code_hash(typed) == code_hash(code)
        assert coupons.well_formed(typed)
    assert code not in code_hash(code)
    assert not coupons.well_formed("ABCD-EFGH-JKMN-PQR0")  # 0 is not in the alphabet
    assert not coupons.well_formed("ABCD-EFGH-JKMN")


# -- discounts, validity, status ---------------------------------------------------------------


@PROPERTIES
@given(
    total=st.integers(0, 10**9),
    percent=st.integers(1, 100),
    cap=st.none() | st.integers(1, 10**7),
    amount=st.integers(1, 10**7),
)
def test_a_discount_is_a_whole_amount_never_above_the_order_or_its_cap(
    total: int, percent: int, cap: int | None, amount: int
) -> None:
    capped = Money(amount=cap, currency="KRW") if cap else None
    off = coupons.discount_for(PercentOff(kind="percent", percent=percent, max_discount=capped), total)
    assert off == min(total * percent // 100, cap if cap else total)
    assert 0 <= off <= total
    fixed = coupons.discount_for(AmountOff(kind="amount", amount=amount, currency="KRW"), total)
    assert fixed == min(amount, total)


def template(**changes: Any) -> CouponTemplate:
    data: dict[str, Any] = {
        "id": "ctp_01JK2M3N4P5Q6R7S8T9V0W1X2Y",
        "name": "t",
        "discount": {"kind": "percent", "percent": 10},
        "min_spend": None,
        "valid_from": None,
        "valid_until": None,
        "valid_days": 30,
        "per_customer_limit": 1,
        "max_issued": None,
        "issued": 0,
        "status": "active",
        "created_at": NOW,
        **changes,
    }
    return CouponTemplate.model_validate(data)


def test_a_coupon_is_valid_until_the_earlier_of_the_templates_end_and_its_days() -> None:
    end = NOW + timedelta(days=10)
    assert coupons.validity(template(), NOW) == (None, NOW + timedelta(days=30))
    assert coupons.validity(template(valid_until=end), NOW) == (None, end)
    assert coupons.validity(template(valid_until=end, valid_days=None), NOW) == (None, end)


def test_an_unredeemed_coupon_past_its_end_reads_as_expired() -> None:
    coupon = CouponRecord(
        coupon_id="cpn_01JK2M3N4P5Q6R7S8T9V0W1X2Y",
        customer_id="cus_01JK2M3N4P5Q6R7S8T9V0W1X2Y",
        template_id="ctp_01JK2M3N4P5Q6R7S8T9V0W1X2Y",
        name="t",
        discount=PercentOff(kind="percent", percent=10),
        min_spend=None,
        currency=None,
        valid_from=None,
        valid_until=NOW,
        issued_at=NOW - timedelta(days=1),
        status="issued",
        code="ABCD-EFGH-JKMN-PQRS",
    )
    assert coupons.status_at(coupon, NOW - timedelta(seconds=1)) == "issued"
    assert coupons.status_at(coupon, NOW) == "expired"
    assert coupons.status_at(coupon.model_copy(update={"status": "redeemed"}), NOW) == "redeemed"
    assert coupons.wallet_view(coupon, NOW, show_code=False).code is None


@pytest.mark.parametrize(
    "changes",
    [
        {"valid_days": None},
        {"discount": {"kind": "percent", "percent": 10, "max_discount": {"amount": 0, "currency": "KRW"}}},
        {
            "discount": {"kind": "amount", "amount": 100, "currency": "KRW"},
            "min_spend": {"amount": 1, "currency": "USD"},
        },
        {"valid_from": "2026-03-02T00:00:00", "valid_until": "2026-04-02T00:00:00Z"},  # no offset
        {"max_issued": 1.0},
    ],
)
def test_a_template_that_cannot_work_is_refused(changes: dict[str, Any]) -> None:
    base = {"name": "t", "discount": {"kind": "percent", "percent": 10}, "valid_days": 30}
    with pytest.raises(ValidationError):
        TemplateCreate.model_validate({**base, **changes})


# -- gifts -------------------------------------------------------------------------------------


def gift(**changes: Any) -> Gift:
    data: dict[str, Any] = {
        "id": "gft_01JK2M3N4P5Q6R7S8T9V0W1X2Y",
        "name": "Mug",
        "stock": 3,
        "remaining": 3,
        "per_customer_limit": 1,
        "mode": "instant",
        "starts_at": NOW,
        "ends_at": NOW + timedelta(days=1),
        "min_total": 1000,
        "currency": "KRW",
        "store_ids": None,
        "created_at": NOW,
        "entrants": 0,
        "winners": 0,
        **changes,
    }
    return Gift.model_validate(data)


def test_a_purchase_qualifies_inside_the_window_from_the_minimum_at_listed_stores() -> None:
    mug = gift(store_ids=["s1"])
    ok: dict[str, Any] = {"store_id": "s1", "currency": "KRW", "total": 1000, "at": NOW}
    assert mug.qualifies(**ok)
    assert not mug.qualifies(**{**ok, "at": NOW + timedelta(days=1)})  # the end is exclusive
    assert not mug.qualifies(**{**ok, "at": NOW - timedelta(seconds=1)})
    assert not mug.qualifies(**{**ok, "total": 999})
    assert not mug.qualifies(**{**ok, "currency": "USD"})
    assert not mug.qualifies(**{**ok, "store_id": "s2"})
    assert gift().qualifies(**{**ok, "store_id": None})


@dataclass
class FakeGiftStore:
    """Gifts in memory, with the claim rules the table's conditions enforce."""

    live: list[Gift]
    accounts: set[str]
    entrants: dict[str, list[str]] = field(default_factory=dict)
    held: dict[tuple[str, str], int] = field(default_factory=dict)
    claims: set[tuple[str, str]] = field(default_factory=set)
    claim_calls: int = 0

    def customer_of(self, subject: str) -> str | None:
        return None

    def has_account(self, customer_id: str) -> bool:
        return customer_id in self.accounts

    def create_gift(self, gift: Gift) -> None:
        self.live.append(gift)

    def gift(self, gift_id: str) -> Gift | None:
        return next((g for g in self.live if g.id == gift_id), None)

    def gifts(self, *, after: str | None, limit: int) -> tuple[list[Gift], str | None]:
        return self.live[:limit], None

    def live_gifts(self, at: datetime) -> list[Gift]:
        return list(self.live)

    def enter(self, gift: Gift, customer_id: str, *, at: datetime) -> bool:
        if customer_id not in self.accounts:
            return False
        names = self.entrants.setdefault(gift.id, [])
        if customer_id not in names:
            names.append(customer_id)
        return True

    def entrants_not_won(self, gift_id: str) -> list[str]:
        return [c for c in self.entrants.get(gift_id, []) if (gift_id, c) not in self.held]

    def claim(
        self, gift: Gift, customer_id: str, *, via: GrantVia, source: str, seen_remaining: int, at: datetime
    ) -> ClaimStatus:
        self.claim_calls += 1
        current = self.gift(gift.id)
        assert current is not None
        if (gift.id, source) in self.claims:
            return "duplicate"
        if customer_id not in self.accounts:
            return "no_account"
        if current.remaining <= 0:
            return "sold_out"
        if self.held.get((gift.id, customer_id), 0) >= gift.per_customer_limit:
            return "limit_reached"
        if via == "purchase":
            self.claims.add((gift.id, source))
        self.held[(gift.id, customer_id)] = self.held.get((gift.id, customer_id), 0) + 1
        self.live = [
            g if g.id != gift.id else g.model_copy(update={"remaining": g.remaining - 1}) for g in self.live
        ]
        return "granted"

    def won_gifts(
        self, customer_id: str, *, after: str | None, limit: int
    ) -> tuple[list[WonGift], str | None]:
        return [], None


def buy(store: FakeGiftStore, customer: str, purchase: str, total: int = 5000) -> list[tuple[str, str]]:
    outcomes = gifts.on_purchase(
        store, customer_id=customer, purchase_id=purchase, store_id="s1", currency="KRW", total=total, at=NOW
    )
    return [(o.gift_id, o.status) for o in outcomes]


def test_a_sold_out_gift_is_refused_without_a_write() -> None:
    store = FakeGiftStore([gift(remaining=0)], {"ann"})
    assert buy(store, "ann", "p1") == [(gift().id, "sold_out")]
    assert store.claim_calls == 0


def test_a_purchase_enters_draws_and_wins_instant_gifts_it_qualifies_for() -> None:
    raffle = gift(id="gft_01JK2M3N4P5Q6R7S8T9V0W1X2A", mode="draw")
    rich = gift(id="gft_01JK2M3N4P5Q6R7S8T9V0W1X2B", min_total=100_000)
    store = FakeGiftStore([raffle, gift(), rich], {"ann"})
    assert buy(store, "ann", "p1") == [(raffle.id, "entered"), (gift().id, "granted")]
    assert buy(store, "ann", "p1") == [(raffle.id, "entered"), (gift().id, "duplicate")]
    assert buy(store, "bob", "p2") == [(raffle.id, "no_account"), (gift().id, "no_account")]
    assert store.entrants[raffle.id] == ["ann"]


@PROPERTIES
@given(
    entrants=st.integers(0, 30),
    stock=st.integers(1, 20),
    winners=st.integers(1, 40),
    seed=st.integers(0, 2**32),
)
def test_a_draw_never_exceeds_the_stock_the_request_or_the_entrants(
    entrants: int, stock: int, winners: int, seed: int
) -> None:
    raffle = gift(mode="draw", stock=stock, remaining=stock)
    people = [f"c{n}" for n in range(entrants)]
    store = FakeGiftStore([raffle], set(people[::2]))  # every other entrant has an account
    store.entrants[raffle.id] = list(people)
    drawn = gifts.draw(store, raffle.id, winners, clock=lambda: NOW, rng=random.Random(seed))  # noqa: S311
    eligible = len(people[::2])
    assert len(drawn.winners) == min(stock, winners, eligible)
    assert len(set(drawn.winners)) == len(drawn.winners)
    assert set(drawn.winners) <= store.accounts
    assert drawn.remaining == stock - len(drawn.winners) >= 0


def test_a_draw_of_an_instant_or_sold_out_gift_is_refused() -> None:
    store = FakeGiftStore([gift()], set())
    with pytest.raises(Conflict) as instant:
        gifts.draw(store, gift().id, 1, clock=lambda: NOW)
    assert instant.value.code == "not_a_draw"
    store = FakeGiftStore([gift(mode="draw", remaining=0)], set())
    with pytest.raises(Conflict) as sold:
        gifts.draw(store, gift().id, 1, clock=lambda: NOW)
    assert sold.value.code == "gift_sold_out"

"""The customer view kept from events, with in-memory stores: one effect per event, no older
state over a newer one, a refund before its purchase, concurrent writers, erasure."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import pytest

from services.campaigns.logic.projection import (
    AlreadyApplied,
    Effect,
    Projection,
    Stale,
    StandingSegment,
    Stored,
)
from services.campaigns.models import inbound
from services.campaigns.models.view import CustomerView

AT = dt.datetime(2026, 3, 10, 9, 0, tzinfo=dt.UTC)
CUSTOMER = "cus_01JD5Z8Q6M3X7N2P4R9T0V1W2Y"
PURCHASE = "pur_01JD5Z8Q6M3X7N2P4R9T0V1W2Y"


class Views:
    """The view store: versions, effect records, conflicts on demand."""

    def __init__(self) -> None:
        self.view: CustomerView | None = None
        self.version = 0
        self.erased = False
        self.effects: dict[tuple[str, str], dict[str, Any]] = {}
        self.conflicts = 0  # how many saves lose to a concurrent writer first

    def load(self, customer_id: str) -> Stored:
        return Stored(self.view, self.version, self.erased)

    def save(self, view: CustomerView, expected: int, effect: Effect | None, at: dt.datetime) -> None:
        if effect is not None and (effect.kind, effect.ref) in self.effects:
            raise AlreadyApplied
        if self.conflicts:
            self.conflicts -= 1
            self.version += 1
            raise Stale
        assert expected == self.version
        if effect is not None:
            self.effects[(effect.kind, effect.ref)] = effect.data
        self.view, self.version = view, expected + 1

    def effect(self, customer_id: str, kind: str, ref: str) -> dict[str, Any] | None:
        return self.effects.get((kind, ref))

    def erase(self, customer_id: str, at: dt.datetime) -> None:
        self.view, self.effects, self.erased = None, {}, True


class Members:
    def __init__(self, *segments: StandingSegment) -> None:
        self.segments = segments
        self.members: set[tuple[str, str]] = set()

    def standing(self) -> Sequence[StandingSegment]:
        return self.segments

    def add(self, segment_id: str, customer_id: str) -> bool:
        new = (segment_id, customer_id) not in self.members
        self.members.add((segment_id, customer_id))
        return new

    def remove(self, segment_id: str, customer_id: str) -> bool:
        had = (segment_id, customer_id) in self.members
        self.members.discard((segment_id, customer_id))
        return had


BUYERS = StandingSegment("seg_buyers", 1, lambda view, now: view.last_purchase_at is not None)


def purchase(total: int = 10_000) -> inbound.PurchaseRecorded:
    return inbound.PurchaseRecorded(
        purchase_id=PURCHASE,
        customer_id=CUSTOMER,
        currency="KRW",
        total=total,
        purchased_at=AT,
        local_date=AT.date(),
    )


def refund() -> inbound.PurchaseRefunded:
    return inbound.PurchaseRefunded(
        purchase_id=PURCHASE,
        refund_id="r-1",
        customer_id=CUSTOMER,
        currency="KRW",
        total=10_000,
        refunded_at=AT,
    )


def consent(granted: bool) -> inbound.ConsentChanged:
    return inbound.ConsentChanged(customer_id=CUSTOMER, consents={"email.marketing": granted})


@pytest.fixture
def world() -> tuple[Projection, Views, Members]:
    views, members = Views(), Members(BUYERS)
    return Projection(views, members), views, members


def test_a_purchase_counts_once_and_makes_a_buyer(world: tuple[Projection, Views, Members]) -> None:
    projection, views, members = world
    # When a purchase arrives, then arrives again
    first = projection.apply("PurchaseRecorded", purchase(), at=AT, now=AT)
    again = projection.apply("PurchaseRecorded", purchase(), at=AT, now=AT)
    # Then it counted once, and the customer joined the buyers once
    assert views.view is not None
    assert views.view.purchase_count(30, AT.date()) == 1
    assert views.view.spend(30, "KRW", AT.date()) == 10_000
    assert (first.applied, first.joined) == (True, ("seg_buyers",))
    assert (again.applied, again.joined) == (False, ())
    assert members.members == {("seg_buyers", CUSTOMER)}


def test_a_refund_takes_back_its_purchase_and_one_before_it_makes_the_purchase_count_nothing(
    world: tuple[Projection, Views, Members],
) -> None:
    projection, views, _ = world
    # Given a refund that arrives before its purchase (SQS keeps no order)
    projection.apply("PurchaseRefunded", refund(), at=AT, now=AT)
    # When the purchase arrives
    projection.apply("PurchaseRecorded", purchase(), at=AT, now=AT)
    # Then it counts nothing
    assert views.view is not None
    assert views.view.purchase_count(30, AT.date()) == 0
    assert views.view.spend(30, "KRW", AT.date()) == 0


def test_a_refund_after_its_purchase_takes_back_the_count_and_the_spend(
    world: tuple[Projection, Views, Members],
) -> None:
    projection, views, _ = world
    projection.apply("PurchaseRecorded", purchase(), at=AT, now=AT)
    projection.apply("PurchaseRefunded", refund(), at=AT, now=AT)
    projection.apply("PurchaseRefunded", refund(), at=AT, now=AT)  # again: nothing more
    assert views.view is not None
    assert (views.view.purchase_count(30, AT.date()), views.view.purchases) == (0, {})


def test_an_older_consent_never_overwrites_a_newer_one(world: tuple[Projection, Views, Members]) -> None:
    projection, views, _ = world
    # Given consent withdrawn at 10:00
    projection.apply("ConsentChanged", consent(False), at=AT + dt.timedelta(hours=1), now=AT)
    # When a grant from 09:00 arrives late
    late = projection.apply("ConsentChanged", consent(True), at=AT, now=AT)
    # Then the withdrawal stands
    assert views.view is not None
    assert views.view.consents == {"email.marketing": False}
    assert late.applied is False


def test_a_concurrent_writer_makes_it_read_again_and_apply_once(
    world: tuple[Projection, Views, Members],
) -> None:
    projection, views, _ = world
    # Given two saves that lose to concurrent writers
    views.conflicts = 2
    # When a purchase arrives
    outcome = projection.apply("PurchaseRecorded", purchase(), at=AT, now=AT)
    # Then it was applied on the third try, once
    assert outcome.applied
    assert views.view is not None
    assert views.view.purchase_count(30, AT.date()) == 1


def test_erasure_leaves_every_segment_and_later_events_create_nothing(
    world: tuple[Projection, Views, Members],
) -> None:
    projection, views, members = world
    projection.apply("PurchaseRecorded", purchase(), at=AT, now=AT)
    # When the customer is erased, and a consent event comes after
    erased = projection.apply("CustomerErased", inbound.CustomerErased(customer_id=CUSTOMER), at=AT, now=AT)
    late = projection.apply("ConsentChanged", consent(True), at=AT, now=AT)
    # Then they left the buyers and nothing of them is kept
    assert erased.left == ("seg_buyers",)
    assert members.members == set()
    assert (views.view, views.effects, late.applied) == (None, {}, False)

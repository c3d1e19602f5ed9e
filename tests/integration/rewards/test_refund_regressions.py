"""Refund regressions on moto: which lots a refund takes back, and what debt it books.

Two bugs planted in ``ledger.reverse`` passed every test: a refund that no longer took back from its
own purchase's lot first (the only refund test gave that lot the soonest expiry, so the soonest-first
order took it first anyway), and a refund of a credit that had settled a debt booking new debt.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from services.rewards.dal.ledger import DynamoLedgerStore
from services.rewards.logic import ledger
from shared.ids import new_id
from tests.integration.rewards.test_ledger import LATER, NOW, SOON, assert_no_drift, earn, make_store, spend

MIDDLE = NOW + timedelta(days=100)


@pytest.fixture
def store(tables: dict[str, str], bus: str) -> DynamoLedgerStore:
    return make_store(bus)


def refund(store: DynamoLedgerStore, customer: str, purchase: str) -> ledger.Applied:
    reversed_ = ledger.reverse(
        store,
        customer_id=customer,
        earned_source=f"purchase:{purchase}",
        source=f"refund:{purchase}",
        actor="system",
        reason="refund",
        now=NOW,
    )
    assert reversed_ is not None
    assert reversed_.created
    return reversed_


def remaining(store: DynamoLedgerStore, customer: str) -> dict[str | None, int]:
    return {lot.id: lot.remaining for lot in store.lots(customer)}


def numbers(store: DynamoLedgerStore, customer: str) -> tuple[int, int]:
    view = ledger.account(store, customer, now=NOW)
    return view.balance, view.debt


# --- a refund takes back from its own lot first --------------------------------------------------


def test_a_refund_takes_its_own_lot_even_when_another_lot_expires_sooner(store: DynamoLedgerStore) -> None:
    # Given 50 points expiring soon, and a purchase that earned 100 expiring later
    customer = new_id("cus")
    soon = earn(store, customer, 50, "p:soon", expires_at=SOON)
    bought = earn(store, customer, 100, "purchase:pur_a", expires_at=LATER)
    # When the purchase is refunded
    taken = refund(store, customer, "pur_a").entry
    # Then all 100 come from the purchase's own lot; the sooner lot is untouched and nothing is owed
    assert [(d.lot_id, d.points) for d in taken.draws] == [(bought.entry.lot_id, 100)]
    assert (taken.points, taken.debt_added) == (-100, 0)
    assert remaining(store, customer) == {soon.entry.lot_id: 50, bought.entry.lot_id: 0}
    assert numbers(store, customer) == (50, 0)
    assert_no_drift(store, customer)


def test_a_refund_takes_what_is_left_of_its_own_lot_then_the_soonest_expiring(
    store: DynamoLedgerStore,
) -> None:
    # Given a purchase that earned 100 (expiring late), 40 of them since redeemed,
    # then 50 points expiring soon and 80 expiring in between
    customer = new_id("cus")
    bought = earn(store, customer, 100, "purchase:pur_b", expires_at=LATER)
    spend(store, customer, 40, "order:b")
    soon = earn(store, customer, 50, "p:soon", expires_at=SOON)
    middle = earn(store, customer, 80, "p:middle", expires_at=MIDDLE)
    # When the purchase is refunded
    taken = refund(store, customer, "pur_b").entry
    # Then its own lot's 60 go first, then 40 from the soonest-expiring lot; the middle lot is untouched
    assert [(d.lot_id, d.points) for d in taken.draws] == [
        (bought.entry.lot_id, 60),
        (soon.entry.lot_id, 40),
    ]
    assert (taken.points, taken.debt_added) == (-100, 0)
    assert remaining(store, customer) == {
        bought.entry.lot_id: 0,
        soon.entry.lot_id: 10,
        middle.entry.lot_id: 80,
    }
    assert numbers(store, customer) == (90, 0)
    assert_no_drift(store, customer)


# --- a refund of a credit that settled a debt ------------------------------------------------------


def in_debt(store: DynamoLedgerStore, customer: str, points: int) -> None:
    """A purchase earned ``points``, they were all spent, then it was refunded: ``points`` owed."""
    earn(store, customer, points, "purchase:pur_spent", expires_at=LATER)
    spend(store, customer, points, "order:spent")
    refund(store, customer, "pur_spent")
    assert numbers(store, customer) == (0, points)


def test_a_refund_of_a_credit_that_settled_a_debt_takes_it_all_back_from_lots_and_owes_nothing(
    store: DynamoLedgerStore,
) -> None:
    # Given a debt of 50, a purchase that earned 80 (50 paid the debt, 30 made its lot),
    # and another purchase's 100 points
    customer = new_id("cus")
    in_debt(store, customer, 50)
    settling = earn(store, customer, 80, "purchase:pur_c", expires_at=LATER)
    assert (settling.entry.debt_settled, settling.entry.points) == (50, 30)
    other = earn(store, customer, 100, "purchase:pur_d", expires_at=SOON)
    assert numbers(store, customer) == (130, 0)
    # When the settling purchase is refunded
    taken = refund(store, customer, "pur_c").entry
    # Then all 80 it credited come back from lots (its own 30, then 50 of the other), and no debt is booked
    assert [(d.lot_id, d.points) for d in taken.draws] == [
        (settling.entry.lot_id, 30),
        (other.entry.lot_id, 50),
    ]
    assert (taken.points, taken.debt_added) == (-80, 0)
    assert numbers(store, customer) == (50, 0)
    assert_no_drift(store, customer)


def test_a_refund_of_a_credit_that_only_paid_a_debt_owes_exactly_that_debt_again(
    store: DynamoLedgerStore,
) -> None:
    # Given a debt of 50 of which a purchase of 30 points paid 30 (no lot: it all went to the debt)
    customer = new_id("cus")
    in_debt(store, customer, 50)
    settling = earn(store, customer, 30, "purchase:pur_e", expires_at=LATER)
    assert (settling.entry.debt_settled, settling.entry.points, settling.entry.lot_id) == (30, 0, None)
    assert numbers(store, customer) == (0, 20)
    # When that purchase is refunded, with no points left to take
    taken = refund(store, customer, "pur_e").entry
    # Then the debt is what it was before the purchase: 50, not a point more
    assert (taken.points, taken.debt_added, taken.draws) == (0, 30, [])
    assert numbers(store, customer) == (0, 50)
    # And when the points are there, the same refund takes them instead of owing them
    again = new_id("cus")
    in_debt(store, again, 50)
    earn(store, again, 30, "purchase:pur_e", expires_at=LATER)
    later = earn(store, again, 100, "purchase:pur_f", expires_at=LATER)
    assert numbers(store, again) == (80, 0)
    taken = refund(store, again, "pur_e").entry
    assert [(d.lot_id, d.points) for d in taken.draws] == [(later.entry.lot_id, 30)]
    assert (taken.points, taken.debt_added) == (-30, 0)
    assert numbers(store, again) == (50, 0)
    assert_no_drift(store, customer)
    assert_no_drift(store, again)

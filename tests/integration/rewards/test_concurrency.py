"""Many operations on one account at once serialize on its version: 50 redemptions of 10 points
against 300 give exactly 30 successes, and CREDITS credits at once are all applied (100 pass too,
in about 30 s: moto copies the whole table for every transaction, failed ones included, so the
suite's budget keeps this at 40; ``bench/`` measures the 100).

Each thread has its own store (as separate Lambda execution environments would); ``serialized_moto``
answers one call at a time, so the races exercised are between our conditional writes, not inside moto.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import pytest

from services.rewards.logic import ledger
from shared.errors import Conflict
from shared.ids import new_id
from tests.integration.rewards.test_ledger import NOW, assert_no_drift, earn, make_store, spend

T = TypeVar("T")
pytestmark = pytest.mark.usefixtures("serialized_moto", "tables")
CREDITS = 40


def all_at_once(calls: list[Callable[[], T]]) -> list[T | Conflict]:
    barrier = threading.Barrier(len(calls))

    def run(call: Callable[[], T]) -> T | Conflict:
        barrier.wait(timeout=10)
        try:
            return call()
        except Conflict as exc:
            return exc

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return [f.result(timeout=120) for f in [pool.submit(run, call) for call in calls]]


def test_fifty_concurrent_redemptions_of_ten_against_three_hundred_give_exactly_thirty(bus: str) -> None:
    # Given an account with 300 points in three lots
    customer = new_id("cus")
    setup = make_store(bus)
    for n in range(3):
        earn(setup, customer, 100, f"purchase:{n}")
    # When 50 tills redeem 10 points each at the same moment
    stores = [make_store(bus) for _ in range(50)]
    outcomes = all_at_once(
        [lambda s=s, n=n: spend(s, customer, 10, f"order:{n}") for n, s in enumerate(stores)]  # type: ignore[misc]
    )
    # Then exactly 30 succeed, the other 20 are told there are not enough points
    codes = sorted(o.code if isinstance(o, Conflict) else "ok" for o in outcomes)
    assert codes == ["insufficient_points"] * 20 + ["ok"] * 30
    # ... and the account is empty, with nothing drifting
    assert ledger.account(setup, customer, now=NOW).balance == 0
    assert_no_drift(setup, customer)


def test_many_concurrent_credits_on_one_account_are_all_applied(bus: str) -> None:
    # Given a customer
    customer = new_id("cus")
    ledger.open_account(make_store(bus), customer, now=NOW)
    # When many purchases earn 7 points each at once
    stores = [make_store(bus) for _ in range(CREDITS)]
    outcomes = all_at_once(
        [lambda s=s, n=n: earn(s, customer, 7, f"purchase:{n}") for n, s in enumerate(stores)]  # type: ignore[misc]
    )
    # Then every one was applied once
    assert all(isinstance(o, ledger.Applied) and o.created for o in outcomes), outcomes
    view = ledger.account(stores[0], customer, now=NOW)
    assert (view.balance, view.lifetime_earned) == (7 * CREDITS, 7 * CREDITS)
    assert len(stores[0].open_lots(customer)) == CREDITS
    assert_no_drift(stores[0], customer)

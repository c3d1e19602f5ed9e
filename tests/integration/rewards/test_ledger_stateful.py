"""Random sequences of ledger operations on moto keep the ledger exact.

Rules: purchase earns, short pre-grants, redemptions, holds captured or released, refunds of
earlier purchases, expiry (the clock moves past lots' expiry and the due lots are expired), replays
of earlier operations, and an overlapping second attempt (a second store racing with the same
source). After every step: the balance is the sum of the open lots and never negative, every
spend's draws add up to its points and name real lots, a refund reverses exactly what its purchase
earned, a replay changed nothing, and ``verify`` finds no drift.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar

import hypothesis.strategies as st
import pytest
from hypothesis import HealthCheck, settings
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from services.rewards.dal.ledger import DynamoLedgerStore
from services.rewards.logic import ledger
from services.rewards.logic.ledger import Purchase
from services.rewards.topology import REWARDS
from shared.errors import Conflict
from shared.ids import new_id
from tests.integration.conftest import scan_all
from tests.integration.rewards.test_ledger import NOW, make_store

T = TypeVar("T")


def refused_or(call: Callable[[], T], *codes: str) -> T | None:
    """The call's result, or None when it was refused with one of ``codes``."""
    try:
        return call()
    except Conflict as exc:
        refused = exc.code
    assert refused in codes
    return None


class LedgerMachine(RuleBasedStateMachine):
    store: DynamoLedgerStore
    other: DynamoLedgerStore

    def __init__(self) -> None:
        super().__init__()
        self.customer = new_id("cus")
        self.now = NOW
        self.count = 0
        self.purchases: list[tuple[str, int]] = []  # (source, points earned)
        self.refunded: set[str] = set()
        self.holds: list[str] = []
        self.replays: list[Callable[[], Any]] = []
        ledger.open_account(self.store, self.customer, now=self.now)

    def _next(self, what: str) -> str:
        self.count += 1
        return f"{what}:{self.count}"

    def _entries(self) -> int:
        return len(self.store.all_entries(self.customer))

    @rule(points=st.integers(1, 300), days=st.integers(1, 60))
    def earn(self, points: int, days: int) -> None:
        source = self._next("purchase")
        buy = Purchase(source, "KRW", points * 100, points * 100, self.now.strftime("%Y-%m"))

        def call(store: DynamoLedgerStore = self.store) -> ledger.Applied:
            return ledger.credit(
                store,
                customer_id=self.customer,
                points=points,
                kind="earn",
                source=source,
                expires_at=self.now + timedelta(days=days),
                actor="system",
                reason="purchase",
                now=self.now,
                purchase=buy,
            )

        applied = call()
        assert applied.created
        assert applied.entry.points + applied.entry.debt_settled == points
        self.purchases.append((source, points))
        self.replays.append(call)

    @rule(points=st.integers(1, 100), days=st.integers(1, 5))
    def pregrant(self, points: int, days: int) -> None:
        job = new_id("job")
        ledger.credit(
            self.store,
            customer_id=self.customer,
            points=points,
            kind="pregrant",
            source=f"grant:{job}",
            expires_at=self.now + timedelta(days=days),
            actor="marketing",
            reason="predicted",
            now=self.now,
            job_id=job,
        )

    @rule(points=st.integers(1, 200))
    def redeem(self, points: int) -> None:
        source = self._next("order")

        def call(store: DynamoLedgerStore = self.store) -> ledger.Applied:
            return ledger.redeem(
                store,
                customer_id=self.customer,
                points=points,
                source=source,
                actor="pos",
                reason="redeem",
                now=self.now,
            )

        applied = refused_or(call, "insufficient_points")
        if applied is None:
            return
        assert sum(d.points for d in applied.entry.draws) == points
        self.replays.append(call)

    @rule(points=st.integers(1, 150))
    def hold(self, points: int) -> None:
        order = self._next("ord").replace(":", "-")
        placed = refused_or(
            lambda: ledger.place_hold(
                self.store,
                customer_id=self.customer,
                order_id=order,
                points=points,
                expires_at=self.now + timedelta(minutes=15),
                actor="pos",
                now=self.now,
            ),
            "insufficient_points",
        )
        if placed is None:
            return
        self.holds.append(order)

    @precondition(lambda self: self.holds)
    @rule(data=st.data(), capture=st.booleans(), part=st.integers(0, 100))
    def close_hold(self, data: st.DataObject, capture: bool, part: int) -> None:
        order = data.draw(st.sampled_from(self.holds))
        found = self.store.hold(self.customer, order)
        assert found is not None
        if capture:
            points = max(1, found.points * part // 100)
            refused_or(
                lambda: ledger.capture(
                    self.store,
                    customer_id=self.customer,
                    order_id=order,
                    points=points,
                    actor="pos",
                    now=self.now,
                ),
                "hold_not_active",
                "hold_expired",
            )
        else:
            refused_or(
                lambda: ledger.release(
                    self.store, customer_id=self.customer, order_id=order, actor="pos", now=self.now
                ),
                "hold_not_active",
            )

    @precondition(lambda self: self.purchases)
    @rule(data=st.data())
    def refund(self, data: st.DataObject) -> None:
        source, earned = data.draw(st.sampled_from(self.purchases))
        reverse = ledger.reverse(
            self.store,
            customer_id=self.customer,
            earned_source=source,
            source=f"refund:{source}",
            actor="system",
            reason="refund",
            now=self.now,
        )
        assert reverse is not None
        assert -reverse.entry.points + reverse.entry.debt_added == earned
        assert sum(d.points for d in reverse.entry.draws) == -reverse.entry.points
        assert reverse.created == (source not in self.refunded)
        self.refunded.add(source)

    @rule(days=st.integers(1, 40))
    def expire(self, days: int) -> None:
        self.now += timedelta(days=days)
        for lot in self.store.open_lots(self.customer):
            if lot.expires_at <= self.now:
                gone = ledger.expire_lot(
                    self.store, customer_id=self.customer, lot_sk=lot.sort_key, now=self.now
                )
                assert gone is not None
                assert (
                    ledger.expire_lot(
                        self.store, customer_id=self.customer, lot_sk=lot.sort_key, now=self.now
                    )
                    is None
                )
        for order in self.holds:
            ledger.expire_hold(self.store, customer_id=self.customer, order_id=order, now=self.now)

    @precondition(lambda self: self.replays)
    @rule(data=st.data(), overlapping=st.booleans())
    def replay(self, data: st.DataObject, overlapping: bool) -> None:
        call = data.draw(st.sampled_from(self.replays))
        before = (self._entries(), ledger.account(self.store, self.customer, now=self.now).balance)
        applied = call(self.other) if overlapping else call()
        assert applied.created is False
        assert (self._entries(), ledger.account(self.store, self.customer, now=self.now).balance) == before

    def teardown(self) -> None:
        """Empty the table, so that every example runs against a small one (moto copies it per write)."""
        keys = [{"pk": i["pk"]["S"], "sk": i["sk"]["S"]} for i in scan_all(REWARDS)]
        self.store.table.batch_write(deletes=keys)

    @invariant()
    def the_ledger_is_exact(self) -> None:
        # balance == sum of entries == sum of open lots >= 0; debt and held agree; each lot's
        # points - draws + restores == remaining; every draw names a real lot; every spend's
        # draws add up to its points
        drift = ledger.verify(self.store, self.customer)
        assert drift.ok, drift


@pytest.mark.usefixtures("tables")
def test_random_operation_sequences_keep_the_ledger_exact(bus: str) -> None:
    LedgerMachine.store = make_store(bus)
    LedgerMachine.other = make_store(bus)
    machine = LedgerMachine.TestCase
    machine.settings = settings(
        max_examples=10,
        stateful_step_count=15,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    machine().runTest()

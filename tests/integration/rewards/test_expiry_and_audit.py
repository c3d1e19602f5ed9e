"""Points run out on time and customers are warned ahead (found by the expiry index, never a
scan); an uncaptured hold gives its points back by itself; the nightly verification recomputes
every account and reports any drift."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from services.rewards.dal.expiry import DynamoExpiryStore
from services.rewards.dal.ledger import DynamoLedgerStore
from services.rewards.logic import expiry
from services.rewards.topology import NIGHTLY, REWARDS
from shared.events import EventPublisher
from shared.topology import Function
from tests.integration.apigw import Invoker, LambdaContext
from tests.integration.conftest import table
from tests.integration.rewards_world import Rewards, items, rewards

__all__ = ["rewards"]
pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish:UserWarning")
HOLD = "/customers/{customer_id}/holds/{order_id}"


def stores(rewards: Rewards) -> tuple[DynamoExpiryStore, DynamoLedgerStore]:
    publisher = EventPublisher(rewards.bus, "dangol.rewards")
    return DynamoExpiryStore(table(REWARDS), publisher), DynamoLedgerStore(table(REWARDS), publisher)


def test_due_lots_expire_once_and_only_due_items_are_read(rewards: Rewards) -> None:
    # Given two customers whose purchases were made 366 and 200 days ago (points last 365 days)
    old, recent = rewards.register(), rewards.register()
    rewards.purchase(old, 10_000, at=datetime.now(UTC) - timedelta(days=366))
    rewards.purchase(recent, 10_000, at=datetime.now(UTC) - timedelta(days=200))
    store, ledger_store = stores(rewards)
    # When the expiry runs
    summary = expiry.run(store, ledger_store, now=datetime.now(UTC), lead_days=7)
    # Then only the lot past its expiry is expired, with an entry, and PointsExpired says so
    assert summary.lots_expired == 1
    assert [e["points"] for e in items(old, "ENTRY#") if e["type"] == "expire"] == [-100]
    assert rewards.points(old)["balance"] == 1000
    assert rewards.points(recent)["balance"] == 1100
    (expired,) = rewards.published("PointsExpired")
    assert (expired["customer_id"], expired["points"], expired["clawed_back"]) == (old, 100, False)
    # And it read the one due index item (a scan would have read every item of the table)
    assert store.reads == 1
    # And a second run changes nothing
    assert expiry.run(store, ledger_store, now=datetime.now(UTC), lead_days=7).lots_expired == 0


def test_customers_are_warned_once_ahead_of_an_expiry(rewards: Rewards) -> None:
    # Given a customer whose 300 points expire in 6 days
    customer_id = rewards.register()
    rewards.purchase(customer_id, 30_000, at=datetime.now(UTC) - timedelta(days=359))
    store, ledger_store = stores(rewards)
    now = datetime.now(UTC)
    store.set_warned_until(now + timedelta(days=5))  # the runs so far looked 5 days ahead
    # When the expiry runs (looking 7 days ahead), twice
    expiry.run(store, ledger_store, now=now, lead_days=7)
    expiry.run(store, ledger_store, now=now + timedelta(minutes=5), lead_days=7)
    # Then one PointsExpiring warned them of the 300 points
    (warning,) = rewards.published("PointsExpiring")
    assert (warning["customer_id"], warning["points"], warning["lead_days"]) == (customer_id, 300, 7)


def test_an_uncaptured_hold_gives_its_points_back_by_itself(rewards: Rewards) -> None:
    # Given points held for an order for 5 minutes, never captured
    customer_id = rewards.register()
    order = {"customer_id": customer_id, "order_id": "till-7:0042"}
    held = rewards.hold(order["customer_id"], order["order_id"], 600, minutes=5)
    assert held.status == 201, held.body
    assert rewards.points(customer_id)["balance"] == 400
    # When the expiry runs after the hold's time
    store, ledger_store = stores(rewards)
    summary = expiry.run(store, ledger_store, now=datetime.now(UTC) + timedelta(minutes=6), lead_days=7)
    # Then the points are back and the hold says it expired
    assert summary.holds_released == 1
    assert rewards.points(customer_id)["balance"] == 1000
    hold = rewards.call(rewards.api, "GET", HOLD, order, groups="machine").json()
    assert hold["status"] == "expired"
    # And capturing it now is refused
    late = rewards.call(rewards.api, "POST", HOLD + "/capture", order, body={}, groups="machine")
    assert late.status == 409


@pytest.fixture
def nightly(
    rewards: Rewards, lambda_function: Callable[[Function], Invoker]
) -> Callable[[], dict[str, object]]:
    invoker = lambda_function(NIGHTLY)
    return lambda: dict(invoker.handler({}, LambdaContext.of(NIGHTLY)))


def test_the_nightly_verification_finds_no_drift_and_reports_it(
    rewards: Rewards, nightly: Callable[[], dict[str, object]]
) -> None:
    # Given customers who earned, redeemed and were refunded
    first, second = rewards.register(), rewards.register()
    purchase_id = rewards.purchase(first, 20_000)
    order = {"customer_id": second, "order_id": "o-1"}
    assert rewards.hold(order["customer_id"], order["order_id"], 300).status == 201
    rewards.refund(first, purchase_id)
    # When the nightly run verifies every account
    summary = nightly()
    # Then there is no drift, and marketing can read the report
    assert (summary["accounts"], summary["drifting"]) == (2, 0)
    report = rewards.call(rewards.programs, "GET", "/admin/points/audit").json()
    assert (report["accounts"], report["drifting"], report["drifting_ids"]) == (2, 0, [])


def test_a_tampered_balance_is_reported_as_drift(
    rewards: Rewards, nightly: Callable[[], dict[str, object]]
) -> None:
    # Given an account whose stored balance someone changed by hand
    customer_id = rewards.register()
    table(REWARDS).update(
        {"pk": f"ACCT#{customer_id}", "sk": "ACCOUNT"}, "SET balance = :b", values={":b": 5000}
    )
    # When the nightly run verifies it
    summary = nightly()
    # Then the drift is reported with the account's id
    assert summary["drifting"] == 1
    report = rewards.call(rewards.programs, "GET", "/admin/points/audit").json()
    assert report["drifting_ids"] == [customer_id]


def test_before_any_verification_the_audit_is_404(rewards: Rewards) -> None:
    response = rewards.call(rewards.programs, "GET", "/admin/points/audit")
    assert (response.status, response.error["code"]) == (404, "no_audit_yet")

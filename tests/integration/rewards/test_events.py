"""Story 5, "immediacy": points paid the moment the profile service records a purchase, reversed
exactly on a refund, sign-up points, tiers that follow spending, and erasure that keeps the
numbers. Driven through the bus, the rule and the queue, as on AWS."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.rewards.topology import REWARDS
from shared.ids import new_id
from tests.integration.conftest import table
from tests.integration.rewards_world import Rewards, items, rewards

__all__ = ["rewards"]
pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish:UserWarning")


def test_a_new_customer_gets_sign_up_points_and_their_login_reaches_them(rewards: Rewards) -> None:
    # Given the default earn rules (1,000 sign-up points)
    # When a customer registers
    customer_id = rewards.register(subject="sub-minji")
    # Then their account holds the sign-up points as one lot, and PointsEarned was published
    assert rewards.points(customer_id)["balance"] == 1000
    (lot,) = items(customer_id, "LOT#")
    assert (lot["kind"], lot["remaining"]) == ("signup", 1000)
    (earned,) = rewards.published("PointsEarned")
    assert (earned["customer_id"], earned["kind"], earned["points"]) == (customer_id, "signup", 1000)
    # And their login finds their account at /me/points
    me = rewards.call(rewards.api, "GET", "/me/points", groups="customer", sub="sub-minji")
    assert (me.status, me.json()["balance"]) == (200, 1000)
    # And the same event again changes nothing
    rewards.profile_event(
        "CustomerRegistered",
        {"customer_id": customer_id, "subject": "sub-minji", "locale": "ko-KR", "time_zone": "UTC"},
    )
    rewards.events()
    assert rewards.points(customer_id)["balance"] == 1000
    assert len(items(customer_id, "ENTRY#")) == 1


def test_a_returning_person_gets_an_account_but_no_second_sign_up_bonus(rewards: Rewards) -> None:
    # Given a person whose earlier login was erased, signing up again (the profile says returning)
    customer_id = new_id("cus")
    data = {"customer_id": customer_id, "subject": "sub-again", "locale": "ko-KR", "time_zone": "Asia/Seoul"}
    # When CustomerRegistered arrives
    rewards.profile_event("CustomerRegistered", {**data, "returning": True})
    rewards.events()
    # Then they have an account their login reaches, with no sign-up points
    me = rewards.call(rewards.api, "GET", "/me/points", groups="customer", sub="sub-again")
    assert (me.status, me.json()["balance"]) == (200, 0)
    assert items(customer_id, "LOT#") == []
    assert rewards.published("PointsEarned") == []


def test_a_purchase_earns_at_once_by_the_rules_and_a_replay_earns_nothing(rewards: Rewards) -> None:
    # Given a registered customer (1,000 sign-up points)
    customer_id = rewards.register()
    rewards.published("PointsEarned")
    # When a purchase of 45,000 won is recorded (1 point per 100 won by default)
    purchase_id = rewards.purchase(customer_id, 45_000)
    # Then 450 points are credited, with the rule version recorded on the entry
    assert rewards.points(customer_id)["balance"] == 1450
    entry = next(e for e in items(customer_id, "ENTRY#") if e["source"] == f"purchase:{purchase_id}")
    assert (entry["type"], entry["points"], entry["rule_version"]) == ("earn", 450, 0)
    (earned,) = rewards.published("PointsEarned")
    assert earned["points"] == 450
    # When the same PurchaseRecorded arrives again (a replay)
    rewards.purchase(customer_id, 45_000, purchase_id=purchase_id)
    # Then nothing changes
    assert rewards.points(customer_id)["balance"] == 1450
    assert rewards.published("PointsEarned") == []


def test_a_refund_reverses_exactly_what_its_purchase_earned(rewards: Rewards) -> None:
    # Given a customer who earned 300 points on a purchase
    customer_id = rewards.register()
    purchase_id = rewards.purchase(customer_id, 30_000)
    assert rewards.points(customer_id)["balance"] == 1300
    # When the purchase is refunded (twice: a duplicate delivery)
    rewards.refund(customer_id, purchase_id)
    rewards.refund(customer_id, purchase_id)
    # Then exactly its 300 points are gone, once
    assert rewards.points(customer_id)["balance"] == 1000
    reversals = [e for e in items(customer_id, "ENTRY#") if e["type"] == "reverse"]
    assert [e["points"] for e in reversals] == [-300]


def test_a_refund_of_points_already_spent_leaves_a_debt_the_next_earn_settles(rewards: Rewards) -> None:
    # Given a customer who earned 500 points and spent everything at the counter
    customer_id = rewards.register()
    purchase_id = rewards.purchase(customer_id, 50_000)
    held = rewards.hold(customer_id, "order-1", 1500)
    assert held.status == 201, held.body
    assert rewards.capture(customer_id, "order-1").status == 200
    # When the purchase is refunded
    rewards.refund(customer_id, purchase_id)
    # Then the balance stays at zero and the 500 points are owed
    points = rewards.points(customer_id)
    assert (points["balance"], points["debt"]) == (0, 500)
    # When the customer buys for 80,000 won (800 points)
    rewards.purchase(customer_id, 80_000)
    # Then the debt is settled first and the rest is theirs
    points = rewards.points(customer_id)
    assert (points["balance"], points["debt"]) == (300, 0)


def test_a_refund_that_arrives_before_its_purchase_makes_that_purchase_earn_nothing(rewards: Rewards) -> None:
    # Given a customer, and a refund delivered before its purchase (SQS keeps no order)
    customer_id, purchase_id = rewards.register(), new_id("pur")
    rewards.refund(customer_id, purchase_id)
    # When the purchase arrives
    rewards.purchase(customer_id, 20_000, purchase_id=purchase_id)
    # Then it earned nothing
    assert rewards.points(customer_id)["balance"] == 1000


def test_spending_past_a_tier_threshold_moves_the_customer_up_and_says_so(rewards: Rewards) -> None:
    # Given a customer in the first tier
    customer_id = rewards.register()
    assert rewards.points(customer_id)["tier"] == "basic"
    # When they spend 350,000 won this month (silver starts at 300,000 over 12 months)
    rewards.purchase(customer_id, 350_000)
    # Then they are silver, and TierChanged tells them
    assert rewards.points(customer_id)["tier"] == "silver"
    (changed,) = rewards.published("TierChanged")
    assert (changed["previous"], changed["tier"], changed["direction"]) == ("basic", "silver", "up")
    # with what silver gives, for the "you are now ..." message
    assert (changed["tier_name"], changed["earn_multiplier_pct"], changed["perks"]) == (
        "Silver",
        110,
        ["Birthday coupon", "Free size-up"],
    )
    # And their points view shows how far gold is (1,000,000 won over 12 months)
    progress = rewards.points(customer_id)["tier_progress"]
    assert (progress["tier"], progress["qualifying"], progress["next_tier"], progress["remaining"]) == (
        "silver",
        350_000,
        "gold",
        650_000,
    )
    # And the next purchase earns with silver's multiplier (x1.1): 10,000 won -> 110 points
    before = rewards.points(customer_id)["balance"]
    rewards.purchase(customer_id, 10_000)
    assert rewards.points(customer_id)["balance"] - before == 110


def test_spend_older_than_the_window_does_not_count(rewards: Rewards) -> None:
    # Given a customer whose big purchase was 13 months ago
    customer_id = rewards.register()
    rewards.purchase(customer_id, 2_000_000, at=datetime.now(UTC) - timedelta(days=400))
    # Then it does not place them above the first tier
    assert rewards.points(customer_id)["tier"] == "basic"


def test_an_erased_customer_is_pseudonymised_but_the_numbers_stay(rewards: Rewards) -> None:
    # Given a customer with points and a login link
    customer_id = rewards.register(subject="sub-erased")
    rewards.purchase(customer_id, 10_000)
    # When the profile service erases them
    rewards.profile_event("CustomerErased", {"customer_id": customer_id, "erased_by": "customer"})
    rewards.events()
    # Then the login no longer reaches the account, and no entry keeps a free-text reason
    me = rewards.call(rewards.api, "GET", "/me/points", groups="customer", sub="sub-erased")
    assert (me.status, me.error["code"]) == (404, "account_not_found")
    assert table(REWARDS).get({"pk": "SUBJECT#sub-erased", "sk": "SUBJECT"}) is None
    entries = items(customer_id, "ENTRY#")
    assert {e["reason"] for e in entries} <= {"erased"}
    # And the numbers are intact
    assert sum(int(e["points"]) for e in entries) == 1100


def test_a_malformed_event_fails_alone(rewards: Rewards) -> None:
    # Given a purchase event that breaks the contract, and a good one
    customer_id = rewards.register()
    rewards.profile_event("PurchaseRecorded", {"purchase_id": "nope", "customer_id": customer_id})
    rewards.purchase(customer_id, 10_000, deliver=False)
    # When both are delivered
    # Then only the bad one fails, and the good one earned
    rewards.events(expect_failures=1)
    assert rewards.points(customer_id)["balance"] == 1100

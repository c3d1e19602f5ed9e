"""A campaign's offers on moto, delivered as AWS delivers them: the campaigns service's events on
the bus, the rule ``rewards-campaign-events``, the ``rewards-events`` consumer. A coupon offer puts
one coupon in the wallet whatever is redelivered; a points offer pre-grants once, is clawed back
when unused, and its campaign's report stays exact; a redemption tells the bus."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest

from services.rewards.dal.expiry import DynamoExpiryStore
from services.rewards.dal.ledger import DynamoLedgerStore
from services.rewards.logic import expiry
from services.rewards.topology import OFFERS_API, REWARDS
from shared.clock import iso
from shared.events import EventPublisher
from shared.ids import new_id
from shared.topology import Function
from tests.integration.apigw import ApiResponse, Invoker
from tests.integration.conftest import FROZEN_AT, table
from tests.integration.rewards_world import Rewards, items, rewards

__all__ = ["rewards"]
pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish:UserWarning")

CAMPAIGN = "cmp_01JK2M3N4P5Q6R7S8T9V0W1X2C"
TEN_OFF: dict[str, Any] = {
    "name": "Come back: 10% off",
    "discount": {"kind": "percent", "percent": 10},
    "valid_days": 30,
}


@pytest.fixture
def offers(rewards: Rewards, lambda_function: Callable[[Function], Invoker], frozen_clock: Any) -> Invoker:
    """The offers API; every function's clock stands at FROZEN_AT."""
    return lambda_function(OFFERS_API)


def template(rewards: Rewards, offers: Invoker, **changes: Any) -> str:
    created = rewards.call(offers, "POST", "/admin/coupon-templates", body={**TEN_OFF, **changes})
    assert created.status == 201, created.body
    return str(created.json()["id"])


def wallet(rewards: Rewards, offers: Invoker, customer_id: str) -> list[dict[str, Any]]:
    response = rewards.call(offers, "GET", "/me/coupons", groups="customer", sub=f"sub-{customer_id}")
    assert response.status == 200, response.body
    return list(response.json()["items"])


def coupon_offer(customer_id: str, template_id: str, **changes: Any) -> dict[str, Any]:
    return {
        "offer_id": new_id("ofr"),
        "customer_id": customer_id,
        "campaign_id": CAMPAIGN,
        "coupon_template_id": template_id,
        "valid_until": iso(FROZEN_AT + timedelta(days=7)),
        **changes,
    }


def points_offer(customer_id: str, points: int, expires_at: datetime) -> dict[str, Any]:
    return {
        "offer_id": new_id("ofr"),
        "customer_id": customer_id,
        "campaign_id": CAMPAIGN,
        "points": points,
        "expires_at": iso(expires_at),
    }


def report(rewards: Rewards, campaign_id: str = CAMPAIGN) -> ApiResponse:
    return rewards.call(
        rewards.programs, "GET", "/admin/point-campaigns/{campaign_id}", {"campaign_id": campaign_id}
    )


def figures(rewards: Rewards) -> tuple[int, int, int, int, int]:
    response = report(rewards)
    assert response.status == 200, response.body
    got = response.json()
    return got["customers"], got["issued"], got["used"], got["clawed_back"], got["outstanding"]


# -- coupon offers --------------------------------------------------------------------------------


def test_a_coupon_offer_issues_one_coupon_whatever_is_redelivered(rewards: Rewards, offers: Invoker) -> None:
    # Given a customer, a template valid 30 days from issue, and an offer of it valid 7 days
    customer_id = rewards.register()
    template_id = template(rewards, offers)
    offer = coupon_offer(customer_id, template_id)
    # When the offer arrives, is published again (a retried PutEvents), and its messages redelivered
    rewards.campaign_event("OfferCouponRequested", offer)
    rewards.campaign_event("OfferCouponRequested", offer)
    rewards.events.deliver(rewards.events.delivered)
    # Then the customer has one coupon of it, valid until the offer's end, saying which offer
    (coupon,) = wallet(rewards, offers, customer_id)
    assert (coupon["template_id"], coupon["source"]) == (template_id, f"offer:{offer['offer_id']}")
    assert datetime.fromisoformat(coupon["valid_until"]) == FROZEN_AT + timedelta(days=7)
    # And one CouponIssued said so, with its source
    (issued,) = rewards.published("CouponIssued")
    assert (issued["coupon_id"], issued["source"]) == (coupon["coupon_id"], coupon["source"])
    # And an offer valid longer than the template gets the template's own validity from now
    later = coupon_offer(
        customer_id, template(rewards, offers), valid_until=iso(FROZEN_AT + timedelta(days=90))
    )
    rewards.campaign_event("OfferCouponRequested", later)
    newest = wallet(rewards, offers, customer_id)[0]
    assert datetime.fromisoformat(newest["valid_until"]) == FROZEN_AT + timedelta(days=30)


def test_an_offer_that_can_issue_nothing_is_consumed_without_a_coupon(
    rewards: Rewards, offers: Invoker
) -> None:
    # Given a customer, a retired template, an active one, and someone without a rewards account
    customer_id = rewards.register()
    retired = template(rewards, offers)
    assert (
        rewards.call(
            offers, "DELETE", "/admin/coupon-templates/{template_id}", {"template_id": retired}
        ).status
        == 204
    )
    active = template(rewards, offers)
    for offer in (
        coupon_offer(customer_id, "ctp_01JK2M3N4P5Q6R7S8T9V0W1X2Z"),  # no such template
        coupon_offer(customer_id, retired),
        coupon_offer(new_id("cus"), active),  # no rewards account
        coupon_offer(customer_id, active, valid_until=iso(FROZEN_AT - timedelta(minutes=1))),  # over
    ):
        # When each offer arrives
        # Then it is consumed (no failure, so never retried) and issues nothing
        rewards.campaign_event("OfferCouponRequested", offer)
    assert wallet(rewards, offers, customer_id) == []
    assert rewards.published("CouponIssued") == []


def test_a_redemption_publishes_coupon_redeemed_once(rewards: Rewards, offers: Invoker) -> None:
    # Given an offer's coupon in the customer's wallet
    customer_id = rewards.register()
    offer = coupon_offer(customer_id, template(rewards, offers))
    rewards.campaign_event("OfferCouponRequested", offer)
    (coupon,) = wallet(rewards, offers, customer_id)
    order = {
        "code": coupon["code"],
        "order_id": "till-3:0007",
        "customer_id": customer_id,
        "order_total": 20_000,
        "currency": "KRW",
        "member_code": rewards.member_code(customer_id),
    }
    # When a till redeems it, and retries the same order
    first = rewards.call(offers, "POST", "/coupon-redemptions", body=order, groups="machine")
    again = rewards.call(offers, "POST", "/coupon-redemptions", body=order, groups="machine")
    # Then both answer the redemption, and one CouponRedeemed names the coupon and its offer
    assert (first.status, again.json()) == (200, first.json())
    (redeemed,) = rewards.published("CouponRedeemed")
    assert redeemed == {
        "customer_id": customer_id,
        "coupon_id": coupon["coupon_id"],
        "template_id": coupon["template_id"],
        "source": f"offer:{offer['offer_id']}",
        "redeemed_at": "2025-06-02T03:00:00Z",
    }


# -- points offers --------------------------------------------------------------------------------


def test_a_points_offer_is_credited_once_clawed_back_unused_and_reported_exactly(
    rewards: Rewards, frozen_clock: Callable[[datetime], None]
) -> None:
    # Given two customers, each offered 1,000 points for 3 days (one offer delivered twice)
    ann, bob = rewards.register(), rewards.register()
    expires_at = FROZEN_AT + timedelta(days=3)
    to_ann = points_offer(ann, 1000, expires_at)
    rewards.campaign_event("PointsOfferRequested", to_ann)
    rewards.campaign_event("PointsOfferRequested", to_ann)
    rewards.events.deliver(rewards.events.delivered)
    rewards.campaign_event("PointsOfferRequested", points_offer(bob, 1000, expires_at))
    # And someone without an account offered points too (consumed, credited nowhere)
    rewards.campaign_event("PointsOfferRequested", points_offer(new_id("cus"), 1000, expires_at))
    # Then each has one pre-grant of 1,000 from the campaign, and the report counts 2,000 issued
    for customer_id in (ann, bob):
        (lot,) = [i for i in items(customer_id, "LOT#") if i["kind"] == "pregrant"]
        assert (lot["points"], lot["source"].split(":")[:2]) == (1000, ["campaign", CAMPAIGN])
    assert figures(rewards) == (2, 2000, 0, 0, 2000)
    # When Ann spends 300 at the counter (the soonest-expiring lot goes first: the pre-grant)
    assert rewards.hold(ann, "till-1:0001", 300).status == 201
    assert rewards.capture(ann, "till-1:0001").status == 200
    # Then the report has 300 used
    assert figures(rewards) == (2, 2000, 300, 0, 1700)
    # When the expiry runs after the offer's end, twice
    publisher = EventPublisher(rewards.bus, "dangol.rewards")
    stores = DynamoExpiryStore(table(REWARDS), publisher), DynamoLedgerStore(table(REWARDS), publisher)
    for _ in range(2):
        expiry.run(*stores, now=expires_at + timedelta(minutes=5), lead_days=7)
    # Then what was unused is clawed back, once: the figures add up exactly
    assert figures(rewards) == (2, 2000, 300, 1700, 0)
    clawed = sorted(e["points"] for e in rewards.published("PointsExpired") if e["clawed_back"])
    assert clawed == [700, 1000]
    # And a campaign that pre-granted nothing has no report
    unknown = report(rewards, "cmp_01JK2M3N4P5Q6R7S8T9V0W1X2Z")
    assert (unknown.status, unknown.error["code"]) == (404, "point_campaign_not_found")


def test_a_points_offer_past_its_end_credits_nothing(rewards: Rewards, frozen_clock: Any) -> None:
    # Given an offer that ended before it arrived
    customer_id = rewards.register()
    rewards.campaign_event("PointsOfferRequested", points_offer(customer_id, 500, FROZEN_AT))
    # Then nothing is credited and the campaign has no report
    assert [i for i in items(customer_id, "LOT#") if i["kind"] == "pregrant"] == []
    assert report(rewards).status == 404

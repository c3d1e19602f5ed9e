"""Story 5 over HTTP with real tokens: points paid the moment a till records a purchase, points
redeemed at the counter, the welcome coupon redeemed, and the limited gift the demo purchase won."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from typing import Any

from tests.e2e.conftest import LocalSystem


def _points(local: LocalSystem, token: str) -> dict[str, Any]:
    response = local.request("GET", "/me/points", token=token)
    assert response.status == 200, response.body
    return dict(response.json())


def test_a_purchase_at_the_till_pays_points_at_once(local: LocalSystem) -> None:
    # Given a customer and their balance
    customer = local.token("customer", user="jisoo")
    customer_id = local.request("GET", "/me", token=customer).json()["customer_id"]
    before = _points(local, customer)["balance"]
    # When the till records a purchase of 12,000 won (1 point per 100 won by default)
    body = {
        "external_id": f"e2e-rewards-{uuid.uuid4().hex[:12]}",
        "customer_id": customer_id,
        "store_id": "gangnam-01",
        "channel": "store",
        "currency": "KRW",
        "purchased_at": datetime.now(UTC).isoformat(),
        "lines": [
            {"sku": "SANDWICH", "name": "샌드위치", "category": "deli", "quantity": 2, "unit_price": 6000}
        ],
    }
    recorded = local.request("POST", "/purchases", token=local.token("machine"), body=body)
    assert recorded.status == 201, recorded.body
    started = time.monotonic()
    # Then the customer sees 120 more points moments later (a second is usual; CI under load gets 5)
    while (balance := _points(local, customer)["balance"]) == before:
        assert time.monotonic() - started < 5, "no points 5 s after the purchase"
        time.sleep(0.05)
    assert balance == before + 120
    # And the history's newest entry is that earn
    history = local.request("GET", "/me/points/history?limit=1", token=customer).json()["items"]
    assert (history[0]["type"], history[0]["points"]) == ("earn", 120)


def test_points_held_at_the_counter_are_redeemed_on_capture(local: LocalSystem) -> None:
    # Given a customer with points (their sign-up points at least)
    customer = local.token("customer", user="junho")
    customer_id = local.request("GET", "/me", token=customer).json()["customer_id"]
    before = _points(local, customer)["balance"]
    assert before >= 500
    till, order = local.token("machine"), f"e2e-order-{uuid.uuid4().hex[:10]}"
    hold = f"/customers/{customer_id}/holds/{order}"
    # When the till holds 500 points for an order, then captures 300 of them
    assert local.request("PUT", hold, token=till, body={"points": 500}).status == 201
    assert _points(local, customer)["balance"] == before - 500
    captured = local.request("POST", f"{hold}/capture", token=till, body={"points": 300})
    # Then 300 are redeemed and 200 come back
    assert (captured.status, captured.json()["status"]) == (200, "captured")
    assert _points(local, customer)["balance"] == before - 300
    # And the customer cannot touch another customer's holds
    assert local.request("PUT", hold, token=customer, body={"points": 1}).status == 403


def test_the_welcome_coupon_is_redeemed_once_at_the_counter(local: LocalSystem) -> None:
    # Given the demo welcome coupon in a customer's wallet
    customer = local.token("customer", user="minji")
    wallet = local.request("GET", "/me/coupons", token=customer).json()["items"]
    coupon = next(c for c in wallet if c["status"] == "issued")
    customer_id = local.request("GET", "/me", token=customer).json()["customer_id"]
    # When the till redeems it for an order of 25,000 won
    order = {
        "code": coupon["code"],
        "order_id": f"e2e-{uuid.uuid4().hex[:10]}",
        "customer_id": customer_id,
        "order_total": 25000,
        "currency": "KRW",
    }
    till = local.token("machine")
    redeemed = local.request("POST", "/coupon-redemptions", token=till, body=order)
    # Then it takes 3,000 won off, and a second order cannot use it again
    assert (redeemed.status, redeemed.json()["discount"]) == (200, 3000)
    again = local.request("POST", "/coupon-redemptions", token=till, body={**order, "order_id": "other"})
    assert (again.status, again.json()["error"]["code"]) == (409, "coupon_already_redeemed")


def test_the_demo_purchase_won_the_limited_gift(local: LocalSystem) -> None:
    # Given minji's seeded purchase of 38,000 won during the tumbler event (30,000 won and up)
    customer = local.token("customer", user="minji")
    # Then she won the tumbler
    deadline = time.monotonic() + 5
    while not (won := local.request("GET", "/me/gifts", token=customer).json()["items"]):
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert [g["name"] for g in won] == ["단골 텀블러"]

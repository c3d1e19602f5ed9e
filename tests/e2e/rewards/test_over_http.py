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


def _member_code(local: LocalSystem, token: str) -> str:
    """The code the customer's app shows at the counter (one checkout, a few minutes)."""
    made = local.request("POST", "/me/member-code", token=token)
    assert made.status == 201, made.body
    return str(made.json()["code"])


def _settled_balance(local: LocalSystem, token: str, timeout_s: float = 15) -> int:
    """A new customer's balance once their account is open with its sign-up points (the rules'
    ``signup_points``; the account opens, then they are credited, a moment apart)."""
    rules = local.request("GET", "/admin/earn-rules", token=local.token("marketing")).json()
    signup = int(rules["signup_points"])
    deadline = time.monotonic() + timeout_s
    while True:
        response = local.request("GET", "/me/points", token=token)
        if response.status == 200 and int(response.json()["balance"]) == signup:
            return signup
        assert time.monotonic() < deadline, f"the new account has no sign-up points: {response.body!r}"
        time.sleep(0.1)


def test_a_purchase_at_the_till_pays_points_at_once(local: LocalSystem) -> None:
    # Given a customer of this test's own (no other test buys for them) and their settled balance
    customer, customer_id = local.new_customer()
    before = _settled_balance(local, customer)
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
    source = f"purchase:{recorded.json()['purchase_id']}"
    started = time.monotonic()

    # Then this purchase's own earn is on the ledger moments later (a second is usual; CI under
    # load gets 5), for 120 points
    def earned() -> list[dict[str, Any]]:
        history = local.request("GET", "/me/points/history?limit=20", token=customer).json()["items"]
        return [e for e in history if e["source"] == source]

    while not (entries := earned()):
        assert time.monotonic() - started < 5, "no points 5 s after the purchase"
        time.sleep(0.05)
    assert [(e["type"], e["points"]) for e in entries] == [("earn", 120)]
    # And the balance grew by exactly those points, the newest entry of the history
    assert _points(local, customer)["balance"] == before + 120
    newest = local.request("GET", "/me/points/history?limit=1", token=customer).json()["items"][0]
    assert (newest["source"], newest["balance"]) == (source, before + 120)


def test_points_held_at_the_counter_are_redeemed_on_capture(local: LocalSystem) -> None:
    # Given a customer with points (their sign-up points at least)
    customer = local.token("customer", user="junho")
    customer_id = local.request("GET", "/me", token=customer).json()["customer_id"]
    before = _points(local, customer)["balance"]
    assert before >= 500
    till, order = local.token("machine"), f"e2e-order-{uuid.uuid4().hex[:10]}"
    hold = f"/customers/{customer_id}/holds/{order}"
    # When the till holds 500 points for an order (the customer shows their member code), then
    # captures 300 of them
    code = _member_code(local, customer)
    placed = local.request("PUT", hold, token=till, body={"points": 500, "member_code": code})
    assert placed.status == 201, placed.body
    assert _points(local, customer)["balance"] == before - 500
    captured = local.request("POST", f"{hold}/capture", token=till, body={"points": 300})
    # Then 300 are redeemed and 200 come back
    assert (captured.status, captured.json()["status"]) == (200, "captured")
    assert _points(local, customer)["balance"] == before - 300
    # And the customer cannot place holds: their ID token does not pass a machine route's authorizer
    assert local.request("PUT", hold, token=customer, body={"points": 1, "member_code": code}).status == 401


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
        "member_code": _member_code(local, customer),
        "order_total": 25000,
        "currency": "KRW",
    }
    till = local.token("machine")
    redeemed = local.request("POST", "/coupon-redemptions", token=till, body=order)
    # Then it takes 3,000 won off, and a second order cannot use it again
    assert (redeemed.status, redeemed.json()["discount"]) == (200, 3000), redeemed.body
    second = {**order, "order_id": "other", "member_code": _member_code(local, customer)}
    again = local.request("POST", "/coupon-redemptions", token=till, body=second)
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

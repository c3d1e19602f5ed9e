"""Story 2, "the usual", over HTTP with real tokens: a store's till records a customer's morning
purchases, and the counter staff see the item as that customer's morning usual."""

from __future__ import annotations

import time
import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from tests.e2e.conftest import LocalSystem

SEOUL = ZoneInfo("Asia/Seoul")


def test_a_purchase_at_0810_on_three_mornings_becomes_the_morning_usual(local: LocalSystem) -> None:
    # Given a customer living in Seoul, and the system's "today" (its clock may be simulated)
    customer = local.token("customer", user="jisoo")
    assert local.request("PATCH", "/me", token=customer, body={"time_zone": "Asia/Seoul"}).status == 200
    customer_id = local.request("GET", "/me", token=customer).json()["customer_id"]
    now = datetime.fromisoformat(local.request("GET", "/_local/clock").json()["now"])
    today = now.astimezone(SEOUL).date()
    sku = f"AMERICANO-{uuid.uuid4().hex[:8].upper()}"  # an item no other test buys
    till = local.token("machine")
    # When the store's till records an americano bought at 08:10 Seoul time on three mornings
    for days_ago in (3, 2, 1):
        day = today - timedelta(days=days_ago)
        body = {
            "external_id": f"e2e-{sku}-{days_ago}",
            "customer_id": customer_id,
            "store_id": "gangnam-01",
            "channel": "store",
            "currency": "KRW",
            "purchased_at": f"{day.isoformat()}T08:10:00+09:00",
            "lines": [
                {"sku": sku, "name": "아메리카노", "category": "coffee", "quantity": 1, "unit_price": 4500}
            ],
        }
        recorded = local.request("POST", "/purchases", token=till, body=body)
        assert recorded.status == 201, recorded.body
        assert recorded.json()["daypart"] == "morning"
    # Then the counter staff see it as the customer's morning usual, bought three times
    usual = local.request("GET", f"/customers/{customer_id}/usual?limit=10", token=local.token("agent"))
    assert usual.status == 200, usual.body
    body = usual.json()
    assert [(i["sku"], i["count"]) for i in body["morning"] if i["sku"] == sku] == [(sku, 3)]
    assert sku not in {i["sku"] for i in body["midday"] + body["evening"]}
    # ... the customer cannot read it themselves (it is the staff's view)
    assert local.request("GET", f"/customers/{customer_id}/usual", token=customer).status == 403
    # ... and each purchase reached the bus for the rewards service
    deadline = time.monotonic() + 15
    while True:
        events = local.request("GET", "/_local/events?detail_type=PurchaseRecorded").json()["events"]
        mine = [e for e in events if e["detail"]["data"]["lines"][0]["sku"] == sku]
        if len(mine) == 3:
            break
        assert time.monotonic() < deadline, f"{len(mine)} of 3 PurchaseRecorded events reached the bus"
        time.sleep(0.2)
    assert {e["detail"]["data"]["total"] for e in mine} == {4500}

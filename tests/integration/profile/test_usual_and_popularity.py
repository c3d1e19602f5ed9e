""" "The usual" (per customer, by time of day in their zone) and what sells when (per store, by
local hour): kept up to date by every purchase and refund, read from counters by key, never
recomputed from the purchase history and never by a scan."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest

from services.profile.topology import INTAKE_API, PROFILES
from shared import aws
from tests.integration.apigw import ApiResponse, Invoker
from tests.integration.conftest import table
from tests.integration.profile.test_intake_api import (
    NOW,
    SEOUL,
    UNKNOWN_CUSTOMER,
    call,
    item,
    items,
    line,
    new_customer,
    purchase,
    seoul_at,
)

pytestmark = [
    pytest.mark.usefixtures("frozen_clock"),  # the functions' clock stands at NOW, where seoul_at counts from
    pytest.mark.filterwarnings("ignore:No application metrics to publish:UserWarning"),
]


@pytest.fixture
def intake(lambda_function: Callable[..., Invoker]) -> Invoker:
    return lambda_function(INTAKE_API)


@pytest.fixture
def customer(profile_api: Invoker) -> str:
    return new_customer(profile_api, "sub-regular")


def buy(intake: Invoker, customer_id: str, external_id: str, at: str, *skus: str, **body: Any) -> None:
    lines = [line(sku, 1, 4000, name=f"{sku} name") for sku in skus]
    response = call(
        intake, "POST", "/purchases", body=purchase(customer_id, external_id, at=at, lines=lines, **body)
    )
    assert response.status == 201, response.body


def usual(intake: Invoker, customer_id: str, role: str = "agent", **query: str) -> ApiResponse:
    return call(
        intake,
        "GET",
        "/customers/{customer_id}/usual",
        params={"customer_id": customer_id},
        query=query or None,
        role=role,
    )


def skus(part: list[dict[str, Any]]) -> list[tuple[str, int]]:
    return [(i["sku"], i["count"]) for i in part]


# --- the usual -----------------------------------------------------------------------------------


def test_the_usual_is_what_the_customer_buys_again_at_that_time_of_day(
    intake: Invoker, customer: str
) -> None:
    # Given a regular who had a latte on three mornings (with a croissant once),
    # a sandwich at lunch twice and a beer on two evenings, one of them after midnight
    buy(intake, customer, "p1", seoul_at(5, "07:50"), "LATTE", "CROISSANT")
    buy(intake, customer, "p2", seoul_at(4, "08:10"), "LATTE")
    buy(intake, customer, "p3", seoul_at(3, "10:59"), "LATTE")
    buy(intake, customer, "p4", seoul_at(4, "12:00"), "SANDWICH")
    buy(intake, customer, "p5", seoul_at(3, "16:59"), "SANDWICH")
    buy(intake, customer, "p6", seoul_at(4, "19:30"), "BEER")
    buy(intake, customer, "p7", seoul_at(2, "01:15"), "BEER")
    # When staff at the counter read their usual
    response = usual(intake, customer)
    # Then each daypart shows what they bought at least twice there, most bought first
    assert response.status == 200, response.body
    body = response.json()
    assert (body["time_zone"], body["min_count"]) == ("Asia/Seoul", 2)
    assert skus(body["morning"]) == [("LATTE", 3)]
    assert skus(body["midday"]) == [("SANDWICH", 2)]
    assert skus(body["evening"]) == [("BEER", 2)]
    latte = body["morning"][0]
    assert (latte["name"], latte["category"], latte["quantity"]) == ("LATTE name", "coffee", 3)
    assert datetime.fromisoformat(latte["last_at"]) == datetime.fromisoformat(seoul_at(3, "10:59"))


def test_ties_go_to_the_most_recent_and_limit_cuts_the_list(intake: Invoker, customer: str) -> None:
    # Given three items bought twice each on mornings, the muffin most recently, the tea least
    buy(intake, customer, "p1", seoul_at(9, "08:00"), "TEA", "SCONE", "MUFFIN")
    buy(intake, customer, "p2", seoul_at(8, "08:00"), "TEA")
    buy(intake, customer, "p3", seoul_at(7, "08:00"), "SCONE")
    buy(intake, customer, "p4", seoul_at(6, "08:00"), "MUFFIN")
    # When the usual is read, then only the top two
    everything = usual(intake, customer).json()["morning"]
    top = usual(intake, customer, limit="2").json()["morning"]
    # Then equal counts are ordered by recency
    assert skus(everything) == [("MUFFIN", 2), ("SCONE", 2), ("TEA", 2)]
    assert skus(top) == [("MUFFIN", 2), ("SCONE", 2)]


def test_dayparts_are_the_customers_local_time(intake: Invoker, profile_api: Invoker) -> None:
    # Given a Los Angeles customer buying twice at 08:10 at a Seoul store (15:10 or 16:10 for them)
    angeleno = new_customer(profile_api, "sub-la", time_zone="America/Los_Angeles")
    buy(intake, angeleno, "la-1", seoul_at(3, "08:10"), "LATTE")
    buy(intake, angeleno, "la-2", seoul_at(2, "08:10"), "LATTE")
    # When their usual is read
    body = usual(intake, angeleno).json()
    # Then the latte is their midday usual, not a morning one
    assert (body["morning"], skus(body["midday"])) == ([], [("LATTE", 2)])


def test_the_usual_is_read_from_counters_not_recomputed_from_history(intake: Invoker, customer: str) -> None:
    # Given two morning lattes
    buy(intake, customer, "p1", seoul_at(2, "08:00"), "LATTE")
    buy(intake, customer, "p2", seoul_at(1, "08:00"), "LATTE")
    # When the purchase items themselves are gone (the history is not what is read)
    profiles = table(PROFILES)
    history = [i for i in items() if str(i["sk"]).startswith("PURCHASE#")]
    profiles.batch_write(deletes=[{"pk": i["pk"], "sk": i["sk"]} for i in history])
    # Then the usual is still there: it lives in its counters
    assert skus(usual(intake, customer).json()["morning"]) == [("LATTE", 2)]


def test_a_refund_takes_an_item_out_of_the_usual(intake: Invoker, customer: str) -> None:
    # Given two morning lattes
    buy(intake, customer, "p1", seoul_at(2, "08:00"), "LATTE")
    buy(intake, customer, "p2", seoul_at(1, "08:00"), "LATTE")
    assert skus(usual(intake, customer).json()["morning"]) == [("LATTE", 2)]
    # When one of them is refunded
    refund = call(
        intake,
        "POST",
        "/purchases/{external_id}/refund",
        params={"external_id": "p2"},
        body={"refund_id": "r1"},
    )
    assert refund.status == 200
    # Then a single latte is no habit
    assert usual(intake, customer).json()["morning"] == []


def test_usual_errors_and_roles(intake: Invoker, customer: str) -> None:
    # Given a customer with no purchases
    # When agents and admins read it, an unknown customer is asked for, or the limit is out of range
    for role in ("agent", "admin"):
        body = usual(intake, customer, role=role).json()
        assert (body["morning"], body["midday"], body["evening"]) == ([], [], [])
    as_marketing = usual(intake, customer, role="marketing")
    unknown = usual(intake, UNKNOWN_CUSTOMER)
    malformed = usual(intake, "cus_nope")
    too_many = usual(intake, customer, limit="11")
    as_customer = usual(intake, customer, role="customer")
    # Then the errors carry their codes
    assert (unknown.status, unknown.error["code"]) == (404, "profile_not_found")
    assert (malformed.status, malformed.error["code"]) == (422, "validation_error")
    assert (too_many.status, too_many.error["code"]) == (422, "validation_error")
    assert (as_customer.status, as_customer.error["code"]) == (403, "forbidden")
    assert (as_marketing.status, as_marketing.error["code"]) == (403, "forbidden")


# --- what sells when -----------------------------------------------------------------------------


def popularity(
    intake: Invoker, store_id: str = "gangnam-01", role: str = "marketing", **query: str
) -> ApiResponse:
    return call(
        intake,
        "GET",
        "/stores/{store_id}/popularity",
        params={"store_id": store_id},
        query=query or None,
        role=role,
    )


@pytest.fixture
def dynamo_calls() -> Iterator[list[tuple[str, dict[str, Any]]]]:
    """Every DynamoDB call the functions make (name and parameters), from a botocore hook."""
    calls: list[tuple[str, dict[str, Any]]] = []

    def record(model: Any, params: dict[str, Any], **_: Any) -> None:
        calls.append((model.name, params))

    client = aws.client("dynamodb")
    client.meta.events.register("provide-client-params.dynamodb.*", record)
    yield calls
    client.meta.events.unregister("provide-client-params.dynamodb.*", record)


def test_popularity_by_the_stores_local_hour(intake: Invoker, profile_api: Invoker, customer: str) -> None:
    # Given, at one store, lattes at 08:xx on three days, croissants at 08:xx twice,
    # sandwiches at 12:xx, and a latte at another store
    other = new_customer(profile_api, "sub-other")
    buy(intake, customer, "p1", seoul_at(3, "08:10"), "LATTE", "CROISSANT")
    buy(intake, other, "p2", seoul_at(2, "08:40"), "LATTE", "CROISSANT")
    buy(intake, customer, "p3", seoul_at(1, "08:05"), "LATTE")
    buy(intake, customer, "p4", seoul_at(1, "12:30"), "SANDWICH")
    buy(intake, other, "p5", seoul_at(1, "08:30"), "LATTE", store_id="jongno-02")
    # When marketing asks what sells at 08:00 there
    response = popularity(intake, hour="8")
    # Then they see the items of that hour, most bought first, summed over the window
    assert response.status == 200, response.body
    body = response.json()
    assert body["window_days"] == 28
    assert body["to_date"] == NOW.astimezone(SEOUL).date().isoformat()
    ((hour,),) = [body["hours"]]
    assert hour["hour"] == 8
    assert [(i["sku"], i["count"], i["quantity"]) for i in hour["items"]] == [
        ("LATTE", 3, 3),
        ("CROISSANT", 2, 2),
    ]
    # And over the whole day, every hour is there, each with its own items
    day = popularity(intake).json()["hours"]
    assert [h["hour"] for h in day] == list(range(24))
    assert [i["sku"] for i in day[12]["items"]] == ["SANDWICH"]
    assert [h["hour"] for h in day if h["items"]] == [8, 12]


def test_the_window_counts_only_its_days(intake: Invoker, customer: str) -> None:
    # Given lattes at 08:xx yesterday and five days ago
    buy(intake, customer, "p1", seoul_at(5, "08:10"), "LATTE")
    buy(intake, customer, "p2", seoul_at(1, "08:20"), "LATTE")
    # When the last two days are asked for, then the whole window
    recent = popularity(intake, hour="8", window_days="2").json()
    whole = popularity(intake, hour="8").json()
    # Then the old one counts only in the whole window
    assert recent["from_date"] == (NOW.astimezone(SEOUL).date() - timedelta(days=1)).isoformat()
    assert [i["count"] for i in recent["hours"][0]["items"]] == [1]
    assert [i["count"] for i in whole["hours"][0]["items"]] == [2]


def test_popularity_reads_key_ranges_never_a_scan(
    intake: Invoker, customer: str, dynamo_calls: list[tuple[str, dict[str, Any]]]
) -> None:
    # Given a store with sales
    buy(intake, customer, "p1", seoul_at(1, "08:10"), "LATTE")
    dynamo_calls.clear()
    # When marketing reads one hour, then the whole day
    popularity(intake, hour="8")
    one_hour = list(dynamo_calls)
    dynamo_calls.clear()
    popularity(intake)
    whole_day = list(dynamo_calls)
    # Then each hour is one Query of one key range in the store's partition, and nothing scans
    queries = [p for name, p in one_hour if name == "Query"]
    assert [name for name, _ in one_hour] == ["GetItem", "Query"]
    assert "BETWEEN" in queries[0]["KeyConditionExpression"]
    assert queries[0]["ExpressionAttributeValues"][":pk"] == {"S": "STORE#gangnam-01"}
    assert sorted({name for name, _ in whole_day}) == ["GetItem", "Query"]
    assert sum(name == "Query" for name, _ in whole_day) == 24


def test_the_usual_reads_the_customers_counters_only(
    intake: Invoker, customer: str, dynamo_calls: list[tuple[str, dict[str, Any]]]
) -> None:
    # Given a customer with purchases
    buy(intake, customer, "p1", seoul_at(1, "08:10"), "LATTE")
    dynamo_calls.clear()
    # When their usual is read
    usual(intake, customer)
    # Then it reads the profile and queries the USUAL# range of their partition, nothing else
    assert [name for name, _ in dynamo_calls] == ["GetItem", "Query"]
    query = dynamo_calls[1][1]
    assert query["ExpressionAttributeValues"][":p"] == {"S": "USUAL#"}
    assert "begins_with" in query["KeyConditionExpression"]


def test_popularity_errors(intake: Invoker, customer: str) -> None:
    # Given one store with a sale
    buy(intake, customer, "p1", seoul_at(1, "08:10"), "LATTE")
    # When marketing asks about a store without sales, an hour or window out of range, or a bad id
    cases = {
        "unknown store": popularity(intake, store_id="nowhere"),
        "hour 24": popularity(intake, hour="24"),
        "hour -1": popularity(intake, hour="-1"),
        "window 0": popularity(intake, window_days="0"),
        "window 29": popularity(intake, window_days="29"),
        "limit 51": popularity(intake, limit="51"),
        "bad store id": popularity(intake, store_id="-x"),
    }
    # Then each is a 4xx with its code
    assert {k: (r.status, r.error["code"]) for k, r in cases.items()} == {
        "unknown store": (404, "store_not_found"),
        "hour 24": (422, "validation_error"),
        "hour -1": (422, "validation_error"),
        "window 0": (422, "validation_error"),
        "window 29": (422, "validation_error"),
        "limit 51": (422, "validation_error"),
        "bad store id": (422, "validation_error"),
    }
    # And admins may read it as marketing does
    assert popularity(intake, role="admin", hour="8").status == 200


def test_refunds_leave_popularity_and_old_purchases_count_in_no_window(
    intake: Invoker, customer: str
) -> None:
    # Given a latte at 08:xx that was refunded, and one bought 40 days ago (older than the window)
    buy(intake, customer, "p1", seoul_at(1, "08:10"), "LATTE")
    call(
        intake,
        "POST",
        "/purchases/{external_id}/refund",
        params={"external_id": "p1"},
        body={"refund_id": "r"},
    )
    buy(intake, customer, "p2", seoul_at(40, "08:10"), "MOCHA")
    # When marketing reads 08:00
    hour = popularity(intake, hour="8").json()["hours"][0]
    # Then nothing sells at 08:00: the refund took the latte back and the mocha has no counter
    assert hour["items"] == []
    assert item("STORE#gangnam-01", f"POP#08#{seoul_at(40, '08:10')[:10]}#MOCHA") is None

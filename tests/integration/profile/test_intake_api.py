"""Behaviour intake over the API: store systems (the machine role) record purchases, refunds and
visits, one at a time or in batches; each is idempotent per external id, written in one
transaction with its counters and its event, and published on the bus at once."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import boto3
import pytest

from services.profile.topology import INTAKE_API, PROFILES
from shared.dynamo import deserialize
from shared.topology import Function
from tests.integration.apigw import UNSET, ApiResponse, Invoker, api_event
from tests.integration.conftest import FROZEN_AT, scan_all

pytestmark = [
    pytest.mark.usefixtures("frozen_clock"),
    pytest.mark.filterwarnings("ignore:No application metrics to publish:UserWarning"),
]

SEOUL = ZoneInfo("Asia/Seoul")
NOW = FROZEN_AT  # where the functions' clock stands (frozen_clock); the tests' days count back from it
MACHINE_CLAIMS = {
    "sub": "pos-gangnam",
    "client_id": "pos-gangnam",
    "scope": "dangol/machine",
    "token_use": "access",
}
UNKNOWN_CUSTOMER = "cus_01JK2M3N4P5Q6R7S8T9V0W1X2Y"


# --- helpers shared by the intake, usual and queue tests ---------------------------------------


def claims_of(role: str) -> dict[str, str]:
    """Machines authenticate with the client-credentials scope; people with their group."""
    if role == "machine":
        return dict(MACHINE_CLAIMS)
    return {"sub": f"{role}-subject", "cognito:groups": role, "token_use": "id"}


def call(
    api: Invoker,
    method: str,
    resource: str,
    *,
    params: dict[str, str] | None = None,
    body: Any = UNSET,
    query: dict[str, str] | None = None,
    role: str = "machine",
) -> ApiResponse:
    return api(
        api_event(
            "profile_get_me",
            method=method,
            resource=resource,
            path=None if params else resource,
            path_parameters=params or None,
            body=None if body is UNSET and method == "GET" else body,
            query=query if query is not None else UNSET,
            claims=claims_of(role),
        )
    )


def new_customer(profile_api: Invoker, sub: str, time_zone: str = "Asia/Seoul") -> str:
    created = profile_api(
        api_event("profile_create_me", sub=sub, body={"display_name": "단골", "time_zone": time_zone})
    )
    assert created.status == 201, created.body
    return str(created.json()["customer_id"])


def seoul_at(days_ago: int, hh_mm: str) -> str:
    """A Seoul local time ``days_ago`` days before NOW's day in Seoul, as a store till stamps it."""
    day = NOW.astimezone(SEOUL).date() - timedelta(days=days_ago)
    return f"{day.isoformat()}T{hh_mm}:00+09:00"


def line(sku: str = "AMERICANO-L", quantity: int = 1, unit_price: int = 4500, **over: Any) -> dict[str, Any]:
    return {
        "sku": sku,
        "name": over.pop("name", f"{sku} 이름"),
        "category": over.pop("category", "coffee"),
        "quantity": quantity,
        "unit_price": unit_price,
        **over,
    }


def purchase(
    customer_id: str,
    external_id: str = "pos-1-0001",
    *,
    at: str | None = None,
    lines: list[dict[str, Any]] | None = None,
    **over: Any,
) -> dict[str, Any]:
    return {
        "external_id": external_id,
        "customer_id": customer_id,
        "store_id": "gangnam-01",
        "channel": "store",
        "currency": "KRW",
        "purchased_at": at or seoul_at(1, "08:10"),
        "lines": lines or [line()],
        **over,
    }


def visit(customer_id: str, external_id: str = "door-1-0001", **over: Any) -> dict[str, Any]:
    return {
        "external_id": external_id,
        "customer_id": customer_id,
        "kind": "store",
        "place": "gangnam-01",
        "started_at": seoul_at(1, "08:05"),
        "duration_s": 600,
        **over,
    }


def items() -> list[dict[str, Any]]:
    return [deserialize(i) for i in scan_all(PROFILES)]


def item(pk: str, sk: str) -> dict[str, Any] | None:
    found = [i for i in items() if i["pk"] == pk and i["sk"] == sk]
    return found[0] if found else None


def behaviour_items() -> list[dict[str, Any]]:
    """Everything intake writes (not the profiles, their identities, indexes or idempotency)."""
    kinds = ("PURCHASE", "VISIT", "USUAL#", "STATS", "POP#", "STORE")
    return sorted(
        (i for i in items() if str(i["sk"]).startswith(kinds) or str(i["pk"]).startswith(kinds)),
        key=lambda i: (str(i["pk"]), str(i["sk"])),
    )


@pytest.fixture
def intake(lambda_function: Callable[[Function], Invoker]) -> Invoker:
    return lambda_function(INTAKE_API)


@pytest.fixture
def customer(profile_api: Invoker) -> str:
    return new_customer(profile_api, "sub-seoul")


def capture_events(bus: str) -> Callable[[], list[dict[str, Any]]]:
    """Every intake event that reached the bus (a rule to a queue, as a consumer would see it)."""
    sqs, events = boto3.client("sqs"), boto3.client("events")
    url = sqs.create_queue(QueueName="intake-events")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    pattern = {"detail-type": ["PurchaseRecorded", "PurchaseRefunded", "VisitRecorded"]}
    events.put_rule(Name="intake-events", EventBusName=bus, EventPattern=json.dumps(pattern))
    events.put_targets(Rule="intake-events", EventBusName=bus, Targets=[{"Id": "q", "Arn": arn}])
    seen: list[dict[str, Any]] = []

    def received() -> list[dict[str, Any]]:
        while True:
            messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
            if not messages:
                return list(seen)
            for m in messages:
                body = json.loads(m["Body"])
                seen.append({"type": body["detail-type"], **body["detail"]["data"]})
                sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])

    return received


@pytest.fixture
def bus_events(bus: str) -> Callable[[], list[dict[str, Any]]]:
    return capture_events(bus)


# --- recording a purchase ------------------------------------------------------------------------


def test_a_purchase_is_recorded_with_its_counters_and_published_at_once(
    intake: Invoker, customer: str, bus_events: Callable[[], list[dict[str, Any]]]
) -> None:
    # Given a Seoul customer and a till that sells two lattes as two equal lines and a cake
    body = purchase(
        customer,
        at=seoul_at(1, "08:10"),
        lines=[
            line("LATTE", 1, 5000),
            line("CAKE-CHOC", 1, 6500, category="cake", premium=True),
            line("LATTE", 1, 5000),
        ],
    )
    # When the machine records the purchase
    response = call(intake, "POST", "/purchases", body=body)
    # Then it is created: equal lines merged, the total their sum, the day and daypart the customer's
    assert response.status == 201, response.body
    recorded = response.json()
    assert recorded["purchase_id"].startswith("pur_")
    assert recorded["total"] == 16_500
    assert [(i["sku"], i["quantity"], i["amount"]) for i in recorded["lines"]] == [
        ("CAKE-CHOC", 1, 6500),
        ("LATTE", 2, 10_000),
    ]
    assert recorded["local_date"] == body["purchased_at"][:10]
    assert (recorded["daypart"], recorded["status"]) == ("morning", "recorded")
    # ... the STATS, the usual and the store's popularity counters moved in the same write
    stats = item(f"CUSTOMER#{customer}", "STATS")
    assert stats is not None
    assert (stats["spend_KRW"], stats["purchase_count"], stats["premium_count"]) == (16_500, 1, 1)
    assert stats["payments_on_time"] == 1
    utc = datetime.fromisoformat(body["purchased_at"]).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert stats["first_purchase_at"] == stats["last_purchase_at"] == utc
    latte = item(f"CUSTOMER#{customer}", "USUAL#morning#LATTE")
    assert latte is not None
    assert (latte["count"], latte["quantity"], latte["last_at"]) == (1, 2, utc)
    pop = item("STORE#gangnam-01", f"POP#08#{body['purchased_at'][:10]}#LATTE")
    assert pop is not None
    assert (pop["count"], pop["quantity"]) == (1, 2)
    assert pop["expires_at"] > NOW.timestamp() + 27 * 86400
    # ... and PurchaseRecorded carries exactly what the rewards service earns on (no names)
    (event,) = bus_events()
    assert event == {
        "type": "PurchaseRecorded",
        "purchase_id": recorded["purchase_id"],
        "external_id": "pos-1-0001",
        "customer_id": customer,
        "store_id": "gangnam-01",
        "channel": "store",
        "currency": "KRW",
        "total": 16_500,
        "lines": [
            {
                "sku": "CAKE-CHOC",
                "category": "cake",
                "quantity": 1,
                "unit_price": 6500,
                "amount": 6500,
                "premium": True,
            },
            {
                "sku": "LATTE",
                "category": "coffee",
                "quantity": 2,
                "unit_price": 5000,
                "amount": 10_000,
                "premium": False,
            },
        ],
        "purchased_at": body["purchased_at"],
        "local_date": body["purchased_at"][:10],
    }
    # ... and nothing is left in the outbox
    assert [i for i in items() if str(i["pk"]).startswith("OUTBOX#")] == []


def test_the_local_date_and_daypart_are_the_customers_not_the_stores(
    intake: Invoker, profile_api: Invoker, bus_events: Callable[[], list[dict[str, Any]]]
) -> None:
    # Given a customer living in Los Angeles who buys at a Seoul store at 08:10 Seoul time
    traveller = new_customer(profile_api, "sub-la", time_zone="America/Los_Angeles")
    at = seoul_at(2, "08:10")
    local = datetime.fromisoformat(at).astimezone(ZoneInfo("America/Los_Angeles"))
    # When the purchase is recorded
    recorded = call(intake, "POST", "/purchases", body=purchase(traveller, at=at)).json()
    # Then its day is the previous day in Los Angeles, at their midday; the store's hour stays 08
    assert recorded["local_date"] == local.date().isoformat() != at[:10]
    assert recorded["daypart"] == "midday"
    assert bus_events()[0]["local_date"] == local.date().isoformat()
    assert item("STORE#gangnam-01", f"POP#08#{at[:10]}#AMERICANO-L") is not None


def test_the_same_purchase_again_is_the_first_result_without_a_second_event(
    intake: Invoker, customer: str, bus_events: Callable[[], list[dict[str, Any]]]
) -> None:
    # Given a recorded purchase of two lines
    body = purchase(customer, lines=[line("A", 1), line("B", 2)])
    first = call(intake, "POST", "/purchases", body=body)
    assert first.status == 201
    before = behaviour_items()
    # When the till sends it again, lines in another order and one split in two equal lines
    again = purchase(customer, lines=[line("B", 1), line("A", 1), line("B", 1)])
    second = call(intake, "POST", "/purchases", body=again)
    # Then it is the same purchase: 200 with the first result, marked as a replay
    assert second.status == 200
    assert second.json() == first.json()
    assert second.header("Idempotent-Replayed") == "true"
    # ... and nothing was counted twice nor published twice
    assert behaviour_items() == before
    assert [e["type"] for e in bus_events()] == ["PurchaseRecorded"]


@pytest.mark.parametrize(
    "change",
    [
        {"lines": [line("A", 2)]},
        {"store_id": "jongno-02"},
        {"purchased_at": "other time"},
        {"payment_status": "late"},
        {"currency": "USD"},
    ],
)
def test_an_external_id_reused_for_other_content_is_409(
    intake: Invoker, customer: str, change: dict[str, Any], bus_events: Callable[[], list[dict[str, Any]]]
) -> None:
    # Given a recorded purchase
    body = purchase(customer, lines=[line("A", 1)])
    assert call(intake, "POST", "/purchases", body=body).status == 201
    before = behaviour_items()
    # When the same external id comes with different content
    if change.get("purchased_at") == "other time":
        change = {"purchased_at": seoul_at(1, "09:10")}
    response = call(intake, "POST", "/purchases", body={**body, **change})
    # Then it is refused and nothing changed
    assert (response.status, response.error["code"]) == (409, "external_id_reused")
    assert behaviour_items() == before
    assert len(bus_events()) == 1


def test_the_same_instant_at_another_offset_is_other_content(intake: Invoker, customer: str) -> None:
    # Given a purchase stamped 08:10 Seoul time
    body = purchase(customer, at=seoul_at(1, "08:10"))
    assert call(intake, "POST", "/purchases", body=body).status == 201
    # When it comes again as the same instant in UTC (the store's local hour would change)
    utc = datetime.fromisoformat(body["purchased_at"]).astimezone(UTC).isoformat()
    response = call(intake, "POST", "/purchases", body={**body, "purchased_at": utc})
    # Then it is a conflict, not a silent duplicate
    assert (response.status, response.error["code"]) == (409, "external_id_reused")


def test_an_unknown_customer_is_422_and_nothing_is_written(intake: Invoker, customer: str) -> None:
    # Given a customer id nobody has
    # When a purchase names it
    response = call(intake, "POST", "/purchases", body=purchase(UNKNOWN_CUSTOMER))
    # Then it is refused with a code and nothing was written
    assert (response.status, response.error["code"]) == (422, "customer_not_found")
    assert behaviour_items() == []


@pytest.mark.usefixtures("user_pool")  # erasure reaches the login
def test_an_erased_customer_is_422_customer_erased(intake: Invoker, profile_api: Invoker) -> None:
    # Given a customer who erased themselves
    gone = new_customer(profile_api, "sub-gone")
    erased = profile_api(api_event("profile_get_me", method="DELETE", sub="sub-gone"))
    assert erased.status in {200, 202, 204}, erased.body
    # When a till still sends a purchase for them
    response = call(intake, "POST", "/purchases", body=purchase(gone))
    # Then it is refused as erased and nothing about them was written
    assert (response.status, response.error["code"]) == (422, "customer_erased")
    assert [i for i in items() if str(i["pk"]) == f"CUSTOMER#{gone}"] == []
    assert [i for i in items() if str(i["pk"]).startswith(("PURCHASEID#", "STORE#"))] == []


def _bad_purchases() -> list[tuple[str, Callable[[dict[str, Any]], None]]]:
    def set_(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
        def apply(body: dict[str, Any]) -> None:
            target: Any = body
            *parents, last = path.split(".")
            for p in parents:
                target = target[int(p)] if p.isdigit() else target[p]
            if value is _DROP:
                del target[last]
            else:
                target[last if not last.isdigit() else int(last)] = value

        return apply

    now = NOW
    return [
        ("float price", set_("lines.0.unit_price", 4500.0)),
        ("numeric string price", set_("lines.0.unit_price", "4500")),
        ("negative price", set_("lines.0.unit_price", -1)),
        ("absurd price", set_("lines.0.unit_price", 10**11)),
        ("zero quantity", set_("lines.0.quantity", 0)),
        ("boolean quantity", set_("lines.0.quantity", True)),
        ("string premium", set_("lines.0.premium", "yes")),
        ("lower-case currency", set_("currency", "krw")),
        ("no offset", set_("purchased_at", "2025-03-14T08:10:00")),
        ("unix time", set_("purchased_at", 1_741_900_000)),
        ("unix time as text", set_("purchased_at", "1741900000")),
        ("offset out of range", set_("purchased_at", "2025-03-14T08:10:00+15:00")),
        ("in the future", set_("purchased_at", (now + timedelta(hours=1)).isoformat())),
        ("six years old", set_("purchased_at", (now - timedelta(days=6 * 366)).isoformat())),
        ("no lines", set_("lines", [])),
        ("101 lines", set_("lines", [line(f"S{i % 30}") for i in range(101)])),
        ("41 distinct SKUs", set_("lines", [line(f"S{i}") for i in range(41)])),
        ("sku with #", set_("lines.0.sku", "A#B")),
        ("empty name", set_("lines.0.name", "  ")),
        ("control character in name", set_("lines.0.name", "a\x00b")),
        ("unknown line field", set_("lines.0.color", "red")),
        ("unknown field", set_("coupon", "X")),
        ("bad channel", set_("channel", "fax")),
        ("bad payment status", set_("payment_status", "maybe")),
        ("external id with slash", set_("external_id", "a/b")),
        ("external id too long", set_("external_id", "a" * 101)),
        ("not our customer id", set_("customer_id", "12345")),
        ("missing store", set_("store_id", _DROP)),
    ]


_DROP = object()


@pytest.mark.parametrize(("case", "spoil"), _bad_purchases(), ids=[c for c, _ in _bad_purchases()])
def test_bad_purchases_are_422_and_write_nothing(
    intake: Invoker, customer: str, case: str, spoil: Callable[[dict[str, Any]], None]
) -> None:
    # Given a purchase spoiled in one way
    body = purchase(customer)
    spoil(body)
    # When it is sent
    response = call(intake, "POST", "/purchases", body=body)
    # Then it is a 422 with a code that names the problem's place, and nothing is written
    assert (response.status, response.error["code"]) == (422, "validation_error"), case
    assert response.error["details"]
    assert behaviour_items() == []


@pytest.mark.parametrize(
    ("raw", "status", "code"),
    [
        ("{not json", 400, "malformed_json"),
        ("[]", 422, "validation_error"),
        ("null", 422, "validation_error"),
    ],
)
def test_malformed_bodies_are_refused(intake: Invoker, raw: str, status: int, code: str) -> None:
    # Given a body that is not a purchase object
    # When it is sent
    response = call(intake, "POST", "/purchases", body=raw)
    # Then it is refused with its code
    assert (response.status, response.error["code"]) == (status, code)


# --- who may call what ---------------------------------------------------------------------------

MACHINE_ROUTES = [
    ("POST", "/purchases", None),
    ("POST", "/purchases/batch", None),
    ("POST", "/purchases/{external_id}/refund", {"external_id": "pos-1-0001"}),
    ("POST", "/visits", None),
    ("POST", "/visits/batch", None),
]
STAFF_ROUTES = [
    ("GET", "/customers/{customer_id}/usual", {"customer_id": UNKNOWN_CUSTOMER}),
    ("GET", "/customers/{customer_id}/purchases", {"customer_id": UNKNOWN_CUSTOMER}),
]
MARKETING_ROUTES = [("GET", "/stores/{store_id}/popularity", {"store_id": "gangnam-01"})]


@pytest.mark.parametrize("role", ["customer", "agent", "marketing", "admin"])
@pytest.mark.parametrize("route", MACHINE_ROUTES, ids=lambda r: f"{r[0]} {r[1]}")
def test_people_cannot_call_the_machine_routes(
    intake: Invoker, customer: str, role: str, route: tuple[str, str, dict[str, str] | None]
) -> None:
    # Given a person's token (even an admin's) and a valid body
    method, resource, params = route
    # When they call an intake route
    response = call(intake, method, resource, params=params, body=purchase(customer), role=role)
    # Then it is forbidden and nothing is written
    assert (response.status, response.error["code"]) == (403, "forbidden")
    assert behaviour_items() == []


@pytest.mark.parametrize("role", ["customer", "machine"])
@pytest.mark.parametrize(("method", "resource", "params"), STAFF_ROUTES + MARKETING_ROUTES)
def test_customers_and_machines_cannot_read_staff_routes(
    intake: Invoker, role: str, method: str, resource: str, params: dict[str, str]
) -> None:
    # Given a customer's or a till's token
    # When it reads a customer's purchases or usual, or a store's popularity
    response = call(intake, method, resource, params=params, role=role)
    # Then it is forbidden
    assert (response.status, response.error["code"]) == (403, "forbidden")


def test_agents_cannot_read_popularity(intake: Invoker) -> None:
    # Given a counter agent (staff, but not marketing)
    # When they ask what sells when
    response = call(intake, "GET", "/stores/{store_id}/popularity", params={"store_id": "x"}, role="agent")
    # Then it is marketing's report, not theirs
    assert (response.status, response.error["code"]) == (403, "forbidden")


def test_no_token_is_401(intake: Invoker) -> None:
    # Given a request without an authorizer
    event = api_event(
        "profile_get_me", method="POST", resource="/purchases", path="/purchases", body={}, claims=None
    )
    # When it reaches the function
    response = intake(event)
    # Then it is 401
    assert (response.status, response.error["code"]) == (401, "unauthorized")


# --- payments, refunds ---------------------------------------------------------------------------


def test_a_late_payment_counts_as_late(intake: Invoker, customer: str) -> None:
    # Given a purchase paid late
    # When it is recorded
    assert call(intake, "POST", "/purchases", body=purchase(customer, payment_status="late")).status == 201
    # Then the payment record says so
    stats = item(f"CUSTOMER#{customer}", "STATS")
    assert stats is not None
    assert (stats["payments_late"], stats.get("payments_on_time")) == (1, None)


def test_a_failed_payment_is_kept_for_the_payment_record_only(
    intake: Invoker, customer: str, bus_events: Callable[[], list[dict[str, Any]]]
) -> None:
    # Given a purchase whose payment failed
    body = purchase(customer, payment_status="failed")
    # When it is recorded
    response = call(intake, "POST", "/purchases", body=body)
    # Then it is stored, counted as a missed payment, and moves nothing else (no points to earn)
    assert response.status == 201
    stats = item(f"CUSTOMER#{customer}", "STATS")
    assert stats is not None
    assert (stats["payments_late"], stats["payments_failed"]) == (1, 1)
    assert "purchase_count" not in stats
    assert "spend_KRW" not in stats
    assert [i for i in behaviour_items() if str(i["sk"]).startswith(("USUAL#", "POP#"))] == []
    assert bus_events() == []
    # ... and it cannot be refunded
    refund = call(
        intake,
        "POST",
        "/purchases/{external_id}/refund",
        params={"external_id": body["external_id"]},
        body={"refund_id": "r-1"},
    )
    assert (refund.status, refund.error["code"]) == (409, "not_refundable")


def refund(intake: Invoker, external_id: str, refund_id: str = "refund-1", **body: Any) -> ApiResponse:
    return call(
        intake,
        "POST",
        "/purchases/{external_id}/refund",
        params={"external_id": external_id},
        body={"refund_id": refund_id, **body},
    )


def test_a_refund_takes_the_purchase_back_out_of_every_counter(
    intake: Invoker, customer: str, bus_events: Callable[[], list[dict[str, Any]]]
) -> None:
    # Given two recorded purchases of the same latte, one with a premium cake
    first = purchase(customer, "pos-1", lines=[line("LATTE", 1, 5000), line("CAKE", 1, 6500, premium=True)])
    second = purchase(customer, "pos-2", at=seoul_at(2, "08:20"), lines=[line("LATTE", 2, 5000)])
    recorded = call(intake, "POST", "/purchases", body=first).json()
    call(intake, "POST", "/purchases", body=second)
    # When the first is refunded
    response = refund(intake, "pos-1")
    # Then it is marked refunded with the refund's id
    assert response.status == 200, response.body
    refunded = response.json()
    assert (refunded["status"], refunded["refund_id"]) == ("refunded", "refund-1")
    assert refunded["purchase_id"] == recorded["purchase_id"]
    # ... spend, counts and premium use are net of it, and the refund is counted
    stats = item(f"CUSTOMER#{customer}", "STATS")
    assert stats is not None
    assert (stats["spend_KRW"], stats["purchase_count"], stats["refund_count"]) == (10_000, 1, 1)
    assert stats["premium_count"] == 0
    # ... the usual and the store's counters lose it too
    latte = item(f"CUSTOMER#{customer}", "USUAL#morning#LATTE")
    cake = item(f"CUSTOMER#{customer}", "USUAL#morning#CAKE")
    assert latte is not None
    assert cake is not None
    assert (latte["count"], latte["quantity"], cake["count"]) == (1, 2, 0)
    pop = item("STORE#gangnam-01", f"POP#08#{first['purchased_at'][:10]}#CAKE")
    assert pop is not None
    assert (pop["count"], pop["quantity"]) == (0, 0)
    # ... and PurchaseRefunded tells the rewards service what to reverse
    *recorded_events, event = bus_events()
    assert [e["type"] for e in [*recorded_events, event]] == [
        "PurchaseRecorded",
        "PurchaseRecorded",
        "PurchaseRefunded",
    ]
    assert {k: event[k] for k in ("purchase_id", "external_id", "refund_id", "customer_id", "total")} == {
        "purchase_id": recorded["purchase_id"],
        "external_id": "pos-1",
        "refund_id": "refund-1",
        "customer_id": customer,
        "total": 11_500,
    }


def test_a_refund_is_idempotent_per_refund_id_and_a_second_refund_is_409(
    intake: Invoker, customer: str, bus_events: Callable[[], list[dict[str, Any]]]
) -> None:
    # Given a refunded purchase
    call(intake, "POST", "/purchases", body=purchase(customer, "pos-1"))
    first = refund(intake, "pos-1", "refund-1")
    before = behaviour_items()
    # When the same refund comes again
    again = refund(intake, "pos-1", "refund-1")
    # Then it is the first result, and nothing moves twice
    assert again.status == 200
    assert again.json() == first.json()
    assert again.header("Idempotent-Replayed") == "true"
    assert behaviour_items() == before
    # When another refund of it comes
    other = refund(intake, "pos-1", "refund-2")
    # Then the purchase was refunded already (refunds are of whole purchases)
    assert (other.status, other.error["code"]) == (409, "already_refunded")
    assert behaviour_items() == before
    assert [e["type"] for e in bus_events()] == ["PurchaseRecorded", "PurchaseRefunded"]


def test_refund_errors(intake: Invoker, customer: str) -> None:
    # Given a recorded purchase
    body = purchase(customer, "pos-1")
    call(intake, "POST", "/purchases", body=body)
    before = behaviour_items()
    # When a refund names an unknown purchase, or is dated before the purchase, or is malformed
    unknown = refund(intake, "pos-404")
    too_early = refund(intake, "pos-1", refunded_at="2020-01-01T00:00:00Z")
    no_id = call(intake, "POST", "/purchases/{external_id}/refund", params={"external_id": "pos-1"}, body={})
    bad_path = refund(intake, "-starts-with-a-dash")
    # Then each is a 4xx with its code, and nothing changed
    assert (unknown.status, unknown.error["code"]) == (404, "purchase_not_found")
    assert (too_early.status, too_early.error["code"]) == (422, "validation_error")
    assert (no_id.status, no_id.error["code"]) == (422, "validation_error")
    assert (bad_path.status, bad_path.error["code"]) == (422, "validation_error")
    assert behaviour_items() == before


# --- out of order --------------------------------------------------------------------------------


def test_a_purchase_arriving_late_moves_first_but_not_last(intake: Invoker, customer: str) -> None:
    # Given a purchase of yesterday
    call(intake, "POST", "/purchases", body=purchase(customer, "pos-new", at=seoul_at(1, "08:10")))
    # When one of three days ago arrives after it (a till that was offline)
    call(intake, "POST", "/purchases", body=purchase(customer, "pos-old", at=seoul_at(3, "08:10")))
    # Then the first purchase is the old one, the last is still yesterday's, both counted
    stats = item(f"CUSTOMER#{customer}", "STATS")
    usual = item(f"CUSTOMER#{customer}", "USUAL#morning#AMERICANO-L")
    assert stats is not None
    assert usual is not None

    def utc(local: str) -> str:
        return datetime.fromisoformat(local).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    assert stats["first_purchase_at"] == utc(seoul_at(3, "08:10"))
    assert stats["last_purchase_at"] == usual["last_at"] == utc(seoul_at(1, "08:10"))
    assert (stats["purchase_count"], usual["count"]) == (2, 2)


# --- batches -------------------------------------------------------------------------------------


def test_a_batch_with_an_item_that_is_not_an_object_is_refused_whole(intake: Invoker, customer: str) -> None:
    # Given a batch whose second item is not even an object
    batch = [purchase(customer, "pos-1"), "not a purchase"]
    # When it is sent
    response = call(intake, "POST", "/purchases/batch", body={"purchases": batch})
    # Then the whole batch is a 422 (the contract promises objects) and nothing is recorded
    assert (response.status, response.error["code"]) == (422, "validation_error")
    assert call(intake, "POST", "/purchases", body=purchase(customer, "pos-1")).status == 201


def test_a_batch_records_each_item_on_its_own(
    intake: Invoker, customer: str, bus_events: Callable[[], list[dict[str, Any]]]
) -> None:
    # Given a batch: a good purchase, a malformed one, the good one again, an unknown customer,
    # a reuse of the first id with other content and a second good one
    good = purchase(customer, "pos-1")
    batch = [
        good,
        {**purchase(customer, "pos-2"), "currency": "won"},
        good,
        purchase(UNKNOWN_CUSTOMER, "pos-3"),
        {**good, "store_id": "elsewhere"},
        purchase(customer, "pos-4", at=seoul_at(1, "12:30")),
    ]
    # When it is sent
    response = call(intake, "POST", "/purchases/batch", body={"purchases": batch})
    # Then each item has the result it would have had alone
    assert response.status == 200, response.body
    result = response.json()
    assert [(r["index"], r["status"], r["code"]) for r in result["results"]] == [
        (0, 201, "recorded"),
        (1, 422, "validation_error"),
        (2, 200, "already_recorded"),
        (3, 422, "customer_not_found"),
        (4, 409, "external_id_reused"),
        (5, 201, "recorded"),
    ]
    assert [r["external_id"] for r in result["results"]] == [
        "pos-1",
        "pos-2",
        "pos-1",
        "pos-3",
        "pos-1",
        "pos-4",
    ]
    assert result["results"][1]["details"][0]["loc"] == ["currency"]
    assert (result["recorded"], result["already_recorded"], result["failed"]) == (2, 1, 3)
    assert result["results"][0]["id"] == result["results"][2]["id"]
    # ... only the good ones were written, and each was published once
    claims = sorted(str(i["pk"]) for i in items() if str(i["pk"]).startswith("PURCHASEID#"))
    assert claims == ["PURCHASEID#pos-1", "PURCHASEID#pos-4"]
    assert sorted(e["external_id"] for e in bus_events()) == ["pos-1", "pos-4"]


@pytest.mark.parametrize("count", [0, 101])
def test_a_batch_holds_1_to_100_items(intake: Invoker, customer: str, count: int) -> None:
    # Given an empty batch or one of 101 purchases
    batch = [purchase(customer, f"pos-{i}") for i in range(count)]
    # When it is sent
    response = call(intake, "POST", "/purchases/batch", body={"purchases": batch})
    # Then it is refused as a whole, and nothing is written
    assert (response.status, response.error["code"]) == (422, "validation_error")
    assert behaviour_items() == []


# --- visits --------------------------------------------------------------------------------------


def test_a_visit_is_recorded_once_per_external_id(
    intake: Invoker, customer: str, bus_events: Callable[[], list[dict[str, Any]]]
) -> None:
    # Given a store visit
    body = visit(customer)
    # When it is recorded, then sent again, then its id reused for another visit
    first = call(intake, "POST", "/visits", body=body)
    again = call(intake, "POST", "/visits", body=body)
    reused = call(intake, "POST", "/visits", body={**body, "duration_s": 60})
    # Then it is 201, then the same result (200), then 409
    assert first.status == 201, first.body
    assert first.json()["visit_id"].startswith("vis_")
    assert (again.status, again.json()) == (200, first.json())
    assert (reused.status, reused.error["code"]) == (409, "external_id_reused")
    # ... the customer's stats count it once, and VisitRecorded went out once
    stats = item(f"CUSTOMER#{customer}", "STATS")
    assert stats is not None
    started = datetime.fromisoformat(body["started_at"]).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert (stats["visit_count"], stats["last_visit_at"]) == (1, started)
    (event,) = bus_events()
    assert (event["type"], event["kind"], event["place"], event["duration_s"]) == (
        "VisitRecorded",
        "store",
        "gangnam-01",
        600,
    )


@pytest.mark.parametrize(
    "change",
    [
        {"kind": "page", "place": "/menu?email=minji@example.com"},
        {"kind": "page", "place": "menu"},
        {"kind": "store", "place": "/menu"},
        {"duration_s": -1},
        {"duration_s": 86_401},
        {"duration_s": 1.5},
        {"started_at": "2025-03-14 08:00"},
        {"kind": "phone"},
    ],
)
def test_bad_visits_are_422(intake: Invoker, customer: str, change: dict[str, Any]) -> None:
    # Given a visit spoiled in one way
    # When it is sent
    response = call(intake, "POST", "/visits", body={**visit(customer), **change})
    # Then it is refused and nothing is written
    assert (response.status, response.error["code"]) == (422, "validation_error")
    assert behaviour_items() == []


def test_a_page_visit_and_a_visit_batch(intake: Invoker, customer: str) -> None:
    # Given a page visit and a visit of an unknown customer in one batch
    page = visit(customer, "web-1", kind="page", place="/menu/coffee")
    batch = {"visits": [page, visit(UNKNOWN_CUSTOMER, "web-2")]}
    # When the batch is sent
    response = call(intake, "POST", "/visits/batch", body=batch)
    # Then the first is recorded and the second refused, on their own
    assert response.status == 200
    assert [(r["status"], r["code"]) for r in response.json()["results"]] == [
        (201, "recorded"),
        (422, "customer_not_found"),
    ]
    stats = item(f"CUSTOMER#{customer}", "STATS")
    assert stats is not None
    assert stats["visit_count"] == 1


# --- a customer's purchases ----------------------------------------------------------------------


def list_purchases(intake: Invoker, customer_id: str, role: str = "agent", **query: str) -> ApiResponse:
    return call(
        intake,
        "GET",
        "/customers/{customer_id}/purchases",
        params={"customer_id": customer_id},
        query=query or None,
        role=role,
    )


def test_staff_page_through_a_customers_purchases_newest_first(
    intake: Invoker, customer: str, profile_api: Invoker
) -> None:
    # Given five purchases of the customer on five days, and one of someone else
    for days_ago in range(1, 6):
        call(
            intake,
            "POST",
            "/purchases",
            body=purchase(customer, f"pos-{days_ago}", at=seoul_at(days_ago, "09:00")),
        )
    other = new_customer(profile_api, "sub-other")
    call(intake, "POST", "/purchases", body=purchase(other, "pos-other"))
    # When staff page through them two at a time
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        page = list_purchases(intake, customer, limit="2", **({"cursor": cursor} if cursor else {}))
        assert page.status == 200, page.body
        seen += [p["external_id"] for p in page.json()["items"]]
        cursor = page.json()["next_cursor"]
        pages += 1
        if cursor is None:
            break
        assert pages < 10
    # Then they saw exactly the customer's purchases, newest first
    assert seen == ["pos-1", "pos-2", "pos-3", "pos-4", "pos-5"]


def test_purchase_list_cursors_and_limits_are_checked(
    intake: Invoker, customer: str, profile_api: Invoker
) -> None:
    # Given a customer with three purchases, and another customer
    for n in range(3):
        call(intake, "POST", "/purchases", body=purchase(customer, f"pos-{n}", at=seoul_at(n + 1, "09:00")))
    other = new_customer(profile_api, "sub-other")
    cursor = list_purchases(intake, customer, limit="1").json()["next_cursor"]
    assert cursor
    # When a cursor is tampered with, moved to another customer's list, or a limit is out of bounds
    tampered = list_purchases(
        intake, customer, cursor=cursor[:-2] + ("A" if cursor[-2] != "A" else "B") + cursor[-1]
    )
    moved = list_purchases(intake, other, cursor=cursor)
    garbage = list_purchases(intake, customer, cursor="!!!")
    # Then each is 400 invalid_cursor / invalid_limit
    for response in (tampered, moved, garbage):
        assert (response.status, response.error["code"]) == (400, "invalid_cursor")
    for limit in ("0", "101"):
        response = list_purchases(intake, customer, limit=limit)
        assert (response.status, response.error["code"]) == (400, "invalid_limit")
    assert list_purchases(intake, customer, limit="many").status == 422


def test_purchases_of_an_unknown_customer_are_404(intake: Invoker) -> None:
    # Given no such customer
    # When staff list their purchases, or use a malformed id
    unknown = list_purchases(intake, UNKNOWN_CUSTOMER)
    malformed = list_purchases(intake, "nope")
    # Then 404 and 422
    assert (unknown.status, unknown.error["code"]) == (404, "profile_not_found")
    assert (malformed.status, malformed.error["code"]) == (422, "validation_error")

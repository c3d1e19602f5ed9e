"""The points API on moto: customers read only their own points, staff read anyone's and grant
goodwill within a daily limit, store systems hold, capture and release points per order. Bad input
is a 4xx with a code and writes nothing; the wrong role is 403."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from services.rewards.dal.identity import link_subject
from services.rewards.topology import (
    API,
    CUSTOMER_HISTORY,
    CUSTOMER_POINTS,
    GOODWILL_ADJUST,
    HOLD_CAPTURE,
    HOLD_GET,
    HOLD_PLACE,
    HOLD_RELEASE,
    MY_HISTORY,
    MY_POINTS,
    REWARDS,
)
from shared.clock import utc_now
from shared.ids import new_id
from shared.topology import Function, Route
from tests.integration.apigw import UNSET, ApiResponse, Invoker, api_event
from tests.integration.conftest import scan_all, table
from tests.integration.profile.test_intake_api import claims_of
from tests.integration.rewards.test_ledger import earn, make_store

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish:UserWarning")


@pytest.fixture
def api(lambda_function: Callable[[Function], Invoker]) -> Invoker:
    return lambda_function(API)


@pytest.fixture
def customer(api: Invoker, bus: str) -> str:
    """A customer with 100 points now and 50 that expire within the month, linked to login ``me``."""
    customer, store, now = new_id("cus"), make_store(bus), utc_now()
    earn(store, customer, 100, "purchase:a", now=now, expires_at=now + timedelta(days=365))
    earn(store, customer, 50, "purchase:b", now=now, expires_at=now + timedelta(days=10))
    link_subject(table(REWARDS), "me", customer)
    return customer


def call(
    api: Invoker,
    route: Route,
    *,
    params: dict[str, str] | None = None,
    body: Any = UNSET,
    role: str = "agent",
    sub: str | None = None,
    headers: dict[str, str | None] | None = None,
    query: Any = UNSET,
) -> ApiResponse:
    path = route.path
    for name, value in (params or {}).items():
        path = path.replace(f"{{{name}}}", value)
    claims = claims_of(role)
    if sub is not None:
        claims["sub"] = sub
    return api(
        api_event(
            "profile_get_me",
            method=route.method,
            resource=route.path,
            path=path,
            path_parameters=params or None,
            body=body if body is not UNSET else None,
            claims=claims,
            headers=headers,
            query=query,
        )
    )


# --- views ---------------------------------------------------------------------------------------


def test_a_customer_reads_their_own_points_and_history_only(api: Invoker, customer: str) -> None:
    # When the customer reads their points
    mine = call(api, MY_POINTS, role="customer", sub="me")
    # Then they see their balance
    assert mine.status == 200, mine.body
    assert (mine.json()["customer_id"], mine.json()["balance"]) == (customer, 150)
    # ... and their history, newest first, one page at a time
    first = call(api, MY_HISTORY, role="customer", sub="me", query={"limit": "1"})
    assert first.status == 200
    assert [e["source"] for e in first.json()["items"]] == ["purchase:b"]
    second = call(api, MY_HISTORY, role="customer", sub="me", query={"cursor": first.json()["next_cursor"]})
    assert [e["source"] for e in second.json()["items"]] == ["purchase:a"]
    # And they cannot reach another customer's points, nor use a cursor of another list
    other = call(api, CUSTOMER_POINTS, role="customer", sub="me", params={"customer_id": customer})
    assert (other.status, other.error["code"]) == (403, "forbidden")
    forged = call(api, MY_HISTORY, role="customer", sub="me", query={"cursor": "abc"})
    assert (forged.status, forged.error["code"]) == (400, "invalid_cursor")
    # And a login without an account is 404
    stranger = call(api, MY_POINTS, role="customer", sub="nobody")
    assert (stranger.status, stranger.error["code"]) == (404, "account_not_found")


def test_staff_read_any_customers_points_and_ledger(api: Invoker, customer: str) -> None:
    view = call(api, CUSTOMER_POINTS, role="marketing", params={"customer_id": customer})
    assert view.status == 200
    assert (view.json()["balance"], view.json()["expiring_within_30_days"]) == (150, 50)
    ledger_page = call(api, CUSTOMER_HISTORY, params={"customer_id": customer})
    assert len(ledger_page.json()["items"]) == 2
    unknown = call(api, CUSTOMER_POINTS, params={"customer_id": new_id("cus")})
    assert (unknown.status, unknown.error["code"]) == (404, "account_not_found")
    malformed = call(api, CUSTOMER_POINTS, params={"customer_id": "not-an-id"})
    assert malformed.status == 422
    too_big = call(api, CUSTOMER_HISTORY, params={"customer_id": customer}, query={"limit": "101"})
    assert (too_big.status, too_big.error["code"]) == (400, "invalid_limit")


# --- goodwill ------------------------------------------------------------------------------------


def test_an_agent_grants_goodwill_once_per_key_within_the_daily_limit(api: Invoker, customer: str) -> None:
    # When an agent grants 300 points with a reason and an Idempotency-Key, twice
    key: dict[str, str | None] = {"Idempotency-Key": "goodwill-1"}
    body = {"points": 300, "reason": "late delivery"}
    first = call(api, GOODWILL_ADJUST, params={"customer_id": customer}, body=body, headers=key)
    again = call(api, GOODWILL_ADJUST, params={"customer_id": customer}, body=body, headers=key)
    # Then it is granted once
    assert first.status == 201, first.body
    assert (first.json()["type"], first.json()["points"], first.json()["actor"]) == (
        "adjust",
        300,
        "agent-subject",
    )
    assert again.status == 201
    assert again.json()["id"] == first.json()["id"]
    view = call(api, CUSTOMER_POINTS, params={"customer_id": customer}).json()
    assert view["balance"] == 450
    # And beyond the agent's daily limit (5,000) it is refused, writing nothing
    before = scan_all(REWARDS)
    over = call(api, GOODWILL_ADJUST, params={"customer_id": customer}, body={"points": 4_800, "reason": "x"})
    assert (over.status, over.error["code"]) == (409, "goodwill_limit_reached")
    assert [i for i in scan_all(REWARDS) if not i["pk"]["S"].startswith("IDEMPOTENCY")] == [
        i for i in before if not i["pk"]["S"].startswith("IDEMPOTENCY")
    ]


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"points": 0, "reason": "zero"}, 400, "invalid_points"),
        ({"points": 100_001, "reason": "too much"}, 422, "validation_error"),
        ({"points": 10}, 422, "validation_error"),
        ({"points": 10, "reason": ""}, 422, "validation_error"),
        ({"points": "10", "reason": "text"}, 422, "validation_error"),
        ({"points": 10, "reason": "x", "actor": "me"}, 422, "validation_error"),
        ({"points": -1_000, "reason": "take"}, 409, "insufficient_points"),
    ],
)
def test_bad_goodwill_is_a_4xx_and_writes_nothing(
    api: Invoker, customer: str, body: dict[str, Any], status: int, code: str
) -> None:
    before = scan_all(REWARDS)
    response = call(api, GOODWILL_ADJUST, params={"customer_id": customer}, body=body)
    assert (response.status, response.error["code"]) == (status, code)
    assert scan_all(REWARDS) == before


def test_goodwill_is_for_agents_and_admins_on_known_accounts(api: Invoker, customer: str) -> None:
    body = {"points": 10, "reason": "sorry"}
    for role in ("customer", "marketing", "machine"):
        refused = call(api, GOODWILL_ADJUST, params={"customer_id": customer}, body=body, role=role)
        assert (refused.status, refused.error["code"]) == (403, "forbidden")
    unknown = call(api, GOODWILL_ADJUST, params={"customer_id": new_id("cus")}, body=body, role="admin")
    assert (unknown.status, unknown.error["code"]) == (404, "account_not_found")


# --- holds at the counter ------------------------------------------------------------------------


def test_a_store_holds_captures_part_and_the_rest_goes_back(api: Invoker, customer: str) -> None:
    order = {"customer_id": customer, "order_id": "pos-1:0042"}
    # When a till holds 120 points for an order, twice (a retry)
    held = call(api, HOLD_PLACE, params=order, body={"points": 120, "store_id": "gangnam"}, role="machine")
    again = call(api, HOLD_PLACE, params=order, body={"points": 120, "store_id": "gangnam"}, role="machine")
    # Then it is held once
    assert (held.status, again.status) == (201, 200), held.body
    assert (held.json()["status"], held.json()["points"]) == ("held", 120)
    assert call(api, CUSTOMER_POINTS, params={"customer_id": customer}).json()["held"] == 120
    reused = call(api, HOLD_PLACE, params=order, body={"points": 99}, role="machine")
    assert (reused.status, reused.error["code"]) == (409, "order_id_reused")
    # When 100 are captured
    captured = call(api, HOLD_CAPTURE, params=order, body={"points": 100}, role="machine")
    assert captured.status == 200, captured.body
    assert (captured.json()["captured_points"], captured.json()["released_points"]) == (100, 20)
    # Then the balance lost 100 and nothing is held; the hold reads as captured
    view = call(api, CUSTOMER_POINTS, params={"customer_id": customer}).json()
    assert (view["balance"], view["held"]) == (50, 0)
    assert call(api, HOLD_GET, params=order, role="machine").json()["status"] == "captured"
    late = call(api, HOLD_RELEASE, params=order, body={}, role="machine")
    assert (late.status, late.error["code"]) == (409, "hold_not_active")


def test_a_release_gives_everything_back(api: Invoker, customer: str) -> None:
    order = {"customer_id": customer, "order_id": "o-7"}
    assert (
        call(api, HOLD_PLACE, params=order, body={"points": 150, "minutes": 5}, role="machine").status == 201
    )
    released = call(api, HOLD_RELEASE, params=order, body={}, role="machine")
    assert (released.status, released.json()["status"]) == (200, "released")
    assert call(api, CUSTOMER_POINTS, params={"customer_id": customer}).json()["balance"] == 150


@pytest.mark.parametrize(
    ("route", "order_id", "body", "status", "code"),
    [
        (HOLD_PLACE, "o-1", {"points": 0}, 422, "validation_error"),
        (HOLD_PLACE, "o-1", {"points": 10, "minutes": 1441}, 422, "validation_error"),
        (HOLD_PLACE, "o-1", {"points": 10, "store_id": "a#b"}, 422, "validation_error"),
        (HOLD_PLACE, "o 1", {"points": 10}, 422, "validation_error"),
        (HOLD_PLACE, "o-1", {"points": 1_000}, 409, "insufficient_points"),
        (HOLD_PLACE, "o-1", "{not json", 400, "malformed_json"),
        (HOLD_CAPTURE, "missing", {}, 404, "hold_not_found"),
        (HOLD_RELEASE, "missing", {}, 404, "hold_not_found"),
        (HOLD_GET, "missing", UNSET, 404, "hold_not_found"),
    ],
)
def test_bad_hold_requests_are_a_4xx_and_write_nothing(
    api: Invoker, customer: str, *, route: Route, order_id: str, body: Any, status: int, code: str
) -> None:
    before = scan_all(REWARDS)
    params = {"customer_id": customer, "order_id": order_id}
    response = call(api, route, params=params, body=body, role="machine")
    assert (response.status, response.error["code"]) == (status, code)
    assert scan_all(REWARDS) == before


def test_capturing_more_than_held_is_refused(api: Invoker, customer: str) -> None:
    order = {"customer_id": customer, "order_id": "o-9"}
    call(api, HOLD_PLACE, params=order, body={"points": 10}, role="machine")
    over = call(api, HOLD_CAPTURE, params=order, body={"points": 11}, role="machine")
    assert (over.status, over.error["code"]) == (400, "invalid_points")


@pytest.mark.parametrize("role", ["customer", "agent", "admin", "marketing"])
def test_hold_routes_are_for_store_systems_only(api: Invoker, customer: str, role: str) -> None:
    order = {"customer_id": customer, "order_id": "o-1"}
    for route, body in (
        (HOLD_PLACE, {"points": 1}),
        (HOLD_GET, UNSET),
        (HOLD_CAPTURE, {}),
        (HOLD_RELEASE, UNSET),
    ):
        refused = call(api, route, params=order, body=body, role=role)
        assert (refused.status, refused.error["code"]) == (403, "forbidden")

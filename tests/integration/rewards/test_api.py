"""The points API on moto: customers read only their own points, staff read anyone's and grant
goodwill within a daily limit, store systems hold, capture and release points per order. Bad input
is a 4xx with a code and writes nothing; the wrong role is 403."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from services.rewards.dal.identity import link_subject
from services.rewards.dal.presence import DynamoMemberCodes
from services.rewards.logic.presence import digest
from services.rewards.topology import (
    API,
    CUSTOMER_HISTORY,
    CUSTOMER_POINTS,
    GOODWILL_ADJUST,
    HOLD_CAPTURE,
    HOLD_GET,
    HOLD_PLACE,
    HOLD_RELEASE,
    MEMBER_CODE_CREATE,
    MEMBER_CODE_LOOKUP,
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


def test_agents_read_any_customers_points_and_ledger_and_marketing_may_not(
    api: Invoker, customer: str
) -> None:
    view = call(api, CUSTOMER_POINTS, role="agent", params={"customer_id": customer})
    assert view.status == 200
    # Marketing works with segments and counts, not one person's data
    for route in (CUSTOMER_POINTS, CUSTOMER_HISTORY):
        refused = call(api, route, role="marketing", params={"customer_id": customer})
        assert (refused.status, refused.error["code"]) == (403, "forbidden")
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


def member_code(api: Invoker, sub: str = "me") -> str:
    """The code the customer's app shows at the counter (POST /me/member-code)."""
    made = call(api, MEMBER_CODE_CREATE, role="customer", sub=sub)
    assert made.status == 201, made.body
    return str(made.json()["code"])


def test_a_store_holds_captures_part_and_the_rest_goes_back(api: Invoker, customer: str) -> None:
    order = {"customer_id": customer, "order_id": "pos-1:0042"}
    # Given the customer shows their member code at the till
    code = member_code(api)
    # When the till holds 120 points for the order, twice (a retry)
    body = {"points": 120, "store_id": "gangnam", "member_code": code}
    held = call(api, HOLD_PLACE, params=order, body=body, role="machine")
    again = call(api, HOLD_PLACE, params=order, body=body, role="machine")
    # Then it is held once
    assert (held.status, again.status) == (201, 200), held.body
    assert (held.json()["status"], held.json()["points"]) == ("held", 120)
    assert call(api, CUSTOMER_POINTS, params={"customer_id": customer}).json()["held"] == 120
    reused = call(api, HOLD_PLACE, params=order, body={"points": 99, "member_code": code}, role="machine")
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
    body = {"points": 150, "minutes": 5, "member_code": member_code(api)}
    assert call(api, HOLD_PLACE, params=order, body=body, role="machine").status == 201
    released = call(api, HOLD_RELEASE, params=order, body={}, role="machine")
    assert (released.status, released.json()["status"]) == (200, "released")
    assert call(api, CUSTOMER_POINTS, params={"customer_id": customer}).json()["balance"] == 150


@pytest.mark.parametrize(
    ("route", "order_id", "body", "status", "code"),
    [
        (HOLD_PLACE, "o-1", {"points": 0, "member_code": "CODE"}, 422, "validation_error"),
        (HOLD_PLACE, "o-1", {"points": 10, "minutes": 1441, "member_code": "CODE"}, 422, "validation_error"),
        (
            HOLD_PLACE,
            "o-1",
            {"points": 10, "store_id": "a#b", "member_code": "CODE"},
            422,
            "validation_error",
        ),
        (HOLD_PLACE, "o 1", {"points": 10, "member_code": "CODE"}, 422, "validation_error"),
        (HOLD_PLACE, "o-1", {"points": 10}, 422, "validation_error"),
        (HOLD_PLACE, "o-1", {"points": 10, "member_code": "ABCDE-FGHJK"}, 403, "member_code_invalid"),
        (HOLD_PLACE, "o-1", {"points": 1_000, "member_code": "CODE"}, 409, "insufficient_points"),
        (HOLD_PLACE, "o-1", "{not json", 400, "malformed_json"),
        (HOLD_CAPTURE, "missing", {}, 404, "hold_not_found"),
        (HOLD_RELEASE, "missing", {}, 404, "hold_not_found"),
        (HOLD_GET, "missing", UNSET, 404, "hold_not_found"),
    ],
)
def test_bad_hold_requests_are_a_4xx_and_write_nothing(
    api: Invoker, customer: str, *, route: Route, order_id: str, body: Any, status: int, code: str
) -> None:
    if isinstance(body, dict) and body.get("member_code") == "CODE":
        body = {**body, "member_code": member_code(api)}
    # The member code records the checkout it was shown for (by design: see logic/presence.py)
    before = _without_member_codes(scan_all(REWARDS))
    params = {"customer_id": customer, "order_id": order_id}
    response = call(api, route, params=params, body=body, role="machine")
    assert (response.status, response.error["code"]) == (status, code)
    assert _without_member_codes(scan_all(REWARDS)) == before


def _without_member_codes(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [i for i in items if not i["pk"]["S"].startswith("MEMBERCODE#")]


def test_capturing_more_than_held_is_refused(api: Invoker, customer: str) -> None:
    order = {"customer_id": customer, "order_id": "o-9"}
    call(api, HOLD_PLACE, params=order, body={"points": 10, "member_code": member_code(api)}, role="machine")
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


# --- presence at the counter: member codes -------------------------------------------------------


def test_a_till_sees_who_a_member_code_shows_and_nothing_is_used(api: Invoker, customer: str) -> None:
    # Given the customer's app shows a fresh code
    made = call(api, MEMBER_CODE_CREATE, role="customer", sub="me")
    assert made.status == 201, made.body
    code = made.json()["code"]
    assert made.json()["qr"] == f"dangol:member:{code}"
    assert made.json()["expires_at"] > utc_now().isoformat()
    # When a till looks it up (typed in lower case, without the dash)
    typed = {"member_code": code.replace("-", "").lower()}
    seen = call(api, MEMBER_CODE_LOOKUP, body=typed, role="machine")
    # Then it shows the customer
    assert (seen.status, seen.json()["customer_id"]) == (200, customer)
    # And an unknown code shows no one, and a customer cannot look codes up
    unknown = call(api, MEMBER_CODE_LOOKUP, body={"member_code": "ABCDE-FGHJK"}, role="machine")
    assert (unknown.status, unknown.error["code"]) == (403, "member_code_invalid")
    mine = call(api, MEMBER_CODE_LOOKUP, body={"member_code": code}, role="customer", sub="me")
    assert mine.status == 403


def test_a_hold_needs_the_customers_own_live_code_for_one_checkout(
    api: Invoker, bus: str, customer: str
) -> None:
    # Given a second customer, and each customer's code
    other = new_id("cus")
    earn(make_store(bus), other, 500, "purchase:o", now=utc_now(), expires_at=utc_now() + timedelta(days=30))
    link_subject(table(REWARDS), "other", other)
    mine, theirs = member_code(api), member_code(api, sub="other")
    order = {"customer_id": customer, "order_id": "till-1:0001"}
    # When a till holds points with another customer's code
    wrong = call(api, HOLD_PLACE, params=order, body={"points": 10, "member_code": theirs}, role="machine")
    # Then it is refused, as a code that expired is
    assert (wrong.status, wrong.error["code"]) == (403, "member_code_invalid")
    stale = "QRSTV-WXYZ0"
    DynamoMemberCodes(table(REWARDS)).create(
        digest(stale), customer, expires_at=utc_now() - timedelta(seconds=1)
    )
    expired = call(api, HOLD_PLACE, params=order, body={"points": 10, "member_code": stale}, role="machine")
    assert (expired.status, expired.error["code"]) == (403, "member_code_invalid")
    # When the till holds with the customer's own code
    held = call(api, HOLD_PLACE, params=order, body={"points": 10, "member_code": mine}, role="machine")
    assert held.status == 201, held.body
    # Then the code serves that checkout only: another order, or another till, is refused
    later = {"customer_id": customer, "order_id": "till-1:0002"}
    again = call(api, HOLD_PLACE, params=later, body={"points": 10, "member_code": mine}, role="machine")
    assert (again.status, again.error["code"]) == (409, "member_code_used")
    elsewhere = call(
        api, HOLD_PLACE, params=order, body={"points": 10, "member_code": mine}, role="machine", sub="till-2"
    )
    assert elsewhere.status in (403, 409), elsewhere.body
    # And the balance lost only the one hold
    assert call(api, CUSTOMER_POINTS, params={"customer_id": customer}).json()["held"] == 10


def test_only_the_till_that_placed_a_hold_sees_captures_or_releases_it(api: Invoker, customer: str) -> None:
    # Given a hold placed by one till
    order = {"customer_id": customer, "order_id": "till-1:0003"}
    body = {"points": 20, "member_code": member_code(api)}
    assert call(api, HOLD_PLACE, params=order, body=body, role="machine").status == 201
    # When another store system reads, captures or releases it
    for route, payload in ((HOLD_GET, UNSET), (HOLD_CAPTURE, {}), (HOLD_RELEASE, {})):
        other = call(api, route, params=order, body=payload, role="machine", sub="till-2")
        # Then there is no such hold for it
        assert (other.status, other.error["code"]) == (404, "hold_not_found"), route.key
    # And the hold is still held for its till
    assert call(api, HOLD_GET, params=order, role="machine").json()["status"] == "held"


def test_an_erased_customers_account_takes_no_hold_and_no_goodwill(
    api: Invoker, bus: str, customer: str
) -> None:
    # Given a code shown just before the customer was erased
    code = member_code(api)
    make_store(bus).pseudonymise(customer, now=utc_now())
    # When a till holds points and an agent grants goodwill
    order = {"customer_id": customer, "order_id": "till-1:0004"}
    hold = call(api, HOLD_PLACE, params=order, body={"points": 10, "member_code": code}, role="machine")
    goodwill = call(
        api,
        GOODWILL_ADJUST,
        params={"customer_id": customer},
        body={"points": 100, "reason": "sorry"},
        headers={"Idempotency-Key": "erased-1"},
    )
    # Then both are refused with the reason, and the app can make no new code
    assert (hold.status, hold.error["code"]) == (422, "customer_erased")
    assert (goodwill.status, goodwill.error["code"]) == (422, "customer_erased")
    assert call(api, MEMBER_CODE_CREATE, role="customer", sub="me").status == 404

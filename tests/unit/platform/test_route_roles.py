"""Who may call each route, pinned in a table of this test's own.

The topology declares each route's roles and the resolver enforces them; a test that read the
roles from the topology would follow a route widened by mistake (an admin route opened to agents)
and stay green. This table is written out by hand: changing who may call a route means changing a
line here too, in the same review.

People are ID tokens whose ``cognito:groups`` name their roles; the machine role is an access
token of the client-credentials flow with the ``dangol/machine`` scope (``api_event`` builds each).
Every role outside a route's line is refused with 403, and a request without a usable identity
with 401, by the function itself, before any input is read or any AWS call is made (sockets are
off in this tier: a call would be a 500).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

import pytest

from infra.topology import SYSTEM
from shared.auth import Role
from shared.topology import Function, Route
from tests.integration.apigw import ApiResponse, LambdaContext, api_event
from tests.integration.platform.fuzz_world import Ids, path_params

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish:UserWarning")

# (method, path): the roles that may call it. One line per route, by service, as declared.
ALLOWED: dict[tuple[str, str], set[str]] = {
    # profile
    ("POST", "/me"): {"customer"},
    ("GET", "/me"): {"customer"},
    ("PATCH", "/me"): {"customer"},
    ("DELETE", "/me"): {"customer"},
    ("GET", "/me/export"): {"customer"},
    ("PUT", "/me/devices/{device_id}"): {"customer"},
    ("DELETE", "/me/devices/{device_id}"): {"customer"},
    ("GET", "/customers/{customer_id}"): {"agent", "admin"},
    ("PATCH", "/customers/{customer_id}"): {"agent", "admin"},
    ("GET", "/customers"): {"agent", "admin"},
    ("GET", "/customers/by-handle/{network}/{handle}"): {"agent", "admin"},
    ("GET", "/customers/{customer_id}/export"): {"admin"},
    ("DELETE", "/customers/{customer_id}"): {"admin"},
    ("GET", "/me/consents"): {"customer"},
    ("POST", "/me/consents"): {"customer"},
    ("GET", "/customers/{customer_id}/consents"): {"agent", "admin"},
    ("POST", "/unsubscribe/{token}"): set(),  # public: see PUBLIC
    ("GET", "/unsubscribe/{token}"): set(),  # public: see PUBLIC
    ("POST", "/purchases"): {"machine"},
    ("POST", "/purchases/batch"): {"machine"},
    ("POST", "/purchases/{external_id}/refund"): {"machine"},
    ("POST", "/visits"): {"machine"},
    ("POST", "/visits/batch"): {"machine"},
    ("GET", "/customers/{customer_id}/usual"): {"agent", "admin"},
    ("GET", "/customers/{customer_id}/purchases"): {"agent", "admin"},
    ("GET", "/stores/{store_id}/popularity"): {"marketing", "admin"},
    ("GET", "/admin/value-model"): {"marketing", "admin"},
    ("PUT", "/admin/value-model"): {"marketing", "admin"},
    ("GET", "/admin/lifestyle-groups"): {"marketing", "admin"},
    ("POST", "/admin/lifestyle-groups"): {"marketing", "admin"},
    ("GET", "/admin/lifestyle-groups/{group_id}"): {"marketing", "admin"},
    ("PUT", "/admin/lifestyle-groups/{group_id}"): {"marketing", "admin"},
    ("DELETE", "/admin/lifestyle-groups/{group_id}"): {"marketing", "admin"},
    ("GET", "/customers/{customer_id}/value"): {"agent", "admin"},
    ("POST", "/customers/{customer_id}/contacts"): {"agent", "admin"},
    ("GET", "/customers/{customer_id}/contacts"): {"agent", "admin"},
    ("PUT", "/customers/{customer_id}/manager"): {"agent", "admin"},
    ("DELETE", "/customers/{customer_id}/manager"): {"agent", "admin"},
    ("GET", "/staff/me/customers"): {"agent", "admin"},
    ("POST", "/imports"): {"marketing", "admin"},
    ("GET", "/imports/{job_id}"): {"marketing", "admin"},
    ("GET", "/imports/{job_id}/rejections"): {"marketing", "admin"},
    # rewards
    ("POST", "/me/member-code"): {"customer"},
    ("POST", "/member-codes/lookup"): {"machine"},
    ("GET", "/me/points"): {"customer"},
    ("GET", "/me/points/history"): {"customer"},
    ("GET", "/customers/{customer_id}/points"): {"agent", "admin"},
    ("GET", "/customers/{customer_id}/points/history"): {"agent", "admin"},
    ("POST", "/customers/{customer_id}/points/adjustments"): {"agent", "admin"},
    ("PUT", "/customers/{customer_id}/holds/{order_id}"): {"machine"},
    ("GET", "/customers/{customer_id}/holds/{order_id}"): {"machine"},
    ("POST", "/customers/{customer_id}/holds/{order_id}/capture"): {"machine"},
    ("POST", "/customers/{customer_id}/holds/{order_id}/release"): {"machine"},
    ("GET", "/admin/earn-rules"): {"marketing", "admin"},
    ("PUT", "/admin/earn-rules"): {"marketing", "admin"},
    ("GET", "/admin/earn-rules/{version}"): {"marketing", "admin"},
    ("GET", "/admin/tiers"): {"marketing", "admin"},
    ("PUT", "/admin/tiers"): {"marketing", "admin"},
    ("POST", "/admin/point-grants"): {"marketing", "admin"},
    ("GET", "/admin/point-grants/{job_id}"): {"marketing", "admin"},
    ("GET", "/admin/point-grants/{job_id}/report"): {"marketing", "admin"},
    ("GET", "/admin/points/audit"): {"marketing", "admin"},
    ("POST", "/admin/coupon-templates"): {"marketing", "admin"},
    ("GET", "/admin/coupon-templates"): {"marketing", "admin"},
    ("GET", "/admin/coupon-templates/{template_id}"): {"marketing", "admin"},
    ("DELETE", "/admin/coupon-templates/{template_id}"): {"marketing", "admin"},
    ("POST", "/admin/coupon-templates/{template_id}/issuances"): {"marketing", "admin"},
    ("GET", "/me/coupons"): {"customer"},
    ("GET", "/customers/{customer_id}/coupons"): {"agent", "admin"},
    ("POST", "/coupon-redemptions"): {"machine"},
    ("POST", "/admin/gifts"): {"marketing", "admin"},
    ("GET", "/admin/gifts"): {"marketing", "admin"},
    ("GET", "/admin/gifts/{gift_id}"): {"marketing", "admin"},
    ("POST", "/admin/gifts/{gift_id}/draws"): {"marketing", "admin"},
    ("GET", "/me/gifts"): {"customer"},
    ("GET", "/admin/point-campaigns/{campaign_id}"): {"marketing", "admin"},
    ("GET", "/me/draw-entries"): {"customer"},
    ("GET", "/draws/{gift_id}/{draw}"): set(),  # public: see PUBLIC
    ("GET", "/draws/{gift_id}/{draw}/verification"): set(),  # public: see PUBLIC
    # campaigns
    ("POST", "/admin/segments"): {"marketing", "admin"},
    ("GET", "/admin/segments"): {"marketing", "admin"},
    ("GET", "/admin/segments/{segment_id}"): {"marketing", "admin"},
    ("PUT", "/admin/segments/{segment_id}"): {"marketing", "admin"},
    ("GET", "/admin/segments/{segment_id}/versions/{version}"): {"marketing", "admin"},
    ("GET", "/admin/segments/{segment_id}/members"): {"marketing", "admin"},
    ("DELETE", "/admin/segments/{segment_id}"): {"marketing", "admin"},
    ("POST", "/admin/segment-previews"): {"marketing", "admin"},
    ("GET", "/admin/segment-previews/{preview_id}"): {"marketing", "admin"},
    ("POST", "/admin/templates"): {"marketing", "admin"},
    ("GET", "/admin/templates"): {"marketing", "admin"},
    ("GET", "/admin/templates/{template_id}"): {"marketing", "admin"},
    ("PUT", "/admin/templates/{template_id}"): {"marketing", "admin"},
    ("GET", "/admin/templates/{template_id}/versions/{version}"): {"marketing", "admin"},
    ("POST", "/admin/templates/{template_id}/preview"): {"marketing", "admin"},
    ("POST", "/admin/campaigns"): {"marketing", "admin"},
    ("GET", "/admin/campaigns"): {"marketing", "admin"},
    ("GET", "/admin/campaigns/{campaign_id}"): {"marketing", "admin"},
    ("PUT", "/admin/campaigns/{campaign_id}"): {"marketing", "admin"},
    ("POST", "/admin/campaigns/{campaign_id}/launch"): {"marketing", "admin"},
    ("POST", "/admin/campaigns/{campaign_id}/pause"): {"marketing", "admin"},
    ("POST", "/admin/campaigns/{campaign_id}/resume"): {"marketing", "admin"},
    ("POST", "/admin/campaigns/{campaign_id}/cancel"): {"marketing", "admin"},
    ("POST", "/admin/campaigns/{campaign_id}/dry-run"): {"marketing", "admin"},
    ("GET", "/admin/campaigns/{campaign_id}/report"): {"marketing", "admin"},
    ("GET", "/admin/campaigns/{campaign_id}/messages"): {"marketing", "admin"},
    ("GET", "/admin/campaigns/{campaign_id}/results"): {"marketing", "admin"},
    ("GET", "/admin/campaigns/{campaign_id}/results.csv"): {"marketing", "admin"},
    ("POST", "/admin/draw-schedules"): {"marketing", "admin"},
    ("GET", "/admin/draw-schedules/{gift_id}"): {"marketing", "admin"},
    ("GET", "/me/offers"): {"customer"},
    ("POST", "/me/offers/{offer_id}/open"): {"customer"},
    # feedback: the sources' webhooks (signed by the source), the customer's cases, the agents'
    # cases (never marketing: a case holds a person's words), the digests (themes and counts)
    ("GET", "/webhooks/{source}"): set(),  # public: see PUBLIC
    ("POST", "/webhooks/{source}"): set(),  # public: see PUBLIC
    ("POST", "/me/cases"): {"customer"},
    ("GET", "/me/cases"): {"customer"},
    ("GET", "/me/cases/{case_id}"): {"customer"},
    ("POST", "/me/cases/{case_id}/replies"): {"customer"},
    ("POST", "/me/cases/{case_id}/confirmation"): {"customer"},
    ("POST", "/me/cases/{case_id}/satisfaction"): {"customer"},
    ("GET", "/cases"): {"agent", "admin"},
    ("POST", "/cases"): {"agent", "admin"},
    ("GET", "/cases/{case_id}"): {"agent", "admin"},
    ("POST", "/cases/{case_id}/transitions"): {"agent", "admin"},
    ("POST", "/cases/{case_id}/assignment"): {"agent", "admin"},
    ("POST", "/cases/{case_id}/escalation"): {"agent", "admin"},
    ("POST", "/cases/{case_id}/notes"): {"agent", "admin"},
    ("POST", "/cases/{case_id}/confirmation"): {"agent", "admin"},
    ("POST", "/cases/{case_id}/goodwill"): {"agent", "admin"},
    ("GET", "/insights/digests"): {"marketing", "agent", "admin"},
    ("GET", "/insights/digests/{week}"): {"marketing", "agent", "admin"},
    ("PUT", "/insights/subscription"): {"marketing", "agent", "admin"},
    ("DELETE", "/insights/subscription"): {"marketing", "agent", "admin"},
}

# The routes anyone may call without a token (no authorizer, no caller): an opt-out link must work
# from any mail client, anyone may check a gift's draw (entry ids only, never customer ids), and a
# social source delivers mentions with its own signature (checked by the function, 401 without).
# Their line above is empty; a route made public by mistake fails here.
PUBLIC: set[tuple[str, str]] = {
    ("POST", "/unsubscribe/{token}"),
    ("GET", "/unsubscribe/{token}"),
    ("GET", "/draws/{gift_id}/{draw}"),
    ("GET", "/draws/{gift_id}/{draw}/verification"),
    ("GET", "/webhooks/{source}"),
    ("POST", "/webhooks/{source}"),
}
OPT_OUT = {("POST", "/unsubscribe/{token}"), ("GET", "/unsubscribe/{token}")}

ROUTES = SYSTEM.routes
GUARDED = [r for r in ROUTES if not r.public]


def test_every_route_allows_exactly_the_roles_of_this_table() -> None:
    # Given the roles the topology declares for each of its routes
    declared = {(r.method, r.path): {role.value for role in r.allow} for r in ROUTES}
    # Then each route allows exactly the roles of its line: none more (a route widened), none less,
    # and no route is missing from the table or left in it after it went
    widened = {k: sorted(v - ALLOWED[k]) for k, v in declared.items() if k in ALLOWED and v - ALLOWED[k]}
    narrowed = {k: sorted(ALLOWED[k] - v) for k, v in declared.items() if k in ALLOWED and ALLOWED[k] - v}
    assert widened == {}, "routes open to more roles than this table says"
    assert narrowed == {}, "routes closed to roles this table says may call them (update the table)"
    assert sorted(declared.keys() - ALLOWED.keys()) == [], "routes missing from this table"
    assert sorted(ALLOWED.keys() - declared.keys()) == [], "routes in this table that are not declared"


def test_the_table_names_only_roles_that_exist() -> None:
    # Given every role of the table
    # Then each is a role of ours, and every route but the public ones allows somebody
    assert set().union(*ALLOWED.values()) <= {r.value for r in Role}
    assert {k for k, v in ALLOWED.items() if not v} == PUBLIC


def test_exactly_the_public_routes_of_this_table_are_public() -> None:
    # Given the routes the topology declares public
    # Then they are exactly this table's, and none names a role
    assert {(r.method, r.path) for r in ROUTES if r.public} == PUBLIC
    assert all(not r.allow for r in ROUTES if r.public)


@pytest.mark.parametrize("route", [r for r in ROUTES if (r.method, r.path) in OPT_OUT], ids=lambda r: r.key)
def test_a_public_route_needs_no_identity_and_ignores_one(route: Route) -> None:
    for claims in (None, {}, {"sub": "someone", "token_use": "id", "cognito:groups": "admin"}):
        # Given a request with no identity, an unusable one, or an admin's
        event = api_event(
            "profile_get_me",
            method=route.method,
            resource=route.path,
            path_parameters={"token": "not-a-token"},
            body=None,
        )
        event["requestContext"]["authorizer"] = None if claims is None else {"claims": claims}
        # When it reaches the route's function with a link that is no link of ours
        response = _invoke(route.function, event)
        # Then the guard let it through (no 401 or 403): the function refused the link itself,
        # before any AWS call (sockets are off), the same way for every caller
        assert (response.status, response.error["code"]) == (404, "unsubscribe_link_invalid"), claims


_handlers: dict[str, Callable[[dict[str, Any], Any], dict[str, Any]]] = {}


def _invoke(function: Function, event: dict[str, Any]) -> ApiResponse:
    """The function's real entry point, imported once (no environment: nothing may be read)."""
    if function.id not in _handlers:
        _handlers[function.id] = getattr(importlib.import_module(function.module), function.entry)
    return ApiResponse.of(_handlers[function.id](event, LambdaContext.of(function)))


def _outsiders(route: Route) -> list[str]:
    """Every role outside the route's line (as its token: ``machine`` is an access token), and a
    person in no group."""
    line = ALLOWED.get((route.method, route.path))
    assert line is not None, f"{route.key} is not in this test's table: add its line"
    return [role.value for role in Role if role.value not in line] + [""]


@pytest.mark.parametrize("route", GUARDED, ids=lambda r: r.key)
def test_every_role_outside_the_table_is_refused_by_the_function(route: Route) -> None:
    for groups in _outsiders(route):
        # Given a caller whose role is not on the route's line of the table
        event = api_event(
            "profile_get_me",
            method=route.method,
            resource=route.path,
            path_parameters=path_params(route, Ids()) or None,
            path=None if route.path_params else route.path,
            body={} if route.has_body else None,
            groups=groups,
        )
        # When they call the route's function
        response = _invoke(route.function, event)
        # Then it is 403 forbidden, before anything is read
        assert (response.status, response.error["code"]) == (403, "forbidden"), (groups, response.body)


@pytest.mark.parametrize("route", GUARDED, ids=lambda r: r.key)
def test_a_request_without_a_usable_identity_is_401(route: Route) -> None:
    for claims in (None, {}, {"sub": ""}, {"cognito:groups": "customer"}):
        # Given a request without a usable identity (no authorizer, no claims, no subject, no token use)
        event = api_event(
            "profile_get_me",
            method=route.method,
            resource=route.path,
            path_parameters=path_params(route, Ids()) or None,
            path=None if route.path_params else route.path,
            body={} if route.has_body else None,
        )
        event["requestContext"]["authorizer"] = None if claims is None else {"claims": claims}
        # When it reaches the route's function
        response = _invoke(route.function, event)
        # Then it is 401, before anything is read
        assert response.status == 401, (claims, response.body)
        assert response.error["code"] in {"unauthorized", "invalid_token"}, claims


@pytest.mark.parametrize(
    "route", [r for r in ROUTES if r.public and r.path.startswith("/draws/")], ids=lambda r: r.key
)
def test_a_draw_is_public_whoever_calls(route: Route) -> None:
    for claims in (None, {}, {"sub": "someone", "token_use": "id", "cognito:groups": "admin"}):
        # Given a request with no identity, an unusable one, or an admin's, for a draw number out of range
        event = api_event(
            "profile_get_me",
            method=route.method,
            resource=route.path,
            path_parameters={"gift_id": Ids().gift_id, "draw": "51"},
            body=None,
        )
        event["requestContext"]["authorizer"] = None if claims is None else {"claims": claims}
        # When it reaches the offers function
        response = _invoke(route.function, event)
        # Then the guard let it through (no 401 or 403): the path was refused before any AWS call
        assert (response.status, response.error["code"]) == (422, "validation_error"), claims

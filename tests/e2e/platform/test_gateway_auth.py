"""The local gateway checks tokens as API Gateway's Cognito authorizer does: no function runs
for a missing, expired or forged token, nor for a token of the wrong kind: a route without
OAuth scopes takes ID tokens only, a route with scopes (the machine routes, dangol/machine)
access tokens carrying one of them only (the token-type matrix below)."""

from __future__ import annotations

import pytest

from infra.openapi import scopes_of
from infra.topology import SYSTEM
from services.profile.topology import ME_GET
from services.rewards.topology import HOLD_GET
from shared.auth import MACHINE_SCOPE
from shared.topology import Route
from tests.e2e import tokens
from tests.e2e.conftest import HttpResponse, LocalSystem


def concrete(path: str) -> str:
    return path.replace("{customer_id}", "cus_01M82AEKG51WJP0K379AYG4E2W")


@pytest.mark.parametrize("route", [r for r in SYSTEM.routes if not r.public], ids=lambda r: r.key)
def test_every_route_refuses_a_request_without_a_token(local: LocalSystem, route) -> None:
    # Given no Authorization header
    # When the route is called
    response = local.request(route.method, concrete(route.path), body={} if route.has_body else None)
    # Then it is 401 with a machine-readable code
    assert response.status == 401
    assert response.json()["error"]["code"] == "unauthorized"


@pytest.mark.parametrize(
    "route",
    [r for r in SYSTEM.routes if r.public and r.path.startswith("/unsubscribe/")],
    ids=lambda r: r.key,
)
def test_a_public_route_takes_no_token_and_checks_its_link_itself(local: LocalSystem, route) -> None:
    # Given no Authorization header and a link that is no link of ours
    # When the opt-out route is called through the gateway
    response = local.request(route.method, "/unsubscribe/bm90LWEtdG9rZW4.AAAAAAAAAAAAAAAAAAAAAA")
    # Then the gateway let it through and the function refused the link (never a 401)
    assert (response.status, response.json()["error"]["code"]) == (404, "unsubscribe_link_invalid")


@pytest.mark.parametrize("suffix", ["", "/verification"])
def test_a_draw_takes_no_token(local: LocalSystem, suffix: str) -> None:
    # Given no Authorization header and a draw of a gift that does not exist
    # When anyone asks for it through the gateway
    response = local.request("GET", f"/draws/gft_01M82AEKG51WJP0K379AYG4E2W/1{suffix}")
    # Then the gateway let it through and the function answered (never a 401)
    assert (response.status, response.json()["error"]["code"]) == (404, "draw_not_found")


def test_a_token_signed_by_another_key_is_refused(local: LocalSystem) -> None:
    # Given a token with real claims, re-signed by a stranger's key under the pool's key id
    forged = tokens.sign(tokens.claims_of(local.token("admin")), key=tokens.stranger_key())
    # When it is used
    response = local.request("GET", "/me", token=forged)
    # Then it is refused
    assert response.status == 401
    assert response.json()["error"]["code"] == "invalid_token"


def test_an_expired_token_is_refused(local: LocalSystem) -> None:
    # Given a token signed with the pool's own key but expired an hour ago
    stale = tokens.sign(tokens.expired(tokens.claims_of(local.token("customer"))))
    # When it is used
    response = local.request("GET", "/me", token=stale)
    # Then it is refused as expired
    assert response.status == 401
    assert response.json()["error"]["code"] == "token_expired"


@pytest.mark.parametrize(
    ("change", "value"),
    [
        ("iss", "https://cognito-idp.ap-northeast-2.amazonaws.com/ap-northeast-2_other"),
        ("token_use", "refresh"),
        ("aud", "some-other-client"),
    ],
)
def test_a_token_for_another_pool_use_or_client_is_refused(
    local: LocalSystem, change: str, value: str
) -> None:
    # Given a validly signed token whose issuer, use or audience is not this pool's app
    claims = {**tokens.claims_of(local.token("customer")), change: value}
    # When it is used
    response = local.request("GET", "/me", token=tokens.sign(claims))
    # Then it is refused
    assert response.status == 401


@pytest.mark.parametrize("garbage", ["", "Bearer", "Bearer abc.def.ghi", "Basic dXNlcjpwYXNz", "x" * 5000])
def test_malformed_authorization_headers_are_refused(local: LocalSystem, garbage: str) -> None:
    # Given an Authorization header that is not a token
    # When it is used
    response = local.request("GET", "/me", headers={"Authorization": garbage})
    # Then it is 401, never a 5xx
    assert response.status == 401


PEOPLE = ["customer", "marketing", "agent", "admin"]
UNSCOPED, SCOPED = ME_GET, HOLD_GET  # a person's route (no OAuth scopes), a till's (dangol/machine)


def test_the_two_routes_of_the_matrix_are_what_they_stand_for() -> None:
    # Given the routes the matrix below calls
    # Then one lists no scopes (an ID token's route) and the other the machine scope only
    assert scopes_of(UNSCOPED) == []
    assert scopes_of(SCOPED) == [MACHINE_SCOPE]


def _call(local: LocalSystem, route: Route, token: str) -> HttpResponse:
    customer_id = local.request("GET", "/me", token=local.token("customer")).json()["customer_id"]
    path = route.path.replace("{customer_id}", customer_id).replace("{order_id}", "e2e-matrix")
    return local.request(route.method, path, token=token)


@pytest.mark.parametrize("role", PEOPLE)
def test_a_persons_id_token_passes_the_authorizer_only_where_no_scope_is_listed(
    local: LocalSystem, role: str
) -> None:
    # Given a person's ID token (what the app gets at sign-in)
    token = local.token(role)
    # When it calls a route without scopes and a machine route
    person_route, machine_route = _call(local, UNSCOPED, token), _call(local, SCOPED, token)
    # Then the first reaches the function (which answers by role), the second is refused before it
    assert person_route.status != 401, person_route.body
    assert person_route.status == (200 if role == "customer" else 403)
    assert (machine_route.status, machine_route.json()["error"]["code"]) == (401, "invalid_token")


@pytest.mark.parametrize("role", PEOPLE)
def test_a_persons_access_token_passes_nowhere(local: LocalSystem, role: str) -> None:
    # Given a person's ACCESS token (scope aws.cognito.signin.user.admin, Cognito's own)
    token = local.token(role, access=True)
    assert tokens.claims_of(token)["token_use"] == "access"
    # When it calls a route without scopes and a machine route
    person_route, machine_route = _call(local, UNSCOPED, token), _call(local, SCOPED, token)
    # Then both refuse it before any function runs, as API Gateway's Cognito authorizer does
    assert (person_route.status, person_route.json()["error"]["code"]) == (401, "invalid_token")
    assert (machine_route.status, machine_route.json()["error"]["code"]) == (401, "invalid_token")


def test_the_tills_access_token_passes_only_where_the_machine_scope_is_listed(local: LocalSystem) -> None:
    # Given the till's access token (client credentials, scope dangol/machine)
    token = local.token("machine")
    assert tokens.claims_of(token)["scope"] == MACHINE_SCOPE
    # When it calls a machine route and a person's route
    machine_route, person_route = _call(local, SCOPED, token), _call(local, UNSCOPED, token)
    # Then the machine route reaches the function (no such hold yet), the person's refuses it
    assert (machine_route.status, machine_route.json()["error"]["code"]) == (404, "hold_not_found")
    assert (person_route.status, person_route.json()["error"]["code"]) == (401, "invalid_token")


def test_an_access_token_without_the_routes_scope_is_refused(local: LocalSystem) -> None:
    # Given a validly signed machine-client access token whose scope is not the route's
    claims = {**tokens.claims_of(local.token("machine")), "scope": "aws.cognito.signin.user.admin"}
    # When it calls a machine route
    response = _call(local, SCOPED, tokens.sign(claims))
    # Then it is refused
    assert (response.status, response.json()["error"]["code"]) == (401, "invalid_token")


def test_an_access_token_of_an_unknown_client_is_refused(local: LocalSystem) -> None:
    # Given a validly signed access token with the machine scope, for a client the pool does not have
    claims = {**tokens.claims_of(local.token("machine")), "client_id": "someone-else", "sub": "someone-else"}
    # When it calls a machine route
    response = _call(local, SCOPED, tokens.sign(claims))
    # Then it is refused
    assert (response.status, response.json()["error"]["code"]) == (401, "invalid_token")


def test_unknown_paths_are_404_and_wrong_methods_405(local: LocalSystem) -> None:
    # Given a valid token
    token = local.token("admin")
    # When an undeclared path and an undeclared method are called
    missing = local.request("GET", "/nowhere", token=token)
    wrong = local.request("PUT", "/me", token=token)
    # Then both say so with a code, before any function runs
    assert (missing.status, missing.json()["error"]["code"]) == (404, "route_not_found")
    assert (wrong.status, wrong.json()["error"]["code"]) == (405, "method_not_allowed")
    assert "GET" in wrong.headers["Allow"]

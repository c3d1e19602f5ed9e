"""The local gateway checks tokens as API Gateway's Cognito authorizer does:
no function runs for a missing, expired or forged token."""

from __future__ import annotations

import pytest

from infra.topology import SYSTEM
from tests.e2e import tokens
from tests.e2e.conftest import LocalSystem


def concrete(path: str) -> str:
    return path.replace("{customer_id}", "cus_01M82AEKG51WJP0K379AYG4E2W")


@pytest.mark.parametrize("route", SYSTEM.routes, ids=lambda r: r.key)
def test_every_route_refuses_a_request_without_a_token(local: LocalSystem, route) -> None:
    # Given no Authorization header
    # When the route is called
    response = local.request(route.method, concrete(route.path), body={} if route.has_body else None)
    # Then it is 401 with a machine-readable code
    assert response.status == 401
    assert response.json()["error"]["code"] == "unauthorized"


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


def test_access_tokens_are_accepted_like_id_tokens(local: LocalSystem) -> None:
    # Given the customer's access token
    token = local.token("customer", access=True)
    # When it reads the profile
    response = local.request("GET", "/me", token=token)
    # Then the authorizer lets it through and the caller is the same customer
    assert response.status == 200
    assert response.json()["email"] == "minji@demo.dangol.dev"


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

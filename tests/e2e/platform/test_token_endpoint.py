"""A till gets its token as from a Cognito domain: ``POST /oauth2/token`` with the machine app
client's credentials (client credentials grant), Cognito's answer, claims and errors."""

from __future__ import annotations

import base64
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest

from shared.auth import MACHINE_SCOPE
from tests.e2e import tokens
from tests.e2e.conftest import HttpResponse, LocalSystem

FORM = "application/x-www-form-urlencoded"


def post_token(
    local: LocalSystem,
    form: dict[str, str],
    *,
    basic: tuple[str, str] | None = None,
    content_type: str = FORM,
    headers: dict[str, str] | None = None,
) -> HttpResponse:
    sent = {"Content-Type": content_type, **(headers or {})}
    if basic is not None:
        sent["Authorization"] = "Basic " + base64.b64encode(f"{basic[0]}:{basic[1]}".encode()).decode()
    request = urllib.request.Request(
        local.state["token_url"], data=urllib.parse.urlencode(form).encode(), method="POST", headers=sent
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return HttpResponse(response.status, dict(response.headers), response.read())
    except urllib.error.HTTPError as err:
        return HttpResponse(err.code, dict(err.headers), err.read())


def machine(local: LocalSystem) -> tuple[str, str]:
    state = local.state
    return state["machine_client_id"], state["machine_client_secret"]


def test_the_till_gets_an_access_token_with_cognitos_claims(local: LocalSystem) -> None:
    # Given the machine client's id and secret
    client_id, secret = machine(local)
    # When the till asks for a token by HTTP Basic
    response = post_token(local, {"grant_type": "client_credentials"}, basic=(client_id, secret))
    # Then it gets Cognito's answer, not cached, with the claims of a client-credentials token
    assert response.status == 200, response.body
    body = response.json()
    assert (body["token_type"], body["expires_in"]) == ("Bearer", 3600)
    assert response.headers["Cache-Control"] == "no-store"
    claims = tokens.claims_of(body["access_token"])
    assert set(claims) == {
        "sub",
        "token_use",
        "scope",
        "auth_time",
        "iss",
        "exp",
        "iat",
        "version",
        "jti",
        "client_id",
    }
    assert (claims["sub"], claims["client_id"], claims["token_use"]) == (client_id, client_id, "access")
    assert (claims["scope"], claims["version"]) == (MACHINE_SCOPE, 2)
    assert claims["iss"].endswith(local.state["pool_id"])
    assert claims["exp"] - claims["iat"] == 3600
    assert abs(claims["iat"] - time.time()) < 120


def test_the_credentials_may_come_as_form_fields_and_the_scope_be_named(local: LocalSystem) -> None:
    # Given the machine client's credentials as form fields, asking for the machine scope by name
    client_id, secret = machine(local)
    form = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
    # When the till asks for a token
    response = post_token(local, {**form, "scope": MACHINE_SCOPE})
    # Then it gets one with that scope
    assert response.status == 200, response.body
    assert tokens.claims_of(response.json()["access_token"])["scope"] == MACHINE_SCOPE


@pytest.mark.parametrize(
    ("case", "status", "error"),
    [
        ("wrong secret", 401, "invalid_client"),
        ("unknown client", 401, "invalid_client"),
        ("no credentials", 401, "invalid_client"),
        ("the app client (no secret)", 401, "invalid_client"),
        ("password grant", 400, "unsupported_grant_type"),
        ("no grant type", 400, "invalid_request"),
        ("a scope the client may not ask for", 400, "invalid_scope"),
        ("a JSON body", 400, "invalid_request"),
    ],
)
def test_what_cognito_refuses_is_refused_with_its_error(
    local: LocalSystem, case: str, status: int, error: str
) -> None:
    # Given a request for a token that is wrong in one way
    client_id, secret = machine(local)
    grant = {"grant_type": "client_credentials"}
    requests = {
        "wrong secret": lambda: post_token(local, grant, basic=(client_id, secret + "x")),
        "unknown client": lambda: post_token(local, grant, basic=("nobody", secret)),
        "no credentials": lambda: post_token(local, grant),
        "the app client (no secret)": lambda: post_token(
            local, {**grant, "client_id": local.state["client_id"]}
        ),
        "password grant": lambda: post_token(local, {"grant_type": "password"}, basic=(client_id, secret)),
        "no grant type": lambda: post_token(local, {}, basic=(client_id, secret)),
        "a scope the client may not ask for": lambda: post_token(
            local, {**grant, "scope": "aws.cognito.signin.user.admin"}, basic=(client_id, secret)
        ),
        "a JSON body": lambda: post_token(
            local, grant, basic=(client_id, secret), content_type="application/json"
        ),
    }
    # When it is sent
    response = requests[case]()
    # Then Cognito's error comes back, and no token
    assert (response.status, response.json()) == (status, {"error": error})


def test_the_token_endpoint_serves_no_browser(local: LocalSystem) -> None:
    # Given a valid request sent by a web page (it carries an Origin)
    client_id, secret = machine(local)
    # When it is sent
    response = post_token(
        local,
        {"grant_type": "client_credentials"},
        basic=(client_id, secret),
        headers={"Origin": "https://example.com"},
    )
    # Then it is refused, without any CORS header
    assert response.status == 403
    assert not any(h.lower().startswith("access-control-") for h in response.headers)

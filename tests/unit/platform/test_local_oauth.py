"""The local user pool's ``POST /oauth2/token`` answers the client-credentials grant as a Cognito
domain does: client authentication, the client's allowed flows and scopes, Cognito's errors, and
an access token with Cognito's claims signed by the pool's (moto's) key."""

from __future__ import annotations

import base64
import json
from typing import Any, NamedTuple
from urllib.parse import urlencode

import jwt
import pytest
from moto.utilities.utils import load_resource

from infra.local.oauth import TokenEndpoint
from shared.auth import MACHINE_SCOPE

POOL = "ap-northeast-2_local"
ISSUER = f"https://cognito-idp.ap-northeast-2.amazonaws.com/{POOL}"
MACHINE, SECRET = "machine-client", "s3cret/+value"
CLIENTS: dict[str, dict[str, Any]] = {
    MACHINE: {
        "ClientId": MACHINE,
        "ClientSecret": SECRET,
        "AllowedOAuthFlows": ["client_credentials"],
        "AllowedOAuthScopes": [MACHINE_SCOPE],
        "AllowedOAuthFlowsUserPoolClient": True,
    },
    "app-client": {"ClientId": "app-client"},  # the apps' client: no secret, no OAuth flows
    "other-secret": {"ClientId": "other-secret", "ClientSecret": "x", "AllowedOAuthFlows": ["code"]},
}


class FakeIdp:
    class exceptions:  # noqa: N801 - boto3's shape
        class ResourceNotFoundException(Exception):
            pass

    def describe_user_pool_client(self, *, UserPoolId: str, ClientId: str) -> dict[str, Any]:  # noqa: N803
        assert UserPoolId == POOL
        if ClientId not in CLIENTS:
            raise self.exceptions.ResourceNotFoundException(ClientId)
        return {"UserPoolClient": CLIENTS[ClientId]}


def endpoint() -> TokenEndpoint:
    return TokenEndpoint(FakeIdp(), POOL, ISSUER)


def basic(client_id: str, secret: str) -> tuple[str, str]:
    return "Authorization", "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def ask(
    form: dict[str, str],
    *,
    auth: tuple[str, str] | None = None,
    content_type: str = "application/x-www-form-urlencoded",
    method: str = "POST",
) -> tuple[int, dict[str, str], dict[str, Any]]:
    headers = [("Content-Type", content_type), *([auth] if auth else [])]
    status, answer_headers, body = endpoint().handle(method, headers, urlencode(form).encode())
    return status, dict(answer_headers), json.loads(body)


GRANT = {"grant_type": "client_credentials"}


def test_a_machine_client_gets_a_token_with_cognitos_client_credentials_claims() -> None:
    # Given the machine client's credentials by HTTP Basic
    auth = basic(MACHINE, SECRET)
    # When it asks for a token without naming a scope
    status, headers, body = ask(GRANT, auth=auth)
    # Then it gets Cognito's answer: a bearer token for an hour, never cached
    assert status == 200
    assert (body["token_type"], body["expires_in"]) == ("Bearer", 3600)
    assert headers["Cache-Control"] == "no-store"
    # And the token carries every scope the client may ask for and Cognito's claims, signed by moto's key
    public = jwt.PyJWKSet.from_dict(load_resource("cognitoidp/resources/jwks-public.json")).keys[0]
    claims = jwt.decode(body["access_token"], public.key, algorithms=["RS256"], issuer=ISSUER)
    assert claims["scope"] == MACHINE_SCOPE
    assert (claims["sub"], claims["client_id"], claims["token_use"], claims["version"]) == (
        MACHINE,
        MACHINE,
        "access",
        2,
    )
    assert claims["exp"] - claims["iat"] == 3600
    assert claims["auth_time"] == claims["iat"]
    assert claims["jti"]


def test_the_credentials_may_be_form_fields() -> None:
    # Given the machine client's credentials as form fields, naming its scope
    form = {**GRANT, "client_id": MACHINE, "client_secret": SECRET, "scope": MACHINE_SCOPE}
    # When it asks for a token
    status, _, body = ask(form)
    # Then it gets one
    assert status == 200
    assert "access_token" in body


class Case(NamedTuple):
    form: dict[str, str]
    auth: tuple[str, str] | None
    status: int
    error: str
    content_type: str = "application/x-www-form-urlencoded"
    method: str = "POST"


RIGHT = basic(MACHINE, SECRET)
CASES = {
    "wrong secret": Case(GRANT, basic(MACHINE, "wrong"), 401, "invalid_client"),
    "unknown client": Case(GRANT, basic("nobody", SECRET), 401, "invalid_client"),
    "no client authentication": Case(GRANT, None, 401, "invalid_client"),
    "a client without a secret": Case({**GRANT, "client_id": "app-client"}, None, 401, "invalid_client"),
    "not Basic": Case(GRANT, ("Authorization", "Bearer x"), 401, "invalid_client"),
    "Basic, not base64": Case(GRANT, ("Authorization", "Basic !!!"), 401, "invalid_client"),
    "two different client ids": Case({**GRANT, "client_id": "other"}, RIGHT, 400, "invalid_request"),
    "the flow is not the client's": Case(GRANT, basic("other-secret", "x"), 400, "unauthorized_client"),
    "another grant": Case({"grant_type": "authorization_code"}, RIGHT, 400, "unsupported_grant_type"),
    "no grant type": Case({}, RIGHT, 400, "invalid_request"),
    "a scope not allowed": Case(
        {**GRANT, "scope": "aws.cognito.signin.user.admin"}, RIGHT, 400, "invalid_scope"
    ),
    "an empty scope": Case({**GRANT, "scope": ""}, RIGHT, 400, "invalid_scope"),
    "not a form": Case(GRANT, RIGHT, 400, "invalid_request", content_type="application/json"),
    "GET": Case(GRANT, RIGHT, 405, "invalid_request", method="GET"),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_cognitos_errors(case: Case) -> None:
    # Given a token request that is wrong in one way
    # When it is sent
    status, headers, body = ask(case.form, auth=case.auth, content_type=case.content_type, method=case.method)
    # Then Cognito's error comes back with its status (401 asks for Basic), and no token
    assert (status, body) == (case.status, {"error": case.error})
    assert ("WWW-Authenticate" in headers) == (case.status == 401)

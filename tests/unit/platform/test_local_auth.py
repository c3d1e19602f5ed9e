"""The local gateway's authorizer takes the kind of token API Gateway's Cognito authorizer takes:
an ID token where a route lists no OAuth scopes, an access token carrying one of the route's
scopes where it lists some; anything else is 401 before a function runs."""

from __future__ import annotations

import time
from typing import Any

import jwt
import pytest
from moto.utilities.utils import load_resource

from infra.local.auth import TokenVerifier
from infra.local.oauth import moto_signing_key
from shared.auth import MACHINE_SCOPE
from shared.errors import Unauthorized

ISSUER = "https://cognito-idp.ap-northeast-2.amazonaws.com/ap-northeast-2_local"
APP, MACHINE = "app-client", "machine-client"
USER_SCOPE = "aws.cognito.signin.user.admin"


def signed(**claims: Any) -> str:
    key, kid = moto_signing_key()
    now = int(time.time())
    return jwt.encode(
        {"iss": ISSUER, "sub": "someone", "iat": now, "exp": now + 3600, **claims},
        key,
        algorithm="RS256",
        headers={"kid": kid},
    )


ID_TOKEN = {"token_use": "id", "aud": APP, "cognito:groups": ["customer"]}
PERSON_ACCESS = {"token_use": "access", "client_id": APP, "scope": USER_SCOPE}
MACHINE_ACCESS = {"token_use": "access", "client_id": MACHINE, "scope": MACHINE_SCOPE}


@pytest.fixture(scope="module")
def verifier() -> TokenVerifier:
    return TokenVerifier(
        load_resource("cognitoidp/resources/jwks-public.json"), issuer=ISSUER, client_ids=[APP, MACHINE]
    )


@pytest.mark.parametrize(
    ("token", "scopes", "accepted"),
    [
        pytest.param(ID_TOKEN, (), True, id="ID token, route without scopes"),
        pytest.param(ID_TOKEN, (MACHINE_SCOPE,), False, id="ID token, machine route"),
        pytest.param(PERSON_ACCESS, (), False, id="person's access token, route without scopes"),
        pytest.param(PERSON_ACCESS, (MACHINE_SCOPE,), False, id="person's access token, machine route"),
        pytest.param(MACHINE_ACCESS, (MACHINE_SCOPE,), True, id="machine access token, machine route"),
        pytest.param(MACHINE_ACCESS, (), False, id="machine access token, route without scopes"),
        pytest.param(
            {**MACHINE_ACCESS, "scope": f"{USER_SCOPE} {MACHINE_SCOPE}"},
            (MACHINE_SCOPE,),
            True,
            id="one of several scopes is the route's",
        ),
        pytest.param({**MACHINE_ACCESS, "scope": ""}, (MACHINE_SCOPE,), False, id="access token, no scope"),
        pytest.param({**MACHINE_ACCESS, "client_id": "x"}, (MACHINE_SCOPE,), False, id="unknown client"),
        pytest.param({**ID_TOKEN, "aud": "x"}, (), False, id="ID token for an unknown client"),
        pytest.param({**ID_TOKEN, "token_use": "refresh"}, (), False, id="neither id nor access"),
    ],
)
def test_each_kind_of_token_passes_only_the_routes_that_take_it(
    verifier: TokenVerifier, token: dict[str, Any], scopes: tuple[str, ...], accepted: bool
) -> None:
    # Given a validly signed token of one kind and a route's scopes
    authorization = f"Bearer {signed(**token)}"
    # When the authorizer checks it
    if accepted:
        claims = verifier.verify(authorization, scopes)
        # Then it passes with its claims
        assert claims["token_use"] == token["token_use"]
    else:
        # Then it is refused as an invalid token
        with pytest.raises(Unauthorized) as refused:
            verifier.verify(authorization, scopes)
        assert refused.value.code == "invalid_token"

"""Token checks as API Gateway's Cognito user-pool authorizer makes them.

Signature against the pool's JWKS (RS256), issuer, expiry (and not-before), then the token's
use, which depends on the route's OAuth scopes (``infra.openapi.scopes_of``), as there:

- a route without scopes takes an **ID token** (``token_use: id``) issued to one of the pool's
  app clients (``aud``); an access token is refused;
- a route with scopes takes an **access token** (``token_use: access``) of one of the pool's app
  clients (``client_id``) whose ``scope`` holds at least one of the route's scopes; an ID token,
  or a person's access token (Cognito's own scopes only), is refused.

A missing, expired, forged or wrong-kind token is refused (401) before any function runs. The
claims reach the function as API Gateway passes them: every value a string, ``cognito:groups``
joined by commas.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import jwt

from shared.errors import Unauthorized


class TokenVerifier:
    def __init__(
        self, jwks: dict[str, Any], *, issuer: str, client_ids: Iterable[str], leeway_s: int = 0
    ) -> None:
        self.keys = {key.key_id: key for key in jwt.PyJWKSet.from_dict(jwks).keys}
        self.issuer = issuer
        self.client_ids = frozenset(client_ids)
        self.leeway_s = leeway_s

    def verify(self, authorization: str | None, scopes: Sequence[str] = ()) -> dict[str, Any]:
        """The token's claims if the authorizer of a route with these OAuth scopes takes it."""
        if not authorization or not authorization.strip():
            raise Unauthorized("The Authorization header is missing.")
        token = authorization.strip()
        if token.lower().startswith("bearer "):
            token = token[7:].strip()
        try:
            header = jwt.get_unverified_header(token)
            key = self.keys.get(str(header.get("kid")))
            if key is None or header.get("alg") != "RS256":
                raise Unauthorized("The token was not signed by this user pool.", code="invalid_token")
            claims: dict[str, Any] = jwt.decode(
                token,
                key=key.key,
                algorithms=["RS256"],
                issuer=self.issuer,
                leeway=self.leeway_s,
                options={"verify_aud": False, "require": ["exp", "iss", "sub", "token_use"]},
            )
        except jwt.ExpiredSignatureError:
            raise Unauthorized("The token has expired.", code="token_expired") from None
        except jwt.PyJWTError:
            raise Unauthorized("The token is not valid.", code="invalid_token") from None
        use = claims.get("token_use")
        if scopes:
            if use != "access":
                raise Unauthorized("This route takes an access token with its scope.", code="invalid_token")
            granted = str(claims.get("scope") or "").split()
            if not set(granted) & set(scopes):
                raise Unauthorized("The token does not carry this route's scope.", code="invalid_token")
            client = claims.get("client_id")
        else:
            if use != "id":
                raise Unauthorized("This route takes an ID token.", code="invalid_token")
            client = claims.get("aud")
        if client not in self.client_ids:
            raise Unauthorized("The token was not issued to a known app client.", code="invalid_token")
        return claims


def as_api_gateway_claims(claims: dict[str, Any]) -> dict[str, str]:
    """Claims the way a REST API's Cognito authorizer hands them to the function."""
    out: dict[str, str] = {}
    for name, value in claims.items():
        if isinstance(value, list | tuple):
            out[name] = ",".join(str(v) for v in value)
        elif isinstance(value, bool):
            out[name] = "true" if value else "false"
        else:
            out[name] = str(value)
    return out

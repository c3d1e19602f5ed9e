"""Token checks as API Gateway's Cognito user-pool authorizer makes them.

Signature against the pool's JWKS (RS256), issuer, expiry (and not-before),
token use (id or access) and audience/client: a missing, expired or forged
token is refused before any function runs. The claims reach the function as
API Gateway passes them: every value a string, ``cognito:groups`` joined by commas.
"""

from __future__ import annotations

from collections.abc import Iterable
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

    def verify(self, authorization: str | None) -> dict[str, Any]:
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
        client = claims.get("aud") if use == "id" else claims.get("client_id")
        if use not in {"id", "access"} or client not in self.client_ids:
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

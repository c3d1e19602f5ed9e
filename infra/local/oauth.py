"""``POST /oauth2/token`` of the local user pool, as a Cognito domain serves it for the
client-credentials grant (moto serves no token endpoint).

A till (the machine app client) authenticates with its id and secret, by HTTP Basic or as the
form fields ``client_id`` and ``client_secret``, and asks for ``grant_type=client_credentials``
and optionally ``scope`` (space-separated; without it, every scope the client may ask for). The
answer is Cognito's: ``{"access_token", "expires_in": 3600, "token_type": "Bearer"}``, the token
signed with moto's pool key (the JWKS the gateway verifies with) and carrying Cognito's claims
for that grant: ``sub`` and ``client_id`` (the client), ``token_use: access``, ``scope``,
``auth_time``, ``iss``, ``exp``, ``iat``, ``version: 2``, ``jti``. Errors are Cognito's:
``invalid_request`` (400), ``invalid_client`` (401), ``unauthorized_client`` (400),
``unsupported_grant_type`` (400) and ``invalid_scope`` (400), as ``{"error": "..."}``.

What the client may do is read from the pool itself (``DescribeUserPoolClient`` on moto): its
secret, ``AllowedOAuthFlows`` and ``AllowedOAuthScopes``, as Cognito reads its configuration.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import time
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

import jwt
from moto.utilities.utils import load_resource

TOKEN_PATH = "/oauth2/token"  # noqa: S105 - a path
LIFETIME_S = 3600  # Cognito's default access-token validity
FORM = "application/x-www-form-urlencoded"
HEADERS = [
    ("Content-Type", "application/json;charset=UTF-8"),
    ("Cache-Control", "no-store"),
    ("Pragma", "no-cache"),
]

Answer = tuple[int, list[tuple[str, str]], bytes]


class OAuthError(Exception):
    def __init__(self, status: int, error: str) -> None:
        super().__init__(error)
        self.status = status
        self.error = error


def moto_signing_key() -> tuple[Any, str]:
    """moto signs the tokens of every pool with one fixed key: (private key, key id)."""
    jwk = jwt.PyJWK.from_dict(load_resource("cognitoidp/resources/jwks-private.json"))
    return jwk.key, str(jwk.key_id)


@dataclass
class TokenEndpoint:
    idp: Any  # a cognito-idp client on moto
    pool_id: str
    issuer: str
    lifetime_s: int = LIFETIME_S

    def __post_init__(self) -> None:
        self.key, self.kid = moto_signing_key()

    def handle(self, method: str, headers: list[tuple[str, str]], body: bytes) -> Answer:
        try:
            if method != "POST":
                return self._answer(405, {"error": "invalid_request"}, [("Allow", "POST")])
            token, _ = self.issue(headers, body)
        except OAuthError as exc:
            extra = [("WWW-Authenticate", 'Basic realm="dangol"')] if exc.status == 401 else []
            return self._answer(exc.status, {"error": exc.error}, extra)
        return self._answer(
            200, {"access_token": token, "expires_in": self.lifetime_s, "token_type": "Bearer"}
        )

    def issue(self, headers: list[tuple[str, str]], body: bytes) -> tuple[str, list[str]]:
        """Check the request as Cognito does and sign the access token; returns it and its scopes."""
        content_type = _header(headers, "content-type") or ""
        if content_type.split(";", 1)[0].strip().lower() != FORM:
            raise OAuthError(400, "invalid_request")
        try:
            form = parse_qs(body.decode("utf-8"), keep_blank_values=True)
        except UnicodeDecodeError:
            raise OAuthError(400, "invalid_request") from None
        if any(len(values) > 1 for values in form.values()):
            raise OAuthError(400, "invalid_request")
        fields = {k: v[0] for k, v in form.items()}
        grant = fields.get("grant_type")
        if not grant:
            raise OAuthError(400, "invalid_request")
        if grant != "client_credentials":  # the hosted UI's grants (code, refresh) are not served locally
            raise OAuthError(400, "unsupported_grant_type")
        client_id, secret = self._credentials(headers, fields)
        client = self._client(client_id)
        if not client.get("ClientSecret") or not hmac.compare_digest(
            str(client["ClientSecret"]).encode(), secret.encode()
        ):
            raise OAuthError(401, "invalid_client")
        if "client_credentials" not in client.get("AllowedOAuthFlows", []) or not client.get(
            "AllowedOAuthFlowsUserPoolClient", False
        ):
            raise OAuthError(400, "unauthorized_client")
        allowed = [str(s) for s in client.get("AllowedOAuthScopes", [])]
        asked = fields.get("scope")
        scopes = list(dict.fromkeys(asked.split())) if asked is not None else allowed
        if not scopes or any(s not in allowed for s in scopes):
            raise OAuthError(400, "invalid_scope")
        return self.sign(client_id, scopes), scopes

    def sign(self, client_id: str, scopes: list[str]) -> str:
        now = int(time.time())
        claims = {
            "sub": client_id,
            "token_use": "access",
            "scope": " ".join(scopes),
            "auth_time": now,
            "iss": self.issuer,
            "exp": now + self.lifetime_s,
            "iat": now,
            "version": 2,
            "jti": str(uuid.uuid4()),
            "client_id": client_id,
        }
        return jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": self.kid})

    @staticmethod
    def _credentials(headers: list[tuple[str, str]], fields: dict[str, str]) -> tuple[str, str]:
        """HTTP Basic (``client_id:client_secret``; Cognito's ids and secrets need no encoding) or
        the form's fields."""
        authorization = (_header(headers, "authorization") or "").strip()
        if authorization:
            scheme, _, encoded = authorization.partition(" ")
            if scheme.lower() != "basic":
                raise OAuthError(401, "invalid_client")
            try:
                decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                raise OAuthError(401, "invalid_client") from None
            client_id, colon, secret = decoded.partition(":")
            if not colon:
                raise OAuthError(401, "invalid_client")
            if fields.get("client_id", client_id) != client_id or "client_secret" in fields:
                raise OAuthError(400, "invalid_request")  # two different authentications
            return client_id, secret
        if "client_id" not in fields:
            raise OAuthError(401, "invalid_client")
        return fields["client_id"], fields.get("client_secret", "")

    def _client(self, client_id: str) -> dict[str, Any]:
        if not client_id:
            raise OAuthError(401, "invalid_client")
        try:
            found = self.idp.describe_user_pool_client(UserPoolId=self.pool_id, ClientId=client_id)
        except self.idp.exceptions.ResourceNotFoundException:
            raise OAuthError(401, "invalid_client") from None
        return dict(found["UserPoolClient"])

    @staticmethod
    def _answer(status: int, payload: dict[str, Any], extra: list[tuple[str, str]] | None = None) -> Answer:
        return status, [*HEADERS, *(extra or [])], json.dumps(payload).encode()


def _header(headers: list[tuple[str, str]], name: str) -> str | None:
    return next((v for k, v in headers if k.lower() == name), None)

"""Tokens the authorizer must refuse, made with moto's own signing key or a stranger's."""

from __future__ import annotations

import time
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from moto.utilities.utils import load_resource


def moto_signing_key() -> Any:
    """moto signs every pool's tokens with one fixed key; a test may use it to make valid-looking ones."""
    return jwt.PyJWK.from_dict(load_resource("cognitoidp/resources/jwks-private.json")).key


def claims_of(token: str) -> dict[str, Any]:
    return dict(jwt.decode(token, options={"verify_signature": False}))


def sign(claims: dict[str, Any], *, key: Any | None = None, kid: str = "dummy") -> str:
    return jwt.encode(claims, key or moto_signing_key(), algorithm="RS256", headers={"kid": kid})


def stranger_key() -> Any:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def expired(claims: dict[str, Any]) -> dict[str, Any]:
    now = int(time.time())
    return {**claims, "iat": now - 7200, "exp": now - 3600}

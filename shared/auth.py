"""Who is calling: the caller built from the Cognito claims API Gateway passes on.

API Gateway's Cognito authorizer has already verified the token; what reaches
the function is ``requestContext.authorizer.claims``, every value a string.
``cognito:groups`` arrives in several encodings depending on the integration
("a", "a,b", "[a b]", a JSON list, or a real list in tests); all are accepted.
Machine clients (store and POS systems) authenticate with the client-credentials
flow: they carry no groups but a resource-server scope, which maps to ``machine``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from shared.errors import Unauthorized

MACHINE_SCOPE = "dangol/machine"


class Role(StrEnum):
    CUSTOMER = "customer"
    MARKETING = "marketing"
    AGENT = "agent"
    ADMIN = "admin"
    MACHINE = "machine"


STAFF: frozenset[Role] = frozenset({Role.MARKETING, Role.AGENT, Role.ADMIN})


def parse_groups(raw: Any) -> tuple[str, ...]:
    """Every encoding of ``cognito:groups`` API Gateway (or a test) may hand us."""
    if raw is None:
        return ()
    if isinstance(raw, list | tuple):
        return tuple(str(g).strip() for g in raw if str(g).strip())
    text = str(raw).strip()
    if not text:
        return ()
    if text.startswith("[") and text.endswith("]"):
        try:
            decoded = json.loads(text)
        except ValueError:
            decoded = None
        if isinstance(decoded, list) and all(isinstance(g, str) for g in decoded):
            return parse_groups(decoded)
        text = text[1:-1]
    parts = text.replace(",", " ").split()
    return tuple(p for p in parts if p)


def _roles(groups: Iterable[str], scopes: Iterable[str]) -> frozenset[Role]:
    known = {r.value: r for r in Role}
    roles = {known[g.lower()] for g in groups if g.lower() in known}
    if MACHINE_SCOPE in scopes:
        roles.add(Role.MACHINE)
    return frozenset(roles)


@dataclass(frozen=True, slots=True)
class Caller:
    """An authenticated principal. ``subject`` is the Cognito ``sub`` (or client id)."""

    subject: str
    roles: frozenset[Role]
    client_id: str | None = None

    @classmethod
    def from_claims(cls, claims: Mapping[str, Any] | None) -> Caller:
        if not claims:
            raise Unauthorized()
        subject = str(claims.get("sub") or "").strip()
        if not subject:
            raise Unauthorized("The token has no subject.", code="invalid_token")
        scopes = str(claims.get("scope") or "").split()
        client_id = claims.get("client_id") or claims.get("aud")
        return cls(
            subject=subject,
            roles=_roles(parse_groups(claims.get("cognito:groups")), scopes),
            client_id=str(client_id) if client_id else None,
        )

    @classmethod
    def from_event(cls, event: Mapping[str, Any]) -> Caller:
        context = event.get("requestContext") or {}
        authorizer = context.get("authorizer") or {}
        return cls.from_claims(authorizer.get("claims"))

    def has_any(self, allowed: Iterable[Role]) -> bool:
        return not self.roles.isdisjoint(allowed)

    @property
    def is_staff(self) -> bool:
        return self.has_any(STAFF)

"""Who is calling: the caller built from the Cognito claims API Gateway passes on.

API Gateway's Cognito authorizer has already verified the token; what reaches the function is
``requestContext.authorizer.claims``, every value a string. The authorizer takes an **ID token**
on a route that lists no OAuth scopes and an **access token** with a listed scope on a route that
does (only machine routes list one, ``dangol/machine``). So, as there:

- a person (customer, marketing, agent, admin) is an ID token (``token_use: id``) and their roles
  are their groups, matched exactly by name; ``cognito:groups`` arrives as "a,b" from a REST API
  (or "[a b]", a JSON list, or a real list from other integrations and tests);
- a machine (a till, a store system) is an access token of the client-credentials flow that
  carries the resource-server scope ``dangol/machine``; only the machine app client may ask for
  that scope (the pool's configuration, pinned by a template test), so the role is bound to it.

An access token never makes a person's role and an ID token never makes a machine.
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
# Who may see one customer's personal data (contact details, purchases, points, contacts): those who
# serve customers one by one. Marketing works with segments and counts, never a person's details.
CARE: frozenset[Role] = frozenset({Role.AGENT, Role.ADMIN})


def parse_groups(raw: Any) -> tuple[str, ...]:
    """Every encoding of ``cognito:groups`` API Gateway (or a test) may hand us: "a,b" (REST),
    "[a b]" (HTTP APIs; group names hold no spaces), a JSON list, a list. Names are kept as they are."""
    if raw is None:
        return ()
    if isinstance(raw, list | tuple):
        return tuple(str(g) for g in raw if str(g))
    text = str(raw)
    if text.startswith("[") and text.endswith("]"):
        try:
            decoded = json.loads(text)
        except ValueError:
            decoded = None
        if isinstance(decoded, list) and all(isinstance(g, str) for g in decoded):
            return parse_groups(decoded)
        return tuple(p for p in text[1:-1].split(" ") if p)
    return tuple(p for p in text.split(",") if p)


HUMAN_ROLES = {r.value: r for r in Role if r is not Role.MACHINE}


def _human_roles(groups: Iterable[str]) -> frozenset[Role]:
    """The roles of a person's groups: exactly our role names (``Admin`` or ``x admin`` are none)."""
    return frozenset(HUMAN_ROLES[g] for g in groups if g in HUMAN_ROLES)


def _text(value: Any) -> str | None:
    return str(value) if value else None


@dataclass(frozen=True, slots=True)
class Caller:
    """An authenticated principal. ``subject`` is the Cognito ``sub`` (or client id). A person's
    ``username`` (``cognito:username``), ``email`` and ``issuer`` (the pool's URL) come from their
    ID token: what erasure needs to reach the login, and sign-up to recognise a returning person."""

    subject: str
    roles: frozenset[Role]
    client_id: str | None = None
    username: str | None = None
    email: str | None = None
    issuer: str | None = None

    @classmethod
    def from_claims(cls, claims: Mapping[str, Any] | None) -> Caller:
        if not claims:
            raise Unauthorized()
        subject = str(claims.get("sub") or "").strip()
        if not subject:
            raise Unauthorized("The token has no subject.", code="invalid_token")
        use = claims.get("token_use")
        issuer = _text(claims.get("iss"))
        if use == "id":
            return cls(
                subject=subject,
                roles=_human_roles(parse_groups(claims.get("cognito:groups"))),
                client_id=_text(claims.get("aud")),
                username=_text(claims.get("cognito:username")),
                email=_text(claims.get("email")),
                issuer=issuer,
            )
        if use == "access":
            scopes = str(claims.get("scope") or "").split()
            roles = frozenset({Role.MACHINE}) if MACHINE_SCOPE in scopes else frozenset()
            return cls(subject=subject, roles=roles, client_id=_text(claims.get("client_id")), issuer=issuer)
        raise Unauthorized("The token is neither an ID nor an access token.", code="invalid_token")

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

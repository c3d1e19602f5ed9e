"""Customer presence at the counter: a short-lived member code the customer's app shows.

A till holds points or redeems a coupon only with a code the customer's app made moments before:
bound to the customer, valid ``VALID`` (a few minutes), and good for one checkout: its first use
binds it to the till's client and the order, and only that client may use it again, for that order
(a hold and a coupon in the same checkout, or a retried request). A bare customer id shows nothing.
The code is stored only as a digest, so the table holds nothing a reader could present.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Protocol

from services.rewards.models.presence import MemberAtCounter, MemberCode
from shared.errors import Conflict, Forbidden

VALID = timedelta(minutes=5)
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford: no I, L, O, U to misread
LENGTH = 10  # 50 bits: a guess among a million live codes succeeds once in a billion tries
QR_PREFIX = "dangol:member:"


class CodeStore(Protocol):
    def create(self, digest: str, customer_id: str, *, expires_at: datetime) -> None: ...

    def find(self, digest: str) -> tuple[str, datetime] | None: ...

    def bind(self, digest: str, customer_id: str, *, client: str, order_id: str, now: datetime) -> bool: ...


def new_code() -> str:
    raw = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
    return f"{raw[:5]}-{raw[5:]}"


def digest(code: str) -> str:
    """How a code is stored and found: case and the dash do not matter (O and I read as 0 and 1)."""
    normal = code.replace("-", "").strip().upper().translate(str.maketrans("OIL", "011"))
    return hashlib.sha256(normal.encode()).hexdigest()


def _invalid() -> Forbidden:
    return Forbidden(
        "The member code is unknown, expired or another customer's; ask for a fresh one.",
        code="member_code_invalid",
    )


def issue(
    store: CodeStore, customer_id: str, *, now: datetime, make: Callable[[], str] = new_code
) -> MemberCode:
    code = make()
    store.create(digest(code), customer_id, expires_at=now + VALID)
    return MemberCode(code=code, qr=QR_PREFIX + code, expires_at=now + VALID)


def who(store: CodeStore, code: str, *, now: datetime) -> MemberAtCounter:
    """The customer a live code shows (403 ``member_code_invalid`` otherwise); nothing is used."""
    found = store.find(digest(code))
    if found is None or found[1] <= now:
        raise _invalid()
    return MemberAtCounter(customer_id=found[0], expires_at=found[1])


def present(
    store: CodeStore, code: str, customer_id: str, *, client: str, order_id: str, now: datetime
) -> None:
    """Show that ``customer_id`` is at this till for this order, or refuse: 403
    ``member_code_invalid`` (unknown, expired, another customer's), 409 ``member_code_used`` (it
    served another checkout)."""
    found = store.find(digest(code))
    if found is None or found[0] != customer_id or found[1] <= now:
        raise _invalid()
    if not store.bind(digest(code), customer_id, client=client, order_id=order_id, now=now):
        raise Conflict(
            "The member code was used for another checkout; ask for a fresh one.", code="member_code_used"
        )

"""The customer's rights over their data: a complete export, and erasure everywhere.

Erasure deletes the profile and everything in the customer's partition, publishes
``CustomerErased`` so the other services do the same for their own records (see
``services.profile.dal.privacy``), and deletes the login from the user pool, e-mail and all:
deleted rather than disabled and stripped, because a disabled login still holds its username and
sub, still counts against the pool, and would need a second process to delete it later. Before it
goes, a keyed digest of its e-mail is kept, so the same person signing up again is recognised as
returning (a new customer, without a second sign-up bonus). It is idempotent: erasing again
finishes an interrupted erasure and is 404 once nothing is left.
"""

from __future__ import annotations

import hashlib
import hmac
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol

from services.profile.models.privacy import AlreadyErased, CustomerExport, ForgetLogin, ProfileChanged
from shared.clock import Clock
from shared.dynamo import Item
from shared.errors import Conflict, Forbidden, NotFound

ERASE_ATTEMPTS = 5


class PrivacyStore(Protocol):
    """What export and erasure need of the store (``dal.privacy.DynamoPrivacyStore``)."""

    def partition(self, customer_id: str) -> list[Item]: ...
    def export_record(self, item: Item) -> dict[str, Any]: ...
    def erase(
        self,
        customer_id: str,
        *,
        by: Literal["customer", "admin"],
        at: datetime,
        forget_login: ForgetLogin | None = None,
    ) -> None: ...
    def remember_erased_login(self, subject: str, email_digest: str | None, *, at: datetime) -> None: ...
    def login_erased(self, subject: str) -> bool: ...
    def returning(self, email_digest: str) -> bool: ...


class Logins(Protocol):
    def email_of(self, pool_id: str, username: str) -> str | None: ...

    def delete(self, pool_id: str, username: str) -> bool: ...


@dataclass(frozen=True)
class LoginErasure:
    """How erasure reaches the login: the pool (the one that issued the caller's token: customers
    and staff share it) and the key of the e-mail digests, read when it is needed."""

    logins: Logins
    pool_id: str
    pepper: Callable[[], str]


def login_digest(pepper: str, email: str) -> str:
    """A keyed digest of a login's e-mail (case and surrounding spaces ignored)."""
    return hmac.new(pepper.encode(), email.strip().lower().encode(), hashlib.sha256).hexdigest()


def usable_login(store: PrivacyStore, subject: str) -> None:
    """403 ``login_erased`` for a token of an erased login (tokens live up to an hour after)."""
    if store.login_erased(subject):
        raise Forbidden("This login was erased.", code="login_erased")


def returning(store: PrivacyStore, email: str | None, pepper: Callable[[], str]) -> bool:
    """Whether a login with this e-mail was erased before (the same person, signing up again)."""
    return bool(email) and store.returning(login_digest(pepper(), str(email)))


def _gone() -> NotFound:
    return NotFound("No profile exists for this customer.", code="profile_not_found")


def export(store: PrivacyStore, customer_id: str, *, clock: Clock) -> CustomerExport:
    items = store.partition(customer_id)
    profile = next((i for i in items if i.get("type") == "profile"), None)
    if profile is None:
        raise _gone()
    records: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for item in items:
        kind = str(item.get("type") or "other")
        if item is not profile:
            records[kind].append(store.export_record(item))
    return CustomerExport(
        customer_id=customer_id,
        exported_at=clock(),
        profile=store.export_record(profile),
        records=dict(sorted(records.items())),
    )


def erase(
    store: PrivacyStore,
    customer_id: str,
    *,
    by: Literal["customer", "admin"],
    clock: Clock,
    login: LoginErasure | None = None,
) -> None:
    """Erase the customer's data, then their login (``login``: None for a customer who has none
    to reach, e.g. one erased by a job that holds no caller's token)."""

    def forget_login(subject: str, username: str | None) -> None:
        if login is None:
            return
        name = username or subject  # a pool signing in by e-mail takes the sub as a username
        email = login.logins.email_of(login.pool_id, name)
        digest = login_digest(login.pepper(), email) if email else None
        store.remember_erased_login(subject, digest, at=clock())
        login.logins.delete(login.pool_id, name)

    for _ in range(ERASE_ATTEMPTS):
        try:
            store.erase(customer_id, by=by, at=clock(), forget_login=forget_login)
            return
        except (LookupError, AlreadyErased):
            raise _gone() from None
        except ProfileChanged:
            continue
    raise Conflict("The profile kept changing; retry the erasure.", code="concurrent_update")

"""Staff's contact log and dedicated managers. No boto3 here: the store, the clock and the id
factory are passed in.

- Recording a contact needs the customer to exist (404 ``profile_not_found``); the caller
  (staff) is its ``recorded_by``. A replay with the same ``Idempotency-Key`` returns the first
  response (the route's idempotency), so a retried POST records one contact.
- The log sorts by when contacts happened (back-dated ones in their place), then by when
  they were recorded.
- Assigning a manager is a PUT: assigning the same one again changes nothing. Removing the
  manager of a customer without one is not an error (DELETE is idempotent).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from services.profile.models.crm import (
    Contact,
    ContactCreate,
    CustomerNotFound,
    ManagedCustomer,
    ManagerAssignment,
)
from shared.clock import Clock
from shared.dynamo import Key
from shared.errors import NotFound


class ContactStore(Protocol):
    def exists(self, customer_id: str) -> bool: ...
    def add(self, contact: Contact) -> None: ...
    def contacts(
        self, customer_id: str, *, limit: int, start: Key | None = None
    ) -> tuple[list[Contact], Key | None]: ...
    def assign(self, customer_id: str, manager_id: str, *, by: str, at: datetime) -> ManagerAssignment: ...
    def unassign(self, customer_id: str) -> None: ...
    def managed_by(
        self, manager_id: str, *, limit: int, start: Key | None = None
    ) -> tuple[list[ManagedCustomer], Key | None]: ...


def _no_profile() -> NotFound:
    return NotFound("No profile exists for this customer.", code="profile_not_found")


def record(
    store: ContactStore,
    customer_id: str,
    data: ContactCreate,
    *,
    by: str,
    clock: Clock,
    new_id: Callable[[], str],
) -> Contact:
    now = clock()
    occurred = data.occurred_at or now
    contact = Contact(
        contact_id=new_id(),
        customer_id=customer_id,
        channel=data.channel,
        direction=data.direction,
        outcome=data.outcome,
        note=data.note,
        occurred_at=occurred,
        recorded_by=by,
        recorded_at=now,
    )
    try:
        store.add(contact)
    except CustomerNotFound:
        raise _no_profile() from None
    return contact


def contacts(
    store: ContactStore, customer_id: str, *, limit: int, start: Key | None
) -> tuple[list[Contact], Key | None]:
    if not store.exists(customer_id):
        raise _no_profile()
    return store.contacts(customer_id, limit=limit, start=start)


def assign_manager(
    store: ContactStore, customer_id: str, manager_id: str, *, by: str, clock: Clock
) -> ManagerAssignment:
    try:
        return store.assign(customer_id, manager_id, by=by, at=clock())
    except CustomerNotFound:
        raise _no_profile() from None


def unassign_manager(store: ContactStore, customer_id: str) -> None:
    try:
        store.unassign(customer_id)
    except CustomerNotFound:
        raise _no_profile() from None


def managed_by(
    store: ContactStore, manager_id: str, *, limit: int, start: Key | None
) -> tuple[list[ManagedCustomer], Key | None]:
    return store.managed_by(manager_id, limit=limit, start=start)

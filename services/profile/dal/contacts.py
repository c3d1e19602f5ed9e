"""The contact log and dedicated managers in the profiles table.

- ``CUSTOMER#<id> / CONTACT#<occurred_at>#<ulid>`` (``type=contact``): one contact, keyed by
  when it happened (UTC, to the second) and then by its id (a ULID: when it was recorded), so
  a query of the customer's partition backwards lists contacts newest first, back-dated ones
  in their place and contacts of the same second in the order they were recorded. The entry
  is written in a transaction with a check that the profile exists, so a contact can never
  land in the partition of a customer who does not exist or was just erased.
- ``manager_id``, ``manager_assigned_at`` and ``manager_assigned_by`` on the customer's
  ``PROFILE`` item: ``manager_id`` is the partition key of the sparse ``by-manager`` index
  (sorted by ``customer_id``). Assigning or removing a manager is CRM bookkeeping, not a change
  of the customer's profile: it does not move the profile's ``version`` (a customer's If-Match
  stays valid) and publishes no event. Only the current assignment is kept.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from services.profile.dal.keys import PK, SK, profile_key
from services.profile.models.crm import Contact, CustomerNotFound, ManagedCustomer, ManagerAssignment
from services.profile.topology import BY_MANAGER
from shared.clock import iso
from shared.dynamo import ConditionFailed, DynamoTable, Item, Key, transact_write

CONTACT_PREFIX = "CONTACT#"
_MANAGER = BY_MANAGER.partition_key.name


def contact_key(contact: Contact) -> Key:
    sort = f"{CONTACT_PREFIX}{iso(contact.occurred_at)}#{contact.contact_id.removeprefix('con_')}"
    return {PK: profile_key(contact.customer_id)[PK], SK: sort}


def _contact_item(contact: Contact) -> Item:
    item: Item = {
        **contact_key(contact),
        "type": "contact",
        **contact.model_dump(mode="json", exclude_none=True),
    }
    item["occurred_at"] = iso(contact.occurred_at)
    item["recorded_at"] = iso(contact.recorded_at)
    return item


def _contact(item: Item) -> Contact:
    return Contact.model_validate({k: v for k, v in item.items() if k not in {PK, SK, "type"}})


class DynamoContactStore:
    def __init__(self, table: DynamoTable) -> None:
        self.table = table

    # -- the contact log ---------------------------------------------------------------------

    def exists(self, customer_id: str) -> bool:
        return self.table.get(profile_key(customer_id)) is not None

    def add(self, contact: Contact) -> None:
        """Record a contact of an existing customer (else CustomerNotFound)."""
        exists = {"condition": "attribute_exists(#pk)", "names": {"#pk": PK}}
        try:
            transact_write(
                self.table.client,
                [
                    {"ConditionCheck": self.table.delete_op(profile_key(contact.customer_id), **exists)},  # type: ignore[arg-type]
                    {
                        "Put": self.table.put_op(
                            _contact_item(contact), condition="attribute_not_exists(#pk)", names={"#pk": PK}
                        )
                    },
                ],
            )
        except ConditionFailed as exc:
            if exc.reasons and exc.reasons[0] != "ConditionalCheckFailed":
                raise  # the contact id was taken: a ULID collision, not a missing customer
            raise CustomerNotFound(contact.customer_id) from exc

    def contacts(
        self, customer_id: str, *, limit: int, start: Key | None = None
    ) -> tuple[list[Contact], Key | None]:
        """A page of the customer's contacts, newest first."""
        page = self.table.query(
            "#pk = :pk AND begins_with(#sk, :prefix)",
            names={"#pk": PK, "#sk": SK},
            values={":pk": profile_key(customer_id)[PK], ":prefix": CONTACT_PREFIX},
            forward=False,
            limit=limit,
            start_key=start,
        )
        return [_contact(i) for i in page.items], page.last_key

    # -- dedicated managers ------------------------------------------------------------------

    def assign(self, customer_id: str, manager_id: str, *, by: str, at: datetime) -> ManagerAssignment:
        """Make ``manager_id`` the customer's manager. Assigning the one already assigned changes
        nothing (its first assignment stays). CustomerNotFound if there is no such profile."""
        try:
            item = self.table.update(
                profile_key(customer_id),
                "SET #m = :m, manager_assigned_at = :at, manager_assigned_by = :by",
                condition="attribute_exists(#pk) AND (attribute_not_exists(#m) OR #m <> :m)",
                names={"#pk": PK, "#m": _MANAGER},
                values={":m": manager_id, ":at": iso(at), ":by": by},
            )
        except ConditionFailed:
            item = self.table.get(profile_key(customer_id)) or {}
            if item.get(_MANAGER) != manager_id:
                raise CustomerNotFound(customer_id) from None
        return _assignment(item)

    def unassign(self, customer_id: str) -> None:
        """Remove the customer's manager, if any (CustomerNotFound if there is no such profile)."""
        try:
            self.table.update(
                profile_key(customer_id),
                "REMOVE #m, manager_assigned_at, manager_assigned_by",
                condition="attribute_exists(#pk)",
                names={"#pk": PK, "#m": _MANAGER},
            )
        except ConditionFailed:
            raise CustomerNotFound(customer_id) from None

    def managed_by(
        self, manager_id: str, *, limit: int, start: Key | None = None
    ) -> tuple[list[ManagedCustomer], Key | None]:
        """A page of the manager's customers (by customer id), through the by-manager index."""
        page = self.table.query(
            "#m = :m",
            names={"#m": _MANAGER},
            values={":m": manager_id},
            index=BY_MANAGER.name,
            limit=limit,
            start_key=start,
        )
        keys = [{PK: i[PK], SK: i[SK]} for i in page.items]
        found = {str(i["customer_id"]): i for i in (self.table.batch_get(keys) if keys else [])}
        customers = []
        for entry in page.items:
            item = found.get(str(entry["customer_id"]))
            # The index lags its table a moment: a profile erased or handed to another manager
            # since is left out.
            if item is not None and item.get(_MANAGER) == manager_id:
                customers.append(ManagedCustomer.model_validate(_summary(item)))
        return customers, page.last_key


def _summary(item: Item) -> dict[str, Any]:
    fields = ManagedCustomer.model_fields
    return {k: v for k, v in item.items() if k in fields}


def _assignment(item: Item) -> ManagerAssignment:
    return ManagerAssignment(
        customer_id=str(item["customer_id"]),
        manager_id=str(item[_MANAGER]),
        assigned_at=item["manager_assigned_at"],
        assigned_by=str(item["manager_assigned_by"]),
    )

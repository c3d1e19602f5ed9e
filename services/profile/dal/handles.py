"""Social-handle claims: ``HANDLE#<network>#<handle> / HANDLE`` -> the customer who linked it.

A claim is written and deleted only in a transaction that changes its customer's profile (the
profile's ``social_handles`` and the claims always agree: ``dal.profiles``), and deleted by erasure
in the transaction that deletes the profile (``dal.privacy``). Readers find a customer from a handle
with one GetItem, or many with one BatchGetItem (100 keys a call).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from services.profile.dal.keys import PK, handle_key
from shared.clock import iso
from shared.dynamo import DynamoTable, Item

HANDLE_TYPE = "handle"


def claim_item(network: str, handle: str, customer_id: str, at: datetime) -> Item:
    return {
        **handle_key(network, handle),
        "type": HANDLE_TYPE,
        "network": network,
        "handle": handle,
        "customer_id": customer_id,
        "linked_at": iso(at),
    }


def claim_op(table: DynamoTable, network: str, handle: str, customer_id: str, at: datetime) -> dict[str, Any]:
    """Put the claim unless another customer holds it (the customer's own is rewritten)."""
    return {
        "Put": table.put_op(
            claim_item(network, handle, customer_id, at),
            condition="attribute_not_exists(#pk) OR customer_id = :me",
            names={"#pk": PK},
            values={":me": customer_id},
        )
    }


def release_op(table: DynamoTable, network: str, handle: str, customer_id: str) -> dict[str, Any]:
    """Delete the claim if it is the customer's (or already gone): never another customer's."""
    return {
        "Delete": table.delete_op(
            handle_key(network, handle),
            condition="attribute_not_exists(#pk) OR customer_id = :me",
            names={"#pk": PK},
            values={":me": customer_id},
        )
    }


class DynamoHandleStore:
    """``logic.handles.HandleDirectory`` over the claims."""

    def __init__(self, table: DynamoTable) -> None:
        self.table = table

    def owner(self, network: str, handle: str) -> str | None:
        """The customer who linked the handle (as stored), if any: one GetItem."""
        item = self.table.get(handle_key(network, handle))
        return str(item["customer_id"]) if item else None

    def owners(self, handles: Sequence[tuple[str, str]]) -> dict[tuple[str, str], str]:
        """The customer of each claimed ``(network, handle)`` (as stored, without repeats: a
        BatchGetItem refuses a key asked twice), one BatchGetItem per 100; the unclaimed are absent."""
        if not handles:
            return {}
        found = self.table.batch_get([handle_key(network, handle) for network, handle in handles])
        return {(str(i["network"]), str(i["handle"])): str(i["customer_id"]) for i in found}

"""Which customers have a rewards account, and the login link that ``/me`` routes resolve."""

from __future__ import annotations

from collections.abc import Sequence

from services.rewards.dal.identity import link_subject
from services.rewards.dal.keys import PK, SK, account_key
from shared.dynamo import DynamoTable


def account_states(table: DynamoTable, customer_ids: Sequence[str]) -> dict[str, bool]:
    """The customers among these who have an account, each with whether it was erased (one read
    per 100); a customer without an account is not in the answer."""
    found = table.batch_get([account_key(c) for c in dict.fromkeys(customer_ids)])
    return {str(i["customer_id"]): bool(i.get("erased_at")) for i in found}


def open_accounts(table: DynamoTable, customer_ids: Sequence[str]) -> set[str]:
    """Which of these customers have an account that is not erased (one read per 100)."""
    return {c for c, erased in account_states(table, customer_ids).items() if not erased}


class DynamoAccounts:
    def __init__(self, table: DynamoTable) -> None:
        self.table = table

    def existing(self, customer_ids: Sequence[str]) -> set[str]:
        return open_accounts(self.table, customer_ids)

    def link(self, subject: str, customer_id: str) -> None:
        """Link a login to its (opened) account, so that its ``/me`` routes reach it."""
        link_subject(self.table, subject, customer_id)

    def mark_refunded(self, customer_id: str, purchase_id: str) -> None:
        """Remember a refund that found nothing to reverse: its purchase, if it arrives later
        (SQS does not keep order), earns nothing."""
        self.table.put({PK: account_key(customer_id)[PK], SK: f"REFUNDED#{purchase_id}"})

    def was_refunded(self, customer_id: str, purchase_id: str) -> bool:
        return self.table.get({PK: account_key(customer_id)[PK], SK: f"REFUNDED#{purchase_id}"}) is not None

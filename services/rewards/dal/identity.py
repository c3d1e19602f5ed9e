"""Who a login is: the ``SUBJECT#<sub>`` item links a Cognito subject to its customer id.

The account keeps ``subject`` too, so that erasure can delete the link."""

from __future__ import annotations

from services.rewards.dal.keys import PK, account_key, subject_key
from shared.dynamo import DynamoTable, transact_write


def customer_id_of(table: DynamoTable, subject: str) -> str | None:
    """The customer a login belongs to, or None when it has no link (yet)."""
    item = table.get(subject_key(subject))
    return str(item["customer_id"]) if item else None


def link_subject(table: DynamoTable, subject: str, customer_id: str) -> None:
    """Link a login to an existing account (idempotent; ``ConditionFailed`` if there is no account)."""
    transact_write(
        table.client,
        [
            {"Put": table.put_op({**subject_key(subject), "type": "subject", "customer_id": customer_id})},
            {
                "Update": table.update_op(
                    account_key(customer_id),
                    "SET subject = :s",
                    condition="attribute_exists(#pk)",
                    names={"#pk": PK},
                    values={":s": subject},
                )
            },
        ],
    )

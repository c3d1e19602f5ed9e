"""Member codes in the rewards table (``dal/keys.py``: ``MEMBERCODE#<sha256 of the code> / CODE``)
with the customer, the expiry (and a TTL a day later) and, once used, the client and order it serves."""

from __future__ import annotations

from datetime import datetime, timedelta

from services.rewards.dal.keys import PK, TTL, member_code_key
from shared.clock import iso
from shared.dynamo import ConditionFailed, DynamoTable


class DynamoMemberCodes:
    def __init__(self, table: DynamoTable) -> None:
        self.table = table

    def create(self, digest: str, customer_id: str, *, expires_at: datetime) -> None:
        self.table.put(
            {
                **member_code_key(digest),
                "type": "member-code",
                "customer_id": customer_id,
                "expires_at": iso(expires_at),
                TTL: int((expires_at + timedelta(days=1)).timestamp()),
            },
            condition="attribute_not_exists(#pk)",  # 50 random bits: a clash is a bug, not luck
            names={"#pk": PK},
        )

    def find(self, digest: str) -> tuple[str, datetime] | None:
        item = self.table.get(member_code_key(digest))
        if item is None:
            return None
        return str(item["customer_id"]), datetime.fromisoformat(str(item["expires_at"]))

    def bind(self, digest: str, customer_id: str, *, client: str, order_id: str, now: datetime) -> bool:
        """Bind the live code to (client, order) on its first use; True if it is bound to them."""
        try:
            self.table.update(
                member_code_key(digest),
                "SET used_by = if_not_exists(used_by, :c), order_id = if_not_exists(order_id, :o)",
                condition=(
                    "customer_id = :cus AND expires_at > :now"
                    " AND ((attribute_not_exists(used_by) AND attribute_not_exists(order_id))"
                    " OR (used_by = :c AND order_id = :o))"
                ),
                values={":c": client, ":o": order_id, ":cus": customer_id, ":now": iso(now)},
            )
        except ConditionFailed:
            return False
        return True

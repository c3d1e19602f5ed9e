"""The expiry job's reads and writes: what is due on the ``by-due`` index (never a scan), the
warnings already sent, and how far ahead the warnings have looked."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime

from services.rewards.dal.keys import DUE_SHARDS, PK, SK, account_pk, config_key, outbox
from services.rewards.models.events import PointsExpiring
from services.rewards.topology import BY_DUE
from shared.clock import iso
from shared.dynamo import ConditionFailed, DynamoTable, Key, TransactionConflict, transact_write
from shared.events import EventPublisher

_WARNED_UNTIL = "EXPIRY_WARNED_UNTIL"
_AFTER_ALL = "#~"  # sorts after every "<instant>#<customer>#<sk>" of the same instant


class DynamoExpiryStore:
    def __init__(self, table: DynamoTable, publisher: EventPublisher) -> None:
        self.table = table
        self.publisher = publisher
        self.outbox = outbox(table)
        self.reads = 0  # index items read (what the benchmark and tests count)

    def due(self, day: date, low: datetime | None, high: datetime) -> Iterator[tuple[str, str]]:
        """(customer id, item sk) of every lot or hold due on ``day`` in (low, high], all shards."""
        for shard in range(DUE_SHARDS):
            start: Key | None = None
            while True:
                page = self.table.query(
                    "due_day = :day AND due_at BETWEEN :low AND :high",
                    values={
                        ":day": f"{day.isoformat()}#{shard}",
                        ":low": iso(low) + _AFTER_ALL if low else day.isoformat(),
                        ":high": iso(high) + _AFTER_ALL,
                    },
                    index=BY_DUE.name,
                    start_key=start,
                )
                self.reads += len(page.items)
                for item in page.items:
                    _, customer_id, sk = str(item["due_at"]).split("#", 2)
                    yield customer_id, sk
                start = page.last_key
                if start is None:
                    break

    def expiring_on(self, customer_id: str, day: date) -> int:
        """The points of the customer's open lots that expire on ``day`` (UTC)."""
        page = self.table.query(
            "#pk = :pk AND begins_with(#sk, :day)",
            names={"#pk": PK, "#sk": SK},
            values={":pk": account_pk(customer_id), ":day": f"LOT#{day.isoformat()}"},
        )
        return sum(int(i.get("remaining", 0)) for i in page.items)

    def warn(self, customer_id: str, event: PointsExpiring, *, now: datetime) -> bool:
        """Record and publish the warning once per customer and expiry day; False if sent already."""
        item = self.outbox.item(self.outbox.envelope(event, now))
        claim = {PK: account_pk(customer_id), SK: f"WARN#{event.expires_on.isoformat()}", "at": iso(now)}
        try:
            transact_write(
                self.table.client,
                [
                    {
                        "Put": self.table.put_op(
                            claim, condition="attribute_not_exists(#pk)", names={"#pk": PK}
                        )
                    },
                    {"Put": self.table.put_op(item)},
                ],
            )
        except (ConditionFailed, TransactionConflict):
            return False
        self.outbox.publish_or_leave(self.publisher, [item])
        return True

    def warned_until(self) -> datetime | None:
        item = self.table.get(config_key(_WARNED_UNTIL))
        return datetime.fromisoformat(item["until"]) if item else None

    def set_warned_until(self, until: datetime) -> None:
        self.table.put({**config_key(_WARNED_UNTIL), "until": iso(until)})

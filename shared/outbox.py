"""A transactional outbox, so that no domain event is lost between a write and PutEvents.

A service writes each event as an outbox item in the same DynamoDB transaction
as the change it describes, publishes right after, and deletes the items once
EventBridge took them. If the function dies in between, a scheduled sweep finds
the items older than a minute and publishes them again (consumers deduplicate on
``event_id``, so a second publication is harmless). Outbox items are spread over
``shards`` partitions so that no partition takes more than its share of writes.
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from shared.dynamo import DynamoTable, Item
from shared.events import DomainEvent, Envelope, EventPublisher, PublishError, RecordedEvent
from shared.observability import make_logger
from shared.topology import Table

SHARDS = 8
PREFIX = "OUTBOX#"
TTL_DAYS = 7
_log = make_logger()


class Outbox:
    def __init__(self, table: DynamoTable, *, partition_key: str, sort_key: str, ttl_attribute: str) -> None:
        self.table = table
        self.pk = partition_key
        self.sk = sort_key
        self.ttl_attribute = ttl_attribute

    @classmethod
    def of(cls, table: DynamoTable, declared: Table) -> Outbox:
        """The outbox (``OUTBOX#<shard>`` items) of a service's declared table."""
        return cls(
            table,
            partition_key=declared.partition_key.name,
            sort_key=declared.sort_key_name,
            ttl_attribute=declared.ttl_name,
        )

    def envelope(self, event: DomainEvent, at: datetime) -> Envelope:
        return Envelope(event, occurred_at=at)

    def item(self, envelope: Envelope) -> Item:
        """The outbox item to write in the same transaction as the change."""
        stamp = envelope.occurred_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        return {
            self.pk: f"{PREFIX}{random.randrange(SHARDS)}",  # noqa: S311 - spreading writes, not a secret
            self.sk: f"{stamp}#{envelope.event_id}",
            "event_id": envelope.event_id,
            "detail_type": envelope.event.detail_type(),
            "envelope": json.dumps(
                {
                    "type": envelope.event.detail_type(),
                    "schema_version": envelope.event.schema_version,
                    "data": envelope.event.model_dump(mode="json"),
                    "event_id": envelope.event_id,
                    "occurred_at": envelope.occurred_at.isoformat(),
                    "correlation_id": envelope.correlation_id,
                },
                ensure_ascii=False,
            ),
            self.ttl_attribute: int((envelope.occurred_at + timedelta(days=TTL_DAYS)).timestamp()),
        }

    def flush(self, publisher: EventPublisher, items: Sequence[Item]) -> None:
        """Publish what was just written, then drop its outbox items."""
        envelopes = [self._envelope(i) for i in items]
        publisher.publish(envelopes)
        self.table.batch_write(deletes=[{self.pk: i[self.pk], self.sk: i[self.sk]} for i in items])

    def publish_or_leave(self, publisher: EventPublisher, items: Sequence[Item]) -> None:
        """Publish right after the write; if EventBridge fails now, the items stay for the sweep."""
        if not items:
            return
        try:
            self.flush(publisher, items)
        except PublishError as exc:
            _log.warning("events left in the outbox for the sweep", extra={"event_ids": exc.failed_ids})

    def sweep(self, publisher: EventPublisher, *, older_than: datetime, limit: int = 500) -> int:
        """Publish again what a crashed request left behind (oldest first); returns how many."""
        cutoff = older_than.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        stale: list[Item] = []
        for shard in range(SHARDS):
            page = self.table.query(
                "#pk = :pk AND #sk < :cutoff",
                names={"#pk": self.pk, "#sk": self.sk},
                values={":pk": f"{PREFIX}{shard}", ":cutoff": cutoff},
                limit=limit,
            )
            stale += page.items
        stale.sort(key=lambda item: str(item[self.sk]))  # oldest first, across shards
        for start in range(0, len(stale), 100):
            self.flush(publisher, stale[start : start + 100])
        return len(stale)

    def _envelope(self, item: Item) -> Envelope:
        raw: dict[str, Any] = json.loads(item["envelope"])
        return Envelope(
            RecordedEvent(raw["type"], raw["schema_version"], raw["data"]),
            event_id=raw["event_id"],
            occurred_at=datetime.fromisoformat(raw["occurred_at"]),
            correlation_id=raw.get("correlation_id"),
        )

"""Mentions in the feedback table and on the mentions topic (``keys``).

- A webhook delivery is claimed by the SHA-256 of its source and signature (``REPLAY#``): the same
  signed delivery a second time is a replay, refused. The claim is dropped again if the delivery
  could not be taken, so the source's retry is not refused.
- A mention is stored once per (source, external id), ``pending`` until the topic took it;
  published with the message attributes the subscriptions filter on (``models.mention.attributes``),
  in the envelope the consumers dedupe on (``metadata.event_id`` = ``mention:<key>``). A mention
  left pending (SNS failed) is published again by the poller's sweep.
- A mention linked to a customer is also filed under them (``CUSTOMER#<id> / MENTION#<key>``), so
  their erasure finds it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from services.feedback.dal import keys
from services.feedback.models.intake import Classified
from services.feedback.models.mention import attributes
from shared.dynamo import ConditionFailed, DynamoTable, transact_write
from shared.errors import ServiceUnavailable, Unauthorized
from shared.observability import make_logger

_log = make_logger()


def envelope(classified: Classified) -> str:
    """The topic's message: an envelope like the bus's, keyed by the mention."""
    return json.dumps(
        {
            "metadata": {
                "event_id": f"mention:{classified.key}",
                "schema_version": "1",
                "occurred_at": classified.received_at.isoformat(),
            },
            "data": classified.model_dump(mode="json"),
        },
        ensure_ascii=False,
        separators=(",", ":"),
    )


@dataclass
class DynamoMentions:
    table: DynamoTable
    topic_arn: str | None = None
    sns: Callable[[], Any] | None = None

    # -- deliveries ---------------------------------------------------------------------------

    def claim_delivery(self, digest: str, now: datetime) -> None:
        try:
            self.table.put(
                {**keys.replay_key(digest), keys.TTL: int(now.timestamp()) + keys.REPLAY_TTL_S},
                condition="attribute_not_exists(#pk)",
                names={"#pk": keys.PK},
            )
        except ConditionFailed:
            raise Unauthorized("This delivery was taken already.", code="webhook_replayed") from None

    def release_delivery(self, digest: str) -> None:
        self.table.delete(keys.replay_key(digest))

    # -- mentions -----------------------------------------------------------------------------

    def store(self, classified: Classified, now: datetime) -> bool:
        """Keep the mention, pending; False if it was known already (nothing written)."""
        expires = int((now + timedelta(days=keys.MENTION_TTL_DAYS)).timestamp())
        item = {
            **keys.mention_key(classified.key),
            "classified": classified.model_dump_json(),  # text: the score is a float
            "pending": keys.pending_key(classified.key, now)[keys.SK],
            keys.TTL: expires,
        }
        marker = {**keys.pending_key(classified.key, now), "mention": classified.key, keys.TTL: expires}
        actions = [
            {"Put": self.table.put_op(item, condition="attribute_not_exists(#pk)", names={"#pk": keys.PK})},
            {"Put": self.table.put_op(marker)},
        ]
        if classified.customer_id:
            link = {**keys.customer_mention_key(classified.customer_id, classified.key), keys.TTL: expires}
            actions.append({"Put": self.table.put_op(link)})
        try:
            transact_write(self.table.client, actions)
        except ConditionFailed:
            return False
        return True

    def publish(self, classified: Classified) -> None:
        """On the topic with its attributes, then no longer pending. A failure leaves it pending."""
        if self.sns is None or not self.topic_arn:
            raise ServiceUnavailable("The mentions topic is not configured.", code="topic_unavailable")
        try:
            self.sns().publish(
                TopicArn=self.topic_arn,
                Message=envelope(classified),
                MessageAttributes=attributes(classified.mention, classified.found),
            )
        except Exception as exc:  # botocore's errors: the sweep publishes it later
            _log.warning(
                "mention left pending",
                extra={"source": classified.mention.source, "error": type(exc).__name__},
            )
            return
        self.published(classified.key)

    def published(self, key: str) -> None:
        item = self.table.get(keys.mention_key(key))
        if item is None or "pending" not in item:
            return
        transact_write(
            self.table.client,
            [
                {"Update": self.table.update_op(keys.mention_key(key), "REMOVE pending")},
                {"Delete": self.table.delete_op({keys.PK: "PENDING", keys.SK: str(item["pending"])})},
            ],
        )

    def pending(self, older_than: datetime, *, limit: int = 100) -> list[Classified]:
        """Mentions the topic has not taken since before ``older_than``, oldest first."""
        page = self.table.query(
            "#pk = :pk AND #sk < :t",
            names={"#pk": keys.PK, "#sk": keys.SK},
            values={":pk": "PENDING", ":t": older_than.isoformat()},
            limit=limit,
        )
        found = [self.get(str(item["mention"])) for item in page.items]
        return [c for c in found if c is not None]

    def get(self, key: str) -> Classified | None:
        item = self.table.get(keys.mention_key(key))
        return Classified.model_validate_json(item["classified"]) if item and "classified" in item else None

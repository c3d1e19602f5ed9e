"""What the campaigns service learns after sending, written once each:

- ``DynamoFeedback``: an SES event about a campaign e-mail (``logic.feedback.Feedback``): its
  claim (``FEEDBACK#<message id> / <event type>``, on its absence), 1 added to the campaign's
  counter on a random ``STAT#`` shard and its event in the outbox, in one transaction; published
  right after (the outbox sweep publishes it if EventBridge failed). A redelivered SES event finds
  its claim and changes nothing.
- ``OutboxNotices``: a dead push token (``logic.delivery.Notices``), as ``PushTokenDisabled``
  through the outbox under an event id derived from the campaign run and the customer, so the
  sender's one decision per recipient is one event, however often it is written.
"""

from __future__ import annotations

import datetime as dt
import secrets
import uuid

from services.campaigns.dal import keys
from services.campaigns.logic.feedback import Feedback
from services.campaigns.models.events import PushTokenDisabled
from shared.dynamo import ConditionFailed, DynamoTable, transact_write
from shared.events import Envelope, EventPublisher

FEEDBACK_TTL_DAYS = 30  # SES publishes an event within days of the send; a month covers any redelivery
_NOTICES = uuid.UUID("6f1c6a52-4d1e-4b8e-9a51-0c7d2f3e8b10")  # the namespace of notices' event ids


class DynamoFeedback:
    def __init__(self, table: DynamoTable, publisher: EventPublisher) -> None:
        self.table = table
        self.publisher = publisher
        self.outbox = keys.outbox(table)

    def record(self, feedback: Feedback) -> bool:
        """Count it and publish its event, once: False when it had been (a redelivery)."""
        at = feedback.at
        pending = (
            [self.outbox.item(self.outbox.envelope(feedback.event, at))] if feedback.event is not None else []
        )
        claim = {
            **keys.feedback_key(feedback.message_id, feedback.event_type),
            "campaign_id": feedback.campaign_id,
            "counter": feedback.counter,
            keys.TTL: int(at.timestamp()) + FEEDBACK_TTL_DAYS * 86_400,
        }
        shard = secrets.randbelow(keys.STAT_SHARDS)
        try:
            transact_write(
                self.table.client,
                [
                    {"Put": self.table.put_op(claim, condition=f"attribute_not_exists({keys.PK})")},
                    {
                        "Update": self.table.update_op(
                            keys.stat_key(feedback.campaign_id, shard),
                            "ADD #c :one",
                            names={"#c": feedback.counter},
                            values={":one": 1},
                        )
                    },
                    *({"Put": self.table.put_op(item)} for item in pending),
                ],
            )
        except ConditionFailed:
            return False
        self.outbox.publish_or_leave(self.publisher, pending)
        return True


class OutboxNotices:
    """``logic.delivery.Notices``: what the sender learnt of a customer's channels, on the bus."""

    def __init__(self, table: DynamoTable, publisher: EventPublisher) -> None:
        self.table = table
        self.publisher = publisher
        self.outbox = keys.outbox(table)

    def push_token_disabled(
        self, campaign_id: str, run: int, customer_id: str, device_id: str, at: dt.datetime
    ) -> None:
        event = PushTokenDisabled(customer_id=customer_id, device_id=device_id, at=at)
        event_id = str(uuid.uuid5(_NOTICES, f"{campaign_id}/{customer_id}/{run}/{device_id}"))
        item = self.outbox.item(Envelope(event, event_id=event_id, occurred_at=at))
        self.table.put(item)
        self.outbox.publish_or_leave(self.publisher, [item])

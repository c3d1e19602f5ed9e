"""The campaigns service's news of a customer's channels (``profile-deliverability``, fed by the
queue ``profile-channel-events``, which the rule ``profile-campaigns-channel-events`` fills):
``EmailUndeliverable`` marks the e-mail unverified, ``PushTokenDisabled`` the device's token
(``logic.deliverability``). Naturally idempotent (marking what is unverified changes nothing), so
no per-message claim; an erased or unknown customer is skipped. A message that is neither event
fails alone and ends in the dead-letter queue.
"""

from __future__ import annotations

import functools
import json
from typing import Any

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import Field

from services.profile.dal.deliverability import DynamoChannelStore
from services.profile.logic.deliverability import apply
from services.profile.models.inbound import EmailUndeliverable, PushTokenDisabled
from services.profile.topology import DELIVERABILITY, PROFILES
from shared import aws
from shared.clock import utc_now
from shared.consumers import BadEvent, SqsConsumer, eventbridge_event
from shared.dynamo import DynamoTable
from shared.observability import make_logger, make_metrics
from shared.settings import Settings, load

logger = make_logger()
metrics = make_metrics()

SOURCE = "dangol.campaigns"
HANDLERS = frozenset({"EmailUndeliverable", "PushTokenDisabled"})


class DeliverabilitySettings(Settings):
    """It writes the profiles table and publishes nothing."""

    profiles_table: str = Field(alias=PROFILES.env_var, min_length=3)


@functools.cache
def dependencies() -> DynamoChannelStore:
    settings = load(DeliverabilitySettings)
    return DynamoChannelStore(DynamoTable(settings.profiles_table, aws.client("dynamodb")))


def news_of(record: SQSRecord) -> tuple[str, EmailUndeliverable | PushTokenDisabled]:
    """The event's type and its data; a message that is neither event is a ``BadEvent``."""
    try:
        body = json.loads(record.body)
    except ValueError:
        body = None
    detail_type = str(body.get("detail-type")) if isinstance(body, dict) else ""
    if not isinstance(body, dict) or body.get("source") != SOURCE or detail_type not in HANDLERS:
        raise BadEvent([{"loc": ["detail-type"], "type": "unexpected_event"}])
    if detail_type == "EmailUndeliverable":
        return detail_type, eventbridge_event(record, EmailUndeliverable)[1]
    return detail_type, eventbridge_event(record, PushTokenDisabled)[1]


def handle(record: SQSRecord) -> None:
    detail_type, event = news_of(record)
    outcome = apply(dependencies(), event, now=utc_now())
    metrics.add_metric(name=f"{detail_type}_{outcome}", unit="Count", value=1)
    logger.info(
        "channel news applied",
        extra={"event": detail_type, "customer_id": event.customer_id, "outcome": outcome},
    )


consume = SqsConsumer(DELIVERABILITY.id, handle)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return consume(event, context)

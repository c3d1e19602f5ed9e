"""The segmenter: re-scores the value and re-evaluates the lifestyle groups of a customer
whose data changed (an SQS consumer of ``profile-segments``, which the rule
``profile-segment-triggers`` fills with ``CustomerRegistered``, ``CustomerImported``,
``ProfileUpdated``, ``PurchaseRecorded`` and ``PurchaseRefunded``).

The value model and the group definitions are read once per invocation (one batch of up to
10 messages): a change of definitions applies from the next batch on. Messages are not
de-duplicated: an evaluation reads the customer's stored state and writes only what differs,
so a duplicate finds nothing to do. A message that is not one of these events fails alone
and ends in the dead-letter queue.
"""

from __future__ import annotations

import functools
import json
from typing import Any

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from services.profile.dal.segments import DynamoSegmentStore
from services.profile.handlers.env import ProfileSettings
from services.profile.logic import value
from services.profile.models.events import (
    CustomerImported,
    CustomerRegistered,
    ProfileUpdated,
    PurchaseRecorded,
    PurchaseRefunded,
)
from services.profile.topology import SEGMENTER
from shared import aws
from shared.clock import utc_now
from shared.consumers import BadEvent, SqsConsumer, eventbridge_event
from shared.dynamo import DynamoTable
from shared.events import DomainEvent
from shared.observability import make_logger, make_metrics
from shared.settings import load

logger = make_logger()
metrics = make_metrics()

SOURCE = "dangol.profile"
TRIGGERS: dict[str, type[DomainEvent]] = {
    model.detail_type(): model
    for model in (CustomerRegistered, CustomerImported, ProfileUpdated, PurchaseRecorded, PurchaseRefunded)
}


@functools.cache
def dependencies() -> DynamoSegmentStore:
    settings = load(ProfileSettings)
    return DynamoSegmentStore(
        DynamoTable(settings.profiles_table, aws.client("dynamodb")), settings.publisher()
    )


def customer_of(record: SQSRecord) -> str:
    """The customer a trigger event is about; a message that is none of them is a ``BadEvent``."""
    try:
        body = json.loads(record.body)
    except ValueError:
        body = None
    model = TRIGGERS.get(str(body.get("detail-type"))) if isinstance(body, dict) else None
    if model is None or not isinstance(body, dict) or body.get("source") != SOURCE:
        raise BadEvent([{"loc": ["detail-type"], "type": "not_a_trigger"}])
    _, event = eventbridge_event(record, model)
    return str(event.customer_id)  # type: ignore[attr-defined]


class Batch:
    """One invocation: the definitions are read on first use, then kept for its records."""

    def __init__(self, store: DynamoSegmentStore) -> None:
        self.store = store
        self._definitions: value.Definitions | None = None

    def definitions(self) -> value.Definitions:
        if self._definitions is None:
            self._definitions = value.definitions(self.store)
        return self._definitions

    def handle(self, record: SQSRecord) -> None:
        customer_id = customer_of(record)
        written = value.refresh(self.store, customer_id, self.definitions(), now=utc_now())
        if written.writes:
            metrics.add_metric(name="CustomersResegmented", unit="Count", value=1)
            logger.info(
                "customer re-evaluated",
                extra={
                    "customer_id": customer_id,
                    "value_written": written.value is not None,
                    "groups_written": written.groups is not None,
                    "events": [type(e).__name__ for e in written.events],
                },
            )


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return SqsConsumer(SEGMENTER.id, Batch(dependencies()).handle)(event, context)

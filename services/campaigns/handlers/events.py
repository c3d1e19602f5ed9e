"""The profile and rewards services' events, as the campaigns service keeps its customer view
(``campaigns-events`` queue, fed by the rules ``campaigns-profile-events`` and
``campaigns-rewards-events``): the view changes, and the standing segments gain or lose the
customer. Duplicates have one effect (``logic.projection``); events out of order never let an
older state overwrite a newer one; ``CustomerErased`` removes the view and every membership at once.
"""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel

from services.campaigns.dal.segments import DynamoSegments
from services.campaigns.dal.views import DynamoViews
from services.campaigns.handlers.env import CampaignsTableSettings
from services.campaigns.logic.projection import Projection
from services.campaigns.models import inbound
from shared import aws
from shared.clock import utc_now
from shared.consumers import BadEvent, SqsConsumer, eventbridge_event
from shared.dynamo import DynamoTable
from shared.observability import make_logger, make_metrics
from shared.settings import load

logger = make_logger()
metrics = make_metrics()

MODELS: dict[str, type[BaseModel]] = {
    "CustomerRegistered": inbound.CustomerRegistered,
    "CustomerImported": inbound.CustomerImported,
    "ConsentChanged": inbound.ConsentChanged,
    "ValueSegmentChanged": inbound.ValueSegmentChanged,
    "LifestyleGroupsChanged": inbound.LifestyleGroupsChanged,
    "PurchaseRecorded": inbound.PurchaseRecorded,
    "PurchaseRefunded": inbound.PurchaseRefunded,
    "VisitRecorded": inbound.VisitRecorded,
    "CustomerErased": inbound.CustomerErased,
    "TierChanged": inbound.TierChanged,
    "PointsExpiring": inbound.PointsExpiring,
    "PointsBalanceChanged": inbound.PointsBalanceChanged,
}
HANDLERS = frozenset(MODELS)


@functools.cache
def dependencies() -> Projection:
    settings = load(CampaignsTableSettings)
    table = DynamoTable(settings.campaigns_table, aws.client("dynamodb"))
    return Projection(DynamoViews(table), DynamoSegments(table))


def handle(record: SQSRecord) -> None:
    body = record.json_body if record.body.startswith("{") else None
    detail_type = str(body.get("detail-type")) if isinstance(body, dict) else ""
    model = MODELS.get(detail_type)
    if model is None:
        raise BadEvent([{"loc": ["detail-type"], "type": "unexpected_event"}])
    envelope, event = eventbridge_event(record, model)
    at = dt.datetime.fromisoformat(envelope.occurred_at)
    dependencies().apply(detail_type, event, at=at, now=utc_now())
    metrics.add_metric(name=detail_type, unit="Count", value=1)


consume = SqsConsumer("campaigns-events", handle)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return consume(event, context)

"""Launches asked for by an event on the bus (``campaigns-launches``): ``CampaignLaunchRequested``,
as marketing may put one from the AWS console's EventBridge "Send events" page
(``docs/services/campaigns.md``). Recorded like an API launch (``launched_via``, ``requested_by``)
and as idempotent: a campaign already launched is left as it is. A campaign that does not exist,
or cannot be launched, is logged by its code and the event consumed (a retry would not mend it)."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from services.campaigns.dal.campaigns import DynamoCampaigns, QueuedWork, TemplateReader
from services.campaigns.dal.segments import DynamoSegments
from services.campaigns.handlers.env import PlanQueueSettings
from services.campaigns.logic import campaigns as lifecycle
from services.campaigns.logic import delivery
from services.campaigns.models.events import CampaignLaunchRequested
from shared import aws
from shared.clock import utc_now
from shared.consumers import SqsConsumer, eventbridge_event
from shared.dynamo import DynamoTable
from shared.errors import Conflict, NotFound, Unprocessable
from shared.observability import make_logger, make_metrics
from shared.settings import load

logger = make_logger()
metrics = make_metrics()


@dataclass(frozen=True)
class Dependencies:
    campaigns: DynamoCampaigns
    segments: DynamoSegments
    templates: TemplateReader
    work: QueuedWork


@functools.cache
def dependencies() -> Dependencies:
    settings = load(PlanQueueSettings)
    table = DynamoTable(settings.campaigns_table, aws.client("dynamodb"))
    return Dependencies(
        DynamoCampaigns(table), DynamoSegments(table), TemplateReader(table), settings.starter()
    )


def handle(record: SQSRecord) -> None:
    envelope, event = eventbridge_event(record, CampaignLaunchRequested)
    deps = dependencies()
    runs = delivery.RunStarter(deps.campaigns, deps.segments, deps.work)
    try:
        launched = lifecycle.launch(
            deps.campaigns,
            deps.segments,
            deps.templates,
            runs,
            event.campaign_id,
            clock=utc_now,
            via=f"event:{envelope.event_id}",
            requested_by=event.requested_by,
        )
    except (NotFound, Conflict, Unprocessable) as refused:
        logger.warning("launch refused", extra={"campaign_id": event.campaign_id, "code": refused.code})
        metrics.add_metric(name="LaunchRefused", unit="Count", value=1)
        return
    logger.info("campaign launched", extra={"campaign_id": event.campaign_id, "status": launched.status})


consume = SqsConsumer("campaigns-launches", handle)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return consume(event, context)

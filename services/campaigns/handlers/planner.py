"""A campaign run's planner steps (``campaigns-plan``): a page of one member shard into batches
for the sender, then the next step (``logic.delivery.plan_step``)."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict, Field

from services.campaigns.dal.campaigns import DynamoCampaigns, QueuedWork
from services.campaigns.dal.segments import DynamoSegments
from services.campaigns.handlers.env import CampaignQueuesSettings
from services.campaigns.logic import delivery
from services.campaigns.models.campaigns import CAMPAIGN_ID_PATTERN
from shared import aws
from shared.consumers import SqsConsumer, message_of
from shared.dynamo import DynamoTable
from shared.observability import make_logger, make_metrics
from shared.settings import load

logger = make_logger()
metrics = make_metrics()


class Step(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    campaign_id: str = Field(pattern=CAMPAIGN_ID_PATTERN)
    run: int = Field(ge=1)
    chain: int = Field(ge=0, lt=delivery.MEMBER_SHARDS)
    step: int = Field(ge=0)
    # member shard ("0".."15") -> the last customer id planned from it (None: from its start)
    positions: dict[str, str | None] = Field(min_length=1, max_length=delivery.MEMBER_SHARDS)


@dataclass(frozen=True)
class Dependencies:
    campaigns: DynamoCampaigns
    segments: DynamoSegments
    work: QueuedWork
    priority_step_s: int


@functools.cache
def dependencies() -> Dependencies:
    settings = load(CampaignQueuesSettings)
    table = DynamoTable(settings.campaigns_table, aws.client("dynamodb"))
    return Dependencies(
        DynamoCampaigns(table), DynamoSegments(table, cache_s=0), settings.work(), settings.priority_step_s
    )


def handle(record: SQSRecord) -> None:
    step = message_of(record, Step)
    deps = dependencies()
    planned = delivery.plan_step(
        deps.campaigns,
        deps.segments,
        deps.work,
        step.campaign_id,
        run=step.run,
        chain=step.chain,
        step=step.step,
        positions=step.positions,
        priority_step_s=deps.priority_step_s,
    )
    logger.info(
        "campaign planned",
        extra={
            "campaign_id": step.campaign_id,
            "run": step.run,
            "chain": step.chain,
            "step": step.step,
            "planned": planned,
        },
    )


consume = SqsConsumer("campaigns-plan", handle)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return consume(event, context)

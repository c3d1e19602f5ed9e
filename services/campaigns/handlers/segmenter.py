"""A segment version's evaluation over every customer view, one page per message
(``campaigns-segment-jobs``): each step sends the next, and a step of a superseded version stops."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict, Field

from services.campaigns.dal.jobs import QueuedSegmentJobs
from services.campaigns.dal.segments import DynamoSegments
from services.campaigns.dal.views import DynamoViews
from services.campaigns.handlers.env import SegmentJobsSettings
from services.campaigns.logic import audiences
from services.campaigns.models.audiences import SEGMENT_ID_PATTERN
from shared import aws
from shared.clock import utc_now
from shared.consumers import SqsConsumer, message_of
from shared.dynamo import DynamoTable
from shared.observability import make_logger, make_metrics
from shared.settings import load

logger = make_logger()
metrics = make_metrics()


class Step(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    segment_id: str = Field(pattern=SEGMENT_ID_PATTERN)
    version: int = Field(ge=1)
    after: str | None = Field(default=None, max_length=64)
    looked_at: int = Field(default=0, ge=0)


@dataclass(frozen=True)
class Dependencies:
    segments: DynamoSegments
    views: DynamoViews
    jobs: QueuedSegmentJobs


@functools.cache
def dependencies() -> Dependencies:
    settings = load(SegmentJobsSettings)
    table = DynamoTable(settings.campaigns_table, aws.client("dynamodb"))
    return Dependencies(
        DynamoSegments(table, cache_s=0),
        DynamoViews(table),
        QueuedSegmentJobs.at(settings.segment_jobs_queue_url),
    )


def handle(record: SQSRecord) -> None:
    step = message_of(record, Step)
    deps = dependencies()
    looked = audiences.evaluate_step(
        deps.segments,
        deps.views,
        deps.jobs,
        step.segment_id,
        step.version,
        after=step.after,
        looked_at=step.looked_at,
        now=utc_now(),
    )
    logger.info(
        "segment step",
        extra={"segment_id": step.segment_id, "segment_version": step.version, "looked_at": looked},
    )


consume = SqsConsumer("campaigns-segment-jobs", handle)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return consume(event, context)

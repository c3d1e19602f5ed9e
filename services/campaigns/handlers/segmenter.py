"""The segmenter's jobs, one page per message (``campaigns-segment-jobs``), each step sending the
next: a segment version's evaluation over every customer view (a step of a superseded version
stops); a draft rule's preview over every view (``logic.segment_previews``: counted, nothing
kept); a deleted segment's members let go, shard by shard. A message is exactly one of the three."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict, Field, RootModel

from services.campaigns.dal import keys
from services.campaigns.dal.jobs import QueuedSegmentJobs
from services.campaigns.dal.segment_previews import DynamoSegmentPreviews
from services.campaigns.dal.segments import DynamoSegments
from services.campaigns.dal.views import DynamoViews
from services.campaigns.handlers.env import SegmentJobsSettings
from services.campaigns.logic import audiences, segment_previews
from services.campaigns.models.audiences import PREVIEW_ID_PATTERN, SEGMENT_ID_PATTERN
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
    catching_up: bool = False  # the second pass (logic.audiences.evaluate_step)


class PreviewStep(BaseModel):
    """A page of a draft rule's preview."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    preview_id: str = Field(pattern=PREVIEW_ID_PATTERN)
    after: str | None = Field(default=None, max_length=64)
    looked_at: int = Field(ge=0)


class PurgeStep(BaseModel):
    """A page of a deleted segment's members to let go (``final``: the pass after it settled)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    deleted_segment_id: str = Field(pattern=SEGMENT_ID_PATTERN)
    shard: int = Field(ge=0, lt=keys.MEMBER_SHARDS)
    after: str | None = Field(default=None, max_length=64)
    final: bool = False


class Job(RootModel[Step | PreviewStep | PurgeStep]):
    """Exactly one of the shapes (each forbids the others' fields)."""

    model_config = ConfigDict(frozen=True)


@dataclass(frozen=True)
class Dependencies:
    segments: DynamoSegments
    views: DynamoViews
    jobs: QueuedSegmentJobs
    previews: DynamoSegmentPreviews


@functools.cache
def dependencies() -> Dependencies:
    settings = load(SegmentJobsSettings)
    table = DynamoTable(settings.campaigns_table, aws.client("dynamodb"))
    return Dependencies(
        DynamoSegments(table, cache_s=0),
        DynamoViews(table),
        QueuedSegmentJobs.at(settings.segment_jobs_queue_url),
        DynamoSegmentPreviews(table),
    )


def handle(record: SQSRecord) -> None:
    step = message_of(record, Job).root
    if isinstance(step, PreviewStep):
        _preview(step)
    elif isinstance(step, PurgeStep):
        _purge(step)
    else:
        _evaluate(step)


def _evaluate(step: Step) -> None:
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
        catching_up=step.catching_up,
    )
    logger.info(
        "segment step",
        extra={"segment_id": step.segment_id, "segment_version": step.version, "looked_at": looked},
    )


def _preview(step: PreviewStep) -> None:
    deps = dependencies()
    looked = segment_previews.step(
        deps.previews,
        deps.views,
        deps.jobs,
        step.preview_id,
        after=step.after,
        looked_at=step.looked_at,
        now=utc_now(),
    )
    logger.info("segment preview step", extra={"preview_id": step.preview_id, "looked_at": looked})


def _purge(step: PurgeStep) -> None:
    deps = dependencies()
    gone = audiences.purge_step(
        deps.segments,
        deps.jobs,
        step.deleted_segment_id,
        shard=step.shard,
        after=step.after,
        final=step.final,
        shards=keys.MEMBER_SHARDS,
    )
    logger.info(
        "deleted segment's members let go",
        extra={"segment_id": step.deleted_segment_id, "shard": step.shard, "members": gone},
    )


consume = SqsConsumer("campaigns-segment-jobs", handle)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return consume(event, context)

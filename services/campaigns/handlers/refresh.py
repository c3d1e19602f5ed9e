"""Nightly: a new evaluation pass for each segment whose answer changes with time alone."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from services.campaigns.dal.jobs import QueuedSegmentJobs
from services.campaigns.dal.segments import DynamoSegments
from services.campaigns.handlers.env import SegmentJobsSettings
from services.campaigns.logic import audiences
from shared import aws
from shared.dynamo import DynamoTable
from shared.observability import make_logger
from shared.settings import load

logger = make_logger()


@dataclass(frozen=True)
class Dependencies:
    segments: DynamoSegments
    jobs: QueuedSegmentJobs


@functools.cache
def dependencies() -> Dependencies:
    settings = load(SegmentJobsSettings)
    table = DynamoTable(settings.campaigns_table, aws.client("dynamodb"))
    return Dependencies(
        DynamoSegments(table, cache_s=0), QueuedSegmentJobs.at(settings.segment_jobs_queue_url)
    )


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    deps = dependencies()
    refreshed = audiences.refresh(deps.segments, deps.jobs)
    logger.info("segments refreshed", extra={"segments": len(refreshed)})
    return {"refreshed": refreshed}

"""Every minute (``campaigns-release``): the campaign runs due, and the recipients deferred to
each minute since the last look, go to the planner and the sender (``logic.delivery.release``);
the draws whose entries closed are announced due (``DrawDue``) to the rewards service."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from services.campaigns.dal.campaigns import DynamoCampaigns, QueuedWork
from services.campaigns.dal.draws import DynamoDraws
from services.campaigns.dal.segments import DynamoSegments
from services.campaigns.handlers.env import ReleaseSettings
from services.campaigns.logic import delivery
from shared import aws
from shared.clock import utc_now
from shared.dynamo import DynamoTable
from shared.observability import make_logger, make_metrics
from shared.settings import load

logger = make_logger()
metrics = make_metrics()


@dataclass(frozen=True)
class Dependencies:
    campaigns: DynamoCampaigns
    segments: DynamoSegments
    work: QueuedWork
    priority_step_s: int
    draws: DynamoDraws


@functools.cache
def dependencies() -> Dependencies:
    settings = load(ReleaseSettings)
    table = DynamoTable(settings.campaigns_table, aws.client("dynamodb"))
    return Dependencies(
        DynamoCampaigns(table),
        DynamoSegments(table, cache_s=0),
        settings.work(),
        settings.priority_step_s,
        DynamoDraws(table, settings.publisher()),
    )


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    deps = dependencies()
    released = delivery.release(
        deps.campaigns,
        deps.segments,
        deps.work,
        clock=utc_now,
        priority_step_s=deps.priority_step_s,
        draws=deps.draws.announce_due,
    )
    if released:
        logger.info("released", extra={"released": released})
    return {"released": released}

"""The outbox sweep (every 5 minutes): publish the rewards events that a write recorded but
could not publish (the function crashed, or EventBridge failed at that moment)."""

from __future__ import annotations

import functools
from datetime import timedelta
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from services.rewards.dal.keys import outbox
from services.rewards.handlers.env import RewardsSettings, publisher
from services.rewards.topology import OUTBOX_SWEEPER, REWARDS
from shared import aws
from shared.clock import utc_now
from shared.dynamo import DynamoTable
from shared.events import EventPublisher
from shared.jobs import exclusive
from shared.observability import make_logger, make_metrics
from shared.outbox import Outbox
from shared.settings import load

logger = make_logger()
metrics = make_metrics()
GRACE = timedelta(minutes=1)  # younger items belong to writes still publishing them


@functools.cache
def dependencies() -> tuple[Outbox, EventPublisher]:
    settings = load(RewardsSettings)
    return outbox(DynamoTable(settings.rewards_table, aws.client("dynamodb"))), publisher(settings)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@exclusive(REWARDS, OUTBOX_SWEEPER.id)  # one run at a time (shared/jobs.py)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    box, events = dependencies()
    published = box.sweep(events, older_than=utc_now() - GRACE)
    metrics.add_metric(name="OutboxRepublished", unit="Count", value=published)
    if published:
        logger.warning("republished events from the outbox", extra={"count": published})
    return {"published": published}

"""The outbox sweep (every 5 minutes): publish the profile events that a request
wrote but could not publish (it crashed, or EventBridge failed at that moment)."""

from __future__ import annotations

import functools
from datetime import timedelta
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from services.profile.dal.keys import outbox
from services.profile.handlers.env import ProfileSettings, publisher
from services.profile.topology import OUTBOX_SWEEPER, PROFILES
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
GRACE = timedelta(minutes=1)  # younger items belong to requests still publishing them


@functools.cache
def dependencies() -> tuple[Outbox, EventPublisher]:
    settings = load(ProfileSettings)
    table = DynamoTable(settings.profiles_table, aws.client("dynamodb"))
    return outbox(table), publisher(settings)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@exclusive(PROFILES, OUTBOX_SWEEPER.id)  # one run at a time (shared/jobs.py)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    outbox, publisher = dependencies()
    published = outbox.sweep(publisher, older_than=utc_now() - GRACE)
    metrics.add_metric(name="OutboxRepublished", unit="Count", value=published)
    if published:
        logger.warning("republished events from the outbox", extra={"count": published})
    return {"published": published}

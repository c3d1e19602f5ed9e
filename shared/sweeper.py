"""The outbox sweep every service runs (every 5 minutes): publish the events a write recorded in
its table's outbox but could not publish (the function crashed, or EventBridge failed then).

A service's sweeper handler is one line: ``lambda_handler = OutboxSweeper(TABLE, FUNCTION,
Settings)``, its function and schedule declared in the service's topology.
"""

from __future__ import annotations

import functools
from datetime import timedelta
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from shared import aws
from shared.clock import utc_now
from shared.dynamo import DynamoTable
from shared.events import EventPublisher
from shared.jobs import exclusive
from shared.observability import make_logger, make_metrics
from shared.outbox import Outbox
from shared.settings import ServiceSettings, load
from shared.topology import Function, Table

GRACE = timedelta(minutes=1)  # younger items belong to writes still publishing them


class OutboxSweeper:
    """The handler of a service's sweeper function: one run at a time (``shared/jobs.py``)."""

    def __init__(self, declared: Table, function: Function, settings: type[ServiceSettings]) -> None:
        self.declared = declared
        self.settings = settings
        self.logger = make_logger()
        self.metrics = make_metrics()
        handler = exclusive(declared, function.id)(self._sweep)
        self._handler = self.logger.inject_lambda_context(clear_state=True)(self.metrics.log_metrics(handler))

    @functools.cache  # noqa: B019 - one sweeper per function, alive as long as its process
    def dependencies(self) -> tuple[Outbox, EventPublisher]:
        settings = load(self.settings)
        return Outbox.of(
            DynamoTable(settings.table, aws.client("dynamodb")), self.declared
        ), settings.publisher()

    def __call__(self, event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        return dict(self._handler(event, context))

    def _sweep(self, event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        outbox, publisher = self.dependencies()
        published = outbox.sweep(publisher, older_than=utc_now() - GRACE)
        self.metrics.add_metric(name="OutboxRepublished", unit="Count", value=published)
        if published:
            self.logger.warning("republished events from the outbox", extra={"count": published})
        return {"published": published}

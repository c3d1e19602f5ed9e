"""The ``feedback-insights`` function: every mention (the insights queue takes them all) counted
into its week once, joined with its customer's value segment (``logic.insights.counters``)."""

from __future__ import annotations

import functools
from typing import Any

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from services.feedback.dal.insights import DynamoInsights
from services.feedback.handlers.env import FeedbackTableSettings
from services.feedback.handlers.mentions import classified_of
from services.feedback.logic import insights
from services.feedback.topology import INSIGHTS_FN
from shared import aws
from shared.clock import utc_now
from shared.consumers import SqsConsumer
from shared.dynamo import DynamoTable
from shared.observability import make_logger, make_metrics
from shared.settings import load

logger = make_logger()
metrics = make_metrics()


@functools.cache
def dependencies() -> DynamoInsights:
    settings = load(FeedbackTableSettings)
    return DynamoInsights(DynamoTable(settings.feedback_table, aws.client("dynamodb")))


def handle(record: SQSRecord) -> None:
    found = classified_of(record)
    store, now = dependencies(), utc_now()
    segment = store.segment_of(found.customer_id) if found.customer_id else None
    week = insights.week_of(found.received_at)
    if store.count(found.key, week, insights.counters(found, segment), request=found.found.request, now=now):
        metrics.add_metric(name="MentionCounted", unit="Count", value=1)


consume = SqsConsumer(INSIGHTS_FN.id, handle)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return consume(event, context)

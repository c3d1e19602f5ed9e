"""The ``feedback-alerts`` function: the person on duty is told at once of a negative mention with
a wide reach (the alerts queue takes only those: the subscription's filter policy), once per
mention (``ALERT#`` claim). The message names the source, the reach, the themes and the link to
the post, not its text (the on-duty channel is e-mail or SMS)."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from services.feedback.dal import keys
from services.feedback.dal.on_duty import tell_on_duty
from services.feedback.handlers.env import OnDutySettings
from services.feedback.handlers.mentions import classified_of
from services.feedback.topology import ALERTS
from shared import aws
from shared.clock import utc_now
from shared.consumers import SqsConsumer
from shared.dynamo import ConditionFailed, DynamoTable
from shared.observability import make_logger, make_metrics
from shared.settings import load

logger = make_logger()
metrics = make_metrics()


@dataclass(frozen=True)
class Dependencies:
    table: DynamoTable
    topic_arn: str


@functools.cache
def dependencies() -> Dependencies:
    settings = load(OnDutySettings)
    return Dependencies(
        DynamoTable(settings.feedback_table, aws.client("dynamodb")), settings.on_duty_topic_arn
    )


def handle(record: SQSRecord) -> None:
    found = classified_of(record)
    deps, now = dependencies(), utc_now()
    claim = {**keys.alert_key(found.key), "at": now.isoformat(), keys.TTL: int(now.timestamp()) + 30 * 86400}
    try:
        deps.table.put(claim, condition="attribute_not_exists(#pk)", names={"#pk": keys.PK})
    except ConditionFailed:
        return
    mention = found.mention
    try:
        tell_on_duty(
            deps.topic_arn,
            f"dangol: a negative {mention.source} mention reaching {mention.reach}",
            {
                "source": mention.source,
                "reach": mention.reach,
                "themes": list(found.found.themes),
                "complaint": found.found.complaint,
                "url": mention.url,
                "posted_at": mention.posted_at.isoformat(),
            },
        )
    except Exception:
        deps.table.delete(keys.alert_key(found.key))  # the retry tells them
        raise
    metrics.add_metric(name="OnDutyAlerted", unit="Count", value=1)
    logger.info("on duty told", extra={"source": mention.source, "reach": mention.reach})


consume = SqsConsumer(ALERTS.id, handle)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return consume(event, context)

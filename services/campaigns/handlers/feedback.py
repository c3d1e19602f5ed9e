"""What became of campaign e-mails (``campaigns-feedback``): SES's delivery, bounce and complaint
events, published by the stage's configuration set to the topic ``campaigns-email-events`` and
delivered raw to the queue ``campaigns-email-feedback`` (``logic.feedback``). A delivery adds to
the campaign's ``delivered``; a permanent bounce or a complaint to ``bounced`` / ``complained`` and
publishes ``EmailUndeliverable`` for the profile service. One effect per SES message and event type,
however often SQS brings it (``dal.feedback``); an event about no campaign e-mail is skipped.
Nothing of the event (addresses, diagnostics) is logged.
"""

from __future__ import annotations

import functools
from typing import Any

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from services.campaigns.dal.feedback import DynamoFeedback
from services.campaigns.handlers.env import CampaignsSettings
from services.campaigns.logic.feedback import read
from services.campaigns.models.feedback import SesEvent
from services.campaigns.topology import FEEDBACK
from shared import aws
from shared.clock import utc_now
from shared.consumers import SqsConsumer, message_of
from shared.dynamo import DynamoTable
from shared.observability import make_logger, make_metrics
from shared.settings import load

logger = make_logger()
metrics = make_metrics()


@functools.cache
def dependencies() -> DynamoFeedback:
    settings = load(CampaignsSettings)
    return DynamoFeedback(DynamoTable(settings.campaigns_table, aws.client("dynamodb")), settings.publisher())


def handle(record: SQSRecord) -> None:
    event = message_of(record, SesEvent)
    feedback = read(event, now=utc_now())
    if feedback is None:
        metrics.add_metric(name="feedback_ignored", unit="Count", value=1)
        return
    if dependencies().record(feedback):
        metrics.add_metric(name=f"feedback_{feedback.counter}", unit="Count", value=1)
        logger.info(
            "feedback counted",
            extra={"campaign_id": feedback.campaign_id, "run": feedback.run, "counter": feedback.counter},
        )


# No per-message claim: the effect itself is claimed (``FEEDBACK#<message id> / <event type>``) in
# the transaction that counts it, so a redelivery or a crash half-way can never count twice.
consume = SqsConsumer(FEEDBACK.id, handle)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return consume(event, context)

"""The sender (``campaigns-send``): one batch of a campaign run's recipients per message, a
decision for each at send time (``logic.delivery.Sender``). Recipients whose channel failed in a
way a retry may mend fail the record (its claims given back), so SQS brings the batch again;
the others keep their decisions (a redelivered batch sends nothing twice)."""

from __future__ import annotations

import functools
from typing import Any

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict, Field

from services.campaigns.dal.campaigns import DynamoCampaigns, TemplateReader, ViewFacts
from services.campaigns.dal.cards import InvokedCards
from services.campaigns.dal.channels import SnsSesChannels
from services.campaigns.dal.feedback import OutboxNotices
from services.campaigns.dal.journeys import DynamoAftermath, DynamoOffers, DynamoResults
from services.campaigns.handlers.env import SenderSettings
from services.campaigns.logic.delivery import RECIPIENTS_PER_MESSAGE, Caps, Pacer, Sender
from services.campaigns.models.campaigns import CAMPAIGN_ID_PATTERN
from shared import aws
from shared.clock import utc_now
from shared.consumers import SqsConsumer, message_of
from shared.dynamo import DynamoTable
from shared.observability import make_logger, make_metrics
from shared.settings import load

logger = make_logger()
metrics = make_metrics()


class Batch(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    campaign_id: str = Field(pattern=CAMPAIGN_ID_PATTERN)
    run: int = Field(ge=1)
    recipients: list[str] = Field(min_length=1, max_length=RECIPIENTS_PER_MESSAGE)


class Retry(RuntimeError):
    """Some recipients' channel failed in a way a retry may mend: the batch comes again."""


@functools.cache
def dependencies() -> Sender:
    settings = load(SenderSettings)
    table = DynamoTable(settings.campaigns_table, aws.client("dynamodb"))
    publisher = settings.publisher()
    return Sender(
        DynamoCampaigns(table),
        InvokedCards(settings.contacts_function),
        TemplateReader(table),
        ViewFacts(table),
        SnsSesChannels(
            sender_address=settings.email_sender,
            configuration_set=settings.email_configuration_set,
            push_applications=settings.push_applications,
        ),
        caps=Caps(daily=settings.daily_cap, weekly=settings.weekly_cap),
        pace=Pacer(settings.send_rate_per_s),
        notices=OutboxNotices(table, publisher),  # a dead push token: PushTokenDisabled
        aftermath=DynamoAftermath(DynamoResults(table), DynamoOffers(table, publisher)),
    )


def handle(record: SQSRecord) -> None:
    batch = message_of(record, Batch)
    done = dependencies().deliver(batch.campaign_id, batch.run, batch.recipients, now=utc_now())
    for decision, count in done.counts.items():
        if count > 0:
            metrics.add_metric(name=f"decision_{decision}", unit="Count", value=count)
    logger.info(
        "batch decided",
        extra={"campaign_id": batch.campaign_id, "run": batch.run, "decisions": dict(done.counts)},
    )
    if done.retry:
        raise Retry(f"{len(done.retry)} recipients to retry")


consume = SqsConsumer("campaigns-send", handle)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return consume(event, context)

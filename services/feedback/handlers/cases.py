"""The ``feedback-cases`` function: a case for each complaint mention (the cases queue takes only
those: the subscription's filter policy), opened once whatever SQS redelivers (the mention's
``CASEOF#`` claim is written with the case), linked to the customer behind the handle, with its
SLA timers. A loud one (reach ``ALERT_REACH`` and more) is high priority.

Nothing is read first: a redelivered mention's case loses on the claim and its timers are cancelled.
The batch's ``CaseOpened`` events go to the bus together when the batch is done (the outbox keeps
them until then)."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from services.feedback.dal import keys
from services.feedback.dal.cases import DynamoCases
from services.feedback.handlers.env import FeedbackSettings, TimerSettings
from services.feedback.handlers.mentions import classified_of
from services.feedback.logic import cases
from services.feedback.models.mention import ALERT_REACH
from services.feedback.topology import CASES
from shared import aws
from shared.clock import utc_now
from shared.consumers import SqsConsumer
from shared.dynamo import DynamoTable
from shared.errors import Conflict
from shared.ids import new_id
from shared.observability import make_logger, make_metrics
from shared.settings import load

logger = make_logger()
metrics = make_metrics()
SUBJECT_THEMES = 3


class CasesSettings(FeedbackSettings, TimerSettings):
    """The bus (CaseOpened), the table and the SLA timers."""


@dataclass(frozen=True)
class Dependencies:
    table: DynamoTable
    cases: DynamoCases


@functools.cache
def dependencies() -> Dependencies:
    settings = load(CasesSettings)
    table = DynamoTable(settings.feedback_table, aws.client("dynamodb"))
    return Dependencies(table, DynamoCases(table, settings.timers(), settings.publisher()))


def handle(record: SQSRecord) -> None:
    found = classified_of(record)
    deps, now = dependencies(), utc_now()
    mention = found.mention
    themes = ", ".join(found.found.themes[:SUBJECT_THEMES]) or "complaint"
    change = cases.open_case(
        case_id=new_id("case"),
        origin="mention",
        customer_id=found.customer_id,
        subject=f"{mention.source}: {themes}"[:120],
        description=mention.text[:2000],
        category=_category(found.found.themes),
        store_id=(found.found.stores[0] if found.found.stores else None),
        priority="high" if mention.reach >= ALERT_REACH else "normal",
        by="system",
        now=now,
        mention_key=found.key,
    )
    claim = {**keys.case_of_key(found.key), "case_id": change.case.case_id}
    try:
        deps.cases.write(
            change,
            expected_version=None,
            now=now,
            extra=[
                {
                    "Put": deps.table.put_op(
                        claim, condition="attribute_not_exists(#pk)", names={"#pk": keys.PK}
                    )
                }
            ],
        )
    except Conflict:
        deps.cases.drop_timers(change)
        logger.info("case already opened", extra={"source": mention.source})
        return
    metrics.add_metric(name="CaseOpenedFromMention", unit="Count", value=1)
    logger.info("case opened", extra={"case_id": change.case.case_id, "source": mention.source})


CATEGORIES = {
    "app": "app",
    "points": "points",
    "payment": "payment",
    "delivery": "delivery",
    "store": "store",
    "staff": "service",
    "service": "service",
    "wait": "service",
    "quality": "product",
    "hygiene": "product",
    "menu": "product",
    "price": "product",
    "coupon": "points",
    "order": "service",
}


def _category(themes: tuple[str, ...]) -> str:
    return next((CATEGORIES[t] for t in themes if t in CATEGORIES), "other")


consume = SqsConsumer(CASES.id, handle)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    with dependencies().cases.relaying_after():
        return consume(event, context)

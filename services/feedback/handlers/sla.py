"""The ``feedback-sla`` function: a case's timer fired (EventBridge Scheduler, through the SLA
queue). A deadline the case no longer has is ignored; a passed SLA deadline is breached once,
which escalates the case to the follow-up team and tells the person on duty; the confirmation
deadline closes a resolved case the customer never answered (``logic.cases.timer_fired``)."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict, Field

from services.feedback.dal.cases import DynamoCases
from services.feedback.dal.on_duty import tell_on_duty
from services.feedback.handlers.env import FeedbackSettings, OnDutySettings, TimerSettings
from services.feedback.logic import cases
from services.feedback.models.events import CASE_ID_PATTERN
from services.feedback.topology import SLA
from shared import aws
from shared.clock import utc_now
from shared.consumers import SqsConsumer, message_of
from shared.dynamo import DynamoTable
from shared.observability import make_logger, make_metrics
from shared.settings import load

logger = make_logger()
metrics = make_metrics()


class TimerFired(BaseModel):
    model_config = ConfigDict(extra="ignore")

    case_id: str = Field(pattern=CASE_ID_PATTERN)
    timer: str = Field(pattern=r"^[a-z_]{1,32}$")
    due: str = Field(max_length=40)


class SlaSettings(FeedbackSettings, TimerSettings, OnDutySettings):
    """The bus, the table, the timers and the on-duty topic."""


@dataclass(frozen=True)
class Dependencies:
    cases: DynamoCases
    on_duty: str


@functools.cache
def dependencies() -> Dependencies:
    settings = load(SlaSettings)
    table = DynamoTable(settings.feedback_table, aws.client("dynamodb"))
    return Dependencies(
        DynamoCases(table, settings.timers(), settings.publisher()), settings.on_duty_topic_arn
    )


def handle(record: SQSRecord) -> None:
    fired = message_of(record, TimerFired)
    deps, now = dependencies(), utc_now()
    case = deps.cases.get(fired.case_id)
    if case is None:  # erased, or never was
        return
    change = cases.timer_fired(case, fired.timer, fired.due, now=now)
    if not change.changed:
        return
    deps.cases.write(change, expected_version=case.version, now=now)  # a race: 409, and SQS retries
    if change.alert:
        tell_on_duty(
            deps.on_duty,
            f"dangol: case {case.case_id}: {change.alert}",
            {
                "case_id": case.case_id,
                "timer": fired.timer,
                "team": change.case.team,
                "priority": change.case.priority,
            },
        )
        metrics.add_metric(name="SlaBreached", unit="Count", value=1)
    logger.info(
        "timer handled", extra={"case_id": case.case_id, "timer": fired.timer, "status": change.case.status}
    )


consume = SqsConsumer(SLA.id, handle)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return consume(event, context)

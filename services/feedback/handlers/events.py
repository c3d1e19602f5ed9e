"""The ``feedback-events`` function: what the other services tell the feedback service.

- ``CustomerRegistered``: the login (Cognito sub) that is the customer, for ``/me/cases``.
- ``ValueSegmentChanged``: the customer's value segment, which the insights join mentions with.
- ``CustomerErased``: the customer's login link, segment and stored answers to her own requests
  go; their cases keep their figures but lose the customer, the text and the timeline's text;
  their mentions lose their text. (An agent's stored answer about her case keeps its copy until
  its 24-hour expiry: it is filed under the agent.)
- ``GoodwillCredited`` / ``GoodwillRefused``: the rewards service's answer to a grant on a case:
  the grant's status, and a line on the case's timeline.
Each message has one effect whatever SQS redelivers (the consumer's claims by event id).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from services.feedback.dal import keys
from services.feedback.dal.cases import DynamoCases, from_item
from services.feedback.handlers.env import FeedbackSettings
from services.feedback.logic import cases
from services.feedback.models import inbound
from services.feedback.topology import EVENTS
from shared import aws
from shared.clock import utc_now
from shared.consumers import BadEvent, SqsConsumer, eventbridge_event
from shared.dynamo import DynamoTable
from shared.idempotency import IdempotencyStore
from shared.observability import make_logger, make_metrics
from shared.settings import load

logger = make_logger()
metrics = make_metrics()


@dataclass(frozen=True)
class Dependencies:
    table: DynamoTable
    cases: DynamoCases
    dedupe: IdempotencyStore


@functools.cache
def dependencies() -> Dependencies:
    settings = load(FeedbackSettings)
    table = DynamoTable(settings.feedback_table, aws.client("dynamodb"))
    return Dependencies(
        table, DynamoCases(table, None, settings.publisher()), keys.claims(table, lock_s=EVENTS.timeout_s)
    )


def registered(record: SQSRecord) -> None:
    _, event = eventbridge_event(record, inbound.CustomerRegistered)
    if event.subject:
        table = dependencies().table
        table.put({**keys.login_key(event.subject), "customer_id": event.customer_id})
        table.put({keys.PK: f"CUSTOMER#{event.customer_id}", keys.SK: f"LOGIN#{event.subject}"})


def segment_changed(record: SQSRecord) -> None:
    _, event = eventbridge_event(record, inbound.ValueSegmentChanged)
    dependencies().table.put({**keys.value_key(event.customer_id), "segment": event.segment})


def erased(record: SQSRecord) -> None:
    _, event = eventbridge_event(record, inbound.CustomerErased)
    deps = dependencies()
    table, customer = deps.table, event.customer_id
    owned = table.query_all("#pk = :pk", names={"#pk": keys.PK}, values={":pk": f"CUSTOMER#{customer}"})
    for item in owned:
        sk = str(item[keys.SK])
        if sk.startswith("LOGIN#"):
            subject = sk.removeprefix("LOGIN#")
            table.delete(keys.login_key(subject))
            deps.dedupe.forget(subject)  # the answers to her own requests (her cases, her replies)
        elif sk.startswith("MENTION#"):
            table.update(
                keys.mention_key(sk.removeprefix("MENTION#")),
                "REMOVE classified SET erased = :t",
                values={":t": True},
            )
    table.batch_write(deletes=[{keys.PK: i[keys.PK], keys.SK: i[keys.SK]} for i in owned])
    for item in deps.cases.of_customer(customer):
        case = from_item(item)
        for line in deps.cases.timeline(case.case_id):
            if "text" in line:
                table.update(
                    {keys.PK: line[keys.PK], keys.SK: line[keys.SK]}, "REMOVE #t", names={"#t": "text"}
                )
        table.update(
            keys.case_key(case.case_id),
            "REMOVE customer_id, case_customer, description, csat_comment SET subject = :s",
            values={":s": "(erased)"},
        )
    logger.info("customer erased", extra={"customer_id": customer})


def goodwill_answered(
    grant_id: str, case_id: str, *, credited: bool, outcome: dict[str, Any], detail: dict[str, Any]
) -> None:
    """The grant's status (``outcome``: what to set), once: conditioned on it still being asked."""
    deps, now = dependencies(), utc_now()
    grant = deps.table.get(keys.grant_key(case_id, grant_id))
    case = deps.cases.get(case_id)
    if grant is None or case is None or grant.get("status") != "requested":
        return
    names = {"#s": "status", **{f"#{k}": k for k in outcome}}
    values: dict[str, Any] = {":s": "credited" if credited else "refused", ":r": "requested"}
    values |= {f":{k}": v for k, v in outcome.items()}
    update = "SET #s = :s" + "".join(f", #{k} = :{k}" for k in outcome)
    grant_update = deps.table.update_op(
        keys.grant_key(case_id, grant_id), update, condition="#s = :r", names=names, values=values
    )
    change = cases.goodwill_answered(case, grant_id, credited=credited, now=now, detail=detail)
    deps.cases.write(change, expected_version=case.version, now=now, extra=[{"Update": grant_update}])
    metrics.add_metric(name="GoodwillCredited" if credited else "GoodwillRefused", unit="Count", value=1)


def credited(record: SQSRecord) -> None:
    _, event = eventbridge_event(record, inbound.GoodwillCredited)
    goodwill_answered(
        event.grant_id,
        event.case_id,
        credited=True,
        outcome={"entry_id": event.entry_id},
        detail={"points": event.points},
    )


def refused(record: SQSRecord) -> None:
    _, event = eventbridge_event(record, inbound.GoodwillRefused)
    goodwill_answered(
        event.grant_id,
        event.case_id,
        credited=False,
        outcome={"refusal": event.reason},
        detail={"reason": event.reason},
    )


HANDLERS: dict[str, Callable[[SQSRecord], None]] = {
    "CustomerRegistered": registered,
    "ValueSegmentChanged": segment_changed,
    "CustomerErased": erased,
    "GoodwillCredited": credited,
    "GoodwillRefused": refused,
}


def handle(record: SQSRecord) -> None:
    body = record.json_body if isinstance(record.json_body, dict) else {}
    handler = HANDLERS.get(str(body.get("detail-type", "")))
    if handler is None:
        raise BadEvent([{"loc": ["detail-type"], "type": "unhandled"}])
    handler(record)


consume = SqsConsumer(EVENTS.id, handle, dedupe=lambda: dependencies().dedupe)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return consume(event, context)

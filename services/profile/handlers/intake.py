"""The intake queue's consumer: purchases, refunds and visits that store systems send at volume
to ``profile-purchases``.

A message body is JSON ``{"kind": "purchase" | "visit" | "refund", "data": {...}}``: ``data`` holds
the body of ``POST /purchases`` or ``POST /visits``, or for a refund ``{"external_id": <the
purchase's>, "refund_id": ..., "refunded_at": ...}``. (``data`` is nested, not merged into the
envelope, because a visit has a ``kind`` of its own: store or page.) The rules are the API's
(``logic.behaviour``), and so are the effects, events included.

- **Duplicates have one effect.** Every kind is idempotent on the sender's own ids (the
  external id's claim, the refund id), in the same transaction as its effect: a redelivered or
  re-sent message finds its claim and changes nothing. So no per-message dedupe claim is
  written (two fewer writes per message).
- **A message that cannot succeed as sent** (not JSON, unknown kind, invalid fields, unknown or
  erased customer, an external id reused with other content, a second refund of a purchase)
  fails with ``Rejected``: the consumer logs its message id, receive count and code (never the
  body), and after the queue's maxReceiveCount (5) it sits in ``profile-purchases-dlq`` for 14
  days, for an operator to inspect and redrive once the sender is fixed. Retrying first is
  right for some of them: SQS does not keep order, so a refund can arrive before its purchase
  (``purchase_not_found``) and succeeds on a later receive.
- Throttling, an unavailable dependency or a concurrent change of the same counters fails the
  message too (not as ``Rejected``): it is retried and normally succeeds.
- The events of a batch are published together once it is processed (PutEvents takes 10).
"""

from __future__ import annotations

import functools
import json
from typing import Any

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import Field, ValidationError

from services.profile.dal.behaviour import DEFAULT_WINDOW_DAYS, DynamoBehaviourStore
from services.profile.handlers.env import ProfileSettings
from services.profile.logic import behaviour
from services.profile.models.behaviour import PurchaseInput, RefundInput, RefundMessage, VisitInput
from services.profile.topology import INTAKE
from shared import aws
from shared.clock import utc_now
from shared.consumers import SqsConsumer
from shared.dynamo import DynamoTable
from shared.errors import DangolError
from shared.ids import new_id
from shared.observability import make_logger, make_metrics
from shared.settings import load

logger = make_logger()
metrics = make_metrics()
_TRANSIENT = frozenset({"concurrent_update", "transaction_conflict"})  # 409s that a retry resolves


class Rejected(Exception):
    """The message cannot succeed as it is: it fails on every receive until the DLQ takes it.
    ``problems`` name the code and the fields at fault (never their values)."""

    def __init__(self, code: str, problems: list[dict[str, Any]] | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.problems = [{"code": code}, *(problems or [])]


class IntakeQueueSettings(ProfileSettings):
    """The profile settings and the popularity counters' rolling window (as the intake API's)."""

    window_days: int = Field(alias="POPULARITY_WINDOW_DAYS", default=DEFAULT_WINDOW_DAYS, ge=1, le=366)


@functools.cache
def dependencies() -> DynamoBehaviourStore:
    settings = load(IntakeQueueSettings)
    table = DynamoTable(settings.profiles_table, aws.client("dynamodb"))
    return DynamoBehaviourStore(table, settings.publisher(), window_days=settings.window_days)


def _fields(exc: ValidationError) -> list[dict[str, Any]]:
    return [{"loc": [str(p) for p in e.get("loc", ())], "type": e.get("type", "")} for e in exc.errors()][:20]


def handle(record: SQSRecord) -> None:
    """Apply one message (see the module's docstring)."""
    try:
        body = json.loads(record.body)
    except ValueError:
        raise Rejected("malformed_json") from None
    if not isinstance(body, dict) or body.get("kind") not in {"purchase", "refund", "visit"}:
        raise Rejected("unknown_kind")
    if set(body) != {"kind", "data"} or not isinstance(body["data"], dict):
        raise Rejected("malformed_message")
    kind, data = body["kind"], body["data"]
    store = dependencies()
    try:
        if kind == "purchase":
            _, created = behaviour.record_purchase(
                store, PurchaseInput.model_validate(data), clock=utc_now, new_id=new_id
            )
            metrics.add_metric(name="PurchaseRecorded", unit="Count", value=int(created))
        elif kind == "visit":
            _, created = behaviour.record_visit(
                store, VisitInput.model_validate(data), clock=utc_now, new_id=new_id
            )
            metrics.add_metric(name="VisitRecorded", unit="Count", value=int(created))
        else:
            message = RefundMessage.model_validate(data)
            refund = RefundInput(refund_id=message.refund_id, refunded_at=message.refunded_at)
            _, created = behaviour.refund_purchase(store, message.external_id, refund, clock=utc_now)
            metrics.add_metric(name="PurchaseRefunded", unit="Count", value=int(created))
    except ValidationError as exc:
        raise Rejected("validation_error", _fields(exc)) from None
    except DangolError as exc:
        if exc.status >= 500 or exc.status == 429 or exc.code in _TRANSIENT:
            raise  # not the message's fault: retried as is
        problems = [{"loc": d.get("loc"), "type": d.get("type")} for d in exc.details][:20]
        raise Rejected(exc.code, problems) from None


consume = SqsConsumer(INTAKE.id, handle)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    with dependencies().batch():
        return consume(event, context)

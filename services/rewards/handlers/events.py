"""The profile service's events, as the rewards service acts on them (``rewards-events`` queue,
fed by the rule ``rewards-profile-events``): points at once for a purchase, the exact reversal of
a refund, sign-up points, gifts for qualifying purchases, pseudonymisation on erasure.

- **Duplicates have one effect**: every effect is keyed by the event's own ids in the ledger
  (``purchase:<id>``, ``refund:<id>``, ``signup``), so no per-message claim is written.
- **Out of order is fine**: a refund that arrives before its purchase (SQS keeps no order) is
  remembered, and the purchase then earns nothing.
- A malformed event (a contract break) fails with its field locations logged, never its values.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel

from services.rewards.dal.accounts import DynamoAccounts
from services.rewards.dal.ledger import PATIENT, DynamoLedgerStore
from services.rewards.dal.offers import DynamoOfferStore
from services.rewards.dal.programs import DynamoProgramStore
from services.rewards.dal.tiering import DynamoTierStore
from services.rewards.handlers.env import RewardsSettings
from services.rewards.logic import gifts, rewarding
from services.rewards.models import inbound
from shared import aws
from shared.clock import utc_now
from shared.consumers import BadEvent, SqsConsumer, eventbridge_event
from shared.dynamo import DynamoTable
from shared.observability import make_logger, make_metrics
from shared.settings import load

logger = make_logger()
metrics = make_metrics()


class _Gifts:
    """Gifts a purchase qualifies for (instant ones claimed, draw ones entered)."""

    def __init__(self, store: DynamoOfferStore) -> None:
        self.store = store

    def on_purchase(self, purchase: inbound.PurchaseRecorded) -> object:
        return gifts.on_purchase(
            self.store,
            customer_id=purchase.customer_id,
            purchase_id=purchase.purchase_id,
            store_id=purchase.store_id,
            currency=purchase.currency,
            total=purchase.total,
            at=purchase.purchased_at,
        )


@functools.cache
def dependencies() -> rewarding.Rewarding:
    settings = load(RewardsSettings)
    table = DynamoTable(settings.rewards_table, aws.client("dynamodb"))
    events = settings.publisher()
    return rewarding.Rewarding(
        ledger=DynamoLedgerStore(table, events, backoff=PATIENT),
        tiers=DynamoTierStore(table, events),
        programs=DynamoProgramStore(table, cache_s=60),
        accounts=DynamoAccounts(table),
        gifts=_Gifts(DynamoOfferStore(table, events)),
    )


def _on(model: type[BaseModel], effect: Callable[..., object]) -> Callable[[SQSRecord], None]:
    def apply(record: SQSRecord) -> None:
        _, event = eventbridge_event(record, model)
        effect(dependencies(), event, now=utc_now())

    return apply


HANDLERS: dict[str, Callable[[SQSRecord], None]] = {
    "PurchaseRecorded": _on(inbound.PurchaseRecorded, rewarding.purchase_recorded),
    "PurchaseRefunded": _on(inbound.PurchaseRefunded, rewarding.purchase_refunded),
    "CustomerRegistered": _on(inbound.CustomerRegistered, rewarding.customer_registered),
    "CustomerImported": _on(inbound.CustomerImported, rewarding.customer_imported),
    "CustomerErased": _on(inbound.CustomerErased, rewarding.customer_erased),
}


def handle(record: SQSRecord) -> None:
    body = record.json_body if record.body.startswith("{") else None
    detail_type = body.get("detail-type") if isinstance(body, dict) else None
    apply = HANDLERS.get(str(detail_type))
    if apply is None:
        raise BadEvent([{"loc": ["detail-type"], "type": "unexpected_event"}])
    apply(record)
    metrics.add_metric(name=str(detail_type), unit="Count", value=1)


consume = SqsConsumer("rewards-events", handle)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return consume(event, context)

"""The profile, campaigns and feedback services' events, as the rewards service acts on them
(``rewards-events`` queue, fed by the rules ``rewards-profile-events``,
``rewards-campaign-events`` and ``rewards-feedback-events``): points at once for a purchase, the
exact reversal of a refund, sign-up points, gifts for qualifying purchases, pseudonymisation on
erasure; a campaign's coupon and points offers, and its gifts' draws committed and drawn; goodwill
an agent granted on a complaint case, credited or refused and answered (``logic/goodwill.py``).

- **Duplicates have one effect**: every effect is keyed by the event's own ids in the ledger
  (``purchase:<id>``, ``refund:<id>``, ``signup``, ``campaign:<id>:<offer>``,
  ``goodwill:<grant_id>``: credited or refused, answered once), an offer's claim or a draw's own
  item, so no per-message claim is written.
- **Out of order is fine**: a refund that arrives before its purchase (SQS keeps no order) is
  remembered, and the purchase then earns nothing; a draw due before it was scheduled (or before
  its entries closed) is retried later.
- An offer or a draw that can do nothing (an unknown template or gift, a customer without a
  rewards account) is logged with a code and consumed: a redelivery could not change it. A case's
  goodwill refused (the agent's daily limit, no account, an erased customer) is answered with
  ``GoodwillRefused`` and consumed the same way.
- A malformed event (a contract break) fails with its field locations logged, never its values.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel

from services.rewards.dal.accounts import DynamoAccounts
from services.rewards.dal.draws import DynamoDrawStore
from services.rewards.dal.ledger import PATIENT, DynamoLedgerStore
from services.rewards.dal.offers import DynamoOfferStore
from services.rewards.dal.programs import DynamoProgramStore
from services.rewards.dal.tiering import DynamoTierStore
from services.rewards.handlers.env import GoodwillSettings
from services.rewards.logic import campaign_offers, draws, gifts, goodwill, rewarding
from services.rewards.models import inbound
from shared import aws
from shared.clock import utc_now
from shared.consumers import BadEvent, SqsConsumer, eventbridge_event
from shared.dynamo import DynamoTable
from shared.ids import new_id
from shared.observability import make_logger, make_metrics
from shared.settings import load

logger = make_logger()
metrics = make_metrics()
M = TypeVar("M", bound=BaseModel)


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


@dataclass(frozen=True)
class Dependencies:
    rewarding: rewarding.Rewarding
    accounts: DynamoAccounts
    offers: DynamoDrawStore  # coupons, gifts and their draws
    goodwill_daily_limit: int  # an agent's, the staff route's grants and the cases' together


@functools.cache
def dependencies() -> Dependencies:
    settings = load(GoodwillSettings)
    table = DynamoTable(settings.rewards_table, aws.client("dynamodb"))
    events = settings.publisher()
    offers, accounts = DynamoDrawStore(table, events), DynamoAccounts(table)
    return Dependencies(
        rewarding=rewarding.Rewarding(
            ledger=DynamoLedgerStore(table, events, backoff=PATIENT),
            tiers=DynamoTierStore(table, events),
            programs=DynamoProgramStore(table, cache_s=60),
            accounts=accounts,
            gifts=_Gifts(offers),
        ),
        accounts=accounts,
        offers=offers,
        goodwill_daily_limit=settings.goodwill_daily_limit,
    )


def _on(model: type[M], effect: Callable[[Dependencies, M, datetime], object]) -> Callable[[SQSRecord], None]:
    def apply(record: SQSRecord) -> None:
        _, event = eventbridge_event(record, model)
        effect(dependencies(), event, utc_now())

    return apply


def _profile(effect: Callable[..., object]) -> Callable[[Dependencies, BaseModel, datetime], object]:
    """A profile event's effect, on the rewarding ports."""
    return lambda deps, event, now: effect(deps.rewarding, event, now=now)


def _outcome(event: BaseModel, code: str, done: frozenset[str]) -> None:
    """Log what a campaign's or a case's event came to: a warning with its code when it did
    something unexpected (nothing new for a campaign's, a grant id reused for a case's)."""
    ids = {k: v for k, v in event.model_dump(mode="json").items() if k in _LOGGED_IDS}
    extra = {"event": type(event).__name__, "code": code, **ids}
    (logger.info if code in done else logger.warning)("event applied", extra=extra)
    metrics.add_metric(name=f"{type(event).__name__}_{code}", unit="Count", value=1)


_LOGGED_IDS = frozenset(
    {"offer_id", "campaign_id", "coupon_template_id", "gift_id", "draw", "grant_id", "case_id", "agent_id"}
)
# A case's grant answered (credited or refused, now or before): what is expected.
_GOODWILL_ANSWERED = frozenset(
    {"credited", "duplicate", "goodwill_limit_reached", "account_not_found", "customer_erased"}
)


def _offer_coupon(deps: Dependencies, offer: inbound.OfferCouponRequested, now: datetime) -> None:
    code = campaign_offers.coupon_offer(deps.offers, offer, now=now, new_id=lambda: new_id("cpn"))
    _outcome(offer, code, frozenset({"issued", "duplicate"}))


def _points_offer(deps: Dependencies, offer: inbound.PointsOfferRequested, now: datetime) -> None:
    code = campaign_offers.points_offer(deps.rewarding.ledger, deps.accounts, offer, now=now)
    _outcome(offer, code, frozenset({"credited", "duplicate"}))


def _draw_scheduled(deps: Dependencies, event: inbound.DrawScheduled, now: datetime) -> None:
    _outcome(event, draws.schedule(deps.offers, event, now=now), frozenset({"committed", "duplicate"}))


def _draw_due(deps: Dependencies, event: inbound.DrawDue, now: datetime) -> None:
    try:
        code = draws.run(deps.offers, event, now=now)
    except draws.NotYet as exc:  # failed, so retried later (the DLQ after the queue's receives)
        _outcome(event, exc.code, frozenset())
        raise
    _outcome(event, code, frozenset({"drawn", "duplicate"}))


def _goodwill(deps: Dependencies, request: inbound.GoodwillRequested, now: datetime) -> None:
    ledger = deps.rewarding.ledger
    code = goodwill.case_grant(ledger, request, limit=deps.goodwill_daily_limit, now=now)
    _outcome(request, code, _GOODWILL_ANSWERED)


HANDLERS: dict[str, Callable[[SQSRecord], None]] = {
    "PurchaseRecorded": _on(inbound.PurchaseRecorded, _profile(rewarding.purchase_recorded)),
    "PurchaseRefunded": _on(inbound.PurchaseRefunded, _profile(rewarding.purchase_refunded)),
    "CustomerRegistered": _on(inbound.CustomerRegistered, _profile(rewarding.customer_registered)),
    "CustomerImported": _on(inbound.CustomerImported, _profile(rewarding.customer_imported)),
    "CustomerErased": _on(inbound.CustomerErased, _profile(rewarding.customer_erased)),
    "OfferCouponRequested": _on(inbound.OfferCouponRequested, _offer_coupon),
    "PointsOfferRequested": _on(inbound.PointsOfferRequested, _points_offer),
    "DrawScheduled": _on(inbound.DrawScheduled, _draw_scheduled),
    "DrawDue": _on(inbound.DrawDue, _draw_due),
    "GoodwillRequested": _on(inbound.GoodwillRequested, _goodwill),
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

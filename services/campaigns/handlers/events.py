"""The profile and rewards services' events, as the campaigns service keeps its customer view
(``campaigns-events`` queue, fed by the rules ``campaigns-profile-events`` and
``campaigns-rewards-events``): the view changes, and the standing segments gain or lose the
customer. Duplicates have one effect (``logic.projection``); events out of order never let an
older state overwrite a newer one; ``CustomerErased`` removes the view and every membership at once.

Then what else the event means: the triggered campaigns it enters the customer into
(``logic.journeys``), the waiting entries a purchase ends, the conversions it makes (a purchase
within a message's attribution window), a login linked (``/me/offers``), an offer's coupon issued
or redeemed, a draw committed or drawn. Each of those is conditional on what it finds, so a
redelivered event has one effect.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel

from services.campaigns.dal.campaigns import DynamoCampaigns, QueuedWork
from services.campaigns.dal.draws import DynamoDraws
from services.campaigns.dal.journeys import DynamoJourneys, DynamoLogins, DynamoOffers, DynamoResults
from services.campaigns.dal.segments import DynamoSegments
from services.campaigns.dal.views import DynamoViews
from services.campaigns.handlers.env import TriggerSettings
from services.campaigns.logic import journeys
from services.campaigns.logic.projection import Projection
from services.campaigns.models import inbound
from shared import aws
from shared.clock import utc_now
from shared.consumers import BadEvent, SqsConsumer, eventbridge_event
from shared.dynamo import DynamoTable
from shared.observability import make_logger, make_metrics
from shared.settings import load

logger = make_logger()
metrics = make_metrics()

MODELS: dict[str, type[BaseModel]] = {
    "CustomerRegistered": inbound.CustomerRegistered,
    "CustomerImported": inbound.CustomerImported,
    "ConsentChanged": inbound.ConsentChanged,
    "ValueSegmentChanged": inbound.ValueSegmentChanged,
    "LifestyleGroupsChanged": inbound.LifestyleGroupsChanged,
    "PurchaseRecorded": inbound.PurchaseRecorded,
    "PurchaseRefunded": inbound.PurchaseRefunded,
    "VisitRecorded": inbound.VisitRecorded,
    "CustomerErased": inbound.CustomerErased,
    "TierChanged": inbound.TierChanged,
    "PointsExpiring": inbound.PointsExpiring,
    "PointsBalanceChanged": inbound.PointsBalanceChanged,
    "CouponRedeemed": inbound.CouponRedeemed,
}
PROJECTED = frozenset(MODELS)
MODELS |= {
    "AnniversaryUpcoming": inbound.AnniversaryUpcoming,
    "CouponIssued": inbound.CouponIssued,
    "DrawCommitted": inbound.DrawCommitted,
    "DrawCompleted": inbound.DrawCompleted,
}
HANDLERS = frozenset(MODELS)
OFFER_SOURCE = "offer:"
IMMEDIATE = dt.timedelta(seconds=2)


@dataclass(frozen=True)
class Dependencies:
    projection: Projection
    views: DynamoViews
    journeys: journeys.Journeys
    results: DynamoResults
    offers: DynamoOffers
    logins: DynamoLogins
    draws: DynamoDraws
    work: QueuedWork


@functools.cache
def dependencies() -> Dependencies:
    settings = load(TriggerSettings)
    table = DynamoTable(settings.campaigns_table, aws.client("dynamodb"))
    views = DynamoViews(table)
    return Dependencies(
        projection=Projection(views, DynamoSegments(table)),
        views=views,
        journeys=journeys.Journeys(DynamoJourneys(table, DynamoCampaigns(table))),
        results=DynamoResults(table),
        offers=DynamoOffers(table),
        logins=DynamoLogins(table),
        draws=DynamoDraws(table),
        work=settings.work(),
    )


def _follow(deps: Dependencies, detail_type: str, event: Any, at: dt.datetime) -> None:
    """What the event means beyond the view (the customer is not erased)."""
    if detail_type == "CustomerRegistered" and event.subject:
        deps.logins.link(event.subject, event.customer_id)
    elif detail_type == "PurchaseRecorded":
        deps.journeys.purchase(event.customer_id, event.purchased_at)
        deps.results.converted(
            event.customer_id,
            event.purchase_id,
            total=event.total,
            currency=event.currency,
            at=event.purchased_at,
        )
    elif detail_type in ("CouponIssued", "CouponRedeemed") and (event.source or "").startswith(OFFER_SOURCE):
        offer_id = event.source.removeprefix(OFFER_SOURCE)
        if detail_type == "CouponIssued":
            deps.offers.mark(event.customer_id, offer_id, "coupon_id", event.coupon_id)
        else:
            deps.offers.mark(event.customer_id, offer_id, "redeemed_at", event.redeemed_at.isoformat())


def handle(record: SQSRecord) -> None:
    body = record.json_body if record.body.startswith("{") else None
    detail_type = str(body.get("detail-type")) if isinstance(body, dict) else ""
    model = MODELS.get(detail_type)
    if model is None:
        raise BadEvent([{"loc": ["detail-type"], "type": "unexpected_event"}])
    envelope, event = eventbridge_event(record, model)
    at = dt.datetime.fromisoformat(envelope.occurred_at)
    deps, now = dependencies(), utc_now()
    if isinstance(event, inbound.DrawCommitted):
        deps.draws.committed(event.gift_id, event.draw, event.commitment)
    elif isinstance(event, inbound.DrawCompleted):
        deps.draws.completed(event.gift_id, event.draw, seed=event.seed, winners=len(event.winners))
    view = None
    if detail_type in PROJECTED:
        view = deps.projection.apply(detail_type, event, at=at, now=now).view
    customer_id: str | None = getattr(event, "customer_id", None)
    erased = customer_id is not None and (
        detail_type == "CustomerErased" or deps.views.load(customer_id).erased
    )
    metrics.add_metric(name=detail_type, unit="Count", value=1)
    if detail_type == "CustomerErased":
        return
    if customer_id is not None and not erased:
        _follow(deps, detail_type, event, at)
    found = [
        o
        for o in journeys.occasions(detail_type, event, view, at)
        if not (erased if o.customer_id == customer_id else deps.views.load(o.customer_id).erased)
    ]
    if found:
        entered = deps.journeys.on(found, view, now=now)
        for entry in entered:
            logger.info(
                "entered",
                extra={"campaign_id": entry.campaign_id, "run": entry.run, "excluded": entry.excluded},
            )
        # No delay: straight to the sender (its claim makes the releaser's later batch harmless)
        for entry in (e for e in entered if e.due_by(now + IMMEDIATE)):
            deps.work.batches(entry.campaign_id, entry.run, [[entry.customer_id]], delay_s=0)


consume = SqsConsumer("campaigns-events", handle)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return consume(event, context)

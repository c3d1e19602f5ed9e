"""The intake API: store and e-commerce systems (the machine role) send purchases, refunds and
visits, one by one or up to 100 at a time; staff read a customer's purchases and usual at the
counter; marketing reads what sells at each local hour.

Statuses: a new purchase or visit is 201; the same one again (same external id, same content)
is 200 with the first result and ``Idempotent-Replayed: true`` (no second event); the same
external id with other content is 409 ``external_id_reused``; an unknown or erased customer is
422 ``customer_not_found`` / ``customer_erased``. Batches answer 200 with one result per item,
each with the status and code it would have had alone (see ``logic.behaviour``).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, Field

from services.profile.dal.behaviour import DEFAULT_WINDOW_DAYS, DynamoBehaviourStore
from services.profile.handlers.env import ProfileSettings
from services.profile.logic import behaviour
from services.profile.models.behaviour import (
    EXTERNAL_ID_PATTERN,
    STORE_ID_PATTERN,
    BatchResult,
    CustomerUsual,
    Purchase,
    PurchaseBatch,
    PurchaseInput,
    RefundInput,
    StorePopularity,
    Visit,
    VisitBatch,
    VisitInput,
)
from services.profile.topology import (
    CUSTOMER_PURCHASES,
    CUSTOMER_USUAL,
    INTAKE_API,
    PURCHASE_BATCH,
    PURCHASE_RECORD,
    PURCHASE_REFUND,
    SERVICE,
    STORE_POPULARITY,
    VISIT_BATCH,
    VISIT_RECORD,
)
from shared import aws
from shared.api import JSON, make_resolver, respond
from shared.clock import utc_now
from shared.dynamo import DynamoTable
from shared.idempotency import REPLAYED_HEADER
from shared.ids import new_id
from shared.observability import make_logger, make_metrics
from shared.pagination import Page, decode_cursor, encode_cursor, page_size
from shared.params import Cursor, CustomerId, Limit
from shared.settings import ListSettings, load

logger = make_logger()
metrics = make_metrics()


class IntakeSettings(ProfileSettings, ListSettings):
    """The profile settings, the cursor key, and the popularity counters' rolling window."""

    window_days: int = Field(alias="POPULARITY_WINDOW_DAYS", default=DEFAULT_WINDOW_DAYS, ge=1, le=366)


@dataclass(frozen=True)
class Dependencies:
    settings: IntakeSettings
    store: DynamoBehaviourStore


@functools.cache
def dependencies() -> Dependencies:
    """Built once per cold start, on first use (settings validated here)."""
    settings = load(IntakeSettings)
    table = DynamoTable(settings.profiles_table, aws.client("dynamodb"))
    store = DynamoBehaviourStore(table, settings.publisher(), window_days=settings.window_days)
    return Dependencies(settings=settings, store=store)


app = make_resolver(SERVICE, INTAKE_API)


REPLAYED = "Recorded before with the same content: the first result"


def _recorded(model: BaseModel, created: bool) -> Response[Any]:
    if created:
        return respond(model, status=201)
    return Response(status_code=200, content_type=JSON, body=model, headers={REPLAYED_HEADER: "true"})


# -- intake (machine) -------------------------------------------------------------------------


@app.on(PURCHASE_RECORD, status=201, description="Recorded", errors=(409,), also={200: REPLAYED})
def record_purchase(body: PurchaseInput) -> Response[Purchase]:
    purchase, created = behaviour.record_purchase(dependencies().store, body, clock=utc_now, new_id=new_id)
    if created:
        metrics.add_metric(name="PurchaseRecorded", unit="Count", value=1)
        logger.info("purchase recorded", extra={"purchase_id": purchase.purchase_id})
    return _recorded(purchase, created)


@app.on(PURCHASE_BATCH, description="One result per purchase, in order")
def record_purchases(body: PurchaseBatch) -> BatchResult:
    result = behaviour.record_purchases(dependencies().store, body.purchases, clock=utc_now, new_id=new_id)
    metrics.add_metric(name="PurchaseRecorded", unit="Count", value=result.recorded)
    logger.info("purchase batch", extra={"recorded": result.recorded, "failed": result.failed})
    return result


@app.on(PURCHASE_REFUND, description="Refunded", errors=(409,))
def refund_purchase(
    external_id: Annotated[str, Path(pattern=EXTERNAL_ID_PATTERN)], body: RefundInput
) -> Response[Purchase]:
    refunded, created = behaviour.refund_purchase(dependencies().store, external_id, body, clock=utc_now)
    if created:
        metrics.add_metric(name="PurchaseRefunded", unit="Count", value=1)
        logger.info("purchase refunded", extra={"purchase_id": refunded.purchase_id})
    return respond(refunded) if created else _recorded(refunded, False)


@app.on(VISIT_RECORD, status=201, description="Recorded", errors=(409,), also={200: REPLAYED})
def record_visit(body: VisitInput) -> Response[Visit]:
    visit, created = behaviour.record_visit(dependencies().store, body, clock=utc_now, new_id=new_id)
    if created:
        metrics.add_metric(name="VisitRecorded", unit="Count", value=1)
    return _recorded(visit, created)


@app.on(VISIT_BATCH, description="One result per visit, in order")
def record_visits(body: VisitBatch) -> BatchResult:
    result = behaviour.record_visits(dependencies().store, body.visits, clock=utc_now, new_id=new_id)
    metrics.add_metric(name="VisitRecorded", unit="Count", value=result.recorded)
    return result


# -- reads (staff, marketing) -----------------------------------------------------------------


@app.on(CUSTOMER_USUAL)
def customer_usual(
    customer_id: CustomerId,
    limit: Annotated[int, Query(ge=1, le=10, description="Items per daypart (3)")] = 3,
) -> CustomerUsual:
    return behaviour.customer_usual(dependencies().store, customer_id, limit=limit)


@app.on(CUSTOMER_PURCHASES, errors=(400,))
def customer_purchases(
    customer_id: CustomerId,
    limit: Limit = None,
    cursor: Cursor = None,
) -> Page[Purchase]:
    key, scope = dependencies().settings.cursor_key, f"{CUSTOMER_PURCHASES.key}#{customer_id}"
    size, start = page_size(limit), decode_cursor(cursor, scope=scope, key=key)
    items, last = behaviour.customer_purchases(dependencies().store, customer_id, limit=size, start=start)
    return Page[Purchase](items=items, next_cursor=encode_cursor(last, scope=scope, key=key))


@app.on(STORE_POPULARITY)
def store_popularity(
    store_id: Annotated[str, Path(pattern=STORE_ID_PATTERN)],
    hour: Annotated[int | None, Query(ge=0, le=23, description="One local hour (else all 24)")] = None,
    window_days: Annotated[
        int | None, Query(ge=1, le=366, description="Local days up to today (the whole window, 28)")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=50, description="Items per hour (10)")] = 10,
) -> StorePopularity:
    return behaviour.store_popularity(
        dependencies().store, store_id, hour=hour, window_days=window_days, limit=limit, clock=utc_now
    )


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)

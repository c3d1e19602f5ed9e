"""The ``rewards-api`` function: customers' and staff's points views, goodwill, holds at the counter.

Customers reach only ``/me/...`` (their login's ``subject`` resolves to their account);
``/customers/{id}/...`` are staff's (views, goodwill) or store systems' (holds), as the topology
allows. Goodwill honours ``Idempotency-Key`` through the resolver and through its source; holds are
idempotent by their order id. A hold needs the customer's member code (``logic/presence.py``) and
is the placing till's alone: another client neither sees nor closes it.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import Field

from services.rewards.dal.identity import customer_id_of
from services.rewards.dal.keys import claims
from services.rewards.dal.ledger import DynamoLedgerStore
from services.rewards.dal.presence import DynamoMemberCodes
from services.rewards.dal.programs import DynamoProgramStore
from services.rewards.dal.tiering import DynamoTierStore
from services.rewards.handlers.env import GoodwillSettings
from services.rewards.logic import goodwill, ledger, presence, tiering
from services.rewards.models.ledger import (
    ORDER_ID_PATTERN,
    AccountView,
    AdjustmentRequest,
    CaptureRequest,
    Entry,
    Hold,
    HoldRequest,
    ReleaseRequest,
)
from services.rewards.models.presence import MemberAtCounter, MemberCode, MemberCodeLookup
from services.rewards.topology import (
    API,
    CUSTOMER_HISTORY,
    CUSTOMER_POINTS,
    GOODWILL_ADJUST,
    HOLD_CAPTURE,
    HOLD_GET,
    HOLD_PLACE,
    HOLD_RELEASE,
    MEMBER_CODE_CREATE,
    MEMBER_CODE_LOOKUP,
    MY_HISTORY,
    MY_POINTS,
    SERVICE,
)
from shared import aws, idempotency
from shared.api import make_resolver, respond
from shared.clock import utc_now
from shared.dynamo import DynamoTable
from shared.errors import NotFound
from shared.idempotency import IdempotencyStore
from shared.ids import ulid
from shared.observability import make_logger, make_metrics
from shared.pagination import Page, cursor_after, page_size, resume_after
from shared.params import Cursor, CustomerId, Limit
from shared.settings import ListSettings, load

logger = make_logger()
metrics = make_metrics()
OrderId = Annotated[str, Path(pattern=ORDER_ID_PATTERN)]


class ApiSettings(GoodwillSettings, ListSettings):
    """The rewards settings, the cursor key, the goodwill limit and the default hold time."""

    hold_minutes: int = Field(alias="HOLD_MINUTES", ge=1, le=1440)


@dataclass(frozen=True)
class Dependencies:
    settings: ApiSettings
    table: DynamoTable
    ledger: DynamoLedgerStore
    tiers: DynamoTierStore
    programs: DynamoProgramStore
    idempotency: IdempotencyStore
    member_codes: DynamoMemberCodes


@functools.cache
def dependencies() -> Dependencies:
    """Built once per cold start, on first use (settings validated here)."""
    settings = load(ApiSettings)
    table = DynamoTable(settings.rewards_table, aws.client("dynamodb"))
    events = settings.publisher()
    return Dependencies(
        settings=settings,
        table=table,
        ledger=DynamoLedgerStore(table, events),
        tiers=DynamoTierStore(table, events),
        programs=DynamoProgramStore(table, cache_s=60),
        idempotency=claims(table, lock_s=API.timeout_s),
        member_codes=DynamoMemberCodes(table),
    )


app = make_resolver(SERVICE, API, idempotency_store=lambda: dependencies().idempotency)


def _me() -> str:
    customer = customer_id_of(dependencies().table, app.caller.subject)
    if customer is None:
        raise NotFound("You have no points account yet.", code="account_not_found")
    return customer


def _points(customer_id: str) -> AccountView:
    """The account, with where the customer stands in the tier program."""
    deps, now = dependencies(), utc_now()
    view = ledger.account(deps.ledger, customer_id, now=now)
    progress = tiering.progress(deps.tiers, deps.programs.tier_program(), customer_id, now=now)
    return view.model_copy(update={"tier_progress": progress})


def _history(scope: str, customer_id: str, limit: int | None, cursor: str | None) -> Page[Entry]:
    key, size = dependencies().settings.cursor_key, page_size(limit)
    after = resume_after(cursor, scope=scope, key=key)
    entries, last = ledger.history(dependencies().ledger, customer_id, after=after, limit=size)
    return Page[Entry](items=entries, next_cursor=cursor_after(last, scope=scope, key=key))


@app.on(MEMBER_CODE_CREATE, status=201, description="Made", errors=(404,))
def make_member_code() -> Response[MemberCode]:
    code = presence.issue(dependencies().member_codes, _me(), now=utc_now())
    return respond(code, status=201)


@app.on(MEMBER_CODE_LOOKUP, errors=(403,))
def who_is_at_the_counter(body: MemberCodeLookup) -> MemberAtCounter:
    return presence.who(dependencies().member_codes, body.member_code, now=utc_now())


def _placed_here(customer_id: str, order_id: str) -> Hold:
    """The order's hold if this till placed it (404 ``hold_not_found`` for any other client)."""
    hold = dependencies().ledger.hold(customer_id, order_id)
    if hold is None or hold.actor != app.caller.subject:
        raise NotFound("No hold for this order.", code="hold_not_found")
    return hold


@app.on(MY_POINTS, errors=(404,))
def my_points() -> AccountView:
    return _points(_me())


@app.on(MY_HISTORY, errors=(400, 404))
def my_history(limit: Limit = None, cursor: Cursor = None) -> Page[Entry]:
    customer = _me()
    return _history(f"{MY_HISTORY.key}#{customer}", customer, limit, cursor)


@app.on(CUSTOMER_POINTS, errors=(404,))
def customer_points(customer_id: CustomerId) -> AccountView:
    return _points(customer_id)


@app.on(CUSTOMER_HISTORY, errors=(400, 404))
def customer_history(customer_id: CustomerId, limit: Limit = None, cursor: Cursor = None) -> Page[Entry]:
    return _history(f"{CUSTOMER_HISTORY.key}#{customer_id}", customer_id, limit, cursor)


@app.on(GOODWILL_ADJUST, status=201, description="Granted", errors=(400, 404, 409))
def adjust_points(customer_id: CustomerId, body: AdjustmentRequest) -> Response[Entry]:
    deps, now, agent = dependencies(), utc_now(), app.caller.subject
    key = app.current_event.headers.get(idempotency.HEADER)
    allowance = goodwill.allowance(agent, now, deps.settings.goodwill_daily_limit)  # shared with cases'
    applied = ledger.adjust(
        deps.ledger,
        customer_id=customer_id,
        points=body.points,
        source=f"adjust:{key or ulid()}",
        actor=agent,
        reason=body.reason,
        now=now,
        expires_at=now + goodwill.GOODWILL_VALID,
        allowance=allowance,
    )
    logger.info(
        "goodwill",
        extra={
            "agent_id": agent,
            "customer_id": customer_id,
            "points": body.points,
            "entry_id": applied.entry.id,
        },
    )
    return respond(applied.entry, status=201 if applied.created else 200)


@app.on(
    HOLD_PLACE,
    status=201,
    description="Held",
    errors=(403, 404, 409),
    also={200: "The same hold, already placed"},
)
def place_hold(customer_id: CustomerId, order_id: OrderId, body: HoldRequest) -> Response[Hold]:
    deps, now = dependencies(), utc_now()
    presence.present(
        deps.member_codes,
        body.member_code,
        customer_id,
        client=app.caller.subject,
        order_id=order_id,
        now=now,
    )
    minutes = body.minutes or deps.settings.hold_minutes
    hold, created = ledger.place_hold(
        deps.ledger,
        customer_id=customer_id,
        order_id=order_id,
        points=body.points,
        expires_at=now + timedelta(minutes=minutes),
        actor=app.caller.subject,
        now=now,
        store_id=body.store_id,
    )
    logger.info("hold placed", extra={"customer_id": customer_id, "order_id": order_id, "new_hold": created})
    return respond(hold, status=201 if created else 200)


@app.on(HOLD_GET, errors=(404,))
def get_hold(customer_id: CustomerId, order_id: OrderId) -> Hold:
    return _placed_here(customer_id, order_id)


@app.on(HOLD_CAPTURE, errors=(400, 404, 409))
def capture_hold(customer_id: CustomerId, order_id: OrderId, body: CaptureRequest) -> Hold:
    _placed_here(customer_id, order_id)
    hold = ledger.capture(
        dependencies().ledger,
        customer_id=customer_id,
        order_id=order_id,
        points=body.points,
        actor=app.caller.subject,
        now=utc_now(),
    )
    logger.info("hold captured", extra={"customer_id": customer_id, "order_id": order_id})
    return hold


@app.on(HOLD_RELEASE, errors=(404, 409))
def release_hold(customer_id: CustomerId, order_id: OrderId, body: ReleaseRequest) -> Hold:
    _placed_here(customer_id, order_id)
    hold = ledger.release(
        dependencies().ledger,
        customer_id=customer_id,
        order_id=order_id,
        actor=app.caller.subject,
        now=utc_now(),
    )
    logger.info("hold released", extra={"customer_id": customer_id, "order_id": order_id})
    return hold


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)

"""The offers API: coupon templates, issuance, redemption at the counter and wallets; limited-
stock gifts, their draws and the gifts a customer won; the scheduled draws anyone may check
(``/draws/...``, public: no token, no customer id in the answer). Thin routes: parse, call one
logic function, return a model. Customers reach only ``/me/...``; codes are never logged."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from services.rewards.dal.draws import DynamoDrawStore
from services.rewards.dal.keys import claims
from services.rewards.dal.presence import DynamoMemberCodes
from services.rewards.handlers.env import RewardsSettings
from services.rewards.logic import coupons, draws, gifts, presence
from services.rewards.models.draws import DRAW_NUMBER_PATTERN, DrawVerification, MyDrawEntry, PublicDraw
from services.rewards.models.offers import (
    GIFT_ID_PATTERN,
    TEMPLATE_ID_PATTERN,
    Coupon,
    CouponTemplate,
    DrawRequest,
    DrawResult,
    Gift,
    GiftCreate,
    Issuance,
    IssueRequest,
    RedeemRequest,
    Redemption,
    TemplateCreate,
    WonGift,
)
from services.rewards.topology import (
    COUPON_ISSUE,
    COUPON_REDEEM,
    COUPON_TEMPLATE_CREATE,
    COUPON_TEMPLATE_GET,
    COUPON_TEMPLATE_LIST,
    COUPON_TEMPLATE_RETIRE,
    CUSTOMER_COUPONS,
    DRAW_GET,
    DRAW_VERIFY,
    GIFT_CREATE,
    GIFT_DRAW,
    GIFT_GET,
    GIFT_LIST,
    MY_COUPONS,
    MY_DRAW_ENTRIES,
    MY_GIFTS,
    OFFERS_API,
    SERVICE,
)
from shared import aws
from shared.api import make_resolver, no_content, respond
from shared.clock import utc_now
from shared.dynamo import DynamoTable
from shared.idempotency import IdempotencyStore
from shared.ids import new_id
from shared.observability import make_logger, make_metrics
from shared.pagination import Page, cursor_after, page_size, resume_after
from shared.params import Cursor, CustomerId, Limit
from shared.settings import ListSettings, load
from shared.topology import Route

logger = make_logger()
metrics = make_metrics()
TemplateId = Annotated[str, Path(pattern=TEMPLATE_ID_PATTERN)]
GiftId = Annotated[str, Path(pattern=GIFT_ID_PATTERN)]
DrawNumber = Annotated[str, Path(pattern=DRAW_NUMBER_PATTERN, description="The draw's number, 1..50")]


class OffersApiSettings(RewardsSettings, ListSettings):
    """The rewards functions' settings plus the key that signs list cursors."""


@dataclass(frozen=True)
class Dependencies:
    settings: OffersApiSettings
    store: DynamoDrawStore  # coupons, gifts and their draws
    idempotency: IdempotencyStore
    member_codes: DynamoMemberCodes


@functools.cache
def dependencies() -> Dependencies:
    """Built once per cold start, on first use (settings validated here)."""
    settings = load(OffersApiSettings)
    table = DynamoTable(settings.rewards_table, aws.client("dynamodb"))
    return Dependencies(
        settings=settings,
        store=DynamoDrawStore(table, settings.publisher()),
        idempotency=claims(table, lock_s=OFFERS_API.timeout_s),
        member_codes=DynamoMemberCodes(table),
    )


app = make_resolver(SERVICE, OFFERS_API, idempotency_store=lambda: dependencies().idempotency)


def _after(cursor: str | None, scope: str) -> str | None:
    return resume_after(cursor, scope=scope, key=dependencies().settings.cursor_key)


def _cursor(last: str | None, scope: str) -> str | None:
    return cursor_after(last, scope=scope, key=dependencies().settings.cursor_key)


def _scope(route: Route, *parts: str) -> str:
    return "#".join((route.key, *parts))


def _me() -> str:
    return coupons.account_of(dependencies().store, app.caller.subject)


# -- coupon templates ---------------------------------------------------------------------------


@app.on(COUPON_TEMPLATE_CREATE, status=201, description="Created")
def create_template(body: TemplateCreate) -> Response[CouponTemplate]:
    created = coupons.create_template(dependencies().store, body, clock=utc_now, new_id=lambda: new_id("ctp"))
    logger.info("coupon template created", extra={"template_id": created.id})
    return respond(created, status=201)


@app.on(COUPON_TEMPLATE_LIST, errors=(400,))
def list_templates(limit: Limit = None, cursor: Cursor = None) -> Page[CouponTemplate]:
    scope = _scope(COUPON_TEMPLATE_LIST)
    found, last = coupons.templates(dependencies().store, after=_after(cursor, scope), limit=page_size(limit))
    return Page[CouponTemplate](items=found, next_cursor=_cursor(last, scope))


@app.on(COUPON_TEMPLATE_GET, errors=(404,))
def get_template(template_id: TemplateId) -> CouponTemplate:
    return coupons.template(dependencies().store, template_id)


@app.on(COUPON_TEMPLATE_RETIRE, status=204, description="Retired", errors=(404,))
def retire_template(template_id: TemplateId) -> Response[None]:
    coupons.retire_template(dependencies().store, template_id)
    logger.info("coupon template retired", extra={"template_id": template_id})
    return no_content()


@app.on(COUPON_ISSUE, errors=(404, 409))
def issue_coupons(template_id: TemplateId, body: IssueRequest) -> Issuance:
    issued = coupons.issue(
        dependencies().store, template_id, body.customer_ids, clock=utc_now, new_id=lambda: new_id("cpn")
    )
    count = sum(r.status == "issued" for r in issued.results)
    metrics.add_metric(name="CouponsIssued", unit="Count", value=count)
    logger.info("coupons issued", extra={"template_id": template_id, "issued": count})
    return issued


# -- coupons: wallets and the counter -----------------------------------------------------------


@app.on(MY_COUPONS, errors=(400, 404))
def my_coupons(limit: Limit = None, cursor: Cursor = None) -> Page[Coupon]:
    customer_id = _me()
    scope = _scope(MY_COUPONS, customer_id)
    found, last = coupons.wallet(
        dependencies().store,
        customer_id,
        after=_after(cursor, scope),
        limit=page_size(limit),
        now=utc_now(),
        show_code=True,
    )
    return Page[Coupon](items=found, next_cursor=_cursor(last, scope))


@app.on(CUSTOMER_COUPONS, errors=(400,))
def customer_coupons(customer_id: CustomerId, limit: Limit = None, cursor: Cursor = None) -> Page[Coupon]:
    coupons.existing_account(dependencies().store, customer_id)
    scope = _scope(CUSTOMER_COUPONS, customer_id)
    found, last = coupons.wallet(
        dependencies().store,
        customer_id,
        after=_after(cursor, scope),
        limit=page_size(limit),
        now=utc_now(),
        show_code=False,
    )
    return Page[Coupon](items=found, next_cursor=_cursor(last, scope))


@app.on(COUPON_REDEEM, errors=(403, 404, 409))
def redeem_coupon(body: RedeemRequest) -> Redemption:
    deps = dependencies()
    presence.present(
        deps.member_codes,
        body.member_code,
        body.customer_id,
        client=app.caller.subject,
        order_id=body.order_id,
        now=utc_now(),
    )
    redeemed = coupons.redeem(deps.store, body.code, body, clock=utc_now)
    logger.info("coupon redeemed", extra={"coupon_id": redeemed.coupon_id, "discount": redeemed.discount})
    return redeemed


# -- gifts ----------------------------------------------------------------------------------------


@app.on(GIFT_CREATE, status=201, description="Created")
def create_gift(body: GiftCreate) -> Response[Gift]:
    created = gifts.create_gift(dependencies().store, body, clock=utc_now, new_id=lambda: new_id("gft"))
    logger.info("gift created", extra={"gift_id": created.id, "stock": created.stock})
    return respond(created, status=201)


@app.on(GIFT_LIST, errors=(400,))
def list_gifts(limit: Limit = None, cursor: Cursor = None) -> Page[Gift]:
    scope = _scope(GIFT_LIST)
    found, last = gifts.gifts(dependencies().store, after=_after(cursor, scope), limit=page_size(limit))
    return Page[Gift](items=found, next_cursor=_cursor(last, scope))


@app.on(GIFT_GET, errors=(404,))
def get_gift(gift_id: GiftId) -> Gift:
    return gifts.gift(dependencies().store, gift_id)


@app.on(GIFT_DRAW, errors=(404, 409))
def draw_gift(gift_id: GiftId, body: DrawRequest) -> DrawResult:
    drawn = gifts.draw(dependencies().store, gift_id, body.winners, clock=utc_now)
    metrics.add_metric(name="GiftsDrawn", unit="Count", value=len(drawn.winners))
    logger.info("gift drawn", extra={"gift_id": gift_id, "winners": len(drawn.winners)})
    return drawn


@app.on(MY_GIFTS, errors=(400, 404))
def my_gifts(limit: Limit = None, cursor: Cursor = None) -> Page[WonGift]:
    customer_id = _me()
    scope = _scope(MY_GIFTS, customer_id)
    found, last = gifts.won_gifts(
        dependencies().store, customer_id, after=_after(cursor, scope), limit=page_size(limit)
    )
    return Page[WonGift](items=found, next_cursor=_cursor(last, scope))


@app.on(MY_DRAW_ENTRIES, errors=(400, 404))
def my_draw_entries(limit: Limit = None, cursor: Cursor = None) -> Page[MyDrawEntry]:
    customer_id = _me()
    scope = _scope(MY_DRAW_ENTRIES, customer_id)
    found, last = draws.my_entries(
        dependencies().store, customer_id, after=_after(cursor, scope), limit=page_size(limit)
    )
    return Page[MyDrawEntry](items=found, next_cursor=_cursor(last, scope))


# -- scheduled draws, for anyone to check (public) ---------------------------------------------


@app.on(DRAW_GET, errors=(404,))
def get_draw(gift_id: GiftId, draw: DrawNumber) -> PublicDraw:
    return draws.public(dependencies().store, gift_id, int(draw), now=utc_now())


@app.on(DRAW_VERIFY, errors=(404, 409))
def verify_draw(gift_id: GiftId, draw: DrawNumber) -> DrawVerification:
    return draws.verify(dependencies().store, gift_id, int(draw))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)

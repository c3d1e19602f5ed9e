"""Coupons: templates, issuance to customers, redemption at the counter, and the wallet.
No boto3 here: the store, the clock and the id and code makers are passed in.

A code is 16 symbols of an unambiguous 32-symbol alphabet (no 0/O, no 1/I) drawn with
``secrets``: 80 bits, shown as ``XXXX-XXXX-XXXX-XXXX``. It is a bearer secret: it is never
logged or put in an event, and the table keys it by its SHA-256 only. A coupon is single-use:
redeeming it for an order is one conditional write; the same order again gets the same
result, another order is 409 ``coupon_already_redeemed``.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Protocol

from services.rewards.models.offers import (
    AmountOff,
    Coupon,
    CouponRecord,
    CouponStatus,
    CouponTemplate,
    Discount,
    Issuance,
    IssueResult,
    IssueStatus,
    RedeemRequest,
    Redemption,
    Stale,
    TemplateCreate,
)
from shared.clock import Clock
from shared.errors import Conflict, NotFound, Unprocessable

ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
CODE_LENGTH = 16  # 16 x log2(32) = 80 bits
GROUP = 4
ATTEMPTS = 5  # each failed round means the coupon changed: read it again
_STOPPERS: frozenset[IssueStatus] = frozenset({"template_retired", "max_issued_reached"})


class AccountLookup(Protocol):
    def customer_of(self, subject: str) -> str | None: ...
    def has_account(self, customer_id: str) -> bool: ...
    def accounts_among(self, customer_ids: Sequence[str]) -> dict[str, bool]:
        """Those with an account, each with whether it was erased."""
        ...


class CouponStore(AccountLookup, Protocol):
    def create_template(self, template: CouponTemplate) -> None: ...
    def template(self, template_id: str) -> CouponTemplate | None: ...
    def templates(self, *, after: str | None, limit: int) -> tuple[list[CouponTemplate], str | None]: ...
    def retire_template(self, template_id: str) -> bool: ...
    def issue(
        self, template: CouponTemplate, coupon: CouponRecord, *, code: str, at: datetime
    ) -> IssueStatus: ...
    def coupon_by_code(self, code: str) -> CouponRecord | None: ...
    def redeem(self, code: str, redeemed: CouponRecord, *, at: datetime) -> None: ...
    def wallet(
        self, customer_id: str, *, after: str | None, limit: int
    ) -> tuple[list[CouponRecord], str | None]: ...


# -- pure rules -------------------------------------------------------------------------------


def new_code() -> str:
    """A fresh code, ``XXXX-XXXX-XXXX-XXXX``, 80 bits from ``secrets``."""
    raw = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
    return "-".join(raw[i : i + GROUP] for i in range(0, CODE_LENGTH, GROUP))


def normalise(code: str) -> str:
    """How a code is compared: case, dashes and spaces do not matter."""
    return "".join(code.split()).replace("-", "").upper()


def well_formed(code: str) -> bool:
    normal = normalise(code)
    return len(normal) == CODE_LENGTH and all(c in ALPHABET for c in normal)


def validity(template: CouponTemplate, issued_at: datetime) -> tuple[datetime | None, datetime]:
    """A coupon's window: from the template's ``valid_from`` until the earlier of its
    ``valid_until`` and ``valid_days`` after issue."""
    ends = [e for e in (template.valid_until,) if e is not None]
    if template.valid_days is not None:
        ends.append(issued_at + timedelta(days=template.valid_days))
    return template.valid_from, min(ends)


def discount_for(discount: Discount, order_total: int) -> int:
    """The discount in minor units: never more than the order; a percentage is rounded down."""
    if isinstance(discount, AmountOff):
        return min(discount.amount, order_total)
    off = order_total * discount.percent // 100
    if discount.max_discount is not None:
        off = min(off, discount.max_discount.amount)
    return off


def status_at(coupon: CouponRecord, now: datetime) -> CouponStatus:
    if coupon.status == "redeemed":
        return "redeemed"
    return "expired" if now >= coupon.valid_until else "issued"


def wallet_view(coupon: CouponRecord, now: datetime, *, show_code: bool) -> Coupon:
    return Coupon(
        coupon_id=coupon.coupon_id,
        template_id=coupon.template_id,
        name=coupon.name,
        code=coupon.code if show_code else None,
        discount=coupon.discount,
        min_spend=coupon.min_spend,
        valid_from=coupon.valid_from,
        valid_until=coupon.valid_until,
        status=status_at(coupon, now),
        issued_at=coupon.issued_at,
        redeemed_at=coupon.redeemed_at,
        order_id=coupon.order_id,
        source=coupon.source,
    )


# -- accounts ---------------------------------------------------------------------------------


def account_of(store: AccountLookup, subject: str) -> str:
    """The customer id of the caller's login; 404 ``account_not_found`` when it has none."""
    customer_id = store.customer_of(subject)
    if customer_id is None or not store.has_account(customer_id):
        raise NotFound("You have no rewards account.", code="account_not_found")
    return customer_id


def existing_account(store: AccountLookup, customer_id: str) -> str:
    if not store.has_account(customer_id):
        raise NotFound("No rewards account has this customer id.", code="account_not_found")
    return customer_id


# -- templates --------------------------------------------------------------------------------


def _template_not_found() -> NotFound:
    return NotFound("No coupon template has this id.", code="template_not_found")


def create_template(
    store: CouponStore, data: TemplateCreate, *, clock: Clock, new_id: Callable[[], str]
) -> CouponTemplate:
    template = CouponTemplate(**data.model_dump(), id=new_id(), issued=0, status="active", created_at=clock())
    store.create_template(template)
    return template


def template(store: CouponStore, template_id: str) -> CouponTemplate:
    found = store.template(template_id)
    if found is None:
        raise _template_not_found()
    return found


def templates(
    store: CouponStore, *, after: str | None, limit: int
) -> tuple[list[CouponTemplate], str | None]:
    """A page of templates, newest first, and where the next page starts (or None)."""
    return store.templates(after=after, limit=limit)


def retire_template(store: CouponStore, template_id: str) -> None:
    """Stop issuing (idempotent); coupons already issued stay valid."""
    if not store.retire_template(template_id):
        raise _template_not_found()


# -- issuance ---------------------------------------------------------------------------------


def new_coupon(
    template: CouponTemplate,
    customer_id: str,
    *,
    coupon_id: str,
    code: str,
    valid: tuple[datetime | None, datetime],
    now: datetime,
    source: str | None = None,
) -> CouponRecord:
    """A coupon of the template for the customer, valid in ``valid`` (from, until)."""
    return CouponRecord(
        coupon_id=coupon_id,
        customer_id=customer_id,
        template_id=template.id,
        name=template.name,
        discount=template.discount,
        min_spend=template.min_spend,
        currency=template.currency,
        valid_from=valid[0],
        valid_until=valid[1],
        issued_at=now,
        status="issued",
        code=code,
        source=source,
    )


def issue(
    store: CouponStore,
    template_id: str,
    customer_ids: Sequence[str],
    *,
    clock: Clock,
    new_id: Callable[[], str],
    make_code: Callable[[], str] = new_code,
) -> Issuance:
    """One coupon to each customer, each in its own transaction; each succeeds or says why not.
    Once the template is retired or its cap is reached, the rest are refused for that reason."""
    current = template(store, template_id)
    if current.status != "active":
        raise Conflict("The coupon template is retired.", code="template_retired")
    now = clock()
    valid_from, valid_until = validity(current, now)
    if valid_until <= now:
        raise Conflict("The coupon template's validity has ended.", code="template_expired")
    results: list[IssueResult] = []
    stop: IssueStatus | None = None
    known = store.accounts_among(customer_ids)  # one read per 100: no transaction for strangers
    for customer_id in customer_ids:
        if stop is not None or customer_id not in known or known[customer_id]:
            refusal: IssueStatus = "customer_erased" if known.get(customer_id) else "unknown_customer"
            results.append(IssueResult(customer_id=customer_id, status=stop or refusal))
            continue
        code = make_code()
        coupon = new_coupon(
            current, customer_id, coupon_id=new_id(), code=code, valid=(valid_from, valid_until), now=now
        )
        status = store.issue(current, coupon, code=code, at=now)
        stop = status if status in _STOPPERS else None
        issued = coupon.coupon_id if status == "issued" else None
        results.append(IssueResult(customer_id=customer_id, status=status, coupon_id=issued))
    return Issuance(template_id=current.id, results=results)


# -- redemption -------------------------------------------------------------------------------


def _coupon_not_found() -> NotFound:
    return NotFound("No coupon of this customer has this code.", code="coupon_not_found")


def _redemption(coupon: CouponRecord, currency: str) -> Redemption:
    assert coupon.order_id is not None
    assert coupon.order_total is not None
    assert coupon.discount_applied is not None
    assert coupon.redeemed_at is not None
    return Redemption(
        coupon_id=coupon.coupon_id,
        template_id=coupon.template_id,
        customer_id=coupon.customer_id,
        order_id=coupon.order_id,
        order_total=coupon.order_total,
        currency=coupon.currency or currency,
        discount=coupon.discount_applied,
        redeemed_at=coupon.redeemed_at,
        store_id=coupon.store_id,
    )


def _check(coupon: CouponRecord, request: RedeemRequest, now: datetime) -> None:
    if coupon.valid_from is not None and now < coupon.valid_from:
        raise Conflict("The coupon is not valid yet.", code="coupon_not_yet_valid")
    if now >= coupon.valid_until:
        raise Conflict("The coupon has expired.", code="coupon_expired")
    if coupon.currency is not None and coupon.currency != request.currency:
        raise Unprocessable(f"The coupon is in {coupon.currency}.", code="currency_mismatch")
    if coupon.min_spend is not None and request.order_total < coupon.min_spend.amount:
        raise Conflict("The order is below the coupon's minimum spend.", code="min_spend_not_met")


def redeem(store: CouponStore, code: str, request: RedeemRequest, *, clock: Clock) -> Redemption:
    """Redeem the customer's coupon for an order, once; the same order again gets the same
    result. Another customer's coupon is "not found": a till never learns it exists."""
    if not well_formed(code):
        raise _coupon_not_found()
    for _ in range(ATTEMPTS):
        coupon = store.coupon_by_code(code)
        if coupon is None or coupon.customer_id != request.customer_id:
            raise _coupon_not_found()
        if coupon.status == "redeemed":
            if coupon.order_id == request.order_id:
                return _redemption(coupon, request.currency)
            raise Conflict("The coupon was redeemed for another order.", code="coupon_already_redeemed")
        now = clock()
        _check(coupon, request, now)
        redeemed = coupon.model_copy(
            update={
                "status": "redeemed",
                "order_id": request.order_id,
                "order_total": request.order_total,
                "store_id": request.store_id,
                "discount_applied": discount_for(coupon.discount, request.order_total),
                "redeemed_at": now,
            }
        )
        try:
            store.redeem(code, redeemed, at=now)
        except Stale:
            continue
        return _redemption(redeemed, request.currency)
    raise Conflict("The coupon kept changing; retry.", code="concurrent_update")


# -- the wallet -------------------------------------------------------------------------------


def wallet(
    store: CouponStore, customer_id: str, *, after: str | None, limit: int, now: datetime, show_code: bool
) -> tuple[list[Coupon], str | None]:
    """A page of the customer's coupons, newest first, with their status at ``now``."""
    found, last = store.wallet(customer_id, after=after, limit=limit)
    return [wallet_view(c, now, show_code=show_code) for c in found], last

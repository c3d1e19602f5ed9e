"""Coupons and limited-stock gifts: what marketing and store systems send, what they get back,
and the records the offers logic works on.

Money is integer minor units of an ISO 4217 currency; every number is a strict integer (a
float or a numeric string is a 422). Instants are stored in UTC to the second.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Annotated, Literal, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    StringConstraints,
    model_validator,
)

from services.rewards.models.presence import MEMBER_CODE_PATTERN
from shared.ids import prefixed_pattern
from shared.types import Timestamp

CUSTOMER_ID_PATTERN = prefixed_pattern("cus")
TEMPLATE_ID_PATTERN = prefixed_pattern("ctp")
COUPON_ID_PATTERN = prefixed_pattern("cpn")
GIFT_ID_PATTERN = prefixed_pattern("gft")
CODE_PATTERN = r"^[0-9A-Za-z-]{16,40}$"  # as typed at a till: case and dashes do not matter
MAX_MONEY = 10**12
MAX_ISSUE = 100
MAX_DRAW = 1000


def _utc_second(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(dt.UTC).replace(microsecond=0)


Instant = Annotated[Timestamp, AfterValidator(_utc_second)]
Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$"), Field(examples=["KRW"])]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
CustomerId = Annotated[str, StringConstraints(pattern=CUSTOMER_ID_PATTERN)]
OrderId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")]
StoreId = Annotated[str, StringConstraints(pattern=r"^[^\s\x00-\x1f]{1,64}$")]
Amount = Annotated[StrictInt, Field(ge=0, le=MAX_MONEY, description="Minor units (KRW: won)")]


class _Input(BaseModel):
    model_config = ConfigDict(defer_build=True, extra="forbid", frozen=True)


class _Output(BaseModel):
    model_config = ConfigDict(defer_build=True, frozen=True)


# -- coupons ----------------------------------------------------------------------------------


class Money(_Input):
    amount: Amount
    currency: Currency


class AmountOff(_Input):
    """A fixed amount off (never more than the order total)."""

    kind: Literal["amount"]
    amount: Annotated[StrictInt, Field(ge=1, le=MAX_MONEY)]
    currency: Currency


class PercentOff(_Input):
    """A percentage off the order total, rounded down, capped by ``max_discount`` if given."""

    kind: Literal["percent"]
    percent: StrictInt = Field(ge=1, le=100)
    max_discount: Money | None = None


Discount = Annotated[AmountOff | PercentOff, Field(discriminator="kind")]
TemplateStatus = Literal["active", "retired"]


class TemplateCreate(_Input):
    """A coupon template. Validity: ``valid_until`` (absolute) and/or ``valid_days`` after issue;
    a coupon is valid until the earlier of the two. Every amount is in one currency."""

    name: Name
    discount: Discount
    min_spend: Money | None = None
    valid_from: Instant | None = None
    valid_until: Instant | None = None
    valid_days: StrictInt | None = Field(default=None, ge=1, le=3650)
    per_customer_limit: StrictInt = Field(default=1, ge=1, le=100)
    max_issued: StrictInt | None = Field(default=None, ge=1, le=100_000_000)

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.valid_until is None and self.valid_days is None:
            raise ValueError("give valid_until, valid_days or both")
        if self.valid_from and self.valid_until and self.valid_from >= self.valid_until:
            raise ValueError("valid_from must be before valid_until")
        cap = self.discount.max_discount if isinstance(self.discount, PercentOff) else None
        if cap is not None and cap.amount < 1:
            raise ValueError("max_discount must be at least 1")
        currencies = {
            m.currency for m in (self.discount, cap, self.min_spend) if isinstance(m, Money | AmountOff)
        }
        if len(currencies) > 1:
            raise ValueError("every amount of a template must be in one currency")
        return self


class CouponTemplate(_Output):
    id: str = Field(pattern=TEMPLATE_ID_PATTERN)
    name: str
    discount: Discount
    min_spend: Money | None
    valid_from: dt.datetime | None
    valid_until: dt.datetime | None
    valid_days: int | None
    per_customer_limit: int
    max_issued: int | None
    issued: int = Field(description="Coupons issued so far")
    status: TemplateStatus
    created_at: dt.datetime

    @property
    def currency(self) -> str | None:
        """The template's one currency, if any amount names one (a bare percentage does not)."""
        if isinstance(self.discount, AmountOff):
            return self.discount.currency
        if self.discount.max_discount is not None:
            return self.discount.max_discount.currency
        return self.min_spend.currency if self.min_spend else None


def _unique(ids: list[str]) -> list[str]:
    if len(set(ids)) != len(ids):
        raise ValueError("customer_ids must be unique")
    return ids


class IssueRequest(_Input):
    customer_ids: Annotated[
        list[CustomerId], Field(min_length=1, max_length=MAX_ISSUE), AfterValidator(_unique)
    ]


IssueStatus = Literal[
    "issued", "limit_reached", "unknown_customer", "customer_erased", "max_issued_reached", "template_retired"
]


# What a campaign's coupon offer came to (logged; an offer that issues nothing is no error).
OfferStatus = Literal[
    "issued",
    "duplicate",  # the offer issued its coupon already
    "limit_reached",
    "unknown_customer",
    "customer_erased",
    "max_issued_reached",
    "template_retired",
    "template_not_found",
    "offer_expired",  # the template's validity, capped by the offer's, has ended
]


class IssueResult(_Output):
    customer_id: str
    status: IssueStatus
    coupon_id: str | None = None


class Issuance(_Output):
    template_id: str
    results: list[IssueResult]


CouponStatus = Literal["issued", "redeemed", "expired"]


class CouponRecord(_Output):
    """A coupon as stored (the wallet item also keeps ``code``; the code item never does)."""

    coupon_id: str
    customer_id: str
    template_id: str
    name: str
    discount: Discount
    min_spend: Money | None
    currency: str | None
    valid_from: dt.datetime | None
    valid_until: dt.datetime
    issued_at: dt.datetime
    status: Literal["issued", "redeemed"]
    code: str | None = None
    order_id: str | None = None
    order_total: int | None = None
    store_id: str | None = None
    discount_applied: int | None = None
    redeemed_at: dt.datetime | None = None
    source: str | None = None  # "offer:<offer id>": a campaign's offer issued it


class Coupon(_Output):
    """A coupon in a wallet. ``code`` is shown to its owner only (staff see ``null``)."""

    coupon_id: str
    template_id: str
    name: str
    code: str | None
    discount: Discount
    min_spend: Money | None
    valid_from: dt.datetime | None
    valid_until: dt.datetime
    status: CouponStatus
    issued_at: dt.datetime
    redeemed_at: dt.datetime | None = None
    order_id: str | None = None
    source: str | None = Field(
        default=None,
        description='What issued it besides marketing: "offer:<offer id>" for a campaign\'s offer',
    )


class RedeemRequest(_Input):
    code: str = Field(pattern=CODE_PATTERN, description="The coupon code as typed (case and dashes ignored)")
    order_id: OrderId
    customer_id: CustomerId
    member_code: str = Field(
        pattern=MEMBER_CODE_PATTERN, description="The code the customer's app shows (POST /me/member-code)"
    )
    order_total: Amount
    currency: Currency
    store_id: StoreId | None = None


class Redemption(_Output):
    """What the till applies: ``discount`` in minor units of ``currency``."""

    coupon_id: str
    template_id: str
    customer_id: str
    order_id: str
    order_total: int
    currency: str
    discount: int
    redeemed_at: dt.datetime
    store_id: str | None = None


# -- limited-stock gifts ----------------------------------------------------------------------

GiftMode = Literal["instant", "draw"]


class GiftCreate(_Input):
    """A gift with a fixed stock, for purchases of at least ``min_total`` in ``currency`` made in
    ``[starts_at, ends_at)`` (at ``store_ids`` if given). ``instant``: the first qualifying
    purchases win while stock lasts; ``draw``: qualifying customers enter, winners are drawn."""

    name: Name
    stock: StrictInt = Field(ge=1, le=1_000_000)
    per_customer_limit: StrictInt = Field(default=1, ge=1, le=100)
    mode: GiftMode
    starts_at: Instant
    ends_at: Instant
    min_total: Amount
    currency: Currency
    store_ids: Annotated[list[StoreId], Field(min_length=1, max_length=100)] | None = None

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.starts_at >= self.ends_at:
            raise ValueError("starts_at must be before ends_at")
        if self.ends_at - self.starts_at > dt.timedelta(days=366):
            raise ValueError("an event lasts at most 366 days")
        if self.store_ids is not None and len(set(self.store_ids)) != len(self.store_ids):
            raise ValueError("store_ids must be unique")
        return self


class Gift(_Output):
    id: str = Field(pattern=GIFT_ID_PATTERN)
    name: str
    stock: int
    remaining: int
    per_customer_limit: int
    mode: GiftMode
    starts_at: dt.datetime
    ends_at: dt.datetime
    min_total: int
    currency: str
    store_ids: list[str] | None
    created_at: dt.datetime
    entrants: int = Field(description="Customers who entered the draw")
    winners: int = Field(description="Units granted (stock - remaining)")

    def qualifies(self, *, store_id: str | None, currency: str, total: int, at: dt.datetime) -> bool:
        return (
            self.starts_at <= at < self.ends_at
            and currency == self.currency
            and total >= self.min_total
            and (self.store_ids is None or store_id in self.store_ids)
        )


class DrawRequest(_Input):
    winners: StrictInt = Field(ge=1, le=MAX_DRAW)


class DrawResult(_Output):
    gift_id: str
    winners: list[str] = Field(description="Customer ids of this draw's winners")
    remaining: int


GrantVia = Literal["purchase", "draw"]


class WonGift(_Output):
    gift_id: str
    name: str
    count: int
    via: GrantVia
    last_won_at: dt.datetime


ClaimStatus = Literal["granted", "sold_out", "limit_reached", "duplicate", "no_account"]
OutcomeStatus = Literal["granted", "entered", "sold_out", "limit_reached", "duplicate", "no_account"]


@dataclass(frozen=True)
class GiftOutcome:
    """What a purchase did for one gift: won it, entered its draw, or why not (not an error)."""

    gift_id: str
    status: OutcomeStatus


# -- what the store tells the logic (``logic.coupons.CouponStore``) -------------------------------


class Stale(Exception):
    """A condition failed: what was read changed (read again)."""

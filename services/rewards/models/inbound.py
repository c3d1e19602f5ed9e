"""The profile, campaigns and feedback services' events as the rewards service reads them: its own
copy of each contract (the services never import each other). Unknown fields are ignored so that a
producer can add to its events without breaking this consumer; what rewards relies on is checked
(``tests/unit/contracts``)."""

from __future__ import annotations

import datetime as dt

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from shared.ids import prefixed_pattern

ID = r"^[a-z]{2,8}_[0-9A-HJKMNP-TV-Z]{26}$"
CURRENCY = r"^[A-Z]{3}$"
OFFER_ID = prefixed_pattern("ofr")
CAMPAIGN_ID = prefixed_pattern("cmp")
TEMPLATE_ID = prefixed_pattern("ctp")
GIFT_ID = prefixed_pattern("gft")
MAX_DRAWS = 50  # draws one gift may hold (as models.events)
MAX_WINNERS = 1000  # winners one draw may pick
MAX_OFFER_POINTS = 1_000_000  # as a grant job's points per customer
CUSTOMER_ID = prefixed_pattern("cus")  # what a goodwill answer names (``models.events``)
CASE_ID = prefixed_pattern("case")
GOODWILL_GRANT_ID = prefixed_pattern("gw")
AGENT_ID = r"^[A-Za-z0-9._@-]{1,128}$"  # the agent's login (Cognito sub), as the staff route's caller
MAX_GOODWILL_POINTS = 100_000  # one grant on a case at most (the agent's daily limit is ours)
GOODWILL_REASON = 200


class _Inbound(BaseModel):
    model_config = ConfigDict(defer_build=True, frozen=True, extra="ignore")


class CustomerRegistered(_Inbound):
    customer_id: str = Field(pattern=ID)
    subject: str | None = Field(default=None, min_length=1, max_length=128)  # the login's sub
    returning: bool = False  # the person had an erased login: no second sign-up bonus


class CustomerImported(_Inbound):
    customer_id: str = Field(pattern=ID)


class CustomerErased(_Inbound):
    customer_id: str = Field(pattern=ID)


class PurchaseLine(_Inbound):
    sku: str = Field(min_length=1, max_length=64)
    category: str = Field(min_length=1, max_length=64)
    quantity: int = Field(ge=1)
    amount: int = Field(ge=0)


class PurchaseRecorded(_Inbound):
    purchase_id: str = Field(pattern=ID)
    customer_id: str = Field(pattern=ID)
    store_id: str = Field(min_length=1, max_length=64)
    currency: str = Field(pattern=CURRENCY)
    total: int = Field(ge=0)
    lines: list[PurchaseLine] = Field(max_length=500)
    purchased_at: AwareDatetime
    local_date: dt.date


class PurchaseRefunded(_Inbound):
    purchase_id: str = Field(pattern=ID)
    refund_id: str = Field(min_length=1, max_length=128)
    customer_id: str = Field(pattern=ID)
    refunded_at: AwareDatetime


# -- the campaigns service's offers and draws ------------------------------------------------


class OfferCouponRequested(_Inbound):
    """Issue one coupon of the template to the customer, once per offer, valid at most until
    ``valid_until``."""

    offer_id: str = Field(pattern=OFFER_ID)
    customer_id: str = Field(pattern=ID)
    campaign_id: str = Field(pattern=CAMPAIGN_ID)
    coupon_template_id: str = Field(pattern=TEMPLATE_ID)
    valid_until: AwareDatetime


class PointsOfferRequested(_Inbound):
    """Pre-grant ``points`` to the customer until ``expires_at``, once per offer."""

    offer_id: str = Field(pattern=OFFER_ID)
    customer_id: str = Field(pattern=ID)
    campaign_id: str = Field(pattern=CAMPAIGN_ID)
    points: int = Field(ge=1, le=MAX_OFFER_POINTS)
    expires_at: AwareDatetime


class DrawScheduled(_Inbound):
    """A draw of a gift whose entries close at ``closes_at``: commit to its seed now."""

    gift_id: str = Field(pattern=GIFT_ID)
    draw: int = Field(ge=1, le=MAX_DRAWS)
    closes_at: AwareDatetime
    winners: int = Field(ge=1, le=MAX_WINNERS)


class DrawDue(_Inbound):
    """The draw's entries have closed: draw it and reveal its seed."""

    gift_id: str = Field(pattern=GIFT_ID)
    draw: int = Field(ge=1, le=MAX_DRAWS)


# -- the feedback service's goodwill on a complaint case -------------------------------------


class GoodwillRequested(_Inbound):
    """An agent grants the customer goodwill points on a case: credit them once per ``grant_id``,
    within the agent's daily goodwill limit (the UTC day of ``requested_at``), the case on the
    ledger entry, and answer ``GoodwillCredited`` or ``GoodwillRefused``."""

    grant_id: str = Field(pattern=GOODWILL_GRANT_ID)
    case_id: str = Field(pattern=CASE_ID)
    customer_id: str = Field(pattern=CUSTOMER_ID)
    agent_id: str = Field(pattern=AGENT_ID)
    points: int = Field(ge=1, le=MAX_GOODWILL_POINTS)
    reason: str = Field(min_length=1, max_length=GOODWILL_REASON)
    requested_at: AwareDatetime

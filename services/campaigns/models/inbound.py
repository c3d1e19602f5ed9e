"""The profile and rewards services' events as the campaigns service reads them: its own copy of
each contract (the services never import each other). Unknown fields are ignored so that a
producer can add to its events; what campaigns relies on is checked by the contract tests."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

ID = r"^[a-z]{2,8}_[0-9A-HJKMNP-TV-Z]{26}$"
CURRENCY = r"^[A-Z]{3}$"


class _Inbound(BaseModel):
    model_config = ConfigDict(defer_build=True, frozen=True, extra="ignore")


class CustomerRegistered(_Inbound):
    customer_id: str = Field(pattern=ID)
    subject: str | None = Field(default=None, min_length=1, max_length=128)  # the login's sub (/me/offers)
    locale: str
    time_zone: str = Field(min_length=1, max_length=64)


class CustomerImported(_Inbound):
    customer_id: str = Field(pattern=ID)
    locale: str
    time_zone: str = Field(min_length=1, max_length=64)


class ConsentChanged(_Inbound):
    """Carries the whole consent state: the view takes it as it is (the newest wins)."""

    customer_id: str = Field(pattern=ID)
    consents: dict[str, bool]


class ValueSegmentChanged(_Inbound):
    customer_id: str = Field(pattern=ID)
    previous: str | None = None
    segment: str


class LifestyleGroupsChanged(_Inbound):
    customer_id: str = Field(pattern=ID)
    groups: list[str]


class PurchaseRecorded(_Inbound):
    purchase_id: str = Field(pattern=ID)
    customer_id: str = Field(pattern=ID)
    currency: str = Field(pattern=CURRENCY)
    total: int = Field(ge=0)
    purchased_at: AwareDatetime
    local_date: dt.date


class PurchaseRefunded(_Inbound):
    purchase_id: str = Field(pattern=ID)
    refund_id: str = Field(min_length=1, max_length=100)
    customer_id: str = Field(pattern=ID)
    currency: str = Field(pattern=CURRENCY)
    total: int = Field(ge=0)
    refunded_at: AwareDatetime


class VisitRecorded(_Inbound):
    visit_id: str = Field(pattern=ID)
    customer_id: str = Field(pattern=ID)
    started_at: AwareDatetime
    duration_s: int = Field(ge=0)


class CustomerErased(_Inbound):
    customer_id: str = Field(pattern=ID)


class TierChanged(_Inbound):
    customer_id: str = Field(pattern=ID)
    previous: str | None = None
    tier: str
    direction: Literal["up", "down"] | None = None  # "up": a triggered "you are now ..."
    # the new tier's benefits (the message names them); absent from events before they were added
    tier_name: str | None = Field(default=None, max_length=120)
    earn_multiplier_pct: int | None = Field(default=None, ge=0)
    perks: list[Annotated[str, Field(max_length=120)]] = Field(default_factory=list, max_length=50)


class PointsBalanceChanged(_Inbound):
    customer_id: str = Field(pattern=ID)
    balance: int = Field(ge=0)
    account_version: int = Field(ge=1)


class PointsExpiring(_Inbound):
    customer_id: str = Field(pattern=ID)
    points: int = Field(ge=0)
    expires_on: dt.date


class AnniversaryUpcoming(_Inbound):
    """The date itself stays out of what a message may say (the years and this year's day do not)."""

    customer_id: str = Field(pattern=ID)
    kind: str  # wedding, membership, child_birthday, custom or birthday
    date: dt.date
    occurs_on: dt.date
    years: int
    lead_days: int


class CouponIssued(_Inbound):
    """``source`` ``offer:<offer id>``: the coupon of a campaign's offer."""

    customer_id: str = Field(pattern=ID)
    coupon_id: str
    source: str | None = None


class CouponRedeemed(_Inbound):
    customer_id: str = Field(pattern=ID)
    coupon_id: str = Field(pattern=ID)
    source: str | None = None
    redeemed_at: AwareDatetime


class DrawCommitted(_Inbound):
    gift_id: str = Field(pattern=ID)
    draw: int = Field(ge=1)
    commitment: str = Field(pattern=r"^[0-9a-f]{64}$")


class DrawWinner(_Inbound):
    customer_id: str = Field(pattern=ID)
    entry_id: str = Field(pattern=ID)


class DrawCompleted(_Inbound):
    gift_id: str = Field(pattern=ID)
    draw: int = Field(ge=1)
    commitment: str = Field(pattern=r"^[0-9a-f]{64}$")
    seed: str = Field(pattern=r"^[0-9a-f]{64}$")
    entries: int = Field(ge=0)
    winners: list[DrawWinner]

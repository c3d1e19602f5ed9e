"""The events the rewards service emits on the bus (source ``dangol.rewards``). They carry ids
and numbers, never a person's name or contact, and never a coupon code (a bearer secret)."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from shared.events import DomainEvent

LotKind = Literal["earn", "signup", "award", "pregrant", "adjust"]


class PointsEarned(DomainEvent):
    """Points were credited (a purchase, a sign-up, an award, a pre-grant, goodwill): tell the
    customer at once. ``points`` is what was credited; ``debt_settled`` of it paid an old debt."""

    customer_id: str
    entry_id: str
    kind: LotKind
    points: int
    debt_settled: int
    balance: int
    expires_at: dt.datetime
    source: str  # e.g. "purchase:pur_...", "signup", "grant:job_..."


class PointsBalanceChanged(DomainEvent):
    """The balance moved, whatever moved it (an earn, a spend, a reversal, an expiry, an adjustment):
    what a message to the customer may say. ``account_version`` orders them (SQS keeps no order)."""

    customer_id: str
    balance: int
    change: int
    account_version: int


class PointsExpiring(DomainEvent):
    """Some of the customer's points expire soon (``lead_days`` ahead): a warning, once per day."""

    customer_id: str
    points: int
    expires_on: dt.date  # the UTC day the lots expire
    lead_days: int


class PointsExpired(DomainEvent):
    """A lot ran out of time: ``clawed_back`` when it was an unused pre-grant."""

    customer_id: str
    entry_id: str
    points: int
    clawed_back: bool
    balance: int


class TierChanged(DomainEvent):
    """The customer moved up (at once) or down (after the grace period) a tier."""

    customer_id: str
    previous: str | None
    tier: str
    direction: Literal["up", "down"]
    qualifying: int  # the rolling 12-month measure that decided it
    program_version: int


class CouponIssued(DomainEvent):
    customer_id: str
    coupon_id: str
    template_id: str
    valid_until: dt.datetime


class GiftGranted(DomainEvent):
    """The customer won a limited-stock gift, by a qualifying purchase or in a draw."""

    customer_id: str
    gift_id: str
    via: Literal["purchase", "draw"]
    remaining_stock: int

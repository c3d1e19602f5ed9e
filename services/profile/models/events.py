"""The events the profile service emits on the bus. They carry ids and settings, never
names, e-mails or phones: a consumer that needs personal data asks the API for it."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict

from shared.events import DomainEvent


class CustomerRegistered(DomainEvent):
    """A customer signed up. ``subject`` is their login's opaque id (Cognito ``sub``, no personal
    data): other services link a caller's ``/me`` to the customer id with it. ``returning``: the
    same person had an erased login before (no second sign-up bonus)."""

    customer_id: str
    subject: str
    locale: str
    time_zone: str
    returning: bool = False


class ProfileUpdated(DomainEvent):
    customer_id: str
    changed: list[str]
    version: int


class ConsentChanged(DomainEvent):
    """A change in the consent log, with the whole resulting state so a projection can be
    rebuilt from any one event (``email.marketing`` false: no marketing e-mail)."""

    customer_id: str
    channel: Literal["email", "sms", "push"]
    purpose: Literal["marketing", "service"]
    granted: bool
    consents: dict[str, bool]


class AnniversaryUpcoming(DomainEvent):
    """A customer's anniversary (or birthday) is ``lead_days`` ahead of their local today."""

    customer_id: str
    kind: str  # wedding, membership, child_birthday, custom or birthday
    label: str | None
    date: dt.date  # the original date
    occurs_on: dt.date  # this year's day (28 February for a 29 February one in common years)
    years: int
    lead_days: int


# -- behaviour intake ------------------------------------------------------------------------


class PurchaseLine(BaseModel):
    model_config = ConfigDict(defer_build=True, frozen=True, extra="forbid")

    sku: str
    category: str
    quantity: int
    unit_price: int  # minor units of the purchase's currency
    amount: int  # quantity x unit_price, minor units
    premium: bool = False  # a premium service (counts toward the value score)


class PurchaseRecorded(DomainEvent):
    """An accepted purchase, published at once: what the rewards service needs to earn on it.
    ``purchase_id`` is ours; ``external_id`` is the store system's (unique per purchase)."""

    purchase_id: str
    external_id: str
    customer_id: str
    store_id: str
    channel: Literal["store", "online", "app"]
    currency: str  # ISO 4217
    total: int  # minor units; the sum of the lines' amounts
    lines: list[PurchaseLine]
    purchased_at: dt.datetime  # with its UTC offset
    local_date: dt.date  # the day in the customer's time zone (for date-window earn rules)


class PurchaseRefunded(DomainEvent):
    """The whole purchase was refunded: consumers reverse exactly what it caused."""

    purchase_id: str
    external_id: str
    refund_id: str
    customer_id: str
    store_id: str
    currency: str
    total: int  # what the purchase's total was
    refunded_at: dt.datetime


class VisitRecorded(DomainEvent):
    visit_id: str
    external_id: str
    customer_id: str
    kind: Literal["store", "page"]
    place: str  # a store id or a page path
    started_at: dt.datetime
    duration_s: int


# -- imports, value, groups, privacy ---------------------------------------------------------


class CustomerImported(DomainEvent):
    """A customer created by a bulk import (no sign-up bonus: they were customers already)."""

    customer_id: str
    job_id: str
    locale: str
    time_zone: str


class ValueSegmentChanged(DomainEvent):
    """The customer's value segment moved (``previous`` is None for the first assessment)."""

    customer_id: str
    previous: str | None
    segment: str  # top, loyal, regular, occasional, lapsed
    score: int  # 0..100
    model_version: int


class LifestyleGroupsChanged(DomainEvent):
    customer_id: str
    groups: list[str]  # group ids, sorted
    joined: list[str]
    left: list[str]


class CustomerErased(DomainEvent):
    """The person is gone from the profile service: every service erases or pseudonymises them."""

    customer_id: str
    erased_by: Literal["customer", "admin"]

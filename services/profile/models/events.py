"""The events the profile service emits on the bus. They carry ids and settings, never
names, e-mails or phones: a consumer that needs personal data asks the API for it.

Each field is typed as strictly as what the service puts in it, so that a consumer may rely on
the model: our ids match their ``<prefix>_<ULID>`` pattern, instants carry their UTC offset, and
text is at most as long as the input it comes from (``models.behaviour``, ``models.profile``;
their bounds are restated here, not imported: cold start). A model that refused what the service
sends would fail the request, so these bounds never narrow what the inputs accept.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from services.profile.models.segments import Segment
from shared.events import DomainEvent
from shared.ids import prefixed_pattern

CUSTOMER_ID_PATTERN = prefixed_pattern("cus")  # new_id("cus"), at sign-up and import
PURCHASE_ID_PATTERN = prefixed_pattern("pur")  # new_id("pur"), logic.behaviour
VISIT_ID_PATTERN = prefixed_pattern("vis")  # new_id("vis"), logic.behaviour
JOB_ID_PATTERN = prefixed_pattern("imp")  # as models.imports' (an import job's id)
CURRENCY_PATTERN = r"^[A-Z]{3}$"  # ISO 4217, as models.behaviour's Currency
MAX_SUBJECT = 128  # a login's ``sub`` (Cognito's: a UUID)
MAX_EXTERNAL_ID = 100  # models.behaviour's ExternalId (external_id, refund_id)
MAX_STORE_ID = 64  # models.behaviour's StoreId
MAX_SKU = 64  # models.behaviour's Sku
MAX_CATEGORY = 60  # models.behaviour's Category
MAX_PLACE = 512  # models.behaviour's VisitInput.place
MAX_TIME_ZONE = 64  # models.profile's TimeZone
MAX_LABEL = 50  # models.profile's Anniversary.label


class CustomerRegistered(DomainEvent):
    """A customer signed up. ``subject`` is their login's opaque id (Cognito ``sub``, no personal
    data): other services link a caller's ``/me`` to the customer id with it. ``returning``: the
    same person had an erased login before (no second sign-up bonus)."""

    customer_id: str = Field(pattern=CUSTOMER_ID_PATTERN)
    subject: str = Field(min_length=1, max_length=MAX_SUBJECT)
    locale: str
    time_zone: str = Field(min_length=1, max_length=MAX_TIME_ZONE)
    returning: bool = False


class ProfileUpdated(DomainEvent):
    customer_id: str = Field(pattern=CUSTOMER_ID_PATTERN)
    changed: list[str]
    version: int


class ConsentChanged(DomainEvent):
    """A change in the consent log, with the whole resulting state so a projection can be
    rebuilt from any one event (``email.marketing`` false: no marketing e-mail)."""

    customer_id: str = Field(pattern=CUSTOMER_ID_PATTERN)
    channel: Literal["email", "sms", "push"]
    purpose: Literal["marketing", "service", "night"]
    granted: bool
    consents: dict[str, bool]


class AnniversaryUpcoming(DomainEvent):
    """A customer's anniversary (or birthday) is ``lead_days`` ahead of their local today."""

    customer_id: str = Field(pattern=CUSTOMER_ID_PATTERN)
    kind: str  # wedding, membership, child_birthday, custom or birthday
    label: str | None = Field(min_length=1, max_length=MAX_LABEL)
    date: dt.date  # the original date
    occurs_on: dt.date  # this year's day (28 February for a 29 February one in common years)
    years: int
    lead_days: int


# -- behaviour intake ------------------------------------------------------------------------


class PurchaseLine(BaseModel):
    model_config = ConfigDict(defer_build=True, frozen=True, extra="forbid")

    sku: str = Field(min_length=1, max_length=MAX_SKU)
    category: str = Field(min_length=1, max_length=MAX_CATEGORY)
    quantity: int
    unit_price: int  # minor units of the purchase's currency
    amount: int  # quantity x unit_price, minor units
    premium: bool = False  # a premium service (counts toward the value score)


class PurchaseRecorded(DomainEvent):
    """An accepted purchase, published at once: what the rewards service needs to earn on it.
    ``purchase_id`` is ours; ``external_id`` is the store system's (unique per purchase)."""

    purchase_id: str = Field(pattern=PURCHASE_ID_PATTERN)
    external_id: str = Field(min_length=1, max_length=MAX_EXTERNAL_ID)
    customer_id: str = Field(pattern=CUSTOMER_ID_PATTERN)
    store_id: str = Field(min_length=1, max_length=MAX_STORE_ID)
    channel: Literal["store", "online", "app"]
    currency: str = Field(pattern=CURRENCY_PATTERN)
    total: int  # minor units; the sum of the lines' amounts
    lines: list[PurchaseLine]
    purchased_at: AwareDatetime  # with its UTC offset (the store's local time)
    local_date: dt.date  # the day in the customer's time zone (for date-window earn rules)


class PurchaseRefunded(DomainEvent):
    """The whole purchase was refunded: consumers reverse exactly what it caused."""

    purchase_id: str = Field(pattern=PURCHASE_ID_PATTERN)
    external_id: str = Field(min_length=1, max_length=MAX_EXTERNAL_ID)
    refund_id: str = Field(min_length=1, max_length=MAX_EXTERNAL_ID)
    customer_id: str = Field(pattern=CUSTOMER_ID_PATTERN)
    store_id: str = Field(min_length=1, max_length=MAX_STORE_ID)
    currency: str = Field(pattern=CURRENCY_PATTERN)
    total: int  # what the purchase's total was
    refunded_at: AwareDatetime


class VisitRecorded(DomainEvent):
    visit_id: str = Field(pattern=VISIT_ID_PATTERN)
    external_id: str = Field(min_length=1, max_length=MAX_EXTERNAL_ID)
    customer_id: str = Field(pattern=CUSTOMER_ID_PATTERN)
    kind: Literal["store", "page"]
    place: str = Field(min_length=1, max_length=MAX_PLACE)  # a store id or a page path
    started_at: AwareDatetime
    duration_s: int


# -- imports, value, groups, privacy ---------------------------------------------------------


class CustomerImported(DomainEvent):
    """A customer created by a bulk import (no sign-up bonus: they were customers already)."""

    customer_id: str = Field(pattern=CUSTOMER_ID_PATTERN)
    job_id: str = Field(pattern=JOB_ID_PATTERN)
    locale: str
    time_zone: str = Field(min_length=1, max_length=MAX_TIME_ZONE)


class ValueSegmentChanged(DomainEvent):
    """The customer's value segment moved (``previous`` is None for the first assessment)."""

    customer_id: str = Field(pattern=CUSTOMER_ID_PATTERN)
    previous: Segment | None
    segment: Segment
    score: int  # 0..100
    model_version: int


class LifestyleGroupsChanged(DomainEvent):
    customer_id: str = Field(pattern=CUSTOMER_ID_PATTERN)
    groups: list[str]  # group ids, sorted
    joined: list[str]
    left: list[str]


class CustomerErased(DomainEvent):
    """The person is gone from the profile service: every service erases or pseudonymises them."""

    customer_id: str = Field(pattern=CUSTOMER_ID_PATTERN)
    erased_by: Literal["customer", "admin"]

"""Behaviour intake: what store and e-commerce systems send (purchases, refunds, visits) and
what staff and marketing read back (purchases, "the usual", what sells when).

Input rules (each a 422 ``validation_error`` naming the field):
- ids are the sender's own: ``external_id`` (unique per purchase or visit, the idempotency
  key), ``store_id``, ``sku`` and ``refund_id`` are 1-100 (store 64, SKU 64) letters, digits
  and ``. _ : -`` (``/`` too in SKUs), starting with a letter or digit: never ``#``, which
  separates the parts of our keys;
- ``customer_id`` is ours (``cus_<ULID>``); ``currency`` is ISO 4217 (three capitals);
  money is integer minor units (``unit_price`` 0..10^10, ``quantity`` 1..10,000: a purchase
  total stays below 2^53, exact in every JSON client), never a float or a numeric string;
- timestamps are ISO 8601 text WITH their UTC offset (``Z`` or ``+09:00``); a Unix time or a
  local time without offset is refused, since the offset is what tells the store's local
  hour. How far in the past or future they may be is checked in ``logic.behaviour``;
- a purchase has 1-100 lines and at most ``MAX_ITEMS`` (40) distinct SKUs, so that its
  counters fit one DynamoDB transaction. Equal lines (same SKU, price and premium flag) are
  merged; the same SKU at two prices stays two lines of the purchase and one counter;
- a page visit's ``place`` is a path (``/menu/coffee``) without query or fragment (those may
  carry personal data); a store visit's ``place`` is a store id.
Product names and categories are stored and shown (they are not personal data) but never
put in events.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StringConstraints,
    WithJsonSchema,
    model_validator,
)

from shared.ids import prefixed_pattern
from shared.types import Timestamp

CUSTOMER_ID_PATTERN = prefixed_pattern("cus")  # as models.profile's (not imported: cold start)
EXTERNAL_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$"
STORE_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$"
SKU_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,63}$"
PAGE_PATTERN = r"^/[^\s?#\x00-\x1f\x7f]{0,511}$"
MAX_LINES = 100  # lines as sent
MAX_ITEMS = 40  # distinct SKUs: 2 counters each + 4 more actions <= 100 per transaction
BATCH_LIMIT = 100
MAX_UNIT_PRICE = 10**10
MAX_QUANTITY = 10_000

Channel = Literal["store", "online", "app"]
PaymentStatus = Literal["paid", "late", "failed"]
Daypart = Literal["morning", "midday", "evening"]
DAYPARTS: tuple[Daypart, ...] = ("morning", "midday", "evening")

ExternalId = Annotated[
    str,
    StringConstraints(pattern=EXTERNAL_ID_PATTERN),
    Field(description="The sending system's own id (unique; the idempotency key)", examples=["pos-1-000123"]),
]
StoreId = Annotated[str, StringConstraints(pattern=STORE_ID_PATTERN), Field(examples=["gangnam-01"])]
CustomerId = Annotated[
    str, StringConstraints(pattern=CUSTOMER_ID_PATTERN), Field(examples=["cus_01JD5Z8Q6M3X7N2P4R9T0V1W2Y"])
]
Sku = Annotated[str, StringConstraints(pattern=SKU_PATTERN), Field(examples=["AMERICANO-L"])]
Currency = Annotated[
    str, StringConstraints(pattern=r"^[A-Z]{3}$"), Field(description="ISO 4217", examples=["KRW"])
]
_Text = r"^[^\x00-\x1f\x7f]+$"
ProductName = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=120, pattern=_Text),
    Field(examples=["아메리카노 L"]),
]
Category = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=60, pattern=_Text),
    Field(examples=["coffee"]),
]


class _Input(BaseModel):
    model_config = ConfigDict(defer_build=True, extra="forbid", frozen=True)


# -- what senders send --------------------------------------------------------------------------


class PurchaseLineIn(_Input):
    sku: Sku
    name: ProductName
    category: Category
    quantity: Annotated[StrictInt, Field(ge=1, le=MAX_QUANTITY, examples=[1])]
    unit_price: Annotated[
        StrictInt, Field(ge=0, le=MAX_UNIT_PRICE, description="Minor units of the currency", examples=[4500])
    ]
    premium: StrictBool = Field(default=False, description="A premium service (counts toward value)")


class PurchaseInput(_Input):
    external_id: ExternalId
    customer_id: CustomerId
    store_id: StoreId
    channel: Channel = Field(examples=["store"])
    currency: Currency
    purchased_at: Timestamp
    payment_status: PaymentStatus = Field(
        default="paid",
        description="paid (on time), late (paid after it was due) or failed (not paid: recorded for "
        "the payment record only; no spend, no usual, no PurchaseRecorded)",
    )
    lines: Annotated[list[PurchaseLineIn], Field(min_length=1, max_length=MAX_LINES)]

    @model_validator(mode="after")
    def _fits_one_transaction(self) -> PurchaseInput:
        if len({line.sku for line in self.lines}) > MAX_ITEMS:
            raise ValueError(f"a purchase may hold at most {MAX_ITEMS} distinct SKUs")
        return self


class RefundInput(_Input):
    refund_id: ExternalId
    refunded_at: Timestamp | None = Field(default=None, description="Defaults to now")


class RefundMessage(RefundInput):
    """A refund sent through the intake queue: the purchase's external id travels in the body."""

    external_id: ExternalId


class VisitInput(_Input):
    external_id: ExternalId
    customer_id: CustomerId
    kind: Literal["store", "page"] = Field(examples=["store"])
    place: Annotated[str, StringConstraints(min_length=1, max_length=512)] = Field(
        description="A store id (kind store) or a page path without query string (kind page)",
        examples=["gangnam-01"],
    )
    started_at: Timestamp
    duration_s: Annotated[StrictInt, Field(ge=0, le=86_400, examples=[600])]

    @model_validator(mode="after")
    def _place_fits_kind(self) -> VisitInput:
        pattern = STORE_ID_PATTERN if self.kind == "store" else PAGE_PATTERN
        if not re.fullmatch(pattern, self.place):
            what = "a store id" if self.kind == "store" else "a path like /menu/coffee (no query string)"
            raise ValueError(f"place must be {what}")
        return self


def _array_of(model: str, name: str) -> dict[str, Any]:
    """A list validated item by item by the logic (one bad item fails alone, with its own 422
    result), so the contract promises objects; each must be a ``model`` (the single-item route's
    body) to be recorded."""
    return {
        "type": "array",
        "items": {"type": "object", "description": f"A {model}, as the single-item route takes it."},
        "minItems": 1,
        "maxItems": BATCH_LIMIT,
        "description": (
            f"Up to {BATCH_LIMIT} {name}, each a {model}; each is validated and recorded on its own, "
            "and its result says how it went."
        ),
    }


class PurchaseBatch(_Input):
    purchases: Annotated[
        list[dict[str, Any]],
        Field(min_length=1, max_length=BATCH_LIMIT),
        WithJsonSchema(_array_of("PurchaseInput", "purchases")),
    ]


class VisitBatch(_Input):
    visits: Annotated[
        list[dict[str, Any]],
        Field(min_length=1, max_length=BATCH_LIMIT),
        WithJsonSchema(_array_of("VisitInput", "visits")),
    ]


# -- what is stored and read back ---------------------------------------------------------------


class Line(BaseModel):
    """A purchase line as recorded: equal lines merged, ``amount`` = quantity x unit price."""

    model_config = ConfigDict(defer_build=True, frozen=True)

    sku: str
    name: str
    category: str
    quantity: int
    unit_price: int
    amount: int
    premium: bool = False


class Purchase(BaseModel):
    model_config = ConfigDict(defer_build=True, frozen=True)

    purchase_id: str = Field(description="Ours (pur_...)")
    external_id: str
    customer_id: str
    store_id: str
    channel: Channel
    currency: str
    total: int = Field(description="Minor units; the sum of the lines' amounts")
    lines: list[Line]
    purchased_at: datetime = Field(description="As sent, with its UTC offset (the store's local time)")
    local_date: date = Field(description="The day in the customer's time zone")
    daypart: Daypart = Field(description="The time of day in the customer's time zone")
    payment_status: PaymentStatus
    status: Literal["recorded", "refunded"] = "recorded"
    refund_id: str | None = None
    refunded_at: datetime | None = None
    recorded_at: datetime


class Visit(BaseModel):
    model_config = ConfigDict(defer_build=True, frozen=True)

    visit_id: str = Field(description="Ours (vis_...)")
    external_id: str
    customer_id: str
    kind: Literal["store", "page"]
    place: str
    started_at: datetime
    duration_s: int
    recorded_at: datetime


class ItemResult(BaseModel):
    """One item of a batch: its own status (as if sent alone) and code."""

    model_config = ConfigDict(defer_build=True, frozen=True)

    index: int = Field(description="Position in the request")
    external_id: str | None = None
    status: int = Field(description="201 recorded, 200 already recorded, else the error's status")
    code: str = Field(description="recorded, already_recorded, or the error code")
    id: str | None = Field(default=None, description="Our purchase or visit id when recorded")
    details: list[dict[str, Any]] = Field(default_factory=list)


class BatchResult(BaseModel):
    model_config = ConfigDict(defer_build=True, frozen=True)

    results: list[ItemResult]
    recorded: int
    already_recorded: int
    failed: int


class UsualItem(BaseModel):
    model_config = ConfigDict(defer_build=True, frozen=True)

    sku: str
    name: str
    category: str
    count: int = Field(description="Purchases of it in this daypart (net of refunds)")
    quantity: int = Field(description="Units bought in this daypart (net of refunds)")
    last_at: datetime = Field(description="When it was last bought in this daypart (UTC)")


class CustomerUsual(BaseModel):
    """A customer's usual items per time of day, in their time zone, most bought first."""

    model_config = ConfigDict(defer_build=True, frozen=True)

    customer_id: str
    time_zone: str
    min_count: int = Field(description="An item is usual once bought this many times in the daypart")
    morning: list[UsualItem] = Field(description="05:00-10:59")
    midday: list[UsualItem] = Field(description="11:00-16:59")
    evening: list[UsualItem] = Field(description="17:00-04:59")


class PopularItem(BaseModel):
    model_config = ConfigDict(defer_build=True, frozen=True)

    sku: str
    name: str
    category: str
    count: int = Field(description="Purchases that held it in this hour over the window")
    quantity: int


class HourPopularity(BaseModel):
    model_config = ConfigDict(defer_build=True, frozen=True)

    hour: int = Field(ge=0, le=23, description="The store's local hour of day")
    items: list[PopularItem]


class StorePopularity(BaseModel):
    model_config = ConfigDict(defer_build=True, frozen=True)

    store_id: str
    window_days: int
    from_date: date = Field(description="First local day of the window")
    to_date: date = Field(description="Last local day of the window (the store's today)")
    hours: list[HourPopularity]


# -- what the store tells the logic (``logic.behaviour.BehaviourStore``) --------------------------


@dataclass(frozen=True)
class Claim:
    customer_id: str
    sort_key: str
    fingerprint: str


class AlreadyRecorded(Exception):
    """The external id was claimed before (by the same submission or another)."""

    def __init__(self, claim: Claim) -> None:
        super().__init__("external id already recorded")
        self.claim = claim


class CustomerGone(Exception):
    """The customer has no profile (unknown, or erased meanwhile)."""


class RefundRaced(Exception):
    """The purchase was refunded (or erased) between reading and refunding it."""


@dataclass(frozen=True)
class StoreInfo:
    store_id: str
    utc_offset_min: int


@dataclass(frozen=True)
class PopCounter:
    sku: str
    name: str
    category: str
    count: int
    quantity: int
    day: date

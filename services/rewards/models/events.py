"""The events the rewards service emits on the bus (source ``dangol.rewards``). They carry ids
and numbers, never a person's name or contact, and never a coupon code (a bearer secret).

The offers' and draws' events type each field as strictly as what the service puts in it
(``shared.ids`` patterns, aware instants), so a consumer may rely on the model.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from shared.events import DomainEvent
from shared.ids import ULID_PATTERN, prefixed_pattern

LotKind = Literal["earn", "signup", "award", "pregrant", "adjust"]
CUSTOMER_ID_PATTERN = prefixed_pattern("cus")
COUPON_ID_PATTERN = prefixed_pattern("cpn")
TEMPLATE_ID_PATTERN = prefixed_pattern("ctp")
GIFT_ID_PATTERN = prefixed_pattern("gft")
ENTRY_ID_PATTERN = prefixed_pattern("ent")  # a customer's entry in a gift's draws
# What issued a coupon: an offer a campaign attached to its message ("offer:<offer id>").
COUPON_SOURCE_PATTERN = f"^offer:ofr_{ULID_PATTERN}$"
HEX_256 = r"^[0-9a-f]{64}$"  # 32 bytes in lower-case hex: a seed, a SHA-256 digest
MAX_DRAWS = 50  # draws one gift may hold
MAX_WINNERS = 1000  # winners one draw may pick
CASE_ID_PATTERN = prefixed_pattern("case")  # the feedback service's complaint cases
GOODWILL_GRANT_ID_PATTERN = prefixed_pattern("gw")  # one goodwill grant on a case (feedback's)
LEDGER_ENTRY_ID_PATTERN = f"^{ULID_PATTERN}$"  # a ledger entry (``Entry.id``)
MAX_GOODWILL_POINTS = 100_000  # one grant on a case at most (as ``models.inbound``)
# Why a case's goodwill was not credited: the agent's daily limit (the staff route's and the
# cases' together), no points account for the customer, or an erased customer's account.
GoodwillRefusal = Literal["goodwill_limit_reached", "account_not_found", "customer_erased"]


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
    # what the new tier gives, as the program says (a "you are now ..." message names them)
    tier_name: str = Field(min_length=1, max_length=80)  # as the program's tiers allow
    earn_multiplier_pct: int = Field(ge=100, le=1000)
    perks: list[Annotated[str, Field(min_length=1, max_length=120)]] = Field(max_length=20)


class CouponIssued(DomainEvent):
    """A coupon is in the customer's wallet: issued by marketing, or for a campaign's offer
    (``source = "offer:<offer_id>"``, one coupon per offer)."""

    customer_id: str = Field(pattern=CUSTOMER_ID_PATTERN)
    coupon_id: str = Field(pattern=COUPON_ID_PATTERN)
    template_id: str = Field(pattern=TEMPLATE_ID_PATTERN)
    valid_until: AwareDatetime
    source: str | None = Field(default=None, pattern=COUPON_SOURCE_PATTERN)


class CouponRedeemed(DomainEvent):
    """A till redeemed the customer's coupon for an order (once: a replay of the order publishes
    nothing): a campaign learns that its offer was used."""

    customer_id: str = Field(pattern=CUSTOMER_ID_PATTERN)
    coupon_id: str = Field(pattern=COUPON_ID_PATTERN)
    template_id: str = Field(pattern=TEMPLATE_ID_PATTERN)
    source: str | None = Field(pattern=COUPON_SOURCE_PATTERN)
    redeemed_at: AwareDatetime


class GiftGranted(DomainEvent):
    """The customer won a limited-stock gift, by a qualifying purchase or in a draw."""

    customer_id: str
    gift_id: str
    via: Literal["purchase", "draw"]
    remaining_stock: int


class DrawCommitted(DomainEvent):
    """A draw of a gift is scheduled and its secret seed chosen: ``commitment`` is the seed's
    SHA-256, public before the entries close, so that the seed revealed after the draw can be
    checked against it (nobody, the service included, can choose the winners once it is out)."""

    gift_id: str = Field(pattern=GIFT_ID_PATTERN)
    draw: int = Field(ge=1, le=MAX_DRAWS)
    commitment: str = Field(pattern=HEX_256)
    closes_at: AwareDatetime
    winners: int = Field(
        ge=1, le=MAX_WINNERS, description="Winners wanted (fewer if entries or stock run out)"
    )


class DrawWinner(BaseModel):
    model_config = ConfigDict(defer_build=True, frozen=True, extra="forbid")

    customer_id: str = Field(pattern=CUSTOMER_ID_PATTERN)
    entry_id: str = Field(pattern=ENTRY_ID_PATTERN)


class DrawCompleted(DomainEvent):
    """The draw ran: its winners, in the order the seed picked them, and the seed itself, so that
    anyone can recompute them from the published entries (``GET /draws/{gift_id}/{draw}``)."""

    gift_id: str = Field(pattern=GIFT_ID_PATTERN)
    draw: int = Field(ge=1, le=MAX_DRAWS)
    commitment: str = Field(pattern=HEX_256)
    seed: str = Field(pattern=HEX_256)
    entries: int = Field(ge=0, description="Entries the winners were drawn among")
    winners: list[DrawWinner] = Field(max_length=MAX_WINNERS)


class GoodwillCredited(DomainEvent):
    """The goodwill an agent granted on a case (``GoodwillRequested``) was credited: the ledger
    entry ``entry_id`` carries the case. Once per grant: a redelivered request publishes nothing.
    ``points`` is what was credited (an old debt is paid first: ``PointsEarned`` says how much)."""

    grant_id: str = Field(pattern=GOODWILL_GRANT_ID_PATTERN)
    case_id: str = Field(pattern=CASE_ID_PATTERN)
    customer_id: str = Field(pattern=CUSTOMER_ID_PATTERN)
    points: int = Field(ge=1, le=MAX_GOODWILL_POINTS)
    entry_id: str = Field(pattern=LEDGER_ENTRY_ID_PATTERN)
    credited_at: AwareDatetime


class GoodwillRefused(DomainEvent):
    """The goodwill an agent granted on a case was not credited, and never will be (the grant is
    answered for good: a redelivered request publishes nothing). ``reason`` says why."""

    grant_id: str = Field(pattern=GOODWILL_GRANT_ID_PATTERN)
    case_id: str = Field(pattern=CASE_ID_PATTERN)
    customer_id: str = Field(pattern=CUSTOMER_ID_PATTERN)
    reason: GoodwillRefusal
    refused_at: AwareDatetime

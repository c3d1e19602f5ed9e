"""The points ledger's records (entries, lots, holds), the account views, and the request bodies.

Points are integers. An entry's ``points`` is its effect on the balance (signed), so the balance
is the sum of every entry's ``points``; a credit that paid an old debt says so in
``debt_settled`` (what it credited is ``points + debt_settled``), a reversal that could not take
everything back says so in ``debt_added``. ``held_change`` moves points in and out of holds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt

from services.rewards.models.events import LotKind
from services.rewards.models.presence import MEMBER_CODE_PATTERN
from services.rewards.models.programs import TierProgress
from shared.clock import iso
from shared.events import DomainEvent

ID_PATTERN = r"^[a-z]{2,8}_[0-9A-HJKMNP-TV-Z]{26}$"  # customer ids (as models.inbound's)
ORDER_ID_PATTERN = r"^[A-Za-z0-9._:-]{1,64}$"
STORE_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$"
MAX_ADJUSTMENT = 100_000
MAX_HOLD_MINUTES = 1440

EntryType = Literal[
    "earn", "pre-grant", "redeem", "hold", "capture", "release", "expire", "claw-back", "reverse", "adjust"
]
HoldStatus = Literal["held", "captured", "released", "expired"]


class _Record(BaseModel):
    model_config = ConfigDict(defer_build=True, frozen=True, extra="forbid")


class Draw(_Record):
    """Points taken from (or given back to) one lot."""

    lot_id: str
    expires_at: datetime  # with ``lot_id``, names the lot's item (``LOT#<expires_at>#<lot_id>``)
    points: int = Field(ge=1)


class Entry(_Record):
    """One line of the append-only ledger (also what a history page lists)."""

    id: str
    customer_id: str
    type: EntryType
    points: int  # the effect on the balance
    held_change: int = 0  # the effect on the points held for orders
    balance: int  # after this entry
    actor: str
    reason: str
    source: str
    rule_version: int | None = None
    kind: LotKind | None = None  # credits: the lot's kind
    lot_id: str | None = None  # credits: the lot made (None when all of it paid a debt)
    expires_at: datetime | None = None  # credits: the lot's expiry
    draws: list[Draw] = Field(default_factory=list)
    restores: list[Draw] = Field(default_factory=list)
    debt_settled: int = 0
    debt_added: int = 0
    month: str | None = None  # purchases: the qualifying month (``YYYY-MM``)
    qualifying_spend: int = 0  # purchases: the spend counted for tiers
    order_id: str | None = None  # holds
    case_id: str | None = None  # goodwill granted on a complaint case: the case (the feedback service's)
    at: datetime

    @property
    def credited(self) -> int:
        """What a credit gave: to the balance plus to an old debt."""
        return self.points + self.debt_settled


class Lot(_Record):
    """Credited points with their own expiry; spends take from ``remaining``."""

    id: str
    customer_id: str
    kind: LotKind
    points: int
    remaining: int
    expires_at: datetime
    source: str
    entry_id: str
    job_id: str | None = None
    created_at: datetime

    @property
    def sort_key(self) -> str:
        return lot_sort_key(self.expires_at, self.id)


def lot_sort_key(expires_at: datetime, lot_id: str) -> str:
    return f"LOT#{iso(expires_at)}#{lot_id}"


class Hold(_Record):
    """Points held for an order at the counter, drawn from lots until captured or released."""

    customer_id: str
    order_id: str
    points: int
    status: HoldStatus
    draws: list[Draw]
    expires_at: datetime
    store_id: str | None = None
    captured_points: int = 0
    released_points: int = 0
    actor: str
    created_at: datetime
    closed_at: datetime | None = None


class AccountView(BaseModel):
    """A customer's points: what the customer and staff see."""

    model_config = ConfigDict(defer_build=True, frozen=True)

    customer_id: str
    balance: int = Field(description="Points that can be spent or are waiting to expire.")
    held: int = Field(description="Points held for orders at the counter (not in the balance).")
    debt: int = Field(description="Points owed after a refund; the next earns pay it first.")
    lifetime_earned: int
    tier: str | None = None
    tier_since: date | None = None
    tier_progress: TierProgress | None = Field(
        default=None,
        description="The tier's benefits, the rolling measure, the next tier and any downgrade date",
    )
    expiring_within_30_days: int
    next_expiry: datetime | None = None


# -- request bodies ---------------------------------------------------------------------------


class _Body(BaseModel):
    model_config = ConfigDict(defer_build=True, extra="forbid", frozen=True)


class AdjustmentRequest(_Body):
    """Goodwill (or a correction): positive grants points, negative takes them."""

    points: StrictInt = Field(ge=-MAX_ADJUSTMENT, le=MAX_ADJUSTMENT, description="Non-zero.")
    reason: str = Field(min_length=1, max_length=500)


class HoldRequest(_Body):
    member_code: str = Field(
        pattern=MEMBER_CODE_PATTERN, description="The code the customer's app shows (POST /me/member-code)"
    )
    points: StrictInt = Field(ge=1, le=10_000_000)
    store_id: str | None = Field(default=None, pattern=STORE_ID_PATTERN)
    minutes: StrictInt | None = Field(default=None, ge=1, le=MAX_HOLD_MINUTES)


class CaptureRequest(_Body):
    points: StrictInt | None = Field(default=None, ge=1, le=10_000_000, description="Default: all held.")


class ReleaseRequest(_Body):
    """No fields: a release gives every held point back (the body is ``{}``, as for a capture)."""


# -- what the store reads and what one operation writes (logic decides, dal/ledger.py writes) --


class StaleRead(Exception):
    """The account and its lots were read at different moments (another operation committed in
    between): read them again. The store's ``run`` retries it like a lost condition."""


@dataclass(frozen=True)
class AccountState:
    """The account item as read: ``version`` conditions the next write (0: no account yet)."""

    customer_id: str
    version: int
    balance: int = 0
    held: int = 0
    debt: int = 0
    lifetime_earned: int = 0
    pregrants: dict[str, str] = field(default_factory=dict)  # job id -> expires_at (ISO)
    created_at: str | None = None
    tier: str | None = None
    tier_since: str | None = None
    subject: str | None = None
    erased_at: str | None = None  # the person was erased: the account takes nothing new


@dataclass(frozen=True)
class Claim:
    """One effect per (customer, source): the entry it made and the points it was asked for; or,
    for a source that is answered once whatever happens (a case's goodwill), the refusal it got
    (``refused``: the code; no entry)."""

    source: str
    entry_id: str | None
    points: int
    refused: str | None = None


CounterKind = Literal["qual", "job", "goodwill"]


@dataclass(frozen=True)
class Counter:
    """ADD numbers to an item outside the ledger (a month's qualifying totals, a job's report,
    an agent's day). With ``limit``, the write fails (``refusal``) if ``limit_attr`` would exceed it."""

    kind: CounterKind
    id: str
    add: dict[str, int]
    limit_attr: str | None = None
    limit: int | None = None
    refusal: str | None = None  # the 409 code when the limit condition fails


@dataclass
class Change:
    """Everything one operation writes, as one transaction conditioned on ``version``."""

    account: AccountState  # the new values (``version``: the one read)
    at: datetime
    entries: list[Entry] = field(default_factory=list)
    lots: dict[str, tuple[Lot, int | None]] = field(default_factory=dict)  # id -> (new, remaining read)
    hold: tuple[Hold, HoldStatus | None] | None = None  # (new, status read; None: a new hold)
    claims: list[Claim] = field(default_factory=list)
    counters: list[Counter] = field(default_factory=list)
    events: list[DomainEvent] = field(default_factory=list)

"""Marketing's programs: the earn rules and the tier program (versioned), and what the logic
derives from them (a quote of points for a purchase, a tier decision, progress to the next tier).

Both programs are validated strictly (``extra="forbid"``, limits on every field, integers only):
a bad definition is a 422 and is never stored. Version 0 of each is the built-in defaults below,
in force until marketing stores a version.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictInt,
    StringConstraints,
    model_validator,
)

CURRENCY_PATTERN = r"^[A-Z]{3}$"
TIER_ID_PATTERN = r"^[a-z][a-z0-9-]{1,30}$"
MAX_KEYED_MULTIPLIERS = 200  # categories, stores
MAX_LISTED = 50  # windows, bonuses
MAX_TIERS = 10
MAX_MINOR_UNITS = 10**13


class _Input(BaseModel):
    model_config = ConfigDict(defer_build=True, extra="forbid", frozen=True)


def _iso_text(value: Any) -> Any:
    # pydantic would read a number as a Unix time; a date here is always YYYY-MM-DD.
    if isinstance(value, bool | int | float):
        raise ValueError("must be a date as YYYY-MM-DD")
    return value


Currency = Annotated[str, StringConstraints(pattern=CURRENCY_PATTERN)]
Category = Annotated[str, StringConstraints(min_length=1, max_length=64)]
StoreId = Annotated[str, StringConstraints(min_length=1, max_length=64)]
Pct = Annotated[StrictInt, Field(ge=0, le=1000, description="Percent: 100 = x1, 150 = x1.5, 0 = none")]
Day = Annotated[date, BeforeValidator(_iso_text)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80)]
Points = Annotated[StrictInt, Field(ge=1, le=1_000_000)]
MinorUnits = Annotated[StrictInt, Field(ge=0, le=MAX_MINOR_UNITS)]

# -- earn rules ------------------------------------------------------------------------------


class BaseRate(_Input):
    """``points`` points for every ``per`` minor units of the currency (pro rata, floored once)."""

    points: Points
    per: StrictInt = Field(ge=1, le=10**9)


def _default_rates() -> dict[str, BaseRate]:
    # About 1 % back with a point worth about 1 won.
    return {
        "KRW": BaseRate(points=1, per=100),
        "USD": BaseRate(points=13, per=100),
        "EUR": BaseRate(points=14, per=100),
        "JPY": BaseRate(points=9, per=100),
    }


class EarnWindow(_Input):
    """A promotion: from ``starts_on`` to ``ends_on`` (inclusive, the purchase's local date),
    at ``stores`` (all when absent), earn is multiplied by ``pct``. Overlapping windows stack."""

    name: Name = Field(examples=["Spring double points"])
    starts_on: Day = Field(examples=["2025-03-01"])
    ends_on: Day = Field(examples=["2025-03-31"])
    pct: Pct
    stores: list[StoreId] | None = Field(default=None, min_length=1, max_length=MAX_KEYED_MULTIPLIERS)

    @model_validator(mode="after")
    def _ordered(self) -> EarnWindow:
        if self.starts_on > self.ends_on:
            raise ValueError("starts_on must not be after ends_on")
        return self

    def applies(self, store_id: str, local_date: date) -> bool:
        in_store = self.stores is None or store_id in self.stores
        return in_store and self.starts_on <= local_date <= self.ends_on


class Bonus(_Input):
    """``points`` more for a purchase of at least ``min_total`` minor units in ``currency``."""

    min_total: StrictInt = Field(ge=1, le=MAX_MINOR_UNITS)
    currency: Currency
    points: Points


class EarnRulesSpec(_Input):
    """What marketing sends with ``PUT /admin/earn-rules`` (a field left out takes its default).

    Points for a purchase = floor(sum of line amount x category pct, x base rate, x tier pct,
    x store pct, x each matching window's pct, each pct / 100) + the highest bonus reached,
    capped at ``max_points_per_purchase``. A currency without a base rate earns nothing.
    """

    base_rates: dict[Currency, BaseRate] = Field(default_factory=_default_rates, max_length=50)
    category_multipliers: dict[Category, Pct] = Field(
        default_factory=dict, max_length=MAX_KEYED_MULTIPLIERS, examples=[{"coffee-beans": 200}]
    )
    store_multipliers: dict[StoreId, Pct] = Field(default_factory=dict, max_length=MAX_KEYED_MULTIPLIERS)
    windows: list[EarnWindow] = Field(default_factory=list, max_length=MAX_LISTED)
    bonuses: list[Bonus] = Field(default_factory=list, max_length=MAX_LISTED)
    signup_points: StrictInt = Field(default=1000, ge=0, le=1_000_000)
    points_valid_days: StrictInt = Field(default=365, ge=1, le=3650)
    max_points_per_purchase: StrictInt = Field(default=1_000_000, ge=1, le=100_000_000)

    @model_validator(mode="after")
    def _distinct_bonuses(self) -> EarnRulesSpec:
        steps = [(b.currency, b.min_total) for b in self.bonuses]
        if len(steps) != len(set(steps)):
            raise ValueError("two bonuses have the same currency and min_total")
        return self


class EarnRules(EarnRulesSpec):
    """The earn rules in force. ``version`` 0 is the built-in default (nothing stored yet)."""

    version: StrictInt = Field(ge=0, description="Send it back as If-Match to change the rules")
    updated_at: datetime | None = None


@dataclass(frozen=True)
class EarnQuote:
    """The points a purchase earns, the rule version that said so, and how (ints and text only)."""

    points: int
    rule_version: int
    breakdown: dict[str, Any] = field(default_factory=dict)


# -- tiers -------------------------------------------------------------------------------------

TierId = Annotated[str, StringConstraints(pattern=TIER_ID_PATTERN)]
Perk = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]


class TierBenefits(BaseModel):
    model_config = ConfigDict(defer_build=True, frozen=True)

    earn_multiplier_pct: int
    perks: list[str]


class Tier(_Input):
    """A tier: reached when the qualifying measure is at least ``threshold``."""

    id: TierId = Field(examples=["gold"])
    name: Name = Field(examples=["Gold"])
    threshold: MinorUnits = Field(description="Qualifying spend (minor units) or points to reach it")
    earn_multiplier_pct: StrictInt = Field(default=100, ge=100, le=1000)
    perks: list[Perk] = Field(default_factory=list, max_length=20)

    @property
    def benefits(self) -> TierBenefits:
        return TierBenefits(earn_multiplier_pct=self.earn_multiplier_pct, perks=list(self.perks))


def _default_tiers() -> list[Tier]:
    return [
        Tier(id="basic", name="Basic", threshold=0, earn_multiplier_pct=100, perks=["Birthday coupon"]),
        Tier(
            id="silver",
            name="Silver",
            threshold=300_000,
            earn_multiplier_pct=110,
            perks=["Birthday coupon", "Free size-up"],
        ),
        Tier(
            id="gold",
            name="Gold",
            threshold=1_000_000,
            earn_multiplier_pct=125,
            perks=["Birthday coupon", "Free size-up", "Early access to events"],
        ),
        Tier(
            id="vip",
            name="VIP",
            threshold=3_000_000,
            earn_multiplier_pct=150,
            perks=["Birthday coupon", "Free size-up", "Early access to events", "Priority service"],
        ),
    ]


class TierProgramSpec(_Input):
    """What marketing sends with ``PUT /admin/tiers``. The measure is the rolling
    ``window_months`` (this month and the ones before) of qualifying spend in ``currency`` or of
    points earned, never the balance. Up is at once; down only after ``grace_days`` below."""

    basis: Literal["spend", "points"] = "spend"
    currency: Currency = Field(default="KRW", description="The spend that counts (basis spend)")
    window_months: StrictInt = Field(default=12, ge=1, le=24)
    grace_days: StrictInt = Field(default=90, ge=0, le=365)
    tiers: list[Tier] = Field(default_factory=_default_tiers, min_length=1, max_length=MAX_TIERS)

    @model_validator(mode="after")
    def _ladder(self) -> TierProgramSpec:
        if self.tiers[0].threshold != 0:
            raise ValueError("the first tier's threshold must be 0")
        if any(b.threshold <= a.threshold for a, b in itertools.pairwise(self.tiers)):
            raise ValueError("tier thresholds must increase strictly")
        if len({t.id for t in self.tiers}) != len(self.tiers):
            raise ValueError("tier ids must be unique")
        return self


class TierProgram(TierProgramSpec):
    """The tier program in force. ``version`` 0 is the built-in default."""

    version: StrictInt = Field(ge=0, description="Send it back as If-Match to change the program")
    updated_at: datetime | None = None


@dataclass(frozen=True)
class TierState:
    """An account's tier: since when, and since when its measure is below it (grace)."""

    tier: str | None = None
    since: date | None = None
    below_since: date | None = None


@dataclass(frozen=True)
class TierRecord:
    """What the account says about its tier: the state and the version a change is conditioned on."""

    tier: str | None
    since: date | None
    below_since: date | None
    version: int


@dataclass(frozen=True)
class TierDecision:
    """The state to keep. ``changed``: the tier moved; ``direction`` says how (None: a silent
    first placement in the lowest tier). ``state`` may differ even when unchanged (grace)."""

    state: TierState
    changed: bool
    direction: Literal["up", "down"] | None
    previous: str | None


class TierProgress(BaseModel):
    """Where a customer stands: the tier, its benefits, and how far the next one is."""

    model_config = ConfigDict(defer_build=True, frozen=True)

    tier: str
    tier_name: str
    benefits: TierBenefits
    basis: Literal["spend", "points"]
    qualifying: int = Field(description="The rolling measure (spend in minor units, or points)")
    next_tier: str | None
    next_threshold: int | None
    remaining: int = Field(ge=0, description="What the measure lacks for the next tier (0 at the top)")
    percent: int = Field(ge=0, le=100, description="The measure as a share of the next threshold")
    downgrade_on: date | None = Field(description="The day the tier drops unless the measure recovers")

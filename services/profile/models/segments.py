"""Value and lifestyle-group models: the value model marketing tunes, the lifestyle groups it
defines, a customer's value assessment, and the plain records the segmenter works on.

The value model and the groups are validated strictly (``extra="forbid"``, monotone
thresholds, known fields and operators only): a bad definition is a 422 and is never
stored. Every number is an integer (money in minor units, shares in percent) because the
table refuses floats.
"""

from __future__ import annotations

import dataclasses
import itertools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StringConstraints, model_validator

from services.profile.models.profile import AnniversaryKind

# -- segments and the value model ------------------------------------------------------------

Segment = Literal["top", "loyal", "regular", "occasional", "lapsed"]
SEGMENTS: tuple[Segment, ...] = ("top", "loyal", "regular", "occasional", "lapsed")
SCORED_SEGMENTS: tuple[Segment, ...] = ("top", "loyal", "regular", "occasional")  # lapsed: below


class _Input(BaseModel):
    model_config = ConfigDict(defer_build=True, extra="forbid", frozen=True)


def _strictly_ascending(values: list[int], what: str) -> list[int]:
    if any(b <= a for a, b in itertools.pairwise(values)):
        raise ValueError(f"{what} must be strictly ascending")
    return values


Bands = Annotated[list[StrictInt], Field(min_length=4, max_length=4)]


class Weights(_Input):
    """How much each RFM score weighs in the 0..100 base score; the weights sum to 100."""

    recency: StrictInt = Field(default=35, ge=0, le=100)
    frequency: StrictInt = Field(default=30, ge=0, le=100)
    monetary: StrictInt = Field(default=35, ge=0, le=100)

    @model_validator(mode="after")
    def _sum_to_100(self) -> Weights:
        if self.recency + self.frequency + self.monetary != 100:
            raise ValueError("the weights must sum to 100")
        return self


class SegmentThresholds(_Input):
    """The lowest score of each segment, strictly decreasing; below ``occasional`` is ``lapsed``."""

    top: StrictInt = Field(default=80, ge=1, le=100)
    loyal: StrictInt = Field(default=60, ge=1, le=100)
    regular: StrictInt = Field(default=40, ge=1, le=100)
    occasional: StrictInt = Field(default=20, ge=1, le=100)

    @model_validator(mode="after")
    def _monotone(self) -> SegmentThresholds:
        if not self.top > self.loyal > self.regular > self.occasional:
            raise ValueError("segment thresholds must decrease strictly: top > loyal > regular > occasional")
        return self


class TenureStep(_Input):
    """From ``days`` of tenure on, ``points`` are added to the score."""

    days: StrictInt = Field(ge=1, le=36500)
    points: StrictInt = Field(ge=0, le=20)


def _default_tenure() -> list[TenureStep]:
    return [TenureStep(days=365, points=3), TenureStep(days=1095, points=5)]


class ValueModelSpec(_Input):
    """What marketing sends with ``PUT /admin/value-model`` (a field left out takes its default).

    Scores 1..5: recency by days since the last purchase (at most ``recency_days[0]`` days: 5,
    ..., more than ``recency_days[3]``: 1); frequency by purchases per year (at least
    ``frequency_per_year[3]``: 5, ..., below ``frequency_per_year[0]``: 1); monetary by the net
    lifetime spend in ``home_currency`` minor units, likewise.
    """

    home_currency: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")] = Field(
        default="KRW", description="ISO 4217; only spend in this currency counts", examples=["KRW"]
    )
    recency_days: Bands = Field(
        default_factory=lambda: [30, 90, 180, 365],
        description="Days since the last purchase at which recency drops from 5 to 4, 3, 2 and 1",
    )
    frequency_per_year: Bands = Field(
        default_factory=lambda: [2, 6, 12, 52],
        description="Purchases per year at which frequency reaches 2, 3, 4 and 5",
    )
    frequency_min_span_days: StrictInt = Field(
        default=90, ge=1, le=3650, description="Frequency is counted over at least this many days"
    )
    monetary: Bands = Field(
        default_factory=lambda: [50_000, 200_000, 500_000, 1_500_000],
        description="Net lifetime spend (minor units) at which monetary reaches 2, 3, 4 and 5",
    )
    weights: Weights = Field(default_factory=Weights)
    tenure_bonus: list[TenureStep] = Field(default_factory=_default_tenure, max_length=5)
    premium_points: StrictInt = Field(default=5, ge=0, le=20, description="Bonus at full premium-service use")
    premium_share_pct: StrictInt = Field(
        default=20, ge=1, le=100, description="Share of purchases with a premium service for the full bonus"
    )
    late_payment_points: StrictInt = Field(default=10, ge=0, le=50, description="Penalty at the worst record")
    late_share_pct: StrictInt = Field(default=50, ge=1, le=100, description="Share of late payments for it")
    min_payments: StrictInt = Field(default=3, ge=1, le=1000, description="No penalty with fewer payments")
    segments: SegmentThresholds = Field(default_factory=SegmentThresholds)
    lapsed_after_days: StrictInt | None = Field(
        default=365, ge=1, le=3650, description="Lapsed, whatever the score, after this many days"
    )

    @model_validator(mode="after")
    def _monotone(self) -> ValueModelSpec:
        for name, low, high in (
            ("recency_days", 1, 3650),
            ("frequency_per_year", 1, 100_000),
            ("monetary", 1, 10**13),
        ):
            values: list[int] = getattr(self, name)
            if any(not low <= v <= high for v in values):
                raise ValueError(f"{name} values must be between {low} and {high}")
            _strictly_ascending(values, name)
        _strictly_ascending([s.days for s in self.tenure_bonus], "tenure_bonus days")
        points = [s.points for s in self.tenure_bonus]
        if any(b < a for a, b in itertools.pairwise(points)):
            raise ValueError("tenure_bonus points must not decrease")
        return self


class ValueModel(ValueModelSpec):
    """The value model in force. ``version`` 0 is the built-in default (nothing stored yet)."""

    version: int = Field(ge=0, description="Send it back as If-Match to change the model")
    updated_at: datetime | None = None


# -- a customer's value ------------------------------------------------------------------------


class ValueComponents(BaseModel):
    """What the score is made of. Only facts that change with a purchase or a threshold are kept,
    so a nightly run that crosses no threshold writes nothing."""

    model_config = ConfigDict(defer_build=True, frozen=True)

    recency: int = Field(ge=1, le=5)
    frequency: int = Field(ge=1, le=5)
    monetary: int = Field(ge=1, le=5)
    base: int = Field(ge=0, le=100, description="The weighted RFM score, before adjustments")
    tenure_points: int
    premium_points: int
    payment_points: int = Field(le=0, description="The late-payment penalty (zero or negative)")
    spend: int = Field(description="Net lifetime spend in the model's home currency, minor units")
    purchase_count: int
    last_purchase_at: datetime


class CustomerValue(BaseModel):
    model_config = ConfigDict(defer_build=True, frozen=True)

    customer_id: str
    score: int = Field(ge=0, le=100)
    segment: Segment
    components: ValueComponents
    model_version: int
    assessed_at: datetime = Field(description="When this assessment was made (re-runs that agree keep it)")


# -- lifestyle groups ----------------------------------------------------------------------------

GROUP_ID_PATTERN = r"^[a-z][a-z0-9-]{1,39}$"
MAX_GROUPS = 50
MAX_CONDITIONS = 10
_LOCALE = re.compile(r"^[a-z]{2,3}(-[A-Z][a-z]{3})?(-([A-Z]{2}|[0-9]{3}))?$")
_RANGE_LIMITS = {"age": 150, "tenure_days": 36500}


class RangeCondition(_Input):
    """``age`` in whole years (from the birthday, in the customer's time zone; no birthday: no
    match) or ``tenure_days``: ``gte`` / ``lte`` a number, or ``between`` [low, high] inclusive."""

    field: Literal["age", "tenure_days"]
    op: Literal["gte", "lte", "between"]
    value: StrictInt | list[StrictInt]

    @model_validator(mode="after")
    def _shape(self) -> RangeCondition:
        limit = _RANGE_LIMITS[self.field]
        bounds = self.value if isinstance(self.value, list) else [self.value]
        if self.op == "between":
            if len(bounds) != 2 or not isinstance(self.value, list) or bounds[0] > bounds[1]:
                raise ValueError("between takes [low, high] with low <= high")
        elif isinstance(self.value, list):
            raise ValueError(f"{self.op} takes one number")
        if any(not 0 <= b <= limit for b in bounds):
            raise ValueError(f"{self.field} bounds must be between 0 and {limit}")
        return self


class AnniversaryCondition(_Input):
    """Whether the profile ``has`` (or ``lacks``) an anniversary of a kind: ``child_birthday``
    stands for parents, ``wedding`` for married customers."""

    field: Literal["anniversary"]
    op: Literal["has", "lacks"]
    value: AnniversaryKind


class ChoiceCondition(_Input):
    """``locale`` or value ``segment`` ``in`` / ``not_in`` a list. A locale without a region
    (``ko``) matches every region of that language. A customer not assessed yet has no segment:
    ``in`` never matches them, ``not_in`` always does."""

    field: Literal["locale", "segment"]
    op: Literal["in", "not_in"]
    value: list[Annotated[str, StringConstraints(min_length=2, max_length=20)]] = Field(
        min_length=1, max_length=20
    )

    @model_validator(mode="after")
    def _known_values(self) -> ChoiceCondition:
        for v in self.value:
            if self.field == "segment" and v not in SEGMENTS:
                raise ValueError(f"segment values are {', '.join(SEGMENTS)}")
            if self.field == "locale" and not _LOCALE.fullmatch(v):
                raise ValueError("locale values are BCP 47 tags such as ko or ko-KR")
        return self


Condition = Annotated[RangeCondition | AnniversaryCondition | ChoiceCondition, Field(discriminator="field")]
Conditions = Annotated[list[Condition], Field(min_length=1, max_length=MAX_CONDITIONS)]
GroupName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80)]
Description = Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)]


class GroupUpdate(_Input):
    """A group's whole definition (PUT replaces it). A customer is in the group when ALL rules hold."""

    name: GroupName = Field(examples=["Young families"])
    description: Description = Field(default="", examples=["Parents of young children"])
    rules: Conditions = Field(
        examples=[[{"field": "anniversary", "op": "has", "value": "child_birthday"}]],
    )


class GroupCreate(GroupUpdate):
    id: Annotated[str, StringConstraints(pattern=GROUP_ID_PATTERN)] = Field(
        description="A slug, unique among live groups", examples=["young-families"]
    )


class LifestyleGroup(BaseModel):
    model_config = ConfigDict(defer_build=True, frozen=True)

    id: str
    name: str
    description: str
    rules: list[Condition]
    version: int = Field(ge=1, description="Send it back as If-Match to change or retire the group")
    created_at: datetime
    updated_at: datetime


# -- what the segmenter reads and writes (plain records, built by the data layer) ---------------


@dataclass(frozen=True)
class PurchaseStats:
    """The ``STATS`` item the intake keeps (all zero when the customer has none)."""

    spend: Mapping[str, int] = dataclasses.field(default_factory=dict)  # currency -> net minor units
    purchase_count: int = 0
    refund_count: int = 0
    premium_count: int = 0
    first_purchase_at: datetime | None = None
    last_purchase_at: datetime | None = None
    payments_on_time: int = 0
    payments_late: int = 0


@dataclass(frozen=True)
class ProfileFacts:
    """What group rules and tenure read from the profile item (no personal data beyond these)."""

    version: int
    stored_groups: list[str] | None  # as stored (None: no ``groups`` attribute), for the condition
    created_at: datetime
    locale: str = "ko-KR"
    time_zone: str = "UTC"
    birthday: date | None = None
    anniversary_kinds: frozenset[str] = frozenset()

    @property
    def groups(self) -> tuple[str, ...]:
        return tuple(sorted(set(self.stored_groups or ())))


@dataclass(frozen=True)
class Assessment:
    score: int
    segment: Segment
    model_version: int
    components: ValueComponents

    def same_as(self, other: Assessment | None) -> bool:
        return other is not None and (
            self.score,
            self.segment,
            self.model_version,
            self.components,
        ) == (other.score, other.segment, other.model_version, other.components)


@dataclass(frozen=True)
class StoredValue:
    assessment: Assessment
    assessed_at: datetime


@dataclass(frozen=True)
class CustomerState:
    """Everything one evaluation of a customer reads; ``profile`` None means no such customer.
    ``value_revision`` is the stored ``VALUE`` item's revision (0: none), the condition of the
    next write."""

    customer_id: str
    profile: ProfileFacts | None
    stats: PurchaseStats
    value: StoredValue | None
    value_revision: int = 0


@dataclass(frozen=True)
class Catalog:
    """The live groups' ids (sorted) and the revision the next catalog write must find."""

    ids: tuple[str, ...] = ()
    revision: int = 0


@dataclass
class RunSummary:
    """A nightly run, in counts only; ``resume_after`` is where an unfinished run stopped."""

    started_at: datetime
    finished_at: datetime | None = None
    complete: bool = False
    resume_after: str | None = None  # a customer id (not personal data)
    resumed_from: str | None = None
    customers: int = 0
    skipped: int = 0  # listed but without a profile (erased meanwhile)
    values_written: int = 0
    segments_changed: int = 0
    groups_changed: int = 0
    failed: int = 0  # kept changing under the run; their next evaluation catches them


# -- what the store tells the logic (``logic.value.SegmentStore``) --------------------------------


class Stale(Exception):
    """What was read changed before the write (a failed condition): read again."""


class GroupExists(Exception):
    """A group with this id already exists."""

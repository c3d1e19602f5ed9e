"""A campaign as marketing defines it and as the API shows it, and the decisions of its sending.

A campaign sends one template on one channel to a segment's members, once (now, at an instant,
or at a local time in each customer's own zone) or on a recurring schedule (a cron in a zone).
Its lifecycle: ``draft`` → ``scheduled`` → ``sending`` → ``done``; ``paused`` and ``cancelled``
on the way. Every recipient ends with one decision (``DECISIONS``) in the campaign's message log.

A triggered campaign (``schedule.kind = "trigger"``) is ``live`` once launched: each customer an
event concerns enters it (an anniversary ahead, a tier gained, points expiring, a move to the
lapsed segment, long browsing without a purchase, a registration, a first purchase, a draw won),
at most as often as its re-entry rule allows, and gets its message after its delay unless they
exit first (a purchase ends a winback). Any campaign may attach an offer (a coupon, a content
offer, pre-granted points) to each recipient: it waits for them at login (``GET /me/offers``).
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Annotated, Literal, get_args

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    StrictStr,
    StringConstraints,
    model_validator,
)

from shared.ids import prefixed_pattern

CAMPAIGN_ID_PATTERN = prefixed_pattern("cmp")
SEGMENT_REF = prefixed_pattern("seg")
TEMPLATE_REF = prefixed_pattern("tpl")

Status = Literal["draft", "scheduled", "sending", "live", "paused", "done", "cancelled"]
# What each recipient ends with. ``deferred`` is the one that is not final: the recipient waits
# for their next allowed local time (quiet hours) or for the campaign's local hour in their zone.
# A triggered campaign adds two: ``excluded`` (a guard kept them out: an offer-only buyer, a
# winback offer already in the period, not in the campaign's segment) and ``exited`` (they did
# what the message was for before it went: a purchase ends a winback).
Decision = Literal[
    "sent",
    "deferred",
    "no_consent",
    "capped",
    "control",
    "no_address",
    "erased",
    "failed",
    "excluded",
    "exited",
]
DECISIONS: tuple[Decision, ...] = get_args(Decision)
SUPPRESSED: tuple[Decision, ...] = ("no_consent", "capped", "no_address", "erased", "excluded", "exited")
MAX_PRIORITY = 10
MAX_AHEAD_DAYS = 366  # a campaign is scheduled at most a year ahead


def _iana(name: str) -> str:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{name!r} is not an IANA time zone (e.g. Asia/Seoul)") from None
    if name != name.strip() or ("/" not in name and name not in {"UTC"}):
        raise ValueError(f"{name!r} is not an IANA time zone name (Area/Location, e.g. Asia/Seoul)")
    return name


Zone = Annotated[StrictStr, StringConstraints(min_length=1, max_length=64), AfterValidator(_iana)]


class _Input(BaseModel):
    model_config = ConfigDict(defer_build=True, extra="forbid", frozen=True)


class SendNow(_Input):
    """As soon as it is launched."""

    kind: Literal["now"]


class SendAt(_Input):
    """At one instant, for everyone (an ISO 8601 time with its offset)."""

    kind: Literal["at"]
    at: AwareDatetime = Field(examples=["2026-12-24T09:00:00+09:00"])


class SendAtLocalTime(_Input):
    """On a date at a wall-clock time in each customer's own zone ("09:00 wherever they are")."""

    kind: Literal["local_time"]
    date: dt.date = Field(examples=["2026-12-24"])
    time: dt.time = Field(examples=["09:00"])


class SendRecurring(_Input):
    """Again and again, on an EventBridge cron expression read in ``zone``:
    ``cron(minutes hours day-of-month month day-of-week year)``, e.g. ``cron(0 9 ? * MON *)``."""

    kind: Literal["recurring"]
    cron: Annotated[StrictStr, StringConstraints(min_length=9, max_length=200)] = Field(
        examples=["cron(0 9 ? * MON *)"]
    )
    zone: Zone = Field(examples=["Asia/Seoul"])
    until: AwareDatetime | None = Field(default=None, description="No run after this instant")


AnniversaryKind = Literal["wedding", "birthday", "child_birthday", "membership", "custom"]
COUPON_TEMPLATE_REF = prefixed_pattern("ctp")
GIFT_REF = prefixed_pattern("gft")


class OnAnniversary(_Input):
    """The profile service's ``AnniversaryUpcoming``: an anniversary of one of ``kinds`` is a day
    (its ``lead_days``) ahead of the customer's local morning. Once per anniversary per year."""

    event: Literal["anniversary"]
    kinds: list[AnniversaryKind] = Field(min_length=1, max_length=5, examples=[["wedding"]])


class OnTierUp(_Input):
    """The rewards service's ``TierChanged`` upwards ("you are now …"), into any tier or one of ``tiers``."""

    event: Literal["tier_up"]
    tiers: list[Annotated[StrictStr, StringConstraints(min_length=1, max_length=40)]] | None = Field(
        default=None, max_length=20
    )


class OnPointsExpiring(_Input):
    """The rewards service's ``PointsExpiring``: at least ``min_points`` expire soon."""

    event: Literal["points_expiring"]
    min_points: StrictInt = Field(default=1, ge=1, le=10_000_000)


class OnLapsed(_Input):
    """A move into the ``lapsed`` value segment: the winback. Its guards against loyalty tourists:
    a customer whose every purchase in the last year redeemed a coupon gets nothing
    (``skip_offer_only_buyers``), and a customer gets at most one winback per ``period_days``
    across all winback campaigns."""

    event: Literal["lapsed"]
    skip_offer_only_buyers: bool = True
    period_days: StrictInt = Field(default=90, ge=1, le=730)


class OnBrowsing(_Input):
    """Visits adding up past ``min_minutes`` since the last purchase. With a delay ("no purchase
    within 24 hours") and ``exit_on_purchase``, only those who still have not bought hear from us."""

    event: Literal["browsing"]
    min_minutes: StrictInt = Field(ge=1, le=10_000, examples=[30])


class OnRegistration(_Input):
    """The profile service's ``CustomerRegistered``: the welcome."""

    event: Literal["registration"]


class OnFirstPurchase(_Input):
    """The customer's first purchase."""

    event: Literal["first_purchase"]


class OnDrawWon(_Input):
    """The rewards service's ``DrawCompleted``: each winner of a draw of ``gift_id`` (the announcement)."""

    event: Literal["draw_won"]
    gift_id: Annotated[StrictStr, StringConstraints(pattern=GIFT_REF)] = Field(
        examples=["gft_01JD6Y8A4D1N9V2Q7Y3G5K8M0P"]
    )


Trigger = Annotated[
    OnAnniversary
    | OnTierUp
    | OnPointsExpiring
    | OnLapsed
    | OnBrowsing
    | OnRegistration
    | OnFirstPurchase
    | OnDrawWon,
    Field(discriminator="event"),
]
TRIGGER_EVENTS = ("anniversary", "tier_up", "points_expiring", "lapsed", "browsing", "registration",
                  "first_purchase", "draw_won")  # fmt: skip


class SendOnTrigger(_Input):
    """Whenever an event concerns a customer: each one enters once (an anniversary: once per
    anniversary per year), or again ``reenter_after_days`` after they last entered; their message
    goes ``delay_hours`` after the event (quiet hours still hold a night one to the morning)."""

    kind: Literal["trigger"]
    trigger: Trigger = Field(examples=[{"event": "anniversary", "kinds": ["wedding"]}])
    delay_hours: StrictInt = Field(default=0, ge=0, le=24 * 60, description="0: at once")
    reenter_after_days: StrictInt | None = Field(
        default=None, ge=1, le=3650, description="None: once per customer (per anniversary and year)"
    )
    exit_on_purchase: bool = Field(
        default=False, description="A purchase during the delay ends the customer's entry (a winback)"
    )
    until: AwareDatetime | None = Field(default=None, description="No one enters after this instant")


Schedule = Annotated[
    SendNow | SendAt | SendAtLocalTime | SendRecurring | SendOnTrigger, Field(discriminator="kind")
]

Title = Annotated[StrictStr, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


class CouponOffer(_Input):
    """A coupon the rewards service issues to each recipient (it appears in their wallet)."""

    kind: Literal["coupon"]
    coupon_template_id: Annotated[StrictStr, StringConstraints(pattern=COUPON_TEMPLATE_REF)] = Field(
        examples=["ctp_01JD6Y8A4D1N9V2Q7Y3G5K8M0P"]
    )
    title: Title = Field(examples=["A free cake for your anniversary"])
    valid_days: StrictInt = Field(default=14, ge=1, le=365)


class ContentOffer(_Input):
    """Something to show: a gift bundle, a holiday package (no coupon)."""

    kind: Literal["content"]
    title: Title = Field(examples=["Our anniversary gift box"])
    description: Annotated[StrictStr, StringConstraints(max_length=500)] = ""
    url: Annotated[StrictStr, StringConstraints(pattern=r"^https://[^\s]{1,490}$")] | None = Field(
        default=None, examples=["https://shop.example.com/gift-box"]
    )
    valid_days: StrictInt = Field(default=14, ge=1, le=365)


class PointsOffer(_Input):
    """Points pre-granted by the rewards service for a short time ("3,000 points until Sunday"):
    what is unused at expiry is clawed back."""

    kind: Literal["points"]
    points: StrictInt = Field(ge=1, le=1_000_000, examples=[3000])
    title: Title = Field(examples=["3,000 points until Sunday"])
    valid_days: StrictInt = Field(default=7, ge=1, le=90)


Offer = Annotated[CouponOffer | ContentOffer | PointsOffer, Field(discriminator="kind")]


class CampaignDefinition(_Input):
    """What marketing writes. The template's channel must be ``channel``; its purpose decides
    consent (``<channel>.marketing`` or ``<channel>.service``), caps and quiet hours (a service
    message is transactional: never capped, never held for the night)."""

    name: Annotated[StrictStr, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)] = (
        Field(examples=["Winback: 60 days without a purchase"])
    )
    segment_id: Annotated[StrictStr, StringConstraints(pattern=SEGMENT_REF)] | None = Field(
        default=None,
        examples=["seg_01JD6Y8A4D1N9V2Q7Y3G5K8M0P"],
        description="Who gets it (required, except by a triggered campaign: then only its members enter)",
    )
    template_id: Annotated[StrictStr, StringConstraints(pattern=TEMPLATE_REF)] = Field(
        examples=["tpl_01JD6Y8A4D1N9V2Q7Y3G5K8M0P"]
    )
    channel: Literal["email", "sms", "push"] = Field(examples=["email"])
    priority: StrictInt = Field(
        default=5,
        ge=1,
        le=MAX_PRIORITY,
        description="When two compete for a customer's cap, the higher goes first",
    )
    control_percent: StrictInt = Field(
        default=10, ge=0, le=50, description="The share held out (deterministic per campaign and customer)"
    )
    schedule: Schedule = Field(examples=[{"kind": "now"}])
    offer: Offer | None = Field(default=None, description="Waits for each recipient at login")
    attribution_days: StrictInt = Field(
        default=7, ge=1, le=90, description="A purchase this many days after the message is a conversion"
    )

    @model_validator(mode="after")
    def _audience(self) -> CampaignDefinition:
        if self.segment_id is None and self.schedule.kind != "trigger":
            raise ValueError("segment_id: a campaign that is not triggered needs a segment")
        return self

    @property
    def triggered(self) -> bool:
        return self.schedule.kind == "trigger"


class Counts(BaseModel):
    """Decisions so far. ``deferred`` counts those waiting now (they move on to a final one)."""

    model_config = ConfigDict(defer_build=True, frozen=True)

    audience: int = Field(description="Recipients planned so far (the segment's members at launch)")
    control: int = 0
    sent: int = 0
    delivered: int = Field(default=0, description="Sent e-mails SES reports the recipient's server took")
    bounced: int = Field(default=0, description="Sent e-mails that bounced permanently (SES)")
    complained: int = Field(default=0, description="Sent e-mails the recipient reported as spam (SES)")
    deferred: int = 0
    no_consent: int = 0
    capped: int = 0
    no_address: int = 0
    erased: int = 0
    failed: int = 0
    excluded: int = 0
    exited: int = 0
    decided: int = Field(default=0, description="Recipients with a final decision")


class Campaign(BaseModel):
    model_config = ConfigDict(defer_build=True, frozen=True)

    id: str = Field(examples=["cmp_01JD6Y8A4D1N9V2Q7Y3G5K8M0P"])
    name: str
    segment_id: str | None
    template_id: str
    channel: str
    priority: int
    control_percent: int
    schedule: dict[str, object]
    offer: dict[str, object] | None = None
    attribution_days: int = 7
    status: Status
    version: int
    runs: int = Field(description="Runs started (a recurring campaign runs many times)")
    next_run_at: AwareDatetime | None = Field(default=None, description="When the next run starts")
    template_version: int | None = Field(default=None, description="Pinned at launch")
    segment_version: int | None = Field(default=None, description="Pinned at launch")
    created_at: AwareDatetime
    updated_at: AwareDatetime
    launched_at: AwareDatetime | None = None
    launched_via: str | None = Field(default=None, description="api, or event:<id> (an event on the bus)")
    launched_by: str | None = Field(default=None, description="Who asked, when the launch came by an event")


class Report(BaseModel):
    model_config = ConfigDict(defer_build=True, frozen=True)

    campaign_id: str
    status: Status
    runs: int
    counts: Counts
    suppressed: dict[str, int] = Field(description="Not sent, by reason")
    planned: bool = Field(description="Every recipient of the runs so far is planned")
    results: str = Field(description="Its result against the control group (conversions, lift)")
    points_report: str | None = Field(
        default=None,
        description="A points offer's figures at the rewards service: points issued, used and clawed back",
    )


class MessageRecord(BaseModel):
    """One recipient's line in the message log: ids and the decision, nothing personal."""

    model_config = ConfigDict(defer_build=True, frozen=True)

    customer_id: str
    run: int
    decision: Decision
    reason: str | None = Field(
        default=None, description="What decided it (e.g. email.marketing, quiet_hours)"
    )
    message_id: str | None = Field(default=None, description="The channel's id of the message sent")
    deferred_until: AwareDatetime | None = None
    decided_at: AwareDatetime

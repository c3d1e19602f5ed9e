"""A campaign as marketing defines it and as the API shows it, and the decisions of its sending.

A campaign sends one template on one channel to a segment's members, once (now, at an instant,
or at a local time in each customer's own zone) or on a recurring schedule (a cron in a zone).
Its lifecycle: ``draft`` → ``scheduled`` → ``sending`` → ``done``; ``paused`` and ``cancelled``
on the way. Every recipient ends with one decision (``DECISIONS``) in the campaign's message log.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    StrictStr,
    StringConstraints,
)

from shared.ids import prefixed_pattern

CAMPAIGN_ID_PATTERN = prefixed_pattern("cmp")
SEGMENT_REF = prefixed_pattern("seg")
TEMPLATE_REF = prefixed_pattern("tpl")

Status = Literal["draft", "scheduled", "sending", "paused", "done", "cancelled"]
# What each recipient ends with. ``deferred`` is the one that is not final: the recipient waits
# for their next allowed local time (quiet hours) or for the campaign's local hour in their zone.
Decision = Literal["sent", "deferred", "no_consent", "capped", "control", "no_address", "erased", "failed"]
DECISIONS: tuple[Decision, ...] = (
    "sent",
    "deferred",
    "no_consent",
    "capped",
    "control",
    "no_address",
    "erased",
    "failed",
)
SUPPRESSED: tuple[Decision, ...] = ("no_consent", "capped", "no_address", "erased")
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


Schedule = Annotated[SendNow | SendAt | SendAtLocalTime | SendRecurring, Field(discriminator="kind")]


class CampaignDefinition(_Input):
    """What marketing writes. The template's channel must be ``channel``; its purpose decides
    consent (``<channel>.marketing`` or ``<channel>.service``), caps and quiet hours (a service
    message is transactional: never capped, never held for the night)."""

    name: Annotated[StrictStr, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)] = (
        Field(examples=["Winback: 60 days without a purchase"])
    )
    segment_id: Annotated[StrictStr, StringConstraints(pattern=SEGMENT_REF)] = Field(
        examples=["seg_01JD6Y8A4D1N9V2Q7Y3G5K8M0P"]
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
    decided: int = Field(default=0, description="Recipients with a final decision")


class Campaign(BaseModel):
    model_config = ConfigDict(defer_build=True, frozen=True)

    id: str = Field(examples=["cmp_01JD6Y8A4D1N9V2Q7Y3G5K8M0P"])
    name: str
    segment_id: str
    template_id: str
    channel: str
    priority: int
    control_percent: int
    schedule: dict[str, object]
    status: Status
    version: int
    runs: int = Field(description="Runs started (a recurring campaign runs many times)")
    next_run_at: AwareDatetime | None = Field(default=None, description="When the next run starts")
    template_version: int | None = Field(default=None, description="Pinned at launch")
    segment_version: int | None = Field(default=None, description="Pinned at launch")
    created_at: AwareDatetime
    updated_at: AwareDatetime
    launched_at: AwareDatetime | None = None


class Report(BaseModel):
    model_config = ConfigDict(defer_build=True, frozen=True)

    campaign_id: str
    status: Status
    runs: int
    counts: Counts
    suppressed: dict[str, int] = Field(description="Not sent, by reason")
    planned: bool = Field(description="Every recipient of the runs so far is planned")


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

"""What happens to one recipient when their batch is sent: the decision, made at send time from
the contact card the profile service gives now (not the view, not the plan).

In order, the first that applies decides:

1. ``erased``: the profile service no longer has the customer (or never had them);
2. ``no_consent``: no consent for this channel and purpose now (``<channel>.marketing`` for an
   advertisement, ``<channel>.service`` for a transactional message);
3. ``no_address``: nothing to reach them on (no e-mail, phone or push token);
4. ``control``: the campaign's deterministic holdout (after eligibility, so the control group is
   drawn from the same customers as those who get the message, and lift compares like with like);
5. ``deferred``: not yet. A local-time campaign waits for its hour in the customer's zone; an
   advertisement waits out quiet hours (21:00-08:00 local) unless it goes by SMS or push to a
   customer with the separate night consent (``<channel>.night``). E-mail has no night consent:
   Korea's law exempts it from the night rule (``logic.templates``) but a marketer's e-mail at
   23:00 is still unwelcome, so quiet hours hold it to 08:00 for everyone;
6. ``capped`` (decided by the caller, atomically: ``cap_periods`` names the counters);
7. otherwise the message is sent (``sent``) or the channel refuses it (``failed``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import zoneinfo
from dataclasses import dataclass

from services.campaigns.logic.addressing import in_night
from services.campaigns.models.campaigns import Decision
from services.campaigns.models.cards import ContactCard

QUIET_END = dt.time(8, 0)
DEFAULT_ZONE = "Asia/Seoul"


@dataclass(frozen=True)
class Sending:
    """A campaign run as its sender sees it."""

    campaign_id: str
    run: int
    channel: str
    purpose: str  # marketing | service
    priority: int
    control_percent: int
    local_time: tuple[dt.date, dt.time] | None = None  # "09:00 wherever they are"

    @property
    def transactional(self) -> bool:
        return self.purpose == "service"


@dataclass(frozen=True)
class Verdict:
    """``decision`` None: go ahead (subject to the cap). ``until``: when a deferred one is due."""

    decision: Decision | None
    reason: str | None = None
    until: dt.datetime | None = None


GO = Verdict(None)


def in_control(campaign_id: str, customer_id: str, percent: int) -> bool:
    """The holdout: the same answer for a campaign and customer on every call, on every machine
    (a hash, not a random draw), about ``percent`` out of 100 customers."""
    digest = hashlib.sha256(f"{campaign_id}:{customer_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % 10_000 < percent * 100


def zone_of(card: ContactCard) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(card.time_zone or DEFAULT_ZONE)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo(DEFAULT_ZONE)


def address_of(channel: str, card: ContactCard) -> str | None:
    if channel == "email":
        return card.email
    if channel == "sms":
        return card.phone
    tokens = [d for d in card.devices if d.token]
    return tokens[0].device_id if tokens else None


def _next_quiet_end(local: dt.datetime) -> dt.datetime:
    end = local.replace(hour=QUIET_END.hour, minute=QUIET_END.minute, second=0, microsecond=0)
    return end if local.time() < QUIET_END else end + dt.timedelta(days=1)


def decide(sending: Sending, card: ContactCard, now: dt.datetime) -> Verdict:
    if card.status != "active":
        return Verdict("erased", card.status)
    consent = f"{sending.channel}.{sending.purpose}"
    if not card.consents.get(consent, False):
        return Verdict("no_consent", consent)
    if address_of(sending.channel, card) is None:
        return Verdict("no_address", {"email": "email", "sms": "phone"}.get(sending.channel, "push_token"))
    if in_control(sending.campaign_id, card.customer_id, sending.control_percent):
        return Verdict("control")
    zone = zone_of(card)
    local = now.astimezone(zone)
    if sending.local_time is not None:
        day, hour = sending.local_time
        due = dt.datetime.combine(day, hour, tzinfo=zone)
        if now < due:
            return Verdict("deferred", "local_time", due.astimezone(dt.UTC))
    if not sending.transactional and in_night(local.time()):
        night = f"{sending.channel}.night"
        if not (sending.channel in {"sms", "push"} and card.consents.get(night, False)):
            return Verdict("deferred", "quiet_hours", _next_quiet_end(local).astimezone(dt.UTC))
    return GO


def cap_periods(card: ContactCard, now: dt.datetime) -> tuple[str, str]:
    """The customer's local day and ISO week now: the frequency caps' counters."""
    local = now.astimezone(zone_of(card)).date()
    year, week, _ = local.isocalendar()
    return local.isoformat(), f"{year}-W{week:02d}"


def priority_delay_s(priority: int, *, step_s: int, top: int = 10) -> int:
    """How long a batch waits in the queue before it is seen: 0 for the highest priority, one
    ``step_s`` more for each step below. Campaigns launched or due at the same moment then meet
    each customer's cap in priority order (SQS has no priority; a delay, up to 15 minutes, is
    what it has)."""
    return max(0, min(900, (top - priority) * step_s))

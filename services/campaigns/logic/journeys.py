"""Triggered campaigns: the days that matter, found in the events that concern a customer.

An event becomes **occasions** (``occasions``): what it says about one customer that a live
triggered campaign may enter them for (an anniversary ahead, a tier gained, points expiring, a
move to the lapsed segment, browsing past a threshold, a registration, a first purchase, a draw
won). Each live campaign listed under the occasion's trigger decides whether it matches
(``matches``: its anniversary kinds, its tiers, its threshold, its gift), and the customer
**enters** (``Journeys.on``):

- at most once per occasion's subject (an anniversary is ``kind:date:year``: once per anniversary
  per year; a tier is its name), or again ``reenter_after_days`` after the last entry;
- a winback keeps out a customer whose every purchase in the last year redeemed a coupon (an
  offer-only buyer, the "loyalty tourist") and gives a customer at most one winback per period
  across all winback campaigns: both are recorded ``excluded`` with the reason, so marketing sees
  who was kept out and why;
- an entry is a run of its own: its message-log line is written ``deferred`` to the moment its
  delay ends, with what the message may say about the occasion (``trigger.*``), and the
  releaser hands it to the sender then, who decides as for any campaign (consent, quiet hours,
  control group, caps);
- a purchase before that moment ends an entry of a campaign with ``exit_on_purchase``
  (``exited``, reason ``purchase``).

Every write is conditional on what was read (the entry's item carries a counter), so an event
delivered twice, or two events at once, enter a customer once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from services.campaigns.models.view import CustomerView

ANY = "*"  # an entry about nothing more than its trigger (a map key is never empty in DynamoDB)
MAX_SUBJECTS = 24  # subjects an entry item remembers (the newest): two years of monthly ones


@dataclass(frozen=True)
class Occasion:
    """One customer's occasion for a trigger: ``subject`` names what an entry is about (entered
    once each); ``facts`` is what a message may say (``trigger.*`` in a template)."""

    trigger: str
    customer_id: str
    at: dt.datetime
    subject: str = ANY  # the trigger itself: entered once (or again after the re-entry days)
    facts: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Entry:
    """What ``JourneyStore.enter`` writes: a run's message-log line, deferred to ``due``, or
    recorded ``excluded`` with ``reason``."""

    campaign_id: str
    customer_id: str
    subject: str
    at: dt.datetime
    due: dt.datetime
    facts: Mapping[str, Any]
    reenter_after_days: int | None
    exit_on_purchase: bool
    excluded: str | None = None  # the guard that kept them out
    winback_period_days: int | None = None  # a winback: at most one per customer per period


@dataclass(frozen=True)
class Entered:
    """An entry made: its run, and when it is due (``excluded``: kept out, never due)."""

    campaign_id: str
    run: int
    customer_id: str
    excluded: str | None
    due: dt.datetime

    def due_by(self, moment: dt.datetime) -> bool:
        """Due by ``moment`` (no delay): the sender may have it at once, not at the releaser's minute."""
        return self.excluded is None and self.due <= moment


class JourneyStore(Protocol):
    def live(self, trigger: str) -> list[dict[str, Any]]:
        """The live campaigns triggered by ``trigger`` (their catalog items)."""
        ...

    def is_member(self, segment_id: str, customer_id: str) -> bool: ...

    def last_winback(self, customer_id: str) -> dt.datetime | None: ...

    def enter(self, entry: Entry) -> int | None:
        """Write the entry (its run's line, its due item, its counters, in one transaction); its
        run, or None when the customer had entered for this subject (or may not re-enter yet)."""
        ...

    def pending_exits(self, customer_id: str, at: dt.datetime) -> list[tuple[str, int]]:
        """(campaign, run) of the customer's entries that end on a purchase, still waiting at ``at``."""
        ...

    def exit(self, campaign_id: str, run: int, customer_id: str, *, reason: str, at: dt.datetime) -> bool: ...


def occasions(detail_type: str, event: Any, view: CustomerView | None, at: dt.datetime) -> list[Occasion]:
    """What one event offers the triggered campaigns (``view``: the customer's view after it)."""
    if detail_type == "AnniversaryUpcoming":
        facts = {
            "kind": event.kind,
            "years": event.years,
            "occurs_on": event.occurs_on.isoformat(),
            "lead_days": event.lead_days,
        }
        subject = f"{event.kind}:{event.date.isoformat()}:{event.occurs_on.year}"
        return [Occasion("anniversary", event.customer_id, at, subject, facts)]
    if detail_type == "TierChanged":
        if event.direction != "up":
            return []
        facts = {
            "tier": event.tier,
            "previous": event.previous or "",
            "tier_name": event.tier_name or event.tier,
            "perks": ", ".join(event.perks),
            "earn_multiplier_pct": event.earn_multiplier_pct or 0,
        }
        return [Occasion("tier_up", event.customer_id, at, f"tier:{event.tier}", facts)]
    if detail_type == "PointsExpiring":
        facts = {"points": event.points, "expires_on": event.expires_on.isoformat()}
        return [Occasion("points_expiring", event.customer_id, at, f"expiry:{event.expires_on}", facts)]
    if detail_type == "ValueSegmentChanged":
        if event.segment != "lapsed" or event.previous == "lapsed":
            return []
        return [Occasion("lapsed", event.customer_id, at, ANY, {"previous": event.previous or ""})]
    if detail_type == "VisitRecorded" and view is not None:
        minutes = view.browsing_s // 60
        return [Occasion("browsing", event.customer_id, at, ANY, {"minutes": minutes})]
    if detail_type == "CustomerRegistered":
        return [Occasion("registration", event.customer_id, at)]
    if detail_type == "PurchaseRecorded" and view is not None and view.first_purchase_id == event.purchase_id:
        return [Occasion("first_purchase", event.customer_id, at, ANY, {"total": event.total})]
    if detail_type == "DrawCompleted":
        return [
            Occasion(
                "draw_won",
                winner.customer_id,
                at,
                f"draw:{event.gift_id}:{event.draw}",
                {"gift_id": event.gift_id, "draw": event.draw},
            )
            for winner in event.winners
        ]
    return []


def matches(trigger: Mapping[str, Any], occasion: Occasion) -> bool:
    """Whether a campaign's trigger (its ``schedule.trigger``) takes this occasion."""
    if trigger.get("event") != occasion.trigger:
        return False
    facts = occasion.facts
    if occasion.trigger == "anniversary":
        return facts.get("kind") in (trigger.get("kinds") or [])
    if occasion.trigger == "tier_up":
        tiers = trigger.get("tiers")
        return not tiers or facts.get("tier") in tiers
    if occasion.trigger == "points_expiring":
        return int(facts.get("points", 0)) >= int(trigger.get("min_points") or 1)
    if occasion.trigger == "browsing":
        return int(facts.get("minutes", 0)) >= int(trigger["min_minutes"])
    if occasion.trigger == "draw_won":
        return facts.get("gift_id") == trigger.get("gift_id")
    return True


def offer_only_buyer(view: CustomerView | None) -> bool:
    """A coupon redeemed for every purchase they ever made (and there was one): a lapsed customer's
    purchases lie beyond every rolling window, so the counts are lifetime ones."""
    return view is not None and view.purchases_ever > 0 and view.coupons_ever >= view.purchases_ever


class Journeys:
    def __init__(self, store: JourneyStore) -> None:
        self.store = store

    def on(self, found: Sequence[Occasion], view: CustomerView | None, *, now: dt.datetime) -> list[Entered]:
        """Enter the customers of ``found`` into the live campaigns that take them."""
        made: list[Entered] = []
        for occasion in found:
            for campaign in self.store.live(occasion.trigger):
                entry = self._entry(campaign, occasion, view, now)
                if entry is None:
                    continue
                run = self.store.enter(entry)
                if run is not None:
                    made.append(Entered(entry.campaign_id, run, entry.customer_id, entry.excluded, entry.due))
        return made

    def _entry(
        self, campaign: Mapping[str, Any], occasion: Occasion, view: CustomerView | None, now: dt.datetime
    ) -> Entry | None:
        schedule = campaign.get("schedule") or {}
        trigger = schedule.get("trigger") or {}
        if campaign.get("status") != "live" or not matches(trigger, occasion):
            return None
        until = schedule.get("until")
        if until and dt.datetime.fromisoformat(str(until)) < occasion.at:
            return None
        segment_id = campaign.get("segment_id")
        if segment_id and not self.store.is_member(str(segment_id), occasion.customer_id):
            return None  # not the campaign's audience: no entry, no line
        excluded: str | None = None
        period: int | None = None
        if trigger.get("event") == "lapsed":
            period = int(trigger.get("period_days") or 90)
            last = self.store.last_winback(occasion.customer_id)
            if trigger.get("skip_offer_only_buyers", True) and offer_only_buyer(view):
                excluded = "offer_only_buyer"
            elif last is not None and last > occasion.at - dt.timedelta(days=period):
                excluded = "winback_period"
        delay = dt.timedelta(hours=int(schedule.get("delay_hours") or 0))
        return Entry(
            campaign_id=str(campaign["id"]),
            customer_id=occasion.customer_id,
            subject=occasion.subject,
            at=occasion.at,
            due=max(occasion.at + delay, now),
            facts=dict(occasion.facts),
            reenter_after_days=schedule.get("reenter_after_days"),
            exit_on_purchase=bool(schedule.get("exit_on_purchase")),
            excluded=excluded,
            winback_period_days=period if excluded is None else None,
        )

    def purchase(self, customer_id: str, at: dt.datetime) -> list[tuple[str, int]]:
        """A purchase ends the customer's waiting entries of campaigns with ``exit_on_purchase``."""
        return [
            (campaign_id, run)
            for campaign_id, run in self.store.pending_exits(customer_id, at)
            if self.store.exit(campaign_id, run, customer_id, reason="purchase", at=at)
        ]


def may_enter(item: Mapping[str, Any] | None, entry: Entry) -> bool:
    """The entry rule, on the customer's entry item of the campaign (``subjects``: when each
    subject was last entered): a subject is entered once, or again after ``reenter_after_days``."""
    if item is None:
        return True
    last = (item.get("subjects") or {}).get(entry.subject)
    if last is None:
        return True
    if entry.reenter_after_days is None:
        return False
    return dt.datetime.fromisoformat(str(last)) <= entry.at - dt.timedelta(days=entry.reenter_after_days)


def remembered(subjects: Mapping[str, str], subject: str, at: dt.datetime) -> dict[str, str]:
    """The subjects an entry item keeps after this entry (the newest ``MAX_SUBJECTS``)."""
    kept = {**subjects, subject: at.isoformat()}
    newest = sorted(kept.items(), key=lambda kv: kv[1], reverse=True)[:MAX_SUBJECTS]
    return dict(newest)

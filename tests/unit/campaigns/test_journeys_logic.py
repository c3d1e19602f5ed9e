"""Triggered campaigns' rules, without AWS: which events are occasions, which campaigns take them,
who may enter again, the winback's guards, and the offers' ids."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

import pytest

from services.campaigns.logic import journeys
from services.campaigns.logic.journeys import ANY, Entry, Journeys, Occasion, may_enter, remembered
from services.campaigns.logic.offers import offer_id, offer_of, waiting
from services.campaigns.models import inbound
from services.campaigns.models.view import CustomerView
from shared.ids import new_id, prefixed_pattern

AT = dt.datetime(2026, 12, 2, 3, 0, tzinfo=dt.UTC)
CUSTOMER = new_id("cus")


def _entry(subject: str = ANY, *, reenter: int | None = None, at: dt.datetime = AT) -> Entry:
    return Entry(
        campaign_id=new_id("cmp"),
        customer_id=CUSTOMER,
        subject=subject,
        at=at,
        due=at,
        facts={},
        reenter_after_days=reenter,
        exit_on_purchase=False,
    )


def test_an_anniversary_is_an_occasion_once_per_anniversary_and_year() -> None:
    # Given the same wedding anniversary announced in two years, and a child's birthday
    def upcoming(kind: str, year: int) -> inbound.AnniversaryUpcoming:
        return inbound.AnniversaryUpcoming(
            customer_id=CUSTOMER,
            kind=kind,
            date=dt.date(2016, 12, 3),
            occurs_on=dt.date(year, 12, 3),
            years=year - 2016,
            lead_days=1,
        )

    # When each becomes an occasion
    (first,) = journeys.occasions("AnniversaryUpcoming", upcoming("wedding", 2026), None, AT)
    (second,) = journeys.occasions("AnniversaryUpcoming", upcoming("wedding", 2027), None, AT)
    (child,) = journeys.occasions("AnniversaryUpcoming", upcoming("child_birthday", 2026), None, AT)
    # Then each has its own subject, and says the years and this year's day (not the date itself)
    assert len({first.subject, second.subject, child.subject}) == 3
    assert first.facts == {"kind": "wedding", "years": 10, "occurs_on": "2026-12-03", "lead_days": 1}


@pytest.mark.parametrize(
    ("detail_type", "data", "trigger"),
    [
        ("TierChanged", {"previous": "silver", "tier": "gold", "direction": "up"}, "tier_up"),
        ("PointsExpiring", {"points": 500, "expires_on": "2026-12-31"}, "points_expiring"),
        ("ValueSegmentChanged", {"previous": "regular", "segment": "lapsed"}, "lapsed"),
        ("CustomerRegistered", {"locale": "ko-KR", "time_zone": "Asia/Seoul"}, "registration"),
    ],
)
def test_each_trigger_event_is_an_occasion_for_its_trigger(
    detail_type: str, data: dict[str, Any], trigger: str
) -> None:
    event = getattr(inbound, detail_type).model_validate({"customer_id": CUSTOMER, **data})
    (occasion,) = journeys.occasions(detail_type, event, None, AT)
    assert (occasion.trigger, occasion.customer_id) == (trigger, CUSTOMER)


def test_what_is_not_an_occasion() -> None:
    # A tier lost, a move within lapsed, and a second purchase are none
    down = inbound.TierChanged(customer_id=CUSTOMER, previous="gold", tier="silver", direction="down")
    still = inbound.ValueSegmentChanged(customer_id=CUSTOMER, previous="lapsed", segment="lapsed")
    purchase = inbound.PurchaseRecorded(
        purchase_id=new_id("pur"),
        customer_id=CUSTOMER,
        currency="KRW",
        total=1000,
        purchased_at=AT,
        local_date=AT.date(),
    )
    view = CustomerView(customer_id=CUSTOMER, first_purchase_id=new_id("pur"))
    assert journeys.occasions("TierChanged", down, None, AT) == []
    assert journeys.occasions("ValueSegmentChanged", still, None, AT) == []
    assert journeys.occasions("PurchaseRecorded", purchase, view, AT) == []
    # But the purchase that made them a customer is
    first = view.model_copy(update={"first_purchase_id": purchase.purchase_id})
    assert [o.trigger for o in journeys.occasions("PurchaseRecorded", purchase, first, AT)] == [
        "first_purchase"
    ]


def test_a_campaign_takes_only_the_occasions_its_trigger_names() -> None:
    wedding = Occasion("anniversary", CUSTOMER, AT, "x", {"kind": "wedding"})
    assert journeys.matches({"event": "anniversary", "kinds": ["wedding"]}, wedding)
    assert not journeys.matches({"event": "anniversary", "kinds": ["birthday"]}, wedding)
    assert not journeys.matches({"event": "tier_up"}, wedding)
    gold = Occasion("tier_up", CUSTOMER, AT, "x", {"tier": "gold"})
    assert journeys.matches({"event": "tier_up", "tiers": None}, gold)
    assert not journeys.matches({"event": "tier_up", "tiers": ["vip"]}, gold)
    browsing = Occasion("browsing", CUSTOMER, AT, ANY, {"minutes": 29})
    assert not journeys.matches({"event": "browsing", "min_minutes": 30}, browsing)
    expiring = Occasion("points_expiring", CUSTOMER, AT, "x", {"points": 500})
    assert journeys.matches({"event": "points_expiring", "min_points": 500}, expiring)
    assert not journeys.matches({"event": "points_expiring", "min_points": 501}, expiring)


def test_a_subject_is_entered_once_or_again_after_the_reentry_days() -> None:
    # Given a customer who entered a subject ten days ago
    item = {"subjects": {ANY: (AT - dt.timedelta(days=10)).isoformat()}}
    # Then a first entry is allowed, a second without re-entry is not, with 7 days it is, with 30 not
    assert may_enter(None, _entry())
    assert may_enter(item, _entry("other"))
    assert not may_enter(item, _entry())
    assert may_enter(item, _entry(reenter=7))
    assert not may_enter(item, _entry(reenter=30))


def test_an_entry_item_remembers_the_newest_subjects() -> None:
    subjects: dict[str, str] = {}
    for day in range(30):
        subjects = remembered(subjects, f"s{day}", AT + dt.timedelta(days=day))
    assert len(subjects) == journeys.MAX_SUBJECTS
    assert "s29" in subjects
    assert "s0" not in subjects


def test_an_offer_only_buyer_is_one_who_redeemed_a_coupon_for_every_purchase_ever() -> None:
    # Given two purchases ever, both older than any rolling window (as a lapsed customer's are)
    def view(coupons: int, purchases: int = 2) -> CustomerView:
        return CustomerView(customer_id=CUSTOMER, purchases_ever=purchases, coupons_ever=coupons)

    # Then two coupons make an offer-only buyer; one does not, nor does nobody who never bought
    assert journeys.offer_only_buyer(view(2))
    assert not journeys.offer_only_buyer(view(1))
    assert not journeys.offer_only_buyer(view(0, purchases=0))
    assert not journeys.offer_only_buyer(None)


@dataclass
class FakeStore:
    campaigns: list[dict[str, Any]]
    members: set[str] = field(default_factory=set)
    winback: dt.datetime | None = None
    entered: list[Entry] = field(default_factory=list)

    def live(self, trigger: str) -> list[dict[str, Any]]:
        return self.campaigns

    def is_member(self, segment_id: str, customer_id: str) -> bool:
        return customer_id in self.members

    def last_winback(self, customer_id: str) -> dt.datetime | None:
        return self.winback

    def enter(self, entry: Entry) -> int | None:
        self.entered.append(entry)
        return len(self.entered)

    def pending_exits(self, customer_id: str, at: dt.datetime) -> list[tuple[str, int]]:
        return []

    def exit(self, campaign_id: str, run: int, customer_id: str, *, reason: str, at: dt.datetime) -> bool:
        return True


def _campaign(trigger: dict[str, Any], **schedule: Any) -> dict[str, Any]:
    return {
        "id": new_id("cmp"),
        "status": "live",
        "segment_id": None,
        "schedule": {"kind": "trigger", "trigger": trigger, **schedule},
    }


def test_a_winback_within_the_period_is_excluded_and_the_delay_sets_when_it_is_due() -> None:
    lapsed = Occasion("lapsed", CUSTOMER, AT)
    # Given a winback 24 hours after the move, and a customer whose last winback was 30 days ago
    store = FakeStore([_campaign({"event": "lapsed", "period_days": 90}, delay_hours=24)])
    store.winback = AT - dt.timedelta(days=30)
    # When they lapse again
    Journeys(store).on([lapsed], None, now=AT)
    # Then they are entered as excluded, with the reason
    (entry,) = store.entered
    assert (entry.excluded, entry.winback_period_days) == ("winback_period", None)
    # And after the period, one enters with the period to claim, due a day later
    store.entered.clear()
    store.winback = AT - dt.timedelta(days=91)
    Journeys(store).on([lapsed], None, now=AT)
    (entry,) = store.entered
    assert (entry.excluded, entry.winback_period_days, entry.due) == (None, 90, AT + dt.timedelta(hours=24))


def test_paused_ended_and_other_segments_campaigns_take_nobody() -> None:
    occasion = Occasion("registration", CUSTOMER, AT)
    paused = {**_campaign({"event": "registration"}), "status": "paused"}
    ended = _campaign({"event": "registration"}, until=(AT - dt.timedelta(seconds=1)).isoformat())
    elsewhere = {**_campaign({"event": "registration"}), "segment_id": new_id("seg")}
    store = FakeStore([paused, ended, elsewhere])
    assert Journeys(store).on([occasion], None, now=AT) == []
    # A member of the segment enters it, due at once
    store.members.add(CUSTOMER)
    (entered,) = Journeys(store).on([occasion], None, now=AT)
    assert (entered.campaign_id, entered.run, entered.excluded) == (elsewhere["id"], 1, None)
    assert entered.due == AT
    assert entered.due_by(AT)
    assert not entered.due_by(AT - dt.timedelta(seconds=1))


def test_an_offer_id_is_the_same_for_a_run_and_customer_and_shaped_like_an_id() -> None:
    campaign_id = new_id("cmp")
    first = offer_id(campaign_id, CUSTOMER, 1)
    assert first == offer_id(campaign_id, CUSTOMER, 1) != offer_id(campaign_id, CUSTOMER, 2)
    assert re.fullmatch(prefixed_pattern("ofr"), first)
    assert first[4] in "01234567"


def test_an_offer_lasts_its_days_and_expired_ones_wait_no_more() -> None:
    campaign = {
        "id": new_id("cmp"),
        "offer": {"kind": "points", "points": 3000, "title": "3,000", "valid_days": 7},
    }
    item, event = offer_of(campaign, 1, CUSTOMER, AT)
    assert event is not None
    assert event.detail_type() == "PointsOfferRequested"
    assert item["expires_at"] == (AT + dt.timedelta(days=7)).isoformat()
    assert [o.status for o in waiting([item], AT + dt.timedelta(days=6))] == ["waiting"]
    assert waiting([item], AT + dt.timedelta(days=7)) == []

"""Triggered campaigns on moto: the events that concern a customer enter them (once, whatever is
redelivered), the releaser hands each entry to the sender when its delay ends, the message says
what the event said, the offer waits at login, a purchase before the message ends a winback, the
winback's guards keep out offer-only buyers and a second winback in the period, and a purchase
after a message (or after the control group's moment) is the campaign's conversion. Also: a
launch asked for by an event on the bus, and a draw schedule's events."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest

from services.campaigns.dal.templates import DynamoTemplates
from services.campaigns.logic.sending import in_control
from services.campaigns.topology import (
    CAMPAIGNS,
    EVENTS,
    EVENTS_QUEUE,
    LAUNCH_QUEUE,
    LAUNCHER,
)
from shared.events import Envelope, EventPublisher, RecordedEvent
from shared.ids import new_id
from shared.topology import Function
from tests.integration.apigw import ApiResponse, Invoker, api_event
from tests.integration.campaigns.test_sending import World, mails_to, make_world
from tests.integration.conftest import BusWatch, QueueDrain, table

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish:UserWarning")

ANNIVERSARY = {
    "ko-KR": {
        "subject": "{{ customer.first_name }}님, 결혼 {{ trigger.years }}주년을 미리 축하드려요",
        "html": "<p>{{ customer.usual }} 한 잔과 {{ offer.title }} ({{ offer.expires_on }}까지)</p>",
        "text": "{{ customer.usual }} 한 잔과 {{ offer.title }} ({{ offer.expires_on }}까지)",
    },
    "en-US": {
        "subject": "{{ trigger.years }} years together, {{ customer.first_name }}",
        "html": "<p>{{ offer.title }} until {{ offer.expires_on }}</p>",
        "text": "{{ offer.title }} until {{ offer.expires_on }}",
    },
}
TIER_UP = {
    "en-US": {
        "subject": "You are now {{ trigger.tier_name }}",
        "html": "<p>From {{ trigger.previous }}: {{ trigger.perks }}</p>",
        "text": "From {{ trigger.previous }}: {{ trigger.perks }}, points"
        " x{{ trigger.earn_multiplier_pct }}%",
    },
}


@dataclass
class Journeys(World):
    events: QueueDrain | None = None
    launches: QueueDrain | None = None
    bus: str = ""

    def publish(
        self, source: str, detail_type: str, data: dict[str, Any], *, at: datetime | None = None
    ) -> None:
        event = RecordedEvent(detail_type, "1", data)
        EventPublisher(self.bus, f"dangol.{source}").publish([Envelope(event, occurred_at=at or self.now)])

    def drain(self) -> None:
        assert self.events is not None
        while self.events():
            pass

    def registered(self, customer_id: str, *, locale: str = "ko-KR", zone: str = "Asia/Seoul") -> None:
        data = {
            "customer_id": customer_id,
            "subject": f"sub-{customer_id}",
            "locale": locale,
            "time_zone": zone,
        }
        self.publish("profile", "CustomerRegistered", data)

    def trigger_template(self, locales: dict[str, Any], *, default_locale: str = "ko-KR") -> str:
        template_id = new_id("tpl")
        definition = {
            "name": "journey",
            "channel": "email",
            "purpose": "marketing",
            "sender": "Dangol Bakery",
            "locales": locales,
            "default_locale": default_locale,
        }
        at = self.now.isoformat()
        DynamoTemplates(table(CAMPAIGNS)).create(
            {"id": template_id, "version": 1, "definition": definition, "created_at": at, "updated_at": at}
        )
        return template_id

    def triggered(self, template_id: str, schedule: dict[str, Any], **overrides: Any) -> dict[str, Any]:
        body = {
            "name": "journey",
            "template_id": template_id,
            "channel": "email",
            "control_percent": 0,
            "schedule": {"kind": "trigger", **schedule},
            **overrides,
        }
        created = self.call("POST", "/admin/campaigns", body=body)
        assert created.status == 201, created.body
        launched = self.launch(created.json()["id"])
        assert launched["status"] == "live"
        return launched

    def as_customer(
        self, customer_id: str, method: str, resource: str, params: dict[str, str] | None = None
    ) -> ApiResponse:
        event = api_event(
            "profile_get_me",
            method=method,
            resource=resource,
            path_parameters=params,
            path=None if params else resource,
            groups="customer",
            sub=f"sub-{customer_id}",
        )
        return self.api(event)

    def results(self, campaign_id: str) -> dict[str, Any]:
        found = self.call("GET", "/admin/campaigns/{campaign_id}/results", {"campaign_id": campaign_id})
        assert found.status == 200, found.body
        return dict(found.json())

    def purchase(self, customer_id: str, *, total: int, at: datetime, drain: bool = True) -> str:
        purchase_id = new_id("pur")
        self.publish(
            "profile",
            "PurchaseRecorded",
            {
                "purchase_id": purchase_id,
                "external_id": purchase_id,
                "customer_id": customer_id,
                "store_id": "gangnam",
                "channel": "store",
                "currency": "KRW",
                "total": total,
                "lines": [],
                "purchased_at": at.isoformat(),
                "local_date": (at + timedelta(hours=9)).date().isoformat(),
            },
            at=at,
        )
        if drain:
            self.drain()
        return purchase_id


@pytest.fixture
def journeys(
    moto: None,
    bus: str,
    lambda_function: Callable[[Function], Invoker],
    frozen_clock: Callable[[datetime], None],
    monkeypatch: pytest.MonkeyPatch,
) -> Journeys:
    return make_world(
        bus,
        lambda_function,
        frozen_clock,
        monkeypatch,
        kind=Journeys,
        drains={"events": (EVENTS, EVENTS_QUEUE), "launches": (LAUNCHER, LAUNCH_QUEUE)},
        bus=bus,
    )


def _anniversary(customer_id: str, *, years: int = 10) -> dict[str, Any]:
    return {
        "customer_id": customer_id,
        "kind": "wedding",
        "label": None,
        "date": f"{2025 - years}-06-03",
        "occurs_on": "2025-06-03",
        "years": years,
        "lead_days": 1,
    }


def test_an_anniversary_ahead_sends_one_personal_message_and_leaves_an_offer_at_login(
    journeys: Journeys, bus: str
) -> None:
    watch = BusWatch(bus, ["OfferCouponRequested"])
    # Given a registered customer who allows marketing e-mail, and a live campaign for wedding
    # anniversaries with a coupon offer valid 14 days
    customer = journeys.customer()
    journeys.cards.cards_by_id[customer] = journeys.cards.cards_by_id[customer].model_copy(
        update={"usual": "아메리카노"}
    )
    journeys.registered(customer)
    template = journeys.trigger_template(ANNIVERSARY)
    offer = {
        "kind": "coupon",
        "coupon_template_id": new_id("ctp"),
        "title": "케이크 한 조각",
        "valid_days": 14,
    }
    campaign = journeys.triggered(
        template, {"trigger": {"event": "anniversary", "kinds": ["wedding", "birthday"]}}, offer=offer
    )
    # And a birthday campaign that is not about weddings
    other = journeys.triggered(template, {"trigger": {"event": "anniversary", "kinds": ["membership"]}})
    # When the profile service says the wedding anniversary is tomorrow (12:00 in Seoul), twice
    journeys.publish("profile", "AnniversaryUpcoming", _anniversary(customer))
    journeys.publish("profile", "AnniversaryUpcoming", _anniversary(customer))
    journeys.drain()
    journeys.at(journeys.now)
    journeys.at(journeys.now + timedelta(minutes=1))
    # Then one message, with the years, their usual and the offer's last day, reached them
    sent = mails_to(customer)
    assert len(sent) == 1
    assert "결혼 10주년" in str(sent[0]["Subject"])
    body = sent[0].get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "아메리카노" in body
    assert "케이크 한 조각" in body
    assert "2025-06-16" in body
    # And the other campaign took nothing
    assert journeys.report(other["id"])["counts"]["audience"] == 0
    # And the report and the log say it was one entry, sent
    counts = journeys.report(campaign["id"])["counts"]
    assert (counts["audience"], counts["sent"], counts["deferred"]) == (1, 1, 0)
    # And the offer waits at login with its expiry, and the rewards service was asked for the coupon once
    offers = journeys.as_customer(customer, "GET", "/me/offers").json()["items"]
    assert [(o["kind"], o["title"], o["status"]) for o in offers] == [("coupon", "케이크 한 조각", "waiting")]
    assert offers[0]["expires_at"].startswith("2025-06-16")
    asked = watch.data("OfferCouponRequested")
    assert [(a["offer_id"], a["customer_id"]) for a in asked] == [(offers[0]["id"], customer)]
    # When the rewards service issues it, the customer opens it and redeems the coupon
    coupon_id = new_id("cpn")
    journeys.publish(
        "rewards",
        "CouponIssued",
        {
            "customer_id": customer,
            "coupon_id": coupon_id,
            "template_id": offer["coupon_template_id"],
            "valid_until": (journeys.now + timedelta(days=14)).isoformat(),
            "source": f"offer:{offers[0]['id']}",
        },
    )
    journeys.drain()
    opened = journeys.as_customer(
        customer, "POST", "/me/offers/{offer_id}/open", {"offer_id": offers[0]["id"]}
    )
    assert opened.status == 200, opened.body
    assert (opened.json()["coupon_id"], opened.json()["status"]) == (coupon_id, "opened")
    # And buys within the attribution window
    journeys.purchase(customer, total=32_000, at=journeys.now + timedelta(days=1))
    # Then the campaign counts one conversion and its revenue
    overall = journeys.results(campaign["id"])["overall"]
    assert (overall["recipients"], overall["conversions"], overall["revenue"]) == (1, 1, 32_000)
    assert overall["verdict"] == "too_small"
    # When the finder and the trigger run again
    journeys.publish("profile", "AnniversaryUpcoming", _anniversary(customer))
    journeys.drain()
    journeys.at(journeys.now + timedelta(minutes=2))
    # Then nothing more is sent or offered
    assert len(mails_to(customer)) == 1
    assert len(journeys.as_customer(customer, "GET", "/me/offers").json()["items"]) == 1
    assert watch.data("OfferCouponRequested") == []


def test_a_tier_gained_is_told_once_and_a_tier_lost_not_at_all(journeys: Journeys) -> None:
    # Given a customer in English and a live "you are now ..." campaign for the gold tier
    customer = journeys.customer(locale="en-US")
    journeys.registered(customer, locale="en-US")
    template = journeys.trigger_template(TIER_UP, default_locale="en-US")
    campaign = journeys.triggered(template, {"trigger": {"event": "tier_up", "tiers": ["gold"]}})
    # When the rewards service moves them up to gold, then down, then up to gold again
    benefits = {
        "gold": {"tier_name": "Gold", "earn_multiplier_pct": 125, "perks": ["Free size-up", "Early access"]},
        "silver": {"tier_name": "Silver", "earn_multiplier_pct": 110, "perks": ["Free size-up"]},
    }
    for previous, tier, direction in (
        ("silver", "gold", "up"),
        ("gold", "silver", "down"),
        ("silver", "gold", "up"),
    ):
        change = {"customer_id": customer, "previous": previous, "tier": tier, "direction": direction}
        journeys.publish("rewards", "TierChanged", {**change, **benefits[tier]})
    journeys.drain()
    journeys.at(journeys.now + timedelta(minutes=1))
    # Then one message says "You are now Gold", with what gold gives
    (sent,) = mails_to(customer)
    assert str(sent["Subject"]).removeprefix("(광고) ") == "You are now Gold"
    body = sent.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "From silver: Free size-up, Early access, points x125%" in body, body
    assert journeys.report(campaign["id"])["counts"]["sent"] == 1


def test_a_winback_skips_offer_only_buyers_gives_one_per_period_and_ends_on_a_purchase(
    journeys: Journeys,
) -> None:
    # Given three customers who last bought over a year ago: one only ever with a coupon, two without
    tourist, lapsed, returning = journeys.customer(), journeys.customer(), journeys.customer()
    for customer in (tourist, lapsed, returning):
        journeys.registered(customer)
    journeys.purchase(tourist, total=5_000, at=journeys.now - timedelta(days=400))
    journeys.publish(
        "rewards",
        "CouponRedeemed",
        {
            "customer_id": tourist,
            "coupon_id": new_id("cpn"),
            "template_id": new_id("ctp"),
            "source": None,
            "redeemed_at": (journeys.now - timedelta(days=400)).isoformat(),
        },
    )
    for customer in (lapsed, returning):
        journeys.purchase(customer, total=5_000, at=journeys.now - timedelta(days=400))
    # And two live winback campaigns, the first 24 hours after the move, ending on a purchase
    template = journeys.trigger_template(ANNIVERSARY)
    winback = journeys.triggered(
        template,
        {"trigger": {"event": "lapsed", "period_days": 90}, "delay_hours": 24, "exit_on_purchase": True},
    )
    # When all three move to the lapsed segment
    for customer in (tourist, lapsed, returning):
        journeys.publish(
            "profile",
            "ValueSegmentChanged",
            {
                "customer_id": customer,
                "previous": "regular",
                "segment": "lapsed",
                "score": 10,
                "model_version": 1,
            },
        )
    journeys.drain()
    journeys.at(journeys.now)  # the releaser's minute goes on every minute from here
    # Then the offer-only buyer is excluded with the reason, the two others wait a day
    lines = {line["customer_id"]: line for line in journeys.log(winback["id"])}
    assert (lines[tourist]["decision"], lines[tourist]["reason"]) == ("excluded", "offer_only_buyer")
    assert lines[lapsed]["decision"] == lines[returning]["decision"] == "deferred"
    # When one of them buys within the day
    journeys.purchase(returning, total=7_000, at=journeys.now + timedelta(hours=3))
    journeys.at(journeys.now + timedelta(hours=24, minutes=1))
    # Then only the other gets the winback, and the one who came back exited
    assert len(mails_to(lapsed)) == 1
    assert mails_to(returning) == []
    assert mails_to(tourist) == []
    lines = {line["customer_id"]: line for line in journeys.log(winback["id"])}
    assert (lines[returning]["decision"], lines[returning]["reason"]) == ("exited", "purchase")
    report = journeys.report(winback["id"])
    assert report["suppressed"]["excluded"] == 1
    assert report["suppressed"]["exited"] == 1
    assert report["counts"]["deferred"] == 0
    # When a second winback campaign goes live and the lapsed customer moves there again
    second = journeys.triggered(template, {"trigger": {"event": "lapsed", "period_days": 90}})
    journeys.publish(
        "profile",
        "ValueSegmentChanged",
        {
            "customer_id": lapsed,
            "previous": "occasional",
            "segment": "lapsed",
            "score": 9,
            "model_version": 2,
        },
    )
    journeys.drain()
    # Then the period's one winback is spent: excluded, with the reason
    (line,) = journeys.log(second["id"])
    assert (line["decision"], line["reason"]) == ("excluded", "winback_period")


def test_a_welcome_coupon_is_asked_for_every_new_customer_even_without_consent(
    journeys: Journeys, bus: str
) -> None:
    watch = BusWatch(bus, ["OfferCouponRequested"])
    # Given a live welcome campaign with a coupon
    template = journeys.trigger_template(ANNIVERSARY)
    offer = {
        "kind": "coupon",
        "coupon_template_id": new_id("ctp"),
        "title": "Welcome coffee",
        "valid_days": 30,
    }
    campaign = journeys.triggered(template, {"trigger": {"event": "registration"}}, offer=offer)
    # When a customer who allows no marketing e-mail registers
    customer = journeys.customer(consents={})
    journeys.registered(customer)
    journeys.drain()
    journeys.at(journeys.now + timedelta(minutes=1))
    # Then no e-mail goes, but the coupon is asked for and the offer waits at login
    assert mails_to(customer) == []
    (line,) = journeys.log(campaign["id"])
    assert line["decision"] == "no_consent"
    assert [a["customer_id"] for a in watch.data("OfferCouponRequested")] == [customer]
    assert [o["title"] for o in journeys.as_customer(customer, "GET", "/me/offers").json()["items"]] == [
        "Welcome coffee"
    ]
    # And once they are erased, their login finds nothing and no link to it is left
    journeys.publish("profile", "CustomerErased", {"customer_id": customer, "erased_by": "customer"})
    journeys.drain()
    assert journeys.as_customer(customer, "GET", "/me/offers").json()["items"] == []
    assert table(CAMPAIGNS).get({"pk": f"SUB#sub-{customer}", "sk": "LOGIN"}) is None


def test_the_control_group_gets_neither_message_nor_offer_and_its_purchases_count_as_control(
    journeys: Journeys,
) -> None:
    # Given a welcome campaign holding 50% out, and 16 customers registering
    template = journeys.trigger_template(ANNIVERSARY)
    offer = {"kind": "content", "title": "Our gift box", "valid_days": 7}
    campaign = journeys.triggered(
        template, {"trigger": {"event": "registration"}}, offer=offer, control_percent=50
    )
    customers = [journeys.customer() for _ in range(16)]
    for customer in customers:
        journeys.registered(customer)
    journeys.drain()
    journeys.at(journeys.now + timedelta(minutes=1))
    held = [c for c in customers if in_control(campaign["id"], c, 50)]
    assert 0 < len(held) < len(customers)  # both groups (all 16 on one side: 1 in 32,768)
    # When every customer buys the next day
    for customer in customers:
        journeys.purchase(customer, total=10_000, at=journeys.now + timedelta(days=1), drain=False)
    journeys.drain()
    # Then the held-out ones got nothing, and the result compares both groups
    assert all(mails_to(c) == [] for c in held)
    assert all(journeys.as_customer(c, "GET", "/me/offers").json()["items"] == [] for c in held)
    overall = journeys.results(campaign["id"])["overall"]
    assert (overall["control"], overall["control_conversions"]) == (len(held), len(held))
    assert (overall["recipients"], overall["conversions"]) == (16 - len(held), 16 - len(held))
    (month,) = journeys.results(campaign["id"])["periods"]
    assert month["period"] == "2025-06"
    csv = journeys.call("GET", "/admin/campaigns/{campaign_id}/results.csv", {"campaign_id": campaign["id"]})
    assert csv.status == 200
    assert (csv.header("Content-Type") or "").startswith("text/csv")
    assert csv.body.splitlines()[0].startswith("campaign_id,")


def test_a_launch_asked_for_on_the_bus_is_recorded_like_an_api_launch(journeys: Journeys) -> None:
    # Given a draft campaign for a segment of two
    members = [journeys.customer(), journeys.customer()]
    campaign = journeys.campaign(journeys.segment(members), journeys.template(), control_percent=0)
    # When marketing puts CampaignLaunchRequested on the bus (the AWS console), twice
    for _ in range(2):
        journeys.publish(
            "campaigns", "CampaignLaunchRequested", {"campaign_id": campaign["id"], "requested_by": "jiwoo"}
        )
    assert journeys.launches is not None
    while journeys.launches():
        pass
    journeys.run()
    # Then it was launched once, with who asked, and sent to both
    shown = journeys.call("GET", "/admin/campaigns/{campaign_id}", {"campaign_id": campaign["id"]}).json()
    assert (shown["launched_by"], shown["launched_via"][:6], shown["runs"]) == ("jiwoo", "event:", 1)
    assert all(len(mails_to(c)) == 1 for c in members)
    # And a launch of a campaign that does not exist is consumed, not retried
    journeys.publish(
        "campaigns", "CampaignLaunchRequested", {"campaign_id": new_id("cmp"), "requested_by": "jiwoo"}
    )
    assert journeys.launches() == 1


def test_a_draw_schedule_announces_each_draw_and_its_winners_get_the_announcement(
    journeys: Journeys, bus: str
) -> None:
    watch = BusWatch(bus, ["DrawScheduled", "DrawDue"])
    gift = new_id("gft")
    closes = [journeys.now + timedelta(hours=h) for h in (1, 2, 3)]
    # Given a live announcement campaign for the gift's draws
    template = journeys.trigger_template(TIER_UP | {"ko-KR": TIER_UP["en-US"]}, default_locale="en-US")
    announce = journeys.triggered(template, {"trigger": {"event": "draw_won", "gift_id": gift}})
    # When marketing schedules three draws
    body = {"gift_id": gift, "draws": [{"closes_at": c.isoformat(), "winners": 1} for c in closes]}
    created = journeys.call("POST", "/admin/draw-schedules", body=body)
    assert created.status == 201, created.body
    # Then each draw is announced to the rewards service at once, before its entries close
    assert [(d["draw"], d["winners"]) for d in watch.data("DrawScheduled")] == [(1, 1), (2, 1), (3, 1)]
    again = journeys.call("POST", "/admin/draw-schedules", body=body)
    assert (again.status, again.json()["error"]["code"]) == (409, "draw_schedule_exists")
    # When the rewards service commits to the first draw
    commitment = "ab" * 32
    journeys.publish(
        "rewards",
        "DrawCommitted",
        {
            "gift_id": gift,
            "draw": 1,
            "commitment": commitment,
            "closes_at": closes[0].isoformat(),
            "winners": 1,
        },
    )
    journeys.drain()
    shown = journeys.call("GET", "/admin/draw-schedules/{gift_id}", {"gift_id": gift}).json()
    assert [(d["status"], d["commitment"]) for d in shown["draws"]] == [
        ("committed", commitment),
        ("scheduled", None),
        ("scheduled", None),
    ]
    # When the first draw's entries close
    journeys.at(journeys.now)
    journeys.at(closes[0] + timedelta(minutes=1))
    # Then it is due, once
    assert watch.data("DrawDue") == [{"gift_id": gift, "draw": 1}]
    # When the rewards service draws a winner
    winner = journeys.customer(locale="en-US")
    journeys.publish(
        "rewards",
        "DrawCompleted",
        {
            "gift_id": gift,
            "draw": 1,
            "commitment": commitment,
            "seed": "cd" * 32,
            "entries": 5,
            "winners": [{"customer_id": winner, "entry_id": new_id("ent")}],
        },
    )
    journeys.drain()
    journeys.at(journeys.now + timedelta(minutes=1))
    # Then the winner is told, and the schedule shows the draw done with its seed
    assert len(mails_to(winner)) == 1
    assert journeys.report(announce["id"])["counts"]["sent"] == 1
    first = journeys.call("GET", "/admin/draw-schedules/{gift_id}", {"gift_id": gift}).json()["draws"][0]
    assert (first["status"], first["seed"], first["winners_drawn"]) == ("drawn", "cd" * 32, 1)


@pytest.mark.parametrize(("recipients", "verdict"), [(2000, "measured"), (20, "too_small")])
def test_a_seeded_effect_lies_within_the_reported_interval_and_a_small_campaign_says_so(
    journeys: Journeys, recipients: int, verdict: str
) -> None:
    from services.campaigns.dal.campaigns import DynamoCampaigns
    from services.campaigns.dal.journeys import DynamoResults
    from services.campaigns.logic.results import exposure_counters

    # Given a campaign whose message lifts conversion from 5% to 10% (seeded: every twentieth of
    # the control group converts, every tenth of the rest, so that the seeded effect is the sample's
    # own; the interval's coverage over random samples is tests/unit/campaigns/test_results.py's)
    template = journeys.trigger_template(ANNIVERSARY)
    campaign = journeys.triggered(template, {"trigger": {"event": "registration"}}, control_percent=10)
    results = DynamoResults(table(CAMPAIGNS))
    counted: dict[str, int] = {}
    every = {"c": 20, "t": 10}
    recipients_of: list[tuple[str, str, bool]] = []  # (customer, group, converts)
    for _ in range(recipients):
        customer = new_id("cus")
        group = "c" if in_control(campaign["id"], customer, 10) else "t"
        for name in exposure_counters(group, journeys.now):
            counted[name] = counted.get(name, 0) + 1
        recipients_of.append((customer, group, counted[f"r:{group}:recipients"] % every[group] == 0))
    # When each recipient is exposed (sent, or held out: the sender counts them with its batch) and
    # those who convert buy within the window (first: moto copies every table for a transaction)
    for customer, group, converts in sorted(recipients_of, key=lambda r: not r[2]):
        assert results.exposed(campaign["id"], 1, customer, group=group, at=journeys.now, attribution_days=7)
        if converts:
            results.converted(
                customer, new_id("pur"), total=10_000, currency="KRW", at=journeys.now + timedelta(days=2)
            )
    DynamoCampaigns(table(CAMPAIGNS)).add_counts(campaign["id"], counted)
    # Then the result's 95% interval holds the seeded lift of 0.05, or it says it is too small
    overall = journeys.results(campaign["id"])["overall"]
    assert overall["recipients"] + overall["control"] == recipients
    converted = {g: sum(1 for _, group, c in recipients_of if c and group == g) for g in ("t", "c")}
    assert (overall["conversions"], overall["control_conversions"]) == (converted["t"], converted["c"])
    assert overall["verdict"] == verdict
    if verdict == "measured":
        lift = overall["lift"]
        assert lift["low"] <= 0.05 <= lift["high"]
        assert "Newcombe" in lift["method"]
        assert overall["incremental_revenue"] > 0
    else:
        assert overall["lift"] is None
        assert "at least 30" in overall["reason"]

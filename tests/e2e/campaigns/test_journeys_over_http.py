"""Issue 15's stories over HTTP on the local runtime, on its simulated clock.

The anniversary: a customer whose wedding anniversary is tomorrow and who allows marketing push
gets, at 09:00 their time the day before, one message with their name, the years and their usual;
the offer waits when they log in, with its expiry; a till redeems its coupon with a purchase, and
the campaign's result counts one conversion; the finder and the trigger running again send
nothing more.

The draws: an event with three draws publishes each draw's commitment before its entries close;
each draw is made when its entries close, its winner is told, and the public verification route
recomputes each draw's winners from the revealed seed and the published entries.

The welcome, a tier gained and the winback: a new customer's wallet holds the welcome coupon; a
purchase that makes a customer silver tells them so once, with what silver gives; when both
customers lapse, the one who only ever bought with a coupon is kept out of the winback with the
reason logged, and the other gets it once, in the morning."""

from __future__ import annotations

import json
import uuid
from datetime import date, datetime, timedelta
from typing import Any

import pytest

from tests.e2e.campaigns.test_campaign_over_http import clock, outbox, staff, story_day, until
from tests.e2e.conftest import LocalSystem

pytestmark = pytest.mark.xdist_group("campaigns-story")

ANNIVERSARY = {
    "name": "Wedding anniversary",
    "channel": "push",
    "purpose": "marketing",
    "sender": "Dangol Bakery",
    "locales": {
        "ko-KR": {
            "title": "{{ customer.first_name }}님, 결혼 {{ trigger.years }}주년 축하드려요",
            "body": "내일을 위해 {{ customer.usual }}와 {{ offer.title }}를 준비했어요"
            " ({{ offer.expires_on }}까지)",
        }
    },
    "default_locale": "ko-KR",
}
WINNER = {
    "name": "You won",
    "channel": "push",
    "purpose": "service",
    "sender": "Dangol Bakery",
    "locales": {"ko-KR": {"title": "당첨!", "body": "{{ trigger.draw }}차 추첨에 당첨되셨어요"}},
    "default_locale": "ko-KR",
}
SEOUL = "+09:00"


def _customer(system: LocalSystem, name: str, **profile: Any) -> tuple[str, str]:
    """Signed up, with push on a phone and consent to marketing push (and the night's)."""
    token = system.sign_up()["id"]
    created = system.request("POST", "/me", token=token, body={"display_name": name, **profile})
    assert created.status == 201, created.body
    device = {"platform": "android", "token": f"fcm-{uuid.uuid4().hex}"}
    assert system.request("PUT", "/me/devices/phone-1", token=token, body=device).status in (200, 201)
    for purpose in ("marketing", "service"):
        consent = {"channel": "push", "purpose": purpose, "granted": True}
        assert system.request("POST", "/me/consents", token=token, body=consent).status in (200, 201)
    return token, str(created.json()["customer_id"])


def _purchase(
    system: LocalSystem, customer_id: str, at: datetime, *, total_lines: list[dict[str, Any]]
) -> str:
    body = {
        "external_id": f"e2e-journey-{uuid.uuid4().hex[:12]}",
        "customer_id": customer_id,
        "store_id": "gangnam-01",
        "channel": "store",
        "currency": "KRW",
        "purchased_at": at.isoformat(),
        "lines": total_lines,
    }
    recorded = system.request("POST", "/purchases", token=system.token("machine"), body=body)
    assert recorded.status == 201, recorded.body
    return str(recorded.json()["purchase_id"])


def _trail(system: LocalSystem, campaign_id: str, sent: list[dict[str, Any]]) -> str:
    """What a story that found no message needs to say where the chain broke: the finder's runs,
    the anniversaries announced, the campaign's message log."""
    schedules = system.request("GET", "/_local/schedules?name=profile-anniversary-finder").json()
    events = system.request("GET", "/_local/events?detail_type=AnniversaryUpcoming").json()["events"]
    lines = staff(system, "GET", f"/admin/campaigns/{campaign_id}/messages")["items"]
    faults = {
        function: [line[:400] for line in log.read_text().splitlines() if '"level":"ERROR"' in line][-3:]
        for function in ("profile-anniversaries", "campaigns-events", "campaigns-sender", "profile-contacts")
        if (log := system.state_dir / "logs" / f"{function}.log").exists()
    }
    return json.dumps(
        {"sent": sent, "now": schedules["now"], "finder": schedules["fired"][-4:],
         "warnings": schedules["warnings"], "announced": events, "log": lines, "faults": faults},
        ensure_ascii=False, default=str,
    )  # fmt: skip


LATTE = [{"sku": "LATTE", "name": "카페라떼", "category": "coffee", "quantity": 1, "unit_price": 5000}]
CAKE = [{"sku": "CAKE", "name": "케이크", "category": "cake", "quantity": 1, "unit_price": 32000}]


def test_the_anniversary_story(system: LocalSystem) -> None:
    # Given the clock at 08:40 in Seoul, frozen, the day before a wedding anniversary
    clock(system, {"freeze": True})
    clock(system, {"set": story_day(1, "08:40"), "tz": "Asia/Seoul"})
    morning = datetime.fromisoformat(story_day(1, "08:40:00") + SEOUL)
    anniversary = date.fromisoformat(story_day(2))
    # And a live campaign for wedding anniversaries, with a cake coupon valid 14 days
    coupon = staff(
        system,
        "POST",
        "/admin/coupon-templates",
        {"name": "Anniversary cake", "discount": {"kind": "amount", "amount": 5000, "currency": "KRW"},
         "valid_days": 30},
    )  # fmt: skip
    template = staff(system, "POST", "/admin/templates", ANNIVERSARY)
    campaign = staff(
        system,
        "POST",
        "/admin/campaigns",
        {
            "name": "Wedding anniversary",
            "template_id": template["id"],
            "channel": "push",
            "control_percent": 0,
            "schedule": {"kind": "trigger", "trigger": {"event": "anniversary", "kinds": ["wedding"]}},
            "offer": {
                "kind": "coupon",
                "coupon_template_id": coupon["id"],
                "title": "케이크 쿠폰",
                "valid_days": 14,
            },
        },
    )
    assert staff(system, "POST", f"/admin/campaigns/{campaign['id']}/launch")["status"] == "live"
    # And a customer married ten years ago tomorrow who has a usual (a latte, twice)
    wedding = anniversary.replace(year=anniversary.year - 10).isoformat()
    token, customer = _customer(
        system, "이서준", anniversaries=[{"kind": "wedding", "date": wedding}], time_zone="Asia/Seoul"
    )
    for minutes in (30, 20):
        _purchase(system, customer, morning - timedelta(minutes=minutes), total_lines=LATTE)

    # When 09:00 comes in Seoul, the day before the anniversary
    clock(system, {"advance": "21m"})
    # Then one personal message lands in the outbox: their name, the years, their usual, the offer
    sent = until(lambda: outbox(system, customer), timeout_s=60)
    assert len(sent) == 1, _trail(system, campaign["id"], sent)
    (message,) = sent
    text = json.dumps(message, ensure_ascii=False)
    assert "서준님, 결혼 10주년" in text, text
    assert "카페라떼" in text, text
    assert "케이크 쿠폰" in text, text
    # And when they log in, the offer waits with its expiry, its coupon in the wallet
    offers = until(
        lambda: [
            o for o in system.request("GET", "/me/offers", token=token).json()["items"] if o["coupon_id"]
        ]
    )
    assert [(o["title"], o["status"]) for o in offers] == [("케이크 쿠폰", "waiting")], offers
    assert offers[0]["expires_at"].startswith((morning + timedelta(days=14)).date().isoformat())
    wallet = system.request("GET", "/me/coupons", token=token).json()["items"]
    (code,) = [c["code"] for c in wallet if c["coupon_id"] == offers[0]["coupon_id"]]

    # When a till redeems the coupon for a cake, and records the purchase
    member = system.request("POST", "/me/member-code", token=token).json()["code"]
    order = {
        "code": code,
        "order_id": f"e2e-cake-{uuid.uuid4().hex[:8]}",
        "customer_id": customer,
        "member_code": member,
        "order_total": 32000,
        "currency": "KRW",
    }
    redeemed = system.request("POST", "/coupon-redemptions", token=system.token("machine"), body=order)
    assert redeemed.status == 200, redeemed.body
    _purchase(system, customer, morning + timedelta(minutes=25), total_lines=CAKE)
    # Then the campaign's result counts one conversion, and the offer shows redeemed
    result = until(
        lambda: (
            (r := staff(system, "GET", f"/admin/campaigns/{campaign['id']}/results"))["overall"][
                "conversions"
            ]
            and r
        )
    )
    assert (result["overall"]["recipients"], result["overall"]["conversions"]) == (1, 1), result
    assert until(
        lambda: system.request("GET", "/me/offers", token=token).json()["items"][0]["status"] == "redeemed"
    )

    # When the anniversary finder runs again (every 15 minutes) and the trigger with it
    clock(system, {"advance": "31m"})
    # Then nothing more is sent
    assert until(lambda: len(outbox(system, customer)) > 1, timeout_s=3) is False
    report = staff(system, "GET", f"/admin/campaigns/{campaign['id']}/report")
    assert (report["counts"]["audience"], report["counts"]["sent"]) == (1, 1)


def test_three_draws_each_committed_before_closing_and_verifiable(system: LocalSystem) -> None:
    # Given the clock at 10:00 in Seoul, a draw gift running all day, and a live campaign that
    # tells each draw's winners
    clock(system, {"set": story_day(2, "10:00"), "tz": "Asia/Seoul"})  # a jump: fires nothing between
    now = datetime.fromisoformat(story_day(2, "10:00:00") + SEOUL)
    gift = staff(
        system,
        "POST",
        "/admin/gifts",
        {"name": "Holiday hamper", "stock": 3, "mode": "draw", "starts_at": now.isoformat(),
         "ends_at": (now + timedelta(hours=10)).isoformat(), "min_total": 10000, "currency": "KRW"},
    )  # fmt: skip
    template = staff(system, "POST", "/admin/templates", WINNER)
    announce = staff(
        system,
        "POST",
        "/admin/campaigns",
        {
            "name": "Draw winners",
            "template_id": template["id"],
            "channel": "push",
            "control_percent": 0,
            "schedule": {"kind": "trigger", "trigger": {"event": "draw_won", "gift_id": gift["id"]}},
        },
    )
    staff(system, "POST", f"/admin/campaigns/{announce['id']}/launch")
    # When marketing schedules three draws, closing at 11:00, 12:00 and 13:00
    closes = [now + timedelta(hours=h) for h in (1, 2, 3)]
    body = {"gift_id": gift["id"], "draws": [{"closes_at": c.isoformat(), "winners": 1} for c in closes]}
    staff(system, "POST", "/admin/draw-schedules", body)

    # Then each draw's commitment is published before its entries close
    def schedule() -> dict[str, Any]:
        return dict(staff(system, "GET", f"/admin/draw-schedules/{gift['id']}"))

    def all_committed() -> dict[str, Any] | None:
        shown = schedule()
        return shown if all(d["commitment"] for d in shown["draws"]) else None

    committed = until(all_committed)
    assert committed, schedule()
    commitments = [d["commitment"] for d in committed["draws"]]
    assert len(set(commitments)) == 3

    # When four customers enter by a qualifying purchase, and each close passes
    entrants = [_customer(system, f"Entrant {i}")[1] for i in range(4)]
    for customer in entrants:
        _purchase(system, customer, now, total_lines=CAKE)
    # Then each draw is made once its entries have closed, its seed revealed against its commitment
    # (the clock goes on to two minutes past each close, firing every minute; a step waits for its
    # draw, as the minutes that follow a close would give the releaser time to announce it)
    for number, advance in enumerate(("62m", "60m", "60m"), start=1):
        clock(system, {"advance": advance})
        made = until(lambda: schedule()["draws"][number - 1]["status"] == "drawn", timeout_s=60)  # noqa: B023
        assert made, schedule()
        assert all(d["status"] == "committed" for d in schedule()["draws"][number:]), "drawn before its close"
    # And anyone (no token) recomputes each draw's winners from the published seed and entries
    for number, commitment in enumerate(commitments, start=1):
        public = system.request("GET", f"/draws/{gift['id']}/{number}")
        assert public.status == 200, public.body
        assert public.json()["commitment"] == commitment
        check = system.request("GET", f"/draws/{gift['id']}/{number}/verification")
        assert check.status == 200, check.body
        assert (check.json()["commitment_matches"], check.json()["matches"]) == (True, True), check.body

    # And each draw's winner is told (three different winners: nobody wins twice)
    def told() -> list[str]:
        return [c for c in entrants if outbox(system, c)]

    assert until(lambda: len(told()) == 3, timeout_s=30), [outbox(system, c) for c in entrants]
    assert all(len(outbox(system, c)) == 1 for c in told())


WELCOME = {
    "name": "Welcome",
    "channel": "push",
    "purpose": "marketing",
    "sender": "Dangol Bakery",
    "locales": {"ko-KR": {"title": "환영해요", "body": "{{ offer.title }}: {{ offer.expires_on }}까지"}},
    "default_locale": "ko-KR",
}
TIER_UP = {  # news of the customer's membership, not an advertisement: never capped nor held for the night
    "name": "Tier up",
    "channel": "push",
    "purpose": "service",
    "sender": "Dangol Bakery",
    "locales": {
        "ko-KR": {
            "title": "이제 {{ trigger.tier_name }} 회원이에요",
            "body": "{{ trigger.perks }} · 적립 {{ trigger.earn_multiplier_pct }}%",
        }
    },
    "default_locale": "ko-KR",
}
WINBACK = {
    "name": "Winback",
    "channel": "push",
    "purpose": "marketing",
    "sender": "Dangol Bakery",
    "locales": {"ko-KR": {"title": "보고 싶었어요", "body": "{{ offer.title }}"}},
    "default_locale": "ko-KR",
}


def _live(
    system: LocalSystem, name: str, template: dict[str, Any], trigger: dict[str, Any], **more: Any
) -> str:
    created = staff(system, "POST", "/admin/templates", template)
    body = {
        "name": name,
        "template_id": created["id"],
        "channel": "push",
        "control_percent": 0,
        "schedule": {"kind": "trigger", "trigger": trigger},
        **more,
    }
    campaign = staff(system, "POST", "/admin/campaigns", body)
    assert staff(system, "POST", f"/admin/campaigns/{campaign['id']}/launch")["status"] == "live"
    return str(campaign["id"])


def _titled(system: LocalSystem, customer: str, title: str) -> list[dict[str, Any]]:
    return [m for m in outbox(system, customer) if title in json.dumps(m, ensure_ascii=False)]


def test_the_welcome_coupon_a_tier_gained_and_a_winback_that_skips_the_offer_only_buyer(
    system: LocalSystem,
) -> None:
    # Given the clock at 14:00 in Seoul, frozen
    clock(system, {"freeze": True})
    clock(system, {"set": story_day(3, "14:00"), "tz": "Asia/Seoul"})
    days_ago = datetime.fromisoformat(story_day(0, "14:00:00") + SEOUL)
    # And live campaigns for the welcome (with a coupon), a tier gained and the winback
    coupon = staff(
        system,
        "POST",
        "/admin/coupon-templates",
        {"name": "Welcome coffee", "discount": {"kind": "amount", "amount": 3000, "currency": "KRW"},
         "valid_days": 30},
    )  # fmt: skip
    welcome = {"kind": "coupon", "coupon_template_id": coupon["id"], "title": "웰컴 커피", "valid_days": 30}
    _live(system, "Welcome", WELCOME, {"event": "registration"}, offer=welcome)
    _live(system, "You are now silver", TIER_UP, {"event": "tier_up", "tiers": ["silver"]})
    winback = _live(
        system,
        "Winback",
        WINBACK,
        {"event": "lapsed"},
        offer={"kind": "content", "title": "다시 만나요 쿠키"},
    )

    # When two customers sign up
    (regular_token, regular), (tourist_token, tourist) = (
        _customer(system, "단골"),
        _customer(system, "관광객"),
    )
    # Then each one's wallet holds the welcome coupon, and the offer waits at login
    codes: dict[str, str] = {}
    for token, customer in ((regular_token, regular), (tourist_token, tourist)):
        offers = until(
            lambda token=token: [  # type: ignore[misc]
                o for o in system.request("GET", "/me/offers", token=token).json()["items"] if o["coupon_id"]
            ]
        )
        assert [o["title"] for o in offers] == ["웰컴 커피"], offers
        wallet = system.request("GET", "/me/coupons", token=token).json()["items"]
        (codes[customer],) = [c["code"] for c in wallet if c["coupon_id"] == offers[0]["coupon_id"]]

    # When the regular customer spends 350,000 won (silver starts at 300,000), three days ago
    _purchase(system, regular, days_ago, total_lines=[{**CAKE[0], "quantity": 11}])
    # Then they are told once that they are silver now, with what silver gives
    told = until(lambda: _titled(system, regular, "이제 Silver 회원이에요"))
    assert len(told) == 1, told
    assert "Free size-up" in json.dumps(told, ensure_ascii=False)
    # When the other redeems the welcome coupon with their one purchase, also three days ago
    member = system.request("POST", "/me/member-code", token=tourist_token).json()["code"]
    order = {
        "code": codes[tourist],
        "order_id": f"e2e-welcome-{uuid.uuid4().hex[:8]}",
        "customer_id": tourist,
        "member_code": member,
        "order_total": 5000,
        "currency": "KRW",
    }
    redeemed = system.request("POST", "/coupon-redemptions", token=system.token("machine"), body=order)
    assert redeemed.status == 200, redeemed.body
    _purchase(system, tourist, days_ago, total_lines=LATTE)
    # And marketing counts a customer lapsed a day after their last purchase (the model's floor)
    changed = system.request(
        "PUT", "/admin/value-model", token=system.token("marketing"), body={"lapsed_after_days": 1}
    )
    assert changed.status == 200, changed.body
    # And the night's value assessment runs (03:30 in Seoul)
    clock(system, {"set": story_day(4, "03:29"), "tz": "Asia/Seoul"})
    clock(system, {"advance": "2m"})

    # Then both lapse: the offer-only buyer is kept out of the winback with the reason logged
    def line(customer: str) -> dict[str, Any] | None:
        page = staff(system, "GET", f"/admin/campaigns/{winback}/messages?customer_id={customer}")
        return page["items"][0] if page["items"] else None

    kept_out = until(lambda: line(tourist))
    assert kept_out, "no line for the offer-only buyer"
    assert (kept_out["decision"], kept_out["reason"]) == ("excluded", "offer_only_buyer"), kept_out
    # And the other waits for the morning (the sender holds an advertisement at night)
    waiting = until(lambda: (found := line(regular)) and found["reason"] == "quiet_hours" and found)
    assert waiting, line(regular)
    assert waiting["decision"] == "deferred"
    # When 08:00 comes
    clock(system, {"set": story_day(4, "07:58"), "tz": "Asia/Seoul"})
    clock(system, {"advance": "3m"})
    # Then the winback reaches them, once, and never the offer-only buyer
    assert until(lambda: _titled(system, regular, "보고 싶었어요")), outbox(system, regular)
    assert until(lambda: len(_titled(system, regular, "보고 싶었어요")) > 1, timeout_s=3) is False
    assert _titled(system, tourist, "보고 싶었어요") == []

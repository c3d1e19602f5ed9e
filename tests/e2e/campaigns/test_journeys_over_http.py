"""Issue 15's stories over HTTP on the local runtime, on its simulated clock.

The anniversary: a customer whose wedding anniversary is tomorrow and who allows marketing push
gets, at 09:00 their time the day before, one message with their name, the years and their usual;
the offer waits when they log in, with its expiry; a till redeems its coupon with a purchase, and
the campaign's result counts one conversion; the finder and the trigger running again send
nothing more.

The draws: an event with three draws publishes each draw's commitment before its entries close;
each draw is made when its entries close, its winner is told, and the public verification route
recomputes each draw's winners from the revealed seed and the published entries."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest

from tests.e2e.campaigns.test_campaign_over_http import clock, outbox, staff, until
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


LATTE = [{"sku": "LATTE", "name": "카페라떼", "category": "coffee", "quantity": 1, "unit_price": 5000}]
CAKE = [{"sku": "CAKE", "name": "케이크", "category": "cake", "quantity": 1, "unit_price": 32000}]


def test_the_anniversary_story(system: LocalSystem) -> None:
    # Given the clock at 08:40 in Seoul on 20 December, frozen
    clock(system, {"freeze": True})
    clock(system, {"set": "2026-12-20T08:40", "tz": "Asia/Seoul"})
    morning = datetime.fromisoformat("2026-12-20T08:40:00" + SEOUL)
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
    # And a customer married on 21 December 2016 who has a usual (a latte, twice)
    token, customer = _customer(
        system, "이서준", anniversaries=[{"kind": "wedding", "date": "2016-12-21"}], time_zone="Asia/Seoul"
    )
    for minutes in (30, 20):
        _purchase(system, customer, morning - timedelta(minutes=minutes), total_lines=LATTE)

    # When 09:00 comes in Seoul, the day before the anniversary
    clock(system, {"advance": "21m"})
    # Then one personal message lands in the outbox: their name, the years, their usual, the offer
    (message,) = until(lambda: outbox(system, customer), timeout_s=60)
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
    assert offers[0]["expires_at"].startswith("2027-01-03")
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
    # Given the clock at 10:00 in Seoul on 21 December, a draw gift running all day, and a live
    # campaign that tells each draw's winners
    clock(system, {"set": "2026-12-21T10:00", "tz": "Asia/Seoul"})  # a jump: fires nothing between
    now = datetime.fromisoformat("2026-12-21T10:00:00" + SEOUL)
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

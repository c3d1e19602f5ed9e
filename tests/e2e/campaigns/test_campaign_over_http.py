"""Issue 14's story over HTTP on the local runtime, on its simulated clock: marketing defines "no
purchase for 60 days and consented to marketing e-mail", sees its count, writes a ko-KR and an
en-US template, and launches a one-off campaign at 10:00 Seoul time with a 10% control group.

Every consenting customer outside the control group gets exactly one e-mail with their name in the
local outbox; the one without consent gets none and the log says ``no_consent``; the one in São
Paulo, where 10:00 in Seoul is 22:00, gets it at 08:00 the next morning there; a second campaign
the same day is ``capped``; a batch delivered twice sends nothing twice; the report matches the
log line by line."""

from __future__ import annotations

import json
import time
import urllib.parse
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import boto3
import pytest

from services.campaigns.logic.sending import in_control
from tests.e2e.conftest import LocalSystem

pytestmark = pytest.mark.xdist_group("campaigns-story")


def _first_story_day() -> date:
    """A week ahead of today in Seoul: the simulated clock only moves forward of the real one
    (a schedule never fires twice for the same minute), and each story of this folder takes the
    days after the one before (``story_day``). Never with 29 February two days on (the
    anniversary story's wedding is ten years before it)."""
    first = datetime.now(ZoneInfo("Asia/Seoul")).date() + timedelta(days=7)
    while (first + timedelta(days=2)).strftime("%m-%d") == "02-29":
        first += timedelta(days=1)
    return first


FIRST_STORY_DAY = _first_story_day()


def story_day(n: int, at: str = "") -> str:
    """The n-th day of the stories (``2027-03-10``), or that day at a local time (``...T09:58``)."""
    day = (FIRST_STORY_DAY + timedelta(days=n)).isoformat()
    return f"{day}T{at}" if at else day


STORY = {
    "all": [
        {"field": "last_purchase_at", "op": "not_within_days", "value": 60},
        {"field": "consent", "op": "granted", "value": "email.marketing"},
    ]
}
TEMPLATE = {
    "name": "We miss you",
    "channel": "email",
    "purpose": "marketing",
    "sender": "Dangol Bakery",
    "locales": {
        "ko-KR": {
            "subject": "{{ customer.name }}님, 보고 싶었어요",
            "html": "<p>{{ customer.name }}님, 새 빵이 나왔어요.</p>",
            "text": "{{ customer.name }}님, 새 빵이 나왔어요.",
        },
        "en-US": {
            "subject": "We miss you, {{ customer.name }}",
            "html": "<p>{{ customer.name }}, fresh bread is in.</p>",
            "text": "{{ customer.name }}, fresh bread is in.",
        },
    },
}


def until(what: Callable[[], Any], *, timeout_s: float = 60, every_s: float = 0.3) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        found = what()
        if found or time.monotonic() > deadline:
            return found
        time.sleep(every_s)


def clock(system: LocalSystem, order: dict[str, Any]) -> None:
    answer = system.request("POST", "/_local/clock", body=order)
    assert answer.status == 200, answer.body


def outbox(system: LocalSystem, customer_id: str | None = None) -> list[dict[str, Any]]:
    query = "?" + urllib.parse.urlencode({"customer_id": customer_id}) if customer_id else ""
    answer = system.request("GET", f"/_local/messages{query}")
    assert answer.status == 200, answer.body
    return list(answer.json()["items"])


def customer(system: LocalSystem, name: str, *, zone: str, locale: str, consent: bool) -> str:
    signed = system.sign_up()
    token = signed["id"]
    body = {"display_name": name, "email": signed["username"], "time_zone": zone, "locale": locale}
    created = system.request("POST", "/me", token=token, body=body)
    assert created.status == 201, created.body
    if consent:
        given = system.request(
            "POST",
            "/me/consents",
            token=token,
            body={"channel": "email", "purpose": "marketing", "granted": True},
        )
        assert given.status in (200, 201), given.body
    return str(created.json()["customer_id"])


def staff(system: LocalSystem, method: str, path: str, body: Any = None) -> Any:
    answer = system.request(method, path, token=system.token("marketing"), body=body)
    assert 200 <= answer.status < 300, (method, path, answer.status, answer.body[:500])
    return answer.json()


def log(system: LocalSystem, campaign_id: str) -> list[dict[str, Any]]:
    lines: list[dict[str, Any]] = []
    cursor = ""
    while True:
        page = staff(system, "GET", f"/admin/campaigns/{campaign_id}/messages?limit=100{cursor}")
        lines += page["items"]
        if not page.get("next_cursor"):
            return lines
        cursor = "&cursor=" + urllib.parse.quote(page["next_cursor"])


def campaign(system: LocalSystem, segment_id: str, template_id: str, at: str) -> str:
    body = {
        "name": "Winback",
        "segment_id": segment_id,
        "template_id": template_id,
        "channel": "email",
        "control_percent": 10,
        "priority": 10,  # the top: its batches wait for no other campaign's
        "schedule": {"kind": "at", "at": at},
    }
    created = staff(system, "POST", "/admin/campaigns", body)
    launched = staff(system, "POST", f"/admin/campaigns/{created['id']}/launch")
    assert launched["status"] == "scheduled"
    return str(created["id"])


def test_the_winback_story(system: LocalSystem, tmp_path: Path) -> None:
    # Given the clock at 09:58 in Seoul, and customers: nine in Seoul who allow marketing e-mail
    # (every third reads English), one who does not, and one in São Paulo who does
    clock(system, {"freeze": True})
    clock(system, {"set": story_day(0, "09:58"), "tz": "Asia/Seoul"})
    people = [(f"Customer {i}", "Asia/Seoul", "en-US" if i % 3 == 0 else "ko-KR", True) for i in range(9)]
    people += [("Quiet One", "Asia/Seoul", "ko-KR", False), ("Ana Souza", "America/Sao_Paulo", "en-US", True)]
    with ThreadPoolExecutor(max_workers=4) as pool:  # as apps sign up: side by side
        made = list(pool.map(lambda p: customer(system, p[0], zone=p[1], locale=p[2], consent=p[3]), people))
    seoul, (silent, sao_paulo) = made[:9], made[9:]
    mailable = [*seoul, sao_paulo]

    # When marketing defines the segment, it counts exactly the consenting customers
    segment = staff(system, "POST", "/admin/segments", {"name": "Lapsed, mailable", "rule": STORY})
    counted = until(
        lambda: (
            (s := staff(system, "GET", f"/admin/segments/{segment['id']}"))["status"] == "ready"
            and s["count"] == len(mailable)
            and s
        )
    )
    assert counted, staff(system, "GET", f"/admin/segments/{segment['id']}")
    # And writes its message in Korean and English
    template = staff(system, "POST", "/admin/templates", TEMPLATE)

    # When a campaign is launched for 10:00 in Seoul, with a 10% control group
    first = campaign(system, segment["id"], template["id"], story_day(0, "10:00:00+09:00"))
    control = {c for c in mailable if in_control(first, c, 10)}
    clock(system, {"advance": "3m"})

    # Then every consenting Seoul customer outside the control group gets one e-mail, with their name
    expected = [c for c in seoul if c not in control]
    assert until(lambda: len(outbox(system)) >= len(expected)), outbox(system)
    for i, customer_id in enumerate(seoul):
        got = outbox(system, customer_id)
        assert len(got) == (0 if customer_id in control else 1), (customer_id, got)
        if got:
            name = f"Customer {i}"
            want = f"(광고) We miss you, {name}" if i % 3 == 0 else f"(광고) {name}님, 보고 싶었어요"
            assert got[0]["subject"] == want
            assert name in got[0]["text"]
    # And the one without consent gets none, and the log says why
    assert outbox(system, silent) == []
    lines = {line["customer_id"]: line for line in until(lambda: log(system, first))}
    assert silent not in lines  # she is not in the segment at all: no consent, no membership
    # And São Paulo, at 22:00 there, waits for 08:00 the next morning
    if sao_paulo not in control:
        assert until(lambda: log_line(system, first, sao_paulo).get("decision") == "deferred")
        assert log_line(system, first, sao_paulo)["reason"] == "quiet_hours"
        assert outbox(system, sao_paulo) == []
        clock(system, {"set": story_day(0, "07:59"), "tz": "America/Sao_Paulo"})  # the next morning there
        time.sleep(3)
        assert outbox(system, sao_paulo) == []
        clock(system, {"advance": "2m"})
        assert until(lambda: outbox(system, sao_paulo)), log_line(system, first, sao_paulo)

    # When a second campaign goes to the same customers the same local day
    template_2 = staff(system, "POST", "/admin/templates", {**TEMPLATE, "name": "Second"})
    second = staff(
        system,
        "POST",
        "/admin/campaigns",
        {
            "name": "Second",
            "segment_id": segment["id"],
            "template_id": template_2["id"],
            "channel": "email",
            "control_percent": 0,
            "priority": 10,
            "schedule": {"kind": "now"},
        },
    )
    staff(system, "POST", f"/admin/campaigns/{second['id']}/launch")
    # Then those who got the first are capped, with the reason
    reached = [c for c in mailable if c not in control]
    decided = until(lambda: len(done := log(system, second["id"])) == len(mailable) and done)
    assert decided, log(system, second["id"])
    by_customer = {line["customer_id"]: line for line in decided}
    for customer_id in reached:
        assert (by_customer[customer_id]["decision"], by_customer[customer_id]["reason"]) == (
            "capped",
            "frequency_cap",
        )

    # When a batch of the first campaign is delivered again
    before = len(outbox(system))
    redeliver(system, first, mailable)
    time.sleep(3)
    # Then nothing is sent twice
    assert len(outbox(system)) == before

    # And the report matches the log line by line
    report = staff(system, "GET", f"/admin/campaigns/{first}/report")
    tally = Counter(line["decision"] for line in log(system, first))
    assert {k: report["counts"][k] for k in tally} == dict(tally)
    assert report["counts"]["audience"] == len(mailable) == report["counts"]["decided"]
    assert report["status"] == "done"


def log_line(system: LocalSystem, campaign_id: str, customer_id: str) -> dict[str, Any]:
    page = staff(system, "GET", f"/admin/campaigns/{campaign_id}/messages?customer_id={customer_id}")
    return dict(page["items"][0]) if page["items"] else {}


def redeliver(system: LocalSystem, campaign_id: str, recipients: list[str]) -> None:
    """A batch as the planner queued it, queued again (SQS delivers at least once)."""
    state = system.state
    sqs = boto3.client(
        "sqs",
        endpoint_url=state["moto_url"],
        region_name=state["region"],
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )
    (url,) = [u for u in sqs.list_queues()["QueueUrls"] if u.endswith("campaigns-send")]
    body = {"campaign_id": campaign_id, "run": 1, "recipients": recipients}
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps(body))

"""The profile tenant over HTTP with real tokens: customers see only their own
profile, staff read any by id."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pytest

from tests.e2e.conftest import LocalSystem


def test_a_seeded_customer_reads_their_own_profile(local: LocalSystem) -> None:
    # Given the demo customer's token
    token = local.token("customer")
    # When they read /me
    response = local.request("GET", "/me", token=token)
    # Then they get their seeded profile with its version as ETag
    assert response.status == 200
    body = response.json()
    assert body["display_name"] == "김민지"
    assert response.headers["ETag"] == f'"{body["version"]}"'


@pytest.mark.parametrize(("role", "status"), [("agent", 200), ("admin", 200), ("marketing", 403)])
def test_care_staff_read_a_customer_by_id_and_marketing_does_not(
    local: LocalSystem, role: str, status: int
) -> None:
    # Given a customer's id
    customer_id = local.request("GET", "/me", token=local.token("customer", user="jisoo")).json()[
        "customer_id"
    ]
    # When staff read it by id
    response = local.request("GET", f"/customers/{customer_id}", token=local.token(role))
    # Then agents and admins get that customer's profile; marketing works with segments, not
    # contact details
    assert response.status == status, response.body
    if status == 200:
        assert response.json()["customer_id"] == customer_id
    else:
        assert "jisoo" not in response.body.decode()


@pytest.mark.parametrize(
    ("role", "status", "code"),
    [
        ("customer", 403, "forbidden"),  # the function's role check
        ("machine", 401, "invalid_token"),  # a till's access token: refused by the authorizer itself
    ],
)
def test_non_staff_cannot_read_profiles_by_id(local: LocalSystem, role: str, status: int, code: str) -> None:
    # Given another customer's id
    other = local.request("GET", "/me", token=local.token("customer", user="junho")).json()["customer_id"]
    # When a customer (or a POS machine) asks for it by id
    response = local.request("GET", f"/customers/{other}", token=local.token(role))
    # Then it is refused and no profile data leaks
    assert (response.status, response.json()["error"]["code"]) == (status, code)
    assert "junho" not in response.body.decode()


def test_a_customer_without_a_profile_creates_then_updates_it(local: LocalSystem) -> None:
    # Given the admin demo user acting as a fresh identity has no customer profile: use a customer
    # identity that the seed did not create a profile for (re-create: the machine-free path is /me)
    token = local.token("customer", user="minji")
    key = str(uuid.uuid4())
    # When minji changes her display name with an idempotency key, twice
    first = local.request(
        "PATCH", "/me", token=token, body={"locale": "en-GB"}, headers={"Idempotency-Key": key}
    )
    again = local.request(
        "PATCH", "/me", token=token, body={"locale": "en-GB"}, headers={"Idempotency-Key": key}
    )
    # Then the second is a replay of the first, not a second change
    assert first.status == 200
    assert again.status == 200
    assert again.body == first.body
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert local.request("GET", "/me", token=token).json()["version"] == first.json()["version"]


@pytest.mark.parametrize(
    ("raw", "status", "code"),
    [
        (b"{not json", 400, "malformed_json"),
        (b'{"display_name": 5}', 422, "validation_error"),
        (b'{"display_name": "x", "admin": true}', 422, "validation_error"),
        (b'{"time_zone": "Mars/Olympus"}', 422, "validation_error"),
        (b"{}", 422, "validation_error"),
        (b"[]", 422, "validation_error"),
        (b'"just a string"', 422, "validation_error"),
        (b"\xff\xfe\x00", 400, "malformed_json"),
        (b'{"display_name": "' + b"x" * 20000 + b'"}', 413, "payload_too_large"),
    ],
)
def test_bad_bodies_get_a_4xx_with_a_code_and_change_nothing(
    local: LocalSystem, raw: bytes, status: int, code: str
) -> None:
    # Given the customer's current profile
    token = local.token("customer", user="jisoo")
    before = local.request("GET", "/me", token=token).json()
    # When a bad body is sent
    response = local.request("PATCH", "/me", token=token, raw=raw)
    # Then it is refused with its code, and nothing was written
    assert (response.status, response.json()["error"]["code"]) == (status, code)
    assert local.request("GET", "/me", token=token).json() == before


def test_a_non_json_content_type_is_415(local: LocalSystem) -> None:
    # Given a form-encoded body
    # When it is sent to a JSON route
    response = local.request(
        "PATCH",
        "/me",
        token=local.token("customer"),
        raw=b"display_name=x",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    # Then it is refused as an unsupported media type
    assert (response.status, response.json()["error"]["code"]) == (415, "unsupported_media_type")


@pytest.mark.parametrize("bad_id", ["nope", "cus_", "cus_../../x", "%00", "cus_01M82AEKG51WJP0K379AYG4E2W0"])
def test_bad_customer_ids_are_4xx(local: LocalSystem, bad_id: str) -> None:
    # Given a staff token
    # When a malformed id is requested
    response = local.request("GET", f"/customers/{bad_id}", token=local.token("agent"))
    # Then it is a 4xx with a code, never a 5xx
    assert 400 <= response.status < 500
    assert response.json()["error"]["code"]


def test_profile_changes_arrive_on_the_bus_and_in_the_local_archive(local: LocalSystem) -> None:
    # Given a customer
    token = local.token("customer", user="junho")
    me = local.request("GET", "/me", token=token).json()
    # When they change their time zone
    changed = local.request("PATCH", "/me", token=token, body={"time_zone": "Asia/Seoul"})
    assert changed.status == 200
    # Then a ProfileUpdated naming the change and the new version reaches the local archive
    version = changed.json()["version"]

    def arrived() -> bool:
        events = local.request("GET", "/_local/events?detail_type=ProfileUpdated").json()["events"]
        return any(
            e["detail"]["data"]
            == {"customer_id": me["customer_id"], "changed": ["time_zone"], "version": version}
            for e in events
        )

    deadline = time.monotonic() + 15
    while not arrived():
        assert time.monotonic() < deadline, "ProfileUpdated never reached the archive"
        time.sleep(0.2)
    # And the seeded registrations were archived too
    registered = local.request("GET", "/_local/events?detail_type=CustomerRegistered").json()["events"]
    assert len(registered) >= 3


def test_a_leap_day_wedding_is_announced_the_day_before_at_the_local_morning(local: LocalSystem) -> None:
    # Given a father in Seoul who married on 29 February 2024
    token = local.token("customer", user="jisoo")
    wedding = {"anniversaries": [{"kind": "wedding", "date": "2024-02-29"}], "time_zone": "Asia/Seoul"}
    updated = local.request("PATCH", "/me", token=token, body=wedding)
    assert updated.status == 200, updated.body
    customer_id = updated.json()["customer_id"]
    # When the simulated clock runs through the morning of 27 February 2025 in Seoul
    clock = [
        local.request("POST", "/_local/clock", raw=json.dumps(order).encode())
        for order in ({"freeze": True}, {"set": "2025-02-27T08:50", "tz": "Asia/Seoul"}, {"advance": "40m"})
    ]
    assert all(c.status == 200 for c in clock)

    # Then the 15-minute finder announced the anniversary of 28 February exactly once
    def announced() -> list[dict[str, Any]]:
        events = local.request("GET", "/_local/events?detail_type=AnniversaryUpcoming").json()["events"]
        return [e["detail"]["data"] for e in events if e["detail"]["data"]["customer_id"] == customer_id]

    deadline = time.monotonic() + 30
    while not announced():
        assert time.monotonic() < deadline, "AnniversaryUpcoming never reached the archive"
        time.sleep(0.3)
    time.sleep(1)
    (event,) = announced()
    assert (event["occurs_on"], event["years"], event["kind"]) == ("2025-02-28", 1, "wedding")
    local.request("POST", "/_local/clock", raw=json.dumps({"reset": True}).encode())


def test_without_e_mail_marketing_consent_the_projection_event_shows_none(local: LocalSystem) -> None:
    # Given a customer who declines marketing by e-mail and consents to it by SMS
    # (jisoo: the schemathesis run fuzzes junho's consents)
    token = local.token("customer", user="jisoo")
    me = local.request("GET", "/me", token=token).json()
    for channel, granted in (("email", False), ("sms", True)):
        change = {"channel": channel, "purpose": "marketing", "granted": granted, "source": "app"}
        recorded = local.request("POST", "/me/consents", token=token, body=change)
        assert recorded.status == 201, recorded.body

    # When the ConsentChanged event reaches the bus (what the campaigns projection consumes)
    def published() -> list[dict[str, Any]]:
        events = local.request("GET", "/_local/events?detail_type=ConsentChanged").json()["events"]
        return [
            e["detail"]["data"] for e in events if e["detail"]["data"]["customer_id"] == me["customer_id"]
        ]

    deadline = time.monotonic() + 15
    while not any(e["channel"] == "sms" for e in published()):
        assert time.monotonic() < deadline, "ConsentChanged never reached the bus"
        time.sleep(0.2)
    # Then its whole state says SMS marketing yes, e-mail marketing no
    consents = next(e for e in reversed(published()) if e["channel"] == "sms")["consents"]
    assert consents["sms.marketing"] is True
    assert consents["email.marketing"] is False

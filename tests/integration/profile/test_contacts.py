"""The contact log: staff record calls, e-mails, visits and letters with an outcome and a note,
and read a customer's contacts newest first, page by page. Notes are personal data."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from infra.local import provision
from infra.topology import SYSTEM
from services.profile.dal.profiles import profile_item
from services.profile.models.profile import Profile
from services.profile.topology import CRM_API, PROFILES
from shared.clock import utc_now
from shared.ids import new_id
from shared.topology import Function
from tests.integration.apigw import UNSET, ApiResponse, Invoker, api_event
from tests.integration.conftest import STAGE, scan_all, table

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish:UserWarning")
AGENT = "7a1b2c3d-4e5f-4a6b-8c7d-agent0000001"
UNKNOWN = "cus_01JK2M3N4P5Q6R7S8T9V0W1X2Y"
NOTE = "생일 케이크 예약 문의: 3월 14일, 초코, 10호"


@pytest.fixture
def crm(moto: None, bus: str, lambda_function: Callable[[Function], Invoker]) -> Invoker:
    clients = (boto3.client("sqs"), boto3.client("sns"), boto3.client("events"))
    provision.create_messaging(clients, SYSTEM, stage=STAGE, bus=bus)
    return lambda_function(CRM_API)


def new_customer(name: str = "김민지") -> str:
    now = utc_now()
    profile = Profile(
        customer_id=new_id("cus"),
        display_name=name,
        locale="ko-KR",
        time_zone="Asia/Seoul",
        version=1,
        created_at=now,
        updated_at=now,
    )
    table(PROFILES).put(profile_item(profile))
    return profile.customer_id


@pytest.fixture
def customer(crm: Invoker) -> str:
    return new_customer()


def contact_body(**overrides: Any) -> dict[str, Any]:
    return {"channel": "call", "direction": "outbound", "outcome": "reached", "note": NOTE, **overrides}


def record(
    api: Invoker,
    customer_id: str,
    body: Any,
    *,
    groups: str = "agent",
    key: str | None = None,
    claims: Any = UNSET,
) -> ApiResponse:
    return api(
        api_event(
            "profile_get_customer",
            method="POST",
            resource="/customers/{customer_id}/contacts",
            path_parameters={"customer_id": customer_id},
            headers={"Content-Type": "application/json", "Idempotency-Key": key or uuid.uuid4().hex},
            body=body,
            sub=AGENT if claims is UNSET else None,
            groups=groups if claims is UNSET else None,
            claims=claims,
        )
    )


def listing(
    api: Invoker,
    customer_id: str,
    query: dict[str, str] | None = None,
    *,
    groups: str = "agent",
    claims: Any = UNSET,
) -> ApiResponse:
    return api(
        api_event(
            "profile_get_customer",
            resource="/customers/{customer_id}/contacts",
            path_parameters={"customer_id": customer_id},
            query=query,
            sub=AGENT if claims is UNSET else None,
            groups=groups if claims is UNSET else None,
            claims=claims,
        )
    )


def contacts_in_table() -> list[dict[str, Any]]:
    return [i for i in scan_all(PROFILES) if i["sk"]["S"].startswith("CONTACT#")]


def test_staff_record_a_contact_and_read_it_back(crm: Invoker, customer: str) -> None:
    # Given a customer
    # When an agent records a call that reached them, with a note
    response = record(crm, customer, contact_body())
    # Then it is recorded now, by that agent, with everything they said
    assert response.status == 201, response.body
    contact = response.json()
    assert contact["contact_id"].startswith("con_")
    assert (contact["customer_id"], contact["recorded_by"]) == (customer, AGENT)
    assert (contact["channel"], contact["direction"], contact["outcome"]) == ("call", "outbound", "reached")
    assert contact["note"] == NOTE
    assert contact["occurred_at"] == contact["recorded_at"]
    # And it is the one entry of the customer's log, in the customer's partition
    assert listing(crm, customer).json() == {"items": [contact], "next_cursor": None}
    (stored,) = contacts_in_table()
    assert stored["pk"]["S"] == f"CUSTOMER#{customer}"
    assert stored["type"]["S"] == "contact"


def test_contacts_are_listed_newest_first_by_when_they_happened(crm: Invoker, customer: str) -> None:
    # Given contacts recorded in this order, two of them back-dated
    now = datetime.now(UTC).replace(microsecond=0)
    moments = [now - timedelta(days=1), now - timedelta(days=30), now - timedelta(hours=2)]
    recorded = []
    for i, moment in enumerate(moments):
        body = contact_body(occurred_at=moment.isoformat(), note=f"note {i}")
        recorded.append(record(crm, customer, body).json())
    latest = record(crm, customer, contact_body(note="now")).json()
    # When the log is read
    items = listing(crm, customer).json()["items"]
    # Then it goes by when the contacts happened, newest first
    assert [c["note"] for c in items] == ["now", "note 2", "note 0", "note 1"]
    assert items[0] == latest
    assert [c["occurred_at"] for c in items] == sorted((c["occurred_at"] for c in items), reverse=True)


def test_the_log_is_paged_with_signed_cursors(crm: Invoker, customer: str) -> None:
    # Given 7 contacts of one customer and 1 of another
    for i in range(7):
        record(crm, customer, contact_body(note=f"n{i}"))
    other = new_customer("이서연")
    record(crm, other, contact_body())
    # When they are read 3 at a time
    seen: list[str] = []
    cursor = None
    cursors = []
    while True:
        page = listing(crm, customer, {"limit": "3", **({"cursor": cursor} if cursor else {})}).json()
        seen += [c["note"] for c in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
        cursors.append(cursor)
    # Then every contact comes once, newest first, and no page holds another customer's contact
    assert seen == [f"n{i}" for i in reversed(range(7))]
    assert len(cursors) == 2
    # And tampered cursors, another customer's cursor and limits out of range are 400s
    refusals = [
        listing(crm, customer, {"cursor": cursors[0][:-1]}),
        listing(crm, customer, {"cursor": cursors[0] + "A"}),
        listing(crm, customer, {"cursor": "not-a-cursor"}),
        listing(crm, other, {"cursor": cursors[0]}),
        listing(crm, customer, {"limit": "0"}),
        listing(crm, customer, {"limit": "101"}),
    ]
    assert [(r.status, r.error["code"]) for r in refusals] == [(400, "invalid_cursor")] * 4 + [
        (400, "invalid_limit")
    ] * 2
    assert listing(crm, customer, {"limit": "ten"}).status == 422
    assert len(listing(crm, customer, {"limit": "100"}).json()["items"]) == 7


def test_a_retried_post_with_its_idempotency_key_records_one_contact(crm: Invoker, customer: str) -> None:
    # Given a contact sent with an Idempotency-Key
    first = record(crm, customer, contact_body(), key="call-2025-03-14-0930")
    # When the client retries it
    again = record(crm, customer, contact_body(), key="call-2025-03-14-0930")
    # Then it gets the first answer and one contact exists
    assert first.status == again.status == 201
    assert again.json() == first.json()
    assert again.header("Idempotent-Replayed") == "true"
    assert len(contacts_in_table()) == 1
    # And the same key with another contact is refused
    reused = record(crm, customer, contact_body(outcome="no_answer"), key="call-2025-03-14-0930")
    assert (reused.status, reused.error["code"]) == (422, "idempotency_key_reused")


def _in(delta: timedelta) -> str:
    return (datetime.now(UTC) + delta).isoformat()


@pytest.mark.parametrize(
    "body",
    [
        contact_body(channel="fax"),
        contact_body(direction="sideways"),
        contact_body(outcome="maybe"),
        contact_body(note="x" * 2001),
        contact_body(note="   "),
        contact_body(note=7),
        contact_body(occurred_at=_in(timedelta(hours=1))),
        contact_body(occurred_at="2025-03-14T09:30:00"),  # no UTC offset
        contact_body(occurred_at="1999-12-31T23:59:59Z"),
        contact_body(occurred_at="yesterday"),
        contact_body(recorded_by="someone-else"),
        {"channel": "call", "direction": "outbound"},
        [],
    ],
    ids=[
        "channel",
        "direction",
        "outcome",
        "note-too-long",
        "blank-note",
        "note-not-text",
        "future",
        "naive-time",
        "before-2000",
        "not-a-time",
        "recorded_by-is-ours",
        "no-outcome",
        "not-an-object",
    ],
)
def test_a_bad_contact_is_a_422_and_records_nothing(crm: Invoker, customer: str, body: Any) -> None:
    # Given a malformed contact
    # When it is sent
    response = record(crm, customer, body)
    # Then it is refused and nothing was recorded
    assert (response.status, response.error["code"]) == (422, "validation_error")
    assert contacts_in_table() == []


def test_a_slightly_fast_clock_and_a_long_note_are_fine(crm: Invoker, customer: str) -> None:
    # Given a caller whose clock is a minute ahead, and a note of the maximum length
    body = contact_body(occurred_at=_in(timedelta(minutes=1)), note="가" * 2000, outcome="follow_up")
    # When it is sent
    # Then it is recorded
    assert record(crm, customer, body).status == 201


def test_contacts_of_an_unknown_customer_are_404_and_write_nothing(crm: Invoker) -> None:
    # Given a customer id that does not exist (never created, or erased)
    # When staff record or list its contacts
    posted = record(crm, UNKNOWN, contact_body())
    listed = listing(crm, UNKNOWN)
    malformed = listing(crm, "cus_123")
    # Then both are 404 profile_not_found and nothing was written; a malformed id is a 422
    assert [(r.status, r.error["code"]) for r in (posted, listed)] == [(404, "profile_not_found")] * 2
    assert (malformed.status, malformed.error["code"]) == (422, "validation_error")
    assert scan_all(PROFILES) == []


MACHINE = {"sub": "pos-gangnam", "scope": "dangol/machine", "client_id": "pos-gangnam", "token_use": "access"}


@pytest.mark.parametrize(
    ("groups", "claims"),
    [("customer", UNSET), ("", MACHINE)],
    ids=["customer", "machine"],
)
def test_customers_and_machines_cannot_use_the_contact_log(
    crm: Invoker, customer: str, groups: str, claims: Any
) -> None:
    # Given a contact recorded by staff
    record(crm, customer, contact_body())
    # When a customer (even the customer concerned) or a store system records or reads contacts
    attempts = [
        record(crm, customer, contact_body(), groups=groups, claims=claims),
        listing(crm, customer, groups=groups, claims=claims),
    ]
    # Then each is a 403 and nothing more was recorded
    assert [(r.status, r.error["code"]) for r in attempts] == [(403, "forbidden")] * 2
    assert len(contacts_in_table()) == 1


@pytest.mark.parametrize("groups", ["agent", "admin"])
def test_agents_and_admins_use_the_contact_log(crm: Invoker, customer: str, groups: str) -> None:
    # Given an agent or an administrator
    # When they record and read a contact
    # Then both work
    assert record(crm, customer, contact_body(), groups=groups).status == 201
    assert listing(crm, customer, groups=groups).status == 200


def test_marketing_neither_reads_nor_writes_a_customers_contact_log(crm: Invoker, customer: str) -> None:
    # Given marketing staff, who work with segments and counts
    # When they record or read one customer's contacts
    # Then both are refused
    assert record(crm, customer, contact_body(), groups="marketing").status == 403
    assert listing(crm, customer, groups="marketing").status == 403


def test_notes_never_reach_the_logs(crm: Invoker, customer: str, caplog: pytest.LogCaptureFixture) -> None:
    # Given a contact with a note, recorded, listed, and one refused
    caplog.set_level(logging.INFO)  # the functions' level (POWERTOOLS_LOG_LEVEL)
    record(crm, customer, contact_body())
    listing(crm, customer)
    record(crm, customer, contact_body(channel="fax"))
    # When the log records the function wrote are read, with every field they carry
    logged = "\n".join(json.dumps(vars(r), default=str, ensure_ascii=False) for r in caplog.records)
    # Then they name the customer and the contact but never hold the note
    assert customer in logged
    assert "con_" in logged
    assert NOTE not in logged

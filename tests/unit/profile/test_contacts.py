"""What staff may record as a contact, and how the log orders contacts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from services.profile.dal.contacts import contact_key
from services.profile.logic import contacts
from services.profile.models.crm import Contact, ContactCreate, CustomerNotFound, ManagerAssign
from shared.errors import NotFound
from shared.ids import new_id, ulid
from tests.unit.fakes import PROPERTIES, FakeClock

CUSTOMER = "cus_01JK2M3N4P5Q6R7S8T9V0W1X2Y"


def _contact(occurred_at: datetime, recorded_ms: int) -> Contact:
    return Contact(
        contact_id=f"con_{ulid(recorded_ms)}",
        customer_id=CUSTOMER,
        channel="call",
        direction="inbound",
        outcome="reached",
        occurred_at=occurred_at,
        recorded_by="agent",
        recorded_at=occurred_at,
    )


def test_a_contact_in_another_zone_is_stored_in_utc_and_needs_its_offset() -> None:
    # Given a contact at 09:30 in Seoul
    data = ContactCreate.model_validate(
        {
            "channel": "visit",
            "direction": "inbound",
            "outcome": "resolved",
            "occurred_at": "2025-03-14T09:30:00+09:00",
        }
    )
    # Then it is that instant
    assert data.occurred_at == datetime(2025, 3, 14, 0, 30, tzinfo=UTC)
    # And one without an offset is refused: the log would not know when it was
    with pytest.raises(ValidationError):
        ContactCreate.model_validate(
            {
                "channel": "visit",
                "direction": "inbound",
                "outcome": "resolved",
                "occurred_at": "2025-03-14T09:30:00",
            }
        )


@pytest.mark.parametrize("note", ["  a  ", "가" * 2000])
def test_a_note_is_trimmed_and_may_be_2000_characters(note: str) -> None:
    data = ContactCreate.model_validate(
        {"channel": "post", "direction": "outbound", "outcome": "bounced", "note": note}
    )
    assert data.note == note.strip()


@pytest.mark.parametrize("manager", ["8f14e45f-ceea-467f-a0e6-1f2a3b4c5d6e", "staff.042", "kim@hq"])
def test_a_manager_is_named_by_a_subject_or_staff_id(manager: str) -> None:
    assert ManagerAssign(manager_id=manager).manager_id == manager


@PROPERTIES
@given(
    offsets=st.lists(st.integers(0, 3), min_size=2, max_size=12),
)
def test_the_log_sorts_by_when_contacts_happened_then_by_when_they_were_recorded(offsets: list[int]) -> None:
    # Given contacts recorded one after another (increasing ms), happening on a few different days
    base = datetime(2025, 3, 14, 9, tzinfo=UTC)
    recorded = [_contact(base - timedelta(days=o), 1_741_942_800_000 + i) for i, o in enumerate(offsets)]
    # When they are read newest first by their sort keys
    newest_first = sorted(recorded, key=lambda c: contact_key(c)["sk"], reverse=True)
    # Then they go by occurred_at descending, and the same moment by the latest recorded first
    expected = sorted(recorded, key=lambda c: (c.occurred_at, c.contact_id), reverse=True)
    assert newest_first == expected


class _NoCustomers:
    def exists(self, customer_id: str) -> bool:
        return False

    def add(self, contact: Contact) -> None:
        raise CustomerNotFound(contact.customer_id)


def test_recording_for_a_customer_who_does_not_exist_is_profile_not_found() -> None:
    # Given a store without the customer
    store: Any = _NoCustomers()
    data = ContactCreate(channel="call", direction="outbound", outcome="no_answer")
    # When a contact is recorded or the log read
    # Then both are 404 profile_not_found
    with pytest.raises(NotFound) as recorded:
        contacts.record(store, CUSTOMER, data, by="agent", clock=FakeClock(), new_id=lambda: new_id("con"))
    with pytest.raises(NotFound) as listed:
        contacts.contacts(store, CUSTOMER, limit=10, start=None)
    assert recorded.value.code == listed.value.code == "profile_not_found"


def test_a_contact_without_a_time_happened_when_it_was_recorded() -> None:
    # Given a store that keeps what it is given, and a clock at 09:26:53 UTC
    kept: list[Contact] = []

    class Keeper(_NoCustomers):
        def add(self, contact: Contact) -> None:
            kept.append(contact)

    clock = FakeClock()
    # When a contact is recorded without occurred_at, and one back-dated from another zone
    store: Any = Keeper()
    now = contacts.record(
        store,
        CUSTOMER,
        ContactCreate(channel="email", direction="outbound", outcome="left_message"),
        by="agent",
        clock=clock,
        new_id=lambda: new_id("con"),
    )
    earlier = datetime(2025, 3, 13, 18, 0, tzinfo=timezone(timedelta(hours=9)))
    back = contacts.record(
        store,
        CUSTOMER,
        ContactCreate(channel="call", direction="inbound", outcome="follow_up", occurred_at=earlier),
        by="agent",
        clock=clock,
        new_id=lambda: new_id("con"),
    )
    # Then the first happened now, the second when it said; both were recorded now, by the caller
    assert now.occurred_at == now.recorded_at == clock.now
    assert (back.occurred_at, back.recorded_at, back.recorded_by) == (earlier, clock.now, "agent")
    assert kept == [now, back]

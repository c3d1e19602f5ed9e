"""Publishing domain events: envelopes, batches of 10 and 256 KiB, retries of failed entries only."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import ClassVar

import pytest

from shared.dynamo import Backoff
from shared.events import PUT_EVENTS_MAX_BYTES, DomainEvent, Envelope, EventPublisher, PublishError
from tests.unit.fakes import FakeEventBridge, RecordingSleep

BUS = "dangol-test"
SOURCE = "dangol.rewards"


class PointsEarned(DomainEvent):
    schema_version: ClassVar[str] = "2"

    customer_id: str
    points: int
    note: str = ""


def _envelopes(count: int, note: str = "") -> list[Envelope]:
    return [
        Envelope(PointsEarned(customer_id=f"cus_{i}", points=i, note=note), event_id=f"evt-{i:02}")
        for i in range(count)
    ]


def _publisher(
    client: FakeEventBridge, attempts: int = 3, sleep: RecordingSleep | None = None
) -> EventPublisher:
    backoff = Backoff(attempts=attempts, sleep=sleep or RecordingSleep())
    return EventPublisher(BUS, SOURCE, client=client, backoff=backoff)  # type: ignore[arg-type]


def test_23_events_go_out_in_3_calls_of_at_most_10() -> None:
    # Given 23 events and a bus that accepts everything
    bus = FakeEventBridge()
    events = [PointsEarned(customer_id=f"cus_{i}", points=i) for i in range(23)]

    # When they are published
    ids = _publisher(bus).publish(events)

    # Then three PutEvents calls of 10, 10 and 3 entries carried them, in order
    assert [len(call) for call in bus.calls] == [10, 10, 3]
    sent = [json.loads(e["Detail"])["data"] for call in bus.calls for e in call]
    assert sent == [e.model_dump(mode="json") for e in events]
    assert ids == [FakeEventBridge.event_id(e) for call in bus.calls for e in call]


def test_each_entry_carries_the_envelope_and_the_event_data() -> None:
    # Given two events of a versioned type, one in an envelope with a known time and correlation id
    bus = FakeEventBridge()
    at = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
    first = Envelope(PointsEarned(customer_id="cus_1", points=10), occurred_at=at, correlation_id="req-1")
    second = PointsEarned(customer_id="cus_2", points=20)

    # When they are published
    _publisher(bus).publish([first, second])

    # Then each entry names the bus, source and type, and its detail holds metadata and data
    entries = bus.calls[0]
    assert {(e["EventBusName"], e["Source"], e["DetailType"]) for e in entries} == {
        (BUS, SOURCE, "PointsEarned")
    }
    details = [json.loads(e["Detail"]) for e in entries]
    assert details[0]["metadata"] == {
        "event_id": first.event_id,
        "schema_version": "2",
        "occurred_at": "2025-01-02T03:04:05+00:00",
        "correlation_id": "req-1",
    }
    assert details[0]["data"] == {"customer_id": "cus_1", "points": 10, "note": ""}
    assert details[1]["data"]["customer_id"] == "cus_2"
    assert datetime.fromisoformat(details[1]["metadata"]["occurred_at"]).tzinfo is not None


def test_every_event_gets_a_unique_event_id() -> None:
    # Given 30 identical events
    bus = FakeEventBridge()
    events = [PointsEarned(customer_id="cus_1", points=1)] * 30

    # When they are published
    ids = _publisher(bus).publish(events)

    # Then each went out with its own id, the ids returned
    sent = [FakeEventBridge.event_id(e) for call in bus.calls for e in call]
    assert len(set(sent)) == 30
    assert sent == ids


def test_failed_entries_alone_are_retried_with_the_same_event_ids() -> None:
    # Given a bus that fails two of ten entries once
    bus = FakeEventBridge(failures={"evt-02": 1, "evt-07": 1})
    sleep = RecordingSleep()
    envelopes = _envelopes(10)

    # When they are published
    ids = _publisher(bus, sleep=sleep).publish(envelopes)

    # Then only those two were resent, unchanged and under the same ids, after a pause
    assert bus.sent_ids(1) == ["evt-02", "evt-07"]
    assert bus.calls[1] == [bus.calls[0][2], bus.calls[0][7]]
    assert len(bus.calls) == 2
    assert len(sleep.slept) == 1
    assert ids == [e.event_id for e in envelopes]


def test_entries_that_keep_failing_raise_publish_error_naming_them() -> None:
    # Given a bus that always fails one entry of the first batch
    bus = FakeEventBridge(failures={"evt-01": 99})

    # When 12 events are published with 3 attempts
    with pytest.raises(PublishError) as raised:
        _publisher(bus, attempts=3).publish(_envelopes(12))

    # Then the failing id is named, the other batch was still sent, and it is a 503
    assert raised.value.failed_ids == ["evt-01"]
    assert raised.value.status == 503
    assert raised.value.code == "event_publish_failed"
    assert [bus.sent_ids(i) for i in (1, 2)] == [["evt-01"], ["evt-01"]]
    assert bus.sent_ids(3) == ["evt-10", "evt-11"]


def test_a_batch_is_also_split_at_256_kib() -> None:
    # Given five events of about 100 KiB each (well under 10 entries)
    bus = FakeEventBridge()
    envelopes = _envelopes(5, note="x" * 100_000)

    # When they are published
    _publisher(bus).publish(envelopes)

    # Then no call carries more than 256 KiB, so they go two by two
    assert [len(call) for call in bus.calls] == [2, 2, 1]
    for call in bus.calls:
        size = sum(len(e["Source"]) + len(e["DetailType"]) + len(e["Detail"].encode()) + 14 for e in call)
        assert size <= PUT_EVENTS_MAX_BYTES


def test_an_event_over_256_kib_is_refused_before_anything_is_sent() -> None:
    # Given a small event followed by one whose detail alone exceeds 256 KiB
    bus = FakeEventBridge()
    huge = PointsEarned(customer_id="cus_9", points=9, note="x" * PUT_EVENTS_MAX_BYTES)
    envelopes = [*_envelopes(1), Envelope(huge, event_id="evt-huge")]

    # When they are published
    with pytest.raises(ValueError, match="evt-huge"):
        _publisher(bus).publish(envelopes)

    # Then nothing was sent
    assert bus.calls == []


def test_publishing_nothing_sends_nothing() -> None:
    # Given no events
    bus = FakeEventBridge()

    # When nothing is published
    ids = _publisher(bus).publish([])

    # Then no call is made
    assert ids == []
    assert bus.calls == []

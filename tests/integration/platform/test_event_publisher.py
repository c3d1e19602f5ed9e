"""shared.events.EventPublisher against moto's EventBridge, delivered through a rule to SQS."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, ClassVar

import boto3
import pytest

from shared.events import DomainEvent, Envelope, EventPublisher

SOURCE = "dangol.profile"


class ProfileTouched(DomainEvent):
    schema_version: ClassVar[str] = "2"

    customer_id: str
    seq: int


class PutEventsCounter:
    def __init__(self) -> None:
        self.entries_per_call: list[list[dict[str, Any]]] = []

    def sent(self, params: dict[str, Any], **_: Any) -> None:
        self.entries_per_call.append(list(params["Entries"]))


@pytest.fixture
def delivered(bus: str) -> str:
    """An SQS queue that receives every event of SOURCE published on the bus."""
    sqs = boto3.client("sqs")
    events = boto3.client("events")
    queue_url = sqs.create_queue(QueueName="delivered")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    events.put_rule(
        Name="all-profile-events", EventBusName=bus, EventPattern=json.dumps({"source": [SOURCE]})
    )
    events.put_targets(
        Rule="all-profile-events", EventBusName=bus, Targets=[{"Id": "queue", "Arn": queue_arn}]
    )
    return queue_url


@pytest.fixture
def publisher(bus: str) -> Iterator[tuple[EventPublisher, PutEventsCounter]]:
    publisher = EventPublisher(bus, SOURCE)
    counter = PutEventsCounter()
    publisher.client.meta.events.register(
        "before-parameter-build.events.PutEvents", counter.sent, unique_id="count-put-events"
    )
    yield publisher, counter
    publisher.client.meta.events.unregister(
        "before-parameter-build.events.PutEvents", unique_id="count-put-events"
    )


def drain(queue_url: str) -> list[dict[str, Any]]:
    sqs = boto3.client("sqs")
    received: list[dict[str, Any]] = []
    while True:
        out = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
        messages = out.get("Messages", [])
        if not messages:
            return received
        received += [json.loads(m["Body"]) for m in messages]
        sqs.delete_message_batch(
            QueueUrl=queue_url,
            Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)],
        )


def test_25_events_publish_in_3_put_events_calls_with_metadata(
    publisher: tuple[EventPublisher, PutEventsCounter], delivered: str
) -> None:
    # Given 25 domain events
    events = [ProfileTouched(customer_id=f"cus_{n}", seq=n) for n in range(25)]
    sender, counter = publisher

    # When they are published
    ids = sender.publish(events)

    # Then EventBridge got 10 + 10 + 5 entries in three calls
    assert [len(call) for call in counter.entries_per_call] == [10, 10, 5]
    assert sender.calls == 3
    # And each entry's Detail carries the event's metadata and data
    details = [json.loads(e["Detail"]) for call in counter.entries_per_call for e in call]
    assert [d["metadata"]["event_id"] for d in details] == ids
    assert len(set(ids)) == 25
    for n, detail in enumerate(details):
        assert detail["metadata"]["schema_version"] == "2"
        assert datetime.fromisoformat(detail["metadata"]["occurred_at"]).tzinfo is not None
        assert detail["data"] == {"customer_id": f"cus_{n}", "seq": n}
    for entry in (e for call in counter.entries_per_call for e in call):
        assert entry["Source"] == SOURCE
        assert entry["DetailType"] == "ProfileTouched"
    # And every event reached the bus's subscribers
    received = drain(delivered)
    assert sorted(m["detail"]["metadata"]["event_id"] for m in received) == sorted(ids)
    assert {m["detail-type"] for m in received} == {"ProfileTouched"}


def test_an_envelope_keeps_its_event_id_and_correlation_id(
    publisher: tuple[EventPublisher, PutEventsCounter], delivered: str
) -> None:
    # Given an event wrapped with a chosen id, time and correlation id
    occurred = datetime(2025, 2, 3, 9, 15, 42, tzinfo=UTC)
    envelope = Envelope(
        ProfileTouched(customer_id="cus_x", seq=1),
        event_id="evt-fixed",
        occurred_at=occurred,
        correlation_id="req-123",
    )
    sender, _ = publisher

    # When it is published
    ids = sender.publish([envelope])

    # Then subscribers receive exactly that metadata
    assert ids == ["evt-fixed"]
    (message,) = drain(delivered)
    assert message["detail"]["metadata"] == {
        "event_id": "evt-fixed",
        "schema_version": "2",
        "occurred_at": "2025-02-03T09:15:42+00:00",
        "correlation_id": "req-123",
    }


def test_publishing_nothing_makes_no_call(publisher: tuple[EventPublisher, PutEventsCounter]) -> None:
    # Given no events
    sender, counter = publisher

    # When nothing is published
    ids = sender.publish([])

    # Then EventBridge is not called
    assert ids == []
    assert counter.entries_per_call == []

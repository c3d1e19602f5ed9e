"""The transactional outbox: its items, publishing and dropping them, and the sweep of what a
crashed request left behind."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, ClassVar

import pytest

from shared.dynamo import Backoff
from shared.events import DomainEvent, Envelope, EventPublisher, PublishError, RecordedEvent
from shared.outbox import Outbox
from tests.unit.fakes import DownEventBridge, FakeEventBridge, FakeQueryTable, RecordingSleep

BUS = "dangol-test"
SOURCE = "dangol.profile"
AT = datetime(2025, 3, 14, 9, 26, 53, 123456, tzinfo=UTC)


class CustomerRegistered(DomainEvent):
    customer_id: str
    display_name: str


class ConsentChanged(DomainEvent):
    schema_version: ClassVar[str] = "3"

    customer_id: str
    channel: str
    granted: bool


def _outbox(table: FakeQueryTable) -> Outbox:
    return Outbox(table, partition_key="pk", sort_key="sk", ttl_attribute="expires_at")  # type: ignore[arg-type]


def _publisher(bus: FakeEventBridge) -> EventPublisher:
    return EventPublisher(BUS, SOURCE, client=bus, backoff=Backoff(attempts=3, sleep=RecordingSleep()))  # type: ignore[arg-type]


def _registered(event_id: str, at: datetime = AT, name: str = "김민지") -> Envelope:
    return Envelope(
        CustomerRegistered(customer_id="cus_1", display_name=name), event_id=event_id, occurred_at=at
    )


def _consent(event_id: str, at: datetime = AT) -> Envelope:
    event = ConsentChanged(customer_id="cus_1", channel="sms", granted=True)
    return Envelope(event, event_id=event_id, occurred_at=at)


def _published(bus: FakeEventBridge) -> list[dict[str, Any]]:
    return [entry for call in bus.calls for entry in call]


def _published_ids(bus: FakeEventBridge) -> list[str]:
    return [FakeEventBridge.event_id(entry) for entry in _published(bus)]


def _recorded(table: FakeQueryTable, items: list[dict[str, Any]]) -> None:
    """What the service's transaction does with the outbox items (alongside its change)."""
    for item in items:
        table.put(item)


@pytest.fixture
def table() -> FakeQueryTable:
    return FakeQueryTable(key_names=("pk", "sk"))


@pytest.fixture
def outbox(table: FakeQueryTable) -> Outbox:
    return _outbox(table)


# --- the item ------------------------------------------------------------------------------------


def test_an_item_goes_to_one_of_eight_outbox_shards(outbox: Outbox) -> None:
    # Given many events recorded at the same moment
    envelopes = [_registered(f"evt-{i:03}") for i in range(200)]

    # When their outbox items are made
    shards = {outbox.item(e)["pk"] for e in envelopes}

    # Then each lands in OUTBOX#0..OUTBOX#7, and the writes spread over all eight
    assert shards == {f"OUTBOX#{n}" for n in range(8)}


def test_an_items_sort_key_is_its_time_to_the_microsecond_then_its_event_id(outbox: Outbox) -> None:
    # Given an event recorded at a known time
    envelope = _registered("0b6a3c9e-evt")

    # When its outbox item is made
    item = outbox.item(envelope)

    # Then the sort key is the UTC time, to the microsecond, then the event id
    assert item["sk"] == "2025-03-14T09:26:53.123456Z#0b6a3c9e-evt"


def test_items_sort_by_time_then_by_event_id(outbox: Outbox) -> None:
    # Given events recorded at different moments, two of them at the same moment
    envelopes = [
        _registered("evt-b", AT + timedelta(seconds=1)),
        _registered("evt-c", AT + timedelta(microseconds=1)),
        _registered("evt-z", AT),
        _registered("evt-a", AT),
        _registered("evt-d", AT + timedelta(days=1)),
        _registered("evt-e", AT - timedelta(hours=10)),
    ]

    # When their items are ordered by sort key
    ordered = [i["event_id"] for i in sorted((outbox.item(e) for e in envelopes), key=lambda i: i["sk"])]

    # Then the order is by time, and by event id within the same time
    assert ordered == ["evt-e", "evt-a", "evt-z", "evt-c", "evt-b", "evt-d"]


def test_an_event_recorded_in_another_time_zone_is_stamped_in_utc(outbox: Outbox) -> None:
    # Given the same instant once in UTC and once in Korea Standard Time
    kst = AT.astimezone(timezone(timedelta(hours=9)))

    # When the outbox items of two events at that instant are made
    utc_item, kst_item = outbox.item(_registered("evt-1", AT)), outbox.item(_registered("evt-1", kst))

    # Then both sort keys carry the UTC time
    assert kst_item["sk"] == utc_item["sk"] == "2025-03-14T09:26:53.123456Z#evt-1"


def test_an_item_expires_seven_days_after_its_event(outbox: Outbox) -> None:
    # Given an event recorded at a known time
    envelope = _registered("evt-1")

    # When its outbox item is made
    item = outbox.item(envelope)

    # Then its TTL is that time plus seven days, in epoch seconds
    assert item["expires_at"] == int(datetime(2025, 3, 21, 9, 26, 53, tzinfo=UTC).timestamp())


def test_an_item_holds_the_envelope_as_json(outbox: Outbox) -> None:
    # Given an event of a versioned type with non-ASCII data
    envelope = _consent("evt-1")
    named = _registered("evt-2", name="김민지")

    # When their outbox items are made
    item, named_item = outbox.item(envelope), outbox.item(named)

    # Then each holds its id, type and the envelope (type, version, data, id, time) as JSON text
    assert (item["event_id"], item["detail_type"]) == ("evt-1", "ConsentChanged")
    expected = {
        "type": "ConsentChanged",
        "schema_version": "3",
        "data": {"customer_id": "cus_1", "channel": "sms", "granted": True},
        "event_id": "evt-1",
        "occurred_at": "2025-03-14T09:26:53.123456+00:00",
    }
    recorded = json.loads(item["envelope"])
    assert {k: recorded.get(k) for k in expected} == expected
    assert "김민지" in named_item["envelope"]


def test_each_envelope_of_the_outbox_gets_its_own_event_id(outbox: Outbox) -> None:
    # Given one event
    event = CustomerRegistered(customer_id="cus_1", display_name="Minji")

    # When it is put in an envelope twice at the same time
    first, second = outbox.envelope(event, AT), outbox.envelope(event, AT)

    # Then both carry that time and the event, under different ids
    assert (first.occurred_at, first.event) == (AT, event)
    assert (second.occurred_at, second.event) == (AT, event)
    assert first.event_id != second.event_id


# --- reading an item back ------------------------------------------------------------------------


def test_an_item_reads_back_as_a_recorded_event_with_its_type_version_and_data(outbox: Outbox) -> None:
    # Given the outbox item of a versioned event
    original = _consent("evt-1")
    item = outbox.item(original)

    # When it is read back
    recorded = outbox._envelope(item)

    # Then it is the same event, id and time, as a RecordedEvent
    assert recorded.event == RecordedEvent(
        "ConsentChanged", "3", {"customer_id": "cus_1", "channel": "sms", "granted": True}
    )
    assert recorded.event.detail_type() == "ConsentChanged"
    assert (recorded.event_id, recorded.occurred_at) == ("evt-1", AT)


@pytest.mark.parametrize("envelope", [_registered("evt-1"), _consent("evt-2")], ids=["v1", "v3"])
def test_a_recorded_event_publishes_the_same_entry_as_the_original(
    outbox: Outbox, envelope: Envelope
) -> None:
    # Given an event and the same event read back from its outbox item
    publisher = _publisher(FakeEventBridge())
    recorded = outbox._envelope(outbox.item(envelope))

    # When each becomes a PutEvents entry
    original_entry, recorded_entry = publisher.entry(envelope), publisher.entry(recorded)

    # Then the entries are identical (type, detail with metadata and data, time)
    assert recorded_entry == original_entry


def test_an_envelopes_correlation_id_survives_the_outbox(outbox: Outbox) -> None:
    # Given an event recorded in a request with a correlation id
    original = Envelope(
        CustomerRegistered(customer_id="cus_1", display_name="Minji"),
        event_id="evt-1",
        occurred_at=AT,
        correlation_id="req-7f3a",
    )

    # When it is read back from its outbox item
    recorded = outbox._envelope(outbox.item(original))

    # Then it still names the request it came from
    assert recorded.correlation_id == "req-7f3a"


# --- flush ---------------------------------------------------------------------------------------


def test_flush_publishes_exactly_the_recorded_events_then_deletes_their_items(
    table: FakeQueryTable, outbox: Outbox
) -> None:
    # Given the outbox items of two events, written with the change they describe
    envelopes = [_registered("evt-1"), _consent("evt-2", AT + timedelta(seconds=1))]
    items = [outbox.item(e) for e in envelopes]
    _recorded(table, items)
    bus = FakeEventBridge()

    # When they are flushed
    outbox.flush(_publisher(bus), items)

    # Then the bus got those events, with their ids, types, versions, times and data
    entries = _published(bus)
    assert [(e["Source"], e["DetailType"]) for e in entries] == [
        (SOURCE, "CustomerRegistered"),
        (SOURCE, "ConsentChanged"),
    ]
    details = [json.loads(e["Detail"]) for e in entries]
    assert [d["metadata"]["event_id"] for d in details] == ["evt-1", "evt-2"]
    assert [d["metadata"]["schema_version"] for d in details] == ["1", "3"]
    assert [d["metadata"]["occurred_at"] for d in details] == [
        "2025-03-14T09:26:53.123456+00:00",
        "2025-03-14T09:26:54.123456+00:00",
    ]
    assert [d["data"] for d in details] == [e.event.model_dump(mode="json") for e in envelopes]
    # And their outbox items are gone
    assert table.items == {}


def test_flush_deletes_only_its_own_items(table: FakeQueryTable, outbox: Outbox) -> None:
    # Given the items of two requests in the outbox, and a customer record beside them
    mine = [outbox.item(_registered("evt-1"))]
    theirs = [outbox.item(_registered("evt-2"))]
    _recorded(table, mine + theirs)
    table.put({"pk": "CUSTOMER#cus_1", "sk": "PROFILE", "display_name": "김민지"})

    # When one request flushes its items
    outbox.flush(_publisher(FakeEventBridge()), mine)

    # Then the other request's item and the customer record stay
    assert sorted(i["sk"] for i in table.items.values()) == sorted(["PROFILE", theirs[0]["sk"]])


def test_flush_that_cannot_publish_raises_and_leaves_the_items_for_the_sweep(
    table: FakeQueryTable, outbox: Outbox
) -> None:
    # Given two outbox items and an EventBridge that fails every entry
    items = [outbox.item(_registered("evt-1")), outbox.item(_consent("evt-2"))]
    _recorded(table, items)
    bus = DownEventBridge()

    # When they are flushed
    with pytest.raises(PublishError) as raised:
        outbox.flush(_publisher(bus), items)

    # Then the error names both events, and both items are still in the outbox
    assert raised.value.failed_ids == ["evt-1", "evt-2"]
    assert sorted(i["event_id"] for i in table.items.values()) == ["evt-1", "evt-2"]
    assert table.batch_writes == []


def test_flush_keeps_every_item_when_one_event_could_not_be_published(
    table: FakeQueryTable, outbox: Outbox
) -> None:
    # Given two outbox items and an EventBridge that keeps failing one of them
    items = [outbox.item(_registered("evt-1")), outbox.item(_registered("evt-2"))]
    _recorded(table, items)
    bus = FakeEventBridge(failures={"evt-2": 99})

    # When they are flushed
    with pytest.raises(PublishError) as raised:
        outbox.flush(_publisher(bus), items)

    # Then only the failed event is named, but no item is dropped (a second publication is harmless)
    assert raised.value.failed_ids == ["evt-2"]
    assert len(table.items) == 2


# --- sweep ---------------------------------------------------------------------------------------

CUTOFF = AT - timedelta(minutes=1)


def _left_behind(outbox: Outbox, table: FakeQueryTable, placed: list[tuple[str, datetime, int]]) -> None:
    """Items written by requests that died before flushing: (event id, time, shard)."""
    for event_id, at, shard in placed:
        item = outbox.item(_registered(event_id, at))
        item["pk"] = f"OUTBOX#{shard}"
        table.put(item)


STALE = [
    ("evt-old-7", CUTOFF - timedelta(minutes=50), 7),
    ("evt-old-0", CUTOFF - timedelta(minutes=5), 0),
    ("evt-old-3", CUTOFF - timedelta(minutes=40), 3),
    ("evt-old-5", CUTOFF - timedelta(microseconds=1), 5),
    ("evt-old-1", CUTOFF - timedelta(minutes=30), 1),
    ("evt-old-2", CUTOFF - timedelta(minutes=20), 2),
    ("evt-old-4", CUTOFF - timedelta(minutes=10), 4),
    ("evt-old-6", CUTOFF - timedelta(minutes=45), 6),
]
FRESH = [
    ("evt-new-0", CUTOFF + timedelta(seconds=30), 0),
    ("evt-new-7", CUTOFF, 7),
    ("evt-new-3", AT, 3),
]
OLDEST_FIRST = [event_id for event_id, _, _ in sorted(STALE, key=lambda s: s[1])]


def test_sweep_publishes_and_deletes_only_items_older_than_the_cutoff_in_every_shard(
    table: FakeQueryTable, outbox: Outbox
) -> None:
    # Given stale items in each of the eight shards, fresh ones (one exactly at the cutoff),
    # and a customer record beside them
    _left_behind(outbox, table, STALE + FRESH)
    table.put({"pk": "CUSTOMER#cus_1", "sk": "PROFILE"})
    bus = FakeEventBridge()

    # When the outbox is swept
    count = outbox.sweep(_publisher(bus), older_than=CUTOFF)

    # Then every stale event was published once and its item deleted; the rest stay
    assert count == len(STALE)
    assert sorted(_published_ids(bus)) == sorted(OLDEST_FIRST)
    remaining = sorted(i.get("event_id", i["pk"]) for i in table.items.values())
    assert remaining == ["CUSTOMER#cus_1", "evt-new-0", "evt-new-3", "evt-new-7"]


def test_sweep_publishes_the_oldest_item_first_across_shards(table: FakeQueryTable, outbox: Outbox) -> None:
    # Given stale items in every shard, the oldest in the last shard
    _left_behind(outbox, table, STALE)
    bus = FakeEventBridge()

    # When the outbox is swept
    outbox.sweep(_publisher(bus), older_than=CUTOFF)

    # Then the events went out in the order they happened
    assert _published_ids(bus) == OLDEST_FIRST


def test_sweep_republishes_a_stale_event_as_it_was_first_sent(table: FakeQueryTable, outbox: Outbox) -> None:
    # Given an item left behind by a request that died before flushing
    envelope = _consent("evt-1", CUTOFF - timedelta(minutes=3))
    _recorded(table, [outbox.item(envelope)])
    bus = FakeEventBridge()

    # When the outbox is swept
    outbox.sweep(_publisher(bus), older_than=CUTOFF)

    # Then the entry is the one the request would have sent (same id, type, version, time, data)
    (entry,) = _published(bus)
    assert entry == _publisher(FakeEventBridge()).entry(envelope)


def test_sweep_of_many_items_publishes_and_deletes_them_all(table: FakeQueryTable, outbox: Outbox) -> None:
    # Given 250 stale items spread over the shards
    placed = [(f"evt-{i:03}", CUTOFF - timedelta(seconds=i + 1), i % 8) for i in range(250)]
    _left_behind(outbox, table, placed)
    bus = FakeEventBridge()

    # When the outbox is swept
    count = outbox.sweep(_publisher(bus), older_than=CUTOFF)

    # Then all of them went out, each once, and the outbox is empty
    assert count == 250
    assert sorted(_published_ids(bus)) == sorted(event_id for event_id, _, _ in placed)
    assert table.items == {}


def test_sweep_of_an_empty_outbox_publishes_nothing(table: FakeQueryTable, outbox: Outbox) -> None:
    # Given an outbox with nothing left behind
    bus = FakeEventBridge()

    # When it is swept
    count = outbox.sweep(_publisher(bus), older_than=CUTOFF)

    # Then nothing is published, and every shard was looked at
    assert count == 0
    assert bus.calls == []
    assert sorted(q["values"][":pk"] for q in table.queries) == [f"OUTBOX#{n}" for n in range(8)]


def test_sweep_that_cannot_publish_raises_and_keeps_the_items(table: FakeQueryTable, outbox: Outbox) -> None:
    # Given stale items and an EventBridge that fails every entry
    _left_behind(outbox, table, STALE)
    bus = DownEventBridge()

    # When the outbox is swept
    with pytest.raises(PublishError):
        outbox.sweep(_publisher(bus), older_than=CUTOFF)

    # Then every item is still there for the next sweep
    assert sorted(i["event_id"] for i in table.items.values()) == sorted(OLDEST_FIRST)

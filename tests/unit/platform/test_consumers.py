"""SQS consumers: partial batch failures, one effect per message, message keys, parsing events,
and failure logs that name no person."""

from __future__ import annotations

import hashlib
import json
import logging
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, ClassVar

import pytest
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from pydantic import BaseModel

from shared import consumers
from shared.consumers import BadEvent, SqsConsumer, event_key, eventbridge_event, message_key, once
from shared.errors import Conflict
from shared.events import DomainEvent, Envelope
from shared.idempotency import COMPLETED, IdempotencyStore
from tests.unit.fakes import FakeLambdaContext, FakeSeconds, FakeTable

REGION = "ap-northeast-2"
ACCOUNT = "123456789012"
QUEUE_ARN = f"arn:aws:sqs:{REGION}:{ACCOUNT}:dangol-rewards-earn"
TOPIC_ARN = f"arn:aws:sns:{REGION}:{ACCOUNT}:dangol-events"
CONSUMER = "rewards-earn"
AT = datetime(2025, 3, 14, 9, 26, 53, tzinfo=UTC)
EMAIL = "minji.kim@example.com"
LOCK_S = 30


# --- what producers send and what Lambda hands the function --------------------------------------


class PointsEarned(DomainEvent):
    """The producer's event (as ``shared.events`` publishes it)."""

    schema_version: ClassVar[str] = "2"

    customer_id: str
    points: int
    email: str


class PointsEarnedData(BaseModel):
    """The consumer's view of the same event's data."""

    customer_id: str
    points: int
    email: str


def _detail(event_id: str, points: int = 10) -> dict[str, Any]:
    """An event's ``detail`` exactly as ``EventPublisher`` writes it."""
    event = PointsEarned(customer_id="cus_1", points=points, email=EMAIL)
    return Envelope(event, event_id=event_id, occurred_at=AT, correlation_id="req-1").detail()


def _eventbridge(detail: Any, event_id: str = "eb-0001") -> dict[str, Any]:
    """An EventBridge event as a rule delivers it (to a queue as the body, or to a function)."""
    return {
        "version": "0",
        "id": event_id,
        "detail-type": "PointsEarned",
        "source": "dangol.orders",
        "account": ACCOUNT,
        "time": "2025-03-14T09:26:53Z",
        "region": REGION,
        "resources": [],
        "detail": detail,
    }


def _sns_notification(message: str) -> dict[str, Any]:
    """An SNS notification as a subscription without raw delivery puts it in the queue."""
    return {
        "Type": "Notification",
        "MessageId": "5a1b2c3d-0000-4000-8000-000000000001",
        "TopicArn": TOPIC_ARN,
        "Message": message,
        "Timestamp": "2025-03-14T09:26:53.000Z",
        "SignatureVersion": "1",
        "Signature": "c2lnbmF0dXJl",
        "SigningCertURL": f"https://sns.{REGION}.amazonaws.com/SimpleNotificationService-0000.pem",
        "UnsubscribeURL": f"https://sns.{REGION}.amazonaws.com/?Action=Unsubscribe",
    }


def _record(body: Any, message_id: str = "msg-1", receive_count: int = 1) -> dict[str, Any]:
    """One SQS record as Lambda's event source mapping sends it."""
    text = body if isinstance(body, str) else json.dumps(body)
    return {
        "messageId": message_id,
        "receiptHandle": f"AQEB{message_id}Zm9vYmFy",
        "body": text,
        "attributes": {
            "ApproximateReceiveCount": str(receive_count),
            "SentTimestamp": "1741944413000",
            "SenderId": "AROAEXAMPLE:dangol-orders",
            "ApproximateFirstReceiveTimestamp": "1741944413005",
        },
        "messageAttributes": {},
        "md5OfBody": hashlib.md5(text.encode(), usedforsecurity=False).hexdigest(),
        "eventSource": "aws:sqs",
        "eventSourceARN": QUEUE_ARN,
        "awsRegion": REGION,
    }


def _event(*records: dict[str, Any]) -> dict[str, Any]:
    return {"Records": list(records)}


def _failed(response: dict[str, Any]) -> list[str]:
    return [f["itemIdentifier"] for f in response["batchItemFailures"]]


def _store(table: FakeTable, seconds: FakeSeconds) -> IdempotencyStore:
    return IdempotencyStore(
        table,  # type: ignore[arg-type]
        partition_key="pk",
        sort_key=None,
        ttl_attribute="expires_at",
        lock_s=LOCK_S,
        now=seconds,
    )


@pytest.fixture
def table() -> FakeTable:
    return FakeTable(key_names=("pk",))


@pytest.fixture
def store(table: FakeTable) -> IdempotencyStore:
    return _store(table, FakeSeconds())


CONTEXT = FakeLambdaContext()


# --- partial batch responses ---------------------------------------------------------------------


def test_only_the_records_whose_handler_raised_are_named_in_batch_item_failures() -> None:
    # Given a handler that fails on the second of three messages
    seen: list[str] = []

    def handle(record: SQSRecord) -> None:
        seen.append(record.message_id)
        if record.message_id == "msg-2":
            raise RuntimeError("downstream refused")

    consume = SqsConsumer(CONSUMER, handle)
    event = _event(*(_record(_eventbridge(_detail(f"evt-{i}")), f"msg-{i}") for i in (1, 2, 3)))

    # When the batch is consumed
    response = consume(event, CONTEXT)

    # Then every record was handled and only the failed one is reported (the others get deleted)
    assert seen == ["msg-1", "msg-2", "msg-3"]
    assert response == {"batchItemFailures": [{"itemIdentifier": "msg-2"}]}


def test_a_batch_whose_records_all_succeed_reports_no_failures() -> None:
    # Given a handler that succeeds on every message
    bodies: list[dict[str, Any]] = []
    consume = SqsConsumer(CONSUMER, lambda record: bodies.append(record.json_body))
    event = _event(*(_record(_eventbridge(_detail(f"evt-{i}", points=i)), f"msg-{i}") for i in (1, 2)))

    # When the batch is consumed
    response = consume(event, CONTEXT)

    # Then the handler saw each body, in order, and no failure is reported
    assert [b["detail"]["data"]["points"] for b in bodies] == [1, 2]
    assert response == {"batchItemFailures": []}


def test_a_batch_whose_records_all_fail_returns_them_all_instead_of_raising() -> None:
    # Given a handler that fails on every message
    def handle(record: SQSRecord) -> None:
        raise RuntimeError("down")

    consume = SqsConsumer(CONSUMER, handle)
    event = _event(*(_record(_eventbridge(_detail(f"evt-{i}")), f"msg-{i}") for i in (1, 2, 3)))

    # When the batch is consumed
    response = consume(event, CONTEXT)

    # Then it returns (no BatchProcessingError) naming every record for a retry
    assert _failed(response) == ["msg-1", "msg-2", "msg-3"]


def test_a_bad_event_fails_its_own_record_not_the_batch() -> None:
    # Given a handler that parses its events, and a batch with one event whose data is wrong
    parsed: list[int] = []
    consume = SqsConsumer(
        CONSUMER, lambda record: parsed.append(eventbridge_event(record, PointsEarnedData)[1].points)
    )
    bad = _detail("evt-2")
    bad["data"]["points"] = "lots"
    event = _event(
        _record(_eventbridge(_detail("evt-1", points=5)), "msg-1"),
        _record(_eventbridge(bad), "msg-2"),
        _record(_eventbridge(_detail("evt-3", points=7)), "msg-3"),
    )

    # When the batch is consumed
    response = consume(event, CONTEXT)

    # Then the good events were applied and only the bad one goes back (towards the DLQ)
    assert parsed == [5, 7]
    assert _failed(response) == ["msg-2"]


# --- one effect per message ----------------------------------------------------------------------


def _counting(applied: list[str]) -> Callable[[SQSRecord], None]:
    def handle(record: SQSRecord) -> None:
        applied.append(record.message_id)

    return handle


def test_the_same_event_delivered_twice_in_one_batch_has_its_effect_once(store: IdempotencyStore) -> None:
    # Given a deduplicating consumer and one event delivered as two SQS messages in the same batch
    applied: list[str] = []
    consume = SqsConsumer(CONSUMER, _counting(applied), dedupe=lambda: store)
    body = _eventbridge(_detail("evt-1"))

    # When the batch is consumed
    response = consume(_event(_record(body, "msg-a"), _record(body, "msg-b")), CONTEXT)

    # Then the effect happened once and neither message is sent back
    assert applied == ["msg-a"]
    assert response == {"batchItemFailures": []}


def test_the_same_event_delivered_again_later_has_its_effect_once(
    store: IdempotencyStore, table: FakeTable
) -> None:
    # Given a deduplicating consumer that already applied an event
    applied: list[str] = []
    consume = SqsConsumer(CONSUMER, _counting(applied), dedupe=lambda: store)
    body = _eventbridge(_detail("evt-1"))
    consume(_event(_record(body, "msg-a")), CONTEXT)

    # When the same event arrives in a later batch as another SQS message (a second publication)
    response = consume(_event(_record(body, "msg-b")), CONTEXT)

    # Then it is skipped, acknowledged, and the key is recorded as done
    assert applied == ["msg-a"]
    assert response == {"batchItemFailures": []}
    (record,) = table.items.values()
    assert record["status"] == COMPLETED


def test_a_failed_effect_releases_the_key_so_the_redelivery_applies_it(store: IdempotencyStore) -> None:
    # Given a deduplicating consumer whose effect fails the first time only
    applied: list[str] = []

    def handle(record: SQSRecord) -> None:
        if record.attributes.approximate_receive_count == "1":
            raise ConnectionError("ledger unreachable")
        applied.append(record.message_id)

    consume = SqsConsumer(CONSUMER, handle, dedupe=lambda: store)
    body = _eventbridge(_detail("evt-1"))
    first = consume(_event(_record(body, "msg-a", receive_count=1)), CONTEXT)

    # When SQS delivers the message again after its visibility timeout
    second = consume(_event(_record(body, "msg-a", receive_count=2)), CONTEXT)

    # Then the first delivery failed and the redelivery applied the effect
    assert _failed(first) == ["msg-a"]
    assert second == {"batchItemFailures": []}
    assert applied == ["msg-a"]


def test_a_message_whose_key_is_in_progress_elsewhere_fails_and_applies_nothing(
    store: IdempotencyStore,
) -> None:
    # Given a deduplicating consumer, and a duplicate that reaches another instance
    # while the first delivery's effect is still running
    applied: list[str] = []
    body = _eventbridge(_detail("evt-1"))
    meanwhile: list[dict[str, Any]] = []

    def handle(record: SQSRecord) -> None:
        if not meanwhile:
            meanwhile.append(consume(_event(_record(body, "msg-b")), CONTEXT))
        applied.append(record.message_id)

    consume = SqsConsumer(CONSUMER, handle, dedupe=lambda: store)

    # When the first delivery runs
    first = consume(_event(_record(body, "msg-a")), CONTEXT)

    # Then the duplicate failed (to be retried later) without an effect, and the first one succeeded
    assert _failed(meanwhile[0]) == ["msg-b"]
    assert applied == ["msg-a"]
    assert first == {"batchItemFailures": []}


def test_the_in_progress_duplicate_retried_later_is_skipped(store: IdempotencyStore) -> None:
    # Given a duplicate that failed because the first delivery was still running
    applied: list[str] = []
    body = _eventbridge(_detail("evt-1"))
    meanwhile: list[dict[str, Any]] = []

    def handle(record: SQSRecord) -> None:
        if not meanwhile:
            meanwhile.append(consume(_event(_record(body, "msg-b")), CONTEXT))
        applied.append(record.message_id)

    consume = SqsConsumer(CONSUMER, handle, dedupe=lambda: store)
    consume(_event(_record(body, "msg-a")), CONTEXT)

    # When SQS delivers the duplicate again
    retried = consume(_event(_record(body, "msg-b", receive_count=2)), CONTEXT)

    # Then it is acknowledged without a second effect
    assert retried == {"batchItemFailures": []}
    assert applied == ["msg-a"]


def test_a_message_without_an_event_id_is_deduplicated_on_its_sqs_message_id(
    store: IdempotencyStore,
) -> None:
    # Given a deduplicating consumer that applied a message with no event id
    applied: list[str] = []
    consume = SqsConsumer(CONSUMER, _counting(applied), dedupe=lambda: store)
    consume(_event(_record({"order": "o-1"}, "msg-a")), CONTEXT)

    # When SQS delivers the same message again (its delete was lost) and another with the same body
    response = consume(
        _event(_record({"order": "o-1"}, "msg-a", receive_count=2), _record({"order": "o-1"}, "msg-b")),
        CONTEXT,
    )

    # Then the redelivery is skipped but the other message (another id) is its own message
    assert applied == ["msg-a", "msg-b"]
    assert response == {"batchItemFailures": []}


def test_each_consumer_applies_the_same_event_once_on_its_own(store: IdempotencyStore) -> None:
    # Given two consumers deduplicating in the same table
    applied: list[str] = []
    earn = SqsConsumer("rewards-earn", lambda r: applied.append("earn"), dedupe=lambda: store)
    notify = SqsConsumer("notify-points", lambda r: applied.append("notify"), dedupe=lambda: store)
    event = _event(_record(_eventbridge(_detail("evt-1")), "msg-a"))

    # When each receives the same event twice
    for consume in (earn, notify, earn, notify):
        consume(event, CONTEXT)

    # Then each applied it once
    assert applied == ["earn", "notify"]


def test_once_runs_the_effect_the_first_time_only(store: IdempotencyStore) -> None:
    # Given a key not yet processed
    runs: list[int] = []

    # When the same key comes twice
    first = once(store, CONSUMER, "event:evt-1", lambda: runs.append(1))
    second = once(store, CONSUMER, "event:evt-1", lambda: runs.append(2))

    # Then the effect ran once and the answers say so
    assert (first, second) == (True, False)
    assert runs == [1]


def test_once_releases_the_key_of_a_failed_effect_and_lets_its_error_through(
    store: IdempotencyStore, table: FakeTable
) -> None:
    # Given an effect that fails
    def fail() -> None:
        raise KeyError("missing")

    # When it runs under a key
    with pytest.raises(KeyError):
        once(store, CONSUMER, "event:evt-1", fail)

    # Then the key is free: nothing is recorded and the next attempt runs
    assert table.items == {}
    assert once(store, CONSUMER, "event:evt-1", lambda: None) is True


def test_once_refuses_a_key_still_in_progress_elsewhere(store: IdempotencyStore) -> None:
    # Given a key whose effect is running in another invocation
    raised: list[Conflict] = []

    def running() -> None:
        with pytest.raises(Conflict) as inner:
            once(store, CONSUMER, "event:evt-1", lambda: pytest.fail("ran a second time"))
        raised.append(inner.value)

    # When the same key is tried meanwhile
    once(store, CONSUMER, "event:evt-1", running)

    # Then that attempt is a Conflict to retry, and the running effect still completes
    assert [c.code for c in raised] == ["idempotency_in_progress"]
    assert once(store, CONSUMER, "event:evt-1", lambda: pytest.fail("ran again")) is False


# --- message keys --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        _eventbridge(_detail("evt-42")),
        _detail("evt-42"),
        _sns_notification(json.dumps(_detail("evt-42"))),
        _sns_notification(json.dumps(_eventbridge(_detail("evt-42")))),
    ],
    ids=["EventBridge rule", "raw SNS delivery", "enveloped SNS notification", "EventBridge via SNS"],
)
def test_the_message_key_is_the_event_id_of_our_events(body: dict[str, Any]) -> None:
    # Given a message carrying one of our events in any of the ways it reaches a queue
    record = SQSRecord(_record(body, "msg-1"))

    # When its key is taken
    key = message_key(record)

    # Then it is the event's id, not the SQS message id
    assert key == "event:evt-42"


@pytest.mark.parametrize(
    "body",
    [
        "not json at all",
        json.dumps([1, 2, 3]),
        json.dumps({"order": "o-1"}),
        json.dumps(_eventbridge({"data": {"points": 1}})),
        json.dumps(_eventbridge({"metadata": {"event_id": 42}, "data": {}})),
        json.dumps(_eventbridge("a string detail")),
        json.dumps(_sns_notification("plain text message")),
    ],
    ids=[
        "not JSON",
        "JSON array",
        "no metadata",
        "detail without metadata",
        "non-string event id",
        "detail not an object",
        "SNS message not JSON",
    ],
)
def test_a_message_without_an_event_id_is_keyed_by_its_sqs_message_id(body: str) -> None:
    # Given a message that carries no event id
    record = SQSRecord(_record(body, "8f2b1c1e-msg"))

    # When its key is taken
    key = message_key(record)

    # Then it falls back to the SQS message id
    assert key == "sqs:8f2b1c1e-msg"


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        (_eventbridge(_detail("evt-7"), event_id="eb-1"), "event:evt-7"),
        (_eventbridge({}, event_id="eb-2"), "eventbridge:eb-2"),
        (_eventbridge({"metadata": "x"}, event_id="eb-3"), "eventbridge:eb-3"),
        (_eventbridge({"metadata": {"event_id": None}}, event_id="eb-4"), "eventbridge:eb-4"),
        (_eventbridge(None, event_id="eb-5"), "eventbridge:eb-5"),
    ],
    ids=["our event", "schedule (empty detail)", "metadata not an object", "null event id", "no detail"],
)
def test_the_key_of_a_direct_invocation_is_the_event_id_or_else_the_eventbridge_id(
    event: dict[str, Any], expected: str
) -> None:
    # Given an EventBridge event invoking a function directly
    # When its key is taken
    key = event_key(event)

    # Then it is our event id when there is one, else EventBridge's id
    assert key == expected


# --- parsing EventBridge events ------------------------------------------------------------------


def test_a_good_event_parses_into_its_model_and_envelope() -> None:
    # Given an EventBridge event delivered by a rule
    record = SQSRecord(_record(_eventbridge(_detail("evt-9", points=30)), "msg-1"))

    # When it is parsed
    envelope, data = eventbridge_event(record, PointsEarnedData)

    # Then the data is the model and the envelope holds the event's metadata
    assert data == PointsEarnedData(customer_id="cus_1", points=30, email=EMAIL)
    assert envelope == consumers.Envelope(
        event_id="evt-9",
        detail_type="PointsEarned",
        source="dangol.orders",
        schema_version="2",
        occurred_at="2025-03-14T09:26:53+00:00",
        data={"customer_id": "cus_1", "points": 30, "email": EMAIL},
    )


NOT_AN_EVENT = [{"loc": ["detail"], "type": "not_an_event"}]


def _bad_data(detail: dict[str, Any]) -> dict[str, Any]:
    detail["data"] = {"points": "lots of points", "email": EMAIL}
    return detail


@pytest.mark.parametrize(
    ("body", "problems"),
    [
        ("{not json", NOT_AN_EVENT),
        (json.dumps({k: v for k, v in _eventbridge({}).items() if k != "detail"}), NOT_AN_EVENT),
        (json.dumps(_eventbridge({"data": {"customer_id": "cus_1"}})), NOT_AN_EVENT),
        (
            json.dumps(_eventbridge(_bad_data(_detail("evt-1")))),
            [{"loc": ["customer_id"], "type": "missing"}, {"loc": ["points"], "type": "int_parsing"}],
        ),
    ],
    ids=["not JSON", "no detail", "no metadata", "data failing validation"],
)
def test_a_bad_event_raises_bad_event_naming_locations_and_types_only(
    body: str, problems: list[dict[str, Any]]
) -> None:
    # Given a message that is not a valid event (its data holds an e-mail and a bad number)
    record = SQSRecord(_record(body, "msg-1"))

    # When it is parsed
    with pytest.raises(BadEvent) as raised:
        eventbridge_event(record, PointsEarnedData)

    # Then BadEvent lists each problem by location and type, and never the values
    assert raised.value.problems == problems
    assert all(set(p) == {"loc", "type"} for p in raised.value.problems)
    assert EMAIL not in str(raised.value.problems)
    assert "lots of points" not in str(raised.value.problems) + str(raised.value)


# --- failure logs --------------------------------------------------------------------------------


Printed = Callable[[], tuple[str, list[dict[str, Any]]]]
FAILED = "record failed; it will be retried, then dead-lettered"


class _CurrentStdout:
    """Writes to whatever ``sys.stdout`` is when a line is written (the test's captured stdout)."""

    def write(self, text: str) -> int:
        return sys.stdout.write(text)

    def flush(self) -> None:
        sys.stdout.flush()


@pytest.fixture
def stdout_lines(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Printed:
    """What the consumer printed, and its JSON log lines. Powertools binds its handler to the
    stdout of import time, so for the test the handler writes to the current stdout instead."""
    (handler,) = logging.getLogger(consumers._log.name).handlers
    monkeypatch.setattr(handler, "stream", _CurrentStdout())

    def read() -> tuple[str, list[dict[str, Any]]]:
        out = capsys.readouterr().out
        return out, [json.loads(line) for line in out.splitlines() if line.startswith("{")]

    return read


def test_a_failed_record_is_logged_with_its_message_id_receive_count_and_error_type(
    stdout_lines: Printed,
) -> None:
    # Given a handler that fails on a message received for the third time
    def handle(record: SQSRecord) -> None:
        raise TimeoutError("ledger timed out")

    consume = SqsConsumer(CONSUMER, handle)

    # When the batch is consumed
    consume(_event(_record(_eventbridge(_detail("evt-1")), "msg-3f", receive_count=3)), CONTEXT)

    # Then one warning names the consumer, the message, how often it came and the error's type
    _, lines = stdout_lines()
    (line,) = [line for line in lines if line.get("message") == FAILED]
    assert line["level"] == "WARNING"
    assert line["consumer"] == CONSUMER
    assert line["message_id"] == "msg-3f"
    assert int(line["receive_count"]) == 3
    assert line["error_type"] == "TimeoutError"


def _careless(record: SQSRecord) -> None:
    raise ValueError(f"cannot earn points for {record.body}")


def _parsing(record: SQSRecord) -> None:
    eventbridge_event(record, PointsEarnedData)


@pytest.mark.parametrize(
    ("handle", "error_type"),
    [(_careless, "ValueError"), (_parsing, "BadEvent")],
    ids=["error message echoing the body", "bad event"],
)
def test_the_failure_log_never_carries_the_bodys_personal_data(
    stdout_lines: Printed,
    handle: Callable[[SQSRecord], None],
    error_type: str,
) -> None:
    # Given a message whose body holds an e-mail address, and a handler that fails on it
    consume = SqsConsumer(CONSUMER, handle)
    body = _eventbridge(_bad_data(_detail("evt-1")))

    # When the batch is consumed
    consume(_event(_record(body, "msg-1")), CONTEXT)

    # Then the failure is logged by type, and the e-mail appears nowhere in the output
    out, lines = stdout_lines()
    (line,) = [line for line in lines if line.get("message") == FAILED]
    assert line["error_type"] == error_type
    assert EMAIL not in out


def test_the_failure_log_of_a_bad_event_lists_its_problems(
    stdout_lines: Printed,
) -> None:
    # Given a handler that parses a message whose data is missing a field
    consume = SqsConsumer(CONSUMER, _parsing)
    detail = _detail("evt-1")
    del detail["data"]["customer_id"]

    # When the batch is consumed
    consume(_event(_record(_eventbridge(detail), "msg-1")), CONTEXT)

    # Then the log line says where the event is wrong
    _, lines = stdout_lines()
    (line,) = [line for line in lines if line.get("message") == FAILED]
    assert line["problems"] == [{"loc": ["customer_id"], "type": "missing"}]

"""Writing an SQS consumer: Powertools' batch utility, one effect per message, and
failures that end in the dead-letter queue with a reason that names no person.

    consume = SqsConsumer("rewards-earn", handle, dedupe=lambda: deps().dedupe)

    def lambda_handler(event, context):
        return consume(event, context)

- Only failed records are reported back (``batchItemFailures``); the rest are
  deleted by the event source mapping.
- Each message has a key: the ``metadata.event_id`` of our events (EventBridge
  or SNS, raw or enveloped) or else the SQS message id. A message whose key was
  already processed is skipped, so a duplicate or redelivered message has one
  effect; one still in progress elsewhere fails and is retried later.
- A record that fails is logged with its message id, receive count and the
  error's type (never its body or message, which may hold personal data);
  after the queue's maxReceiveCount it moves to the DLQ.
- ``eventbridge_event(record, Model)`` parses an EventBridge event delivered by
  a rule into its pydantic model; a bad event raises ``BadEvent`` (one failed
  record, not a crashed batch).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from pydantic import BaseModel, ValidationError

from shared.idempotency import IdempotencyStore, StoredResponse
from shared.observability import make_logger

M = TypeVar("M", bound=BaseModel)
RecordHandler = Callable[[SQSRecord], None]
_log = make_logger()
_DONE = StoredResponse(status=200, body="", content_type="text/plain")


class BadEvent(ValueError):
    """The message is not the event it should be (it will end in the DLQ)."""

    def __init__(self, problems: list[dict[str, Any]]) -> None:
        super().__init__(f"{len(problems)} problem(s) in the event")
        self.problems = problems


@dataclass(frozen=True)
class Envelope:
    """What an EventBridge event from ``shared.events.EventPublisher`` carries around its data."""

    event_id: str
    detail_type: str
    source: str
    schema_version: str
    occurred_at: str
    data: dict[str, Any]


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None


def _unwrap(body: Any) -> Any:
    """An SNS envelope (non-raw delivery) holds the message as text in ``Message``."""
    if isinstance(body, dict) and body.get("Type") == "Notification" and isinstance(body.get("Message"), str):
        return _json(body["Message"])
    return body


def message_key(record: SQSRecord) -> str:
    """The key that makes two deliveries of one message the same message."""
    body = _unwrap(_json(record.body))
    if isinstance(body, dict):
        detail = body.get("detail", body)
        metadata = detail.get("metadata") if isinstance(detail, dict) else None
        if isinstance(metadata, dict) and isinstance(metadata.get("event_id"), str):
            return f"event:{metadata['event_id']}"
    return f"sqs:{record.message_id}"


def eventbridge_event(record: SQSRecord, model: type[M]) -> tuple[Envelope, M]:
    """Parse an EventBridge event (delivered by a rule to this queue) into ``model``."""
    body = _unwrap(_json(record.body))
    detail = body.get("detail") if isinstance(body, dict) else None
    metadata = detail.get("metadata") if isinstance(detail, dict) else None
    if not isinstance(detail, dict) or not isinstance(metadata, dict):
        raise BadEvent([{"loc": ["detail"], "type": "not_an_event"}])
    try:
        data = model.model_validate(detail.get("data"))
    except ValidationError as exc:
        raise BadEvent([{"loc": list(e["loc"]), "type": e["type"]} for e in exc.errors()]) from None
    envelope = Envelope(
        event_id=str(metadata.get("event_id", "")),
        detail_type=str(body.get("detail-type", "")),
        source=str(body.get("source", "")),
        schema_version=str(metadata.get("schema_version", "")),
        occurred_at=str(metadata.get("occurred_at", "")),
        data=dict(detail.get("data") or {}),
    )
    return envelope, data


def message_of(record: SQSRecord, model: type[M]) -> M:
    """A plain JSON message body (not an EventBridge event) as its model; ``BadEvent`` naming
    what is wrong (never the values) when it is not one."""
    try:
        return model.model_validate_json(record.body)
    except ValidationError as bad:
        raise BadEvent([{"loc": list(e["loc"]), "type": e["type"]} for e in bad.errors()]) from None


class SqsConsumer:
    def __init__(
        self,
        consumer_id: str,
        handle: RecordHandler,
        *,
        dedupe: Callable[[], IdempotencyStore] | None = None,
        key: Callable[[SQSRecord], str] = message_key,
    ) -> None:
        self.consumer_id = consumer_id
        self.handle = handle
        self.dedupe = dedupe
        self.key = key

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
        return dict(process_partial_response(event, self._record, processor, context))

    def _record(self, record: SQSRecord) -> None:
        try:
            self._once(record)
        except Exception as exc:
            _log.warning(
                "record failed; it will be retried, then dead-lettered",
                extra={
                    "consumer": self.consumer_id,
                    "message_id": record.message_id,
                    "receive_count": record.attributes.approximate_receive_count,
                    "error_type": type(exc).__name__,
                    "problems": getattr(exc, "problems", None),
                },
            )
            raise

    def _once(self, record: SQSRecord) -> None:
        if self.dedupe is None:
            self.handle(record)
        elif not once(self.dedupe(), self.consumer_id, self.key(record), lambda: self.handle(record)):
            _log.info(
                "duplicate skipped", extra={"consumer": self.consumer_id, "message_id": record.message_id}
            )


def once(store: IdempotencyStore, scope: str, key: str, effect: Callable[[], None]) -> bool:
    """Run ``effect`` unless ``key`` was already processed in ``scope``; True if it ran.

    A key still in progress elsewhere raises ``Conflict`` (the message is retried later);
    an effect that fails releases the key so that the retry can run it.
    """
    token, done = store.begin(scope, key, fingerprint="message")
    if done is not None:
        return False
    try:
        effect()
    except BaseException:
        store.release(scope, key, token)
        raise
    store.complete(scope, key, token, _DONE)
    return True


def event_key(event: dict[str, Any]) -> str:
    """The key of an EventBridge event invoked directly (a rule's or a schedule's function target)."""
    detail = event.get("detail")
    metadata = detail.get("metadata") if isinstance(detail, dict) else None
    if isinstance(metadata, dict) and isinstance(metadata.get("event_id"), str):
        return f"event:{metadata['event_id']}"
    return f"eventbridge:{event.get('id')}"

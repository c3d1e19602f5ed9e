"""Publishing domain events to the one EventBridge bus.

Each service declares its events as ``DomainEvent`` subclasses in one module.
An event goes out as ``{"metadata": {...}, "data": {...}}`` with a unique
``event_id`` (consumers dedupe on it), its ``schema_version`` and the time it
happened. ``EventPublisher.publish`` sends PutEvents in chunks of at most 10
entries and 256 KiB, retries just the entries that failed (same ids, so a
retry is a duplicate consumers can drop), and raises ``PublishError`` naming
the event ids it could not deliver.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, ConfigDict

from shared import aws
from shared.dynamo import Backoff
from shared.errors import ServiceUnavailable

if TYPE_CHECKING:
    from mypy_boto3_events import EventBridgeClient

PUT_EVENTS_LIMIT = 10
PUT_EVENTS_MAX_BYTES = 256 * 1024
_RETRYABLE = frozenset({"ThrottlingException", "InternalException", "InternalFailure", "ServiceUnavailable"})


class DomainEvent(BaseModel):
    """Base of every event a service emits. Subclasses set ``schema_version``."""

    model_config = ConfigDict(defer_build=True, frozen=True, extra="forbid")

    schema_version: ClassVar[str] = "1"

    @classmethod
    def detail_type(cls) -> str:
        return cls.__name__


@dataclass(frozen=True)
class RecordedEvent:
    """An event read back as it was recorded (an outbox item): type, schema version and data."""

    type_name: str
    schema_version: str
    data: dict[str, Any]

    def detail_type(self) -> str:
        return self.type_name

    def model_dump(self, mode: str = "json") -> dict[str, Any]:
        return dict(self.data)


@dataclass(frozen=True)
class Envelope:
    event: DomainEvent | RecordedEvent
    event_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    occurred_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    correlation_id: str | None = None

    def detail(self) -> dict[str, Any]:
        return {
            "metadata": {
                "event_id": self.event_id,
                "schema_version": self.event.schema_version,
                "occurred_at": self.occurred_at.isoformat(),
                "correlation_id": self.correlation_id,
            },
            "data": self.event.model_dump(mode="json"),
        }


class PublishError(ServiceUnavailable):
    default_code = "event_publish_failed"

    def __init__(self, failed_ids: Sequence[str]) -> None:
        super().__init__(f"{len(failed_ids)} event(s) could not be published")
        self.failed_ids = list(failed_ids)


class EventPublisher:
    def __init__(
        self,
        bus_name: str,
        source: str,
        client: EventBridgeClient | None = None,
        backoff: Backoff = Backoff(attempts=5),
    ) -> None:
        self.bus_name = bus_name
        self.source = source
        self._client = client
        self.backoff = backoff
        self.calls = 0

    @property
    def client(self) -> EventBridgeClient:
        if self._client is None:
            self._client = aws.client("events")
        return self._client

    def entry(self, envelope: Envelope) -> dict[str, Any]:
        return {
            "EventBusName": self.bus_name,
            "Source": self.source,
            "DetailType": envelope.event.detail_type(),
            "Detail": json.dumps(envelope.detail(), separators=(",", ":"), ensure_ascii=False),
            "Time": envelope.occurred_at,
        }

    def publish(self, events: Sequence[DomainEvent | Envelope]) -> list[str]:
        """Publish all events or raise; returns their event ids in order."""
        envelopes = [e if isinstance(e, Envelope) else Envelope(e) for e in events]
        failed: list[str] = []
        for batch in _batches([(env.event_id, self.entry(env)) for env in envelopes]):
            failed += self._put(batch)
        if failed:
            raise PublishError(failed)
        return [e.event_id for e in envelopes]

    def _put(self, batch: list[tuple[str, dict[str, Any]]]) -> list[str]:
        from botocore.exceptions import BotoCoreError, ClientError  # noqa: PLC0415 - loaded with the client

        pending = batch
        for attempt in range(self.backoff.attempts):
            self.calls += 1
            try:
                out = self.client.put_events(Entries=[entry for _, entry in pending])  # type: ignore[misc]
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") not in _RETRYABLE:
                    break  # a missing bus or a denied call does not heal by retrying now
                self.backoff.pause(attempt)
                continue
            except BotoCoreError:  # the endpoint could not be reached: retry
                self.backoff.pause(attempt)
                continue
            if not out.get("FailedEntryCount"):
                return []
            results = out.get("Entries", [])
            pending = [p for p, r in zip(pending, results, strict=True) if r.get("ErrorCode")]
            if not pending:
                return []
            self.backoff.pause(attempt)
        return [event_id for event_id, _ in pending]


def _size(entry: dict[str, Any]) -> int:
    # EventBridge's entry size: Source + DetailType + Detail + 14 bytes for Time (resources are not used).
    return sum(len(str(entry[k]).encode()) for k in ("Source", "DetailType", "Detail")) + 14


def _batches(entries: list[tuple[str, dict[str, Any]]]) -> list[list[tuple[str, dict[str, Any]]]]:
    batches: list[list[tuple[str, dict[str, Any]]]] = []
    current: list[tuple[str, dict[str, Any]]] = []
    size = 0
    for event_id, entry in entries:
        entry_size = _size(entry)
        if entry_size > PUT_EVENTS_MAX_BYTES:
            raise ValueError(f"event {event_id} is {entry_size} bytes; EventBridge takes 256 KiB at most")
        if current and (len(current) == PUT_EVENTS_LIMIT or size + entry_size > PUT_EVENTS_MAX_BYTES):
            batches.append(current)
            current, size = [], 0
        current.append((event_id, entry))
        size += entry_size
    if current:
        batches.append(current)
    return batches

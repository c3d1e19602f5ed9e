"""Sending messages to an SQS queue in batches: at most 10 messages and 256 KiB a call, retrying
the entries SQS reports failed, and a clear 503 when they still fail (nothing is half-queued in
silence: the caller's job stays as it was and the client retries)."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from shared.errors import ServiceUnavailable
from shared.observability import make_logger

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

SQS_BATCH_ENTRIES = 10
SQS_BATCH_BYTES = 256 * 1024
SEND_ATTEMPTS = 3
_log = make_logger()


class SqsSender:
    """Sends message bodies (each under 256 KiB); the client is made on the first send."""

    def __init__(self, client: Callable[[], SQSClient], url: str, *, failure_code: str) -> None:
        self._make_client = client  # made on the first send: most requests never send
        self._client: SQSClient | None = None
        self.url = url
        self.failure_code = failure_code
        self.calls = 0

    @property
    def client(self) -> SQSClient:
        if self._client is None:
            self._client = self._make_client()
        return self._client

    def send(self, bodies: Sequence[str], *, delay_s: int = 0) -> None:
        """Queue every body, 10 a call; each is seen ``delay_s`` (at most 900) seconds later."""
        if not 0 <= delay_s <= 900:
            raise ValueError(f"SQS delays a message 0 to 900 seconds, not {delay_s}")
        batch: list[tuple[str, str]] = []
        size = 0
        for i, body in enumerate(bodies):
            length = len(body.encode())
            if length > SQS_BATCH_BYTES:
                raise ValueError(f"message {i} is {length} bytes; SQS takes 256 KiB at most")
            if batch and (len(batch) == SQS_BATCH_ENTRIES or size + length > SQS_BATCH_BYTES):
                self._send(batch, delay_s)
                batch, size = [], 0
            batch.append((str(i), body))
            size += length
        if batch:
            self._send(batch, delay_s)

    def _send(self, batch: list[tuple[str, str]], delay_s: int) -> None:
        from botocore.exceptions import BotoCoreError, ClientError  # noqa: PLC0415 - loaded with the client

        pending = batch
        delay: dict[str, Any] = {"DelaySeconds": delay_s} if delay_s else {}
        for _ in range(SEND_ATTEMPTS):
            self.calls += 1
            try:
                entries = [{"Id": i, "MessageBody": body, **delay} for i, body in pending]
                out = self.client.send_message_batch(QueueUrl=self.url, Entries=entries)  # type: ignore[arg-type]
            except (ClientError, BotoCoreError) as exc:
                _log.warning("sending messages failed", extra={"error_type": type(exc).__name__})
                continue
            failed = {str(f["Id"]) for f in out.get("Failed", [])}
            pending = [(i, body) for i, body in pending if i in failed]
            if not pending:
                return
        raise ServiceUnavailable("The work could not be queued; retry.", code=self.failure_code)


def message_body(payload: dict[str, Any]) -> str:
    """A compact JSON message body."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False)

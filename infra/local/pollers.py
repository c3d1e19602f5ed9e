"""SQS event source mappings, locally: each consumer's queue is polled and its
function invoked with real SQS events, as Lambda's poller does.

- Up to ``batch_size`` messages per invocation, gathered for at most the
  batching window; each received with the queue's visibility timeout.
- The function answers with ``batchItemFailures``: the other messages are
  deleted; failed ones stay and come back when their visibility ends (moto
  then moves a message past maxReceiveCount to the DLQ, as SQS does). An
  invocation that fails or times out fails the whole batch.
- ``retry_after_s`` (local only, default None = as AWS) shortens how long a
  failed message stays invisible, so that redelivery and dead-lettering can be
  watched in seconds instead of six function timeouts.
- ``long_poll_s`` (the runtime passes 20, as Lambda's pollers): an empty queue is waited on
  with SQS long polling (``WaitTimeSeconds``; moto wakes the wait when a message is sent, and
  ``infra.local.moto_server`` lets other requests in meanwhile), so an idle poller costs
  nothing and a message is picked up at once. 0 (the default, for tests that call
  ``poll_once``) returns at once.
"""

from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from infra.local.lambdas import FunctionPool, InvocationError
from shared.topology import Consumer

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import MessageTypeDef


@dataclass
class PollerStats:
    batches: int = 0
    delivered: int = 0
    succeeded: int = 0
    failed: int = 0
    invocation_errors: int = 0
    sizes: list[int] = field(default_factory=list)


def sqs_record(message: MessageTypeDef, *, queue_arn: str, region: str) -> dict[str, Any]:
    """A message as Lambda's SQS event source hands it to the function."""
    attributes = dict(message.get("Attributes", {}))
    body = message.get("Body", "")
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": body,
        "attributes": {
            "ApproximateReceiveCount": attributes.get("ApproximateReceiveCount", "1"),
            "SentTimestamp": attributes.get("SentTimestamp", str(int(time.time() * 1000))),
            "SenderId": attributes.get("SenderId", "000000000000"),
            "ApproximateFirstReceiveTimestamp": attributes.get(
                "ApproximateFirstReceiveTimestamp", str(int(time.time() * 1000))
            ),
        },
        "messageAttributes": {
            name: {
                "stringValue": value.get("StringValue"),
                "binaryValue": value.get("BinaryValue"),
                "stringListValues": [],
                "binaryListValues": [],
                "dataType": value.get("DataType", "String"),
            }
            for name, value in message.get("MessageAttributes", {}).items()
        },
        "md5OfBody": message.get("MD5OfBody")
        or hashlib.md5(body.encode(), usedforsecurity=False).hexdigest(),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }


class QueuePoller:
    def __init__(
        self,
        consumer: Consumer,
        pool: FunctionPool,
        sqs: SQSClient,
        *,
        queue_url: str,
        queue_arn: str,
        region: str,
        retry_after_s: int | None = None,
        idle_wait_s: float = 0.2,
        long_poll_s: int = 0,
    ) -> None:
        self.consumer = consumer
        self.pool = pool
        self.sqs = sqs
        self.queue_url = queue_url
        self.queue_arn = queue_arn
        self.region = region
        self.retry_after_s = retry_after_s
        self.idle_wait_s = idle_wait_s
        self.long_poll_s = long_poll_s
        self.busy = False  # a batch is in the function
        self.stats = PollerStats()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"poll-{consumer.queue.id}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def signal_stop(self) -> None:
        """Ask the poller to stop after its current batch (``stop`` waits for it)."""
        self._stop.set()

    def stop(self, wait_s: float | None = None) -> None:
        """Stop; a batch in the function is waited for (``wait_s``), a wait for messages is not:
        nothing was received, so nothing is left half done."""
        self._stop.set()
        wait = self.consumer.function.timeout_s + 5 if wait_s is None else wait_s
        deadline = time.monotonic() + wait
        while self._thread.is_alive() and time.monotonic() < deadline:
            self._thread.join(timeout=0.05)
            if not self.busy:
                break

    def _receive(self) -> list[MessageTypeDef]:
        """Gather up to a batch: wait (long poll) for the first messages, then at most the
        batching window for more."""
        wanted = self.consumer.batch_size
        gathered: list[MessageTypeDef] = []
        deadline: float | None = None
        while len(gathered) < wanted and not self._stop.is_set():
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                break
            wait = self.long_poll_s if left is None else int(min(left, 20))
            received = self.sqs.receive_message(
                QueueUrl=self.queue_url,
                MaxNumberOfMessages=min(10, wanted - len(gathered)),
                VisibilityTimeout=self.consumer.visibility_timeout_s,
                WaitTimeSeconds=wait,
                MessageSystemAttributeNames=["All"],
                MessageAttributeNames=["All"],
            ).get("Messages", [])
            gathered += received
            if not gathered:
                break
            if deadline is None:
                deadline = time.monotonic() + self.consumer.window_s
            elif not received and wait == 0:  # under a second of the window left: look again shortly
                self._stop.wait(min(0.05, max(0.0, deadline - time.monotonic())))
        return gathered

    def poll_once(self) -> int:
        """One batch: receive, invoke, delete what succeeded. Returns the batch size."""
        messages = self._receive()
        if not messages:
            return 0
        records = [sqs_record(m, queue_arn=self.queue_arn, region=self.region) for m in messages]
        self.stats.batches += 1
        self.stats.delivered += len(records)
        self.stats.sizes.append(len(records))
        failed: set[str]
        self.busy = True
        try:
            result = self.pool.invoke({"Records": records}).result
            reported = (result or {}).get("batchItemFailures", []) if isinstance(result, dict) else []
            failed = {str(f.get("itemIdentifier")) for f in reported}
        except InvocationError:
            self.stats.invocation_errors += 1
            failed = {r["messageId"] for r in records}
        finally:
            self.busy = False
        done = [m for m in messages if m["MessageId"] not in failed]
        for start in range(0, len(done), 10):
            entries = [
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                for i, m in enumerate(done[start : start + 10])
            ]
            self.sqs.delete_message_batch(QueueUrl=self.queue_url, Entries=entries)  # type: ignore[arg-type]
        if failed and self.retry_after_s is not None:
            for m in messages:
                if m["MessageId"] in failed:
                    self.sqs.change_message_visibility(
                        QueueUrl=self.queue_url,
                        ReceiptHandle=m["ReceiptHandle"],
                        VisibilityTimeout=self.retry_after_s,
                    )
        self.stats.succeeded += len(done)
        self.stats.failed += len(messages) - len(done)
        return len(messages)

    def _run(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                # An empty answer sooner than the long poll promised (no long polling, or moto
                # woken early): wait a little before asking again, never spin.
                if self.poll_once() == 0 and time.monotonic() - started < max(self.long_poll_s, 1) / 2:
                    self._stop.wait(self.idle_wait_s)
            except Exception:  # moto stopping, a transient error: keep polling until told to stop
                self._stop.wait(1.0)

"""What passes the bus, locally: an archive of every event and delivery to the
rules whose target is a function.

moto matches rules and delivers to SQS targets itself. The runtime adds one
more rule that matches every event and sends it to a tap queue; the tap reads
it, appends the event to the archive (``<state>/events.jsonl``, and in memory
for ``GET /_local/events``) and, for each rule that targets a function, matches
the pattern and invokes the function as EventBridge would (asynchronously, with
the rule's retries, then its DLQ). The tap queue is long-polled (``long_poll_s``), so an idle
bus costs nothing and an event is archived as soon as it arrives.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from moto.events.models import EventPattern

from infra.local.lambdas import FunctionPool, InvocationError
from shared.topology import Function, Rule

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

TAP_PATTERN = json.dumps({"source": [{"prefix": ""}]})
RETRY_BASE_S = 0.2


class BusTap:
    def __init__(
        self,
        sqs: SQSClient,
        *,
        tap_url: str,
        archive: Path,
        rules: tuple[Rule, ...],
        pools: dict[str, FunctionPool],
        dead_letter: Callable[[Rule, dict[str, Any], str], None],
        keep: int = 1000,
        long_poll_s: int = 20,
    ) -> None:
        self.sqs = sqs
        self.tap_url = tap_url
        self.archive = archive
        self.pools = pools
        self.dead_letter = dead_letter
        self.function_rules = [
            (rule, EventPattern.load(rule.pattern)) for rule in rules if isinstance(rule.target, Function)
        ]
        self.long_poll_s = long_poll_s
        self.recent: deque[dict[str, Any]] = deque(maxlen=keep)
        self.count = 0
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="bus-tap", daemon=True)

    def start(self) -> None:
        self.archive.parent.mkdir(parents=True, exist_ok=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop; a wait for events is not waited for (nothing received, nothing half done)."""
        self._stop.set()
        self._thread.join(timeout=0.2)

    def events(self, detail_type: str | None = None, source: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            found = list(self.recent)
        return [
            e
            for e in found
            if (detail_type is None or e.get("detail-type") == detail_type)
            and (source is None or e.get("source") == source)
        ]

    def drain_once(self) -> int:
        messages = self.sqs.receive_message(
            QueueUrl=self.tap_url, MaxNumberOfMessages=10, WaitTimeSeconds=self.long_poll_s
        ).get("Messages", [])
        for message in messages:
            event = json.loads(message["Body"])
            with self._lock:
                self.recent.append(event)
                self.count += 1
                with self.archive.open("a", encoding="utf-8") as archive:
                    archive.write(json.dumps(event, ensure_ascii=False) + "\n")
            for rule, pattern in self.function_rules:
                if pattern.matches_event(event):
                    threading.Thread(target=self._deliver, args=(rule, event), daemon=True).start()
        if messages:
            entries = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)]
            self.sqs.delete_message_batch(QueueUrl=self.tap_url, Entries=entries)  # type: ignore[arg-type]
        return len(messages)

    def _deliver(self, rule: Rule, event: dict[str, Any]) -> None:
        """EventBridge's asynchronous invocation of a function target: retries, then the rule's DLQ."""
        assert isinstance(rule.target, Function)
        pool = self.pools[rule.target.id]
        error = ""
        deadline = time.monotonic() + rule.max_event_age_s
        for attempt in range(rule.retry_attempts + 1):
            try:
                pool.invoke(event)
                return
            except InvocationError as exc:
                error = exc.kind
            if time.monotonic() >= deadline:
                break
            self._stop.wait(min(RETRY_BASE_S * 2**attempt, 5.0))
            if self._stop.is_set():
                break
        self.dead_letter(rule, event, error)

    def _run(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                if self.drain_once() == 0 and time.monotonic() - started < max(self.long_poll_s, 1) / 2:
                    self._stop.wait(0.1)  # answered early with nothing: never spin
            except Exception:
                self._stop.wait(0.5)

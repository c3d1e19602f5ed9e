"""Test-only Lambda handlers for the backbone's tests (run in the local runtime's workers).

They record effects so a test can count them: each processed message adds 1 to
``applied`` on the item of its event id, so a message applied twice shows 2.
Bodies steer them: ``{"poison": true}`` always fails, ``{"flaky": true}`` fails its
first delivery, ``{"slow": true}`` outlives the function's timeout on its first delivery.
"""

from __future__ import annotations

import functools
import json
import os
import time
from typing import Any

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from shared.consumers import SqsConsumer, event_key, message_key, once
from shared.dynamo import ConditionFailed, DynamoTable
from shared.idempotency import IdempotencyStore

TABLE_ENV = "EFFECTS_TABLE"


@functools.cache
def table() -> DynamoTable:
    return DynamoTable(os.environ[TABLE_ENV])


def store() -> IdempotencyStore:
    """Claims last as long as the function may run (3 s): a consumer killed by its timeout
    leaves a claim that expires when a redelivery could first take over."""
    return IdempotencyStore(table(), partition_key="pk", sort_key=None, ttl_attribute="expires_at", lock_s=3)


def _first_time(marker: str) -> bool:
    try:
        table().put({"pk": f"SEEN#{marker}"}, condition="attribute_not_exists(pk)")
    except ConditionFailed:
        return False
    return True


def _flags(body: dict[str, Any]) -> dict[str, Any]:
    """The steering flags, at the top of a message or in an EventBridge event's data."""
    detail = body.get("detail") if isinstance(body.get("detail"), dict) else {}
    data = detail.get("data") if isinstance(detail.get("data"), dict) else {}
    return {**data, **body}


def apply(key: str, body: dict[str, Any]) -> None:
    flags = _flags(body)
    if flags.get("poison"):
        raise ValueError("poison")
    if flags.get("flaky") and _first_time(f"flaky#{key}"):
        raise RuntimeError("flaky")
    if flags.get("slow") and _first_time(f"slow#{key}"):
        time.sleep(30)
    table().update({"pk": f"EFFECT#{key}"}, "ADD applied :one", values={":one": 1})


def _record(record: SQSRecord) -> None:
    apply(message_key(record), json.loads(record.body))


consume = SqsConsumer("sink", _record, dedupe=store)


def sink_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """An SQS consumer: deduplicated, partial batch failures."""
    return consume(event, context)


def naive_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The same without deduplication (shows what duplicates would do)."""
    return SqsConsumer("naive", _record)(event, context)


def event_handler(event: dict[str, Any], context: Any) -> None:
    """A function target of a rule or a schedule: applies once per event id."""
    key = event_key(event)
    once(store(), "event-sink", key, lambda: apply(key, event))

"""The consumer the backbone benchmark drives: a real SqsConsumer with per-message
deduplication on its table, applying a one-item write per event (as a real consumer would)."""

from __future__ import annotations

import functools
import json
import os
from typing import Any

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from shared.consumers import SqsConsumer, message_key
from shared.dynamo import DynamoTable
from shared.idempotency import IdempotencyStore


@functools.cache
def table() -> DynamoTable:
    return DynamoTable(os.environ["SINK_TABLE"])


def _store() -> IdempotencyStore:
    return IdempotencyStore(table(), partition_key="pk", sort_key=None, ttl_attribute="expires_at", lock_s=30)


def _apply(record: SQSRecord) -> None:
    body = json.loads(record.body)
    table().put({"pk": f"APPLIED#{message_key(record)}", "amount": body["detail"]["data"]["amount"]})


consume = SqsConsumer("bench-sink", _apply, dedupe=_store)


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return consume(event, context)

"""The importer: imports the chunks of CSV import jobs from the ``profile-imports`` queue.

One chunk per invocation (the consumer's batch size is 1: a chunk of up to 250 rows is a
few seconds of work). A chunk is idempotent as a whole and row by row (see
``services.profile.dal.imports``), so the consumer needs no message dedupe of its own: a
redelivered chunk that was counted is recognised by its job.

Failures, and the dead-letter queue:
- a message that is not a chunk (not JSON, not the chunk schema) is a ``BadEvent``; a chunk
  of a job that does not exist (expired, or never sent by us) raises too. Both are retried
  and, after the queue's ``maxReceiveCount`` (5) receives, SQS moves them to
  ``profile-imports-dlq``. No job can be told about them: there is none.
- a chunk that keeps failing (DynamoDB unavailable for minutes, a bug) is retried the same
  way; on its last receive the importer first counts it into its job as failed (its rows
  ``failed``; the job ends ``failed`` once every chunk is accounted for) and then lets it go
  to the DLQ. Redriving the DLQ later imports its rows and moves them from ``failed`` to
  ``imported`` (and the job to ``completed``). Uploading the same file again is the other
  cure: rows imported before are skipped.
- Only the message id, receive count and error type are logged, never the rows. Chunks do
  carry personal data (names, e-mails, phones) through SQS: the queue and its DLQ are
  encrypted (SSE) and drop messages after 4 and 14 days.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from services.profile.dal.imports import DynamoImportStore
from services.profile.handlers.env import ProfileSettings
from services.profile.logic import imports
from services.profile.models.imports import ImportChunk
from services.profile.topology import IMPORTER, IMPORTS_QUEUE
from shared import aws
from shared.clock import utc_now
from shared.consumers import BadEvent, SqsConsumer
from shared.dynamo import DynamoTable
from shared.ids import new_id
from shared.observability import make_logger, make_metrics
from shared.settings import load

logger = make_logger()
metrics = make_metrics()


@dataclass(frozen=True)
class Dependencies:
    settings: ProfileSettings
    store: DynamoImportStore


@functools.cache
def dependencies() -> Dependencies:
    settings = load(ProfileSettings)
    table = DynamoTable(settings.profiles_table, aws.client("dynamodb"))
    return Dependencies(settings=settings, store=DynamoImportStore(table, settings.publisher()))


def parse(record: SQSRecord) -> ImportChunk:
    try:
        return ImportChunk.model_validate(json.loads(record.body))
    except ValueError as exc:  # JSONDecodeError and pydantic's ValidationError are ValueErrors
        problems = (
            [{"loc": list(e["loc"]), "type": e["type"]} for e in exc.errors()]
            if isinstance(exc, ValidationError)
            else [{"loc": ["body"], "type": "json_invalid"}]
        )
        raise BadEvent(problems[:20]) from None


def handle(record: SQSRecord) -> None:
    chunk = parse(record)
    last_attempt = int(record.attributes.approximate_receive_count or 1) >= IMPORTS_QUEUE.max_receive_count
    counts = imports.import_chunk(
        dependencies().store, chunk, clock=utc_now, new_id=lambda: new_id("cus"), last_attempt=last_attempt
    )
    if counts is None:
        logger.info("chunk already imported", extra={"job_id": chunk.job_id, "chunk": chunk.chunk})
        return
    metrics.add_metric(name="CustomersImported", unit="Count", value=counts.imported)
    metrics.add_metric(name="ImportRowsSkipped", unit="Count", value=counts.skipped)
    logger.info(
        "chunk imported",
        extra={"job_id": chunk.job_id, "chunk": chunk.chunk, "kind": chunk.kind, **vars(counts)},
    )


consume = SqsConsumer(IMPORTER.id, handle)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return consume(event, context)

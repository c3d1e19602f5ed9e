"""The grants queue's consumer: each message is a chunk of a grant job (up to 100 customers).
Every customer is credited once per job (``grant:<job_id>`` in the ledger) and each chunk is
counted once, so a redelivered chunk changes nothing. A customer without an account (unknown or
erased) is counted as rejected. A chunk that is not one, or of an unknown job, fails to the DLQ."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from services.rewards.dal.accounts import DynamoAccounts
from services.rewards.dal.grants import DynamoGrantStore
from services.rewards.dal.ledger import PATIENT, DynamoLedgerStore
from services.rewards.handlers.env import RewardsSettings
from services.rewards.logic import grants
from shared import aws
from shared.clock import utc_now
from shared.consumers import BadEvent, SqsConsumer
from shared.dynamo import DynamoTable
from shared.observability import make_logger, make_metrics
from shared.settings import load

logger = make_logger()
metrics = make_metrics()


@dataclass(frozen=True)
class Dependencies:
    jobs: DynamoGrantStore
    ledger: DynamoLedgerStore
    accounts: DynamoAccounts


@functools.cache
def dependencies() -> Dependencies:
    settings = load(RewardsSettings)
    table = DynamoTable(settings.rewards_table, aws.client("dynamodb"))
    return Dependencies(
        DynamoGrantStore(table),
        DynamoLedgerStore(table, settings.publisher(), backoff=PATIENT),
        DynamoAccounts(table),
    )


def handle(record: SQSRecord) -> None:
    try:
        chunk = grants.Chunk.parse(record.body)
    except (ValueError, TypeError):
        raise BadEvent([{"loc": ["body"], "type": "not_a_grant_chunk"}]) from None
    deps = dependencies()
    done = grants.grant_chunk(deps.jobs, deps.ledger, deps.accounts, chunk, now=utc_now())
    if done is None and deps.jobs.job(chunk.job_id) is None:
        raise BadEvent([{"loc": ["job_id"], "type": "job_not_found"}])
    logger.info(
        "grant chunk",
        extra={"job_id": chunk.job_id, "chunk": chunk.chunk, "customers": len(chunk.customer_ids)},
    )


consume = SqsConsumer("rewards-grants", handle)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return consume(event, context)

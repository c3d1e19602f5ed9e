"""The expiry run (every 5 minutes; see ``logic/expiry.py``)."""

from __future__ import annotations

import functools
from dataclasses import asdict
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import Field

from services.rewards.dal.expiry import DynamoExpiryStore
from services.rewards.dal.ledger import PATIENT, DynamoLedgerStore
from services.rewards.handlers.env import RewardsSettings
from services.rewards.logic import expiry
from services.rewards.topology import EXPIRER, REWARDS
from shared import aws
from shared.clock import utc_now
from shared.dynamo import DynamoTable
from shared.jobs import exclusive
from shared.observability import make_logger, make_metrics
from shared.settings import load

logger = make_logger()
metrics = make_metrics()


class ExpirySettings(RewardsSettings):
    warning_days: int = Field(alias="EXPIRY_WARNING_DAYS", default=7, ge=1, le=90)


@functools.cache
def dependencies() -> tuple[ExpirySettings, DynamoExpiryStore, DynamoLedgerStore]:
    settings = load(ExpirySettings)
    table = DynamoTable(settings.rewards_table, aws.client("dynamodb"))
    events = settings.publisher()
    return settings, DynamoExpiryStore(table, events), DynamoLedgerStore(table, events, backoff=PATIENT)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@exclusive(REWARDS, EXPIRER.id)  # one run at a time (shared/jobs.py)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings, store, ledger_store = dependencies()
    summary = expiry.run(store, ledger_store, now=utc_now(), lead_days=settings.warning_days)
    counts = asdict(summary)
    for name, count in counts.items():
        metrics.add_metric(name=f"Expiry_{name}", unit="Count", value=count)
    logger.info("expiry run", extra=counts)
    return counts

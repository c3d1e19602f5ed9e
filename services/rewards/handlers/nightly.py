"""Nightly (04:00 Asia/Seoul): tiers re-decided and every account verified (see ``logic/audit.py``).
The report (counts and the ids of drifting accounts, no personal data) is kept and served at
``GET /admin/points/audit``; a drift is logged as an error so that it alarms."""

from __future__ import annotations

import functools
import time
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from services.rewards.dal.audit import DynamoAuditStore
from services.rewards.dal.ledger import PATIENT, DynamoLedgerStore
from services.rewards.dal.programs import DynamoProgramStore
from services.rewards.dal.tiering import DynamoTierStore
from services.rewards.handlers.env import RewardsSettings
from services.rewards.logic import audit
from services.rewards.topology import NIGHTLY, REWARDS
from shared import aws
from shared.clock import utc_now
from shared.dynamo import DynamoTable
from shared.jobs import exclusive
from shared.observability import make_logger, make_metrics
from shared.settings import load

logger = make_logger()
metrics = make_metrics()
SAFETY_S = 60.0


@functools.cache
def dependencies() -> tuple[DynamoAuditStore, DynamoLedgerStore, DynamoTierStore, DynamoProgramStore]:
    settings = load(RewardsSettings)
    table = DynamoTable(settings.rewards_table, aws.client("dynamodb"))
    events = settings.publisher()
    return (
        DynamoAuditStore(table),
        DynamoLedgerStore(table, events, backoff=PATIENT),
        DynamoTierStore(table, events),
        DynamoProgramStore(table),
    )


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@exclusive(REWARDS, NIGHTLY.id)  # one run at a time (shared/jobs.py)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    store, ledger_store, tier_store, programs = dependencies()
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    deadline = time.monotonic() + (remaining() / 1000 if callable(remaining) else 900.0) - SAFETY_S
    report = audit.nightly(
        store,
        ledger_store,
        tier_store,
        programs.tier_program(),
        clock=utc_now,
        should_stop=lambda: time.monotonic() >= deadline,
    )
    metrics.add_metric(name="LedgerDrift", unit="Count", value=report.drifting)
    metrics.add_metric(name="TiersChanged", unit="Count", value=report.tiers_changed)
    summary = report.model_dump(mode="json", exclude={"drifting_ids"})
    if report.drifting:
        logger.error("ledger drift found", extra={**summary, "drifting_ids": report.drifting_ids})
    else:
        logger.info("ledger verified", extra=summary)
    return summary

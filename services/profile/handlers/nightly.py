"""Nightly (03:30 Asia/Seoul): every customer's value and lifestyle groups, re-evaluated.

Recency and tenure move with the calendar and ages with birthdays, and a changed value
model or group definition reaches everyone here. The run pages through the customer-list
index, writes only what changed, and is safe to run again (see ``logic/value.py`` for the
estimate for 100,000 customers: about 150 s a night, 650 s after a model change). It stops
between pages when less than ``SAFETY_S`` of the invocation is left and records where: the
next run goes on from there.
Its summary (counts only) is logged and kept at ``CONFIG / NIGHTLY_RUN``.
"""

from __future__ import annotations

import functools
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from services.profile.dal.segments import DynamoSegmentStore
from services.profile.handlers.env import ProfileSettings
from services.profile.logic import value
from services.profile.topology import NIGHTLY, PROFILES
from shared import aws
from shared.clock import iso, utc_now
from shared.dynamo import DynamoTable
from shared.jobs import exclusive
from shared.observability import make_logger, make_metrics
from shared.settings import load

logger = make_logger()
metrics = make_metrics()
SAFETY_S = 60.0  # what a page and the summary need, with room to spare
PAGE_SIZE = 100
WORKERS = 8  # customers whose result changed are re-read and written 8 at a time (the client's pool is 10)


@functools.cache
def dependencies() -> DynamoSegmentStore:
    settings = load(ProfileSettings)
    return DynamoSegmentStore(
        DynamoTable(settings.profiles_table, aws.client("dynamodb")), settings.publisher()
    )


def _deadline(context: Any) -> float:
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    budget_s = remaining() / 1000 if callable(remaining) else 900.0
    return time.monotonic() + budget_s - SAFETY_S


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@exclusive(PROFILES, NIGHTLY.id)  # one run at a time (shared/jobs.py)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    store = dependencies()
    deadline = _deadline(context)
    with ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="nightly") as pool:
        summary = value.nightly(
            store,
            value.definitions(store),
            clock=utc_now,
            should_stop=lambda: time.monotonic() >= deadline,
            page_size=PAGE_SIZE,
            each=lambda work, ids: list(pool.map(work, ids)),
        )
    counts = {
        "customers": summary.customers,
        "skipped": summary.skipped,
        "values_written": summary.values_written,
        "segments_changed": summary.segments_changed,
        "groups_changed": summary.groups_changed,
        "failed": summary.failed,
    }
    for name, count in counts.items():
        metrics.add_metric(name=f"Nightly_{name}", unit="Count", value=count)
    logger.info("nightly run", extra={**counts, "complete": summary.complete})
    return {
        **counts,
        "complete": summary.complete,
        "started_at": iso(summary.started_at),
        "resumed": summary.resumed_from is not None,
    }

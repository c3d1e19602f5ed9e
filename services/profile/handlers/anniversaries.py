"""Every 15 minutes: announce the anniversaries due N days ahead of each customer's local
today, once their local morning has begun, once per anniversary per year (a run that
comes twice or late announces nothing twice)."""

from __future__ import annotations

import functools
from datetime import date
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import Field

from services.profile.dal.keys import PK, claims
from services.profile.dal.profiles import ANNIVERSARY_SHARDS, anniversary_partition
from services.profile.handlers.env import ProfileSettings
from services.profile.logic.anniversaries import due, month_days_to_read
from services.profile.models.events import AnniversaryUpcoming
from services.profile.topology import ANNIVERSARY_FINDER, PROFILES
from shared import aws
from shared.clock import utc_now
from shared.dynamo import DynamoTable
from shared.events import Envelope, EventPublisher, PublishError
from shared.idempotency import IdempotencyStore, StoredResponse
from shared.jobs import exclusive
from shared.observability import make_logger, make_metrics
from shared.settings import load

logger = make_logger()
metrics = make_metrics()
ANNOUNCED = StoredResponse(status=200, body="", content_type="text/plain")
SCOPE = "anniversary"


class FinderSettings(ProfileSettings):
    lead_days: int = Field(alias="ANNIVERSARY_LEAD_DAYS", default=1, ge=0, le=60)
    morning_hour: int = Field(alias="ANNIVERSARY_MORNING_HOUR", default=9, ge=0, le=23)


@functools.cache
def dependencies() -> tuple[FinderSettings, DynamoTable, IdempotencyStore, EventPublisher]:
    settings = load(FinderSettings)
    table = DynamoTable(settings.profiles_table, aws.client("dynamodb"))
    # A claim outlives the day it is due: the month-day cannot match again that year.
    return settings, table, claims(table, lock_s=60, ttl_s=3 * 86400), settings.publisher()


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@exclusive(PROFILES, ANNIVERSARY_FINDER.id)  # one run at a time (shared/jobs.py)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings, table, announced, publisher = dependencies()
    now = utc_now()
    claims: list[tuple[str, str, Envelope]] = []
    read = 0
    for month_day in month_days_to_read(now, settings.lead_days):
        for shard in range(ANNIVERSARY_SHARDS):
            start: dict[str, Any] | None = None
            while True:
                page = table.query(
                    "#pk = :pk",
                    names={"#pk": PK},
                    values={":pk": anniversary_partition(month_day, shard)},
                    start_key=start,
                )
                read += len(page.items)
                for item in page.items:
                    original = date.fromisoformat(str(item["date"]))
                    found = due(
                        original,
                        str(item["time_zone"]),
                        now_utc=now,
                        lead_days=settings.lead_days,
                        morning_hour=settings.morning_hour,
                    )
                    if found is None:
                        continue
                    key = f"{item['customer_id']}#{item['kind']}#{original}#{found.occurs_on.year}"
                    token, done = announced.begin(SCOPE, key, fingerprint="anniversary")
                    if done is not None:
                        continue
                    upcoming = AnniversaryUpcoming(
                        customer_id=str(item["customer_id"]),
                        kind=str(item["kind"]),
                        label=item.get("label"),
                        date=original,
                        occurs_on=found.occurs_on,
                        years=found.years,
                        lead_days=settings.lead_days,
                    )
                    claims.append((key, token, Envelope(upcoming, occurred_at=now)))
                start = page.last_key
                if start is None:
                    break
    failed: set[str] = set()
    if claims:
        try:
            publisher.publish([envelope for *_, envelope in claims])
        except PublishError as exc:
            failed = set(exc.failed_ids)
    for key, token, envelope in claims:
        if envelope.event_id in failed:
            announced.release(SCOPE, key, token)  # the next run tries again
        else:
            announced.complete(SCOPE, key, token, ANNOUNCED)
    metrics.add_metric(name="AnniversariesAnnounced", unit="Count", value=len(claims) - len(failed))
    return {"read": read, "announced": len(claims) - len(failed), "failed": len(failed)}

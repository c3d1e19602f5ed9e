"""The ``feedback-digest`` function: every Monday at 08:00 in Seoul, the digest of the week before
(its counters, the cases opened in it), kept for the API and mailed to the staff who subscribed.
Input ``{"week": "2026-W49"}`` makes (or makes again) that week's."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from services.feedback.dal.cases import from_item
from services.feedback.dal.insights import DynamoInsights
from services.feedback.dal.mentions import DynamoMentions
from services.feedback.handlers.env import FeedbackTableSettings
from services.feedback.logic import insights
from services.feedback.logic.cases import CaseRecord
from services.feedback.models.cases import STATUSES
from services.feedback.topology import CASE_QUEUE
from shared import aws
from shared.clock import utc_now
from shared.dynamo import DynamoTable
from shared.observability import make_logger, make_metrics
from shared.settings import MessagingSettings, load

logger = make_logger()
metrics = make_metrics()
TEAMS = ("frontline", "follow_up")


class DigestSettings(FeedbackTableSettings, MessagingSettings):
    """The table and the stage's e-mail sender."""


@dataclass(frozen=True)
class Dependencies:
    settings: DigestSettings
    table: DynamoTable
    insights: DynamoInsights


@functools.cache
def dependencies() -> Dependencies:
    settings = load(DigestSettings)
    table = DynamoTable(settings.feedback_table, aws.client("dynamodb"))
    return Dependencies(settings, table, DynamoInsights(table))


def opened_in(table: DynamoTable, week: str) -> list[CaseRecord]:
    """The cases opened in the week, of every team and status (the case-queue index)."""
    starts, ends = insights.week_bounds(week)
    found = []
    for team in TEAMS:
        for status in STATUSES:
            found += table.query_all(
                "#q = :q AND #at BETWEEN :a AND :b",
                names={"#q": CASE_QUEUE.partition_key.name, "#at": "queued_at"},
                values={":q": f"{team}#{status}", ":a": starts.isoformat(), ":b": ends.isoformat()},
                index=CASE_QUEUE.name,
            )
    return [from_item(i) for i in found]


def _mail(settings: DigestSettings, to: list[str], subject: str, text: str) -> int:
    sent = 0
    for address in to:
        request: dict[str, Any] = {
            "FromEmailAddress": settings.email_sender,
            "Destination": {"ToAddresses": [address]},
            "Content": {"Simple": {"Subject": {"Data": subject}, "Body": {"Text": {"Data": text}}}},
        }
        if settings.email_configuration_set:
            request["ConfigurationSetName"] = settings.email_configuration_set
        try:
            aws.client("sesv2").send_email(**request)
            sent += 1
        except Exception as exc:  # one address refused does not stop the others
            logger.warning("digest not mailed", extra={"error": type(exc).__name__})
    return sent


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    deps, now = dependencies(), utc_now()
    asked = event.get("week") if isinstance(event, dict) else None
    week = asked if isinstance(asked, str) and len(asked) == 8 else insights.previous_week(now)
    counts, sample_keys = deps.insights.week(week)
    mentions = DynamoMentions(deps.table)
    samples = [found.mention.text for key in sample_keys[: insights.SAMPLES] if (found := mentions.get(key))]
    digest = insights.digest(week, counts, opened_in(deps.table, week), samples, now=now)
    deps.insights.keep(digest)
    mailed = _mail(
        deps.settings, deps.insights.subscribers(), f"dangol weekly digest {week}", insights.mail_text(digest)
    )
    logger.info("digest made", extra={"week": week, "mentions": digest.mentions, "mailed": mailed})
    return {"week": week, "mentions": digest.mentions, "mailed": mailed}

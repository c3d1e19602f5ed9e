"""The ``feedback-poll`` function, every 10 minutes: each configured polled source (Naver's blog
and café search, the app stores' reviews) is read from where it was left (its cursor), and what is
new is taken like a webhook's mentions; then every mention the topic has not taken for a minute
(SNS failed at intake) is published again. A source that fails is logged by its code and skipped:
the others go on, and it is read from the same cursor next time.

Which sources are polled, with what query or app: ``FEEDBACK_POLL_SOURCES`` (JSON by source); their
credentials: the ``feedback-poll-credentials`` secret (JSON by provider). A source with no
credentials is not polled.
"""

from __future__ import annotations

import functools
import json
import urllib.parse
import urllib.request
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import Field, Json

from services.feedback.dal import keys
from services.feedback.dal.handles import InvokedHandles
from services.feedback.dal.mentions import DynamoMentions
from services.feedback.handlers.env import MentionsSettings
from services.feedback.logic import intake
from services.feedback.logic.sources import POLLED
from services.feedback.topology import POLL_CREDENTIALS
from shared import aws
from shared.clock import utc_now
from shared.dynamo import DynamoTable
from shared.observability import make_logger, make_metrics
from shared.secrets import SecretCache
from shared.settings import load

logger = make_logger()
metrics = make_metrics()
FETCH_TIMEOUT_S = 10
REPUBLISH_AFTER = timedelta(minutes=1)
PROVIDER = {
    "naver_blog": "naver",
    "naver_cafe": "naver",
    "app_store": "app_store",
    "google_play": "google_play",
}


class PollSettings(MentionsSettings):
    sources: Json[dict[str, dict[str, Any]]] = Field(default_factory=dict, alias="FEEDBACK_POLL_SOURCES")
    credentials_arn: str = Field(alias=POLL_CREDENTIALS.env_var, min_length=1)


@dataclass(frozen=True)
class Dependencies:
    settings: PollSettings
    table: DynamoTable
    mentions: DynamoMentions
    secrets: SecretCache


@functools.cache
def dependencies() -> Dependencies:
    settings = load(PollSettings)
    table = DynamoTable(settings.feedback_table, aws.client("dynamodb"))
    return Dependencies(
        settings,
        table,
        DynamoMentions(table, settings.mentions_topic_arn, lambda: aws.client("sns")),
        SecretCache(),
    )


def fetch(url: str, headers: dict[str, str], params: dict[str, Any]) -> bytes:
    full = f"{url}?{urllib.parse.urlencode(params)}" if params else url
    if not full.startswith("https://"):
        raise ValueError("only https sources are polled")
    request = urllib.request.Request(full, headers=headers)  # noqa: S310 - https only, checked above
    with urllib.request.urlopen(request, timeout=FETCH_TIMEOUT_S) as answer:  # noqa: S310
        return bytes(answer.read())


def poll_source(deps: Dependencies, source: str, config: dict[str, Any], credentials: dict[str, Any]) -> int:
    adapter = POLLED[source]  # type: ignore[index]
    now = utc_now()
    cursor_item = deps.table.get(keys.poll_key(source))
    cursor = str(cursor_item["cursor"]) if cursor_item and cursor_item.get("cursor") else None
    asked = adapter.request(cursor, {**config, **credentials})
    body = fetch(asked.url, dict(asked.headers), dict(asked.params))
    polled = adapter.parse(body, cursor, now)
    digest = f"poll:{source}:{now.isoformat()}"
    taken = intake.take(polled, delivery=digest, store=deps.mentions, handles=InvokedHandles(None), now=now)
    if polled.cursor:
        deps.table.put({**keys.poll_key(source), "cursor": polled.cursor, "at": now.isoformat()})
    return taken.accepted


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    deps = dependencies()
    polled: dict[str, Any] = {}
    if deps.settings.sources:
        credentials = json.loads(deps.secrets.get(deps.settings.credentials_arn) or "{}")
        for source, config in deps.settings.sources.items():
            provider = PROVIDER.get(source)
            if provider is None or source not in POLLED or not isinstance(credentials.get(provider), dict):
                polled[source] = "not_configured"
                continue
            try:
                polled[source] = poll_source(deps, source, config, credentials[provider])
            except Exception as exc:  # one source failing does not stop the others
                logger.warning("source not polled", extra={"source": source, "error": type(exc).__name__})
                polled[source] = "failed"
    republished = 0
    for found in deps.mentions.pending(utc_now() - REPUBLISH_AFTER):
        deps.mentions.publish(found)
        republished += 1
    logger.info("polled", extra={"sources": polled, "republished": republished})
    return {"sources": polled, "republished": republished}

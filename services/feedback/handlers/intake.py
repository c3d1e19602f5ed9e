"""The ``feedback-intake`` function: the sources' webhooks (public routes: the source's signature
is the authority, checked before anything is read or stored).

``GET /webhooks/{source}`` answers the source's subscription check (X's CRC, Meta's verify
token). ``POST /webhooks/{source}``: the delivery is verified (signature, replay window) and
claimed (a replay is refused), each mention normalised (``logic.sources``), classified
(``logic.classify``), linked to the customer who linked its handle (the profile service's
``profile-handles``), stored once per (source, external id) and published to the mentions topic.
Unsigned, forged, stale or replayed: 401 with its code, nothing stored. An item of the delivery
that cannot be read is answered and logged by its code, never its text; the others go on.
"""

from __future__ import annotations

import base64
import functools
import hashlib
from dataclasses import dataclass
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import Field

from services.feedback.dal.handles import InvokedHandles
from services.feedback.dal.mentions import DynamoMentions
from services.feedback.handlers.env import MentionsSettings
from services.feedback.logic import intake
from services.feedback.logic.sources import WEBHOOKS
from services.feedback.models.intake import Accepted
from services.feedback.topology import (
    INTAKE,
    META_SECRET,
    META_VERIFY_TOKEN,
    SERVICE,
    WEBHOOK_CHALLENGE,
    WEBHOOK_DELIVERY,
    X_SECRET,
)
from shared import aws
from shared.api import make_resolver
from shared.clock import utc_now
from shared.dynamo import DynamoTable
from shared.errors import NotFound
from shared.observability import make_logger, make_metrics
from shared.secrets import SecretCache
from shared.settings import load

logger = make_logger()
metrics = make_metrics()
SourceName = Annotated[str, Path(pattern=r"^[a-z]{1,16}$", description="The source: x or meta")]
SECRETS = {"x": X_SECRET, "meta": META_SECRET}
PROFILE_HANDLES_ENV = "PROFILE_HANDLES_FUNCTION"


class IntakeSettings(MentionsSettings):
    x_secret_arn: str = Field(alias=X_SECRET.env_var, min_length=1)
    meta_secret_arn: str = Field(alias=META_SECRET.env_var, min_length=1)
    meta_verify_token_arn: str = Field(alias=META_VERIFY_TOKEN.env_var, min_length=1)
    profile_handles: str | None = Field(default=None, alias=PROFILE_HANDLES_ENV)

    def secret_of(self, source: str) -> str:
        return {"x": self.x_secret_arn, "meta": self.meta_secret_arn}[source]


@dataclass(frozen=True)
class Dependencies:
    settings: IntakeSettings
    mentions: DynamoMentions
    handles: InvokedHandles
    secrets: SecretCache


@functools.cache
def dependencies() -> Dependencies:
    settings = load(IntakeSettings)
    table = DynamoTable(settings.feedback_table, aws.client("dynamodb"))
    return Dependencies(
        settings,
        DynamoMentions(table, settings.mentions_topic_arn, lambda: aws.client("sns")),
        InvokedHandles(settings.profile_handles),
        SecretCache(),
    )


app = make_resolver(SERVICE, INTAKE)


def _adapter(source: str) -> Any:
    adapter = WEBHOOKS.get(source)
    if adapter is None:
        raise NotFound("No such source.", code="unknown_source")
    return adapter


def _raw_body() -> bytes:
    event = app.current_event
    body = event.body or ""
    return base64.b64decode(body) if event.is_base64_encoded else body.encode()


@app.on(WEBHOOK_CHALLENGE, errors=(400, 401, 404, 503))
def challenge(source: SourceName) -> Response[Any]:
    adapter = _adapter(source)
    deps = dependencies()
    secret = deps.secrets.get(deps.settings.secret_of(source))
    token = deps.secrets.get(deps.settings.meta_verify_token_arn) if source == "meta" else None
    answer = adapter.challenge(dict(app.current_event.query_string_parameters or {}), secret, token)
    if isinstance(answer, str):
        return Response(200, "text/plain", answer)
    return Response(200, "application/json", answer)


@app.on(WEBHOOK_DELIVERY, errors=(400, 401, 404, 503))
def deliver(source: SourceName) -> Accepted:
    adapter = _adapter(source)
    deps, now, body = dependencies(), utc_now(), _raw_body()
    headers = {k.lower(): v for k, v in (app.current_event.headers or {}).items()}
    adapter.verify(headers, body, deps.secrets.get(deps.settings.secret_of(source)), now)
    parsed = adapter.parse(body, now)
    digest = hashlib.sha256(source.encode() + b"\0" + body).hexdigest()
    accepted = intake.take(
        parsed,
        delivery=digest,
        store=deps.mentions,
        handles=deps.handles,
        now=now,
    )
    for failure in accepted.failures:
        logger.warning(
            "mention unreadable", extra={"source": source, "code": failure.code, "index": failure.index}
        )
    metrics.add_metric(name="MentionsAccepted", unit="Count", value=accepted.accepted)
    logger.info(
        "delivery taken",
        extra={"source": source, "accepted": accepted.accepted, "duplicates": accepted.duplicates},
    )
    return accepted


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)

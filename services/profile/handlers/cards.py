"""The ``profile-contacts`` function: contact cards for the campaigns sender, invoked directly.

It has no route: only the functions its topology names (``invoked_by``) may invoke it, which IAM
enforces on AWS and the local runtime's Invoke endpoint locally. The event is the request
(``{"customer_ids": [...], "purpose": "send" | "preview"}``); the answer is ``{"cards": [...]}``.
A request it cannot take is answered ``{"error": {"code": "invalid_request", "message": ...,
"details": [{"loc": [...], "type": ...}]}}`` (``shared.invoke`` raises it to the caller), never
raised: the fields at fault are named, their values never, and the event is never logged. Only
ids' counts are logged. A ``send`` card's opt-out links are signed with the ``unsubscribe-key``
secret (read at first use) and point to the public API (``PUBLIC_API_URL``).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import Field, ValidationError

from services.profile.dal.cards import DynamoCardStore
from services.profile.logic import optout
from services.profile.logic.cards import contact_cards
from services.profile.models.cards import CardRequest
from services.profile.models.consent import Channel
from services.profile.topology import PROFILES, UNSUBSCRIBE_KEY
from shared import aws, secrets
from shared.clock import utc_now
from shared.dynamo import DynamoTable
from shared.observability import make_logger, make_metrics
from shared.settings import PUBLIC_API_URL_ENV, Settings, load

logger = make_logger()
metrics = make_metrics()


class CardSettings(Settings):
    """It reads the profiles table and publishes nothing; it signs opt-out links on the public API."""

    profiles_table: str = Field(alias=PROFILES.env_var, min_length=3)
    unsubscribe_key_secret: str = Field(alias=UNSUBSCRIBE_KEY.env_var, min_length=1)
    public_api_url: str = Field(alias=PUBLIC_API_URL_ENV, pattern=r"^https?://[^/?#]+(/[^?#]*)?$")


@dataclass(frozen=True)
class Links:
    """The opt-out link of a channel's marketing consent, signed now with the newest key."""

    settings: CardSettings

    def __call__(self, customer_id: str, channel: Channel) -> str:
        keys = optout.signing_keys(secrets.secret_string(self.settings.unsubscribe_key_secret))
        opt_out = optout.OptOut(customer_id, channel, "marketing", issued_at=utc_now())
        return optout.link(self.settings.public_api_url, optout.sign(opt_out, keys))


@functools.cache
def dependencies() -> tuple[DynamoCardStore, Links]:
    settings = load(CardSettings)
    return DynamoCardStore(DynamoTable(settings.profiles_table, aws.client("dynamodb"))), Links(settings)


def refused(exc: ValidationError) -> dict[str, Any]:
    details = [{"loc": [str(p) for p in e.get("loc", ())], "type": e.get("type", "")} for e in exc.errors()]
    return {
        "error": {
            "code": "invalid_request",
            "message": "The request is not {customer_ids: [1..100 ids], purpose: send | preview}.",
            "details": details[:20],
        }
    }


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: Any, context: LambdaContext) -> dict[str, Any]:
    try:
        request = CardRequest.model_validate(event)
    except ValidationError as exc:
        logger.warning("card request refused", extra={"problems": len(exc.errors())})
        metrics.add_metric(name="CardRequestRefused", unit="Count", value=1)
        return refused(exc)
    store, links = dependencies()
    answer = contact_cards(store, request, links)
    statuses = {s: sum(c.status == s for c in answer.cards) for s in ("active", "erased", "unknown")}
    logger.info(
        "cards answered", extra={"purpose": request.purpose, "asked": len(request.customer_ids), **statuses}
    )
    metrics.add_metric(name="CardsAnswered", unit="Count", value=len(answer.cards))
    return answer.model_dump(mode="json")

"""The ``profile-handles`` function: the customers behind social handles, invoked directly.

It has no route: only the functions its topology names (``invoked_by``: the feedback intake) may
invoke it, which IAM enforces on AWS and the local runtime's Invoke endpoint locally. The event is
the request (``{"handles": [{"network": "x" | "instagram", "handle": ...}, ...]}``, 1 to 100, each
with or without "@", in any case); the answer is ``{"matches": [{"network", "handle",
"customer_id"}]}``: the linked ones only, each once, the handle as stored (no "@", lower-case), from
one BatchGetItem of the claims. A request it cannot take is answered ``{"error": {"code":
"invalid_request", "message": ..., "details": [{"loc": [...], "type": ...}]}}`` (``shared.invoke``
raises it to the caller), never raised: the fields at fault are named, their values never, and the
event (handles are personal data) is never logged. Only counts are logged.
"""

from __future__ import annotations

import functools
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import Field, ValidationError

from services.profile.dal.handles import DynamoHandleStore
from services.profile.logic.handles import linked
from services.profile.models.handles import HandleLookup
from services.profile.topology import PROFILES
from shared import aws
from shared.dynamo import DynamoTable
from shared.observability import make_logger, make_metrics
from shared.settings import Settings, load

logger = make_logger()
metrics = make_metrics()


class HandleSettings(Settings):
    """It reads the profiles table and nothing else."""

    profiles_table: str = Field(alias=PROFILES.env_var, min_length=3)


@functools.cache
def dependencies() -> DynamoHandleStore:
    settings = load(HandleSettings)
    return DynamoHandleStore(DynamoTable(settings.profiles_table, aws.client("dynamodb")))


def refused(exc: ValidationError) -> dict[str, Any]:
    details = [{"loc": [str(p) for p in e.get("loc", ())], "type": e.get("type", "")} for e in exc.errors()]
    return {
        "error": {
            "code": "invalid_request",
            "message": "The request is not {handles: [1..100 {network: x | instagram, handle}]}.",
            "details": details[:20],
        }
    }


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: Any, context: LambdaContext) -> dict[str, Any]:
    try:
        request = HandleLookup.model_validate(event)
    except ValidationError as exc:
        logger.warning("handle lookup refused", extra={"problems": len(exc.errors())})
        metrics.add_metric(name="HandleLookupRefused", unit="Count", value=1)
        return refused(exc)
    answer = linked(dependencies(), request)
    logger.info("handles looked up", extra={"asked": len(request.handles), "linked": len(answer.matches)})
    metrics.add_metric(name="HandlesLinked", unit="Count", value=len(answer.matches))
    return answer.model_dump(mode="json")

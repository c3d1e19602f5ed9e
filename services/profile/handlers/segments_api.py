"""Marketing's value model and lifestyle groups, and a customer's value for staff: thin routes.

The value model and each group are versioned: the response's ``ETag`` is the version and a
change may send it back as ``If-Match`` (a stale one is 412). ``GET /admin/value-model``
answers version 0 with the built-in defaults until marketing stores a model. A change
applies to each customer at their next evaluation and to everyone at the next nightly run.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from services.profile.dal.keys import claims
from services.profile.dal.segments import DynamoSegmentStore
from services.profile.handlers.env import ProfileSettings
from services.profile.logic import groups, value
from services.profile.models.segments import (
    GROUP_ID_PATTERN,
    CustomerValue,
    GroupCreate,
    GroupUpdate,
    LifestyleGroup,
    ValueModel,
    ValueModelSpec,
)
from services.profile.topology import (
    CUSTOMER_VALUE,
    GROUP_CREATE,
    GROUP_DELETE,
    GROUP_GET,
    GROUP_UPDATE,
    GROUPS_LIST,
    SEGMENTS_API,
    SERVICE,
    VALUE_MODEL_GET,
    VALUE_MODEL_PUT,
)
from shared import aws
from shared.api import make_resolver, no_content, parse_if_match, respond
from shared.clock import utc_now
from shared.dynamo import DynamoTable
from shared.idempotency import IdempotencyStore
from shared.observability import make_logger, make_metrics
from shared.pagination import Page, cursor_after, page_size, resume_after
from shared.params import Cursor, CustomerId, Limit
from shared.settings import ListSettings, load

logger = make_logger()
metrics = make_metrics()
GroupId = Annotated[str, Path(pattern=GROUP_ID_PATTERN)]


class SegmentsApiSettings(ProfileSettings, ListSettings):
    """The profile functions' settings plus the key that signs the group list's cursors."""


@dataclass(frozen=True)
class Dependencies:
    settings: SegmentsApiSettings
    store: DynamoSegmentStore
    idempotency: IdempotencyStore


@functools.cache
def dependencies() -> Dependencies:
    """Built once per cold start, on first use (settings validated here)."""
    settings = load(SegmentsApiSettings)
    table = DynamoTable(settings.profiles_table, aws.client("dynamodb"))
    return Dependencies(
        settings=settings,
        store=DynamoSegmentStore(table, settings.publisher()),
        idempotency=claims(table, lock_s=SEGMENTS_API.timeout_s),
    )


app = make_resolver(SERVICE, SEGMENTS_API, idempotency_store=lambda: dependencies().idempotency)


def _if_match() -> int | None:
    return parse_if_match(app.current_event.headers.get("If-Match"))


@app.on(VALUE_MODEL_GET)
def get_value_model() -> Response[ValueModel]:
    model = value.current_model(dependencies().store)
    return respond(model, version=model.version)


@app.on(VALUE_MODEL_PUT, errors=(409, 412))
def put_value_model(body: ValueModelSpec) -> Response[ValueModel]:
    model = value.change_model(dependencies().store, body, expected_version=_if_match(), clock=utc_now)
    logger.info("value model changed", extra={"model_version": model.version})
    return respond(model, version=model.version)


@app.on(GROUPS_LIST, errors=(400,))
def list_groups(
    limit: Limit = None,
    cursor: Cursor = None,
) -> Page[LifestyleGroup]:
    key, scope, size = dependencies().settings.cursor_key, GROUPS_LIST.key, page_size(limit)
    after = resume_after(cursor, scope=scope, key=key)
    items, last = groups.page_of_groups(dependencies().store, after=after, limit=size)
    return Page[LifestyleGroup](items=items, next_cursor=cursor_after(last, scope=scope, key=key))


@app.on(GROUP_CREATE, status=201, description="Created", errors=(409,))
def create_group(body: GroupCreate) -> Response[LifestyleGroup]:
    created = groups.create_group(dependencies().store, body, clock=utc_now)
    logger.info("lifestyle group created", extra={"group_id": created.id})
    return respond(created, status=201, version=created.version)


@app.on(GROUP_GET, errors=(404,))
def get_group(group_id: GroupId) -> Response[LifestyleGroup]:
    found = groups.group(dependencies().store, group_id)
    return respond(found, version=found.version)


@app.on(GROUP_UPDATE, errors=(404, 409, 412))
def update_group(group_id: GroupId, body: GroupUpdate) -> Response[LifestyleGroup]:
    changed = groups.update_group(
        dependencies().store, group_id, body, expected_version=_if_match(), clock=utc_now
    )
    logger.info("lifestyle group changed", extra={"group_id": group_id, "version": changed.version})
    return respond(changed, version=changed.version)


@app.on(GROUP_DELETE, status=204, description="Retired", errors=(404, 409, 412))
def retire_group(group_id: GroupId) -> Response[None]:
    groups.retire_group(dependencies().store, group_id, expected_version=_if_match())
    logger.info("lifestyle group retired", extra={"group_id": group_id})
    return no_content()


@app.on(CUSTOMER_VALUE, errors=(404,))
def customer_value(customer_id: CustomerId) -> CustomerValue:
    return value.customer_value(dependencies().store, customer_id)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)

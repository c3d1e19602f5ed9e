"""Marketing's message templates: save (checked), change (a new version), read, list, preview.
Thin routes over ``logic.messages`` and ``logic.previews``; a template is versioned (``ETag``; a
change may send ``If-Match``). Its own function: only it imports python-liquid."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import Field

from services.campaigns.dal import keys
from services.campaigns.dal.cards import PROFILE_CONTACTS_ENV, InvokedCards
from services.campaigns.dal.templates import DynamoTemplates
from services.campaigns.dal.views import DynamoViews
from services.campaigns.logic import messages, previews
from services.campaigns.models.messages import (
    TEMPLATE_ID_PATTERN,
    Preview,
    PreviewRequest,
    Template,
    TemplateVersion,
)
from services.campaigns.models.templates import TemplateDefinition
from services.campaigns.topology import (
    CAMPAIGNS,
    SERVICE,
    TEMPLATE_CREATE,
    TEMPLATE_GET,
    TEMPLATE_LIST,
    TEMPLATE_PREVIEW,
    TEMPLATE_UPDATE,
    TEMPLATE_VERSION,
    TEMPLATES_API,
)
from shared import aws
from shared.api import make_resolver, parse_if_match, respond
from shared.clock import utc_now
from shared.dynamo import DynamoTable
from shared.idempotency import IdempotencyStore
from shared.observability import make_logger, make_metrics
from shared.pagination import Page, cursor_after, page_size, resume_after
from shared.params import Cursor, Limit
from shared.settings import ListSettings, load

logger = make_logger()
metrics = make_metrics()
TemplateId = Annotated[str, Path(pattern=TEMPLATE_ID_PATTERN, description="A template id (tpl_…)")]
Version = Annotated[int, Path(ge=1, le=10**9, description="A version number")]


class TemplatesSettings(ListSettings):
    """The campaigns table, the key that signs the list's cursors, and the contacts function's
    name (the topology gives it to the functions the profile service lets invoke it)."""

    campaigns_table: str = Field(alias=CAMPAIGNS.env_var, min_length=3)
    profile_contacts_function: str | None = Field(default=None, alias=PROFILE_CONTACTS_ENV, min_length=1)


@dataclass(frozen=True)
class Dependencies:
    settings: TemplatesSettings
    templates: DynamoTemplates
    views: DynamoViews
    cards: previews.CardSource
    idempotency: IdempotencyStore


@functools.cache
def dependencies() -> Dependencies:
    settings = load(TemplatesSettings)
    table = DynamoTable(settings.campaigns_table, aws.client("dynamodb"))
    return Dependencies(
        settings=settings,
        templates=DynamoTemplates(table),
        views=DynamoViews(table),
        cards=InvokedCards(settings.profile_contacts_function),
        idempotency=keys.claims(table, lock_s=TEMPLATES_API.timeout_s),
    )


app = make_resolver(SERVICE, TEMPLATES_API, idempotency_store=lambda: dependencies().idempotency)


@app.on(TEMPLATE_CREATE, status=201, description="Created")
def create_template(body: TemplateDefinition) -> Response[Template]:
    created = messages.create(dependencies().templates, body, clock=utc_now)
    logger.info("template created", extra={"template_id": created.id})
    return respond(created, status=201, version=created.version)


@app.on(TEMPLATE_LIST, errors=(400,))
def list_templates(limit: Limit = None, cursor: Cursor = None) -> Page[Template]:
    deps = dependencies()
    scope, key = TEMPLATE_LIST.key, deps.settings.cursor_key
    after = resume_after(cursor, scope=scope, key=key)
    found, last = messages.listed(deps.templates, after=after, limit=page_size(limit))
    return Page[Template](items=found, next_cursor=cursor_after(last, scope=scope, key=key))


@app.on(TEMPLATE_GET, errors=(404,))
def get_template(template_id: TemplateId) -> Response[Template]:
    template = messages.get(dependencies().templates, template_id)
    return respond(template, version=template.version)


@app.on(TEMPLATE_UPDATE, errors=(404, 412))
def update_template(template_id: TemplateId, body: TemplateDefinition) -> Response[Template]:
    expected = parse_if_match(app.current_event.headers.get("If-Match"))
    changed = messages.change(
        dependencies().templates, template_id, body, expected_version=expected, clock=utc_now
    )
    logger.info("template changed", extra={"template_id": template_id, "template_version": changed.version})
    return respond(changed, version=changed.version)


@app.on(TEMPLATE_VERSION, errors=(404,))
def get_template_version(template_id: TemplateId, version: Version) -> TemplateVersion:
    return messages.version_of(dependencies().templates, template_id, version)


@app.on(TEMPLATE_PREVIEW, errors=(404, 503))
def preview_template(template_id: TemplateId, body: PreviewRequest) -> Preview:
    deps = dependencies()
    return messages.preview(deps.templates, template_id, body, views=deps.views, cards=deps.cards)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)

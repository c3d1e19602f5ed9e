"""The CRM API: staff's contact log and dedicated managers, and marketing's CSV imports.
Thin routes that parse, call one logic function and return a model.

``POST /imports`` takes the CSV itself as its body (``Content-Type: text/csv``, at most 5 MB;
the resolver's guard has already checked the size, the media type and that it is UTF-8):
the route reads the raw body, base64-decoded when API Gateway encoded it.
"""

from __future__ import annotations

import base64
import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import Field

from services.profile.dal.contacts import DynamoContactStore
from services.profile.dal.imports import DynamoImportStore
from services.profile.dal.keys import claims
from services.profile.handlers.env import ProfileSettings
from services.profile.logic import contacts, imports
from services.profile.models.crm import (
    Contact,
    ContactCreate,
    ManagedCustomer,
    ManagerAssign,
    ManagerAssignment,
)
from services.profile.models.imports import JOB_ID_PATTERN, ImportJob, Rejection
from services.profile.topology import (
    CONTACT_LIST,
    CONTACT_RECORD,
    CRM_API,
    IMPORT_GET,
    IMPORT_REJECTIONS,
    IMPORT_START,
    IMPORTS_QUEUE,
    MANAGER_ASSIGN,
    MANAGER_UNASSIGN,
    MY_MANAGED,
    SERVICE,
)
from shared import aws
from shared.api import make_resolver, no_content, respond
from shared.clock import utc_now
from shared.dynamo import DynamoTable
from shared.idempotency import IdempotencyStore
from shared.ids import new_id
from shared.observability import make_logger, make_metrics
from shared.pagination import Page, decode_cursor, encode_cursor, page_size
from shared.params import Cursor, CustomerId, Limit
from shared.queues import SqsSender
from shared.settings import ListSettings, load

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

logger = make_logger()
metrics = make_metrics()

JobId = Annotated[str, Path(pattern=JOB_ID_PATTERN)]


class CrmSettings(ProfileSettings, ListSettings):
    """The profile functions' settings, the cursor signing key and the importer's queue."""

    imports_queue_url: str = Field(alias=IMPORTS_QUEUE.env_var, min_length=1)


@dataclass(frozen=True)
class Dependencies:
    settings: CrmSettings
    contacts: DynamoContactStore
    imports: DynamoImportStore
    queue: SqsSender
    idempotency: IdempotencyStore


@functools.cache
def dependencies() -> Dependencies:
    """Built once per cold start, on first use (settings validated here)."""
    settings = load(CrmSettings)
    table = DynamoTable(settings.profiles_table, aws.client("dynamodb"))
    return Dependencies(
        settings=settings,
        contacts=DynamoContactStore(table),
        imports=DynamoImportStore(table, settings.publisher()),
        queue=SqsSender(_sqs, settings.imports_queue_url, failure_code="import_not_queued"),
        idempotency=claims(table, lock_s=CRM_API.timeout_s),
    )


def _sqs() -> SQSClient:
    return aws.client("sqs")


app = make_resolver(SERVICE, CRM_API, idempotency_store=lambda: dependencies().idempotency)


def _cursors(scope: str, cursor: str | None) -> tuple[dict[str, Any] | None, Any]:
    """The start key a cursor stands for, and how to make the next page's cursor."""
    key = dependencies().settings.cursor_key
    return decode_cursor(cursor, scope=scope, key=key), functools.partial(encode_cursor, scope=scope, key=key)


# -- the contact log --------------------------------------------------------------------------


@app.on(CONTACT_RECORD, status=201, description="Recorded", errors=(404,))
def record_contact(customer_id: CustomerId, body: ContactCreate) -> Response[Contact]:
    contact = contacts.record(
        dependencies().contacts,
        customer_id,
        body,
        by=app.caller.subject,
        clock=utc_now,
        new_id=lambda: new_id("con"),
    )
    metrics.add_metric(name="ContactRecorded", unit="Count", value=1)
    logger.info("contact recorded", extra={"customer_id": customer_id, "contact_id": contact.contact_id})
    return respond(contact, status=201)


@app.on(CONTACT_LIST, errors=(400, 404))
def list_contacts(customer_id: CustomerId, limit: Limit = None, cursor: Cursor = None) -> Page[Contact]:
    start, next_cursor = _cursors(f"{CONTACT_LIST.key}#{customer_id}", cursor)
    items, last = contacts.contacts(dependencies().contacts, customer_id, limit=page_size(limit), start=start)
    return Page[Contact](items=items, next_cursor=next_cursor(last))


# -- dedicated managers -----------------------------------------------------------------------


@app.on(MANAGER_ASSIGN, errors=(404,))
def assign_manager(customer_id: CustomerId, body: ManagerAssign) -> ManagerAssignment:
    assignment = contacts.assign_manager(
        dependencies().contacts, customer_id, body.manager_id, by=app.caller.subject, clock=utc_now
    )
    logger.info("manager assigned", extra={"customer_id": customer_id})
    return assignment


@app.on(MANAGER_UNASSIGN, status=204, description="Removed (or there was none)", errors=(404,))
def unassign_manager(customer_id: CustomerId) -> Response[None]:
    contacts.unassign_manager(dependencies().contacts, customer_id)
    logger.info("manager removed", extra={"customer_id": customer_id})
    return no_content()


@app.on(MY_MANAGED, errors=(400,))
def my_customers(limit: Limit = None, cursor: Cursor = None) -> Page[ManagedCustomer]:
    me = app.caller.subject
    start, next_cursor = _cursors(f"{MY_MANAGED.key}#{me}", cursor)
    items, last = contacts.managed_by(dependencies().contacts, me, limit=page_size(limit), start=start)
    return Page[ManagedCustomer](items=items, next_cursor=next_cursor(last))


# -- CSV imports ------------------------------------------------------------------------------


def _csv_body() -> bytes | str:
    event = app.current_event
    body = event.body or ""
    return base64.b64decode(body) if event.is_base64_encoded else body


@app.on(IMPORT_START, status=202, description="Validated and queued", errors=(400, 422))
def start_import() -> Response[ImportJob]:
    deps = dependencies()
    job = imports.start_import(
        deps.imports,
        deps.queue,
        _csv_body(),
        by=app.caller.subject,
        clock=utc_now,
        new_id=lambda: new_id("imp"),
    )
    metrics.add_metric(name="ImportRowsQueued", unit="Count", value=job.valid)
    logger.info(
        "import queued",
        extra={"job_id": job.job_id, "total": job.total, "valid": job.valid, "rejected": job.rejected},
    )
    return respond(job, status=202)


@app.on(IMPORT_GET, errors=(404,))
def get_import(job_id: JobId) -> ImportJob:
    return imports.job(dependencies().imports, job_id)


@app.on(IMPORT_REJECTIONS, errors=(400, 404))
def import_rejections(job_id: JobId, limit: Limit = None, cursor: Cursor = None) -> Page[Rejection]:
    start, next_cursor = _cursors(f"{IMPORT_REJECTIONS.key}#{job_id}", cursor)
    items, last = imports.rejections(dependencies().imports, job_id, limit=page_size(limit), start=start)
    return Page[Rejection](items=items, next_cursor=next_cursor(last))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)

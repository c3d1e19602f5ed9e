"""The ``feedback-api`` function: cases for customers (``/me/cases``) and agents (``/cases``),
goodwill on a case, and the weekly digests (``/insights``).

Every change to a case is ``logic.cases`` (pure) written by ``dal.cases`` in one transaction
conditioned on the version it was read at, with its timeline, events and SLA timers. A move the
lifecycle does not allow is a 409 whose details name the current state. A customer sees their
own cases only (another's is a 404, as one that does not exist), and never an internal note.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from services.feedback.dal import keys
from services.feedback.dal.cases import DynamoCases, from_item
from services.feedback.dal.insights import DynamoInsights
from services.feedback.dal.mentions import DynamoMentions
from services.feedback.handlers.env import FeedbackSettings, TimerSettings
from services.feedback.logic import cases, views
from services.feedback.logic.cases import CaseRecord, Change
from services.feedback.models.cases import (
    STATUSES,
    AgentCaseRequest,
    AgentConfirmation,
    Assignment,
    Case,
    CaseRequest,
    CaseSummary,
    CustomerConfirmation,
    CustomerReply,
    Escalation,
    GoodwillRequest,
    Grant,
    MyCase,
    NoteRequest,
    Satisfaction,
    Transition,
)
from services.feedback.models.events import CASE_ID_PATTERN, GoodwillRequested
from services.feedback.models.insights import Digest, DigestSummary, Subscription, SubscriptionRequest
from services.feedback.topology import (
    API,
    CASE_ASSIGN,
    CASE_CONFIRM,
    CASE_ESCALATE,
    CASE_GET,
    CASE_GOODWILL,
    CASE_LIST,
    CASE_NOTE,
    CASE_OPEN,
    CASE_TRANSITION,
    DIGEST_GET,
    DIGEST_LIST,
    DIGEST_SUBSCRIBE,
    DIGEST_UNSUBSCRIBE,
    MY_CASE,
    MY_CASE_CONFIRM,
    MY_CASE_OPEN,
    MY_CASE_REPLY,
    MY_CASE_SCORE,
    MY_CASES,
    SERVICE,
)
from shared import aws
from shared.api import make_resolver, no_content, respond
from shared.clock import utc_now
from shared.dynamo import DynamoTable
from shared.errors import Conflict, NotFound
from shared.idempotency import IdempotencyStore
from shared.ids import new_id
from shared.observability import make_logger, make_metrics
from shared.pagination import Page, decode_cursor, encode_cursor, page_size
from shared.params import Cursor, Limit
from shared.settings import ListSettings, load

logger = make_logger()
metrics = make_metrics()
CHANGE_ATTEMPTS = 3  # reads of a case the system keeps changing under one request (``_change``)
CaseId = Annotated[str, Path(pattern=CASE_ID_PATTERN, description="A case id (case_…)")]
Week = Annotated[str, Path(pattern=r"^\d{4}-W\d{2}$", description="An ISO week (2026-W49)")]
TeamQuery = Annotated[str, Query(pattern=r"^(frontline|follow_up)$", description="The team (frontline)")]
StatusQuery = Annotated[str, Query(pattern=f"^({'|'.join(STATUSES)})$", description="The status (new)")]


class ApiSettings(FeedbackSettings, TimerSettings, ListSettings):
    """The bus, the table, the SLA timers and the key that signs the lists' cursors."""


@dataclass(frozen=True)
class Dependencies:
    settings: ApiSettings
    table: DynamoTable
    cases: DynamoCases
    insights: DynamoInsights
    idempotency: IdempotencyStore


@functools.cache
def dependencies() -> Dependencies:
    settings = load(ApiSettings)
    table = DynamoTable(settings.feedback_table, aws.client("dynamodb"))
    return Dependencies(
        settings,
        table,
        DynamoCases(table, settings.timers(), settings.publisher()),
        DynamoInsights(table),
        keys.claims(table, lock_s=API.timeout_s),
    )


app = make_resolver(SERVICE, API, idempotency_store=lambda: dependencies().idempotency)


def _me() -> str:
    item = dependencies().table.get(keys.login_key(app.caller.subject))
    if item is None:
        raise NotFound("No customer for this login yet.", code="customer_not_found")
    return str(item["customer_id"])


def _mine(case_id: str) -> CaseRecord:
    case = dependencies().cases.get(case_id)
    if case is None or case.customer_id != _me():
        raise NotFound("No such case.", code="case_not_found")
    return case


def _apply(case: CaseRecord | None, change: Change, now: datetime) -> CaseRecord:
    dependencies().cases.write(change, expected_version=case.version if case else None, now=now)
    logger.info("case changed", extra={"case_id": change.case.case_id, "status": change.case.status})
    return change.case


def _change(read: Callable[[], CaseRecord], make: Callable[[CaseRecord, datetime], Change]) -> CaseRecord:
    """Read the case, make the change, write it on the version read. A case the system changed
    meanwhile (a goodwill credit, an SLA timer, a reply) is read again and the change made again on
    what it is now, its rules checked again: the caller named no version, so a 409 ``case_changed``
    would refuse them for nothing they did. Three reads at most."""
    for attempt in range(CHANGE_ATTEMPTS):
        case, now = read(), utc_now()
        try:
            return _apply(case, make(case, now), now)
        except Conflict as exc:
            if exc.code != "case_changed" or attempt == CHANGE_ATTEMPTS - 1:
                raise
            logger.info("case changed meanwhile: read again", extra={"case_id": case.case_id})
    raise AssertionError("unreachable")


def _load(case_id: str) -> Callable[[], CaseRecord]:
    return lambda: dependencies().cases.load(case_id)


def _agent_view(case: CaseRecord) -> Response[Case]:
    deps = dependencies()
    view = views.agent_case(
        case, deps.cases.timeline(case.case_id), deps.cases.grants(case.case_id), _mention(case)
    )
    return respond(view, version=case.version)


def _mention(case: CaseRecord) -> dict[str, Any] | None:
    if not case.mention_key:
        return None
    found = DynamoMentions(dependencies().table).get(case.mention_key)
    return found.model_dump(mode="json") if found else None


def _my_view(case: CaseRecord) -> MyCase:
    return views.my_case(case, dependencies().cases.timeline(case.case_id))


# -- the customer's cases ----------------------------------------------------------------------------


@app.on(MY_CASE_OPEN, status=201, description="Opened", errors=(404,))
def open_my_case(body: CaseRequest) -> Response[MyCase]:
    now, customer = utc_now(), _me()
    change = cases.open_case(
        case_id=new_id("case"),
        origin="customer",
        customer_id=customer,
        subject=body.subject,
        description=body.description,
        category=body.category,
        store_id=body.store_id,
        priority="normal",
        by="customer",
        now=now,
    )
    metrics.add_metric(name="CaseOpenedByCustomer", unit="Count", value=1)
    return respond(_my_view(_apply(None, change, now)), status=201)


@app.on(MY_CASES, errors=(400,))
def my_cases(limit: Limit = None, cursor: Cursor = None) -> Page[MyCase]:
    deps = dependencies()
    customer = _me()
    scope, key = f"{MY_CASES.key}#{customer}", deps.settings.cursor_key
    items, last = deps.cases.mine(
        customer, limit=page_size(limit), start=decode_cursor(cursor, scope=scope, key=key)
    )
    found = [from_item(i) for i in items]
    return Page[MyCase](
        items=[_my_view(c) for c in found], next_cursor=encode_cursor(last, scope=scope, key=key)
    )


@app.on(MY_CASE, errors=(404,))
def my_case(case_id: CaseId) -> MyCase:
    return _my_view(_mine(case_id))


@app.on(MY_CASE_REPLY, status=201, description="Written", errors=(404, 409))
def reply_on_my_case(case_id: CaseId, body: CustomerReply) -> Response[MyCase]:
    case = _change(
        lambda: _mine(case_id), lambda c, now: cases.customer_reply(c, body.text, by="customer", now=now)
    )
    return respond(_my_view(case), status=201)


@app.on(MY_CASE_CONFIRM, errors=(404, 409))
def confirm_my_case(case_id: CaseId, body: CustomerConfirmation) -> MyCase:
    def confirm(case: CaseRecord, now: datetime) -> Change:
        return cases.confirm(
            case,
            solved=body.solved,
            via="app",
            confirmed_at=now,
            by="customer",
            now=now,
            comment=body.comment,
        )

    return _my_view(_change(lambda: _mine(case_id), confirm))


@app.on(MY_CASE_SCORE, errors=(404, 409))
def score_my_case(case_id: CaseId, body: Satisfaction) -> MyCase:
    scored = _change(
        lambda: _mine(case_id),
        lambda c, now: cases.score(c, body.score, body.comment, by="customer", now=now),
    )
    metrics.add_metric(name="CaseScored", unit="Count", value=1)
    return _my_view(scored)


# -- the agents' cases -------------------------------------------------------------------------------


@app.on(CASE_LIST, errors=(400,))
def list_cases(
    team: TeamQuery = "frontline", status: StatusQuery = "new", limit: Limit = None, cursor: Cursor = None
) -> Page[CaseSummary]:
    deps = dependencies()
    scope, key = f"{CASE_LIST.key}#{team}#{status}", deps.settings.cursor_key
    items, last = deps.cases.queue(
        team, status, limit=page_size(limit), start=decode_cursor(cursor, scope=scope, key=key)
    )
    return Page[CaseSummary](
        items=[views.summary(from_item(i)) for i in items],
        next_cursor=encode_cursor(last, scope=scope, key=key),
    )


@app.on(CASE_OPEN, status=201, description="Opened", errors=(409,))
def open_case(body: AgentCaseRequest) -> Response[Case]:
    now = utc_now()
    change = cases.open_case(
        case_id=new_id("case"),
        origin="agent",
        customer_id=body.customer_id,
        subject=body.subject,
        description=body.description,
        category=body.category,
        store_id=body.store_id,
        priority="normal",
        by=app.caller.subject,
        now=now,
    )
    case = _apply(None, change, now)
    response = _agent_view(case)
    response.status_code = 201
    return response


@app.on(CASE_GET, errors=(404,))
def get_case(case_id: CaseId) -> Response[Case]:
    return _agent_view(dependencies().cases.load(case_id))


@app.on(CASE_TRANSITION, errors=(404, 409, 422))
def move_case(case_id: CaseId, body: Transition) -> Response[Case]:
    def move(case: CaseRecord, now: datetime) -> Change:
        return cases.transition(
            case,
            body.to,
            by=app.caller.subject,
            now=now,
            resolution=body.resolution,
            one_stop=body.one_stop,
            note=body.note,
        )

    return _agent_view(_change(_load(case_id), move))


@app.on(CASE_ASSIGN, errors=(404, 409))
def assign_case(case_id: CaseId, body: Assignment) -> Response[Case]:
    return _agent_view(
        _change(_load(case_id), lambda c, now: cases.assign(c, body.agent_id, by=app.caller.subject, now=now))
    )


@app.on(CASE_ESCALATE, errors=(404, 409))
def escalate_case(case_id: CaseId, body: Escalation) -> Response[Case]:
    def escalate(case: CaseRecord, now: datetime) -> Change:
        return cases.escalate(case, by=app.caller.subject, now=now, reason=body.reason, via="agent")

    return _agent_view(_change(_load(case_id), escalate))


@app.on(CASE_NOTE, status=201, description="Written", errors=(404, 409))
def note_case(case_id: CaseId, body: NoteRequest) -> Response[Case]:
    def note(case: CaseRecord, now: datetime) -> Change:
        return cases.note(case, body.text, visibility=body.visibility, by=app.caller.subject, now=now)

    response = _agent_view(_change(_load(case_id), note))
    response.status_code = 201
    return response


@app.on(CASE_CONFIRM, errors=(404, 409))
def record_confirmation(case_id: CaseId, body: AgentConfirmation) -> Response[Case]:
    def confirm(case: CaseRecord, now: datetime) -> Change:
        return cases.confirm(
            case,
            solved=body.solved,
            via=body.channel,
            confirmed_at=body.confirmed_at,
            by=app.caller.subject,
            now=now,
            comment=body.note,
        )

    return _agent_view(_change(_load(case_id), confirm))


@app.on(CASE_GOODWILL, status=202, description="Requested of the rewards service", errors=(404, 409))
def grant_goodwill(case_id: CaseId, body: GoodwillRequest) -> Response[Grant]:
    deps, now, agent = dependencies(), utc_now(), app.caller.subject
    case = deps.cases.load(case_id)
    if case.customer_id is None:
        raise Conflict(
            "The case is linked to no customer: link it first.",
            code="case_without_customer",
            details=[{"current": case.status}],
        )
    grant = Grant(
        grant_id=new_id("gw"),
        points=body.points,
        reason=body.reason,
        agent_id=agent,
        status="requested",
        requested_at=now,
    )
    event = GoodwillRequested(
        grant_id=grant.grant_id,
        case_id=case_id,
        customer_id=case.customer_id,
        agent_id=agent,
        points=body.points,
        reason=body.reason,
        requested_at=now,
    )
    change = cases.goodwill(case, grant.grant_id, body.points, event, by=agent, now=now)
    item = {**keys.grant_key(case_id, grant.grant_id), **grant.model_dump(mode="json", exclude_none=True)}
    deps.cases.write(change, expected_version=case.version, now=now, extra=[{"Put": deps.table.put_op(item)}])
    metrics.add_metric(name="GoodwillRequested", unit="Count", value=1)
    logger.info(
        "goodwill requested", extra={"case_id": case_id, "grant_id": grant.grant_id, "points": body.points}
    )
    return respond(grant, status=202)


# -- insights ----------------------------------------------------------------------------------------


@app.on(DIGEST_LIST)
def list_digests() -> Page[DigestSummary]:
    return Page[DigestSummary](items=dependencies().insights.digests())


@app.on(DIGEST_GET, errors=(404,))
def get_digest(week: Week) -> Digest:
    digest = dependencies().insights.digest(week)
    if digest is None:
        raise NotFound("No digest for that week.", code="digest_not_found")
    return digest


@app.on(DIGEST_SUBSCRIBE)
def subscribe(body: SubscriptionRequest) -> Subscription:
    return dependencies().insights.subscribe(app.caller.subject, body.email, utc_now())


@app.on(DIGEST_UNSUBSCRIBE, status=204, description="Unsubscribed")
def unsubscribe() -> Response[None]:
    dependencies().insights.unsubscribe(app.caller.subject)
    return no_content()


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)

"""Marketing's segments and campaigns. Segments: define, change, read with the count, page through
members (``logic.audiences``). Campaigns: define a draft, change it, launch, pause, resume, cancel,
the report, the message log (``logic.campaigns``) and the result against the control group (JSON
or CSV, ``logic.results``). Both are versioned (``ETag``; a change may send ``If-Match``). Draw
schedules (``dal.draws``). And the customer's offers waiting at login (``logic.offers``)."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from services.campaigns.dal import keys
from services.campaigns.dal.campaigns import DynamoCampaigns, QueuedWork, TemplateReader, ViewFacts
from services.campaigns.dal.cards import InvokedCards
from services.campaigns.dal.draws import DynamoDraws
from services.campaigns.dal.jobs import QueuedSegmentJobs
from services.campaigns.dal.journeys import DynamoLogins, DynamoOffers
from services.campaigns.dal.segment_previews import DynamoSegmentPreviews
from services.campaigns.dal.segments import DynamoSegments
from services.campaigns.handlers.env import CampaignsApiSettings, SegmentJobsSettings
from services.campaigns.logic import audiences, delivery, dry_runs, offers, results, segment_previews
from services.campaigns.logic import campaigns as lifecycle
from services.campaigns.models.audiences import (
    PREVIEW_ID_PATTERN,
    SEGMENT_ID_PATTERN,
    Member,
    Segment,
    SegmentPreview,
    SegmentVersion,
)
from services.campaigns.models.campaigns import (
    CAMPAIGN_ID_PATTERN,
    Campaign,
    CampaignDefinition,
    Decision,
    MessageRecord,
    Report,
)
from services.campaigns.models.draws import GIFT_ID_PATTERN, DrawSchedule, DrawScheduleRequest
from services.campaigns.models.dry_runs import DryRun, DryRunRequest
from services.campaigns.models.offers import OFFER_ID_PATTERN, MyOffer, MyOffers
from services.campaigns.models.results import Results
from services.campaigns.models.segments import PreviewDefinition, SegmentDefinition
from services.campaigns.topology import (
    API,
    CAMPAIGN_CANCEL,
    CAMPAIGN_CREATE,
    CAMPAIGN_DRY_RUN,
    CAMPAIGN_GET,
    CAMPAIGN_LAUNCH,
    CAMPAIGN_LIST,
    CAMPAIGN_MESSAGES,
    CAMPAIGN_PAUSE,
    CAMPAIGN_REPORT,
    CAMPAIGN_RESULTS,
    CAMPAIGN_RESULTS_CSV,
    CAMPAIGN_RESUME,
    CAMPAIGN_UPDATE,
    DRAW_SCHEDULE_CREATE,
    DRAW_SCHEDULE_GET,
    MY_OFFER_OPEN,
    MY_OFFERS,
    SEGMENT_CREATE,
    SEGMENT_DELETE,
    SEGMENT_GET,
    SEGMENT_LIST,
    SEGMENT_MEMBERS,
    SEGMENT_PREVIEW_GET,
    SEGMENT_PREVIEW_START,
    SEGMENT_UPDATE,
    SEGMENT_VERSION,
    SERVICE,
)
from shared import aws
from shared.api import make_resolver, no_content, parse_if_match, respond
from shared.clock import utc_now
from shared.dynamo import DynamoTable
from shared.errors import NotFound
from shared.idempotency import IdempotencyStore
from shared.observability import make_logger, make_metrics
from shared.pagination import Page, decode_cursor, encode_cursor, page_size
from shared.params import Cursor, Limit
from shared.settings import ListSettings, load

logger = make_logger()
metrics = make_metrics()
SegmentId = Annotated[str, Path(pattern=SEGMENT_ID_PATTERN, description="A segment id (seg_…)")]
Version = Annotated[int, Path(ge=1, le=10**9, description="A version number")]
CampaignId = Annotated[str, Path(pattern=CAMPAIGN_ID_PATTERN, description="A campaign id (cmp_…)")]
PreviewId = Annotated[str, Path(pattern=PREVIEW_ID_PATTERN, description="A segment preview id (spv_…)")]
OfferId = Annotated[str, Path(pattern=OFFER_ID_PATTERN, description="An offer id (ofr_…)")]
GiftId = Annotated[str, Path(pattern=GIFT_ID_PATTERN, description="A gift id (gft_…)")]


class ApiSettings(SegmentJobsSettings, CampaignsApiSettings, ListSettings):
    """Also the key that signs the lists' cursors, the planner's queue (a launch now) and the bus."""


@dataclass(frozen=True)
class Dependencies:
    settings: ApiSettings
    segments: DynamoSegments
    jobs: QueuedSegmentJobs
    idempotency: IdempotencyStore
    campaigns: DynamoCampaigns
    templates: TemplateReader
    work: QueuedWork
    previews: DynamoSegmentPreviews
    offers: DynamoOffers
    logins: DynamoLogins
    draws: DynamoDraws
    dry_runs: dry_runs.Sources


@functools.cache
def dependencies() -> Dependencies:
    settings = load(ApiSettings)
    table = DynamoTable(settings.campaigns_table, aws.client("dynamodb"))
    segments, campaigns, templates = DynamoSegments(table), DynamoCampaigns(table), TemplateReader(table)
    return Dependencies(
        settings=settings,
        segments=segments,
        jobs=QueuedSegmentJobs.at(settings.segment_jobs_queue_url),
        idempotency=keys.claims(table, lock_s=API.timeout_s),
        campaigns=campaigns,
        templates=templates,
        work=settings.starter(),
        previews=DynamoSegmentPreviews(table),
        offers=DynamoOffers(table),
        logins=DynamoLogins(table),
        draws=DynamoDraws(table, settings.publisher()),
        dry_runs=dry_runs.Sources(
            campaigns=campaigns,
            members=segments,
            cards=InvokedCards(settings.contacts_function),
            templates=templates,
            facts=ViewFacts(table),
            caps=campaigns,
        ),
    )


app = make_resolver(SERVICE, API, idempotency_store=lambda: dependencies().idempotency)


@app.on(SEGMENT_CREATE, status=201, description="Created", errors=(409,))
def create_segment(body: SegmentDefinition) -> Response[Segment]:
    deps = dependencies()
    created = audiences.create(deps.segments, deps.jobs, body, clock=utc_now)
    logger.info("segment created", extra={"segment_id": created.id})
    return respond(created, status=201, version=created.version)


@app.on(SEGMENT_LIST)
def list_segments() -> Page[Segment]:
    return Page[Segment](items=audiences.listed(dependencies().segments))


@app.on(SEGMENT_GET, errors=(404,))
def get_segment(segment_id: SegmentId) -> Response[Segment]:
    segment = audiences.get(dependencies().segments, segment_id)
    return respond(segment, version=segment.version)


@app.on(SEGMENT_UPDATE, errors=(404, 409, 412))
def update_segment(segment_id: SegmentId, body: SegmentDefinition) -> Response[Segment]:
    deps = dependencies()
    expected = parse_if_match(app.current_event.headers.get("If-Match"))
    changed = audiences.change(
        deps.segments, deps.jobs, segment_id, body, expected_version=expected, clock=utc_now
    )
    logger.info("segment changed", extra={"segment_id": segment_id, "segment_version": changed.version})
    return respond(changed, version=changed.version)


@app.on(SEGMENT_VERSION, errors=(404,))
def get_segment_version(segment_id: SegmentId, version: Version) -> SegmentVersion:
    return audiences.version_of(dependencies().segments, segment_id, version)


@app.on(SEGMENT_MEMBERS, errors=(400, 404))
def list_members(segment_id: SegmentId, limit: Limit = None, cursor: Cursor = None) -> Page[Member]:
    deps = dependencies()
    scope, key = f"{SEGMENT_MEMBERS.key}:{segment_id}", deps.settings.cursor_key
    start = decode_cursor(cursor, scope=scope, key=key) or {"shard": 0, "after": None}
    ids, resume = audiences.members(
        deps.segments,
        segment_id,
        shard=int(start.get("shard", 0)),
        after=start.get("after"),
        limit=page_size(limit),
        shards=keys.MEMBER_SHARDS,
    )
    following = encode_cursor(
        {"shard": resume[0], "after": resume[1]} if resume else None, scope=scope, key=key
    )
    return Page[Member](items=[Member(customer_id=c) for c in ids], next_cursor=following)


@app.on(SEGMENT_DELETE, status=204, description="Deleted", errors=(404, 409, 412))
def delete_segment(segment_id: SegmentId) -> Response[None]:
    deps = dependencies()
    expected = parse_if_match(app.current_event.headers.get("If-Match"))
    audiences.delete(deps.segments, deps.campaigns, deps.jobs, segment_id, expected_version=expected)
    logger.info("segment deleted", extra={"segment_id": segment_id})
    return no_content()


@app.on(SEGMENT_PREVIEW_START, status=202, description="Started")
def start_segment_preview(body: PreviewDefinition) -> Response[SegmentPreview]:
    deps = dependencies()
    started = segment_previews.start(deps.previews, deps.jobs, body, clock=utc_now)
    logger.info("segment preview started", extra={"preview_id": started.id})
    return respond(started, status=202)


@app.on(SEGMENT_PREVIEW_GET, errors=(404,))
def get_segment_preview(preview_id: PreviewId) -> SegmentPreview:
    return segment_previews.get(dependencies().previews, preview_id, now=utc_now())


# -- campaigns ---------------------------------------------------------------------------------


@app.on(CAMPAIGN_CREATE, status=201, description="Created", errors=(422,))
def create_campaign(body: CampaignDefinition) -> Response[Campaign]:
    deps = dependencies()
    created = lifecycle.create(deps.campaigns, deps.segments, deps.templates, body, clock=utc_now)
    logger.info("campaign created", extra={"campaign_id": created.id})
    return respond(created, status=201, version=created.version)


@app.on(CAMPAIGN_LIST)
def list_campaigns() -> Page[Campaign]:
    return Page[Campaign](items=lifecycle.listed(dependencies().campaigns))


@app.on(CAMPAIGN_GET, errors=(404,))
def get_campaign(campaign_id: CampaignId) -> Response[Campaign]:
    campaign = lifecycle.get(dependencies().campaigns, campaign_id)
    return respond(campaign, version=campaign.version)


@app.on(CAMPAIGN_UPDATE, errors=(404, 409, 412, 422))
def update_campaign(campaign_id: CampaignId, body: CampaignDefinition) -> Response[Campaign]:
    deps = dependencies()
    expected = parse_if_match(app.current_event.headers.get("If-Match"))
    changed = lifecycle.change(
        deps.campaigns,
        deps.segments,
        deps.templates,
        campaign_id,
        body,
        expected_version=expected,
        clock=utc_now,
    )
    return respond(changed, version=changed.version)


@app.on(CAMPAIGN_LAUNCH, errors=(404, 409, 422))
def launch_campaign(campaign_id: CampaignId) -> Response[Campaign]:
    deps = dependencies()
    runs = delivery.RunStarter(deps.campaigns, deps.segments, deps.work)
    launched = lifecycle.launch(
        deps.campaigns, deps.segments, deps.templates, runs, campaign_id, clock=utc_now
    )
    logger.info("campaign launched", extra={"campaign_id": campaign_id, "status": launched.status})
    return respond(launched, version=launched.version)


@app.on(CAMPAIGN_DRY_RUN, errors=(404, 409, 503))
def dry_run_campaign(campaign_id: CampaignId, body: DryRunRequest) -> DryRun:
    deps = dependencies()
    settings = deps.settings
    caps = delivery.Caps(daily=settings.daily_cap, weekly=settings.weekly_cap)
    found = dry_runs.dry_run(deps.dry_runs, campaign_id, sample=body.sample, caps=caps, now=utc_now())
    logger.info("campaign dry run", extra={"campaign_id": campaign_id, "decisions": found.summary})
    return found


def _transition(campaign_id: str, action: str) -> Response[Campaign]:
    changed = lifecycle.transition(dependencies().campaigns, campaign_id, action, clock=utc_now)
    logger.info("campaign " + action, extra={"campaign_id": campaign_id, "status": changed.status})
    return respond(changed, version=changed.version)


@app.on(CAMPAIGN_PAUSE, errors=(404, 409))
def pause_campaign(campaign_id: CampaignId) -> Response[Campaign]:
    return _transition(campaign_id, "pause")


@app.on(CAMPAIGN_RESUME, errors=(404, 409))
def resume_campaign(campaign_id: CampaignId) -> Response[Campaign]:
    return _transition(campaign_id, "resume")


@app.on(CAMPAIGN_CANCEL, errors=(404, 409))
def cancel_campaign(campaign_id: CampaignId) -> Response[Campaign]:
    return _transition(campaign_id, "cancel")


@app.on(CAMPAIGN_REPORT, errors=(404,))
def campaign_report(campaign_id: CampaignId) -> Report:
    return lifecycle.report(dependencies().campaigns, campaign_id)


@app.on(CAMPAIGN_RESULTS, errors=(404,))
def campaign_results(campaign_id: CampaignId) -> Results:
    deps = dependencies()
    return results.of_campaign(lifecycle.get(deps.campaigns, campaign_id), deps.campaigns.counts(campaign_id))


@app.on(CAMPAIGN_RESULTS_CSV, errors=(404,), content_type="text/csv")
def campaign_results_csv(campaign_id: CampaignId) -> Response[str]:
    deps = dependencies()
    campaign = lifecycle.get(deps.campaigns, campaign_id)
    found = results.of_campaign(campaign, deps.campaigns.counts(campaign_id))
    body = results.to_csv(campaign.id, campaign.name, [found.overall, *found.periods])
    disposition = f'attachment; filename="{campaign.id}-results.csv"'
    return Response(200, "text/csv; charset=utf-8", body, {"Content-Disposition": disposition})


# -- draws ------------------------------------------------------------------------------------------


@app.on(DRAW_SCHEDULE_CREATE, status=201, description="Scheduled", errors=(409, 422))
def create_draw_schedule(body: DrawScheduleRequest) -> Response[DrawSchedule]:
    from services.campaigns.logic import draws  # noqa: PLC0415 - only this route's

    created = draws.schedule(dependencies().draws, body, now=utc_now())
    logger.info("draws scheduled", extra={"gift_id": body.gift_id, "draws": len(body.draws)})
    return respond(created, status=201)


@app.on(DRAW_SCHEDULE_GET, errors=(404,))
def get_draw_schedule(gift_id: GiftId) -> DrawSchedule:
    from services.campaigns.logic import draws  # noqa: PLC0415 - only this route's

    item = dependencies().draws.get(gift_id)
    if item is None:
        raise NotFound("No draw schedule for this gift.", code="draw_schedule_not_found")
    return draws.shown(item)


# -- offers waiting at login ------------------------------------------------------------------------


def _me() -> str:
    customer_id = dependencies().logins.customer_of(app.caller.subject)
    if customer_id is None:
        raise NotFound("No customer for this login yet.", code="customer_not_found")
    return customer_id


@app.on(MY_OFFERS)
def my_offers() -> MyOffers:
    """A login the service does not know yet (its registration still on the way) has nothing waiting."""
    deps = dependencies()
    customer_id = deps.logins.customer_of(app.caller.subject)
    mine = deps.offers.mine(customer_id) if customer_id is not None else []
    return MyOffers(items=offers.waiting(mine, utc_now()))


@app.on(MY_OFFER_OPEN, errors=(404,))
def open_offer(offer_id: OfferId) -> MyOffer:
    deps = dependencies()
    now = utc_now()
    item = deps.offers.mark(_me(), offer_id, "opened_at", now.isoformat())
    if item is None:
        raise NotFound("No such offer.", code="offer_not_found")
    metrics.add_metric(name="OfferOpened", unit="Count", value=1)
    return offers.shown(item, now)


DecisionFilter = Annotated[Decision | None, Query(description="Only the lines with this decision")]
CustomerFilter = Annotated[
    str | None, Query(pattern=r"^cus_[0-9A-HJKMNP-TV-Z]{26}$", description="Only this customer's lines")
]


@app.on(CAMPAIGN_MESSAGES, errors=(400, 404))
def campaign_messages(
    campaign_id: CampaignId,
    decision: DecisionFilter = None,
    customer_id: CustomerFilter = None,
    limit: Limit = None,
    cursor: Cursor = None,
) -> Page[MessageRecord]:
    deps = dependencies()
    lifecycle.get(deps.campaigns, campaign_id)
    scope = f"{CAMPAIGN_MESSAGES.key}:{campaign_id}:{decision}:{customer_id}"
    key = deps.settings.cursor_key
    first = keys.shard_of(customer_id, keys.LOG_SHARDS) if customer_id else 0
    start = decode_cursor(cursor, scope=scope, key=key) or {"shard": first, "after": None}
    shard, after, wanted = int(start.get("shard", first)), start.get("after"), page_size(limit)
    lines: list[MessageRecord] = []
    while shard < keys.LOG_SHARDS and len(lines) < wanted:
        items, last = deps.campaigns.log_page(
            campaign_id,
            shard=shard,
            after=after,
            limit=wanted - len(lines),
            decision=decision,
            customer_id=customer_id,
        )
        lines += [_line(i) for i in items if i.get("decision")]
        if last is None:
            shard, after = (keys.LOG_SHARDS if customer_id else shard + 1), None
        else:
            after = last
    following = {"shard": shard, "after": after} if shard < keys.LOG_SHARDS else None
    return Page[MessageRecord](items=lines, next_cursor=encode_cursor(following, scope=scope, key=key))


def _line(item: dict[str, Any]) -> MessageRecord:
    return MessageRecord.model_validate(
        {
            k: item.get(k)
            for k in (
                "customer_id",
                "run",
                "decision",
                "reason",
                "message_id",
                "deferred_until",
                "decided_at",
            )
        }
    )


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)

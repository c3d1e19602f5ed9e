"""Marketing's segments: define, change, read with the count, page through members. Thin routes
over ``logic.audiences``; a segment is versioned (``ETag``; a change may send ``If-Match``)."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from services.campaigns.dal import keys
from services.campaigns.dal.jobs import QueuedSegmentJobs
from services.campaigns.dal.segments import DynamoSegments
from services.campaigns.handlers.env import SegmentJobsSettings
from services.campaigns.logic import audiences
from services.campaigns.models.audiences import SEGMENT_ID_PATTERN, Member, Segment, SegmentVersion
from services.campaigns.models.segments import SegmentDefinition
from services.campaigns.topology import (
    API,
    SEGMENT_CREATE,
    SEGMENT_GET,
    SEGMENT_LIST,
    SEGMENT_MEMBERS,
    SEGMENT_UPDATE,
    SEGMENT_VERSION,
    SERVICE,
)
from shared import aws
from shared.api import make_resolver, parse_if_match, respond
from shared.clock import utc_now
from shared.dynamo import DynamoTable
from shared.idempotency import IdempotencyStore
from shared.observability import make_logger, make_metrics
from shared.pagination import Page, decode_cursor, encode_cursor, page_size
from shared.params import Cursor, Limit
from shared.settings import ListSettings, load

logger = make_logger()
metrics = make_metrics()
SegmentId = Annotated[str, Path(pattern=SEGMENT_ID_PATTERN, description="A segment id (seg_…)")]
Version = Annotated[int, Path(ge=1, le=10**9, description="A version number")]


class ApiSettings(SegmentJobsSettings, ListSettings):
    """Also the key that signs the member list's cursors."""


@dataclass(frozen=True)
class Dependencies:
    settings: ApiSettings
    segments: DynamoSegments
    jobs: QueuedSegmentJobs
    idempotency: IdempotencyStore


@functools.cache
def dependencies() -> Dependencies:
    settings = load(ApiSettings)
    table = DynamoTable(settings.campaigns_table, aws.client("dynamodb"))
    return Dependencies(
        settings=settings,
        segments=DynamoSegments(table),
        jobs=QueuedSegmentJobs.at(settings.segment_jobs_queue_url),
        idempotency=keys.claims(table, lock_s=API.timeout_s),
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


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)

"""What the campaigns service owns and exposes: its table, its functions, its routes.

Plain data (see ``shared.topology``). The campaigns service keeps its own view of each customer,
fed only by the profile and rewards services' events on the bus; it never imports either, and it
stores no name, e-mail or phone.
"""

from __future__ import annotations

import json

from shared.auth import Role
from shared.platform import BUS
from shared.topology import (
    CONFIG_BODY_BYTES,
    Attr,
    Consumer,
    Function,
    Index,
    Queue,
    Route,
    Rule,
    Schedule,
    Service,
    Table,
    TableAccess,
)

# Sparse: only view items carry ``listed`` ("VIEW"): a segment's evaluation job pages through it.
VIEW_LIST = Index("view-list", Attr("listed"), Attr("customer_id"), projection="KEYS_ONLY")

CAMPAIGNS = Table(
    id="campaigns",
    partition_key=Attr("pk"),
    sort_key=Attr("sk"),
    indexes=(VIEW_LIST,),
    ttl_attribute="expires_ttl",
)

MARKETING = frozenset({Role.MARKETING, Role.ADMIN})

# -- segments: who to reach -------------------------------------------------------------------

SEGMENT_JOBS = Queue("campaigns-segment-jobs", max_receive_count=5)
API = Function(
    id="campaigns-api",
    service="campaigns",
    handler="services.campaigns.handlers.api.lambda_handler",
    description="Marketing's segments: rules, versions, standing membership and counts.",
    memory_mb=512,
    timeout_s=10,
    tables=(TableAccess(CAMPAIGNS),),
    publishes_to=BUS,
    sends_to=(SEGMENT_JOBS,),
)
SEGMENT_CREATE = Route(
    "POST",
    "/admin/segments",
    API,
    MARKETING,
    "Define a segment: a rule over the customer view (its members are counted as events arrive)",
    idempotent=True,
    key_required=True,
    max_body_bytes=CONFIG_BODY_BYTES,
)
SEGMENT_LIST = Route("GET", "/admin/segments", API, MARKETING, "The segments, newest first")
SEGMENT_GET = Route(
    "GET",
    "/admin/segments/{segment_id}",
    API,
    MARKETING,
    "A segment: its rule in force and its count",
    versioned=True,
)
SEGMENT_UPDATE = Route(
    "PUT",
    "/admin/segments/{segment_id}",
    API,
    MARKETING,
    "Change a segment's rule (a new version; members are re-evaluated)",
    idempotent=True,
    max_body_bytes=CONFIG_BODY_BYTES,
    versioned=True,
)
SEGMENT_VERSION = Route(
    "GET", "/admin/segments/{segment_id}/versions/{version}", API, MARKETING, "A past version of a segment"
)
SEGMENT_MEMBERS = Route(
    "GET", "/admin/segments/{segment_id}/members", API, MARKETING, "A segment's members (customer ids), paged"
)

# -- the customer view: events in -------------------------------------------------------------

EVENTS_QUEUE = Queue("campaigns-events", max_receive_count=5)
EVENTS = Function(
    id="campaigns-events",
    service="campaigns",
    handler="services.campaigns.handlers.events.lambda_handler",
    description="Keeps the campaigns' view of each customer and the standing segments' members.",
    memory_mb=512,
    timeout_s=30,
    tables=(TableAccess(CAMPAIGNS),),
    publishes_to=BUS,
)
PROFILE_EVENTS = Rule(
    "campaigns-profile-events",
    json.dumps(
        {
            "source": ["dangol.profile"],
            "detail-type": [
                "CustomerRegistered",
                "CustomerImported",
                "ConsentChanged",
                "ValueSegmentChanged",
                "LifestyleGroupsChanged",
                "PurchaseRecorded",
                "PurchaseRefunded",
                "VisitRecorded",
                "CustomerErased",
            ],
        }
    ),
    EVENTS_QUEUE,
)
REWARDS_EVENTS = Rule(
    "campaigns-rewards-events",
    json.dumps({"source": ["dangol.rewards"], "detail-type": ["TierChanged", "PointsExpiring"]}),
    EVENTS_QUEUE,
)
SEGMENTER = Function(
    id="campaigns-segmenter",
    service="campaigns",
    handler="services.campaigns.handlers.segmenter.lambda_handler",
    description="Evaluates a segment's new version over every customer view, a page at a time.",
    memory_mb=1024,
    timeout_s=120,
    tables=(TableAccess(CAMPAIGNS, indexes=(VIEW_LIST.name,)),),
    publishes_to=BUS,
    sends_to=(SEGMENT_JOBS,),
)
REFRESHER = Function(
    id="campaigns-refresh",
    service="campaigns",
    handler="services.campaigns.handlers.refresh.lambda_handler",
    description="Nightly: re-evaluates the segments whose answer changes with time alone.",
    memory_mb=256,
    timeout_s=60,
    tables=(TableAccess(CAMPAIGNS),),
    sends_to=(SEGMENT_JOBS,),
)
# After midnight in Seoul, where most customers live; relative dates move a day for everyone then.
REFRESH_RUN = Schedule(
    "campaigns-refresh", "cron(10 0 * * ? *)", REFRESHER, timezone="Asia/Seoul", retry_attempts=1
)
OUTBOX_SWEEPER = Function(
    id="campaigns-outbox",
    service="campaigns",
    handler="services.campaigns.handlers.outbox.lambda_handler",
    description="Publishes campaigns events a crashed request left in the outbox.",
    memory_mb=256,
    timeout_s=60,
    tables=(TableAccess(CAMPAIGNS),),
    publishes_to=BUS,
)
OUTBOX_SWEEP = Schedule("campaigns-outbox-sweep", "rate(5 minutes)", OUTBOX_SWEEPER, retry_attempts=0)

SERVICE = Service(
    name="campaigns",
    tables=(CAMPAIGNS,),
    functions=(API, EVENTS, SEGMENTER, REFRESHER, OUTBOX_SWEEPER),
    routes=(SEGMENT_CREATE, SEGMENT_LIST, SEGMENT_GET, SEGMENT_UPDATE, SEGMENT_VERSION, SEGMENT_MEMBERS),
    queues=(EVENTS_QUEUE, SEGMENT_JOBS),
    consumers=(
        Consumer(EVENTS, EVENTS_QUEUE, batch_size=10, max_concurrency=10),
        Consumer(SEGMENTER, SEGMENT_JOBS, batch_size=1, max_concurrency=2),
    ),
    rules=(PROFILE_EVENTS, REWARDS_EVENTS),
    schedules=(REFRESH_RUN, OUTBOX_SWEEP),
)

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
    Subscription,
    Table,
    TableAccess,
    Topic,
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
# A campaign run's planner steps (a page of a member shard each), and the sender's batches.
PLAN_QUEUE = Queue("campaigns-plan", max_receive_count=5)
SEND_QUEUE = Queue("campaigns-send", max_receive_count=5)
API = Function(
    id="campaigns-api",
    service="campaigns",
    handler="services.campaigns.handlers.api.lambda_handler",
    description="Marketing's segments and campaigns: rules, counts, launches, reports, the message log.",
    memory_mb=512,
    timeout_s=10,
    tables=(TableAccess(CAMPAIGNS),),
    sends_to=(SEGMENT_JOBS, PLAN_QUEUE),
    publishes_to=BUS,
    # A dry run reads a sample's contact cards from the profile service (``profile-contacts``,
    # which names this function among its callers), as the sender does.
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
SEGMENT_DELETE = Route(
    "DELETE",
    "/admin/segments/{segment_id}",
    API,
    MARKETING,
    "Delete a segment: it stops being kept at once, its members go after (its versions stay)",
    versioned=True,
)
SEGMENT_PREVIEW_START = Route(
    "POST",
    "/admin/segment-previews",
    API,
    MARKETING,
    "Preview a draft rule: a job counting its customers over every view, with a sample",
    idempotent=True,
    key_required=True,
    max_body_bytes=CONFIG_BODY_BYTES,
)
SEGMENT_PREVIEW_GET = Route(
    "GET",
    "/admin/segment-previews/{preview_id}",
    API,
    MARKETING,
    "A segment preview: its progress, the count so far and a sample (kept a day)",
)

# -- templates: what to say ------------------------------------------------------------------

# Its own function: python-liquid is imported by the templates' routes only, not by the
# segments' (their cold start stays as it was). The preview reads a customer's name and usual
# from the profile service's contact card (``profile-contacts``, invoked directly).
TEMPLATES_API = Function(
    id="campaigns-templates-api",
    service="campaigns",
    handler="services.campaigns.handlers.templates_api.lambda_handler",
    description="Marketing's message templates: Liquid checked when saved, versions, previews.",
    memory_mb=512,
    timeout_s=10,
    tables=(TableAccess(CAMPAIGNS),),
)
TEMPLATE_CREATE = Route(
    "POST",
    "/admin/templates",
    TEMPLATES_API,
    MARKETING,
    "Save a message template: Liquid per locale, checked now (variables, filters, tags, lengths)",
    idempotent=True,
    key_required=True,
    max_body_bytes=CONFIG_BODY_BYTES,
)
TEMPLATE_LIST = Route("GET", "/admin/templates", TEMPLATES_API, MARKETING, "The templates, newest first")
TEMPLATE_GET = Route(
    "GET",
    "/admin/templates/{template_id}",
    TEMPLATES_API,
    MARKETING,
    "A template: its content in force",
    versioned=True,
)
TEMPLATE_UPDATE = Route(
    "PUT",
    "/admin/templates/{template_id}",
    TEMPLATES_API,
    MARKETING,
    "Change a template (a new version, checked as when saved)",
    idempotent=True,
    max_body_bytes=CONFIG_BODY_BYTES,
    versioned=True,
)
TEMPLATE_VERSION = Route(
    "GET",
    "/admin/templates/{template_id}/versions/{version}",
    TEMPLATES_API,
    MARKETING,
    "A past version of a template",
)
TEMPLATE_PREVIEW = Route(
    "POST",
    "/admin/templates/{template_id}/preview",
    TEMPLATES_API,
    MARKETING,
    "Render a template for a customer (or a sample one): the message, its measure, the locale used",
)

# -- campaigns: who gets what, when ---------------------------------------------------------------

CAMPAIGN_CREATE = Route(
    "POST",
    "/admin/campaigns",
    API,
    MARKETING,
    "Define a campaign (a draft): a segment, a template on its channel, a priority, a control group, when",
    idempotent=True,
    key_required=True,
)
CAMPAIGN_LIST = Route("GET", "/admin/campaigns", API, MARKETING, "The campaigns, newest first")
CAMPAIGN_GET = Route(
    "GET",
    "/admin/campaigns/{campaign_id}",
    API,
    MARKETING,
    "A campaign: its definition and status",
    versioned=True,
)
CAMPAIGN_UPDATE = Route(
    "PUT",
    "/admin/campaigns/{campaign_id}",
    API,
    MARKETING,
    "Change a draft campaign (If-Match)",
    idempotent=True,
    versioned=True,
)
CAMPAIGN_LAUNCH = Route(
    "POST",
    "/admin/campaigns/{campaign_id}/launch",
    API,
    MARKETING,
    "Launch a draft: now, or scheduled (a campaign is launched once; a repeat answers its state)",
    idempotent=True,
)
CAMPAIGN_PAUSE = Route(
    "POST",
    "/admin/campaigns/{campaign_id}/pause",
    API,
    MARKETING,
    "Hold a campaign's sending",
    idempotent=True,
)
CAMPAIGN_RESUME = Route(
    "POST",
    "/admin/campaigns/{campaign_id}/resume",
    API,
    MARKETING,
    "Go on with a paused campaign",
    idempotent=True,
)
CAMPAIGN_CANCEL = Route(
    "POST",
    "/admin/campaigns/{campaign_id}/cancel",
    API,
    MARKETING,
    "Stop a campaign: nothing more is sent",
    idempotent=True,
)
# Read-only (it writes nothing: no log line, claim or counter), so no Idempotency-Key, like the
# templates' preview; a POST because it takes a body (how many customers to show).
CAMPAIGN_DRY_RUN = Route(
    "POST",
    "/admin/campaigns/{campaign_id}/dry-run",
    API,
    MARKETING,
    "What launching it now would do, writing nothing: the audience, the control group, and the "
    "sender's decision for a sample of customers (addresses masked)",
)
CAMPAIGN_REPORT = Route(
    "GET",
    "/admin/campaigns/{campaign_id}/report",
    API,
    MARKETING,
    "A campaign's figures so far: audience, control, sent, deferred, suppressed by reason, failed",
)
CAMPAIGN_MESSAGES = Route(
    "GET",
    "/admin/campaigns/{campaign_id}/messages",
    API,
    MARKETING,
    "The message log: one line per recipient with the decision and its reason, paged, filterable",
)
CAMPAIGN_RESULTS = Route(
    "GET",
    "/admin/campaigns/{campaign_id}/results",
    API,
    MARKETING,
    "A campaign's result against its control group: conversions, revenue per recipient, lift with "
    "its 95% interval, incremental revenue; per month for a triggered one",
)
CAMPAIGN_RESULTS_CSV = Route(
    "GET",
    "/admin/campaigns/{campaign_id}/results.csv",
    API,
    MARKETING,
    "The same result as CSV (one row for the whole campaign, then one per month)",
)
CUSTOMER = frozenset({Role.CUSTOMER})
MY_OFFERS = Route(
    "GET", "/me/offers", API, CUSTOMER, "The offers waiting for me, newest first, with their expiry"
)
MY_OFFER_OPEN = Route(
    "POST",
    "/me/offers/{offer_id}/open",
    API,
    CUSTOMER,
    "Record that I opened an offer (the first opening counts)",
    idempotent=True,
)

# -- draws: several during an event, each announced -------------------------------------------

DRAW_SCHEDULE_CREATE = Route(
    "POST",
    "/admin/draw-schedules",
    API,
    MARKETING,
    "Schedule a gift's draws: the rewards service commits to each draw's seed before its entries "
    "close, draws at the close and reveals the seed; a triggered campaign on draw_won announces",
    idempotent=True,  # a gift has one schedule: a retry without a key is a 409, never a second one
)
DRAW_SCHEDULE_GET = Route(
    "GET",
    "/admin/draw-schedules/{gift_id}",
    API,
    MARKETING,
    "A draw schedule: each draw's close, its commitment and, once drawn, its winners' count",
)

PLANNER = Function(
    id="campaigns-planner",
    service="campaigns",
    handler="services.campaigns.handlers.planner.lambda_handler",
    description="Pages a campaign run's audience into batches for the sender.",
    memory_mb=512,
    timeout_s=60,
    tables=(TableAccess(CAMPAIGNS),),
    sends_to=(PLAN_QUEUE, SEND_QUEUE),
)
SENDER = Function(
    id="campaigns-sender",
    service="campaigns",
    handler="services.campaigns.handlers.sender.lambda_handler",
    description="Decides and sends, per recipient: consent, address, control, quiet hours, caps.",
    memory_mb=1024,
    timeout_s=60,
    tables=(TableAccess(CAMPAIGNS),),
    publishes_to=BUS,
    sends_messages=True,
)
RELEASER = Function(
    id="campaigns-release",
    service="campaigns",
    handler="services.campaigns.handlers.release.lambda_handler",
    description="Every minute: starts the runs due and brings back the recipients deferred to now.",
    memory_mb=256,
    timeout_s=60,
    tables=(TableAccess(CAMPAIGNS),),
    sends_to=(PLAN_QUEUE, SEND_QUEUE),
    publishes_to=BUS,  # a draw's DrawDue, when its entries close
)
RELEASE_RUN = Schedule("campaigns-release", "rate(1 minute)", RELEASER, retry_attempts=0)

# -- after sending: what became of an e-mail -------------------------------------------------------

# The stage's SES configuration set publishes its e-mails' deliveries, bounces and complaints here
# (on AWS; moto publishes no SES events); the feedback queue takes them raw (the SES event record).
EMAIL_EVENTS = Topic("campaigns-email-events", email_events=("DELIVERY", "BOUNCE", "COMPLAINT"))
FEEDBACK_QUEUE = Queue("campaigns-email-feedback", max_receive_count=5)
FEEDBACK = Function(
    id="campaigns-feedback",
    service="campaigns",
    handler="services.campaigns.handlers.feedback.lambda_handler",
    description="Counts campaign e-mails delivered, bounced, complained of; announces the undeliverable.",
    memory_mb=256,
    timeout_s=30,
    tables=(TableAccess(CAMPAIGNS),),
    publishes_to=BUS,
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
    sends_to=(SEND_QUEUE,),  # a triggered entry without a delay, straight to the sender
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
                "AnniversaryUpcoming",
            ],
        }
    ),
    EVENTS_QUEUE,
)
REWARDS_EVENTS = Rule(
    "campaigns-rewards-events",
    json.dumps(
        {
            "source": ["dangol.rewards"],
            "detail-type": [
                "TierChanged",
                "PointsExpiring",
                "PointsBalanceChanged",
                "CouponIssued",
                "CouponRedeemed",
                "DrawCommitted",
                "DrawCompleted",
            ],
        }
    ),
    EVENTS_QUEUE,
)
# -- a launch from the AWS console: EventBridge's "Send events" page --------------------------------

# Marketing may launch a campaign by putting ``CampaignLaunchRequested`` (source ``dangol.campaigns``)
# on the system's bus from the console (docs/services/campaigns.md: the event and its schema):
# recorded like an API launch, idempotent like it. Who may is IAM's ``events:PutEvents`` on the bus.
LAUNCH_QUEUE = Queue("campaigns-launches", max_receive_count=5)
LAUNCHER = Function(
    id="campaigns-launches",
    service="campaigns",
    handler="services.campaigns.handlers.launches.lambda_handler",
    description="Launches the campaigns marketing asks for by an event on the bus (the AWS console).",
    memory_mb=256,
    timeout_s=30,
    tables=(TableAccess(CAMPAIGNS),),
    sends_to=(PLAN_QUEUE,),
)
LAUNCH_REQUESTS = Rule(
    "campaigns-launch-requests",
    json.dumps({"source": ["dangol.campaigns"], "detail-type": ["CampaignLaunchRequested"]}),
    LAUNCH_QUEUE,
)
SEGMENTER = Function(
    id="campaigns-segmenter",
    service="campaigns",
    handler="services.campaigns.handlers.segmenter.lambda_handler",
    description="Evaluates a segment's new version over every customer view, a page at a time.",
    memory_mb=1024,
    timeout_s=120,
    tables=(TableAccess(CAMPAIGNS, indexes=(VIEW_LIST.name,)),),
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
    functions=(
        API,
        EVENTS,
        SEGMENTER,
        REFRESHER,
        OUTBOX_SWEEPER,
        TEMPLATES_API,
        PLANNER,
        SENDER,
        RELEASER,
        FEEDBACK,
        LAUNCHER,
    ),
    routes=(
        SEGMENT_CREATE,
        SEGMENT_LIST,
        SEGMENT_GET,
        SEGMENT_UPDATE,
        SEGMENT_VERSION,
        SEGMENT_MEMBERS,
        SEGMENT_DELETE,
        SEGMENT_PREVIEW_START,
        SEGMENT_PREVIEW_GET,
        TEMPLATE_CREATE,
        TEMPLATE_LIST,
        TEMPLATE_GET,
        TEMPLATE_UPDATE,
        TEMPLATE_VERSION,
        TEMPLATE_PREVIEW,
        CAMPAIGN_CREATE,
        CAMPAIGN_LIST,
        CAMPAIGN_GET,
        CAMPAIGN_UPDATE,
        CAMPAIGN_LAUNCH,
        CAMPAIGN_PAUSE,
        CAMPAIGN_RESUME,
        CAMPAIGN_CANCEL,
        CAMPAIGN_DRY_RUN,
        CAMPAIGN_REPORT,
        CAMPAIGN_MESSAGES,
        CAMPAIGN_RESULTS,
        CAMPAIGN_RESULTS_CSV,
        MY_OFFERS,
        MY_OFFER_OPEN,
        DRAW_SCHEDULE_CREATE,
        DRAW_SCHEDULE_GET,
    ),
    queues=(EVENTS_QUEUE, SEGMENT_JOBS, PLAN_QUEUE, SEND_QUEUE, FEEDBACK_QUEUE, LAUNCH_QUEUE),
    consumers=(
        Consumer(EVENTS, EVENTS_QUEUE, batch_size=10, max_concurrency=10),
        Consumer(SEGMENTER, SEGMENT_JOBS, batch_size=1, max_concurrency=2),
        Consumer(PLANNER, PLAN_QUEUE, batch_size=1, max_concurrency=16),
        # The sending rate's knob: at most this many senders at once, each sending one batch
        # (50 recipients) at a time at most SEND_RATE_PER_S messages a second (bench/README.md).
        Consumer(SENDER, SEND_QUEUE, batch_size=1, max_concurrency=4),
        Consumer(FEEDBACK, FEEDBACK_QUEUE, batch_size=10, window_s=1, max_concurrency=2),
        Consumer(LAUNCHER, LAUNCH_QUEUE, batch_size=1, max_concurrency=2),
    ),
    topics=(EMAIL_EVENTS,),
    subscriptions=(Subscription(EMAIL_EVENTS, FEEDBACK_QUEUE, raw=True),),
    rules=(PROFILE_EVENTS, REWARDS_EVENTS, LAUNCH_REQUESTS),
    schedules=(REFRESH_RUN, OUTBOX_SWEEP, RELEASE_RUN),
)

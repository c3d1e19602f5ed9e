"""What the rewards service owns and exposes: its table, its functions, its routes.

Plain data (see ``shared.topology``). The rewards service consumes the profile service's events
(purchases, refunds, registrations, erasures), the campaigns service's offers and draws, and the
feedback service's goodwill on complaint cases from the bus; it never imports another service.
"""

from __future__ import annotations

import json

from shared.auth import CARE, Role
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

# Open lots and held holds carry ``due_day`` ("<yyyy-mm-dd>#<shard>") and ``due_at``
# ("<iso instant>#<customer>#<sk>"): the expiry job reads each day's shards up to now, never a scan.
BY_DUE = Index("by-due", Attr("due_day"), Attr("due_at"))
# Sparse: only account items carry ``listed`` ("ACCOUNT"): the nightly run and the audit walk it.
ACCOUNT_LIST = Index("account-list", Attr("listed"), Attr("customer_id"), projection="KEYS_ONLY")

REWARDS = Table(
    id="rewards",
    partition_key=Attr("pk"),
    sort_key=Attr("sk"),
    indexes=(BY_DUE, ACCOUNT_LIST),
    ttl_attribute="expires_ttl",
)

# One agent's goodwill points per UTC day: the staff route's and the cases' (GoodwillRequested) together.
GOODWILL_DAILY_LIMIT = ("GOODWILL_DAILY_LIMIT", "5000")

CUSTOMER = frozenset({Role.CUSTOMER})
MACHINE = frozenset({Role.MACHINE})
MARKETING = frozenset({Role.MARKETING, Role.ADMIN})
GOODWILL = frozenset({Role.AGENT, Role.ADMIN})

# -- points: customers' and staff's views, goodwill, holds at the counter ---------------------

API = Function(
    id="rewards-api",
    service="rewards",
    handler="services.rewards.handlers.api.lambda_handler",
    description="Points: customers' balance and history, staff's view and goodwill, holds at the counter.",
    memory_mb=512,
    timeout_s=10,
    tables=(TableAccess(REWARDS),),
    publishes_to=BUS,
    environment=(GOODWILL_DAILY_LIMIT, ("HOLD_MINUTES", "15")),
)
MY_POINTS = Route("GET", "/me/points", API, CUSTOMER, "My points: balance, tier, progress, expiring soon")
MY_HISTORY = Route("GET", "/me/points/history", API, CUSTOMER, "My points history, newest first")
CUSTOMER_POINTS = Route(
    "GET", "/customers/{customer_id}/points", API, CARE, "A customer's points and tier (agents)"
)
CUSTOMER_HISTORY = Route(
    "GET", "/customers/{customer_id}/points/history", API, CARE, "A customer's ledger, newest first (agents)"
)
GOODWILL_ADJUST = Route(
    "POST",
    "/customers/{customer_id}/points/adjustments",
    API,
    GOODWILL,
    "Grant (or correct) points with a reason, within the agent's daily limit",
    idempotent=True,
    key_required=True,
)
MEMBER_CODE_CREATE = Route(
    "POST", "/me/member-code", API, CUSTOMER, "A member code for the counter (5 minutes, one checkout)"
)
MEMBER_CODE_LOOKUP = Route(
    "POST",
    "/member-codes/lookup",
    API,
    MACHINE,
    "Who a member code shows at the counter (uses nothing; the code goes in the body, never a URL)",
)
HOLD_PLACE = Route(
    "PUT",
    "/customers/{customer_id}/holds/{order_id}",
    API,
    MACHINE,
    "Hold points for an order, with the customer's member code (idempotent per order id)",
)
HOLD_GET = Route(
    "GET", "/customers/{customer_id}/holds/{order_id}", API, MACHINE, "An order's hold (the placing till's)"
)
HOLD_CAPTURE = Route(
    "POST",
    "/customers/{customer_id}/holds/{order_id}/capture",
    API,
    MACHINE,
    "Redeem held points (all or part; the rest is released)",
)
HOLD_RELEASE = Route(
    "POST", "/customers/{customer_id}/holds/{order_id}/release", API, MACHINE, "Give held points back"
)

# -- programs: earn rules, tiers, awards and pre-grants, the audit ----------------------------

GRANTS_QUEUE = Queue("rewards-grants", max_receive_count=5)
PROGRAMS_API = Function(
    id="rewards-programs-api",
    service="rewards",
    handler="services.rewards.handlers.programs_api.lambda_handler",
    description="Marketing's earn rules and tiers; awards and pre-grants to many; the ledger audit.",
    memory_mb=512,
    timeout_s=29,
    tables=(TableAccess(REWARDS),),
    publishes_to=BUS,
    sends_to=(GRANTS_QUEUE,),
)
EARN_RULES_GET = Route(
    "GET", "/admin/earn-rules", PROGRAMS_API, MARKETING, "The earn rules in force", versioned=True
)
EARN_RULES_PUT = Route(
    "PUT",
    "/admin/earn-rules",
    PROGRAMS_API,
    MARKETING,
    "Change the earn rules (versioned)",
    idempotent=True,
    max_body_bytes=64 * 1024,  # up to 200 category and 200 store multipliers
    versioned=True,
)
EARN_RULES_VERSION = Route(
    "GET", "/admin/earn-rules/{version}", PROGRAMS_API, MARKETING, "A past version of the earn rules"
)
TIERS_GET = Route("GET", "/admin/tiers", PROGRAMS_API, MARKETING, "The tier program", versioned=True)
TIERS_PUT = Route(
    "PUT",
    "/admin/tiers",
    PROGRAMS_API,
    MARKETING,
    "Change the tier program (versioned)",
    idempotent=True,
    max_body_bytes=CONFIG_BODY_BYTES,
    versioned=True,
)
GRANT_START = Route(
    "POST",
    "/admin/point-grants",
    PROGRAMS_API,
    MARKETING,
    "Award points, or pre-grant them with a short expiry, to up to 10,000 customers",
    max_body_bytes=512 * 1024,
    idempotent=True,
    key_required=True,
)
GRANT_GET = Route("GET", "/admin/point-grants/{job_id}", PROGRAMS_API, MARKETING, "A grant job's progress")
GRANT_REPORT = Route(
    "GET",
    "/admin/point-grants/{job_id}/report",
    PROGRAMS_API,
    MARKETING,
    "Issued, used, clawed back, and the purchases made while the grant was open",
)
AUDIT_GET = Route("GET", "/admin/points/audit", PROGRAMS_API, MARKETING, "The last ledger verification")
POINT_CAMPAIGN_REPORT = Route(
    "GET",
    "/admin/point-campaigns/{campaign_id}",
    PROGRAMS_API,
    MARKETING,
    "What a campaign's points offers pre-granted: issued, used, clawed back, outstanding",
)

# -- offers: coupons and limited-stock gifts ------------------------------------------------

OFFERS_API = Function(
    id="rewards-offers-api",
    service="rewards",
    handler="services.rewards.handlers.offers_api.lambda_handler",
    description="Coupon templates, issuance and redemption; limited-stock gifts and their draws.",
    memory_mb=512,
    timeout_s=29,
    tables=(TableAccess(REWARDS),),
    publishes_to=BUS,
)
COUPON_TEMPLATE_CREATE = Route(
    "POST",
    "/admin/coupon-templates",
    OFFERS_API,
    MARKETING,
    "Define a coupon template",
    idempotent=True,
    max_body_bytes=CONFIG_BODY_BYTES,
    key_required=True,
)
COUPON_TEMPLATE_LIST = Route("GET", "/admin/coupon-templates", OFFERS_API, MARKETING, "The coupon templates")
COUPON_TEMPLATE_GET = Route(
    "GET", "/admin/coupon-templates/{template_id}", OFFERS_API, MARKETING, "A coupon template"
)
COUPON_TEMPLATE_RETIRE = Route(
    "DELETE",
    "/admin/coupon-templates/{template_id}",
    OFFERS_API,
    MARKETING,
    "Stop issuing a template (issued coupons stay valid)",
)
COUPON_ISSUE = Route(
    "POST",
    "/admin/coupon-templates/{template_id}/issuances",
    OFFERS_API,
    MARKETING,
    "Issue coupons to up to 100 customers; each succeeds or fails on its own",
    max_body_bytes=64 * 1024,
    idempotent=True,
    key_required=True,
)
MY_COUPONS = Route("GET", "/me/coupons", OFFERS_API, CUSTOMER, "My coupon wallet")
CUSTOMER_COUPONS = Route(
    "GET", "/customers/{customer_id}/coupons", OFFERS_API, CARE, "A customer's coupons (agents)"
)
# The code travels in the body: a bearer secret has no place in a path that access logs keep.
COUPON_REDEEM = Route(
    "POST",
    "/coupon-redemptions",
    OFFERS_API,
    MACHINE,
    "Redeem a coupon for an order (idempotent per order id)",
)
GIFT_CREATE = Route(
    "POST",
    "/admin/gifts",
    OFFERS_API,
    MARKETING,
    "Define a limited-stock gift",
    idempotent=True,
    max_body_bytes=CONFIG_BODY_BYTES,
    key_required=True,
)
GIFT_LIST = Route("GET", "/admin/gifts", OFFERS_API, MARKETING, "The gifts")
GIFT_GET = Route("GET", "/admin/gifts/{gift_id}", OFFERS_API, MARKETING, "A gift: stock left, winners")
GIFT_DRAW = Route(
    "POST",
    "/admin/gifts/{gift_id}/draws",
    OFFERS_API,
    MARKETING,
    "Draw winners among the entrants (never beyond the stock)",
    idempotent=True,
    key_required=True,
)
MY_GIFTS = Route("GET", "/me/gifts", OFFERS_API, CUSTOMER, "The gifts I won")
MY_DRAW_ENTRIES = Route(
    "GET",
    "/me/draw-entries",
    OFFERS_API,
    CUSTOMER,
    "My entries in gifts' draws (how I find myself in a draw)",
)
# A scheduled draw, for anyone to check: its commitment before the entries close, then its entries,
# seed and winners (entry ids, never customer ids). Public: a draw's fairness is for everyone to see.
DRAW_GET = Route(
    "GET",
    "/draws/{gift_id}/{draw}",
    OFFERS_API,
    frozenset(),
    "A gift's scheduled draw: commitment, entries, seed and winners (by entry id), the algorithm",
    public=True,
)
DRAW_VERIFY = Route(
    "GET",
    "/draws/{gift_id}/{draw}/verification",
    OFFERS_API,
    frozenset(),
    "A drawn draw recomputed from its published seed and entries",
    public=True,
)

# -- the platform's side: events in, grant jobs, expiry, nightly -----------------------------

EVENTS_QUEUE = Queue("rewards-events", max_receive_count=5)
EVENTS = Function(
    id="rewards-events",
    service="rewards",
    handler="services.rewards.handlers.events.lambda_handler",
    description=(
        "Pays points for purchases and sign-ups, reverses refunds, pseudonymises erasures;"
        " campaigns' coupon and points offers and gift draws; goodwill granted on cases."
    ),
    memory_mb=512,
    timeout_s=30,
    tables=(TableAccess(REWARDS),),
    publishes_to=BUS,
    environment=(GOODWILL_DAILY_LIMIT,),
)
PROFILE_EVENTS = Rule(
    "rewards-profile-events",
    json.dumps(
        {
            "source": ["dangol.profile"],
            "detail-type": [
                "CustomerRegistered",
                "CustomerImported",
                "PurchaseRecorded",
                "PurchaseRefunded",
                "CustomerErased",
            ],
        }
    ),
    EVENTS_QUEUE,
)
CAMPAIGN_EVENTS = Rule(
    "rewards-campaign-events",
    json.dumps(
        {
            "source": ["dangol.campaigns"],
            "detail-type": ["OfferCouponRequested", "PointsOfferRequested", "DrawScheduled", "DrawDue"],
        }
    ),
    EVENTS_QUEUE,
)
# Goodwill an agent grants on a complaint case: credited once per grant, within the agent's daily
# limit, answered with GoodwillCredited or GoodwillRefused (which the feedback service consumes).
FEEDBACK_EVENTS = Rule(
    "rewards-feedback-events",
    json.dumps({"source": ["dangol.feedback"], "detail-type": ["GoodwillRequested"]}),
    EVENTS_QUEUE,
)
GRANTER = Function(
    id="rewards-grants",
    service="rewards",
    handler="services.rewards.handlers.grants.lambda_handler",
    description="Grants a job's points to each customer of a chunk, once per customer.",
    memory_mb=512,
    timeout_s=120,
    tables=(TableAccess(REWARDS),),
    publishes_to=BUS,
)
EXPIRER = Function(
    id="rewards-expiry",
    service="rewards",
    handler="services.rewards.handlers.expiry.lambda_handler",
    description="Expires due lots (claws back unused pre-grants), releases stale holds, warns ahead.",
    memory_mb=512,
    timeout_s=300,
    tables=(TableAccess(REWARDS, indexes=(BY_DUE.name,)),),
    publishes_to=BUS,
    environment=(("EXPIRY_WARNING_DAYS", "7"),),
)
EXPIRY_RUN = Schedule("rewards-expiry", "rate(5 minutes)", EXPIRER, retry_attempts=0)
NIGHTLY = Function(
    id="rewards-nightly",
    service="rewards",
    handler="services.rewards.handlers.nightly.lambda_handler",
    description="Nightly: re-evaluates every tier as months roll over, then verifies every account.",
    memory_mb=1024,
    timeout_s=900,
    tables=(TableAccess(REWARDS, indexes=(ACCOUNT_LIST.name,)),),
    publishes_to=BUS,
)
NIGHTLY_RUN = Schedule(
    "rewards-nightly", "cron(0 4 * * ? *)", NIGHTLY, timezone="Asia/Seoul", retry_attempts=1
)
OUTBOX_SWEEPER = Function(
    id="rewards-outbox",
    service="rewards",
    handler="services.rewards.handlers.outbox.lambda_handler",
    description="Publishes rewards events a crashed request left in the outbox.",
    memory_mb=256,
    timeout_s=60,
    tables=(TableAccess(REWARDS),),
    publishes_to=BUS,
)
OUTBOX_SWEEP = Schedule("rewards-outbox-sweep", "rate(5 minutes)", OUTBOX_SWEEPER, retry_attempts=0)

SERVICE = Service(
    name="rewards",
    tables=(REWARDS,),
    functions=(API, PROGRAMS_API, OFFERS_API, EVENTS, GRANTER, EXPIRER, NIGHTLY, OUTBOX_SWEEPER),
    routes=(
        MEMBER_CODE_CREATE,
        MEMBER_CODE_LOOKUP,
        MY_POINTS,
        MY_HISTORY,
        CUSTOMER_POINTS,
        CUSTOMER_HISTORY,
        GOODWILL_ADJUST,
        HOLD_PLACE,
        HOLD_GET,
        HOLD_CAPTURE,
        HOLD_RELEASE,
        EARN_RULES_GET,
        EARN_RULES_PUT,
        EARN_RULES_VERSION,
        TIERS_GET,
        TIERS_PUT,
        GRANT_START,
        GRANT_GET,
        GRANT_REPORT,
        AUDIT_GET,
        POINT_CAMPAIGN_REPORT,
        COUPON_TEMPLATE_CREATE,
        COUPON_TEMPLATE_LIST,
        COUPON_TEMPLATE_GET,
        COUPON_TEMPLATE_RETIRE,
        COUPON_ISSUE,
        MY_COUPONS,
        CUSTOMER_COUPONS,
        COUPON_REDEEM,
        GIFT_CREATE,
        GIFT_LIST,
        GIFT_GET,
        GIFT_DRAW,
        MY_GIFTS,
        MY_DRAW_ENTRIES,
        DRAW_GET,
        DRAW_VERIFY,
    ),
    queues=(EVENTS_QUEUE, GRANTS_QUEUE),
    consumers=(
        Consumer(EVENTS, EVENTS_QUEUE, batch_size=10, max_concurrency=20),  # instant earning
        Consumer(GRANTER, GRANTS_QUEUE, batch_size=1, max_concurrency=2),
    ),
    rules=(PROFILE_EVENTS, CAMPAIGN_EVENTS, FEEDBACK_EVENTS),
    schedules=(EXPIRY_RUN, NIGHTLY_RUN, OUTBOX_SWEEP),
)

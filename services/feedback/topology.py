"""What the feedback service owns and exposes: its table, its functions, its routes, the mentions
topic and the queues it fans out to, its SLA timers.

Plain data (see ``shared.topology``). Mentions come in through the sources' webhooks (X, Instagram
and Facebook) or are polled (Naver, the app stores); each is published once to the mentions topic
with its message attributes, and the subscriptions' filter policies fan it out: complaints to the
cases queue, loud negative ones to the alerts queue, everything to the insights queue. The service
never imports another: it finds the customer behind a handle by invoking the profile service's
``profile-handles`` (which names ``feedback-intake`` as its caller), and asks the rewards service
for goodwill points by an event.
"""

from __future__ import annotations

import json

from services.feedback.models.mention import ALERT_REACH
from shared.auth import CARE, Role
from shared.platform import BUS
from shared.topology import (
    CONFIG_BODY_BYTES,
    Attr,
    Consumer,
    Function,
    Index,
    PlatformSecret,
    Queue,
    Route,
    Rule,
    Schedule,
    Service,
    Subscription,
    Table,
    TableAccess,
    Timers,
    Topic,
)

# Sparse indexes: only case items carry ``queue`` (``<team>#<status>``) and ``case_customer``.
CASE_QUEUE = Index("case-queue", Attr("queue"), Attr("queued_at"))
CUSTOMER_CASES = Index("customer-cases", Attr("case_customer"), Attr("opened_at"))

FEEDBACK = Table(
    id="feedback",
    partition_key=Attr("pk"),
    sort_key=Attr("sk"),
    indexes=(CASE_QUEUE, CUSTOMER_CASES),
    ttl_attribute="expires_at",
)

CUSTOMER = frozenset({Role.CUSTOMER})
INSIGHTS = frozenset({Role.MARKETING, Role.AGENT, Role.ADMIN})  # themes and counts, no person

# The sources' secrets: generated once per stage, then replaced by the operator with the values
# the sources issue (docs/deploying.md); every webhook is verified with them.
X_SECRET = PlatformSecret("feedback-x-secret", "X's consumer secret: signs X's webhooks and CRC answers")
META_SECRET = PlatformSecret(
    "feedback-meta-secret", "The Meta app secret: signs Instagram's and Facebook's webhooks"
)
META_VERIFY_TOKEN = PlatformSecret(
    "feedback-meta-verify-token", "What Meta sends back when a webhook subscription is verified"
)
# The polled sources' credentials, as JSON by source: {"naver": {"client_id", "client_secret"},
# "app_store": {"token"}, "google_play": {"token"}}; a source without credentials is not polled.
POLL_CREDENTIALS = PlatformSecret(
    "feedback-poll-credentials", "Credentials of the polled sources (Naver, app stores)"
)

# -- mentions: in, classified, published once, fanned out ------------------------------------------

MENTIONS = Topic("feedback-mentions")
CASES_QUEUE = Queue("feedback-cases", max_receive_count=5)
ALERTS_QUEUE = Queue("feedback-alerts", max_receive_count=5)
INSIGHTS_QUEUE = Queue("feedback-insights", max_receive_count=5)
# The person on duty subscribes (e-mail, SMS, chat) to this topic on each stage.
ON_DUTY = Topic("feedback-on-duty")

INTAKE = Function(
    id="feedback-intake",
    service="feedback",
    handler="services.feedback.handlers.intake.lambda_handler",
    description="The sources' webhooks: verifies, normalises, classifies, links and publishes mentions.",
    memory_mb=512,
    timeout_s=10,
    tables=(TableAccess(FEEDBACK),),
    notifies=(MENTIONS,),
    secrets=(X_SECRET, META_SECRET, META_VERIFY_TOKEN),
)
WEBHOOK_CHALLENGE = Route(
    "GET",
    "/webhooks/{source}",
    INTAKE,
    frozenset(),
    "A source's subscription check (X's CRC, Meta's verify token): answered with its secret",
    public=True,
    public_rate_limited=False,  # X checks every hour, from its own servers
)
WEBHOOK_DELIVERY = Route(
    "POST",
    "/webhooks/{source}",
    INTAKE,
    frozenset(),
    "Mentions from a source (X, Meta): signed by the source, within the replay window, each once",
    public=True,
    public_rate_limited=False,  # every mention comes from the source's few servers, signed
    max_body_bytes=64 * 1024,
)

# -- cases: from complaints, the customer or an agent; their SLA timers ---------------------------

SLA_QUEUE = Queue("feedback-sla", max_receive_count=5)
SLA_TIMERS = Timers("feedback-sla", target=SLA_QUEUE)

CASES = Function(
    id="feedback-cases",
    service="feedback",
    handler="services.feedback.handlers.cases.lambda_handler",
    description="Opens a case for each complaint mention, once, with its SLA timers.",
    memory_mb=512,
    timeout_s=30,
    tables=(TableAccess(FEEDBACK),),
    publishes_to=BUS,
    timers=(SLA_TIMERS,),
)
ALERTS = Function(
    id="feedback-alerts",
    service="feedback",
    handler="services.feedback.handlers.alerts.lambda_handler",
    description="Tells the person on duty at once of a negative mention with a wide reach, once.",
    memory_mb=256,
    timeout_s=30,
    tables=(TableAccess(FEEDBACK),),
    notifies=(ON_DUTY,),
)
INSIGHTS_FN = Function(
    id="feedback-insights",
    service="feedback",
    handler="services.feedback.handlers.insights.lambda_handler",
    description="Counts every mention into its week: themes, products, stores, requests, segments.",
    memory_mb=256,
    timeout_s=30,
    tables=(TableAccess(FEEDBACK),),
)
SLA = Function(
    id="feedback-sla",
    service="feedback",
    handler="services.feedback.handlers.sla.lambda_handler",
    description="An SLA timer fired: a breach escalates the case and tells the person on duty, once.",
    memory_mb=256,
    timeout_s=30,
    tables=(TableAccess(FEEDBACK),),
    publishes_to=BUS,
    notifies=(ON_DUTY,),
    timers=(SLA_TIMERS,),
)

API = Function(
    id="feedback-api",
    service="feedback",
    handler="services.feedback.handlers.api.lambda_handler",
    description="Cases for customers and agents, goodwill on a case, the weekly digests.",
    memory_mb=512,
    timeout_s=10,
    tables=(TableAccess(FEEDBACK, indexes=(CASE_QUEUE.name, CUSTOMER_CASES.name)),),
    publishes_to=BUS,
    timers=(SLA_TIMERS,),
)
MY_CASE_OPEN = Route(
    "POST",
    "/me/cases",
    API,
    CUSTOMER,
    "Raise a complaint: a case opens with its SLA timers",
    idempotent=True,
    key_required=True,
)
MY_CASES = Route("GET", "/me/cases", API, CUSTOMER, "My cases, newest first")
MY_CASE = Route("GET", "/me/cases/{case_id}", API, CUSTOMER, "One of my cases, with the replies I can see")
MY_CASE_REPLY = Route(
    "POST",
    "/me/cases/{case_id}/replies",
    API,
    CUSTOMER,
    "Write to the agent on my case (a case waiting for me goes back to work)",
    idempotent=True,
    key_required=True,
)
MY_CASE_CONFIRM = Route(
    "POST",
    "/me/cases/{case_id}/confirmation",
    API,
    CUSTOMER,
    "Confirm that a resolved case is solved (it closes), or say it is not (it reopens)",
    idempotent=True,
)
MY_CASE_SCORE = Route(
    "POST",
    "/me/cases/{case_id}/satisfaction",
    API,
    CUSTOMER,
    "Score how a closed case was handled (1 to 5), once",
    idempotent=True,
)
CASE_LIST = Route("GET", "/cases", API, CARE, "The cases of a team, by status, oldest first")
CASE_OPEN = Route(
    "POST",
    "/cases",
    API,
    CARE,
    "Open a case for a customer (a call, a letter, a visit)",
    idempotent=True,
    key_required=True,
)
CASE_GET = Route("GET", "/cases/{case_id}", API, CARE, "A case: its state, SLA, timeline and grants")
CASE_TRANSITION = Route(
    "POST",
    "/cases/{case_id}/transitions",
    API,
    CARE,
    "Move a case through its life: acknowledge, start, wait for the customer, resolve, close, reopen",
    idempotent=True,
)
CASE_ASSIGN = Route(
    "POST", "/cases/{case_id}/assignment", API, CARE, "Assign a case to an agent", idempotent=True
)
CASE_ESCALATE = Route(
    "POST",
    "/cases/{case_id}/escalation",
    API,
    CARE,
    "Hand a case to the follow-up team",
    idempotent=True,
)
CASE_NOTE = Route(
    "POST",
    "/cases/{case_id}/notes",
    API,
    CARE,
    "An internal note, or a reply the customer sees",
    idempotent=True,
    key_required=True,
)
CASE_CONFIRM = Route(
    "POST",
    "/cases/{case_id}/confirmation",
    API,
    CARE,
    "Record the customer's confirmation given by phone, e-mail or post (the case closes)",
    idempotent=True,
)
CASE_GOODWILL = Route(
    "POST",
    "/cases/{case_id}/goodwill",
    API,
    CARE,
    "Grant the customer goodwill points on the case (credited once, within the agent's daily limit)",
    idempotent=True,
    key_required=True,
)
DIGEST_LIST = Route("GET", "/insights/digests", API, INSIGHTS, "The weekly digests, newest first")
DIGEST_GET = Route(
    "GET",
    "/insights/digests/{week}",
    API,
    INSIGHTS,
    "A week's digest: themes, requests, products and stores, value segments, SLA figures",
)
DIGEST_SUBSCRIBE = Route(
    "PUT",
    "/insights/subscription",
    API,
    INSIGHTS,
    "Have the weekly digest mailed to me",
    idempotent=True,
    max_body_bytes=CONFIG_BODY_BYTES,
)
DIGEST_UNSUBSCRIBE = Route("DELETE", "/insights/subscription", API, INSIGHTS, "Stop mailing me the digest")

# -- the digest, the sources we poll, what others tell us -----------------------------------------

DIGEST = Function(
    id="feedback-digest",
    service="feedback",
    handler="services.feedback.handlers.digest.lambda_handler",
    description="Weekly: the digest of last week's mentions and cases, kept and mailed to subscribers.",
    memory_mb=512,
    timeout_s=120,
    tables=(TableAccess(FEEDBACK, indexes=(CASE_QUEUE.name,)),),
    mails_staff=True,
)
# Monday 08:00 in Seoul: the week before, Monday to Sunday, is complete.
DIGEST_RUN = Schedule(
    "feedback-digest", "cron(0 8 ? * MON *)", DIGEST, timezone="Asia/Seoul", retry_attempts=2
)
POLLER = Function(
    id="feedback-poll",
    service="feedback",
    handler="services.feedback.handlers.poll.lambda_handler",
    description="Polls Naver and the app stores for mentions; republishes any the intake could not.",
    memory_mb=512,
    timeout_s=120,
    tables=(TableAccess(FEEDBACK),),
    notifies=(MENTIONS,),
    secrets=(POLL_CREDENTIALS,),
    # What to poll: {"naver_blog": {"query": "단골"}, "app_store": {"app_id": "123"},
    # "google_play": {"package_name": "dev.dangol.app"}} (credentials: POLL_CREDENTIALS).
    environment=(("FEEDBACK_POLL_SOURCES", "{}"),),
)
POLL_RUN = Schedule("feedback-poll", "rate(10 minutes)", POLLER, retry_attempts=0)

EVENTS_QUEUE = Queue("feedback-events", max_receive_count=5)
EVENTS = Function(
    id="feedback-events",
    service="feedback",
    handler="services.feedback.handlers.events.lambda_handler",
    description="Logins, value segments and erasures from profile; goodwill answers from rewards.",
    memory_mb=256,
    timeout_s=30,
    tables=(TableAccess(FEEDBACK, indexes=(CUSTOMER_CASES.name,)),),
    publishes_to=BUS,
)
PROFILE_EVENTS = Rule(
    "feedback-profile-events",
    json.dumps(
        {
            "source": ["dangol.profile"],
            "detail-type": ["CustomerRegistered", "ValueSegmentChanged", "CustomerErased"],
        }
    ),
    EVENTS_QUEUE,
)
REWARDS_EVENTS = Rule(
    "feedback-rewards-events",
    json.dumps({"source": ["dangol.rewards"], "detail-type": ["GoodwillCredited", "GoodwillRefused"]}),
    EVENTS_QUEUE,
)
OUTBOX_SWEEPER = Function(
    id="feedback-outbox",
    service="feedback",
    handler="services.feedback.handlers.outbox.lambda_handler",
    description="Publishes feedback events a crashed request left in the outbox.",
    memory_mb=256,
    timeout_s=60,
    tables=(TableAccess(FEEDBACK),),
    publishes_to=BUS,
)
OUTBOX_SWEEP = Schedule("feedback-outbox-sweep", "rate(5 minutes)", OUTBOX_SWEEPER, retry_attempts=0)

SERVICE = Service(
    name="feedback",
    tables=(FEEDBACK,),
    functions=(INTAKE, CASES, ALERTS, INSIGHTS_FN, SLA, API, DIGEST, POLLER, EVENTS, OUTBOX_SWEEPER),
    routes=(
        WEBHOOK_CHALLENGE,
        WEBHOOK_DELIVERY,
        MY_CASE_OPEN,
        MY_CASES,
        MY_CASE,
        MY_CASE_REPLY,
        MY_CASE_CONFIRM,
        MY_CASE_SCORE,
        CASE_LIST,
        CASE_OPEN,
        CASE_GET,
        CASE_TRANSITION,
        CASE_ASSIGN,
        CASE_ESCALATE,
        CASE_NOTE,
        CASE_CONFIRM,
        CASE_GOODWILL,
        DIGEST_LIST,
        DIGEST_GET,
        DIGEST_SUBSCRIBE,
        DIGEST_UNSUBSCRIBE,
    ),
    queues=(CASES_QUEUE, ALERTS_QUEUE, INSIGHTS_QUEUE, SLA_QUEUE, EVENTS_QUEUE),
    consumers=(
        Consumer(CASES, CASES_QUEUE, batch_size=10, max_concurrency=5),
        Consumer(ALERTS, ALERTS_QUEUE, batch_size=10, max_concurrency=2),
        Consumer(INSIGHTS_FN, INSIGHTS_QUEUE, batch_size=10, window_s=1, max_concurrency=2),
        Consumer(SLA, SLA_QUEUE, batch_size=10, max_concurrency=2),
        Consumer(EVENTS, EVENTS_QUEUE, batch_size=10, max_concurrency=5),
    ),
    topics=(MENTIONS, ON_DUTY),
    subscriptions=(
        # Complaints become cases; a negative mention this loud is told at once; everything counts.
        Subscription(MENTIONS, CASES_QUEUE, filter_policy=json.dumps({"complaint": ["true"]})),
        Subscription(
            MENTIONS,
            ALERTS_QUEUE,
            filter_policy=json.dumps(
                {"sentiment": ["negative"], "reach": [{"numeric": [">=", ALERT_REACH]}]}
            ),
        ),
        Subscription(MENTIONS, INSIGHTS_QUEUE),
    ),
    rules=(PROFILE_EVENTS, REWARDS_EVENTS),
    schedules=(DIGEST_RUN, OUTBOX_SWEEP, POLL_RUN),
    timers=(SLA_TIMERS,),
)

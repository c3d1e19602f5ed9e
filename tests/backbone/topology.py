"""A test system for the backbone: the profile service plus a "backbone" service whose
handlers (tests/backbone/handlers.py) count what they apply."""

from __future__ import annotations

import json

from services.profile import topology as profile
from shared.topology import (
    Attr,
    Consumer,
    EventBus,
    Function,
    Queue,
    Rule,
    Schedule,
    Service,
    Subscription,
    System,
    Table,
    TableAccess,
    Topic,
)

EFFECTS = Table("effects", Attr("pk"), ttl_attribute="expires_at")


def _function(function_id: str, entry: str) -> Function:
    return Function(
        id=function_id,
        service="backbone",
        handler=f"tests.backbone.handlers.{entry}",
        description=f"test {entry}",
        timeout_s=3,
        memory_mb=256,
        tables=(TableAccess(EFFECTS),),
    )


SINK = _function("backbone-sink", "sink_handler")
NAIVE = _function("backbone-naive", "naive_handler")
EVENTS = _function("backbone-events", "event_handler")

INBOX = Queue("inbox", max_receive_count=4)
NAIVE_INBOX = Queue("naive-inbox", max_receive_count=3)
CASES = Queue("cases")
INSIGHTS = Queue("insights")
MENTIONS = Topic("mentions")

# Input carries the occurrence's execution id: the handler applies each occurrence once.
GREETING = Schedule(
    "daily-greeting",
    "cron(0 9 * * ? *)",
    EVENTS,
    timezone="Asia/Seoul",
    input=json.dumps({"id": "<aws.scheduler.execution-id>", "kind": "greeting"}),
)

BACKBONE = Service(
    name="backbone",
    tables=(EFFECTS,),
    functions=(SINK, NAIVE, EVENTS),
    routes=(),
    queues=(INBOX, NAIVE_INBOX, CASES, INSIGHTS),
    consumers=(Consumer(SINK, INBOX, batch_size=5, window_s=1), Consumer(NAIVE, NAIVE_INBOX, batch_size=5)),
    topics=(MENTIONS,),
    subscriptions=(
        Subscription(MENTIONS, CASES, filter_policy=json.dumps({"kind": ["complaint"]})),
        Subscription(
            MENTIONS, INSIGHTS, filter_policy=json.dumps({"kind": ["complaint", "idea"]}), raw=False
        ),
    ),
    rules=(
        Rule("purchases-to-inbox", json.dumps({"detail-type": ["PurchaseRecorded"]}), INBOX),
        Rule(
            "registered-to-events",
            json.dumps({"detail-type": ["CustomerRegistered"]}),
            EVENTS,
            retry_attempts=2,
        ),
    ),
    schedules=(GREETING,),
)

TEST_SYSTEM = System(name="dangoltest", bus=EventBus("bus"), services=(profile.SERVICE, BACKBONE))

"""A topology that uses every part of the asynchronous backbone, for the template and
agreement tests (the real topology declares little of it yet).

The profile service (real name, so its code asset is the real one) gains:

- a worker that consumes ``profile-jobs`` (batch 25, 5 s window, at most 4 at once),
- a digest function that sends to ``profile-jobs`` and publishes on ``profile-changes``,
- two subscriptions of that topic: raw with a message-attribute filter, and enveloped
  with a message-body filter,
- a rule that routes bus events to ``profile-jobs`` and one that invokes the digest,
- a schedule every morning at 09:00 in Seoul (flexible window) that invokes the digest,
  and one every five minutes (no window) that sends to ``profile-jobs``.
"""

from __future__ import annotations

import json
from dataclasses import replace

from infra.topology import SYSTEM
from services.profile import topology as profile
from shared.topology import (
    Access,
    Consumer,
    Function,
    Queue,
    Rule,
    Schedule,
    Subscription,
    System,
    TableAccess,
    Topic,
)

JOBS = Queue("profile-jobs", max_receive_count=4, retention_days=7, dlq_retention_days=10)
WELCOMES = Queue("profile-welcomes", max_receive_count=3, visibility_timeout_s=90)
AUDIT = Queue("profile-audit", retention_days=14)
CHANGES = Topic("profile-changes")

WORKER = Function(
    id="profile-worker",
    service=profile.SERVICE.name,
    handler=profile.API.handler,
    description="Test: consumes profile jobs.",
    memory_mb=256,
    timeout_s=20,
    tables=(TableAccess(profile.PROFILES),),
)
DIGEST = Function(
    id="profile-digest",
    service=profile.SERVICE.name,
    handler=profile.API.handler,
    description="Test: sends jobs and publishes changes.",
    memory_mb=256,
    timeout_s=30,
    tables=(TableAccess(profile.PROFILES, Access.READ),),
    sends_to=(JOBS,),
    notifies=(CHANGES,),
)

CONSUMER = Consumer(WORKER, JOBS, batch_size=25, window_s=5, max_concurrency=4)
RAW = Subscription(CHANGES, WELCOMES, filter_policy=json.dumps({"event": ["ProfileCreated"]}))
ENVELOPED = Subscription(
    CHANGES,
    AUDIT,
    filter_policy=json.dumps({"tier": [{"anything-but": ["free"]}]}),
    filter_on="MessageBody",
    raw=False,
)
TO_QUEUE = Rule(
    "profile-created-to-jobs",
    json.dumps({"source": ["dangol.profile"], "detail-type": ["ProfileCreated"]}),
    JOBS,
    retry_attempts=3,
    max_event_age_s=3600,
)
TO_FUNCTION = Rule(
    "profile-erased-to-digest",
    json.dumps({"detail-type": ["ProfileErased"], "detail": {"reason": [{"prefix": "gdpr"}]}}),
    DIGEST,
)
MORNING = Schedule(
    "profile-morning-digest",
    "cron(0 9 * * ? *)",
    DIGEST,
    timezone="Asia/Seoul",
    input=json.dumps({"kind": "morning"}),
    flexible_window_min=15,
    retry_attempts=2,
    max_event_age_s=600,
)
SWEEP = Schedule("profile-jobs-sweep", "rate(5 minutes)", JOBS, input=json.dumps({"kind": "sweep"}))

SERVICE = replace(
    profile.SERVICE,
    functions=(*profile.SERVICE.functions, WORKER, DIGEST),
    queues=(*profile.SERVICE.queues, JOBS, WELCOMES, AUDIT),
    consumers=(*profile.SERVICE.consumers, CONSUMER),
    topics=(*profile.SERVICE.topics, CHANGES),
    subscriptions=(*profile.SERVICE.subscriptions, RAW, ENVELOPED),
    rules=(*profile.SERVICE.rules, TO_QUEUE, TO_FUNCTION),
    schedules=(*profile.SERVICE.schedules, MORNING, SWEEP),
)
# The profile service alone carries the backbone's extras: one stack must stay under CloudFormation's
# 500 resources, and the other services add nothing the backbone's tests look at.
BACKBONE: System = replace(SYSTEM, services=(SERVICE,))

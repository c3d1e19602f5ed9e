"""What the profile service owns and exposes: its table, its functions, its routes.

Plain data (see ``shared.topology``); the CDK stacks, the local runtime, the
resolver and the data-access layer all read it, so nothing here is written twice.
"""

from __future__ import annotations

from shared.auth import STAFF, Role
from shared.platform import BUS
from shared.topology import Attr, Function, Index, Route, Schedule, Service, Table, TableAccess

BY_EMAIL = Index("by-email", Attr("email_key"), projection="KEYS_ONLY")  # lower-cased e-mail
BY_PHONE = Index("by-phone", Attr("phone_key"), projection="KEYS_ONLY")  # E.164 phone

PROFILES = Table(
    id="profiles",
    partition_key=Attr("pk"),
    sort_key=Attr("sk"),
    indexes=(BY_EMAIL, BY_PHONE),
    ttl_attribute="expires_at",
)

API = Function(
    id="profile-api",
    service="profile",
    handler="services.profile.handlers.api.lambda_handler",
    description="Profile API: customers' own profiles (/me) and staff reads.",
    memory_mb=512,
    timeout_s=10,
    tables=(TableAccess(PROFILES, indexes=(BY_EMAIL.name, BY_PHONE.name)),),
    publishes_to=BUS,
)

OUTBOX_SWEEPER = Function(
    id="profile-outbox",
    service="profile",
    handler="services.profile.handlers.outbox.lambda_handler",
    description="Publishes profile events a crashed request left in the outbox.",
    memory_mb=256,
    timeout_s=60,
    tables=(TableAccess(PROFILES),),
    publishes_to=BUS,
    reserved_concurrency=1,
)
OUTBOX_SWEEP = Schedule("profile-outbox-sweep", "rate(5 minutes)", OUTBOX_SWEEPER, retry_attempts=0)

ANNIVERSARY_FINDER = Function(
    id="profile-anniversaries",
    service="profile",
    handler="services.profile.handlers.anniversaries.lambda_handler",
    description="Announces anniversaries due N days ahead of each customer's local morning.",
    memory_mb=512,
    timeout_s=120,
    tables=(TableAccess(PROFILES),),
    publishes_to=BUS,
    environment=(("ANNIVERSARY_LEAD_DAYS", "1"), ("ANNIVERSARY_MORNING_HOUR", "9")),
    reserved_concurrency=1,
)
ANNIVERSARY_SWEEP = Schedule(
    "profile-anniversary-finder", "cron(0/15 * * * ? *)", ANNIVERSARY_FINDER, retry_attempts=0
)

CUSTOMER = frozenset({Role.CUSTOMER})

ME_CREATE = Route("POST", "/me", API, CUSTOMER, "Create my profile", idempotent=True)
ME_GET = Route("GET", "/me", API, CUSTOMER, "Read my profile")
ME_UPDATE = Route("PATCH", "/me", API, CUSTOMER, "Update my profile", idempotent=True)
CUSTOMER_GET = Route("GET", "/customers/{customer_id}", API, STAFF, "Read a customer's profile (staff)")
CUSTOMER_FIND = Route("GET", "/customers", API, STAFF, "Find customers by exact e-mail or phone (staff)")
MY_CONSENTS = Route("GET", "/me/consents", API, CUSTOMER, "Read my consents")
MY_CONSENT_CHANGE = Route(
    "POST", "/me/consents", API, CUSTOMER, "Give or withdraw a consent", idempotent=True
)
CUSTOMER_CONSENTS = Route(
    "GET", "/customers/{customer_id}/consents", API, STAFF, "A customer's consents and their log (staff)"
)

SERVICE = Service(
    name="profile",
    tables=(PROFILES,),
    functions=(API, OUTBOX_SWEEPER, ANNIVERSARY_FINDER),
    routes=(
        ME_CREATE,
        ME_GET,
        ME_UPDATE,
        CUSTOMER_GET,
        CUSTOMER_FIND,
        MY_CONSENTS,
        MY_CONSENT_CHANGE,
        CUSTOMER_CONSENTS,
    ),
    schedules=(OUTBOX_SWEEP, ANNIVERSARY_SWEEP),
)

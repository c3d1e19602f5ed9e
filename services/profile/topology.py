"""What the profile service owns and exposes: its table, its functions, its routes.

Plain data (see ``shared.topology``); the CDK stacks, the local runtime, the
resolver and the data-access layer all read it, so nothing here is written twice.
"""

from __future__ import annotations

from shared.auth import STAFF, Role
from shared.topology import Attr, Function, Route, Service, Table, TableAccess

PROFILES = Table(
    id="profiles",
    partition_key=Attr("pk"),
    sort_key=Attr("sk"),
    ttl_attribute="expires_at",
)

API = Function(
    id="profile-api",
    service="profile",
    handler="services.profile.handlers.api.lambda_handler",
    description="Profile API: customers' own profiles (/me) and staff reads.",
    memory_mb=512,
    timeout_s=10,
    tables=(TableAccess(PROFILES),),
)

CUSTOMER = frozenset({Role.CUSTOMER})

ME_CREATE = Route("POST", "/me", API, CUSTOMER, "Create my profile", idempotent=True)
ME_GET = Route("GET", "/me", API, CUSTOMER, "Read my profile")
ME_UPDATE = Route("PATCH", "/me", API, CUSTOMER, "Update my profile", idempotent=True)
CUSTOMER_GET = Route("GET", "/customers/{customer_id}", API, STAFF, "Read a customer's profile (staff)")

SERVICE = Service(
    name="profile",
    tables=(PROFILES,),
    functions=(API,),
    routes=(ME_CREATE, ME_GET, ME_UPDATE, CUSTOMER_GET),
)

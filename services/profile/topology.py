"""What the profile service owns and exposes: its table, its functions, its routes.

Plain data (see ``shared.topology``); the CDK stacks, the local runtime, the
resolver and the data-access layer all read it, so nothing here is written twice.
"""

from __future__ import annotations

import json

from shared.auth import CARE, Role
from shared.platform import BUS
from shared.topology import (
    CONFIG_BODY_BYTES,
    Access,
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
    Table,
    TableAccess,
    UserPoolTrigger,
)

BY_EMAIL = Index("by-email", Attr("email_key"), projection="KEYS_ONLY")  # lower-cased e-mail
BY_PHONE = Index("by-phone", Attr("phone_key"), projection="KEYS_ONLY")  # E.164 phone
# Sparse: only profile items carry ``listed`` ("CUSTOMER"); customer ids are ULIDs, so the
# index lists customers in sign-up order. Its keys change only on create and erase.
CUSTOMER_LIST = Index("customer-list", Attr("listed"), Attr("customer_id"), projection="KEYS_ONLY")
# Profiles with a dedicated manager carry ``manager_id``: a manager's own customers.
BY_MANAGER = Index("by-manager", Attr("manager_id"), Attr("customer_id"), projection="KEYS_ONLY")

PROFILES = Table(
    id="profiles",
    partition_key=Attr("pk"),
    sort_key=Attr("sk"),
    indexes=(BY_EMAIL, BY_PHONE, CUSTOMER_LIST, BY_MANAGER),
    ttl_attribute="expires_at",
)

# Keys the digest of an erased login's e-mail, so a later sign-up by the same person is recognised
# (no second sign-up bonus) without keeping the address: a list of e-mails cannot be tried against
# the digests without this key, which lives only in Secrets Manager.
LOGIN_PEPPER = PlatformSecret("login-pepper", "Keys the digests of erased logins' e-mails")
# Signs the opt-out links of marketing messages (``logic/optout.py``): the contact cards sign them,
# the public unsubscribe routes verify them. Links never expire, so the key is never rotated away
# (a new key goes on the first line, the old ones stay below it).
UNSUBSCRIBE_KEY = PlatformSecret("unsubscribe-key", "Signs the opt-out links in marketing messages")

API = Function(
    id="profile-api",
    service="profile",
    handler="services.profile.handlers.api.lambda_handler",
    description="Profile API: customers' own profiles (/me) and staff reads.",
    memory_mb=512,
    timeout_s=10,
    tables=(TableAccess(PROFILES, indexes=(BY_EMAIL.name, BY_PHONE.name, CUSTOMER_LIST.name)),),
    publishes_to=BUS,
    logins=("AdminGetUser", "AdminDeleteUser"),  # erasure deletes the login
    secrets=(LOGIN_PEPPER, UNSUBSCRIBE_KEY),
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
)
ANNIVERSARY_SWEEP = Schedule(
    "profile-anniversary-finder", "cron(0/15 * * * ? *)", ANNIVERSARY_FINDER, retry_attempts=0
)

CUSTOMER = frozenset({Role.CUSTOMER})

ME_CREATE = Route("POST", "/me", API, CUSTOMER, "Create my profile", idempotent=True, versioned=True)
ME_GET = Route("GET", "/me", API, CUSTOMER, "Read my profile", versioned=True)
ME_UPDATE = Route("PATCH", "/me", API, CUSTOMER, "Update my profile", idempotent=True, versioned=True)
CUSTOMER_GET = Route(
    "GET", "/customers/{customer_id}", API, CARE, "Read a customer's profile (agents)", versioned=True
)
CUSTOMER_FIND = Route(
    "GET",
    "/customers",
    API,
    CARE,
    "Find customers by exact e-mail or phone (agents); without either, list every customer (admin, audited)",
)
MY_CONSENTS = Route("GET", "/me/consents", API, CUSTOMER, "Read my consents")
MY_CONSENT_CHANGE = Route(
    "POST", "/me/consents", API, CUSTOMER, "Give or withdraw a consent", idempotent=True, key_required=True
)
CUSTOMER_CONSENTS = Route(
    "GET", "/customers/{customer_id}/consents", API, CARE, "A customer's consents and their log (agents)"
)
# The opt-out link of a marketing message (RFC 8058 one-click): public, the signed token is the
# authority. POST withdraws (a mail client posts "List-Unsubscribe=One-Click"); GET only shows a
# page whose button posts, because link scanners fetch every GET of a message.
UNSUBSCRIBE = Route(
    "POST",
    "/unsubscribe/{token}",
    API,
    frozenset(),
    "Withdraw the consent an opt-out link names (one click, RFC 8058)",
    max_body_bytes=1024,  # "List-Unsubscribe=One-Click", or a small multipart form holding it
    media_types=("application/x-www-form-urlencoded", "multipart/form-data"),
    public=True,
)
UNSUBSCRIBE_PAGE = Route(
    "GET",
    "/unsubscribe/{token}",
    API,
    frozenset(),
    "The opt-out page of a link: a button that withdraws (changes nothing itself)",
    public=True,
)

CUSTOMER_UPDATE = Route(
    "PATCH",
    "/customers/{customer_id}",
    API,
    CARE,
    "Update a customer's profile (agents)",
    idempotent=True,
    versioned=True,
)
# Who linked a social handle (the feedback service links mentions by ``profile-handles`` instead).
CUSTOMER_BY_HANDLE = Route(
    "GET",
    "/customers/by-handle/{network}/{handle}",
    API,
    CARE,
    "Find the customer who linked a social handle (agents)",
)
MY_DEVICE_PUT = Route(
    "PUT", "/me/devices/{device_id}", API, CUSTOMER, "Register or refresh a push token", idempotent=True
)
MY_DEVICE_DELETE = Route("DELETE", "/me/devices/{device_id}", API, CUSTOMER, "Forget a device's push token")
MY_EXPORT = Route("GET", "/me/export", API, CUSTOMER, "Everything the service holds about me, as JSON")
MY_ERASE = Route("DELETE", "/me", API, CUSTOMER, "Erase me: profile, history and projections")
ADMINS = frozenset({Role.ADMIN})
CUSTOMER_EXPORT = Route(
    "GET", "/customers/{customer_id}/export", API, ADMINS, "Export a customer's data (admin)"
)
CUSTOMER_ERASE = Route("DELETE", "/customers/{customer_id}", API, ADMINS, "Erase a customer (admin)")

# -- behaviour intake: purchases and visits from store and e-commerce systems ----------------

PURCHASES = Queue("profile-purchases", max_receive_count=5)  # high volume: stores send here

INTAKE_API = Function(
    id="profile-intake-api",
    service="profile",
    handler="services.profile.handlers.intake_api.lambda_handler",
    description="Purchases and visits from store systems; a customer's usual; what sells when.",
    memory_mb=512,
    timeout_s=15,
    tables=(TableAccess(PROFILES),),
    publishes_to=BUS,
)
INTAKE = Function(
    id="profile-intake",
    service="profile",
    handler="services.profile.handlers.intake.lambda_handler",
    description="Records purchases, refunds and visits sent to the intake queue.",
    memory_mb=512,
    timeout_s=30,
    tables=(TableAccess(PROFILES),),
    publishes_to=BUS,
)
MACHINE = frozenset({Role.MACHINE})
MARKETING = frozenset({Role.MARKETING, Role.ADMIN})
PURCHASE_RECORD = Route(
    "POST",
    "/purchases",
    INTAKE_API,
    MACHINE,
    "Record a purchase (idempotent per external id)",
    max_body_bytes=64 * 1024,  # up to 100 lines with names in any script
)
PURCHASE_BATCH = Route(
    "POST",
    "/purchases/batch",
    INTAKE_API,
    MACHINE,
    "Record up to 100 purchases; each succeeds or fails on its own",
    max_body_bytes=1024 * 1024,
)
PURCHASE_REFUND = Route(
    "POST", "/purchases/{external_id}/refund", INTAKE_API, MACHINE, "Refund a recorded purchase"
)
VISIT_RECORD = Route("POST", "/visits", INTAKE_API, MACHINE, "Record a visit (idempotent per external id)")
VISIT_BATCH = Route(
    "POST", "/visits/batch", INTAKE_API, MACHINE, "Record up to 100 visits", max_body_bytes=512 * 1024
)
CUSTOMER_USUAL = Route(
    "GET", "/customers/{customer_id}/usual", INTAKE_API, CARE, "A customer's usual items by time of day"
)
CUSTOMER_PURCHASES = Route(
    "GET", "/customers/{customer_id}/purchases", INTAKE_API, CARE, "A customer's purchases, newest first"
)
STORE_POPULARITY = Route(
    "GET", "/stores/{store_id}/popularity", INTAKE_API, MARKETING, "What sells at each local hour of day"
)

# -- value and lifestyle groups --------------------------------------------------------------

SEGMENTS_QUEUE = Queue("profile-segments", max_receive_count=5)
SEGMENTS_API = Function(
    id="profile-segments-api",
    service="profile",
    handler="services.profile.handlers.segments_api.lambda_handler",
    description="Marketing's value model and lifestyle group rules; a customer's value.",
    memory_mb=512,
    timeout_s=10,
    tables=(TableAccess(PROFILES),),
    publishes_to=BUS,
)
SEGMENTER = Function(
    id="profile-segments",
    service="profile",
    handler="services.profile.handlers.segments.lambda_handler",
    description="Re-scores value and re-evaluates lifestyle groups of customers whose data changed.",
    memory_mb=512,
    timeout_s=30,
    tables=(TableAccess(PROFILES),),
    publishes_to=BUS,
)
NIGHTLY = Function(
    id="profile-nightly",
    service="profile",
    handler="services.profile.handlers.nightly.lambda_handler",
    description="Nightly: value scores age with recency and tenure, groups with age; re-evaluates all.",
    memory_mb=1024,
    timeout_s=900,
    tables=(TableAccess(PROFILES, indexes=(CUSTOMER_LIST.name,)),),
    publishes_to=BUS,
)
NIGHTLY_RUN = Schedule(
    "profile-nightly", "cron(30 3 * * ? *)", NIGHTLY, timezone="Asia/Seoul", retry_attempts=1
)
SEGMENT_TRIGGERS = Rule(
    "profile-segment-triggers",
    json.dumps(
        {
            "source": ["dangol.profile"],
            "detail-type": [
                "CustomerRegistered",
                "CustomerImported",
                "ProfileUpdated",
                "PurchaseRecorded",
                "PurchaseRefunded",
            ],
        }
    ),
    SEGMENTS_QUEUE,
)
VALUE_MODEL_GET = Route(
    "GET", "/admin/value-model", SEGMENTS_API, MARKETING, "The value score model", versioned=True
)
VALUE_MODEL_PUT = Route(
    "PUT",
    "/admin/value-model",
    SEGMENTS_API,
    MARKETING,
    "Change the value model (versioned)",
    idempotent=True,
    max_body_bytes=CONFIG_BODY_BYTES,
    versioned=True,
)
GROUPS_LIST = Route("GET", "/admin/lifestyle-groups", SEGMENTS_API, MARKETING, "The lifestyle groups")
GROUP_CREATE = Route(
    "POST",
    "/admin/lifestyle-groups",
    SEGMENTS_API,
    MARKETING,
    "Define a lifestyle group",
    idempotent=True,
    max_body_bytes=CONFIG_BODY_BYTES,
    key_required=True,
    versioned=True,
)
GROUP_GET = Route(
    "GET", "/admin/lifestyle-groups/{group_id}", SEGMENTS_API, MARKETING, "A lifestyle group", versioned=True
)
GROUP_UPDATE = Route(
    "PUT",
    "/admin/lifestyle-groups/{group_id}",
    SEGMENTS_API,
    MARKETING,
    "Change a lifestyle group's rules",
    idempotent=True,
    max_body_bytes=CONFIG_BODY_BYTES,
    versioned=True,
)
GROUP_DELETE = Route(
    "DELETE",
    "/admin/lifestyle-groups/{group_id}",
    SEGMENTS_API,
    MARKETING,
    "Retire a lifestyle group",
    versioned=True,
)
CUSTOMER_VALUE = Route(
    "GET", "/customers/{customer_id}/value", SEGMENTS_API, CARE, "A customer's value score and segment"
)

# -- the contact log, dedicated managers and bulk import -------------------------------------

IMPORTS_QUEUE = Queue("profile-imports", max_receive_count=5)
CRM_API = Function(
    id="profile-crm-api",
    service="profile",
    handler="services.profile.handlers.crm_api.lambda_handler",
    description="Staff's contact log and dedicated managers; marketing's CSV imports.",
    memory_mb=1024,
    timeout_s=29,
    tables=(TableAccess(PROFILES, indexes=(BY_MANAGER.name,)),),
    publishes_to=BUS,
    sends_to=(IMPORTS_QUEUE,),
)
IMPORTER = Function(
    id="profile-importer",
    service="profile",
    handler="services.profile.handlers.importer.lambda_handler",
    description="Imports the valid rows of a CSV import job, chunk by chunk, idempotently.",
    memory_mb=1024,
    timeout_s=120,
    tables=(TableAccess(PROFILES),),
    publishes_to=BUS,
)
CONTACT_RECORD = Route(
    "POST",
    "/customers/{customer_id}/contacts",
    CRM_API,
    CARE,
    "Record a contact",
    idempotent=True,
    max_body_bytes=CONFIG_BODY_BYTES,  # a 2,000-character note, \u-escaped, is 12 KB
    key_required=True,
)
CONTACT_LIST = Route(
    "GET", "/customers/{customer_id}/contacts", CRM_API, CARE, "A customer's contacts, newest first"
)
MANAGER_ASSIGN = Route(
    "PUT", "/customers/{customer_id}/manager", CRM_API, CARE, "Assign a dedicated manager", idempotent=True
)
MANAGER_UNASSIGN = Route(
    "DELETE", "/customers/{customer_id}/manager", CRM_API, CARE, "Remove the dedicated manager"
)
MY_MANAGED = Route("GET", "/staff/me/customers", CRM_API, CARE, "The customers I manage")
IMPORT_START = Route(
    "POST",
    "/imports",
    CRM_API,
    MARKETING,
    "Import customers from CSV: validates every row, imports the rest",
    max_body_bytes=5 * 1024 * 1024,
    idempotent=True,
    media_types=("text/csv",),
    key_required=True,
)
IMPORT_GET = Route("GET", "/imports/{job_id}", CRM_API, MARKETING, "An import job's progress")
IMPORT_REJECTIONS = Route(
    "GET", "/imports/{job_id}/rejections", CRM_API, MARKETING, "The rows an import rejected, with reasons"
)

# -- contact cards: what the campaigns sender needs at the moment of sending -------------------

# Invoked directly (no route, no public surface) by the functions named here, and only them: IAM on
# AWS, the local runtime's Invoke endpoint locally (``docs/decisions.md``). The callers are named by
# id: the campaigns service cannot be imported here, nor this one there.
CONTACTS = Function(
    id="profile-contacts",
    service="profile",
    handler="services.profile.handlers.cards.lambda_handler",
    description="Contact cards of up to 100 customers, for the campaigns sender (invoked directly).",
    memory_mb=512,
    timeout_s=15,
    tables=(TableAccess(PROFILES, Access.READ),),
    # The sender, the templates' preview, and a campaign's dry run (the sender's decisions for a sample).
    invoked_by=("campaigns-sender", "campaigns-templates-api", "campaigns-api"),
    secrets=(UNSUBSCRIBE_KEY,),  # it signs the cards' opt-out links
    links_to_api=True,  # ... on the public API's URL
)

# -- social handles: the customer behind a public mention -----------------------------------------

# Invoked directly, like the contact cards, by the feedback intake only: it links a mention to the
# customer who linked its author's handle, and gets nothing of the customer but the id.
HANDLES = Function(
    id="profile-handles",
    service="profile",
    handler="services.profile.handlers.handles.lambda_handler",
    description="The customers behind up to 100 social handles, for the feedback intake (invoked directly).",
    memory_mb=256,
    timeout_s=10,
    tables=(TableAccess(PROFILES, Access.READ),),
    invoked_by=("feedback-intake",),
)

SIGNUP = Function(
    id="profile-signup",
    service="profile",
    handler="services.profile.handlers.signup.lambda_handler",
    description="The user pool's post-confirmation trigger: a self-signed-up login is a customer.",
    memory_mb=256,
    timeout_s=5,  # Cognito waits 5 s for a trigger
    logins=("AdminAddUserToGroup",),
)
SIGNUP_TRIGGER = UserPoolTrigger("PostConfirmation", SIGNUP)

# -- what the campaigns service learnt of a customer's channels while sending ----------------------

CHANNEL_EVENTS_QUEUE = Queue("profile-channel-events", max_receive_count=5)
DELIVERABILITY = Function(
    id="profile-deliverability",
    service="profile",
    handler="services.profile.handlers.deliverability.lambda_handler",
    description="Marks an e-mail that bounced or drew a complaint, or a dead push token, unverified.",
    memory_mb=256,
    timeout_s=30,
    tables=(TableAccess(PROFILES),),
)
CAMPAIGNS_CHANNEL_EVENTS = Rule(
    "profile-campaigns-channel-events",
    json.dumps({"source": ["dangol.campaigns"], "detail-type": ["EmailUndeliverable", "PushTokenDisabled"]}),
    CHANNEL_EVENTS_QUEUE,
)

SERVICE = Service(
    name="profile",
    tables=(PROFILES,),
    functions=(
        API,
        OUTBOX_SWEEPER,
        ANNIVERSARY_FINDER,
        INTAKE_API,
        INTAKE,
        SEGMENTS_API,
        SEGMENTER,
        NIGHTLY,
        CRM_API,
        IMPORTER,
        SIGNUP,
        CONTACTS,
        HANDLES,
        DELIVERABILITY,
    ),
    routes=(
        ME_CREATE,
        ME_GET,
        ME_UPDATE,
        MY_ERASE,
        MY_EXPORT,
        MY_DEVICE_PUT,
        MY_DEVICE_DELETE,
        CUSTOMER_GET,
        CUSTOMER_UPDATE,
        CUSTOMER_FIND,
        CUSTOMER_BY_HANDLE,
        CUSTOMER_EXPORT,
        CUSTOMER_ERASE,
        MY_CONSENTS,
        MY_CONSENT_CHANGE,
        CUSTOMER_CONSENTS,
        UNSUBSCRIBE,
        UNSUBSCRIBE_PAGE,
        PURCHASE_RECORD,
        PURCHASE_BATCH,
        PURCHASE_REFUND,
        VISIT_RECORD,
        VISIT_BATCH,
        CUSTOMER_USUAL,
        CUSTOMER_PURCHASES,
        STORE_POPULARITY,
        VALUE_MODEL_GET,
        VALUE_MODEL_PUT,
        GROUPS_LIST,
        GROUP_CREATE,
        GROUP_GET,
        GROUP_UPDATE,
        GROUP_DELETE,
        CUSTOMER_VALUE,
        CONTACT_RECORD,
        CONTACT_LIST,
        MANAGER_ASSIGN,
        MANAGER_UNASSIGN,
        MY_MANAGED,
        IMPORT_START,
        IMPORT_GET,
        IMPORT_REJECTIONS,
    ),
    queues=(PURCHASES, SEGMENTS_QUEUE, IMPORTS_QUEUE, CHANNEL_EVENTS_QUEUE),
    consumers=(
        Consumer(INTAKE, PURCHASES, batch_size=10, max_concurrency=20),  # stores' high volume
        Consumer(SEGMENTER, SEGMENTS_QUEUE, batch_size=10, window_s=1, max_concurrency=5),
        Consumer(IMPORTER, IMPORTS_QUEUE, batch_size=1, max_concurrency=2),  # a few files at a time
        Consumer(DELIVERABILITY, CHANNEL_EVENTS_QUEUE, batch_size=10, max_concurrency=2),
    ),
    rules=(SEGMENT_TRIGGERS, CAMPAIGNS_CHANNEL_EVENTS),
    schedules=(OUTBOX_SWEEP, ANNIVERSARY_SWEEP, NIGHTLY_RUN),
    triggers=(SIGNUP_TRIGGER,),
)

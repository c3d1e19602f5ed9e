"""The profile API: thin routes that parse, call one logic function and return a model."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import Field

from services.profile.dal.audit import record_access
from services.profile.dal.consent import DynamoConsentStore
from services.profile.dal.handles import DynamoHandleStore
from services.profile.dal.keys import claims
from services.profile.dal.logins import CognitoLogins, pool_of
from services.profile.dal.privacy import DynamoPrivacyStore
from services.profile.dal.profiles import DynamoProfileStore
from services.profile.handlers.env import ProfileSettings
from services.profile.logic import consent, handles, optout, privacy, profiles
from services.profile.models.consent import ConsentChange, ConsentState, Unsubscribed
from services.profile.models.handles import ANY_HANDLE_PATTERN, CustomerByHandle, Network
from services.profile.models.privacy import CustomerExport
from services.profile.models.profile import (
    DEVICE_ID_PATTERN,
    PHONE_PATTERN,
    DeviceRegistration,
    Profile,
    ProfileCreate,
    ProfileUpdate,
)
from services.profile.topology import (
    API,
    CUSTOMER_BY_HANDLE,
    CUSTOMER_CONSENTS,
    CUSTOMER_ERASE,
    CUSTOMER_EXPORT,
    CUSTOMER_FIND,
    CUSTOMER_GET,
    CUSTOMER_UPDATE,
    LOGIN_PEPPER,
    ME_CREATE,
    ME_GET,
    ME_UPDATE,
    MY_CONSENT_CHANGE,
    MY_CONSENTS,
    MY_DEVICE_DELETE,
    MY_DEVICE_PUT,
    MY_ERASE,
    MY_EXPORT,
    SERVICE,
    UNSUBSCRIBE,
    UNSUBSCRIBE_KEY,
    UNSUBSCRIBE_PAGE,
)
from shared import aws, secrets
from shared.api import JSON, make_resolver, no_content, parse_if_match, respond
from shared.auth import Role
from shared.clock import utc_now
from shared.dynamo import DynamoTable
from shared.errors import Forbidden, NotFound
from shared.idempotency import IdempotencyStore
from shared.ids import new_id
from shared.observability import make_logger, make_metrics
from shared.pagination import Page, decode_cursor, encode_cursor, page_size
from shared.params import Cursor, CustomerId, Limit
from shared.settings import ConfigurationError, ListSettings, load

logger = make_logger()
metrics = make_metrics()


class ApiSettings(ProfileSettings, ListSettings):
    """The profile API's settings: the profile functions' plus the cursor signing key and the key
    of erased logins' e-mail digests (both read from Secrets Manager at first use)."""

    login_pepper_secret: str = Field(alias=LOGIN_PEPPER.env_var, min_length=1)
    unsubscribe_key_secret: str = Field(alias=UNSUBSCRIBE_KEY.env_var, min_length=1)

    @property
    def login_pepper(self) -> str:
        return secrets.secret_string(self.login_pepper_secret)

    def unsubscribe_keys(self) -> tuple[bytes, ...]:
        """The keys opt-out links are verified with (read at first use, never in the environment)."""
        try:
            return optout.signing_keys(secrets.secret_string(self.unsubscribe_key_secret))
        except ValueError as exc:
            raise ConfigurationError(str(exc)) from None


@dataclass(frozen=True)
class Dependencies:
    settings: ApiSettings
    store: DynamoProfileStore
    consents: DynamoConsentStore
    privacy: DynamoPrivacyStore
    handles: DynamoHandleStore
    idempotency: IdempotencyStore
    logins: CognitoLogins


@functools.cache
def dependencies() -> Dependencies:
    """Built once per cold start, on first use (settings validated here)."""
    settings = load(ApiSettings)
    table = DynamoTable(settings.profiles_table, aws.client("dynamodb"))
    store = DynamoProfileStore(table, settings.publisher())
    return Dependencies(
        settings=settings,
        store=store,
        consents=DynamoConsentStore(store),
        privacy=DynamoPrivacyStore(store),
        handles=DynamoHandleStore(table),
        idempotency=claims(table, lock_s=API.timeout_s),
        logins=CognitoLogins(),
    )


app = make_resolver(SERVICE, API, idempotency_store=lambda: dependencies().idempotency)


def _with_etag(profile: Profile, status: int = 200) -> Response[Profile]:
    return respond(profile, status=status, version=profile.version)


@app.on(ME_CREATE, status=201, description="Created", errors=(409,))
def create_me(body: ProfileCreate) -> Response[Profile]:
    deps, caller = dependencies(), app.caller
    privacy.usable_login(deps.privacy, caller.subject)
    profile = profiles.register(
        deps.store,
        caller.subject,
        body,
        clock=utc_now,
        new_id=lambda: new_id("cus"),
        username=caller.username,
        returning=privacy.returning(deps.privacy, caller.email, lambda: deps.settings.login_pepper),
    )
    metrics.add_metric(name="ProfileCreated", unit="Count", value=1)
    logger.info("profile created", extra={"customer_id": profile.customer_id})
    return _with_etag(profile, 201)


@app.on(ME_GET, errors=(404,))
def get_me() -> Response[Profile]:
    return _with_etag(profiles.my_profile(dependencies().store, app.caller.subject))


@app.on(ME_UPDATE, errors=(404, 412))
def update_me(body: ProfileUpdate) -> Response[Profile]:
    expected = parse_if_match(app.current_event.headers.get("If-Match"))
    profile = profiles.update_mine(
        dependencies().store, app.caller.subject, body, expected_version=expected, clock=utc_now
    )
    return _with_etag(profile)


@app.on(CUSTOMER_GET, errors=(404,))
def get_customer(customer_id: CustomerId) -> Response[Profile]:
    return _with_etag(profiles.customer(dependencies().store, customer_id))


@app.on(CUSTOMER_UPDATE, errors=(404, 412))
def update_customer(customer_id: CustomerId, body: ProfileUpdate) -> Response[Profile]:
    expected = parse_if_match(app.current_event.headers.get("If-Match"))
    profile = profiles.update_customer(
        dependencies().store, customer_id, body, expected_version=expected, clock=utc_now
    )
    return _with_etag(profile)


@app.on(CUSTOMER_FIND, errors=(400,))  # 403 listing_not_allowed: always declared
def find_customers(
    email: Annotated[
        str | None, Query(min_length=3, max_length=254, description="Exact e-mail, any case")
    ] = None,
    phone: Annotated[str | None, Query(pattern=PHONE_PATTERN, description="Exact E.164 phone")] = None,
    limit: Limit = None,
    cursor: Cursor = None,
) -> Page[Profile]:
    """By exact e-mail or phone (an index lookup), or else every customer in sign-up order, paged:
    that listing of everyone's personal data is an administrator's alone, and each page read is
    recorded (who, when, which page) in the access audit."""
    deps = dependencies()
    if email is not None or phone is not None:
        return Page[Profile](items=profiles.find(deps.store, email=email, phone=phone))
    if not app.caller.has_any({Role.ADMIN}):
        raise Forbidden(
            "Listing every customer is for administrators; find one by e-mail or phone.",
            code="listing_not_allowed",
        )
    record_access(
        deps.store.table,
        actor=app.caller.subject,
        action="list-customers",
        detail={"limit": limit or 0, "continued": cursor is not None},
        at=utc_now(),
    )
    size, scope = page_size(limit), CUSTOMER_FIND.key
    start = decode_cursor(cursor, scope=scope, key=deps.settings.cursor_key)
    items, last = deps.store.page(limit=size, start=start)
    return Page[Profile](
        items=items, next_cursor=encode_cursor(last, scope=scope, key=deps.settings.cursor_key)
    )


@app.on(CUSTOMER_BY_HANDLE)  # 404 handle_not_linked
def customer_by_handle(
    network: Annotated[Network, Path(description="The social network")],
    handle: Annotated[
        str, Path(pattern=ANY_HANDLE_PATTERN, description="The handle, with or without @, in any case")
    ],
) -> CustomerByHandle:
    """The customer who linked the handle in their profile: their id only (read the profile at
    ``GET /customers/{customer_id}``)."""
    return handles.customer_by_handle(dependencies().handles, network, handle)


@app.on(CUSTOMER_EXPORT)
def export_customer(customer_id: CustomerId) -> CustomerExport:
    exported = privacy.export(dependencies().privacy, customer_id, clock=utc_now)
    record_access(
        dependencies().store.table,
        actor=app.caller.subject,
        action="export-customer",
        detail={"customer_id": customer_id},
        at=exported.exported_at,
    )
    logger.info("customer data exported", extra={"customer_id": customer_id, "by": "admin"})
    return exported


@app.on(CUSTOMER_ERASE, status=204, description="Erased", errors=(409,))
def erase_customer(customer_id: CustomerId) -> Response[None]:
    privacy.erase(dependencies().privacy, customer_id, by="admin", clock=utc_now, login=_login_erasure())
    logger.info("customer erased", extra={"customer_id": customer_id, "by": "admin"})
    return no_content()


@app.on(MY_EXPORT)
def export_me() -> CustomerExport:
    return privacy.export(dependencies().privacy, _my_customer_id(), clock=utc_now)


@app.on(MY_ERASE, status=204, description="Erased", errors=(409,))
def erase_me() -> Response[None]:
    customer_id = _my_customer_id()
    privacy.erase(dependencies().privacy, customer_id, by="customer", clock=utc_now, login=_login_erasure())
    logger.info("customer erased", extra={"customer_id": customer_id, "by": "customer"})
    return no_content()


def _login_erasure() -> privacy.LoginErasure | None:
    """The pool is the caller's (customers and staff sign in to the same one)."""
    deps, issuer = dependencies(), app.caller.issuer
    if not issuer:
        return None
    return privacy.LoginErasure(deps.logins, pool_of(issuer), lambda: deps.settings.login_pepper)


@app.on(MY_DEVICE_PUT, errors=(404,))
def register_device(
    device_id: Annotated[str, Path(pattern=DEVICE_ID_PATTERN)], body: DeviceRegistration
) -> Response[Profile]:
    profile = profiles.register_device(
        dependencies().store, app.caller.subject, device_id, body, clock=utc_now
    )
    return _with_etag(profile)


@app.on(MY_DEVICE_DELETE, status=204, description="Forgotten")
def forget_device(device_id: Annotated[str, Path(pattern=DEVICE_ID_PATTERN)]) -> Response[None]:
    profiles.forget_device(dependencies().store, app.caller.subject, device_id, clock=utc_now)
    return no_content()


def _my_customer_id() -> str:
    customer_id = dependencies().store.customer_id_of(app.caller.subject)
    if customer_id is None:
        raise NotFound("No profile exists for this customer.", code="profile_not_found")
    return customer_id


@app.on(MY_CONSENTS, errors=(404,))
def my_consents() -> ConsentState:
    me = profiles.my_profile(dependencies().store, app.caller.subject)
    return dependencies().consents.state(me.customer_id)


@app.on(MY_CONSENT_CHANGE, status=201, description="Recorded", errors=(404, 409))
def change_my_consent(body: ConsentChange) -> Response[ConsentState]:
    deps = dependencies()
    customer_id = deps.store.customer_id_of(app.caller.subject)
    state = consent.change(deps.consents, customer_id, body, actor="customer", clock=utc_now)
    return respond(state, status=201)


@app.on(CUSTOMER_CONSENTS, errors=(404,))
def customer_consents(customer_id: CustomerId) -> ConsentState:
    profiles.customer(dependencies().store, customer_id)
    return dependencies().consents.state(customer_id, history=100)


# -- the opt-out link (public: no token, no caller; the signed link is the authority) -----------

LinkToken = Annotated[str, Path(description="The opt-out link's signed token, as the message carries it")]
HTML = "text/html; charset=utf-8"


def _wants_html() -> bool:
    """A person's browser (the page's button) rather than a mail client's one-click POST."""
    return "text/html" in (app.current_event.headers.get("Accept") or "")


@app.on(UNSUBSCRIBE, errors=(404,))
def unsubscribe(token: LinkToken) -> Response[Unsubscribed | str]:
    """RFC 8058 one-click: the body ("List-Unsubscribe=One-Click", or none) is not needed, the token
    says everything. Idempotent by itself: a second click records and publishes nothing. A browser
    (the page's button, ``Accept: text/html``) gets a page saying it is done; anyone else, JSON."""
    optout.shaped(token)  # not even a token's shape: 404 before anything is read
    deps = dependencies()
    opt_out = optout.unsubscribe(deps.consents, token, deps.settings.unsubscribe_keys, clock=utc_now)
    metrics.add_metric(name="OptOutFollowed", unit="Count", value=1)
    if _wants_html():
        return Response(200, HTML, optout.page(opt_out, done=True), dict(optout.PAGE_HEADERS))
    return Response(200, JSON, Unsubscribed(channel=opt_out.channel, purpose=opt_out.purpose))


@app.on(UNSUBSCRIBE_PAGE, errors=(404,), content_type="text/html")
def unsubscribe_page(token: LinkToken) -> Response[str]:
    """The page behind the link: a button that POSTs. Changes nothing (link scanners GET)."""
    opt_out = optout.checked(optout.shaped(token), dependencies().settings.unsubscribe_keys)
    return Response(200, HTML, optout.page(opt_out, done=False), dict(optout.PAGE_HEADERS))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)

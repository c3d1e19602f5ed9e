"""What the route fuzzer starts from: a valid request for every JSON route, and a world in which
it is accepted.

A base body is derived from the route's own request model: its JSON schema's documented examples,
and, for a required field without one, a value built from the schema (an enum's first value, a
number within its bounds, an object of its required fields...). What a schema cannot say is in
``OWN``, a table of this module's own: values that name something of the world (the customer, a
coupon's code), rules across fields (a gift ends after it starts), and patterned strings without
an example. The fuzzer asserts that every base request is accepted (2xx) before each property
breaks one thing in it, so a property's 4xx can only come from what it broke.

Path ids are well-formed (``PATH_IDS``), so validation never refuses the path; the acceptance
test makes them exist first (``GIVEN``). The functions' clock stands still at ``NOW``, so that
the examples' dates are in the past or the future the same way on every run.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel

from infra.topology import SYSTEM
from services.profile.logic import optout
from services.profile.topology import UNSUBSCRIBE_KEY
from shared import secrets
from shared.auth import Role
from shared.topology import Route
from tests.integration.apigw import ApiResponse, Invoker, api_event

# The functions' frozen clock: after every documented example's date (2025-03-14 08:10 and 09:30 in
# Seoul), before the validity windows the table below gives.
NOW = datetime(2025, 3, 14, 3, 0, tzinfo=UTC)  # 12:00 in Seoul
SUBJECT = "fuzz-subject"


@dataclass(frozen=True)
class Ids:
    """What a request names: its caller and the ids in its path and body. Well-formed by default
    (validation accepts them); the acceptance test replaces them with ids that exist."""

    subject: str = SUBJECT
    customer_id: str = "cus_01M82AEKG51WJP0K379AYG4E2W"
    device_id: str = "phone-1"
    external_id: str = "pos-1-000123"
    store_id: str = "gangnam-01"
    group_id: str = "young-families"
    import_job_id: str = "imp_01M82AEKG51WJP0K379AYG4E2W"
    grant_job_id: str = "pgj_01M82AEKG51WJP0K379AYG4E2W"
    order_id: str = "order-1"
    version: str = "0"  # earn rules version 0 (the built-in defaults) exists in every system
    template_id: str = "ctp_01M82AEKG51WJP0K379AYG4E2W"
    gift_id: str = "gft_01M82AEKG51WJP0K379AYG4E2W"
    draw: str = "1"  # a gift's scheduled draw (its number)
    segment_id: str = "seg_01M82AEKG51WJP0K379AYG4E2W"
    preview_id: str = "spv_01M82AEKG51WJP0K379AYG4E2W"  # a segment preview job
    message_template_id: str = "tpl_01M82AEKG51WJP0K379AYG4E2W"  # a campaigns message template
    message_channel: str = "email"  # that template's channel
    campaign_id: str = "cmp_01M82AEKG51WJP0K379AYG4E2W"
    offer_id: str = "ofr_01M82AEKG51WJP0K379AYG4E2W"  # an offer waiting at login
    code: str = "ABCD-EFGH-JKMN-PQRS"  # a coupon's code
    member_code: str = "A1B2C-D3E4F"  # what the customer's app shows at the counter
    token: str = "bm90LWEtdG9rZW4.AAAAAAAAAAAAAAAAAAAAAA"  # an opt-out link's (well-shaped, unsigned)
    network: str = "x"  # a social network a customer links a handle of
    handle: str = "minji_kim"  # a handle of it (linked by no one: a lookup is a 404)
    source: str = "x"  # a social source the feedback service takes webhooks from
    case_id: str = "case_01M82AEKG51WJP0K379AYG4E2W"  # a complaint case
    week: str = "2026-W49"  # a week of the feedback digests


def path_params(route: Route, ids: Ids) -> dict[str, str]:
    """The route's path parameters named by ``ids`` (a job id is an import's or a grant's)."""
    params = {}
    for name in route.path_params:
        if name == "job_id":
            name_in_ids = "import_job_id" if route.path.startswith("/imports") else "grant_job_id"
        elif name == "version" and route.path.startswith(("/admin/segments", "/admin/templates")):
            params[name] = "1"  # a segment's and a message template's versions start at 1
            continue
        elif name == "template_id" and route.path.startswith("/admin/templates"):
            name_in_ids = "message_template_id"
        else:
            name_in_ids = name
        params[name] = str(getattr(ids, name_in_ids))
    return params


def event(
    route: Route,
    ids: Ids,
    *,
    body: Any = None,
    params: Mapping[str, str] | None = None,
    groups: str | None = None,
    **kw: Any,
) -> dict[str, Any]:
    """An API Gateway event for the route, called by its first allowed role unless ``groups`` says; a
    public route is called as API Gateway passes it on, with no authorizer (and a form body)."""
    params = dict(params) if params is not None else path_params(route, ids)
    if route.public and groups is None:
        form = {"Content-Type": route.media_types[0]} if route.has_body else {}
        return api_event(
            "profile_get_me",
            method=route.method,
            resource=route.path,
            path_parameters=params or None,
            path=None if params else route.path,
            body=body,
            claims=None,
            **{"headers": {**form, **(kw.pop("headers", None) or {})}, **kw},
        )
    return api_event(
        "profile_get_me",
        method=route.method,
        resource=route.path,
        path_parameters=params or None,
        path=None if params else route.path,
        body=body,
        sub=ids.subject,
        groups=groups if groups is not None else role_for(route).value,
        **kw,
    )


def role_for(route: Route) -> Role:
    return sorted(route.allow)[0]


# --- the request model ---------------------------------------------------------------------------


def request_model(route: Route) -> type[BaseModel] | None:
    """The pydantic model the route's handler takes as its body (from the function's resolver),
    or None when it takes none."""
    app = importlib.import_module(route.function.module).app
    for registered in [*app._static_routes, *app._dynamic_routes]:
        if route.method in registered.method and registered.path == route.powertools_path:
            bodies = [p.type_ for p in registered.dependant.body_params]
            if not bodies:
                return None
            (model,) = bodies
            assert isinstance(model, type)
            assert issubclass(model, BaseModel)
            return model
    raise LookupError(f"{route.key} has no handler in {route.function.module}")


def request_schema(route: Route) -> dict[str, Any]:
    """The JSON schema of the route's body, with its $refs resolved, from the function's own spec."""
    app = importlib.import_module(route.function.module).app
    spec = json.loads(app.get_openapi_json_schema())
    operation = spec["paths"][route.path][route.method.lower()]
    schema: dict[str, Any] = operation["requestBody"]["content"]["application/json"]["schema"]
    components = spec.get("components", {}).get("schemas", {})
    while "$ref" in schema:
        schema = components[schema["$ref"].rsplit("/", 1)[-1]]
    return schema


class NoExample(LookupError):
    """A required field the schema cannot give a valid value for: document an example on the model
    (``Field(examples=[...])``) or give one in ``OWN``."""


def _example(schema: Mapping[str, Any], defs: Mapping[str, Any], where: str) -> Any:
    if "$ref" in schema:
        return _example(defs[schema["$ref"].rsplit("/", 1)[-1]], defs, where)
    if schema.get("examples"):
        return schema["examples"][0]
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    options = schema.get("anyOf") or schema.get("oneOf")
    if options:
        chosen = next(o for o in options if o.get("type") != "null")
        return _example(chosen, defs, where)
    kind = schema.get("type")
    if kind == "object":
        return _object(schema, defs, where)
    if kind == "array":
        return [_example(schema.get("items", {}), defs, f"{where}[]")] * max(1, schema.get("minItems", 1))
    if kind == "integer":
        low, high = schema.get("minimum", 1), schema.get("maximum", 1)
        return max(low, min(1, high))
    if kind == "boolean":
        return True
    if kind == "string" and not schema.get("pattern") and not schema.get("format"):
        return "x" * max(1, schema.get("minLength", 1))
    raise NoExample(f"{where}: no example for {json.dumps(schema)[:200]}")


def _object(
    schema: Mapping[str, Any], defs: Mapping[str, Any], where: str, given: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Each documented field's example, a value for each required field without one, and ``given``."""
    given = given or {}
    required = set(schema.get("required", ()))
    body = {}
    for name, prop in schema.get("properties", {}).items():
        if name in given:
            continue
        documented = prop.get("examples") or [
            e for option in prop.get("anyOf", ()) for e in option.get("examples", ())
        ]
        if documented:
            body[name] = documented[0]
        elif name in required:
            body[name] = _example(prop, defs, f"{where}.{name}")
    return {**body, **given}


def documented_body(model: type[BaseModel], own: Mapping[str, Any]) -> dict[str, Any]:
    """The model's documented examples, ``own``'s values, and values built from the schema for the
    other required fields."""
    schema = model.model_json_schema()
    return _object(schema, schema.get("$defs", {}), model.__name__, own)


# What a schema cannot say, per route: values that name something in the world, rules across
# fields, and patterned strings without a documented example. Everything else comes from the model.
OWN: dict[str, Callable[[Ids], dict[str, Any]]] = {
    "POST /member-codes/lookup": lambda ids: {"member_code": ids.member_code},
    "PUT /customers/{customer_id}/holds/{order_id}": lambda ids: {"member_code": ids.member_code},
    "PUT /me/devices/{device_id}": lambda ids: {"token": "fcm-token-0123456789"},
    "POST /purchases": lambda ids: {"customer_id": ids.customer_id, "external_id": ids.external_id},
    "POST /purchases/batch": lambda ids: {"purchases": [base_body(PURCHASE, ids)]},
    "POST /visits": lambda ids: {"customer_id": ids.customer_id},
    "POST /visits/batch": lambda ids: {"visits": [base_body(VISIT, ids)]},
    "POST /customers/{customer_id}/points/adjustments": lambda ids: {"points": 100, "reason": "goodwill"},
    "POST /admin/point-grants": lambda ids: {"customer_ids": [ids.customer_id], "points": 100},
    "POST /admin/coupon-templates": lambda ids: {
        "discount": {"kind": "amount", "amount": 1000, "currency": "KRW"},
        "valid_until": "2025-12-31T23:59:59+09:00",  # after valid_from, the documented example
    },
    "POST /admin/coupon-templates/{template_id}/issuances": lambda ids: {"customer_ids": [ids.customer_id]},
    "POST /coupon-redemptions": lambda ids: {
        "code": ids.code,
        "order_id": ids.order_id,
        "customer_id": ids.customer_id,
        "order_total": 25_000,
        "member_code": ids.member_code,
    },
    "POST /admin/campaigns": lambda ids: {
        "segment_id": ids.segment_id,
        "template_id": ids.message_template_id,
        "channel": ids.message_channel,
    },
    "PUT /admin/campaigns/{campaign_id}": lambda ids: {
        "segment_id": ids.segment_id,
        "template_id": ids.message_template_id,
        "channel": ids.message_channel,
    },
    "POST /admin/draw-schedules": lambda ids: {
        "gift_id": ids.gift_id,
        "draws": [{"closes_at": "2025-03-20T12:00:00+09:00", "winners": 3}],  # after NOW, within a year
    },
    "POST /cases": lambda ids: {"customer_id": ids.customer_id},
    "POST /admin/gifts": lambda ids: {
        "mode": "draw",
        "stock": 10,
        "ends_at": "2025-04-14T08:10:00+09:00",  # after starts_at, the documented example
    },
}


def _route(key: str) -> Route:
    (route,) = [r for r in SYSTEM.routes if r.key == key]
    return route


PURCHASE = _route("POST /purchases")
VISIT = _route("POST /visits")


def base_body(route: Route, ids: Ids) -> dict[str, Any]:
    """The route's valid body: derived from its request model, with ``OWN``'s values."""
    own = OWN.get(route.key, lambda _: {})(ids)
    model = request_model(route)
    assert model is not None, f"{route.key} takes no body"
    return documented_body(model, own)


# --- the world in which every base request is accepted --------------------------------------------


@dataclass
class World:
    """Every function of the system on moto, started on first use, and what the requests name."""

    invoke: Mapping[str, Invoker]
    ids: Ids
    snapshot: Callable[[], dict[str, list[str]]]  # every item of every table

    def call(self, route: Route, ids: Ids | None = None, **kw: Any) -> ApiResponse:
        """The route called with its base body (``body=`` to send another)."""
        ids = ids or self.ids
        if "body" not in kw and route.has_body and request_model(route) is not None:
            kw["body"] = base_body(route, ids)
        return self.invoke[route.function.id](event(route, ids, **kw))

    def created(self, key: str, ids: Ids | None = None, **kw: Any) -> dict[str, Any]:
        """The route's base request, which must succeed: its answer."""
        response = self.call(_route(key), ids, **kw)
        assert 200 <= response.status < 300, (key, response.status, response.body[:300])
        return dict(response.json()) if response.body else {}


def _at_the_counter(world: World, ids: Ids | None = None) -> Ids:
    """The customer shows their app's member code at the till."""
    ids = ids or world.ids
    return dataclasses.replace(ids, member_code=world.created("POST /me/member-code", ids)["code"])


def _hold(world: World) -> Ids:
    ids = _at_the_counter(world)
    world.created("PUT /customers/{customer_id}/holds/{order_id}", ids)
    return ids


def _purchase(world: World) -> Ids:
    world.created("POST /purchases")
    return world.ids


def _group(world: World) -> Ids:
    world.created("POST /admin/lifestyle-groups")
    return world.ids


def _template(world: World) -> Ids:
    return dataclasses.replace(world.ids, template_id=world.created("POST /admin/coupon-templates")["id"])


def _coupon(world: World) -> Ids:
    ids = _template(world)
    world.created("POST /admin/coupon-templates/{template_id}/issuances", ids)
    wallet = world.created("GET /me/coupons", ids)["items"]
    return _at_the_counter(world, dataclasses.replace(ids, code=wallet[0]["code"]))


def _gift(world: World) -> Ids:
    return dataclasses.replace(world.ids, gift_id=world.created("POST /admin/gifts")["id"])


def _segment(world: World) -> Ids:
    return dataclasses.replace(world.ids, segment_id=world.created("POST /admin/segments")["id"])


def _message_template(world: World) -> Ids:
    created = world.created("POST /admin/templates")
    return dataclasses.replace(world.ids, message_template_id=created["id"])


def _campaign_parts(world: World) -> Ids:
    """A segment and a message template for a campaign to name."""
    template = world.created("POST /admin/templates")
    ids = dataclasses.replace(
        world.ids, message_template_id=template["id"], message_channel=template["channel"]
    )
    return dataclasses.replace(ids, segment_id=world.created("POST /admin/segments", ids)["id"])


def _campaign(world: World) -> Ids:
    """A draft campaign."""
    ids = _campaign_parts(world)
    return dataclasses.replace(ids, campaign_id=world.created("POST /admin/campaigns", ids)["id"])


def _sending(world: World) -> Ids:
    ids = _campaign(world)
    world.created("POST /admin/campaigns/{campaign_id}/launch", ids)
    return ids


def _opt_out_link(world: World) -> Ids:
    """The subject gave marketing e-mail consent; the link of their contact card withdraws it."""
    from tests.integration.conftest import STAGE

    world.created("POST /me/consents", body={"channel": "email", "purpose": "marketing", "granted": True})
    key = optout.signing_keys(secrets.secret_string(f"{SYSTEM.name}-{STAGE}-{UNSUBSCRIBE_KEY.id}"))
    link = optout.OptOut(world.ids.customer_id, "email", "marketing", issued_at=NOW)
    return dataclasses.replace(world.ids, token=optout.sign(link, key))


def _paused(world: World) -> Ids:
    ids = _sending(world)
    world.created("POST /admin/campaigns/{campaign_id}/pause", ids)
    return ids


# What must exist before a route's base request can be accepted (the ids that name it).
GIVEN: dict[str, Callable[[World], Ids]] = {
    "POST /me": lambda world: dataclasses.replace(world.ids, subject="fuzz-newcomer"),
    "POST /purchases/{external_id}/refund": _purchase,
    "PUT /admin/lifestyle-groups/{group_id}": _group,
    "POST /member-codes/lookup": _at_the_counter,
    "PUT /customers/{customer_id}/holds/{order_id}": _at_the_counter,
    "POST /customers/{customer_id}/holds/{order_id}/capture": _hold,
    "POST /customers/{customer_id}/holds/{order_id}/release": _hold,
    "POST /admin/coupon-templates/{template_id}/issuances": _template,
    "POST /coupon-redemptions": _coupon,
    "POST /admin/gifts/{gift_id}/draws": _gift,
    "PUT /admin/segments/{segment_id}": _segment,
    "PUT /admin/templates/{template_id}": _message_template,
    "POST /admin/templates/{template_id}/preview": _message_template,
    "POST /admin/campaigns": _campaign_parts,
    "PUT /admin/campaigns/{campaign_id}": _campaign,
    "POST /admin/campaigns/{campaign_id}/launch": _campaign,
    "POST /admin/campaigns/{campaign_id}/pause": _sending,
    "POST /admin/campaigns/{campaign_id}/resume": _paused,
    "POST /admin/campaigns/{campaign_id}/cancel": _campaign,
    "POST /admin/campaigns/{campaign_id}/dry-run": _campaign,
    "POST /unsubscribe/{token}": _opt_out_link,
    "GET /unsubscribe/{token}": _opt_out_link,
}


def _scheduled_draw(world: World, *, drawn: bool = False) -> Ids:
    """A draw gift whose draw 1 was scheduled a day before NOW and closed an hour before it, drawn
    if ``drawn`` (as the campaigns service's DrawScheduled and DrawDue would have it)."""
    from datetime import timedelta

    from infra.local import provision
    from services.rewards.dal.draws import DynamoDrawStore
    from services.rewards.logic import draws
    from services.rewards.models.inbound import DrawDue, DrawScheduled
    from services.rewards.topology import REWARDS
    from shared.events import EventPublisher
    from tests.integration.conftest import STAGE, table

    ids = _gift(world)
    bus = provision.bus_name(SYSTEM, STAGE, SYSTEM.bus)
    store = DynamoDrawStore(table(REWARDS), EventPublisher(bus, "dangol.rewards"))
    closes_at = NOW - timedelta(hours=1)
    scheduled = DrawScheduled(gift_id=ids.gift_id, draw=1, closes_at=closes_at, winners=1)
    assert draws.schedule(store, scheduled, now=closes_at - timedelta(days=1)) == "committed"
    if drawn:
        assert draws.run(store, DrawDue(gift_id=ids.gift_id, draw=1), now=NOW) == "drawn"
    return dataclasses.replace(ids, draw="1")


# -- feedback: the subject's login as the service knows it, cases in the states a route needs ------


def _my_login(world: World) -> Ids:
    """The subject's login, as the feedback service keeps it from their CustomerRegistered."""
    from services.feedback.dal import keys as feedback_keys
    from services.feedback.topology import FEEDBACK
    from tests.integration.conftest import table

    link = {**feedback_keys.login_key(world.ids.subject), "customer_id": world.ids.customer_id}
    table(FEEDBACK).put(link)
    return world.ids


def _my_case(world: World) -> Ids:
    ids = _my_login(world)
    return dataclasses.replace(ids, case_id=world.created("POST /me/cases", ids)["case_id"])


def _resolved(world: World, ids: Ids) -> Ids:
    world.created("POST /cases/{case_id}/transitions", ids, body={"to": "resolved", "resolution": "done"})
    return ids


def _my_closed_case(world: World) -> Ids:
    ids = _resolved(world, _my_case(world))
    world.created("POST /me/cases/{case_id}/confirmation", ids, body={"solved": True})
    return ids


def _agent_case(world: World) -> Ids:
    return dataclasses.replace(world.ids, case_id=world.created("POST /cases")["case_id"])


GIVEN |= {
    "POST /me/cases": _my_login,
    "POST /me/cases/{case_id}/replies": _my_case,
    "POST /me/cases/{case_id}/confirmation": lambda world: _resolved(world, _my_case(world)),
    "POST /me/cases/{case_id}/satisfaction": _my_closed_case,
    "POST /cases/{case_id}/transitions": _agent_case,
    "POST /cases/{case_id}/assignment": _agent_case,
    "POST /cases/{case_id}/escalation": _agent_case,
    "POST /cases/{case_id}/notes": _agent_case,
    "POST /cases/{case_id}/confirmation": lambda world: _resolved(world, _agent_case(world)),
    "POST /cases/{case_id}/goodwill": _agent_case,
    "GET /webhooks/{source}": lambda world: world.ids,
    "POST /webhooks/{source}": lambda world: world.ids,
}


def _signed_delivery(world: World, ids: Ids) -> dict[str, Any]:
    """An X delivery of one mention, posted now, signed with the stage's consumer secret."""
    import base64
    import hashlib
    import hmac

    from services.feedback.topology import X_SECRET
    from tests.integration.conftest import STAGE

    tweet = {
        "id_str": "1900000000000000101",
        "text": "@dangol 라떼가 식어서 나왔어요",
        "timestamp_ms": str(int(NOW.timestamp() * 1000)),
        "user": {"id_str": "1234567890", "screen_name": "minji_eats", "followers_count": 10},
    }
    body = json.dumps({"for_user_id": "1", "tweet_create_events": [tweet]})
    secret = secrets.secret_string(f"{SYSTEM.name}-{STAGE}-{X_SECRET.id}")
    signature = base64.b64encode(hmac.new(secret.encode(), body.encode(), hashlib.sha256).digest()).decode()
    return {
        "body": body,
        "headers": {
            "Content-Type": "application/json",
            "x-twitter-webhooks-signature": f"sha256={signature}",
        },
    }


# How a public route's base request is made, beyond its path (GIVEN): a one-click opt-out's form
# body (RFC 8058), X's CRC check, a signed delivery.
PUBLIC_REQUEST: dict[str, Callable[[World, Ids], dict[str, Any]]] = {
    "POST /unsubscribe/{token}": lambda world, ids: {"body": "List-Unsubscribe=One-Click"},
    "GET /webhooks/{source}": lambda world, ids: {"query": {"crc_token": "challenge-123"}},
    "POST /webhooks/{source}": _signed_delivery,
}


GIVEN["GET /draws/{gift_id}/{draw}"] = _scheduled_draw
GIVEN["GET /draws/{gift_id}/{draw}/verification"] = lambda world: _scheduled_draw(world, drawn=True)

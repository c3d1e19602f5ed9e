"""Every declared route, fuzzed through its function's real entry point.

Driven by the topology and each function's own OpenAPI schema, so a new route is
fuzzed the day it is declared: malformed JSON, wrong top-level types, wrong field
types, unknown fields, oversized strings and bodies, bad path ids, and missing or
insufficient claims. Each must be a 4xx with a machine-readable code and leave
every table exactly as it was.
"""

from __future__ import annotations

import importlib
import json
import string
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from infra.topology import SYSTEM
from services.rewards.topology import EARN_RULES_VERSION
from shared.auth import Role
from shared.topology import Route
from tests.integration.apigw import Invoker, api_event
from tests.integration.conftest import scan_all

# Six examples per route and property: with ~70 routes that is ~2,500 requests, and the
# schemathesis run (tests/e2e) fuzzes every route again over HTTP.
FUZZ = settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
SUBJECT = "fuzz-subject"
ROUTES = SYSTEM.routes
# Path values that are real ids in every system: earn rules version 0 is the built-in defaults.
EVERYWHERE = {EARN_RULES_VERSION.key: {"0"}}


def _request_schema(route: Route) -> dict[str, Any]:
    """The JSON schema of the route's body, with its $refs resolved, from the function's own spec."""
    app = importlib.import_module(route.function.module).app
    spec = json.loads(app.get_openapi_json_schema())
    operation = spec["paths"][route.path][route.method.lower()]
    schema = operation["requestBody"]["content"]["application/json"]["schema"]
    components = spec.get("components", {}).get("schemas", {})
    while "$ref" in schema:
        schema = components[schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def _role_for(route: Route) -> Role:
    return sorted(route.allow)[0]


def _event(
    route: Route, *, body: Any = None, params: dict[str, str] | None = None, **kw: Any
) -> dict[str, Any]:
    params = params or dict.fromkeys(route.path_params, "cus_01M82AEKG51WJP0K379AYG4E2W")
    return api_event(
        "profile_get_me",
        method=route.method,
        resource=route.path,
        path_parameters=params or None,
        path=None if params else route.path,
        body=body,
        sub=kw.pop("sub", SUBJECT),
        groups=kw.pop("groups", _role_for(route).value),
        **kw,
    )


class _Started(dict[str, Invoker]):
    """Functions cold-started on first use: a test pays only for the ones it calls."""

    def __init__(self, start: Callable[[str], Invoker]) -> None:
        super().__init__()
        self._start = start

    def __missing__(self, function_id: str) -> Invoker:
        self[function_id] = invoker = self._start(function_id)
        return invoker


@pytest.fixture
def world(lambda_function: Callable[..., Invoker]) -> dict[str, Any]:
    """Every function started; the fuzzing subject already has a profile; a snapshot of every table."""
    invokers = _Started(lambda function_id: lambda_function(SYSTEM.function(function_id)))
    profile_api = SYSTEM.function("profile-api")
    created = invokers[profile_api.id](
        api_event("profile_create_me", sub=SUBJECT, groups="customer", body={"display_name": "퍼즈"})
    )
    assert created.status == 201
    return {"invoke": invokers, "snapshot": lambda: {t.id: scan_all(t) for t in SYSTEM.tables}}


def _assert_refused(
    world: dict[str, Any], route: Route, event: dict[str, Any], expect: tuple[int, str] | None = None
) -> None:
    """4xx with a code (exactly ``expect`` when given: validation precedes any logic) and no write."""
    before = world["snapshot"]()
    response = world["invoke"][route.function.id](event)
    assert 400 <= response.status < 500, (response.status, response.body[:300])
    assert response.error["code"]
    if expect is not None:
        assert (response.status, response.error["code"]) == expect, response.body[:300]
    assert world["snapshot"]() == before, "a refused request changed a table"


def _string_fields(route: Route) -> list[str]:
    """The body's fields whose only non-null type is string."""
    return [
        name
        for name, prop in _request_schema(route)["properties"].items()
        if {o.get("type") for o in [prop, *prop.get("anyOf", [])]} - {None, "null"} == {"string"}
    ]


def _valid_base(route: Route) -> dict[str, Any]:
    """Each field's documented example, so that only the fuzzed part makes the body invalid."""
    schema = _request_schema(route)
    base = {}
    for name, prop in schema["properties"].items():
        examples = [e for option in [prop, *prop.get("anyOf", [])] for e in option.get("examples", [])]
        if examples:
            base[name] = examples[0]
    return base


BODY_ROUTES = [r for r in ROUTES if r.has_body]
JSON_ROUTES = [r for r in BODY_ROUTES if "application/json" in r.media_types]  # CSV uploads aside
PARAM_ROUTES = [r for r in ROUTES if r.path_params]

not_json = st.text(min_size=1, max_size=60).filter(lambda t: not _is_json(t))
wrong_top_level = st.one_of(
    st.lists(st.integers(), max_size=3), st.integers(), st.text(max_size=10), st.none()
)
wrong_field_values = st.one_of(
    st.integers(),
    st.booleans(),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.none()),
)


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


@pytest.mark.parametrize("route", JSON_ROUTES, ids=lambda r: r.key)
@FUZZ
@given(text=not_json)
def test_malformed_json_is_refused(world: dict[str, Any], route: Route, text: str) -> None:
    # Given a body that is not JSON
    # When it is sent to the route
    # Then it is a 4xx with a code and nothing is written
    _assert_refused(world, route, _event(route, body=text), (400, "malformed_json"))


@pytest.mark.parametrize("route", JSON_ROUTES, ids=lambda r: r.key)
@FUZZ
@given(value=wrong_top_level)
def test_json_that_is_not_an_object_is_refused(world: dict[str, Any], route: Route, value: Any) -> None:
    # Given JSON that is not an object
    # When it is sent
    # Then it is refused and nothing is written
    _assert_refused(world, route, _event(route, body=json.dumps(value)), (422, "validation_error"))


@pytest.mark.parametrize("route", [r for r in JSON_ROUTES if _string_fields(r)], ids=lambda r: r.key)
@FUZZ
@given(data=st.data())
def test_a_field_of_the_wrong_type_is_refused(
    world: dict[str, Any], route: Route, data: st.DataObject
) -> None:
    # Given an object whose one declared string field holds a non-string
    field = data.draw(st.sampled_from(_string_fields(route)))
    body = {**_valid_base(route), field: data.draw(wrong_field_values)}
    # When it is sent
    # Then it is refused and nothing is written
    _assert_refused(world, route, _event(route, body=body), (422, "validation_error"))


@pytest.mark.parametrize("route", JSON_ROUTES, ids=lambda r: r.key)
@FUZZ
@given(name=st.text(string.ascii_letters + "_", min_size=1, max_size=20), value=st.integers())
def test_unknown_fields_are_refused(world: dict[str, Any], route: Route, name: str, value: int) -> None:
    # Given an object with a field the schema does not declare
    schema = _request_schema(route)
    if name in schema["properties"]:
        name = f"x_{name}_unknown"
    # When it is sent
    # Then it is refused and nothing is written
    _assert_refused(
        world, route, _event(route, body={**_valid_base(route), name: value}), (422, "validation_error")
    )


def _bounded_strings(route: Route) -> dict[str, int]:
    """The body's string fields with a maxLength, and that length."""
    return {
        name: limit
        for name, prop in _request_schema(route)["properties"].items()
        for limit in [max((o.get("maxLength", 0) for o in [prop, *prop.get("anyOf", [])]), default=0)]
        if limit
    }


@pytest.mark.parametrize("route", [r for r in JSON_ROUTES if _bounded_strings(r)], ids=lambda r: r.key)
@FUZZ
@given(data=st.data())
def test_strings_longer_than_declared_are_refused(
    world: dict[str, Any], route: Route, data: st.DataObject
) -> None:
    # Given a declared string field filled past its maxLength (still under the body limit: Hangul
    # where it fits, \u-escaped as clients send it, else ASCII)
    bounded = _bounded_strings(route)
    field = data.draw(st.sampled_from(sorted(bounded)))
    length = data.draw(st.integers(bounded[field] + 1, bounded[field] + 500))
    body = {**_valid_base(route), field: "가" * length}
    if len(json.dumps(body)) > route.max_body_bytes:
        body[field] = "x" * length
    assert len(json.dumps(body)) <= route.max_body_bytes, "the field's maxLength does not fit the body limit"
    # When it is sent
    # Then it is refused and nothing is written
    _assert_refused(world, route, _event(route, body=body), (422, "validation_error"))


@pytest.mark.parametrize("route", BODY_ROUTES, ids=lambda r: r.key)
def test_bodies_over_the_route_limit_are_413(world: dict[str, Any], route: Route) -> None:
    # Given a body one byte over the route's declared limit
    body = json.dumps({"display_name": "x" * route.max_body_bytes})
    # When it is sent
    before = world["snapshot"]()
    response = world["invoke"][route.function.id](_event(route, body=body))
    # Then it is 413 and nothing is written
    assert (response.status, response.error["code"]) == (413, "payload_too_large")
    assert world["snapshot"]() == before


@pytest.mark.parametrize("route", PARAM_ROUTES, ids=lambda r: r.key)
@FUZZ
@given(value=st.text(min_size=1, max_size=80).filter(lambda v: "/" not in v))
def test_bad_path_ids_are_refused(world: dict[str, Any], route: Route, value: str) -> None:
    # Given a path parameter that is not an id of ours
    assume(value not in EVERYWHERE.get(route.key, set()))
    params = dict.fromkeys(route.path_params, value)
    # When the route is called
    # Then it is refused (4xx) and nothing is written
    _assert_refused(world, route, _event(route, params=params, body={} if route.has_body else None))


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.key)
def test_missing_or_empty_claims_are_401(world: dict[str, Any], route: Route) -> None:
    for claims in (None, {}, {"sub": ""}, {"cognito:groups": "customer"}):
        # Given a request without a usable identity
        event = _event(route, body={} if route.has_body else None)
        event["requestContext"]["authorizer"] = None if claims is None else {"claims": claims}
        # When it reaches the function
        before = world["snapshot"]()
        response = world["invoke"][route.function.id](event)
        # Then it is 401 and nothing is written
        assert response.status == 401, claims
        assert response.error["code"] in {"unauthorized", "invalid_token"}
        assert world["snapshot"]() == before


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.key)
def test_roles_outside_the_route_are_403(world: dict[str, Any], route: Route) -> None:
    # Given a caller with none of the roles the route allows (or no role at all)
    outsiders = [r.value for r in Role if r not in route.allow] + [""]
    for groups in outsiders:
        event = _event(route, groups=groups, body={} if route.has_body else None)
        # When it calls the route
        before = world["snapshot"]()
        response = world["invoke"][route.function.id](event)
        # Then it is forbidden and nothing is written
        assert (response.status, response.error["code"]) == (403, "forbidden"), groups
        assert world["snapshot"]() == before


@pytest.mark.parametrize("route", [r for r in ROUTES if r.key_required], ids=lambda r: r.key)
def test_a_route_whose_retry_would_repeat_its_effect_refuses_a_request_without_a_key(
    world: dict[str, Any], route: Route
) -> None:
    # Given a request a client might retry (a goodwill credit, an import, a consent change...)
    body = _valid_base(route) if "application/json" in route.media_types else "x"
    # When it comes without an Idempotency-Key
    event = _event(route, body=body, headers={"Idempotency-Key": None})
    # Then it is 428 with a code saying what to send, before anything is written
    _assert_refused(world, route, event, (428, "idempotency_key_required"))


def test_the_routes_that_require_a_key_are_the_ones_whose_retry_would_repeat_an_effect() -> None:
    # A table of this test's own, so that a route dropping (or gaining) the requirement shows here
    assert {r.key for r in ROUTES if r.key_required} == {
        "POST /me/consents",
        "POST /admin/lifestyle-groups",
        "POST /customers/{customer_id}/contacts",
        "POST /imports",
        "POST /customers/{customer_id}/points/adjustments",
        "POST /admin/point-grants",
        "POST /admin/coupon-templates",
        "POST /admin/coupon-templates/{template_id}/issuances",
        "POST /admin/gifts",
        "POST /admin/gifts/{gift_id}/draws",
    }

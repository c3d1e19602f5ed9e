"""Every declared route, fuzzed through its function's real entry point.

Driven by the topology and each function's own request models, so a new route is fuzzed the day
it is declared: malformed JSON, wrong top-level types, wrong field types, unknown fields, oversized
strings and bodies, and bad path ids. Each must be a 4xx with a machine-readable code and leave
every table exactly as it was.

Each property starts from the route's base request (``fuzz_world``), which a test first shows
to be accepted (2xx), and breaks one thing in it; it then asserts the error that one thing
causes (the field and the kind of problem in the 422's details), never just "some 4xx". A test
shows the fuzzer failing when a request model is made to accept unknown fields.

Who may call each route (401 without an identity, 403 outside a route's roles) is pinned in
``tests/unit/platform/test_route_roles.py``, in the unit tier: the guard answers before any AWS call.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import string
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from hypothesis import HealthCheck, Phase, assume, given, settings
from hypothesis import strategies as st
from moto.dynamodb.models import dynamodb_backends
from pydantic import ConfigDict

from infra.local import provision
from infra.topology import SYSTEM
from services.rewards import topology as rewards
from shared.clock import CLOCK_FILE_ENV, ClockState
from shared.topology import Route
from tests.integration.apigw import ACCOUNT, REGION, Invoker
from tests.integration.conftest import STAGE, QueueDrain
from tests.integration.platform.fuzz_world import (
    GIVEN,
    NOW,
    PUBLIC_REQUEST,
    Ids,
    World,
    base_body,
    event,
    request_model,
    request_schema,
)

# Six examples per route and property: with ~70 routes that is ~2,500 requests, and the
# schemathesis run (tests/e2e) fuzzes every route again over HTTP.
FUZZ = settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
ROUTES = SYSTEM.routes
BODY_ROUTES = [r for r in ROUTES if r.has_body]
# Routes whose handler takes a JSON body model (CSV uploads and body-less POSTs aside).
JSON_ROUTES = [r for r in BODY_ROUTES if "application/json" in r.media_types and request_model(r)]
PARAM_ROUTES = [r for r in ROUTES if r.path_params]
# Path values that are real ids in every system: earn rules version 0 is the built-in defaults.
EVERYWHERE = {rewards.EARN_RULES_VERSION.key: {"0"}}


class _Started(dict[str, Invoker]):
    """Functions cold-started on first use: a test pays only for the ones it calls."""

    def __init__(self, start: Callable[[str], Invoker]) -> None:
        super().__init__()
        self._start = start

    def __missing__(self, function_id: str) -> Invoker:
        self[function_id] = invoker = self._start(function_id)
        return invoker


def _every_item() -> dict[str, list[str]]:
    """Every item of every table, as moto holds it: what a full consistent scan of each returns,
    read from moto's memory (a scan per table per request was a third of this file's time)."""
    backend = dynamodb_backends[ACCOUNT][REGION]
    return {
        t.id: sorted(
            json.dumps(item.to_json(), sort_keys=True)
            for item in backend.get_table(provision.table_name(SYSTEM, STAGE, t)).all_items()
        )
        for t in SYSTEM.tables
    }


def _world(lambda_function: Callable[..., Invoker], clock: Path, monkeypatch: pytest.MonkeyPatch) -> World:
    clock.write_text(ClockState(frozen_at=NOW).to_json(), encoding="utf-8")
    monkeypatch.setenv(CLOCK_FILE_ENV, str(clock))
    invokers = _Started(lambda function_id: lambda_function(SYSTEM.function(function_id)))
    world = World(invoke=invokers, ids=Ids(), snapshot=_every_item)
    profile = world.created("POST /me", body={"display_name": "퍼즈"})
    world.ids = dataclasses.replace(world.ids, customer_id=profile["customer_id"])
    return world


@pytest.fixture
def world(lambda_function: Callable[..., Invoker], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> World:
    """Every function started on first use, on a clock standing still at NOW; the fuzzing subject
    has a profile. (No queues: a refused request sends nothing.)"""
    return _world(lambda_function, tmp_path / "clock.json", monkeypatch)


@pytest.fixture
def whole_world(
    bus: str, lambda_function: Callable[..., Invoker], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> World:
    """The world with its queues and rules, as deployed, in which the subject's CustomerRegistered
    reached the rewards service: their account is open, with its sign-up points."""
    clients = (boto3.client("sqs"), boto3.client("sns"), boto3.client("events"))
    messaging = provision.create_messaging(clients, SYSTEM, stage=STAGE, bus=bus)  # type: ignore[arg-type]
    provision.create_timers(boto3.client("scheduler"), SYSTEM, STAGE, messaging)  # the cases' SLA timers
    world = _world(lambda_function, tmp_path / "clock.json", monkeypatch)
    rewards_events = QueueDrain(world.invoke[rewards.EVENTS.id], messaging, rewards.EVENTS_QUEUE)
    assert rewards_events() == 1
    return world


def _assert_refused(
    world: World, route: Route, request: dict[str, Any], expect: tuple[int, str] | None = None
) -> dict[str, Any]:
    """4xx with a code (exactly ``expect`` when given) and no write; the error."""
    before = world.snapshot()
    response = world.invoke[route.function.id](request)
    assert 400 <= response.status < 500, (response.status, response.body[:300])
    error = response.error
    assert error["code"]
    if expect is not None:
        assert (response.status, error["code"]) == expect, response.body[:300]
    assert world.snapshot() == before, "a refused request changed a table"
    return error


def _problems(error: dict[str, Any]) -> list[tuple[tuple[str, ...], str]]:
    """A 422's details as (location, kind of problem)."""
    return [(tuple(d["loc"]), d["type"]) for d in error["details"]]


# --- the base requests are accepted ---------------------------------------------------------------


@pytest.mark.parametrize("route", JSON_ROUTES, ids=lambda r: r.key)
def test_every_base_request_is_accepted(whole_world: World, route: Route) -> None:
    # Given what the route's base request names (a purchase to refund, a hold to capture...)
    ids = GIVEN.get(route.key, lambda w: w.ids)(whole_world)
    # When the route gets its base body, by its first allowed role
    response = whole_world.call(route, ids)
    # Then it is accepted: every property below breaks exactly one thing in this request
    assert 200 <= response.status < 300, (response.status, response.body[:500])


PUBLIC_ROUTES = [r for r in ROUTES if r.public]


@pytest.mark.parametrize("route", PUBLIC_ROUTES, ids=lambda r: r.key)
def test_every_public_routes_base_request_is_accepted(world: World, route: Route) -> None:
    # Given what the route names (an opt-out link of the subject's, a source), and no identity at all
    ids = GIVEN[route.key](world)
    # When the route is called with it (a one-click POST's form body, a signed delivery...)
    request = PUBLIC_REQUEST.get(route.key, lambda world, ids: {"body": None})(world, ids)
    response = world.call(route, ids, **request)
    # Then it is accepted: the bad-path-id and body properties break exactly one thing in it
    assert response.status == 200, (response.status, response.body[:500])


def test_the_snapshot_that_shows_nothing_was_written_sees_a_write(world: World) -> None:
    # Given every item of every table
    before = world.snapshot()
    # When an accepted request writes (a consent given)
    assert world.call(next(r for r in JSON_ROUTES if r.key == "POST /me/consents")).status == 201
    # Then the snapshot differs
    assert world.snapshot() != before


def test_every_json_route_has_a_base_body() -> None:
    # Given every route that takes a JSON body
    # Then each is fuzzed from a base body its own model accepts (no 14 of 27 refused for a
    # missing field any more)
    assert {r.key for r in BODY_ROUTES if "application/json" in r.media_types} - {
        r.key for r in JSON_ROUTES
    } <= {r.key for r in BODY_ROUTES if request_model(r) is None}
    for route in JSON_ROUTES:
        model = request_model(route)
        assert model is not None
        model.model_validate_json(json.dumps(base_body(route, Ids())))


# --- each property breaks one thing ------------------------------------------------------------------

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
# What pydantic says of a value of the wrong type, besides its *_type kinds: not one of an enum's
# values, or refused by a field's own check (a timestamp or a date must be ISO 8601 text).
# A value of another type that a field parses and refuses (a huge number as a datetime) names the field too.
NOT_OF_THE_TYPE = {"literal_error", "enum", "value_error", "datetime_parsing", "date_parsing", "time_parsing"}
unknown_names = st.text(string.ascii_letters + "_", min_size=1, max_size=20)


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


@pytest.mark.parametrize("route", JSON_ROUTES, ids=lambda r: r.key)
@FUZZ
@given(text=not_json)
def test_malformed_json_is_refused(world: World, route: Route, text: str) -> None:
    # Given a body that is not JSON
    # When it is sent to the route
    # Then it is 400 malformed_json and nothing is written
    _assert_refused(world, route, event(route, world.ids, body=text), (400, "malformed_json"))


@pytest.mark.parametrize("route", JSON_ROUTES, ids=lambda r: r.key)
@FUZZ
@given(value=wrong_top_level)
def test_json_that_is_not_an_object_is_refused(world: World, route: Route, value: Any) -> None:
    # Given JSON that is not an object
    # When it is sent
    error = _assert_refused(
        world, route, event(route, world.ids, body=json.dumps(value)), (422, "validation_error")
    )
    # Then the problem is the body itself, and nothing is written
    assert {loc for loc, _ in _problems(error)} == {("body",)}, error


def _string_fields(route: Route) -> list[str]:
    """The body's fields whose only non-null type is string."""
    return [
        name
        for name, prop in request_schema(route)["properties"].items()
        if {o.get("type") for o in [prop, *prop.get("anyOf", [])]} - {None, "null"} == {"string"}
    ]


@pytest.mark.parametrize("route", [r for r in JSON_ROUTES if _string_fields(r)], ids=lambda r: r.key)
@FUZZ
@given(data=st.data())
def test_a_field_of_the_wrong_type_is_refused(world: World, route: Route, data: st.DataObject) -> None:
    # Given the base body with one declared string field holding a non-string
    field = data.draw(st.sampled_from(_string_fields(route)))
    body = {**base_body(route, world.ids), field: data.draw(wrong_field_values)}
    # When it is sent
    error = _assert_refused(world, route, event(route, world.ids, body=body), (422, "validation_error"))
    # Then every problem is that field's type (not a missing field, not another field), and
    # nothing is written
    problems = _problems(error)
    assert problems, error
    assert {loc[:2] for loc, _ in problems} == {("body", field)}, problems
    assert all(kind.endswith("_type") or kind in NOT_OF_THE_TYPE for _, kind in problems), problems


def _assert_unknown_field_is_refused(world: World, route: Route, name: str, value: int) -> None:
    # Given the base body with one field the schema does not declare
    if name in request_schema(route)["properties"]:
        name = f"x_{name}_unknown"
    body = {**base_body(route, world.ids), name: value}
    # When it is sent
    error = _assert_refused(world, route, event(route, world.ids, body=body), (422, "validation_error"))
    # Then the one problem is that field, as unknown, and nothing is written
    assert _problems(error) == [(("body", name), "extra_forbidden")], error


@pytest.mark.parametrize("route", JSON_ROUTES, ids=lambda r: r.key)
@FUZZ
@given(name=unknown_names, value=st.integers())
def test_unknown_fields_are_refused(world: World, route: Route, name: str, value: int) -> None:
    _assert_unknown_field_is_refused(world, route, name, value)


def _bounded_strings(route: Route) -> dict[str, int]:
    """The body's string fields with a maxLength, and that length."""
    return {
        name: limit
        for name, prop in request_schema(route)["properties"].items()
        for limit in [max((o.get("maxLength", 0) for o in [prop, *prop.get("anyOf", [])]), default=0)]
        if limit
    }


@pytest.mark.parametrize("route", [r for r in JSON_ROUTES if _bounded_strings(r)], ids=lambda r: r.key)
@FUZZ
@given(data=st.data())
def test_strings_longer_than_declared_are_refused(world: World, route: Route, data: st.DataObject) -> None:
    # Given the base body with a declared string field filled past its maxLength (still under the
    # body limit: Hangul where it fits, \u-escaped as clients send it, else ASCII)
    bounded = _bounded_strings(route)
    field = data.draw(st.sampled_from(sorted(bounded)))
    length = data.draw(st.integers(bounded[field] + 1, bounded[field] + 500))
    body = {**base_body(route, world.ids), field: "가" * length}
    if len(json.dumps(body)) > route.max_body_bytes:
        body[field] = "x" * length
    assert len(json.dumps(body)) <= route.max_body_bytes, "the field's maxLength does not fit the body limit"
    # When it is sent
    error = _assert_refused(world, route, event(route, world.ids, body=body), (422, "validation_error"))
    # Then the one problem is that field's length, and nothing is written
    assert _problems(error) == [(("body", field), "string_too_long")], error


@pytest.mark.parametrize("route", BODY_ROUTES, ids=lambda r: r.key)
def test_bodies_over_the_route_limit_are_413(world: World, route: Route) -> None:
    # Given a body one byte over the route's declared limit
    body = json.dumps({"display_name": "x" * route.max_body_bytes})
    # When it is sent
    # Then it is 413 and nothing is written
    _assert_refused(world, route, event(route, world.ids, body=body), (413, "payload_too_large"))


@pytest.mark.parametrize("route", PARAM_ROUTES, ids=lambda r: r.key)
@FUZZ
@given(value=st.text(min_size=1, max_size=80).filter(lambda v: "/" not in v))
def test_bad_path_ids_are_refused(world: World, route: Route, value: str) -> None:
    # Given a path parameter that is not an id of ours
    assume(value not in EVERYWHERE.get(route.key, set()))
    params = dict.fromkeys(route.path_params, value)
    # When the route is called
    # Then it is refused (4xx) and nothing is written
    _assert_refused(world, route, event(route, world.ids, params=params, body={} if route.has_body else None))


@pytest.mark.parametrize("route", [r for r in ROUTES if r.key_required], ids=lambda r: r.key)
def test_a_route_whose_retry_would_repeat_its_effect_refuses_a_request_without_a_key(
    world: World, route: Route
) -> None:
    # Given a request a client might retry (a goodwill credit, an import, a consent change...)
    body = base_body(route, world.ids) if route in JSON_ROUTES else "x"
    # When it comes without an Idempotency-Key
    request = event(route, world.ids, body=body, headers={"Idempotency-Key": None})
    # Then it is 428 with a code saying what to send, before anything is written
    _assert_refused(world, route, request, (428, "idempotency_key_required"))


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
        "POST /admin/segments",  # each retry would define one more segment
        "POST /admin/segment-previews",  # each retry would start one more job over every customer
        "POST /admin/templates",  # each retry would save one more template
        "POST /admin/campaigns",  # each retry would define one more campaign
        "POST /me/cases",  # each retry would open one more case (and its SLA timers)
        "POST /me/cases/{case_id}/replies",  # one more message on the case
        "POST /cases",  # one more case
        "POST /cases/{case_id}/notes",  # one more note or reply to the customer
        "POST /cases/{case_id}/goodwill",  # a second goodwill grant
    }


# --- the fuzzer catches a model that accepts what it should not -------------------------------------

TEMPLATE_CREATE = next(r for r in ROUTES if r.key == "POST /admin/coupon-templates")


@pytest.fixture
def extras_allowed(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The coupon-template model, as if someone wrote ``extra="allow"`` on it: the offers function
    started after this builds its resolver with it. Undone, and the function rebuilt, after."""
    module = importlib.import_module("services.rewards.models.offers")
    original = module.TemplateCreate

    class TemplateCreate(original):  # type: ignore[misc, valid-type]
        model_config = ConfigDict(extra="allow")

    monkeypatch.setattr(module, "TemplateCreate", TemplateCreate)
    yield
    monkeypatch.undo()
    importlib.reload(importlib.import_module(TEMPLATE_CREATE.function.module))


def test_the_unknown_field_property_fails_for_a_model_that_accepts_unknown_fields(
    extras_allowed: None, world: World
) -> None:
    # Given the coupon-template route's model made to accept unknown fields, and its base request
    # still accepted (so the property's request is refused, if at all, for its unknown field)
    assert world.call(TEMPLATE_CREATE).status == 201
    model = request_model(TEMPLATE_CREATE)  # the one the offers function, now started, validates with
    assert model is not None
    assert model.model_config.get("extra") == "allow"
    # When the unknown-field property runs against it (stopping at the first failure: no shrinking)
    prop = given(name=unknown_names, value=st.integers())(
        settings(FUZZ, database=None, phases=[Phase.generate])(
            lambda name, value: _assert_unknown_field_is_refused(world, TEMPLATE_CREATE, name, value)
        )
    )
    # Then it fails: the request was accepted, not refused
    with pytest.raises(AssertionError, match="201"):
        prop()

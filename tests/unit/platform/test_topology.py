"""The topology refuses what could not be deployed, and the real one builds."""

from __future__ import annotations

import dataclasses

import pytest

from infra.topology import SYSTEM
from services.profile import topology as profile
from shared.auth import Role
from shared.topology import (
    Attr,
    EventBus,
    Function,
    Route,
    Service,
    System,
    Table,
    TableAccess,
    TopologyError,
)

BUS = EventBus(id="dangol")
ANYONE = frozenset({Role.CUSTOMER})


def _table(table_id: str) -> Table:
    return Table(id=table_id, partition_key=Attr("pk"), sort_key=Attr("sk"))


def _function(function_id: str, service: str, *tables: Table) -> Function:
    return Function(
        id=function_id,
        service=service,
        handler=f"services.{service}.handlers.api.lambda_handler",
        description="test",
        tables=tuple(TableAccess(t) for t in tables),
    )


def _service(name: str, table_id: str | None = None, routes: tuple[tuple[str, str], ...] = ()) -> Service:
    table = _table(table_id or f"{name}-items")
    function = _function(f"{name}-api", name, table)
    return Service(
        name=name,
        tables=(table,),
        functions=(function,),
        routes=tuple(Route(m, p, function, ANYONE, "test") for m, p in routes),
    )


def _problems(*services: Service) -> str:
    with pytest.raises(TopologyError) as raised:
        System(name="dangol", bus=BUS, services=services)
    return str(raised.value)


def test_a_well_formed_system_builds() -> None:
    # Given two services each owning their table, function and routes
    services = (_service("rewards", routes=(("GET", "/rewards"),)), _service("feedback"))

    # When the system is built
    system = System(name="dangol", bus=BUS, services=services)

    # Then its parts are listed across services
    assert [t.id for t in system.tables] == ["rewards-items", "feedback-items"]
    assert system.function("feedback-api").service == "feedback"
    assert [r.key for r in system.routes] == ["GET /rewards"]


def test_two_services_declaring_the_same_table_id_are_refused() -> None:
    # Given two services whose tables share an id
    services = (_service("rewards", table_id="shared-items"), _service("feedback", table_id="shared-items"))

    # When the system is built
    problems = _problems(*services)

    # Then the duplicate table is named
    assert "duplicate table: ['shared-items']" in problems


def test_two_routes_with_the_same_method_and_path_are_refused() -> None:
    # Given two services that both serve GET /items
    services = (
        _service("rewards", routes=(("GET", "/items"),)),
        _service("feedback", routes=(("GET", "/items"),)),
    )

    # When the system is built
    problems = _problems(*services)

    # Then the duplicate route is named
    assert "duplicate route: ['GET /items']" in problems


def test_the_same_path_with_another_method_is_a_different_route() -> None:
    # Given GET and POST on one path
    service = _service("rewards", routes=(("GET", "/items"), ("POST", "/items")))

    # When the system is built
    system = System(name="dangol", bus=BUS, services=(service,))

    # Then both routes exist
    assert {r.key for r in system.routes} == {"GET /items", "POST /items"}


def test_a_function_touching_another_services_table_is_refused() -> None:
    # Given a rewards function that also touches the feedback service's table
    feedback = _service("feedback")
    rewards = _service("rewards")
    intruder = dataclasses.replace(
        rewards.functions[0], tables=(*rewards.functions[0].tables, TableAccess(feedback.tables[0]))
    )
    rewards = dataclasses.replace(rewards, functions=(intruder,))

    # When the system is built
    problems = _problems(rewards, feedback)

    # Then the trespass is named
    assert "function rewards-api touches table feedback-items it does not own" in problems


def test_a_route_that_allows_nobody_is_refused() -> None:
    # Given a route with no allowed roles
    service = _service("rewards")
    route = Route("GET", "/rewards", service.functions[0], frozenset(), "nobody may call this")
    service = dataclasses.replace(service, routes=(route,))

    # When the system is built
    problems = _problems(service)

    # Then the route is named
    assert "route GET /rewards allows nobody" in problems


@pytest.mark.parametrize("method", ["get", "HEAD", "OPTIONS", "FETCH", ""])
def test_a_route_with_an_unsupported_method_is_refused(method: str) -> None:
    # Given a route whose method is not one of GET, POST, PUT, PATCH, DELETE
    service = _service("rewards", routes=((method, "/rewards"),))

    # When the system is built
    problems = _problems(service)

    # Then the method is refused
    assert "unsupported method" in problems


def test_a_route_to_another_services_function_is_refused() -> None:
    # Given a rewards route served by the feedback function
    feedback = _service("feedback")
    rewards = _service("rewards")
    stray = Route("GET", "/rewards", feedback.functions[0], ANYONE, "stray")
    rewards = dataclasses.replace(rewards, routes=(stray,))

    # When the system is built
    problems = _problems(rewards, feedback)

    # Then the route is named
    assert "route GET /rewards targets a function outside rewards" in problems


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"id": "Rewards_API"}, "function id 'Rewards_API' must match"),
        ({"service": "feedback"}, "says service feedback, declared in rewards"),
        ({"memory_mb": 64}, "memory or timeout out of Lambda's range"),
        ({"timeout_s": 901}, "memory or timeout out of Lambda's range"),
    ],
    ids=["bad id", "wrong service", "too little memory", "too long timeout"],
)
def test_a_function_lambda_could_not_run_is_refused(change: dict[str, object], expected: str) -> None:
    # Given a service whose function is misdeclared
    service = _service("rewards")
    service = dataclasses.replace(service, functions=(dataclasses.replace(service.functions[0], **change),))

    # When the system is built
    problems = _problems(service)

    # Then the problem is named
    assert expected in problems


def test_every_problem_is_reported_at_once() -> None:
    # Given a service with a bad table id and a route that allows nobody
    service = _service("rewards", table_id="Bad_Table")
    route = Route("GET", "/rewards", service.functions[0], frozenset(), "nobody")
    service = dataclasses.replace(service, routes=(route,))

    # When the system is built
    problems = _problems(service)

    # Then both problems are in the one error
    assert "table id 'Bad_Table' must match" in problems
    assert "allows nobody" in problems


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/customers/{customer_id}", "/customers/<customer_id>"),
        ("/stores/{store_id}/visits/{visit_id}", "/stores/<store_id>/visits/<visit_id>"),
        ("/me", "/me"),
    ],
)
def test_a_route_path_converts_to_powertools_syntax(path: str, expected: str) -> None:
    # Given a route in API Gateway's template syntax
    route = Route("GET", path, _function("rewards-api", "rewards"), ANYONE, "test")

    # When its Powertools path is asked for
    converted = route.powertools_path

    # Then every {param} became <param>
    assert converted == expected


def test_a_route_lists_its_path_parameters_in_order() -> None:
    # Given a route with two path parameters
    route = Route("GET", "/stores/{store_id}/visits/{visit_id}", _function("a-api", "a"), ANYONE, "t")

    # When its parameters are asked for
    params = route.path_params

    # Then they are named in order
    assert params == ("store_id", "visit_id")


@pytest.mark.parametrize(
    ("table_id", "expected"),
    [("profiles", "PROFILES_TABLE"), ("reward-ledger", "REWARD_LEDGER_TABLE")],
)
def test_a_tables_env_var_is_its_id_in_upper_snake_case(table_id: str, expected: str) -> None:
    # Given a table
    table = _table(table_id)

    # When its environment variable is asked for
    name = table.env_var

    # Then it is the id upper-cased, dashes to underscores, with _TABLE
    assert name == expected


def test_the_real_system_builds_and_holds_the_profile_service() -> None:
    # Given the services the real topology assembles
    services = SYSTEM.services

    # When a System is built from them again
    system = System(name=SYSTEM.name, bus=SYSTEM.bus, services=services)

    # Then it holds (at least) the profile service's table, function and routes
    assert profile.PROFILES in system.tables
    assert system.function("profile-api") == profile.API
    assert {r.key for r in system.service("profile").routes} >= {
        "POST /me",
        "GET /me",
        "PATCH /me",
        "GET /customers/{customer_id}",
    }

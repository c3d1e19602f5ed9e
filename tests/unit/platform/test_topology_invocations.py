"""Direct invocations in the topology: who may invoke whom, checked when the System is built, and
every caller the real topology names exists."""

from __future__ import annotations

import dataclasses

import pytest

from infra.environment import function_environment
from infra.topology import SYSTEM
from services.profile import topology as profile
from shared.auth import Role
from shared.topology import EventBus, Function, Route, Service, System, TopologyError

BUS = EventBus(id="dangol")


def _function(function_id: str, service: str, **kw: object) -> Function:
    return Function(
        id=function_id,
        service=service,
        handler=f"services.{service}.handlers.api.lambda_handler",
        description="test",
        **kw,  # type: ignore[arg-type]
    )


def _system(*services: Service) -> System:
    return System(name="dangol", bus=BUS, services=services)


def _service(name: str, *functions: Function, routes: tuple[Route, ...] = ()) -> Service:
    return Service(name=name, tables=(), functions=functions, routes=routes)


CARDS = _function("people-cards", "people", invoked_by=("mail-sender",))
SENDER = _function("mail-sender", "mail")


def test_a_callee_naming_its_caller_by_id_makes_an_invocation_across_services() -> None:
    # Given a callee in one service naming a caller of another by id
    system = _system(_service("people", CARDS), _service("mail", SENDER))

    # Then the system knows the pair both ways, and no caller id is unknown
    assert system.invocations == ((SENDER, CARDS),)
    assert system.callers_of(CARDS) == (SENDER,)
    assert system.callees_of(SENDER) == (CARDS,)
    assert system.unknown_invokers == ()


def test_a_caller_naming_a_callee_of_its_own_service_makes_an_invocation() -> None:
    # Given a caller that names a function of its own service
    helper = _function("mail-render", "mail")
    caller = _function("mail-sender", "mail", invokes=(helper,))

    # Then the system knows it
    system = _system(_service("mail", caller, helper))
    assert system.callers_of(helper) == (caller,)


def test_a_caller_naming_another_services_function_is_refused() -> None:
    # Given a caller that names a function of another service (it would import that service)
    caller = _function("mail-sender", "mail", invokes=(CARDS,))

    # Then the system is refused, pointing at invoked_by
    with pytest.raises(TopologyError, match="invoked_by"):
        _system(_service("people", CARDS), _service("mail", caller))


def test_a_function_invoked_directly_serves_no_route() -> None:
    # Given a callee that also serves a route
    route = Route("GET", "/cards", CARDS, frozenset({Role.ADMIN}), "test")

    # Then the system is refused: its surface is one or the other
    with pytest.raises(TopologyError, match="invoked directly and serves routes"):
        _system(_service("people", CARDS, routes=(route,)), _service("mail", SENDER))


@pytest.mark.parametrize("caller_id", ["people-cards", "Not An Id", "x"])
def test_invoked_by_names_another_function_by_its_id(caller_id: str) -> None:
    # Given a callee naming itself or something that is no function id
    callee = dataclasses.replace(CARDS, invoked_by=(caller_id,))

    # Then the system is refused
    with pytest.raises(TopologyError, match="invoked_by"):
        _system(_service("people", callee))


def test_a_caller_not_declared_yet_is_listed_not_refused() -> None:
    # Given a callee naming a caller no service declares (yet)
    system = _system(_service("people", CARDS))

    # Then the system builds, grants nothing, and lists the unknown id
    assert system.invocations == ()
    assert system.unknown_invokers == (("people-cards", "mail-sender"),)


def test_a_caller_gets_its_callees_name_in_the_callees_env_var() -> None:
    # Given a caller and its callee
    system = _system(_service("people", CARDS), _service("mail", SENDER))

    # When the caller's environment is derived
    env = function_environment(
        system, SENDER, stage="test", table_name=str, bus_name=str, function_name=lambda f: f"<{f.id}>"
    )

    # Then it names the callee in PEOPLE_CARDS_FUNCTION; without a resolver it is refused
    assert env["PEOPLE_CARDS_FUNCTION"] == "<people-cards>"
    assert CARDS.env_var == "PEOPLE_CARDS_FUNCTION"
    with pytest.raises(ValueError, match="function_name="):
        function_environment(system, SENDER, stage="test", table_name=str, bus_name=str)


def test_the_contact_cards_have_no_route_and_name_their_callers() -> None:
    # Given the real topology's contact-card function
    cards = SYSTEM.function(profile.CONTACTS.id)

    # Then nothing routes to it, and its callers are the campaigns sender, the templates API (a
    # preview) and the campaigns API (a dry run's sample); the list is pinned here: a new caller
    # is a decision, not a side effect
    assert SYSTEM.routes_of(cards) == ()
    assert set(cards.invoked_by) == {"campaigns-sender", "campaigns-templates-api", "campaigns-api"}


def test_every_caller_the_real_topology_names_is_a_declared_function() -> None:
    # Given every invoked_by id of the real topology
    unknown = SYSTEM.unknown_invokers

    # Then each names a declared function (a typo would grant nothing and fail only at run time)
    assert unknown == ()

"""A test fails if a table or route used by the code is not in the topology.

The topology (``infra.topology.SYSTEM``) is what gets deployed: API Gateway
routes, IAM grants, environment variables. Code that serves a route nobody
declared, leaves a declared route unserved, or touches a table its function
was not granted would work in tests and fail (or be exposed) in AWS.
"""

from __future__ import annotations

import copy
import importlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from infra.local import provision
from infra.topology import SYSTEM
from services.profile.topology import API
from shared import aws
from shared.api import DangolResolver
from shared.topology import Access, Function
from tests.integration.apigw import Invoker, api_event
from tests.integration.conftest import STAGE

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish:UserWarning")

API_FUNCTIONS = [fn for fn in SYSTEM.functions if SYSTEM.service(fn.service).routes_of(fn)]
WRITES = frozenset({"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"})


@pytest.mark.parametrize("function", API_FUNCTIONS, ids=lambda f: f.id)
def test_a_function_that_serves_routes_builds_its_resolver_for_itself(function: Function) -> None:
    # Given a function the topology routes requests to
    # When its handler module is imported
    app = getattr(importlib.import_module(function.module), "app", None)

    # Then it has a resolver made for this very function and its service
    assert isinstance(app, DangolResolver), f"{function.module} has no DangolResolver named app"
    assert app.function == function
    assert app.service == SYSTEM.service(function.service)


@pytest.mark.parametrize("function", SYSTEM.functions, ids=lambda f: f.id)
def test_every_functions_handler_exists(function: Function) -> None:
    # Given a declared function
    # When its handler module is imported (without its environment, as at deploy time)
    module = importlib.import_module(function.module)

    # Then the entry point the topology names is there
    assert callable(getattr(module, function.entry, None)), function.handler


@pytest.mark.parametrize("function", API_FUNCTIONS, ids=lambda f: f.id)
def test_every_route_a_resolver_serves_is_declared_for_its_function(function: Function) -> None:
    # Given a function's resolver, as its handler module builds it
    app = importlib.import_module(function.module).app
    declared = {(r.method, r.powertools_path) for r in SYSTEM.service(function.service).routes_of(function)}

    # When the routes it registered are listed
    registered = [(r.method, r.path) for r in app._static_routes + app._dynamic_routes]

    # Then each is a declared route of this function, registered once
    assert len(registered) == len(set(registered))
    assert set(registered) - declared == set(), "served but not declared in the topology"


@pytest.mark.parametrize("function", API_FUNCTIONS, ids=lambda f: f.id)
def test_every_declared_route_is_implemented(function: Function) -> None:
    # Given a function's resolver
    app = importlib.import_module(function.module).app

    # When the declared routes without an implementation are listed
    unbound = app.unbound_routes

    # Then there are none, and the resolver serves exactly the declared routes
    assert {r.key for r in unbound} == set()
    declared = {(r.method, r.powertools_path) for r in SYSTEM.service(function.service).routes_of(function)}
    assert {(r.method, r.path) for r in app._static_routes + app._dynamic_routes} == declared


# --- tables the code touches ---------------------------------------------------------------------


@dataclass(frozen=True)
class Touch:
    operation: str
    table: str
    index: str | None = None


class DynamoRecorder:
    """Every table (and index) named in a request the DynamoDB client builds."""

    def __init__(self) -> None:
        self.touches: list[Touch] = []

    def __call__(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        params = copy.deepcopy(params)
        operation = model.name
        if "TableName" in params:
            self.touches.append(Touch(operation, params["TableName"], params.get("IndexName")))
        for table in params.get("RequestItems", {}):
            self.touches.append(Touch(operation, table))
        for action in params.get("TransactItems", []):
            for kind, op in action.items():
                self.touches.append(Touch(f"{operation}.{kind}", op["TableName"]))


@pytest.fixture
def dynamodb_calls(profile_api: Invoker) -> Iterator[DynamoRecorder]:
    recorder = DynamoRecorder()
    events = aws.client("dynamodb").meta.events
    events.register("before-parameter-build.dynamodb", recorder, unique_id="topology-recorder")
    yield recorder
    events.unregister("before-parameter-build.dynamodb", unique_id="topology-recorder")


def drive_profile_scenario(api: Invoker) -> None:
    """Create, read, update, staff read, and idempotent replays: every code path that stores."""
    key = {"Idempotency-Key": "conformance-1"}
    created = api(api_event("profile_create_me", headers=key))
    assert created.status == 201
    assert api(api_event("profile_create_me", headers=key)).header("Idempotent-Replayed") == "true"
    assert api(api_event("profile_get_me")).status == 200
    assert api(api_event("profile_update_me", headers=key)).status == 200
    assert api(api_event("profile_update_me", headers=key)).header("Idempotent-Replayed") == "true"
    clear_phone = api_event("profile_update_me", body={"phone": None}, headers={"If-Match": '"2"'})
    assert api(clear_phone).status == 200
    customer_id = created.json()["customer_id"]
    staff_read = api(api_event("profile_get_customer", path_parameters={"customer_id": customer_id}))
    assert staff_read.status == 200
    assert api(api_event("profile_create_me")).status == 409


def test_the_profile_api_touches_only_tables_its_function_declares(
    profile_api: Invoker, dynamodb_calls: DynamoRecorder
) -> None:
    # Given the tables the profile function is granted, by physical name
    granted = {provision.table_name(SYSTEM, STAGE, a.table): a for a in API.tables}

    # When the API is driven through a full scenario
    drive_profile_scenario(profile_api)

    # Then the code did talk to DynamoDB (the recorder saw the traffic)
    operations = {t.operation.split(".")[0] for t in dynamodb_calls.touches}
    assert {"GetItem", "UpdateItem", "PutItem", "TransactWriteItems"} <= operations
    # And every table it named is granted to the function, writes only where it may write
    for touch in dynamodb_calls.touches:
        assert touch.table in granted, f"{touch.operation} on undeclared table {touch.table}"
        access = granted[touch.table]
        if touch.operation.split(".")[0] in WRITES:
            assert access.access is Access.READ_WRITE, f"{touch.operation} on read-only {touch.table}"
        if touch.index is not None:
            assert touch.index in {i.name for i in access.table.indexes}, f"undeclared index {touch.index}"

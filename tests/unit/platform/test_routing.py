"""A function answers only the route API Gateway matched: a path id can never make a request
reach another of the function's routes (Powertools' patterns ended in ``$``, which also matches
before a final newline: ``GET /customers/%0A`` answered with the customer listing)."""

from __future__ import annotations

import importlib

import pytest

from infra.topology import SYSTEM
from shared.topology import Route
from tests.integration.apigw import ApiResponse, LambdaContext, api_event
from tests.integration.platform.fuzz_world import Ids, path_params

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish:UserWarning")

PARAM_ROUTES = [r for r in SYSTEM.routes if r.path_params]


@pytest.mark.parametrize("route", PARAM_ROUTES, ids=lambda r: r.key)
@pytest.mark.parametrize("value", ["\n", "x\n", "\r\n"], ids=["newline", "trailing-newline", "crlf"])
def test_a_path_id_with_a_line_break_reaches_no_route(route: Route, value: str) -> None:
    # Given a request API Gateway matched to a route with a path parameter whose value holds a line
    # break (what `%0A` in the URL decodes to), from a caller the route lets in
    params = dict.fromkeys(path_params(route, Ids()), value)
    # "machine": a till's access token; a public route takes anyone
    role = sorted(r.value for r in route.allow)[0] if route.allow else ""
    event = api_event(
        "profile_get_me", method=route.method, resource=route.path, path_parameters=params, groups=role
    )
    handler = getattr(importlib.import_module(route.function.module), route.function.entry)
    # When the function resolves it (sockets are off: reaching a handler that reads would be a 500)
    response = ApiResponse.of(handler(event, LambdaContext.of(route.function)))
    # Then no route of the function answers it: 404, with the one error body
    assert (response.status, response.error["code"]) == (404, "route_not_found"), response.body[:300]

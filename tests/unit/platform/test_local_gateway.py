"""The local gateway's own doors: ``/_local/*`` takes the run's secret and never a browser, the
runtime's endpoints (token, Cognito) never serve a browser, none of them sends CORS headers, and
a route's token is checked against that route's OAuth scopes."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pytest

from infra.local.gateway import LOCAL_SECRET_HEADER, Gateway, Reply
from infra.topology import SYSTEM
from services.profile.topology import ME_GET
from services.rewards.topology import HOLD_GET
from shared.auth import MACHINE_SCOPE
from shared.errors import Unauthorized

SECRET = "the-runs-secret"


class RecordingVerifier:
    def __init__(self) -> None:
        self.scopes: list[tuple[str, ...]] = []

    def verify(self, authorization: str | None, scopes: Sequence[str] = ()) -> dict[str, Any]:
        self.scopes.append(tuple(scopes))
        raise Unauthorized("stop here", code="invalid_token")


def gateway(verifier: RecordingVerifier | None = None) -> Gateway:
    checker = verifier or RecordingVerifier()
    return Gateway(
        SYSTEM.routes,
        {},
        lambda: checker,  # type: ignore[arg-type, return-value]
        stage="local",
        spec=dict,
        access_log=False,
        admin=lambda method, path, query, body: (200, {"path": path}),
        local_secret=SECRET,
        endpoints={"/oauth2/token": lambda method, headers, body: (200, [], b"{}")},
    )


def call(
    target: str, headers: dict[str, str], method: str = "GET", verifier: RecordingVerifier | None = None
) -> Reply:
    return gateway(verifier).handle(
        method, target, headers=list(headers.items()), body=b"", source_ip="127.0.0.1"
    )


def test_local_endpoints_answer_with_the_secret_and_without_cors() -> None:
    # Given the run's secret
    # When a local endpoint is called with it
    reply = call("/_local/events", {LOCAL_SECRET_HEADER: SECRET})
    # Then the runtime answers, and the reply is marked to carry no CORS header
    assert (reply.status, json.loads(reply.body)) == (200, {"path": "events"})
    assert reply.cors is False


@pytest.mark.parametrize("headers", [{}, {LOCAL_SECRET_HEADER: "guess"}, {LOCAL_SECRET_HEADER: SECRET[:-1]}])
def test_local_endpoints_refuse_a_missing_or_wrong_secret(headers: dict[str, str]) -> None:
    # Given no secret or a wrong one
    # When a local endpoint is called
    reply = call("/_local/clock", headers, method="POST")
    # Then it is 401 in the gateway's error format, without CORS
    assert reply.status == 401
    assert json.loads(reply.body)["error"]["code"] == "unauthorized"
    assert reply.cors is False


@pytest.mark.parametrize("browser", [{"Origin": "https://example.com"}, {"Sec-Fetch-Site": "same-origin"}])
@pytest.mark.parametrize("target", ["/_local/events", "/oauth2/token"])
def test_the_runtimes_own_doors_refuse_browsers_even_with_the_secret(
    browser: dict[str, str], target: str
) -> None:
    # Given a request a browser sent (its Origin or fetch metadata), with the right secret
    # When it reaches a local endpoint or the token endpoint
    reply = call(target, {LOCAL_SECRET_HEADER: SECRET, **browser}, method="POST")
    # Then it is refused, without CORS
    assert (reply.status, json.loads(reply.body)["error"]["code"]) == (403, "origin_refused")
    assert reply.cors is False


def test_api_routes_keep_their_cors_header() -> None:
    # Given an API route (refused here by the authorizer)
    # When it is called
    reply = call("/me", {})
    # Then its answer may carry the API's CORS header, unlike the runtime's own endpoints
    assert reply.cors is True


@pytest.mark.parametrize(("route", "scopes"), [(ME_GET, ()), (HOLD_GET, (MACHINE_SCOPE,))])
def test_each_route_is_checked_against_its_own_scopes(route: Any, scopes: tuple[str, ...]) -> None:
    # Given a person's route and a machine route
    verifier = RecordingVerifier()
    path = route.path.replace("{customer_id}", "cus_01M82AEKG51WJP0K379AYG4E2W").replace("{order_id}", "o-1")
    # When each is called
    reply = call(path, {"Authorization": "Bearer x"}, method=route.method, verifier=verifier)
    # Then the authorizer was asked with that route's scopes (none, or the machine scope)
    assert verifier.scopes == [scopes]
    assert reply.status == 401

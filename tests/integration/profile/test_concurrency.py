"""Concurrent requests to the profile API: one effect, whatever the interleaving.

Each thread is its own Lambda execution environment (a fresh import of the
handler module), as concurrent requests are in AWS; they share only DynamoDB.
``serialized_moto`` makes moto answer one call at a time, so the races exercised
are between our requests, not inside moto.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from services.profile.topology import API, PROFILES
from shared.topology import Function
from tests.integration.apigw import ApiResponse, Invoker, api_event
from tests.integration.conftest import scan_all

N = 8
KEY = "0c3e2b1a-7f6d-4e5c-9b8a-1f2e3d4c5b6a"

pytestmark = [
    pytest.mark.usefixtures("serialized_moto"),
    pytest.mark.filterwarnings("ignore:No application metrics to publish:UserWarning"),
]


@pytest.fixture(autouse=True)
def _no_shared_metrics(monkeypatch: pytest.MonkeyPatch) -> None:
    # Powertools keeps metrics in class-level state that real execution environments never
    # share; threads of one process would flush each other's. Metrics are not under test here.
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")


def all_at_once(environments: list[Invoker], events: list[dict[str, Any]]) -> list[ApiResponse]:
    """Send each event to its own environment, all released at the same moment."""
    barrier = threading.Barrier(len(environments))

    def send(invoke: Invoker, event: dict[str, Any]) -> ApiResponse:
        barrier.wait(timeout=10)
        return invoke(event)

    with ThreadPoolExecutor(max_workers=len(environments)) as pool:
        futures = [pool.submit(send, env, event) for env, event in zip(environments, events, strict=True)]
        return [f.result(timeout=30) for f in futures]


def test_concurrent_posts_with_one_key_create_exactly_one_profile(
    execution_environments: Callable[[Function], Invoker],
) -> None:
    # Given 8 execution environments and 8 identical POST /me with one Idempotency-Key
    environments = [execution_environments(API) for _ in range(N)]
    events = [api_event("profile_create_me", headers={"Idempotency-Key": KEY}) for _ in range(N)]

    # When they all arrive at once
    responses = all_at_once(environments, events)

    # Then exactly one profile and one identity link exist
    items = scan_all(PROFILES)
    assert len([i for i in items if i["sk"]["S"] == "PROFILE"]) == 1
    assert len([i for i in items if i["sk"]["S"] == "IDENTITY"]) == 1
    # And every response is that one profile (first or replayed) or "in progress, retry"
    created = [r for r in responses if r.status == 201]
    busy = [r for r in responses if r.status == 409]
    assert len(created) + len(busy) == N, [(r.status, r.body) for r in responses]
    assert {r.json()["customer_id"] for r in created} == {items_customer_id(items)}
    assert len([r for r in created if r.header("Idempotent-Replayed") is None]) == 1
    assert {r.error["code"] for r in busy} <= {"idempotency_in_progress"}
    assert all(r.header("Retry-After") == "1" for r in busy)


def items_customer_id(items: list[dict[str, Any]]) -> str:
    (profile,) = [i for i in items if i["sk"]["S"] == "PROFILE"]
    return str(profile["customer_id"]["S"])


def test_concurrent_patches_of_one_version_let_exactly_one_win(
    profile_api: Invoker, execution_environments: Callable[[Function], Invoker]
) -> None:
    # Given a profile at version 1
    assert profile_api(api_event("profile_create_me")).status == 201
    # And 8 environments each sending a different change with If-Match "1" and no key
    environments = [execution_environments(API) for _ in range(N)]
    events = [api_event("profile_update_me", body={"display_name": f"Writer {n}"}) for n in range(N)]

    # When they all arrive at once
    responses = all_at_once(environments, events)

    # Then exactly one succeeds, the others are told the version moved on
    statuses = sorted(r.status for r in responses)
    assert statuses == [200] + [412] * (N - 1), [(r.status, r.body) for r in responses]
    (winner,) = [r for r in responses if r.status == 200]
    assert {r.error["code"] for r in responses if r.status == 412} == {"precondition_failed"}
    # And the stored profile is version 2 with the winner's change
    current = profile_api(api_event("profile_get_me")).json()
    assert current["version"] == 2
    assert current == winner.json()


def test_concurrent_posts_without_a_key_still_create_one_profile(
    execution_environments: Callable[[Function], Invoker],
) -> None:
    # Given 8 environments and 8 POST /me from one customer, without Idempotency-Key
    environments = [execution_environments(API) for _ in range(N)]
    events = [api_event("profile_create_me", body={"display_name": f"Try {n}"}) for n in range(N)]

    # When they all arrive at once
    responses = all_at_once(environments, events)

    # Then one creates the profile and the others are told it exists
    statuses = sorted(r.status for r in responses)
    assert statuses == [201] + [409] * (N - 1), [(r.status, r.body) for r in responses]
    assert {r.error["code"] for r in responses if r.status == 409} == {"profile_exists"}
    items = scan_all(PROFILES)
    assert sorted(i["sk"]["S"] for i in items) == ["IDENTITY", "PROFILE"]


def test_concurrent_unconditional_patches_are_all_applied(
    profile_api: Invoker, execution_environments: Callable[[Function], Invoker]
) -> None:
    # Given a profile at version 1
    assert profile_api(api_event("profile_create_me")).status == 201
    # And 8 environments each sending a change without If-Match
    environments = [execution_environments(API) for _ in range(N)]
    events = [
        api_event("profile_update_me", body={"display_name": f"Writer {n}"}, headers={"If-Match": None})
        for n in range(N)
    ]

    # When they all arrive at once
    responses = all_at_once(environments, events)

    # Then every update succeeds with its own version, and none is lost
    assert [r.status for r in responses] == [200] * N
    assert sorted(r.json()["version"] for r in responses) == list(range(2, N + 2))
    assert profile_api(api_event("profile_get_me")).json()["version"] == N + 1

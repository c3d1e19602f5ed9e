"""Concurrent intake: the same purchase sent by several tills (or retries) at once has one effect,
and different purchases of one customer at once are all counted.

Each thread is its own Lambda execution environment; ``serialized_moto`` answers one call at a
time, so the races exercised are between our requests (our conditional writes), not inside moto.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import pytest

from services.profile.topology import INTAKE_API
from shared.topology import Function
from tests.integration.apigw import ApiResponse, Invoker, api_event
from tests.integration.profile.test_intake_api import claims_of, item, items, new_customer, purchase, seoul_at

N = 6
pytestmark = [
    pytest.mark.usefixtures("serialized_moto", "frozen_clock"),  # frozen at NOW, where seoul_at counts from
    pytest.mark.filterwarnings("ignore:No application metrics to publish:UserWarning"),
]


@pytest.fixture(autouse=True)
def _no_shared_metrics(monkeypatch: pytest.MonkeyPatch) -> None:
    # Powertools keeps metrics in class-level state that separate environments never share.
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")


def post(body: dict[str, Any]) -> dict[str, Any]:
    return api_event(
        "profile_get_me",
        method="POST",
        resource="/purchases",
        path="/purchases",
        body=body,
        claims=claims_of("machine"),
    )


def all_at_once(environments: list[Invoker], events: list[dict[str, Any]]) -> list[ApiResponse]:
    barrier = threading.Barrier(len(environments))

    def send(invoke: Invoker, event: dict[str, Any]) -> ApiResponse:
        barrier.wait(timeout=10)
        return invoke(event)

    with ThreadPoolExecutor(max_workers=len(environments)) as pool:
        futures = [pool.submit(send, env, event) for env, event in zip(environments, events, strict=True)]
        return [f.result(timeout=60) for f in futures]


def test_one_purchase_sent_at_once_from_everywhere_is_recorded_once(
    execution_environments: Callable[[Function], Invoker], profile_api: Invoker
) -> None:
    # Given a customer and six environments holding the same purchase
    customer = new_customer(profile_api, "sub-race")
    environments = [execution_environments(INTAKE_API) for _ in range(N)]
    # When all send it at the same moment
    responses = all_at_once(environments, [post(purchase(customer, "race-1")) for _ in range(N)])
    # Then one created it and the others got that same purchase back
    assert sorted(r.status for r in responses) == [200] * (N - 1) + [201], [r.body for r in responses]
    assert len({r.json()["purchase_id"] for r in responses}) == 1
    # ... and it was counted, claimed and put in the outbox once
    stats = item(f"CUSTOMER#{customer}", "STATS")
    assert stats is not None
    assert (stats["purchase_count"], stats["spend_KRW"]) == (1, 4500)
    assert len([i for i in items() if str(i["sk"]).startswith("PURCHASE#")]) == 1


def test_different_purchases_of_one_customer_at_once_are_all_counted(
    execution_environments: Callable[[Function], Invoker], profile_api: Invoker
) -> None:
    # Given six different purchases of one customer's morning latte, stamped out of order
    customer = new_customer(profile_api, "sub-busy")
    environments = [execution_environments(INTAKE_API) for _ in range(N)]
    stamps = [seoul_at(1, f"08:{m:02d}") for m in (30, 10, 50, 0, 40, 20)]
    events = [post(purchase(customer, f"busy-{n}", at=stamps[n])) for n in range(N)]
    # When they all arrive at once
    responses = all_at_once(environments, events)
    # Then every one is recorded, the counters hold them all, and first/last are the extremes
    assert [r.status for r in responses] == [201] * N, [r.body for r in responses]
    stats = item(f"CUSTOMER#{customer}", "STATS")
    usual = item(f"CUSTOMER#{customer}", "USUAL#morning#AMERICANO-L")
    assert stats is not None
    assert usual is not None
    assert (stats["purchase_count"], stats["spend_KRW"], usual["count"]) == (N, N * 4500, N)
    first = [r.json()["purchased_at"] for r in responses]
    assert stats["first_purchase_at"] == _utc(min(first))
    assert stats["last_purchase_at"] == usual["last_at"] == _utc(max(first))


def _utc(stamp: str) -> str:
    return datetime.fromisoformat(stamp).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

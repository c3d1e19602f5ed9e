"""shared.idempotency.IdempotencyStore on moto: its condition expressions as DynamoDB evaluates them."""

from __future__ import annotations

import pytest

from services.profile.topology import API, PROFILES
from shared.errors import Conflict, Unprocessable
from shared.idempotency import COMPLETED, IdempotencyStore, StoredResponse
from tests.integration.conftest import table

SCOPE = "sub-1#POST /me"
KEY = "key-1"
START = 1_800_000_000


class Clock:
    def __init__(self) -> None:
        self.t = float(START)

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(tables: dict[str, str], clock: Clock) -> IdempotencyStore:
    return IdempotencyStore(
        table(PROFILES),
        partition_key=PROFILES.partition_key.name,
        sort_key=PROFILES.sort_key.name if PROFILES.sort_key else None,
        ttl_attribute=PROFILES.ttl_attribute or "expires_at",
        lock_s=API.timeout_s,
        ttl_s=3600,
        now=clock,
    )


def record(store: IdempotencyStore) -> dict[str, object] | None:
    return store.table.get(store._key(SCOPE, KEY))


def test_a_claim_is_busy_until_the_functions_timeout_then_taken_over(
    store: IdempotencyStore, clock: Clock
) -> None:
    # Given a claim whose function died without completing or releasing it
    dead, _ = store.begin(SCOPE, KEY, "fp")

    # When the same request comes within the function's timeout, and again after it
    clock.t = START + API.timeout_s - 1
    with pytest.raises(Conflict) as busy:
        store.begin(SCOPE, KEY, "fp")
    clock.t = START + API.timeout_s + 1
    taken, replay = store.begin(SCOPE, KEY, "fp")

    # Then it is first told to retry, then takes the key over with a new claim
    assert busy.value.code == "idempotency_in_progress"
    assert busy.value.headers == {"Retry-After": "1"}
    assert replay is None
    assert taken not in ("", dead)
    # And the dead claim can neither complete nor release the new owner's record
    store.complete(SCOPE, KEY, dead, StoredResponse(500, "{}", "application/json"))
    store.release(SCOPE, KEY, dead)
    current = record(store)
    assert current is not None
    assert current["claim"] == taken
    assert current["status"] == "IN_PROGRESS"


def test_a_completed_record_replays_until_its_ttl_then_the_key_is_free(
    store: IdempotencyStore, clock: Clock
) -> None:
    # Given a completed request
    token, _ = store.begin(SCOPE, KEY, "fp")
    first = StoredResponse(201, '{"ok":true}', "application/json", {"ETag": '"1"'})
    store.complete(SCOPE, KEY, token, first)
    assert record(store)["status"] == COMPLETED  # type: ignore[index]

    # When the key comes back before the TTL with another body, then the same body, then after the TTL
    clock.t = START + 3599
    with pytest.raises(Unprocessable) as reused:
        store.begin(SCOPE, KEY, "other-fp")
    _, replay = store.begin(SCOPE, KEY, "fp")
    clock.t = START + 3601
    fresh, expired_replay = store.begin(SCOPE, KEY, "other-fp")

    # Then: reuse refused, exact replay (status, body, type, headers), and a fresh claim once expired
    assert reused.value.code == "idempotency_key_reused"
    assert replay == first
    assert expired_replay is None
    assert fresh
    assert record(store)["fingerprint"] == "other-fp"  # type: ignore[index]


def test_a_released_key_leaves_no_record(store: IdempotencyStore) -> None:
    # Given a claimed key
    token, _ = store.begin(SCOPE, KEY, "fp")

    # When its request fails and the key is released
    store.release(SCOPE, KEY, token)

    # Then the record is gone and the key can be claimed with any body
    assert record(store) is None
    again, replay = store.begin(SCOPE, KEY, "another-body")
    assert again
    assert replay is None

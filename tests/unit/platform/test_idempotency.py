"""Idempotency keys: their bounds, the request fingerprint, and the claim/replay/release cycle."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.errors import BadRequest, Conflict, Unprocessable
from shared.idempotency import (
    COMPLETED,
    IN_PROGRESS,
    IdempotencyStore,
    StoredResponse,
    request_hash,
    validate_key,
)
from tests.unit.fakes import PROPERTIES, FakeSeconds, FakeTable, condition_holds

# --- keys ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "key",
    ["a", "3f1c2a9e-7d4b-4c1e-9a55-0f6c2b7d8e11", "~!{}[]|", "k" * 255],
    ids=["one char", "uuid", "punctuation", "255 chars"],
)
def test_a_key_of_1_to_255_visible_ascii_characters_is_accepted(key: str) -> None:
    # Given a key of visible ASCII characters within bounds
    # When it is validated
    accepted = validate_key(key)

    # Then it is returned as it is
    assert accepted == key


@pytest.mark.parametrize(
    "key",
    ["", "k" * 256, "has space", "tab\there", "ключ", "nul\x00"],
    ids=["empty", "256 chars", "space", "tab", "non-ASCII", "NUL"],
)
def test_an_empty_overlong_or_invisible_key_is_a_bad_request(key: str) -> None:
    # Given a key out of bounds
    # When it is validated
    # Then it is a 400 invalid_idempotency_key
    with pytest.raises(BadRequest) as raised:
        validate_key(key)
    assert raised.value.code == "invalid_idempotency_key"


@pytest.mark.parametrize("key", ["abc\n", "k" * 255 + "\n"], ids=["short", "256 with newline"])
def test_a_key_ending_in_a_newline_is_a_bad_request(key: str) -> None:
    # Given a key that ends with a newline (not a visible character)
    # When it is validated
    try:
        validate_key(key)
        refused = False
    except BadRequest:
        refused = True

    # Then it is refused
    assert refused


# --- fingerprints --------------------------------------------------------------------------------

_json_objects = st.dictionaries(
    st.text(max_size=8),
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=10),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
        max_leaves=10,
    ),
    max_size=5,
)


@PROPERTIES
@given(body=_json_objects, indent=st.sampled_from([None, 2, 4]))
def test_the_same_json_hashes_the_same_whatever_its_key_order_or_whitespace(
    body: dict[str, Any], indent: int | None
) -> None:
    # Given one JSON object written compactly and written reversed with other whitespace
    compact = json.dumps(body, separators=(",", ":"))
    loose = json.dumps(dict(reversed(list(body.items()))), indent=indent, ensure_ascii=False)

    # When both requests are fingerprinted
    first = request_hash("POST", "/me", compact)
    second = request_hash("POST", "/me", f"  {loose}\n")

    # Then the fingerprints are equal
    assert first == second


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (("POST", "/me", '{"display_name":"Minji"}'), ("POST", "/me", '{"display_name":"Jisoo"}')),
        (("POST", "/me", '{"points":1}'), ("POST", "/me", '{"points":"1"}')),
        (("POST", "/me", '{"a":1}'), ("POST", "/me", '{"a":1,"b":null}')),
        (("POST", "/me", '{"a":1}'), ("POST", "/customers", '{"a":1}')),
        (("POST", "/me", '{"a":1}'), ("PATCH", "/me", '{"a":1}')),
        (("POST", "/me", "not json"), ("POST", "/me", "not  json")),
    ],
    ids=["other value", "other type", "extra field", "other path", "other method", "other raw text"],
)
def test_different_requests_hash_differently(
    first: tuple[str, str, str], second: tuple[str, str, str]
) -> None:
    # Given two requests that differ in body, path or method
    # When both are fingerprinted
    a, b = request_hash(*first), request_hash(*second)

    # Then the fingerprints differ
    assert a != b


# --- the store (on an in-memory table) -----------------------------------------------------------

SCOPE = "user-1#POST /me"
KEY = "key-1"
LOCK_S = 10
CREATED = StoredResponse(
    status=201, body='{"customer_id":"cus_1"}', content_type="application/json", headers={"ETag": '"1"'}
)


def _store(table: FakeTable, now: FakeSeconds) -> IdempotencyStore:
    return IdempotencyStore(
        table,  # type: ignore[arg-type]
        partition_key="pk",
        sort_key="sk",
        ttl_attribute="expires_at",
        lock_s=LOCK_S,
        ttl_s=3600,
        now=now,
    )


@pytest.fixture
def now() -> FakeSeconds:
    return FakeSeconds()


@pytest.fixture
def table() -> FakeTable:
    return FakeTable(key_names=("pk", "sk"))


def test_the_first_request_with_a_key_claims_it(table: FakeTable, now: FakeSeconds) -> None:
    # Given a store with no record for the key
    store = _store(table, now)

    # When a request begins with the key
    token, stored = store.begin(SCOPE, KEY, "fp-1")

    # Then it holds a claim, nothing is replayed, and the record is in progress until lock and TTL times
    assert token
    assert stored is None
    (record,) = table.items.values()
    assert record["status"] == IN_PROGRESS
    assert record["lock_until"] == int(now()) + LOCK_S
    assert record["expires_at"] == int(now()) + 3600


def test_a_completed_request_is_replayed_to_the_same_key_and_body(table: FakeTable, now: FakeSeconds) -> None:
    # Given a request that ran and stored its response
    store = _store(table, now)
    token, _ = store.begin(SCOPE, KEY, "fp-1")
    store.complete(SCOPE, KEY, token, CREATED)

    # When the same key comes again with the same body
    again, stored = store.begin(SCOPE, KEY, "fp-1")

    # Then the first response is handed back, with no new claim
    assert again == ""
    assert stored == CREATED


def test_the_same_key_with_another_body_is_a_422(table: FakeTable, now: FakeSeconds) -> None:
    # Given a key already used (completed) for one body
    store = _store(table, now)
    token, _ = store.begin(SCOPE, KEY, "fp-1")
    store.complete(SCOPE, KEY, token, CREATED)

    # When it comes again with another body
    # Then it is a 422 idempotency_key_reused
    with pytest.raises(Unprocessable) as raised:
        store.begin(SCOPE, KEY, "fp-2")
    assert raised.value.code == "idempotency_key_reused"


def test_a_second_request_while_the_first_runs_is_a_409_to_retry(table: FakeTable, now: FakeSeconds) -> None:
    # Given a request that claimed the key and is still running
    store = _store(table, now)
    store.begin(SCOPE, KEY, "fp-1")

    # When the same request arrives again within the lock time
    now.advance(LOCK_S - 1)
    with pytest.raises(Conflict) as raised:
        store.begin(SCOPE, KEY, "fp-1")

    # Then it is told to retry shortly
    assert raised.value.code == "idempotency_in_progress"
    assert raised.value.headers["Retry-After"] == "1"


def test_a_claim_whose_function_died_can_be_taken_after_the_lock_time(
    table: FakeTable, now: FakeSeconds
) -> None:
    # Given a claim whose request never completed
    store = _store(table, now)
    first, _ = store.begin(SCOPE, KEY, "fp-1")

    # When the same request arrives after the lock time
    now.advance(LOCK_S + 1)
    second, stored = store.begin(SCOPE, KEY, "fp-1")

    # Then it takes a new claim
    assert stored is None
    assert second
    assert second != first


def test_a_released_key_can_be_claimed_again(table: FakeTable, now: FakeSeconds) -> None:
    # Given a request that failed and released its key
    store = _store(table, now)
    token, _ = store.begin(SCOPE, KEY, "fp-1")
    store.release(SCOPE, KEY, token)

    # When the client retries, even with a corrected body
    retry, stored = store.begin(SCOPE, KEY, "fp-2")

    # Then the retry claims the key afresh
    assert retry
    assert stored is None


def test_a_stale_claim_neither_completes_nor_releases_the_new_owners_record(
    table: FakeTable, now: FakeSeconds
) -> None:
    # Given a claim that expired and was taken over by a second request
    store = _store(table, now)
    stale, _ = store.begin(SCOPE, KEY, "fp-1")
    now.advance(LOCK_S + 1)
    current, _ = store.begin(SCOPE, KEY, "fp-1")

    # When the first request finally completes, then releases
    store.complete(SCOPE, KEY, stale, CREATED)
    store.release(SCOPE, KEY, stale)

    # Then the second request's claim is untouched
    (record,) = table.items.values()
    assert record["claim"] == current
    assert record["status"] == IN_PROGRESS


def test_a_record_past_its_ttl_no_longer_replays(table: FakeTable, now: FakeSeconds) -> None:
    # Given a completed record whose TTL has passed (DynamoDB deletes lazily)
    store = _store(table, now)
    token, _ = store.begin(SCOPE, KEY, "fp-1")
    store.complete(SCOPE, KEY, token, CREATED)
    now.advance(3601)

    # When the key comes again
    again, stored = store.begin(SCOPE, KEY, "fp-1")

    # Then it is a new claim, not a replay
    assert again
    assert stored is None


def test_keys_are_scoped_per_caller_and_route(table: FakeTable, now: FakeSeconds) -> None:
    # Given a key completed by one caller
    store = _store(table, now)
    token, _ = store.begin("user-1#POST /me", KEY, "fp-1")
    store.complete("user-1#POST /me", KEY, token, CREATED)

    # When another caller uses the same key
    other, stored = store.begin("user-2#POST /me", KEY, "fp-1")

    # Then it is their own fresh claim
    assert other
    assert stored is None
    assert {r["status"] for r in table.items.values()} == {COMPLETED, IN_PROGRESS}


# --- the fake's condition evaluator (so the store tests above can be trusted) --------------------


@pytest.mark.parametrize(
    ("expression", "item", "expected"),
    [
        ("attribute_not_exists(#pk)", {}, True),
        ("attribute_not_exists(#pk)", {"pk": "x"}, False),
        ("attribute_exists(#pk)", {"pk": "x"}, True),
        ("claim = :c", {"claim": "t"}, True),
        ("claim = :c", {"claim": "u"}, False),
        ("claim = :c", {}, False),
        ("#n < :now", {"n": 5}, True),
        ("#n < :now", {"n": 50}, False),
        ("attribute_not_exists(#pk) OR #n < :now", {"pk": "x", "n": 5}, True),
        ("attribute_exists(#pk) AND #n < :now", {"pk": "x", "n": 50}, False),
        ("(claim = :c AND #n < :now) OR attribute_not_exists(#pk)", {"pk": "x", "claim": "t", "n": 5}, True),
        (
            "(claim = :c AND #n < :now) OR attribute_not_exists(#pk)",
            {"pk": "x", "claim": "t", "n": 50},
            False,
        ),
    ],
)
def test_the_fake_tables_conditions_follow_dynamodb(
    expression: str, item: dict[str, Any], expected: bool
) -> None:
    # Given a condition and the item it is checked against
    names, values = {"#pk": "pk", "#n": "n"}, {":c": "t", ":now": 10}

    # When it is evaluated
    holds = condition_holds(expression, item, names, values)

    # Then the outcome is DynamoDB's
    assert holds is expected

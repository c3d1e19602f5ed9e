"""The DynamoDB adapter's pure parts: values, error codes, chunks, backoff, batches, transactions."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from botocore.exceptions import ClientError
from hypothesis import given
from hypothesis import strategies as st

from shared.dynamo import (
    Backoff,
    ConditionFailed,
    DynamoTable,
    TransactionConflict,
    chunked,
    deserialize,
    from_attr,
    serialize,
    to_attr,
    transact_write,
    translate,
    translated,
)
from shared.errors import PayloadTooLarge, ServiceUnavailable, Throttled
from tests.unit.fakes import PROPERTIES, AwsError, FakeDynamoClient, RecordingSleep

NO_SLEEP = Backoff(sleep=lambda _s: None)

# --- values --------------------------------------------------------------------------------------

_scalars = st.one_of(
    st.text(max_size=20),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.booleans(),
    st.none(),
    st.binary(max_size=16),
    st.decimals(allow_nan=False, allow_infinity=False, places=4, min_value=-(10**9), max_value=10**9),
)
_values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)
_items = st.dictionaries(st.text(min_size=1, max_size=8), _values, max_size=6)


def _typed(value: Any) -> Any:
    """The value with its kind spelled out, so True != 1 and b"x" != "x" when compared."""
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, int | Decimal):
        return ("number", Decimal(value))
    if isinstance(value, dict):
        return ("map", {k: _typed(v) for k, v in value.items()})
    if isinstance(value, list):
        return ("list", [_typed(v) for v in value])
    return (type(value).__name__, value)


@PROPERTIES
@given(item=_items)
def test_any_item_of_supported_values_round_trips(item: dict[str, Any]) -> None:
    # Given an item of nested maps and lists of str, int, bool, None, bytes and Decimal
    # When it is serialized to attribute values and back
    back = deserialize(serialize(item))

    # Then every value comes back equal and of the same kind
    assert _typed(back) == _typed(item)


@PROPERTIES
@given(value=_values)
def test_any_value_round_trips_through_to_attr_and_from_attr(value: Any) -> None:
    # Given a supported value
    # When it becomes an attribute value and back
    back = from_attr(to_attr(value))

    # Then it is the same value of the same kind
    assert _typed(back) == _typed(value)


@pytest.mark.parametrize(
    "value",
    [1.5, 0.0, {"price": 9.99}, [1, 2.0], {"a": [{"b": float("nan")}]}],
    ids=["float", "zero float", "float in map", "float in list", "nested NaN"],
)
def test_floats_are_refused_at_any_depth(value: Any) -> None:
    # Given a value holding a float
    # When it is converted
    # Then it is refused: money and points are integers, exact numbers are Decimal
    with pytest.raises(TypeError):
        to_attr(value)


@pytest.mark.parametrize("flag", [True, False])
def test_a_bool_is_stored_as_bool_not_as_a_number(flag: bool) -> None:
    # Given a boolean
    # When it is converted and read back
    attr = to_attr(flag)
    back = from_attr(attr)

    # Then it is a BOOL attribute and a bool again
    assert attr == {"BOOL": flag}
    assert back is flag


@PROPERTIES
@given(number=st.integers(min_value=-(10**38), max_value=10**38))
def test_an_integral_number_comes_back_as_int(number: int) -> None:
    # Given an integral N attribute as DynamoDB returns it
    # When it is read
    value = from_attr({"N": str(number)})

    # Then it is an int, not a Decimal
    assert type(value) is int
    assert value == number


def test_a_fractional_number_comes_back_as_an_exact_decimal() -> None:
    # Given a fractional N attribute
    # When it is read
    value = from_attr({"N": "0.10"})

    # Then it is the exact Decimal
    assert isinstance(value, Decimal)
    assert value == Decimal("0.10")


def test_sets_of_strings_and_ints_become_typed_sets() -> None:
    # Given sets of strings and of ints
    # When they are converted and read back
    ss, ns = to_attr({"b", "a"}), to_attr({3, 1})

    # Then they are SS and NS, sorted, and read back as sets
    assert ss == {"SS": ["a", "b"]}
    assert ns == {"NS": ["1", "3"]}
    assert from_attr(ss) == {"a", "b"}
    assert from_attr(ns) == {1, 3}


@pytest.mark.parametrize(
    "value", [set(), {"a", 1}, {True, False}, object()], ids=["empty set", "mixed set", "bool set", "object"]
)
def test_empty_mixed_and_unsupported_values_are_refused(value: Any) -> None:
    # Given a value DynamoDB cannot hold as-is
    # When it is converted
    # Then it is refused
    with pytest.raises(TypeError):
        to_attr(value)


# --- errors --------------------------------------------------------------------------------------


def test_a_failed_condition_is_a_409_condition_failed() -> None:
    # Given DynamoDB's error for a failed condition
    error = AwsError("ConditionalCheckFailedException", "The conditional request failed")

    # When it is translated
    mapped = translate(error)

    # Then it is a 409 ConditionFailed
    assert isinstance(mapped, ConditionFailed)
    assert mapped.status == 409


def test_a_transaction_cancelled_by_a_condition_says_which_action_failed() -> None:
    # Given a cancelled transaction whose second action's condition failed
    error = AwsError("TransactionCanceledException", reasons=("None", "ConditionalCheckFailed"))

    # When it is translated
    mapped = translate(error)

    # Then it is ConditionFailed with each action's reason in order
    assert isinstance(mapped, ConditionFailed)
    assert mapped.reasons == ["None", "ConditionalCheckFailed"]


def test_a_transaction_cancelled_only_by_a_conflict_is_a_transaction_conflict() -> None:
    # Given a transaction cancelled because another one touched the same items
    error = AwsError("TransactionCanceledException", reasons=("TransactionConflict", "None"))

    # When it is translated
    mapped = translate(error)

    # Then it is a TransactionConflict (a 409 the client may retry), not a failed condition
    assert isinstance(mapped, TransactionConflict)
    assert not isinstance(mapped, ConditionFailed)
    assert mapped.code == "transaction_conflict"


def test_a_transaction_cancelled_by_throttling_is_throttled() -> None:
    # Given a transaction cancelled because an action was throttled
    error = AwsError("TransactionCanceledException", reasons=("None", "ThrottlingError"))

    # When it is translated
    mapped = translate(error)

    # Then it is a 429
    assert isinstance(mapped, Throttled)


@pytest.mark.parametrize(
    "code", ["ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded"]
)
def test_throttling_is_a_429_with_retry_after(code: str) -> None:
    # Given a throttling error
    error = AwsError(code, "Rate exceeded")

    # When it is translated
    mapped = translate(error)

    # Then it is a 429 that tells the client when to retry
    assert isinstance(mapped, Throttled)
    assert mapped.status == 429
    assert mapped.headers["Retry-After"].isdigit()


@pytest.mark.parametrize(
    "code",
    ["ResourceNotFoundException", "InternalServerError", "ServiceUnavailable", "ResourceInUseException"],
)
def test_a_missing_table_or_aws_fault_is_a_503(code: str) -> None:
    # Given an error the client cannot cause or fix
    error = AwsError(code, "Requested resource not found")

    # When it is translated
    mapped = translate(error)

    # Then it is a 503 dependency_unavailable
    assert isinstance(mapped, ServiceUnavailable)
    assert mapped.status == 503
    assert mapped.code == "dependency_unavailable"


def test_an_item_over_the_size_limit_is_a_413_item_too_large() -> None:
    # Given DynamoDB's validation error for an oversized item
    error = AwsError("ValidationException", "Item size has exceeded the maximum allowed size")

    # When it is translated
    mapped = translate(error)

    # Then it is a 413 item_too_large
    assert isinstance(mapped, PayloadTooLarge)
    assert mapped.status == 413
    assert mapped.code == "item_too_large"


@pytest.mark.parametrize(
    "error",
    [
        AwsError("ValidationException", "One or more parameter values were invalid"),
        AwsError("AccessDeniedException", "not authorized"),
        AwsError("SomethingNew", ""),
        ValueError("not from AWS"),
    ],
    ids=["other validation", "access denied", "unknown code", "no response"],
)
def test_any_other_error_is_left_as_it_is(error: Exception) -> None:
    # Given an error that is a bug or misconfiguration, not a client's doing
    # When it is translated
    mapped = translate(error)

    # Then it is the original exception
    assert mapped is error


def test_a_real_botocore_client_error_is_translated_by_code() -> None:
    # Given a botocore ClientError as the SDK raises it
    error = ClientError(
        {"Error": {"Code": "ConditionalCheckFailedException", "Message": "failed"}}, "PutItem"
    )

    # When it is translated
    mapped = translate(error)

    # Then it is recognised by its code
    assert isinstance(mapped, ConditionFailed)


def test_translated_raises_ours_chained_to_the_original() -> None:
    # Given a DynamoDB call that is throttled
    error = AwsError("ThrottlingException")

    # When it runs inside translated()
    with pytest.raises(Throttled) as raised, translated():
        raise error

    # Then our exception is raised, caused by the original
    assert raised.value.__cause__ is error


def test_translated_lets_unknown_errors_through_unchanged() -> None:
    # Given a call failing with an error we do not map
    error = AwsError("AccessDeniedException")

    # When it runs inside translated()
    with pytest.raises(AwsError) as raised, translated():
        raise error

    # Then the very same exception propagates
    assert raised.value is error


# --- chunks and backoff --------------------------------------------------------------------------


@PROPERTIES
@given(values=st.lists(st.integers(), max_size=80), size=st.integers(min_value=1, max_value=30))
def test_chunks_cover_the_input_in_order_and_are_full_except_the_last(values: list[int], size: int) -> None:
    # Given a list and a chunk size
    # When it is chunked
    chunks = [list(c) for c in chunked(values, size)]

    # Then the chunks are, in order, the list; none is empty or too big; only the last is short
    assert [v for c in chunks for v in c] == values
    assert all(0 < len(c) <= size for c in chunks)
    assert all(len(c) == size for c in chunks[:-1])


@PROPERTIES
@given(
    attempt=st.integers(min_value=0, max_value=64),
    base=st.floats(min_value=0.001, max_value=1.0),
    cap=st.floats(min_value=0.01, max_value=5.0),
)
def test_a_backoff_pause_never_exceeds_the_cap_or_the_exponential_bound(
    attempt: int, base: float, cap: float
) -> None:
    # Given a backoff with a recording sleep
    sleep = RecordingSleep()
    backoff = Backoff(base_s=base, cap_s=cap, sleep=sleep)

    # When it pauses after some attempt
    backoff.pause(attempt)

    # Then it slept once, between zero and min(cap, base * 2**attempt)
    assert len(sleep.slept) == 1
    assert 0 <= sleep.slept[0] <= min(cap, base * 2**attempt)


# --- batches -------------------------------------------------------------------------------------


def _profile_items(count: int) -> list[dict[str, Any]]:
    return [{"pk": f"CUSTOMER#{i:03}", "sk": "PROFILE", "points": i} for i in range(count)]


def _last(n: int, only_first_calls: int) -> Any:
    """Leave the last ``n`` requests unprocessed on the first ``only_first_calls`` calls."""
    return lambda call, requests: requests[-n:] if call < only_first_calls else []


def test_batch_write_sends_at_most_25_items_per_call_and_writes_them_all() -> None:
    # Given 60 items and a client that processes everything
    client = FakeDynamoClient()
    table = DynamoTable("profiles", client=client, backoff=NO_SLEEP)

    # When they are batch-written
    calls = table.batch_write(puts=_profile_items(60))

    # Then three calls of 25, 25 and 10 wrote all 60
    assert calls == 3
    assert [len(c) for c in client.batch_write_calls] == [25, 25, 10]
    assert len(client.tables["profiles"]) == 60


def test_batch_write_retries_only_the_unprocessed_items_until_done() -> None:
    # Given a client that leaves 3 of the first 25 items unprocessed, then 1 of those 3
    client = FakeDynamoClient(
        refuse=lambda call, requests: {0: requests[-3:], 1: requests[-1:]}.get(call, [])
    )
    sleep = RecordingSleep()
    table = DynamoTable("profiles", client=client, backoff=Backoff(sleep=sleep))
    items = _profile_items(30)

    # When 30 items are batch-written
    calls = table.batch_write(puts=items)

    # Then only the leftovers were resent, after a pause each time, until all were written
    sent = client.batch_write_calls
    assert [len(c) for c in sent] == [25, 3, 1, 5]
    assert sent[1] == sent[0][-3:]
    assert sent[2] == sent[1][-1:]
    assert calls == 4
    assert len(sleep.slept) == 2
    assert len(client.tables["profiles"]) == 30


def test_batch_write_mixes_puts_and_deletes() -> None:
    # Given a table holding two items
    client = FakeDynamoClient()
    table = DynamoTable("profiles", client=client, backoff=NO_SLEEP)
    table.batch_write(puts=_profile_items(2))

    # When one is deleted and a new one put in the same batch
    table.batch_write(
        puts=[{"pk": "CUSTOMER#new", "sk": "PROFILE"}], deletes=[{"pk": "CUSTOMER#000", "sk": "PROFILE"}]
    )

    # Then the table holds the survivor and the new item
    assert sorted(i["pk"]["S"] for i in client.tables["profiles"].values()) == [
        "CUSTOMER#001",
        "CUSTOMER#new",
    ]


def test_batch_write_gives_up_with_throttled_when_items_stay_unprocessed() -> None:
    # Given a client that never processes anything
    client = FakeDynamoClient(refuse=lambda _call, requests: requests)
    backoff = Backoff(attempts=4, sleep=lambda _s: None)
    table = DynamoTable("profiles", client=client, backoff=backoff)

    # When items are batch-written
    with pytest.raises(Throttled) as raised:
        table.batch_write(puts=_profile_items(5))

    # Then after exactly `attempts` calls it raises a 429 unprocessed_items
    assert raised.value.code == "unprocessed_items"
    assert len(client.batch_write_calls) == backoff.attempts


def test_batch_write_of_nothing_makes_no_call() -> None:
    # Given nothing to write
    client = FakeDynamoClient()
    table = DynamoTable("profiles", client=client, backoff=NO_SLEEP)

    # When it is batch-written
    calls = table.batch_write()

    # Then DynamoDB is not called
    assert calls == 0
    assert client.batch_write_calls == []


def _stored(client: FakeDynamoClient, count: int) -> list[dict[str, Any]]:
    table = DynamoTable("profiles", client=client, backoff=NO_SLEEP)
    table.batch_write(puts=_profile_items(count))
    client.batch_write_calls.clear()
    return _profile_items(count)


def test_batch_get_asks_for_at_most_100_keys_per_call_and_finds_them_all() -> None:
    # Given 250 stored items
    client = FakeDynamoClient()
    items = _stored(client, 250)
    table = DynamoTable("profiles", client=client, backoff=NO_SLEEP)

    # When all their keys (and one missing key) are batch-read
    keys = [{"pk": i["pk"], "sk": i["sk"]} for i in items] + [{"pk": "CUSTOMER#none", "sk": "PROFILE"}]
    found = table.batch_get(keys)

    # Then calls of at most 100 keys return exactly the stored items, as plain values
    assert [len(c) for c in client.batch_get_calls] == [100, 100, 51]
    assert sorted(found, key=lambda i: i["pk"]) == items


def test_batch_get_retries_only_the_unprocessed_keys_until_done() -> None:
    # Given 10 stored items and a client that leaves 4 keys unprocessed on its first call
    client = FakeDynamoClient()
    items = _stored(client, 10)
    client.refuse = _last(4, only_first_calls=1)
    table = DynamoTable("profiles", client=client, backoff=NO_SLEEP)

    # When the 10 keys are batch-read
    found = table.batch_get([{"pk": i["pk"], "sk": i["sk"]} for i in items])

    # Then the 4 leftover keys alone were asked again, and every item was found once
    sent = client.batch_get_calls
    assert [len(c) for c in sent] == [10, 4]
    assert sent[1] == sent[0][-4:]
    assert sorted(found, key=lambda i: i["pk"]) == items


def test_batch_get_gives_up_with_throttled_when_keys_stay_unprocessed() -> None:
    # Given a client that never processes a key
    client = FakeDynamoClient(refuse=lambda _call, keys: keys)
    backoff = Backoff(attempts=3, sleep=lambda _s: None)
    table = DynamoTable("profiles", client=client, backoff=backoff)

    # When keys are batch-read
    with pytest.raises(Throttled) as raised:
        table.batch_get([{"pk": "CUSTOMER#1", "sk": "PROFILE"}])

    # Then after `attempts` calls it raises a 429 unprocessed_keys
    assert raised.value.code == "unprocessed_keys"
    assert len(client.batch_get_calls) == backoff.attempts


# --- transactions --------------------------------------------------------------------------------


def test_a_transaction_of_more_than_100_actions_is_refused_without_calling_dynamodb() -> None:
    # Given 101 actions
    client = FakeDynamoClient()
    table = DynamoTable("profiles", client=client)
    actions = [{"Put": table.put_op(item)} for item in _profile_items(101)]

    # When they are written as one transaction
    with pytest.raises(ValueError, match="100"):
        transact_write(client, actions)

    # Then nothing was sent
    assert client.transactions == []


def test_a_transaction_of_100_actions_is_sent_in_one_call() -> None:
    # Given exactly 100 actions
    client = FakeDynamoClient()
    table = DynamoTable("profiles", client=client)
    actions = [{"Put": table.put_op(item)} for item in _profile_items(100)]

    # When they are written as one transaction
    transact_write(client, actions)

    # Then one call carries all of them
    assert [len(t) for t in client.transactions] == [100]


def test_an_empty_transaction_makes_no_call() -> None:
    # Given no actions
    client = FakeDynamoClient()

    # When they are written as a transaction
    transact_write(client, [])

    # Then DynamoDB is not called
    assert client.transactions == []

"""shared.dynamo.DynamoTable against moto's DynamoDB: batching limits, conditions, transactions, errors."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest

from services.profile.topology import PROFILES
from shared.dynamo import ConditionFailed, DynamoTable, transact_write
from shared.errors import ServiceUnavailable
from tests.integration.conftest import scan_all, table


class CallCounter:
    """Counts the DynamoDB calls a client sends, and keeps the parameters of each."""

    OPERATIONS = ("BatchWriteItem", "BatchGetItem", "TransactWriteItems", "PutItem")

    def __init__(self) -> None:
        self.calls: dict[str, int] = {}
        self.params: dict[str, list[dict[str, Any]]] = {}

    def sent(self, model: Any, **_: Any) -> None:
        self.calls[model.name] = self.calls.get(model.name, 0) + 1

    def built(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        self.params.setdefault(model.name, []).append(copy.deepcopy(params))

    def count(self, operation: str) -> int:
        return self.calls.get(operation, 0)


@pytest.fixture
def profiles(tables: dict[str, str]) -> DynamoTable:
    return table(PROFILES)


@pytest.fixture
def calls(profiles: DynamoTable) -> Iterator[CallCounter]:
    counter = CallCounter()
    events = profiles.client.meta.events
    hooks = [
        (f"{stage}.dynamodb.{operation}", handler, f"{stage}-{operation}")
        for operation in CallCounter.OPERATIONS
        for stage, handler in (("before-call", counter.sent), ("before-parameter-build", counter.built))
    ]
    for event, handler, unique_id in hooks:
        events.register(event, handler, unique_id=unique_id)
    yield counter
    for event, _, unique_id in hooks:
        events.unregister(event, unique_id=unique_id)


def item(n: int, partition: str = "BATCH#1") -> dict[str, Any]:
    return {"pk": partition, "sk": f"ITEM#{n:04d}", "n": n, "tags": {"a", "b"}, "nested": {"ok": True}}


def test_sixty_puts_take_exactly_three_batch_write_calls(profiles: DynamoTable, calls: CallCounter) -> None:
    # Given 60 items to write
    items = [item(n) for n in range(60)]

    # When they are written in a batch
    reported = profiles.batch_write(puts=items)

    # Then DynamoDB saw 25 + 25 + 10 items in three calls, and every item is stored
    assert calls.count("BatchWriteItem") == 3
    assert reported == 3
    sizes = [len(p["RequestItems"][profiles.name]) for p in calls.params["BatchWriteItem"]]
    assert sizes == [25, 25, 10]
    assert len(scan_all(PROFILES)) == 60


def test_batch_write_deletes_in_the_same_batches(profiles: DynamoTable, calls: CallCounter) -> None:
    # Given 30 stored items
    profiles.batch_write(puts=[item(n) for n in range(30)])
    before = calls.count("BatchWriteItem")

    # When 20 are deleted and 10 new ones put in one batch write
    profiles.batch_write(
        puts=[item(n) for n in range(30, 40)],
        deletes=[{"pk": "BATCH#1", "sk": f"ITEM#{n:04d}"} for n in range(20)],
    )

    # Then 30 requests went in two calls and 20 items remain
    assert calls.count("BatchWriteItem") - before == 2
    assert len(scan_all(PROFILES)) == 20


def test_batch_get_of_130_keys_takes_two_calls_and_returns_all(
    profiles: DynamoTable, calls: CallCounter
) -> None:
    # Given 130 stored items
    stored = [item(n) for n in range(130)]
    profiles.batch_write(puts=stored)

    # When all 130 are read by key
    found = profiles.batch_get([{"pk": i["pk"], "sk": i["sk"]} for i in stored])

    # Then two calls (100 + 30 keys) return every item, as plain Python values
    assert calls.count("BatchGetItem") == 2
    sizes = [len(p["RequestItems"][profiles.name]["Keys"]) for p in calls.params["BatchGetItem"]]
    assert sizes == [100, 30]
    assert sorted(found, key=lambda i: i["n"]) == stored


def test_batch_get_skips_keys_that_are_not_stored(profiles: DynamoTable) -> None:
    # Given 3 stored items
    profiles.batch_write(puts=[item(n) for n in range(3)])

    # When 5 keys are read, 2 of them absent
    found = profiles.batch_get([{"pk": "BATCH#1", "sk": f"ITEM#{n:04d}"} for n in range(5)])

    # Then only the stored 3 come back
    assert sorted(i["n"] for i in found) == [0, 1, 2]


def test_values_round_trip_as_plain_python(profiles: DynamoTable) -> None:
    # Given an item with every kind of value the adapter maps
    stored = {
        "pk": "TYPES#1",
        "sk": "ALL",
        "text": "민지",
        "count": 7,
        "flag": False,
        "nothing": None,
        "raw": b"\x00\x01",
        "names": {"a", "b"},
        "numbers": {1, 2, 3},
        "list": [1, "two", {"three": 3}],
    }

    # When it is put and read back
    profiles.put(stored)
    read = profiles.get({"pk": "TYPES#1", "sk": "ALL"})

    # Then it is equal to what was written (integers come back as int)
    assert read == stored
    assert type(read["count"]) is int


def test_a_conditional_put_that_fails_raises_condition_failed(profiles: DynamoTable) -> None:
    # Given a stored item
    profiles.put({"pk": "COND#1", "sk": "X", "v": 1})

    # When another put requires that the item does not exist
    # Then it raises ConditionFailed (a 409) and the stored item is unchanged
    with pytest.raises(ConditionFailed) as raised:
        profiles.put(
            {"pk": "COND#1", "sk": "X", "v": 2}, condition="attribute_not_exists(#pk)", names={"#pk": "pk"}
        )
    assert raised.value.status == 409
    assert profiles.get({"pk": "COND#1", "sk": "X"}) == {"pk": "COND#1", "sk": "X", "v": 1}


def test_a_conditional_update_that_fails_raises_condition_failed(profiles: DynamoTable) -> None:
    # Given an item at version 2
    profiles.put({"pk": "COND#2", "sk": "X", "version": 2})

    # When an update expects version 1
    # Then it raises ConditionFailed and the version stays 2
    with pytest.raises(ConditionFailed):
        profiles.update(
            {"pk": "COND#2", "sk": "X"},
            "SET version = version + :one",
            condition="version = :expected",
            values={":one": 1, ":expected": 1},
        )
    assert profiles.get({"pk": "COND#2", "sk": "X"}) == {"pk": "COND#2", "sk": "X", "version": 2}


def test_a_transaction_with_a_failing_condition_names_the_action_and_writes_nothing(
    profiles: DynamoTable,
) -> None:
    # Given an existing item that the second action requires to be absent
    profiles.put({"pk": "TX#taken", "sk": "X"})
    absent = {"condition": "attribute_not_exists(#pk)", "names": {"#pk": "pk"}}
    actions = [
        {"Put": profiles.put_op({"pk": "TX#new", "sk": "X"}, **absent)},  # type: ignore[arg-type]
        {"Put": profiles.put_op({"pk": "TX#taken", "sk": "X", "v": 2}, **absent)},  # type: ignore[arg-type]
        {"Update": profiles.update_op({"pk": "TX#other", "sk": "X"}, "SET v = :v", values={":v": 1})},
    ]

    # When the transaction runs
    with pytest.raises(ConditionFailed) as raised:
        transact_write(profiles.client, actions)

    # Then the reasons name the second action, and no action took effect
    assert raised.value.reasons == ["None", "ConditionalCheckFailed", "None"]
    assert scan_all(PROFILES) == [{"pk": {"S": "TX#taken"}, "sk": {"S": "X"}}]


def test_a_transaction_without_conflicts_applies_every_action(profiles: DynamoTable) -> None:
    # Given two writes and a delete in one transaction
    profiles.put({"pk": "TX#gone", "sk": "X"})
    actions = [
        {"Put": profiles.put_op({"pk": "TX#a", "sk": "X"})},
        {"Put": profiles.put_op({"pk": "TX#b", "sk": "X"})},
        {"Delete": profiles.delete_op({"pk": "TX#gone", "sk": "X"}, condition="attribute_exists(pk)")},
    ]

    # When it runs
    transact_write(profiles.client, actions)

    # Then all took effect
    assert sorted(i["pk"]["S"] for i in scan_all(PROFILES)) == ["TX#a", "TX#b"]


def test_a_transaction_of_more_than_100_actions_is_refused_before_any_call(
    profiles: DynamoTable, calls: CallCounter
) -> None:
    # Given 101 actions
    actions = [{"Put": profiles.put_op({"pk": f"TX#{n}", "sk": "X"})} for n in range(101)]

    # When they are sent as one transaction
    # Then it is refused without calling DynamoDB (it could not be atomic)
    with pytest.raises(ValueError, match="at most 100"):
        transact_write(profiles.client, actions)
    assert calls.count("TransactWriteItems") == 0
    assert scan_all(PROFILES) == []


def test_a_query_on_a_missing_table_raises_service_unavailable(tables: dict[str, str]) -> None:
    # Given a table name that does not exist
    missing = DynamoTable("dangol-test-no-such-table")

    # When it is queried
    # Then the caller sees a 503 dependency failure, not a botocore error
    with pytest.raises(ServiceUnavailable) as raised:
        missing.query("pk = :pk", values={":pk": "X"})
    assert raised.value.status == 503
    assert raised.value.code == "dependency_unavailable"


def test_a_float_is_refused_before_anything_is_sent(profiles: DynamoTable, calls: CallCounter) -> None:
    # Given an item holding a float
    # When it is put
    # Then it is refused (money and points are integers) and nothing is written
    with pytest.raises(TypeError, match="float"):
        profiles.put({"pk": "FLOAT#1", "sk": "X", "price": 9.99})
    assert calls.count("PutItem") == 0

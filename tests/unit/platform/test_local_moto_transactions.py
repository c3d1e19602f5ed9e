"""The local runtime's moto transactions (``infra.local.moto_transactions``): all or nothing, as on
AWS, and backed out by the items they name, not by copies of their tables."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.dynamodb.models.table import Table

import infra.local.moto_transactions  # noqa: F401  installs the transactions under test

NAME = "t"


@pytest.fixture
def dynamodb() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client(
            "dynamodb", region_name="ap-northeast-2", aws_access_key_id="x", aws_secret_access_key="x"
        )
        client.create_table(
            TableName=NAME,
            KeySchema=[
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        for n in range(3):
            client.put_item(TableName=NAME, Item={"pk": {"S": "A"}, "sk": {"S": str(n)}, "v": {"N": str(n)}})
        yield client


def key(sk: str) -> dict[str, Any]:
    return {"pk": {"S": "A"}, "sk": {"S": sk}}


def items(client: Any) -> list[dict[str, Any]]:
    return sorted(client.scan(TableName=NAME)["Items"], key=lambda i: i["sk"]["S"])


def put(sk: str, **extra: Any) -> dict[str, Any]:
    return {"Put": {"TableName": NAME, "Item": {**key(sk), "v": {"N": "9"}}, **extra}}


UPDATE = {
    "Update": {
        "TableName": NAME,
        "Key": key("0"),
        "UpdateExpression": "SET v = v + :one",
        "ExpressionAttributeValues": {":one": {"N": "1"}},
    }
}
DELETE = {"Delete": {"TableName": NAME, "Key": key("1")}}
TAKEN = {
    "Put": {
        "TableName": NAME,
        "Item": {**key("2"), "v": {"N": "9"}},
        "ConditionExpression": "attribute_not_exists(pk)",
        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
    }
}


def test_a_transaction_whose_conditions_hold_writes_every_item(dynamodb: Any) -> None:
    # Given three items; When a transaction updates one, deletes one and adds one
    dynamodb.transact_write_items(TransactItems=[UPDATE, DELETE, put("3")])
    # Then all three changes are there
    assert [(i["sk"]["S"], i["v"]["N"]) for i in items(dynamodb)] == [("0", "1"), ("2", "2"), ("3", "9")]


def test_a_failed_condition_cancels_every_item_and_reports_each(dynamodb: Any) -> None:
    # Given the table as it is
    before = items(dynamodb)
    # When the last item's condition fails after the others were applied
    with pytest.raises(ClientError) as raised:
        dynamodb.transact_write_items(TransactItems=[UPDATE, DELETE, put("3"), TAKEN])
    # Then nothing changed: the update, the delete and the new item are all backed out
    assert items(dynamodb) == before
    error = raised.value.response
    assert error["Error"]["Code"] == "TransactionCanceledException"
    reasons: list[Any] = error["CancellationReasons"]
    assert [r["Code"] for r in reasons] == ["None", "None", "None", "ConditionalCheckFailed"]
    assert reasons[3]["Item"]["v"] == {"N": "2"}  # ALL_OLD: the item as it was


def test_the_same_item_twice_is_refused_and_nothing_is_written(dynamodb: Any) -> None:
    before = items(dynamodb)
    with pytest.raises(ClientError) as raised:
        dynamodb.transact_write_items(TransactItems=[put("3"), UPDATE, put("3")])
    assert raised.value.response["Error"]["Code"] == "ValidationException"
    assert items(dynamodb) == before


def test_a_transaction_copies_the_items_it_names_not_the_table(
    dynamodb: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a table of a thousand items more
    for n in range(10, 1010):
        dynamodb.put_item(TableName=NAME, Item={"pk": {"S": "B"}, "sk": {"S": str(n)}})
    copied: list[type] = []
    real = copy.deepcopy

    def deepcopy(value: Any, *args: Any) -> Any:
        copied.append(type(value))
        return real(value, *args)

    monkeypatch.setattr(copy, "deepcopy", deepcopy)
    # When a transaction of four items fails and is backed out
    with pytest.raises(ClientError):
        dynamodb.transact_write_items(TransactItems=[UPDATE, DELETE, put("3"), TAKEN])
    # Then no table was copied (moto's own code copies the whole table for each item)
    assert Table not in copied
    assert len(items(dynamodb)) == 3 + 1000

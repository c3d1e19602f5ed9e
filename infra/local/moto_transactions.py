"""moto's ``TransactWriteItems`` without its table copies: the same outcome, at the cost AWS charges.

moto 5 backs a transaction out by ``copy.deepcopy`` of each table it touches, taken again for each
of the transaction's items: a transaction of four items on a table of 10,000 items copies 40,000
items first. So on moto a transaction costs O(items x table size), about 80 ms a call on a table
of a few thousand items against 7 ms for a ``PutItem``, and every service's writes (the outbox,
claims, counters: all transactions) slow down as the tables fill. AWS charges a transaction
about twice a single write, whatever the table holds.

Here the items the transaction names are saved before it starts (a deep copy of each, or that
there was none) and put back if it is cancelled. Everything else is moto's, line for line: the
order the items are checked in, the one-item-once rule, a failed condition still reported per
item with ``ALL_OLD``, validation errors raised as they are. A table with a stream keeps moto's
own code (a put back would add records to the stream; no table of ours has one).

Installed by importing this module (``moto_server`` and the integration tests' in-process moto).
"""

from __future__ import annotations

import copy
from typing import Any

from moto.dynamodb.comparisons import get_filter_expression
from moto.dynamodb.exceptions import (
    ConditionalCheckFailed,
    MockValidationException,
    MultipleTransactionsException,
    TooManyTransactionsException,
    TransactionCanceledException,
    TransactWriteSingleOpException,
)
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType, Item
from moto.dynamodb.models.table import Table

_moto_transact_write_items = DynamoDBBackend.transact_write_items

Saved = tuple[Table, DynamoType, DynamoType | None, Item | None]


def _saved(backend: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> list[Saved] | None:
    """Each named item as it is now; None if a table has a stream (moto's own code then)."""
    saved: list[Saved] = []
    for entry in transact_items:
        for op_type, op in entry.items():
            table = backend.tables.get(op.get("TableName", ""))
            if table is None:
                continue  # moto reports it for this item; nothing of it to put back
            if table.stream_shard is not None:
                return None
            keys = op.get("Item", {}) if op_type == "Put" else op.get("Key", {})
            try:
                hash_key, range_key = backend.get_keys_value(table, keys)
            except MockValidationException:
                continue  # moto refuses this item before it writes anything
            now = table.get_item(hash_key, range_key)
            saved.append((table, hash_key, range_key, copy.deepcopy(now)))
    return saved


def _put_back(saved: list[Saved]) -> None:
    for table, hash_key, range_key, item in reversed(saved):
        if range_key is not None:
            if item is None:
                table.items[hash_key].pop(range_key, None)
            else:
                table.items[hash_key][range_key] = item
        elif item is None:
            table.items.pop(hash_key, None)
        else:
            table.items[hash_key] = item  # type: ignore[assignment]  # moto's own typing


def _write_one(
    backend: DynamoDBBackend, op_type: str, op: dict[str, Any], targets: set[tuple[str, str]]
) -> None:
    """One item of the transaction, as moto writes it (a failed condition carries ``old_item``)."""
    if op_type not in {"ConditionCheck", "Put", "Delete", "Update"}:
        raise ValueError("Unsupported transaction operation")
    table_name = op["TableName"]
    condition_expression = op.get("ConditionExpression")
    names = op.get("ExpressionAttributeNames")
    values = op.get("ExpressionAttributeValues")
    if op_type == "Put":
        attrs = op["Item"]
        table = backend.get_table(table_name)
        key = {table.hash_key_attr: attrs[table.hash_key_attr]}
        if table.range_key_attr is not None:
            key[table.range_key_attr] = attrs[table.range_key_attr]
    else:
        key = op["Key"]
    target = (str(table_name), str(dict(sorted(key.items()))))
    if target in targets:
        raise MultipleTransactionsException()
    targets.add(target)
    current = backend.get_item(table_name, key)
    if condition_expression is not None and not get_filter_expression(
        condition_expression, names, values
    ).expr(current):
        old = None
        if op.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD" and current:
            old = current.to_json()["Attributes"]
        failed = ConditionalCheckFailed(item=old)
        failed.old_item = old  # type: ignore[attr-defined]
        raise failed
    expressions: dict[str, Any] = {
        "condition_expression": condition_expression,
        "expression_attribute_names": names,
        "expression_attribute_values": values,
    }
    if op_type == "Put":
        backend.put_item(table_name, op["Item"], **expressions)
    elif op_type == "Delete":
        backend.delete_item(table_name, key, **expressions)
    elif op_type == "Update":
        backend.update_item(table_name, key, update_expression=op["UpdateExpression"], **expressions)


def transact_write_items(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
    if len(transact_items) > 100:
        raise TooManyTransactionsException()
    saved = _saved(self, transact_items)
    if saved is None:
        _moto_transact_write_items(self, transact_items)
        return
    if any(len(item) > 1 for item in transact_items):
        raise TransactWriteSingleOpException  # AWS refuses the request before any write
    targets: set[tuple[str, str]] = set()
    errors: list[tuple[str | None, str | None, dict[str, Any] | None]] = []
    for item in transact_items:
        op_type, op = next(iter(item.items()))
        try:
            _write_one(self, op_type, op, targets)
            errors.append((None, None, None))
        except (MultipleTransactionsException, MockValidationException):
            _put_back(saved)
            raise
        except ConditionalCheckFailed as e:
            errors.append(("ConditionalCheckFailed", str(e.message), getattr(e, "old_item", None)))
        except Exception as e:  # moto's own: any other failure cancels, reported per item
            errors.append((type(e).__name__, str(e), None))
    if any(code is not None for code, _, _ in errors):
        _put_back(saved)
        raise TransactionCanceledException(errors)


DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]

"""The DynamoDB adapter: the only module in ``shared`` that talks to DynamoDB.

- ``ClientError`` codes become our exceptions, by code, never by message text:
  a failed condition is ``ConditionFailed`` (a 409 unless the caller says
  otherwise), throttling is ``Throttled`` (429), a missing table or an AWS-side
  fault is ``ServiceUnavailable`` (503), an item over 400 KB is 413.
- Batch helpers respect the hard limits (25 items per BatchWriteItem, 100 keys
  per BatchGetItem, 100 actions per transaction) and retry what DynamoDB
  leaves unprocessed, with capped exponential backoff and full jitter.
- Items are plain Python values; numbers come back as ``int`` when integral
  (money and points are integers) and ``Decimal`` otherwise; floats are refused.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from shared import aws
from shared.errors import Conflict, PayloadTooLarge, ServiceUnavailable, Throttled

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

BATCH_WRITE_LIMIT = 25
BATCH_GET_LIMIT = 100
TRANSACTION_LIMIT = 100

Item = dict[str, Any]
Key = dict[str, Any]
Sleep = Callable[[float], None]

_THROTTLE_CODES = frozenset(
    {"ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded"}
)
_UNAVAILABLE_CODES = frozenset(
    {"ResourceNotFoundException", "InternalServerError", "ServiceUnavailable", "ResourceInUseException"}
)


class ConditionFailed(Conflict):
    """A conditional write lost: the item exists, is missing, or changed.

    ``reasons`` holds, for a transaction, the cancellation reason of each action
    (``"ConditionalCheckFailed"`` or ``"None"``), so a caller can tell which
    condition failed.
    """

    default_code = "conflict"

    def __init__(self, message: str | None = None, *, reasons: Sequence[str] = (), **kw: Any) -> None:
        super().__init__(message, **kw)
        self.reasons = list(reasons)


class TransactionConflict(Conflict):
    default_code = "transaction_conflict"
    default_message = "A concurrent change touched the same items; retry."


# --- (de)serialization ---------------------------------------------------------------------------


def to_attr(value: Any) -> dict[str, Any]:
    """A Python value as a DynamoDB attribute value."""
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, int | Decimal):
        return {"N": str(value)}
    if value is None:
        return {"NULL": True}
    if isinstance(value, bytes | bytearray):
        return {"B": bytes(value)}
    if isinstance(value, Mapping):
        return {"M": {str(k): to_attr(v) for k, v in value.items()}}
    if isinstance(value, list | tuple):
        return {"L": [to_attr(v) for v in value]}
    if isinstance(value, set | frozenset):
        if value and all(isinstance(v, str) for v in value):
            return {"SS": sorted(value)}
        if value and all(isinstance(v, int) and not isinstance(v, bool) for v in value):
            return {"NS": [str(v) for v in sorted(value)]}
        raise TypeError("sets must be non-empty and all str or all int")
    raise TypeError(f"cannot store {type(value).__name__} in DynamoDB (use int or Decimal, not float)")


def _number(text: str) -> int | Decimal:
    try:
        return int(text)
    except ValueError:
        return Decimal(text)


def from_attr(attr: Mapping[str, Any]) -> Any:
    ((kind, value),) = attr.items()
    if kind == "S":
        return value
    if kind == "N":
        return _number(value)
    if kind == "BOOL":
        return bool(value)
    if kind == "NULL":
        return None
    if kind == "M":
        return {k: from_attr(v) for k, v in value.items()}
    if kind == "L":
        return [from_attr(v) for v in value]
    if kind == "SS":
        return set(value)
    if kind == "NS":
        return {_number(v) for v in value}
    if kind == "B":
        return bytes(value)
    if kind == "BS":
        return {bytes(v) for v in value}
    raise TypeError(f"unknown DynamoDB type {kind}")


def serialize(item: Mapping[str, Any]) -> dict[str, Any]:
    return {k: to_attr(v) for k, v in item.items()}


def deserialize(item: Mapping[str, Any]) -> Item:
    return {k: from_attr(v) for k, v in item.items()}


# --- errors --------------------------------------------------------------------------------------


def _error_code(exc: Exception) -> str | None:
    response = getattr(exc, "response", None)
    if not isinstance(response, dict):
        return None
    code = response.get("Error", {}).get("Code")
    return str(code) if code else None


def translate(exc: Exception) -> Exception:
    """The exception of ours that a botocore ``ClientError`` stands for (or ``exc`` itself)."""
    code = _error_code(exc)
    if code is None:
        return exc
    if code == "ConditionalCheckFailedException":
        return ConditionFailed()
    if code == "TransactionCanceledException":
        reasons = [
            str(r.get("Code", "None")) for r in getattr(exc, "response", {}).get("CancellationReasons", [])
        ]
        if "ConditionalCheckFailed" in reasons:
            return ConditionFailed(reasons=reasons)
        if any(r in {"ThrottlingError", "ProvisionedThroughputExceeded"} for r in reasons):
            return Throttled()
        return TransactionConflict()
    if code in {"TransactionConflictException", "TransactionInProgressException"}:
        return TransactionConflict()
    if code in _THROTTLE_CODES:
        return Throttled()
    if code in _UNAVAILABLE_CODES:
        return ServiceUnavailable(code="dependency_unavailable")
    message = str(getattr(exc, "response", {}).get("Error", {}).get("Message", ""))
    if code == "ValidationException" and "size" in message.lower() and "exceed" in message.lower():
        return PayloadTooLarge("The record would exceed the store's item size limit.", code="item_too_large")
    return exc


@contextmanager
def translated() -> Iterator[None]:
    """Run DynamoDB calls with their ``ClientError`` codes turned into our exceptions."""
    try:
        yield
    except Exception as exc:
        mapped = translate(exc)
        if mapped is exc:
            raise
        raise mapped from exc


# --- backoff -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Backoff:
    base_s: float = 0.05
    cap_s: float = 2.0
    attempts: int = 8
    sleep: Sleep = time.sleep

    def pause(self, attempt: int) -> None:
        self.sleep(random.uniform(0, min(self.cap_s, self.base_s * 2**attempt)))  # noqa: S311 - jitter


def chunked(values: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


# --- the table adapter ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Page:
    items: list[Item]
    last_key: Key | None


class DynamoTable:
    """One table, addressed with plain Python values."""

    def __init__(self, name: str, client: DynamoDBClient | None = None, backoff: Backoff = Backoff()) -> None:
        self.name = name
        self._client = client
        self.backoff = backoff

    @property
    def client(self) -> DynamoDBClient:
        if self._client is None:
            self._client = aws.client("dynamodb")
        return self._client

    def get(self, key: Key, *, consistent: bool = True) -> Item | None:
        with translated():
            out = self.client.get_item(TableName=self.name, Key=serialize(key), ConsistentRead=consistent)
        item = out.get("Item")
        return deserialize(item) if item else None

    def put(
        self,
        item: Mapping[str, Any],
        *,
        condition: str | None = None,
        names: Mapping[str, str] | None = None,
        values: Mapping[str, Any] | None = None,
    ) -> None:
        with translated():
            self.client.put_item(**self.put_op(item, condition=condition, names=names, values=values))

    def update(
        self,
        key: Key,
        expression: str,
        *,
        condition: str | None = None,
        names: Mapping[str, str] | None = None,
        values: Mapping[str, Any] | None = None,
    ) -> Item:
        op = self.update_op(key, expression, condition=condition, names=names, values=values)
        with translated():
            out = self.client.update_item(**op, ReturnValues="ALL_NEW")
        return deserialize(out.get("Attributes", {}))

    def delete(
        self,
        key: Key,
        *,
        condition: str | None = None,
        names: Mapping[str, str] | None = None,
        values: Mapping[str, Any] | None = None,
    ) -> None:
        with translated():
            self.client.delete_item(**self.delete_op(key, condition=condition, names=names, values=values))

    def query(
        self,
        key_condition: str,
        *,
        names: Mapping[str, str] | None = None,
        values: Mapping[str, Any] | None = None,
        index: str | None = None,
        limit: int | None = None,
        start_key: Key | None = None,
        forward: bool = True,
        filter_expression: str | None = None,
    ) -> Page:
        params: dict[str, Any] = {
            "TableName": self.name,
            "KeyConditionExpression": key_condition,
            "ScanIndexForward": forward,
        }
        params.update(_expr_params(names, values))
        if index:
            params["IndexName"] = index
        if limit:
            params["Limit"] = limit
        if start_key:
            params["ExclusiveStartKey"] = serialize(start_key)
        if filter_expression:
            params["FilterExpression"] = filter_expression
        with translated():
            out = self.client.query(**params)
        last = out.get("LastEvaluatedKey")
        return Page([deserialize(i) for i in out.get("Items", [])], deserialize(last) if last else None)

    def query_all(
        self,
        key_condition: str,
        *,
        names: Mapping[str, str] | None = None,
        values: Mapping[str, Any] | None = None,
        index: str | None = None,
        forward: bool = True,
    ) -> list[Item]:
        """Every item the query finds, page after page (for partitions known to be small)."""
        found: list[Item] = []
        start: Key | None = None
        while True:
            page = self.query(
                key_condition, names=names, values=values, index=index, start_key=start, forward=forward
            )
            found += page.items
            if page.last_key is None:
                return found
            start = page.last_key

    # -- operations as transaction actions ----------------------------------------------------

    def put_op(
        self,
        item: Mapping[str, Any],
        *,
        condition: str | None = None,
        names: Mapping[str, str] | None = None,
        values: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        op: dict[str, Any] = {"TableName": self.name, "Item": serialize(item)}
        if condition:
            op["ConditionExpression"] = condition
        op.update(_expr_params(names, values))
        return op

    def update_op(
        self,
        key: Key,
        expression: str,
        *,
        condition: str | None = None,
        names: Mapping[str, str] | None = None,
        values: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        op: dict[str, Any] = {"TableName": self.name, "Key": serialize(key), "UpdateExpression": expression}
        if condition:
            op["ConditionExpression"] = condition
        op.update(_expr_params(names, values))
        return op

    def check_op(
        self,
        key: Key,
        *,
        condition: str,
        names: Mapping[str, str] | None = None,
        values: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """A transaction's ``ConditionCheck``: the action stands only if the item meets ``condition``."""
        return self.delete_op(key, condition=condition, names=names, values=values)

    def delete_op(
        self,
        key: Key,
        *,
        condition: str | None = None,
        names: Mapping[str, str] | None = None,
        values: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        op: dict[str, Any] = {"TableName": self.name, "Key": serialize(key)}
        if condition:
            op["ConditionExpression"] = condition
        op.update(_expr_params(names, values))
        return op

    # -- batches ------------------------------------------------------------------------------

    def batch_write(self, puts: Iterable[Mapping[str, Any]] = (), deletes: Iterable[Key] = ()) -> int:
        """Write many items, 25 per call, retrying unprocessed ones. Returns the number of calls."""
        requests: list[dict[str, Any]] = [{"PutRequest": {"Item": serialize(i)}} for i in puts]
        requests += [{"DeleteRequest": {"Key": serialize(k)}} for k in deletes]
        calls = 0
        for chunk in chunked(requests, BATCH_WRITE_LIMIT):
            pending: list[Any] = list(chunk)
            for attempt in range(self.backoff.attempts):
                calls += 1
                with translated():
                    out = self.client.batch_write_item(RequestItems={self.name: pending})
                pending = list(out.get("UnprocessedItems", {}).get(self.name, []))
                if not pending:
                    break
                self.backoff.pause(attempt)
            else:
                raise Throttled(f"{len(pending)} items stayed unprocessed", code="unprocessed_items")
        return calls

    def batch_get(self, keys: Sequence[Key], *, consistent: bool = True) -> list[Item]:
        """Read many items, 100 keys per call, retrying unprocessed keys. Order is not kept."""
        found: list[Item] = []
        for chunk in chunked([serialize(k) for k in keys], BATCH_GET_LIMIT):
            pending: list[Any] = list(chunk)
            for attempt in range(self.backoff.attempts):
                request = {self.name: {"Keys": pending, "ConsistentRead": consistent}}
                with translated():
                    out = self.client.batch_get_item(RequestItems=request)  # type: ignore[arg-type]
                found += [deserialize(i) for i in out.get("Responses", {}).get(self.name, [])]
                unprocessed: dict[str, Any] = dict(out.get("UnprocessedKeys") or {})
                pending = list((unprocessed.get(self.name) or {}).get("Keys", []))
                if not pending:
                    break
                self.backoff.pause(attempt)
            else:
                raise Throttled(f"{len(pending)} keys stayed unprocessed", code="unprocessed_keys")
        return found


def transact_write(client: DynamoDBClient, actions: Sequence[Mapping[str, Mapping[str, Any]]]) -> None:
    """Apply up to 100 actions (``{"Put": table.put_op(...)}`` etc.) atomically.

    More than 100 cannot be atomic, so it is refused rather than split.
    """
    if not actions:
        return
    if len(actions) > TRANSACTION_LIMIT:
        raise ValueError(f"a transaction holds at most {TRANSACTION_LIMIT} actions, got {len(actions)}")
    with translated():
        client.transact_write_items(TransactItems=list(actions))  # type: ignore[arg-type]


def _expr_params(names: Mapping[str, str] | None, values: Mapping[str, Any] | None) -> dict[str, Any]:
    params: dict[str, Any] = {}
    if names:
        params["ExpressionAttributeNames"] = dict(names)
    if values:
        params["ExpressionAttributeValues"] = serialize(values)
    return params

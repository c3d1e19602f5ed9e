# ruff: noqa: N803 - the fake clients take boto3's keyword names (RequestItems, Entries)
"""Small in-memory stand-ins for the AWS clients, the DynamoDB table adapter and the profile store.

Each fake implements just the calls the code under test makes, records what it was asked,
and can be told to misbehave (leave batch items unprocessed, fail chosen events) so tests
can prove the retry and splitting rules. No network, no moto, no mocks.
"""

from __future__ import annotations

import copy
import json
import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from hypothesis import settings

from services.profile.models.profile import Profile, ProfileExists, VersionMismatch
from shared.dynamo import ConditionFailed

# Property tests stay fast: the whole unit tier runs in seconds.
PROPERTIES = settings(max_examples=50, deadline=None)


# --- botocore-like errors ------------------------------------------------------------------------


class AwsError(Exception):
    """Looks like a botocore ``ClientError`` to code that reads ``.response``."""

    def __init__(self, code: str, message: str = "", reasons: tuple[str, ...] = ()) -> None:
        super().__init__(f"{code}: {message}")
        self.response: dict[str, Any] = {"Error": {"Code": code, "Message": message}}
        if reasons:
            self.response["CancellationReasons"] = [{"Code": r} for r in reasons]


# --- time and ids --------------------------------------------------------------------------------


@dataclass
class FakeClock:
    """A clock that stands still until told to move."""

    now: datetime = field(default_factory=lambda: datetime(2025, 3, 14, 9, 26, 53, tzinfo=UTC))

    def __call__(self) -> datetime:
        return self.now


@dataclass
class FakeSeconds:
    """``time.time`` for code that counts epoch seconds."""

    value: float = 1_700_000_000.0

    def __call__(self) -> float:
        return self.value

    def advance(self, seconds: float) -> None:
        self.value += seconds


@dataclass
class RecordingSleep:
    slept: list[float] = field(default_factory=list)

    def __call__(self, seconds: float) -> None:
        self.slept.append(seconds)


# --- DynamoDB low-level client (batches and transactions) ----------------------------------------

Refuse = Callable[[int, list[Any]], list[Any]]


def _refuse_nothing(_call: int, _requests: list[Any]) -> list[Any]:
    return []


class FakeDynamoClient:
    """``batch_write_item``, ``batch_get_item`` and ``transact_write_items`` over one dict per table.

    ``refuse(call_number, requests)`` picks which of the requests a call leaves unprocessed
    (call numbers count from 0 across both batch operations).
    """

    def __init__(self, key_names: tuple[str, ...] = ("pk", "sk"), refuse: Refuse = _refuse_nothing) -> None:
        self.key_names = key_names
        self.refuse = refuse
        self.tables: dict[str, dict[str, dict[str, Any]]] = {}
        self.batch_write_calls: list[list[dict[str, Any]]] = []
        self.batch_get_calls: list[list[dict[str, Any]]] = []
        self.transactions: list[list[Any]] = []

    def _id(self, key_or_item: Mapping[str, Any]) -> str:
        return json.dumps({k: key_or_item[k] for k in self.key_names}, sort_keys=True, default=str)

    def _calls(self) -> int:
        return len(self.batch_write_calls) + len(self.batch_get_calls)

    def batch_write_item(self, *, RequestItems: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
        ((table, requests),) = RequestItems.items()
        refused = self.refuse(self._calls(), list(requests))
        self.batch_write_calls.append(copy.deepcopy(list(requests)))
        store = self.tables.setdefault(table, {})
        for request in requests:
            if request in refused:
                continue
            if "PutRequest" in request:
                item = request["PutRequest"]["Item"]
                store[self._id(item)] = copy.deepcopy(item)
            else:
                store.pop(self._id(request["DeleteRequest"]["Key"]), None)
        return {"UnprocessedItems": {table: refused} if refused else {}}

    def batch_get_item(self, *, RequestItems: dict[str, dict[str, Any]]) -> dict[str, Any]:
        ((table, request),) = RequestItems.items()
        keys = list(request["Keys"])
        refused = self.refuse(self._calls(), keys)
        self.batch_get_calls.append(copy.deepcopy(keys))
        store = self.tables.get(table, {})
        found = [copy.deepcopy(store[self._id(k)]) for k in keys if k not in refused and self._id(k) in store]
        out: dict[str, Any] = {"Responses": {table: found}}
        if refused:
            out["UnprocessedKeys"] = {table: {"Keys": refused, "ConsistentRead": request["ConsistentRead"]}}
        return out

    def transact_write_items(self, *, TransactItems: list[Any]) -> dict[str, Any]:
        self.transactions.append(list(TransactItems))
        return {}


# --- EventBridge ---------------------------------------------------------------------------------


class FakeEventBridge:
    """``put_events`` that records every call; ``failures[event_id]`` = how many times to fail it."""

    def __init__(self, failures: Mapping[str, int] | None = None) -> None:
        self.failures = dict(failures or {})
        self.calls: list[list[dict[str, Any]]] = []

    @staticmethod
    def event_id(entry: Mapping[str, Any]) -> str:
        return str(json.loads(entry["Detail"])["metadata"]["event_id"])

    def put_events(self, *, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        self.calls.append(list(Entries))
        results: list[dict[str, str]] = []
        for entry in Entries:
            event_id = self.event_id(entry)
            if self.failures.get(event_id, 0) > 0:
                self.failures[event_id] -= 1
                results.append({"ErrorCode": "InternalFailure", "ErrorMessage": "try again"})
            else:
                results.append({"EventId": f"eb-{event_id}"})
        return {"FailedEntryCount": sum("ErrorCode" in r for r in results), "Entries": results}

    def sent_ids(self, call: int) -> list[str]:
        return [self.event_id(e) for e in self.calls[call]]


# --- DynamoTable (the adapter) with condition expressions ----------------------------------------

_MISSING = object()
_TOKEN = re.compile(r"\s*(<>|<=|>=|[()=<>,]|[#:]?\w+)")
_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq,
    "<>": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


def condition_holds(
    expression: str, item: Mapping[str, Any], names: Mapping[str, str], values: Mapping[str, Any]
) -> bool:
    """Evaluate a DynamoDB condition: comparisons, attribute_(not_)exists, AND, OR, parentheses."""
    tokens = _TOKEN.findall(expression)
    assert "".join(tokens) == re.sub(r"\s", "", expression), f"unsupported condition: {expression}"
    pos = 0

    def take() -> str:
        nonlocal pos
        pos += 1
        return tokens[pos - 1]

    def peek() -> str:
        return tokens[pos].upper() if pos < len(tokens) else ""

    def operand() -> Any:
        token = take()
        if token.startswith(":"):
            return values[token]
        return item.get(names[token] if token.startswith("#") else token, _MISSING)

    def atom() -> bool:
        if peek() == "(":
            take()
            result = disjunction()
            assert take() == ")"
            return result
        if peek() in {"ATTRIBUTE_EXISTS", "ATTRIBUTE_NOT_EXISTS"}:
            exists = take().lower() == "attribute_exists"
            assert take() == "("
            present = operand() is not _MISSING
            assert take() == ")"
            return present == exists
        left, compare, right = operand(), _COMPARE[take()], operand()
        return left is not _MISSING and right is not _MISSING and compare(left, right)

    def conjunction() -> bool:
        result = atom()
        while peek() == "AND":
            take()
            result = atom() and result  # always parse the right side
        return result

    def disjunction() -> bool:
        result = conjunction()
        while peek() == "OR":
            take()
            result = conjunction() or result
        return result

    outcome = disjunction()
    assert pos == len(tokens), f"unparsed tail in: {expression}"
    return outcome


class FakeTable:
    """The ``DynamoTable`` calls (get/put/update/delete) over a dict, conditions enforced.

    Update expressions support ``SET a = :v, #b = :w`` only.
    """

    def __init__(self, key_names: tuple[str, ...] = ("pk", "sk")) -> None:
        self.key_names = key_names
        self.items: dict[tuple[Any, ...], dict[str, Any]] = {}

    def _id(self, key: Mapping[str, Any]) -> tuple[Any, ...]:
        return tuple(key[k] for k in self.key_names)

    def _check(
        self,
        key: Mapping[str, Any],
        condition: str | None,
        names: Mapping[str, str] | None,
        values: Mapping[str, Any] | None,
    ) -> None:
        current = self.items.get(self._id(key), {})
        if condition and not condition_holds(condition, current, names or {}, values or {}):
            raise ConditionFailed()

    def get(self, key: Mapping[str, Any], *, consistent: bool = True) -> dict[str, Any] | None:
        found = self.items.get(self._id(key))
        return copy.deepcopy(found) if found is not None else None

    def put(
        self,
        item: Mapping[str, Any],
        *,
        condition: str | None = None,
        names: Mapping[str, str] | None = None,
        values: Mapping[str, Any] | None = None,
    ) -> None:
        self._check(item, condition, names, values)
        self.items[self._id(item)] = copy.deepcopy(dict(item))

    def update(
        self,
        key: Mapping[str, Any],
        expression: str,
        *,
        condition: str | None = None,
        names: Mapping[str, str] | None = None,
        values: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        self._check(key, condition, names, values)
        names, values = names or {}, values or {}
        head, _, assignments = expression.strip().partition(" ")
        assert head.upper() == "SET", f"unsupported update: {expression}"
        item = self.items.setdefault(self._id(key), dict(key))
        for assignment in assignments.split(","):
            target, _, source = (part.strip() for part in assignment.partition("="))
            item[names.get(target, target)] = copy.deepcopy(values[source])
        return copy.deepcopy(item)

    def delete(
        self,
        key: Mapping[str, Any],
        *,
        condition: str | None = None,
        names: Mapping[str, str] | None = None,
        values: Mapping[str, Any] | None = None,
    ) -> None:
        self._check(key, condition, names, values)
        self.items.pop(self._id(key), None)


# --- the profile store ---------------------------------------------------------------------------


@dataclass(frozen=True)
class UpdateCall:
    customer_id: str
    changes: dict[str, Any]
    seen_version: int
    at: datetime
    events: list[Any]


class FakeProfileStore:
    """``ProfileStore`` over two dicts, with the same conflict rules as the DynamoDB store."""

    FIELDS = frozenset({"display_name", "email", "phone", "locale", "time_zone"})

    def __init__(self) -> None:
        self.profiles: dict[str, Profile] = {}
        self.identities: dict[str, str] = {}
        self.updates: list[UpdateCall] = []
        self.events: list[Any] = []  # what was recorded with each committed change, in order

    def create(
        self, subject: str, profile: Profile, events: Any = (), *, username: str | None = None
    ) -> None:
        if subject in self.identities or profile.customer_id in self.profiles:
            raise ProfileExists
        self.identities[subject] = profile.customer_id
        self.profiles[profile.customer_id] = profile
        self.events += list(events)

    def get(self, customer_id: str) -> Profile | None:
        return self.profiles.get(customer_id)

    def customer_id_of(self, subject: str) -> str | None:
        return self.identities.get(subject)

    def update(self, profile: Profile, changes: dict[str, Any], events: Any = (), *, at: datetime) -> Profile:
        customer_id = profile.customer_id
        self.updates.append(UpdateCall(customer_id, dict(changes), profile.version, at, list(events)))
        if unknown := set(changes) - self.FIELDS:
            raise ValueError(f"not profile fields: {sorted(unknown)}")
        current = self.profiles.get(customer_id)
        if current is None or current.version != profile.version:
            raise VersionMismatch
        self.events += list(events)
        updated = Profile.model_validate(
            {**current.model_dump(), **changes, "version": current.version + 1, "updated_at": at}
        )
        self.profiles[customer_id] = updated
        return updated


# --- DynamoTable with queries and batch writes (the outbox) --------------------------------------


class FakeQueryTable(FakeTable):
    """``FakeTable`` plus ``query`` (key conditions evaluated like conditions, items in sort-key order,
    ``limit`` honoured with a ``last_key``) and ``batch_write``, each call recorded."""

    def __init__(self, key_names: tuple[str, ...] = ("pk", "sk")) -> None:
        super().__init__(key_names)
        self.queries: list[dict[str, Any]] = []
        self.batch_writes: list[dict[str, list[dict[str, Any]]]] = []

    def query(
        self,
        key_condition: str,
        *,
        names: Mapping[str, str] | None = None,
        values: Mapping[str, Any] | None = None,
        limit: int | None = None,
        forward: bool = True,
    ) -> Any:
        from shared.dynamo import Page  # the adapter's page type (imported here: this file is append-only)

        self.queries.append({"key_condition": key_condition, "values": dict(values or {}), "limit": limit})
        matches = sorted(
            (i for i in self.items.values() if condition_holds(key_condition, i, names or {}, values or {})),
            key=lambda i: self._id(i)[1:],
            reverse=not forward,
        )
        found = copy.deepcopy(matches[:limit] if limit else matches)
        last = {k: found[-1][k] for k in self.key_names} if len(matches) > len(found) else None
        return Page(found, last)

    def batch_write(self, puts: Any = (), deletes: Any = ()) -> int:
        puts, deletes = [dict(i) for i in puts], [dict(k) for k in deletes]
        self.batch_writes.append(copy.deepcopy({"puts": puts, "deletes": deletes}))
        for item in puts:
            self.items[self._id(item)] = copy.deepcopy(item)
        for key in deletes:
            self.items.pop(self._id(key), None)
        return 1


# --- EventBridge that takes nothing --------------------------------------------------------------


class DownEventBridge(FakeEventBridge):
    """``put_events`` that answers every entry with ``InternalFailure`` (EventBridge is having a bad day)."""

    def put_events(self, *, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        self.calls.append(list(Entries))
        results = [{"ErrorCode": "InternalFailure", "ErrorMessage": "try again"} for _ in Entries]
        return {"FailedEntryCount": len(results), "Entries": results}


# --- Lambda ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FakeLambdaContext:
    """The attributes of a Lambda context object that handlers and Powertools read."""

    function_name: str = "dangol-test-consumer"
    function_version: str = "$LATEST"
    invoked_function_arn: str = "arn:aws:lambda:ap-northeast-2:123456789012:function:dangol-test-consumer"
    memory_limit_in_mb: int = 256
    aws_request_id: str = "req-00000000-0000-0000-0000-000000000001"
    log_group_name: str = "/aws/lambda/dangol-test-consumer"
    log_stream_name: str = "2025/03/14/[$LATEST]0123456789abcdef"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000

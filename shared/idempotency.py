"""Idempotency for mutating routes, keyed by the client's ``Idempotency-Key`` header.

Guarantees (the same as Powertools' idempotency utility, on the service's own
table so no extra table or IAM grant is needed):

- the first request with a key claims it with a conditional write, runs, and
  stores its response; a replay (same caller, route and key, same body) gets
  that first response back, with ``Idempotent-Replayed: true``;
- the same key with a different body is 422 ``idempotency_key_reused``;
- while the first request still runs, another with the same key is 409
  ``idempotency_in_progress`` (retry shortly): two concurrent requests, one effect;
- a request that fails (an error response or an exception) releases the key so
  that the client can retry; a claim whose function died expires after the
  function's timeout; records expire after ``ttl_s`` (24 h) through the table's TTL.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from shared.dynamo import ConditionFailed, DynamoTable
from shared.errors import BadRequest, Conflict, Unprocessable
from shared.topology import Table

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
REPLAYED_HEADERS = frozenset({"ETag", "Location"})  # response headers a replay repeats
_KEY_PATTERN = re.compile(r"^[\x21-\x7e]{1,255}$")
IN_PROGRESS = "IN_PROGRESS"
COMPLETED = "COMPLETED"


@dataclass(frozen=True)
class StoredResponse:
    status: int
    body: str
    content_type: str
    headers: dict[str, str] = field(default_factory=dict)


def validate_key(key: str) -> str:
    if not _KEY_PATTERN.fullmatch(key):
        raise BadRequest(f"{HEADER} must be 1-255 visible ASCII characters.", code="invalid_idempotency_key")
    return key


def request_hash(method: str, path: str, body: str | None) -> str:
    canonical = body or ""
    with contextlib.suppress(ValueError):
        canonical = json.dumps(json.loads(canonical), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(f"{method} {path}\n{canonical}".encode()).hexdigest()


OWNER_SHARDS = 8


class IdempotencyStore:
    """Records live in the service's table under ``IDEMPOTENCY#<scope>#<key>``, or, when they
    belong to someone (``owner``: a caller's requests, whose stored answers may hold their personal
    data), under ``IDEMPOTENCY#<owner>#<shard>`` / ``<scope>#<key>``, so that ``forget(owner)``
    finds and deletes them all when that person is erased."""

    @classmethod
    def of(
        cls, table: DynamoTable, declared: Table, *, lock_s: int, ttl_s: int = 24 * 3600
    ) -> IdempotencyStore:
        """The claims of a service's declared table (``IDEMPOTENCY#...`` items beside its own)."""
        return cls(
            table,
            partition_key=declared.partition_key.name,
            sort_key=declared.sort_key_name,
            ttl_attribute=declared.ttl_name,
            lock_s=lock_s,
            ttl_s=ttl_s,
        )

    def __init__(
        self,
        table: DynamoTable,
        *,
        partition_key: str,
        sort_key: str | None,
        ttl_attribute: str,
        lock_s: int,
        ttl_s: int = 24 * 3600,
        now: Callable[[], float] = time.time,
    ) -> None:
        self.table = table
        self.pk = partition_key
        self.sk = sort_key
        self.ttl_attribute = ttl_attribute
        self.lock_s = lock_s
        self.ttl_s = ttl_s
        self.now = now

    def _key(self, scope: str, key: str, owner: str | None = None) -> dict[str, Any]:
        if owner is not None:
            if not self.sk:
                raise ValueError("records with an owner need a table with a sort key")
            shard = int(hashlib.sha256(key.encode()).hexdigest(), 16) % OWNER_SHARDS
            return {self.pk: f"IDEMPOTENCY#{owner}#{shard}", self.sk: f"{scope}#{key}"}
        record = {self.pk: f"IDEMPOTENCY#{scope}#{key}"}
        if self.sk:
            record[self.sk] = "IDEMPOTENCY"
        return record

    def begin(
        self, scope: str, key: str, fingerprint: str, *, owner: str | None = None
    ) -> tuple[str, StoredResponse | None]:
        """Claim the key. Returns (claim token, None) or (``""``, the stored first response)."""
        now = int(self.now())
        token = uuid.uuid4().hex
        item = {
            **self._key(scope, key, owner),
            "status": IN_PROGRESS,
            "fingerprint": fingerprint,
            "claim": token,
            "lock_until": now + self.lock_s,
            self.ttl_attribute: now + self.ttl_s,
        }
        try:
            self.table.put(
                item,
                condition="attribute_not_exists(#pk) OR #ttl < :now OR (#st = :busy AND lock_until < :now)",
                names={"#pk": self.pk, "#ttl": self.ttl_attribute, "#st": "status"},
                values={":now": now, ":busy": IN_PROGRESS},
            )
            return token, None
        except ConditionFailed:
            pass
        existing = self.table.get(self._key(scope, key, owner)) or {}
        if existing.get("fingerprint") != fingerprint:
            raise Unprocessable(
                f"This {HEADER} was used with a different request.", code="idempotency_key_reused"
            )
        if existing.get("status") == COMPLETED:
            return "", StoredResponse(
                status=int(existing["response_status"]),
                body=str(existing["response_body"]),
                content_type=str(existing["content_type"]),
                headers={str(k): str(v) for k, v in (existing.get("response_headers") or {}).items()},
            )
        raise Conflict(
            f"A request with this {HEADER} is still being processed; retry shortly.",
            code="idempotency_in_progress",
            headers={"Retry-After": "1"},
        )

    def complete(
        self, scope: str, key: str, token: str, response: StoredResponse, *, owner: str | None = None
    ) -> None:
        # If our claim expired and another request took the key, the effect is done: keep theirs.
        with contextlib.suppress(ConditionFailed):
            self.table.update(
                self._key(scope, key, owner),
                "SET #st = :done, response_status = :code, response_body = :body, content_type = :ct,"
                " response_headers = :headers",
                condition="claim = :claim",
                names={"#st": "status"},
                values={
                    ":done": COMPLETED,
                    ":code": response.status,
                    ":body": response.body,
                    ":ct": response.content_type,
                    ":headers": response.headers,
                    ":claim": token,
                },
            )

    def release(self, scope: str, key: str, token: str, *, owner: str | None = None) -> None:
        with contextlib.suppress(ConditionFailed):
            self.table.delete(
                self._key(scope, key, owner), condition="claim = :claim", values={":claim": token}
            )

    def forget(self, owner: str) -> int:
        """Delete every record of ``owner``'s requests (erasure); returns how many."""
        keys: list[dict[str, Any]] = []
        for shard in range(OWNER_SHARDS):
            start: dict[str, Any] | None = None
            while True:
                page = self.table.query(
                    "#pk = :pk",
                    names={"#pk": self.pk},
                    values={":pk": f"IDEMPOTENCY#{owner}#{shard}"},
                    start_key=start,
                )
                keys += [{self.pk: i[self.pk], self.sk: i[self.sk]} for i in page.items if self.sk]
                start = page.last_key
                if start is None:
                    break
        self.table.batch_write(deletes=keys)
        return len(keys)

"""Segments, their versions, members and counts in the campaigns table (``dal/keys.py``)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from services.campaigns.dal import keys, versions
from services.campaigns.logic.projection import STANDING_CACHE_S, Stale, StandingSegment
from services.campaigns.logic.segments import compile_rule
from services.campaigns.models.segments import SegmentRule
from shared.dynamo import ConditionFailed, DynamoTable, Item, transact_write


class DynamoSegments:
    def __init__(
        self,
        table: DynamoTable,
        *,
        cache_s: float = STANDING_CACHE_S,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.table = table
        self.cache_s = cache_s
        self._monotonic = monotonic
        self._standing: tuple[float, Sequence[StandingSegment]] | None = None

    # -- the catalog -----------------------------------------------------------------------

    def all(self) -> list[Item]:
        return self.table.query_all(f"{keys.PK} = :pk", values={":pk": "SEGMENTS"}, forward=False)

    def get(self, segment_id: str) -> Item | None:
        return self.table.get(keys.segment_key(segment_id))

    def version(self, segment_id: str, version: int) -> Item | None:
        return self.table.get(keys.segment_version_key(segment_id, version))

    def create(self, item: Item) -> None:
        """The segment and its first version, at once (refused beyond ``MAX_SEGMENTS``: the caller checks)."""
        self._save(item, expected=None)

    def replace(self, item: Item, *, expected: int) -> None:
        """The segment's next version (``item["version"]`` = expected + 1), if it is still at ``expected``."""
        self._save(item, expected=expected)

    def _save(self, item: Item, *, expected: int | None) -> None:
        versions.save(
            self.table,
            head=keys.segment_key(item["id"]),
            version=keys.segment_version_key(item["id"], item["version"]),
            item=item,
            version_fields=_version_fields(item),
            expected=expected,
            what="segment",
        )
        self._standing = None

    def evaluated(self, segment_id: str, version: int, *, looked_at: int, done: bool) -> bool:
        """Record an evaluation's progress; False when the segment has moved past ``version``."""
        expression = "SET evaluated = :n" + (", #status = :ready" if done else "")
        values: dict[str, Any] = {":n": looked_at, ":v": version}
        if done:
            values[":ready"] = "ready"
        try:
            self.table.update(
                keys.segment_key(segment_id),
                expression,
                condition="version = :v",
                names={"#status": "status"} if done else None,
                values=values,
            )
        except ConditionFailed:
            return False
        return True

    def retire(self, segment_id: str, *, version: int) -> bool:
        """The segment out of the list, if it is still at ``version`` (its versions stay)."""
        try:
            self.table.delete(keys.segment_key(segment_id), condition="version = :v", values={":v": version})
        except ConditionFailed:
            return False
        self._standing = None
        return True

    # -- members ---------------------------------------------------------------------------

    def standing(self) -> Sequence[StandingSegment]:
        cached = self._standing
        if cached is not None and self._monotonic() - cached[0] < self.cache_s:
            return cached[1]
        segments = [
            StandingSegment(
                segment_id=str(item["id"]),
                version=int(item["version"]),
                matches=compile_rule(SegmentRule.model_validate(item["rule"])),
            )
            for item in self.all()
        ]
        self._standing = (self._monotonic(), segments)
        return segments

    def add(self, segment_id: str, customer_id: str, *, view_version: int | None = None) -> bool:
        return self._change(segment_id, customer_id, +1, view_version)

    def remove(self, segment_id: str, customer_id: str, *, view_version: int | None = None) -> bool:
        return self._change(segment_id, customer_id, -1, view_version)

    def _change(self, segment_id: str, customer_id: str, delta: int, view_version: int | None) -> bool:
        member = keys.member_key(segment_id, customer_id)
        shard = keys.shard_of(customer_id, keys.COUNT_SHARDS)
        change = (
            {
                "Put": self.table.put_op(
                    {**member, "customer_id": customer_id}, condition=f"attribute_not_exists({keys.PK})"
                )
            }
            if delta > 0
            else {"Delete": self.table.delete_op(member, condition=f"attribute_exists({keys.PK})")}
        )
        count = self.table.update_op(
            keys.count_key(segment_id, shard), "ADD members :d", values={":d": delta}
        )
        actions = [change, {"Update": count}]
        if view_version is not None:
            view = self.table.check_op(
                keys.view_key(customer_id), condition="version = :v", values={":v": view_version}
            )
            actions.append({"ConditionCheck": view})
        try:
            transact_write(self.table.client, actions)
        except ConditionFailed as failed:
            if view_version is not None and failed.reasons[2:3] == ["ConditionalCheckFailed"]:
                raise Stale(f"the view of {customer_id} changed since version {view_version}") from failed
            return False  # already so
        return True

    def count(self, segment_id: str) -> int:
        page = self.table.query(
            f"{keys.PK} = :pk AND begins_with({keys.SK}, :c)",
            values={":pk": f"SEG#{segment_id}", ":c": "COUNT#"},
        )
        return sum(int(i.get("members", 0)) for i in page.items)

    def forget(self, segment_id: str, customer_ids: list[str]) -> None:
        """A deleted segment's members, gone (their count goes with ``forget_counts``)."""
        self.table.batch_write(deletes=[keys.member_key(segment_id, c) for c in customer_ids])

    def forget_counts(self, segment_id: str) -> None:
        self.table.batch_write(deletes=[keys.count_key(segment_id, s) for s in range(keys.COUNT_SHARDS)])

    def members(
        self, segment_id: str, *, shard: int, after: str | None, limit: int
    ) -> tuple[list[str], str | None]:
        """One shard's members in id order after ``after``; the last id when the shard goes on."""
        condition = f"{keys.PK} = :pk" + (f" AND {keys.SK} > :after" if after else "")
        values: dict[str, Any] = {":pk": keys.member_pk(segment_id, shard)}
        if after:
            values[":after"] = after
        page = self.table.query(condition, values=values, limit=limit)
        ids = [str(i[keys.SK]) for i in page.items]
        return ids, (ids[-1] if page.last_key is not None and ids else None)


def _version_fields(item: Item) -> Item:
    return {k: item[k] for k in ("id", "version", "name", "description", "rule", "updated_at") if k in item}

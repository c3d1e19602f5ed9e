"""Cases in the feedback table (``keys``): read, and write a ``logic.cases.Change`` in one
transaction conditioned on the version it was computed from, with its timeline lines, its
events (the outbox) and its SLA timers.

Timers are set before the transaction and cancelled after it: a timer set for a change that then
lost its race fires for a deadline the case does not have, and is ignored; a cancel that fails
leaves a timer that is ignored the same way. So no order of failures loses a deadline.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

from services.feedback.dal import keys
from services.feedback.logic import sla
from services.feedback.logic.cases import CancelTimer, CaseRecord, Change, LogLine, SetTimer
from services.feedback.topology import CASE_QUEUE, CUSTOMER_CASES
from shared.dynamo import ConditionFailed, DynamoTable, Item, transact_write
from shared.errors import Conflict, NotFound
from shared.events import EventPublisher
from shared.timers import Timers

_DATES = ("opened_at", "resolved_at", "closed_at", "confirmed_at")


def to_item(case: CaseRecord) -> Item:
    values = {f.name: getattr(case, f.name) for f in fields(case) if f.name != "clock"}
    item: Item = {**keys.case_key(case.case_id)}
    for name, value in values.items():
        if value is None:
            continue
        item[name] = value.isoformat() if isinstance(value, datetime) else value
    item["clock"] = case.clock.to_dict()
    item["queue"] = f"{case.team}#{case.status}"
    item["queued_at"] = f"{case.opened_at.isoformat()}#{case.case_id}"
    if case.customer_id:
        item["case_customer"] = case.customer_id
    return item


def from_item(item: Item) -> CaseRecord:
    names = {f.name for f in fields(CaseRecord)}
    values: dict[str, Any] = {k: v for k, v in item.items() if k in names and k != "clock"}
    for name in _DATES:
        if values.get(name):
            values[name] = datetime.fromisoformat(str(values[name]))
    for name in ("version", "reopened", "csat"):
        if values.get(name) is not None:
            values[name] = int(values[name])
    for name in ("customer_id", "description", "store_id"):  # None is not stored
        values.setdefault(name, None)
    values["clock"] = sla.SlaClock.from_dict(item["clock"])
    return CaseRecord(**values)


def log_item(case_id: str, version: int, line: LogLine, n: int) -> Item:
    item: Item = {
        **keys.log_key(case_id, line.at.isoformat(), version, n),
        "kind": line.kind,
        "by": line.by,
        "at": line.at.isoformat(),
        "visibility": line.visibility,
        "data": dict(line.data),
    }
    if line.text is not None:
        item["text"] = line.text
    return item


@dataclass
class DynamoCases:
    table: DynamoTable
    timers: Timers | None = None
    publisher: EventPublisher | None = None
    held: list[Item] | None = field(default=None, init=False)

    @contextmanager
    def relaying_after(self) -> Iterator[None]:
        """Hold the events of every write until the end, then publish them together (an SQS
        batch's cases: one ``PutEvents`` for ten). What the end does not reach, the sweep does."""
        self.held = []
        try:
            yield
        finally:
            held, self.held = self.held, None
            if held and self.publisher is not None:
                keys.outbox(self.table).publish_or_leave(self.publisher, held)

    def get(self, case_id: str) -> CaseRecord | None:
        item = self.table.get(keys.case_key(case_id))
        return from_item(item) if item else None

    def load(self, case_id: str) -> CaseRecord:
        case = self.get(case_id)
        if case is None:
            raise NotFound("No such case.", code="case_not_found")
        return case

    def timeline(self, case_id: str) -> list[Item]:
        return self.table.query_all(
            "#pk = :pk AND begins_with(#sk, :log)",
            names={"#pk": keys.PK, "#sk": keys.SK},
            values={":pk": keys.case_pk(case_id), ":log": "LOG#"},
        )

    def grants(self, case_id: str) -> list[Item]:
        return self.table.query_all(
            "#pk = :pk AND begins_with(#sk, :g)",
            names={"#pk": keys.PK, "#sk": keys.SK},
            values={":pk": keys.case_pk(case_id), ":g": "GRANT#"},
        )

    def write(
        self,
        change: Change,
        *,
        expected_version: int | None,
        now: datetime,
        extra: Sequence[dict[str, Any]] = (),
    ) -> None:
        """Store the change; ``expected_version`` None: the case is new (it must not exist).
        ``extra``: more transaction actions (a claim, a grant) that stand or fall with it."""
        if not change.changed and expected_version is not None:
            return
        self._set_timers(change, now)
        case = change.case
        outbox = keys.outbox(self.table)
        envelopes = [outbox.item(outbox.envelope(e, now)) for e in change.events]
        condition = "attribute_not_exists(#pk)" if expected_version is None else "#v = :v"
        names = {"#pk": keys.PK} if expected_version is None else {"#v": "version"}
        values = None if expected_version is None else {":v": expected_version}
        actions: list[dict[str, Any]] = [
            {"Put": self.table.put_op(to_item(case), condition=condition, names=names, values=values)}
        ]
        actions += [
            {"Put": self.table.put_op(log_item(case.case_id, case.version, line, n))}
            for n, line in enumerate(change.logs)
        ]
        actions += [{"Put": self.table.put_op(item)} for item in envelopes]
        actions += list(extra)
        try:
            transact_write(self.table.client, actions)
        except ConditionFailed as exc:
            raise Conflict(
                "The case changed meanwhile: read it again.",
                code="case_changed",
                details=[{"reasons": list(getattr(exc, "reasons", []))}],
            ) from exc
        self._cancel_timers(change)
        if self.held is not None:
            self.held += envelopes
        elif envelopes and self.publisher is not None:
            outbox.publish_or_leave(self.publisher, envelopes)

    def drop_timers(self, change: Change) -> None:
        """Cancel the timers a change set that was then not written (it lost to its twin)."""
        for op in change.timers:
            if isinstance(op, SetTimer) and self.timers is not None:
                self.timers.cancel(op.name)

    def _set_timers(self, change: Change, now: datetime) -> None:
        for op in change.timers:
            if isinstance(op, SetTimer) and self.timers is not None:
                self.timers.set(op.name, op.at, dict(op.payload), now=now)

    def _cancel_timers(self, change: Change) -> None:
        for op in change.timers:
            if isinstance(op, CancelTimer) and self.timers is not None:
                self.timers.cancel(op.name)

    # -- lists ---------------------------------------------------------------------------------

    def queue(
        self, team: str, status: str, *, limit: int, start: dict[str, Any] | None
    ) -> tuple[list[Item], dict[str, Any] | None]:
        page = self.table.query(
            "#q = :q",
            names={"#q": CASE_QUEUE.partition_key.name},
            values={":q": f"{team}#{status}"},
            index=CASE_QUEUE.name,
            limit=limit,
            start_key=start,
        )
        return page.items, page.last_key

    def mine(
        self, customer_id: str, *, limit: int, start: dict[str, Any] | None
    ) -> tuple[list[Item], dict[str, Any] | None]:
        page = self.table.query(
            "#c = :c",
            names={"#c": "case_customer"},
            values={":c": customer_id},
            index=CUSTOMER_CASES.name,
            limit=limit,
            start_key=start,
            forward=False,
        )
        return page.items, page.last_key

    def of_customer(self, customer_id: str) -> list[Item]:
        return self.table.query_all(
            "#c = :c", names={"#c": "case_customer"}, values={":c": customer_id}, index=CUSTOMER_CASES.name
        )

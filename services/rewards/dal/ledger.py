"""The points ledger in the rewards table (item layout: ``dal/keys.py``).

``commit`` writes one operation's ``Change`` as ONE transaction: the account item updated under
``version = <the version read>`` (created under ``attribute_not_exists`` when new), every lot put
under ``remaining = <what was read>``, the hold under its status, the source claims, the entries
and the outbox items under ``attribute_not_exists``, and the counters (QUAL, JOB or CAMPAIGN,
an agent's goodwill day, the latter under its limit). Only the account and its lots change the
balance, so two operations on one account serialize on ``version``; ``run`` re-reads and
recomputes when another got there first (``ConditionFailed``/``TransactionConflict``), a bounded
number of times, then answers 409 ``concurrent_update``. Events are published right after the
commit. ``refuse`` claims a source with a refusal (no entry) and writes its answer to the outbox,
in one transaction of its own.

Open lots and held holds carry ``keys.due_attributes`` (the by-due index); a lot already past
its expiry when it is (re)opened is due now, so the next expiry run takes it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import Any, TypeVar

from pydantic import BaseModel

from services.rewards.dal.keys import (
    PK,
    SK,
    account_key,
    account_pk,
    due_attributes,
    outbox,
    report_key,
    source_key,
    subject_key,
)
from services.rewards.models.ledger import AccountState, Change, Claim, Counter, Entry, Hold, Lot, StaleRead
from shared.clock import iso
from shared.dynamo import (
    Backoff,
    ConditionFailed,
    DynamoTable,
    Item,
    Key,
    TransactionConflict,
    transact_write,
)
from shared.errors import Conflict
from shared.events import DomainEvent, EventPublisher

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)
Action = dict[str, Any]
# Writers on one account that lose a race retry, jittered so that they spread out. A request
# gives up within ~5 s of sleeping (its function has 10) with 409 concurrent_update. Consumers
# and jobs are patient: a burst of many writers on one account (bench/hot_account.py: 100 at
# once) is all applied; one that still outlives its invocation is redelivered, and applies once.
CONTENTION = Backoff(base_s=0.01, cap_s=0.25, attempts=20)
PATIENT = Backoff(base_s=0.02, cap_s=3.0, attempts=60)
ERASED = "erased"


def entry_key(customer_id: str, entry_id: str) -> Key:
    return {PK: account_pk(customer_id), SK: f"ENTRY#{entry_id}"}


def hold_key(customer_id: str, order_id: str) -> Key:
    return {PK: account_pk(customer_id), SK: f"HOLD#{order_id}"}


def _counter_key(customer_id: str, counter: Counter) -> Key:
    if counter.kind == "qual":
        return {PK: account_pk(customer_id), SK: f"QUAL#{counter.id}"}
    if counter.kind == "job":
        return report_key(counter.id)
    agent, day = counter.id.rsplit("#", 1)
    return {PK: f"AGENT#{agent}", SK: f"GOODWILL#{day}"}


def _model(cls: type[M], item: Item) -> M:
    return cls.model_validate({k: v for k, v in item.items() if k in cls.model_fields})


def _account(item: Item) -> AccountState:
    return AccountState(
        customer_id=str(item.get("customer_id") or str(item[PK]).removeprefix("ACCT#")),
        version=int(item.get("version", 0)),
        balance=int(item.get("balance", 0)),
        held=int(item.get("held", 0)),
        debt=int(item.get("debt", 0)),
        lifetime_earned=int(item.get("lifetime_earned", 0)),
        pregrants={str(k): str(v) for k, v in (item.get("pregrants") or {}).items()},
        created_at=item.get("created_at"),
        tier=item.get("tier"),
        tier_since=item.get("tier_since"),
        subject=item.get("subject"),
        erased_at=item.get("erased_at"),
    )


class DynamoLedgerStore:
    def __init__(
        self, table: DynamoTable, publisher: EventPublisher, *, backoff: Backoff = CONTENTION
    ) -> None:
        self.table = table
        self.publisher = publisher
        self.outbox = outbox(table)
        self.backoff = backoff

    # -- reads ----------------------------------------------------------------------------------

    def account(self, customer_id: str) -> AccountState | None:
        item = self.table.get(account_key(customer_id))
        return _account(item) if item else None

    def _items(self, customer_id: str, prefix: str, *, only_open: bool = False) -> Iterator[Item]:
        start: Key | None = None
        while True:
            page = self.table.query(
                "#pk = :pk AND begins_with(#sk, :prefix)",
                names={"#pk": PK, "#sk": SK, **({"#r": "remaining"} if only_open else {})},
                values={
                    ":pk": account_pk(customer_id),
                    ":prefix": prefix,
                    **({":zero": 0} if only_open else {}),
                },
                start_key=start,
                filter_expression="#r > :zero" if only_open else None,
            )
            yield from page.items
            if page.last_key is None:
                return
            start = page.last_key

    def open_lots(self, customer_id: str) -> list[Lot]:
        """Lots with points left, soonest-expiring first."""
        return [_model(Lot, item) for item in self._items(customer_id, "LOT#", only_open=True)]

    def lots(self, customer_id: str) -> list[Lot]:
        return [_model(Lot, item) for item in self._items(customer_id, "LOT#")]

    def lot(self, customer_id: str, sort_key: str) -> Lot | None:
        item = self.table.get({PK: account_pk(customer_id), SK: sort_key})
        return _model(Lot, item) if item else None

    def claim(self, customer_id: str, source: str) -> Claim | None:
        item = self.table.get(source_key(customer_id, source))
        if not item:
            return None
        entry_id, refused = item.get("entry_id"), item.get("refused")
        return Claim(
            source,
            None if entry_id is None else str(entry_id),
            int(item["points"]),
            refused=None if refused is None else str(refused),
        )

    def entry(self, customer_id: str, entry_id: str) -> Entry | None:
        item = self.table.get(entry_key(customer_id, entry_id))
        return _model(Entry, item) if item else None

    def entries(self, customer_id: str, *, after: str | None, limit: int) -> tuple[list[Entry], str | None]:
        """Newest first, from just before ``after``; the id to pass as ``after`` next, if more."""
        page = self.table.query(
            "#pk = :pk AND begins_with(#sk, :prefix)",
            names={"#pk": PK, "#sk": SK},
            values={":pk": account_pk(customer_id), ":prefix": "ENTRY#"},
            limit=limit + 1,
            start_key=entry_key(customer_id, after) if after else None,
            forward=False,
        )
        entries = [_model(Entry, item) for item in page.items[:limit]]
        more = len(page.items) > limit
        return entries, entries[-1].id if more and entries else None

    def all_entries(self, customer_id: str) -> list[Entry]:
        return [_model(Entry, item) for item in self._items(customer_id, "ENTRY#")]

    def hold(self, customer_id: str, order_id: str) -> Hold | None:
        item = self.table.get(hold_key(customer_id, order_id))
        return _model(Hold, item) if item else None

    def holds(self, customer_id: str) -> list[Hold]:
        return [_model(Hold, item) for item in self._items(customer_id, "HOLD#")]

    # -- the one transaction --------------------------------------------------------------------

    def run(self, attempt: Callable[[], T]) -> T:
        """Read, decide and commit again while a concurrent operation wins the race."""
        for n in range(self.backoff.attempts):
            try:
                return attempt()
            except (ConditionFailed, TransactionConflict, StaleRead):
                self.backoff.pause(n)
        raise Conflict("The account is changing too fast; retry.", code="concurrent_update")

    def commit(self, change: Change) -> None:
        """Write the change atomically; ``ConditionFailed`` if anything changed since it was read,
        or a 409 with the counter's ``refusal`` code when only a limit would be passed. When what
        was read changed too, the limit is no verdict: the caller reads again (a duplicate that
        raced its original then finds it and answers the replay)."""
        actions, refusals, published = self._actions(change)
        try:
            transact_write(self.table.client, actions)
        except ConditionFailed as exc:
            failed = [i for i, reason in enumerate(exc.reasons) if reason == "ConditionalCheckFailed"]
            if failed and all(i in refusals for i in failed):
                raise Conflict("A limit would be exceeded.", code=refusals[failed[0]]) from None
            raise
        self.outbox.publish_or_leave(self.publisher, published)

    def refuse(self, customer_id: str, claim: Claim, events: Sequence[DomainEvent], *, at: datetime) -> bool:
        """Claim a source with its refusal (``claim.refused``; no entry) and write its answering
        events to the outbox, in one transaction; publish them right after. False, writing nothing,
        if the source was claimed already (credited or refused: answered once)."""
        item: Item = {**source_key(customer_id, claim.source), "type": "claim", "points": claim.points}
        item |= {"refused": claim.refused, "at": iso(at)}
        published = [self.outbox.item(self.outbox.envelope(event, at)) for event in events]
        actions: list[Action] = [
            {"Put": self.table.put_op(item, condition="attribute_not_exists(#pk)", names={"#pk": PK})}
        ]
        actions += [{"Put": self.table.put_op(outboxed)} for outboxed in published]

        def attempt() -> bool:
            try:
                transact_write(self.table.client, actions)
            except ConditionFailed:
                return False
            return True

        first = self.run(attempt)  # a TransactionConflict (a concurrent writer of the claim) retries
        if first:
            self.outbox.publish_or_leave(self.publisher, published)
        return first

    def _actions(self, change: Change) -> tuple[list[Action], dict[int, str], list[Item]]:
        """The transaction's actions, which of them carry a limit (index -> refusal code), and the
        outbox items to publish after it."""
        customer = change.account.customer_id
        new = {"#pk": PK}
        at = iso(change.at)
        actions: list[Action] = [{"Update": self._account_update(change)}]
        for claim in change.claims:
            item = {**source_key(customer, claim.source), "type": "claim", "entry_id": claim.entry_id}
            item |= {"points": claim.points, "at": at}
            actions.append({"Put": self.table.put_op(item, condition="attribute_not_exists(#pk)", names=new)})
        for entry in change.entries:
            item = {
                **entry_key(customer, entry.id),
                "type": "entry",
                **entry.model_dump(mode="json", exclude_none=True),
            }
            actions.append({"Put": self.table.put_op(item, condition="attribute_not_exists(#pk)", names=new)})
        for lot, was in change.lots.values():
            actions.append({"Put": self._lot_put(lot, was, change.at)})
        if change.hold is not None:
            actions.append({"Put": self._hold_put(*change.hold)})
        refusals: dict[int, str] = {}
        for counter in change.counters:
            if counter.refusal is not None:
                refusals[len(actions)] = counter.refusal
            actions.append({"Update": self._counter_update(customer, counter)})
        published = [self.outbox.item(self.outbox.envelope(event, change.at)) for event in change.events]
        actions += [{"Put": self.table.put_op(item)} for item in published]
        return actions, refusals, published

    def _account_update(self, change: Change) -> Action:
        state = change.account
        values: dict[str, Any] = {
            ":b": state.balance,
            ":h": state.held,
            ":d": state.debt,
            ":l": state.lifetime_earned,
            ":p": state.pregrants,
            ":nv": state.version + 1,
        }
        sets = "balance = :b, held = :h, debt = :d, lifetime_earned = :l, pregrants = :p, version = :nv"
        names = {"#v": "version"}
        if state.version == 0:  # a new account (or an item someone else began, without a version)
            condition = "attribute_not_exists(#v)"
            sets += ", customer_id = :c, listed = :listed, created_at = :at"
            values |= {
                ":c": state.customer_id,
                ":listed": "ACCOUNT",
                ":at": state.created_at or iso(change.at),
            }
        else:
            condition = "#v = :v"
            values[":v"] = state.version
        return self.table.update_op(
            account_key(state.customer_id), f"SET {sets}", condition=condition, names=names, values=values
        )

    def _lot_put(self, lot: Lot, was: int | None, now: datetime) -> Action:
        item: Item = {PK: account_pk(lot.customer_id), SK: lot.sort_key, "type": "lot"}
        item |= lot.model_dump(mode="json", exclude_none=True)
        if lot.remaining > 0:
            due = lot.expires_at if lot.expires_at > now else now
            item |= due_attributes(lot.customer_id, lot.sort_key, iso(due))
        if was is None:
            return self.table.put_op(item, condition="attribute_not_exists(#pk)", names={"#pk": PK})
        return self.table.put_op(item, condition="#r = :was", names={"#r": "remaining"}, values={":was": was})

    def _hold_put(self, hold: Hold, was: str | None) -> Action:
        key = hold_key(hold.customer_id, hold.order_id)
        item: Item = {**key, "type": "hold", **hold.model_dump(mode="json", exclude_none=True)}
        if hold.status == "held":
            item |= due_attributes(hold.customer_id, key[SK], iso(hold.expires_at))
        if was is None:
            return self.table.put_op(item, condition="attribute_not_exists(#pk)", names={"#pk": PK})
        return self.table.put_op(item, condition="#s = :was", names={"#s": "status"}, values={":was": was})

    def _counter_update(self, customer_id: str, counter: Counter) -> Action:
        names: dict[str, str] = {}
        values: dict[str, Any] = {}
        adds = []
        for n, (attr, number) in enumerate(sorted(counter.add.items())):
            names[f"#a{n}"], values[f":a{n}"] = attr, number
            adds.append(f"#a{n} :a{n}")
        expression = "ADD " + ", ".join(adds)
        if counter.kind == "qual":
            names["#c"], values[":c"], values[":t"] = "customer_id", customer_id, "qual"
            names["#m"], values[":m"] = "month", counter.id
            expression = "SET #c = :c, #type = :t, #m = :m " + expression
            names["#type"] = "type"
        condition = None
        if counter.limit_attr is not None and counter.limit is not None:
            names["#lim"] = counter.limit_attr
            values[":room"] = counter.limit - counter.add[counter.limit_attr]
            condition = "attribute_not_exists(#lim) OR #lim <= :room"
        return self.table.update_op(
            _counter_key(customer_id, counter), expression, condition=condition, names=names, values=values
        )

    # -- erasure --------------------------------------------------------------------------------

    def pseudonymise(self, customer_id: str, *, now: datetime) -> None:
        """Drop each entry's free text and the login link; keep every number. Re-runnable."""
        state = self.account(customer_id)
        if state is None:
            return
        if state.subject:
            self.table.delete(subject_key(state.subject))
        for item in self._items(customer_id, "ENTRY#"):
            if item.get("reason") != ERASED:
                self.table.update({PK: item[PK], SK: item[SK]}, "SET reason = :e", values={":e": ERASED})
        self.table.update(
            account_key(customer_id),
            "SET erased_at = if_not_exists(erased_at, :at) REMOVE subject",
            condition="attribute_exists(#pk)",
            names={"#pk": PK},
            values={":at": iso(now)},
        )

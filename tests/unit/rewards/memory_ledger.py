"""An in-memory ``LedgerStore``: what ``services.rewards.dal.ledger.DynamoLedgerStore`` does, without
DynamoDB, for the unit tier.

It keeps the DAL's guarantees, because the ledger's logic relies on them:

- ``commit`` is one all-or-nothing transaction with the DAL's conditions: the account under the
  version read (absent when the version is 0), every lot under the ``remaining`` read (absent when
  new), the hold under the status read (absent when new), claims and entries only if absent, a
  limited counter only if it is absent or stays within its limit (the DAL's
  ``attribute_not_exists(#lim) OR #lim <= limit - add``). A lost condition raises ``ConditionFailed``
  and writes nothing; a lost limit raises the counter's ``refusal`` as a 409 (as the DAL maps it),
  even when another condition failed too. Two actions on one item, or more than 100 actions, are
  refused as DynamoDB refuses them.
- Reads come back in the table's sort-key order: lots ``LOT#<expiry>#<id>`` (soonest-expiring
  first), entries ``ENTRY#<id>`` (history newest first, paged after an id), holds ``HOLD#<order>``.
- ``run`` re-runs an attempt that lost a condition or read a stale account, a bounded number of
  times, then answers 409 ``concurrent_update``.

And it lets a test play the concurrent writer: ``interpose_at_commit`` runs once, inside the next
commit, before its conditions are checked (another operation committed between this one's reads and
its write); ``interpose_after_open_lots`` runs once, right after the next ``open_lots`` read (another
operation committed between the lots read and the account read). ``journal`` lists the committed
entries in commit order and ``published`` the events, for a test to compare with what it expected.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import TypeVar

from services.rewards.models.ledger import (
    AccountState,
    Change,
    Claim,
    Counter,
    Entry,
    Hold,
    Lot,
    StaleRead,
)
from shared.clock import iso
from shared.dynamo import ConditionFailed, TransactionConflict
from shared.errors import Conflict
from shared.events import DomainEvent

T = TypeVar("T")
MAX_ACTIONS = 100  # DynamoDB's limit on one transaction
FAILED = "ConditionalCheckFailed"
PASSED = "None"
ERASED = "erased"

CounterKey = tuple[str, str, str]  # (kind, customer id for a month's totals else "", id)


def counter_key(customer_id: str, counter: Counter) -> CounterKey:
    return (counter.kind, customer_id if counter.kind == "qual" else "", counter.id)


class InMemoryLedgerStore:
    """The ledger's store port over dicts, with the DAL's transaction semantics."""

    def __init__(self, *, attempts: int = 20) -> None:
        self.attempts = attempts
        self._accounts: dict[str, AccountState] = {}
        self._lots: dict[tuple[str, str], Lot] = {}  # (customer, LOT#<expiry>#<id>)
        self._claims: dict[tuple[str, str], Claim] = {}  # (customer, source)
        self._entries: dict[tuple[str, str], Entry] = {}  # (customer, entry id)
        self._holds: dict[tuple[str, str], Hold] = {}  # (customer, order id)
        self.counters: dict[CounterKey, dict[str, int]] = {}
        self.journal: list[Entry] = []
        self.published: list[DomainEvent] = []
        self.lost_conditions = 0
        self.stale_reads = 0
        self.interpose_at_commit: Callable[[], None] | None = None
        self.interpose_after_open_lots: Callable[[], None] | None = None

    # -- reads ----------------------------------------------------------------------------------

    def account(self, customer_id: str) -> AccountState | None:
        state = self._accounts.get(customer_id)
        return replace(state, pregrants=dict(state.pregrants)) if state else None

    def _lots_of(self, customer_id: str) -> list[Lot]:
        return [lot for (c, _), lot in sorted(self._lots.items()) if c == customer_id]

    def open_lots(self, customer_id: str) -> list[Lot]:
        """Lots with points left, soonest-expiring first (the sort key's order)."""
        found = [lot for lot in self._lots_of(customer_id) if lot.remaining > 0]
        hook, self.interpose_after_open_lots = self.interpose_after_open_lots, None
        if hook is not None:
            hook()
        return found

    def lots(self, customer_id: str) -> list[Lot]:
        return self._lots_of(customer_id)

    def lot(self, customer_id: str, sort_key: str) -> Lot | None:
        return self._lots.get((customer_id, sort_key))

    def claim(self, customer_id: str, source: str) -> Claim | None:
        return self._claims.get((customer_id, source))

    def entry(self, customer_id: str, entry_id: str) -> Entry | None:
        return self._entries.get((customer_id, entry_id))

    def entries(self, customer_id: str, *, after: str | None, limit: int) -> tuple[list[Entry], str | None]:
        """Newest first, from just before ``after``; the id to pass as ``after`` next, if more."""
        newest_first = sorted(
            (e for (c, i), e in self._entries.items() if c == customer_id and (after is None or i < after)),
            key=lambda e: e.id,
            reverse=True,
        )
        page = newest_first[:limit]
        return page, page[-1].id if len(newest_first) > limit and page else None

    def all_entries(self, customer_id: str) -> list[Entry]:
        return [e for (c, _), e in sorted(self._entries.items()) if c == customer_id]

    def hold(self, customer_id: str, order_id: str) -> Hold | None:
        return self._holds.get((customer_id, order_id))

    def holds(self, customer_id: str) -> list[Hold]:
        return [h for (c, _), h in sorted(self._holds.items()) if c == customer_id]

    def counter(self, kind: str, counter_id: str, customer_id: str = "") -> dict[str, int]:
        return dict(self.counters.get((kind, customer_id if kind == "qual" else "", counter_id), {}))

    # -- the one transaction --------------------------------------------------------------------

    def run(self, attempt: Callable[[], T]) -> T:
        for _ in range(self.attempts):
            try:
                return attempt()
            except (ConditionFailed, TransactionConflict):
                continue
            except StaleRead:
                self.stale_reads += 1
        raise Conflict("The account is changing too fast; retry.", code="concurrent_update")

    def commit(self, change: Change) -> None:
        hook, self.interpose_at_commit = self.interpose_at_commit, None
        if hook is not None:
            hook()
        customer = change.account.customer_id
        items = (
            [("ACCOUNT", customer)]
            + [("SRC", c.source) for c in change.claims]
            + [("ENTRY", e.id) for e in change.entries]
            + [("LOT", lot.sort_key) for lot, _ in change.lots.values()]
            + ([("HOLD", change.hold[0].order_id)] if change.hold is not None else [])
            + [("COUNTER", "#".join(counter_key(customer, c))) for c in change.counters]
        )
        if len(set(items)) != len(items):
            raise ValueError("Transaction request cannot include multiple operations on one item")
        if len(items) + len(change.events) > MAX_ACTIONS:
            raise ValueError(f"a transaction takes at most {MAX_ACTIONS} actions")

        stored = self._accounts.get(customer)
        version = change.account.version
        reasons = [stored is None if version == 0 else stored is not None and stored.version == version]
        reasons += [(customer, c.source) not in self._claims for c in change.claims]
        reasons += [(customer, e.id) not in self._entries for e in change.entries]
        for lot, was in change.lots.values():
            now = self._lots.get((customer, lot.sort_key))
            reasons.append(now is None if was is None else now is not None and now.remaining == was)
        if change.hold is not None:
            hold, status = change.hold
            held = self._holds.get((customer, hold.order_id))
            reasons.append(held is None if status is None else held is not None and held.status == status)
        refusal = None
        for counter in change.counters:
            if counter.limit_attr is None or counter.limit is None:
                continue
            # the DAL's condition: attribute_not_exists(#lim) OR #lim <= limit - add (so a first ADD
            # beyond the limit passes: the logic refuses such an amount before it writes)
            room = counter.limit - counter.add[counter.limit_attr]
            if self.counters.get(counter_key(customer, counter), {}).get(counter.limit_attr, room) > room:
                refusal = refusal or counter.refusal
        # as the DAL maps a cancellation: the limit's refusal only when nothing read has changed
        if refusal is not None and all(reasons):
            raise Conflict("A limit would be exceeded.", code=refusal)
        if not all(reasons):
            self.lost_conditions += 1
            raise ConditionFailed(reasons=[PASSED if ok else FAILED for ok in reasons])

        self._write(change, stored)

    def _write(self, change: Change, stored: AccountState | None) -> None:
        state, customer = change.account, change.account.customer_id
        base = stored or replace(state, created_at=state.created_at or iso(change.at))
        self._accounts[customer] = replace(
            base,
            balance=state.balance,
            held=state.held,
            debt=state.debt,
            lifetime_earned=state.lifetime_earned,
            pregrants=dict(state.pregrants),
            version=state.version + 1,
        )
        for claim in change.claims:
            self._claims[(customer, claim.source)] = claim
        for entry in change.entries:
            self._entries[(customer, entry.id)] = entry
            self.journal.append(entry)
        for lot, _ in change.lots.values():
            self._lots[(customer, lot.sort_key)] = lot
        if change.hold is not None:
            self._holds[(customer, change.hold[0].order_id)] = change.hold[0]
        for counter in change.counters:
            totals = self.counters.setdefault(counter_key(customer, counter), {})
            for attr, number in counter.add.items():
                totals[attr] = totals.get(attr, 0) + number
        self.published.extend(change.events)

    def refuse(self, customer_id: str, claim: Claim, events: Sequence[DomainEvent], *, at: datetime) -> bool:
        """The DAL's refusal: the source's claim (with its refusal, no entry) only if absent, and its
        answer with it; False, writing nothing, if the source was claimed already."""
        if (customer_id, claim.source) in self._claims:
            self.lost_conditions += 1
            return False
        self._claims[(customer_id, claim.source)] = claim
        self.published.extend(events)
        return True

    # -- erasure --------------------------------------------------------------------------------

    def pseudonymise(self, customer_id: str, *, now: datetime) -> None:
        """Drop each entry's free text and the login link, mark the account erased; keep every number."""
        state = self._accounts.get(customer_id)
        if state is None:
            return
        for key, entry in self._entries.items():
            if key[0] == customer_id and entry.reason != ERASED:
                self._entries[key] = entry.model_copy(update={"reason": ERASED})
        self._accounts[customer_id] = replace(state, subject=None, erased_at=state.erased_at or iso(now))

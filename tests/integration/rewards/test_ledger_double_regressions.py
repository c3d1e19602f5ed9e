"""The unit tier's in-memory ledger store answers as the DynamoDB one does (moto).

The ledger's state machine runs in the unit tier against ``tests.unit.rewards.memory_ledger``; what
it proves holds only as far as that double behaves like ``DynamoLedgerStore``. Here both run the same
operations with the same ids and must read back the same account, lots, entries (and their pages),
holds, claims and counters; and both must refuse the same stale or over-limit transactions, writing
nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from functools import partial
from typing import Any, TypeVar

import pytest

from services.rewards.dal.keys import PK, SK, job_key
from services.rewards.dal.ledger import DynamoLedgerStore
from services.rewards.logic import ledger
from services.rewards.logic.ledger import LedgerStore
from services.rewards.models.ledger import AccountState, Change, Counter
from shared.dynamo import ConditionFailed
from shared.errors import Conflict, DangolError
from tests.integration.rewards.test_ledger import LATER, NOW, SOON, make_store
from tests.unit.rewards.memory_ledger import InMemoryLedgerStore
from tests.unit.rewards.test_ledger_machine import CountingIds

T = TypeVar("T")
CUSTOMER = "cus_01JD5Z8Q6M3X7N2P4R9T0V1W2Y"
JOB = "job_01JD5Z8Q6M3X7N2P4R9T0V1W2Y"
DAY = NOW.date().isoformat()
SOURCES = ("purchase:p1", "purchase:p2", "grant:j1", "order:1", "adjust:1", "adjust:2", "refund:p1")
COUNTED = ("spend", "points", "used_points", "clawed_back_points", "purchases_while_open", "granted")
Snapshot = dict[str, Any]


class Recording:
    """A store that keeps every change committed through it."""

    def __init__(self, store: LedgerStore) -> None:
        self.store = store
        self.changes: list[Change] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)

    def commit(self, change: Change) -> None:
        self.store.commit(change)
        self.changes.append(change)


def counters(store: LedgerStore) -> dict[str, dict[str, int]]:
    keys = {
        "qual": ("qual", f"{NOW:%Y-%m}", {PK: f"ACCT#{CUSTOMER}", SK: f"QUAL#{NOW:%Y-%m}"}),
        "job": ("job", JOB, job_key(JOB)),
        "goodwill": ("goodwill", f"agent-a#{DAY}", {PK: "AGENT#agent-a", SK: f"GOODWILL#{DAY}"}),
    }
    found: dict[str, dict[str, int]] = {}
    for name, (kind, counter_id, key) in keys.items():
        totals: dict[str, Any] = {}
        if isinstance(store, InMemoryLedgerStore):
            totals = store.counter(kind, counter_id, CUSTOMER)
        elif isinstance(store, DynamoLedgerStore):
            totals = store.table.get(key) or {}
        found[name] = {attr: int(totals[attr]) for attr in COUNTED if totals.get(attr)}
    return found


def snapshot(store: LedgerStore) -> Snapshot:
    pages, after = [], None
    while True:
        page, after = store.entries(CUSTOMER, after=after, limit=3)
        pages.append([e.id for e in page])
        if after is None:
            break
    return {
        "account": store.account(CUSTOMER),
        "lots": [lot.model_dump() for lot in store.lots(CUSTOMER)],
        "open lots": [lot.id for lot in store.open_lots(CUSTOMER)],
        "entries": [entry.model_dump() for entry in store.all_entries(CUSTOMER)],
        "pages": pages,
        "holds": [hold.model_dump() for hold in store.holds(CUSTOMER)],
        "claims": {source: store.claim(CUSTOMER, source) for source in SOURCES},
        "counters": counters(store),
    }


def answer(call: Callable[[], T]) -> T | str:
    try:
        return call()
    except DangolError as exc:
        return f"{type(exc).__name__}:{exc.code}"


def scenario(store: LedgerStore) -> list[tuple[str, object, Snapshot]]:
    """Every kind of ledger write, replays and refusals included; each step's answer and what it left."""
    later = NOW + timedelta(days=11)
    allowance = ledger.Allowance("agent-a", DAY, 100)

    def credit(points: int, source: str, expires: Any, **more: Any) -> Callable[[], object]:
        return lambda: ledger.credit(
            store,
            customer_id=CUSTOMER,
            points=points,
            kind=more.pop("kind", "earn"),
            source=source,
            expires_at=expires,
            actor="system",
            reason="r",
            now=more.pop("now", NOW),
            **more,
        )

    def goodwill(points: int, source: str) -> Callable[[], object]:
        return lambda: ledger.adjust(
            store,
            customer_id=CUSTOMER,
            points=points,
            source=source,
            actor="agent-a",
            reason="sorry",
            now=NOW,
            expires_at=LATER,
            allowance=allowance,
        )

    def hold(order: str, points: int) -> Callable[[], object]:
        return lambda: ledger.place_hold(
            store,
            customer_id=CUSTOMER,
            order_id=order,
            points=points,
            expires_at=NOW + timedelta(minutes=15),
            actor="pos",
            now=NOW,
        )

    purchase = ledger.Purchase("p1", "KRW", 10_000, 10_000, f"{NOW:%Y-%m}")
    steps: list[tuple[str, Callable[[], object]]] = [
        ("open", lambda: ledger.open_account(store, CUSTOMER, now=NOW)),
        ("pre-grant", credit(30, "grant:j1", SOON, kind="pregrant", job_id=JOB)),
        ("earn", credit(100, "purchase:p1", LATER, purchase=purchase)),
        ("earn again", credit(100, "purchase:p1", LATER, purchase=purchase)),
        ("earn reused", credit(101, "purchase:p1", LATER)),
        (
            "redeem",
            lambda: ledger.redeem(
                store, customer_id=CUSTOMER, points=40, source="order:1", actor="pos", reason="r", now=NOW
            ),
        ),
        (
            "redeem too much",
            lambda: ledger.redeem(
                store, customer_id=CUSTOMER, points=999, source="order:2", actor="pos", reason="r", now=NOW
            ),
        ),
        ("goodwill", goodwill(50, "adjust:1")),
        ("goodwill back", goodwill(-20, "adjust:2")),
        ("goodwill over the day", goodwill(40, "adjust:3")),
        ("hold", hold("ord-1", 50)),
        ("hold again", hold("ord-1", 50)),
        ("hold other points", hold("ord-1", 51)),
        (
            "capture",
            lambda: ledger.capture(
                store, customer_id=CUSTOMER, order_id="ord-1", points=30, actor="pos", now=NOW
            ),
        ),
        (
            "release captured",
            lambda: ledger.release(store, customer_id=CUSTOMER, order_id="ord-1", actor="pos", now=NOW),
        ),
        ("hold 2", hold("ord-2", 10)),
        (
            "refund",
            lambda: ledger.reverse(
                store,
                customer_id=CUSTOMER,
                earned_source="purchase:p1",
                source="refund:p1",
                actor="system",
                reason="refund",
                now=NOW,
            ),
        ),
        ("earn into debt", credit(20, "purchase:p2", LATER)),
        (
            "hold 2 expires",
            lambda: ledger.expire_hold(store, customer_id=CUSTOMER, order_id="ord-2", now=later),
        ),
    ]
    taken: list[tuple[str, object, Snapshot]] = []
    for name, call in steps:
        taken.append((name, answer(call), snapshot(store)))
    for lot in store.open_lots(CUSTOMER):
        due = answer(partial(ledger.expire_lot, store, customer_id=CUSTOMER, lot_sk=lot.sort_key, now=later))
        taken.append((f"expire {lot.id}", due, snapshot(store)))
    store.pseudonymise(CUSTOMER, now=later)
    taken.append(("pseudonymise", None, snapshot(store)))
    return taken


@pytest.fixture
def dynamo(tables: dict[str, str], bus: str) -> DynamoLedgerStore:
    return make_store(bus)


def test_the_double_reads_back_what_dynamodb_reads_back_after_every_operation(
    dynamo: DynamoLedgerStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given both stores, and the same ids for both runs
    ids = CountingIds()
    monkeypatch.setattr(ledger, "ulid", ids)
    # When the same operations run against each
    on_dynamo = scenario(dynamo)
    ids.reset()
    in_memory = scenario(InMemoryLedgerStore())
    # Then every step answered the same and left the same reads
    assert [name for name, _, _ in in_memory] == [name for name, _, _ in on_dynamo]
    for (name, answered, seen), (_, expected, wanted) in zip(in_memory, on_dynamo, strict=True):
        assert answered == expected, name
        assert seen == wanted, name
    refusals = {name: answered for name, answered, _ in on_dynamo if isinstance(answered, str)}
    assert refusals == {
        "earn reused": "Conflict:source_reused",
        "redeem too much": "Conflict:insufficient_points",
        "goodwill over the day": "Conflict:goodwill_limit_reached",
        "hold other points": "Conflict:order_id_reused",
        "release captured": "Conflict:hold_not_active",
    }


def _read(store: LedgerStore) -> AccountState:
    account = store.account(CUSTOMER)
    assert account is not None
    return account


def _goodwill(agent: str, points: int) -> Counter:
    return Counter(
        "goodwill", f"{agent}#{DAY}", {"granted": points}, "granted", 300, "goodwill_limit_reached"
    )


def test_the_double_refuses_the_transactions_dynamodb_refuses_and_writes_nothing(
    dynamo: DynamoLedgerStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ledger, "ulid", CountingIds())
    for store in (dynamo, InMemoryLedgerStore()):
        # Given an account with a lot, a hold and 250 of an agent's 300 for the day, and the changes
        recording = Recording(store)
        ledger.credit(
            recording,
            customer_id=CUSTOMER,
            points=100,
            kind="earn",
            source="purchase:p1",
            expires_at=LATER,
            actor="system",
            reason="r",
            now=NOW,
        )
        ledger.place_hold(
            recording,
            customer_id=CUSTOMER,
            order_id="ord-1",
            points=30,
            expires_at=NOW + timedelta(minutes=15),
            actor="pos",
            now=NOW,
        )
        store.commit(Change(account=_read(store), at=NOW, counters=[_goodwill("agent-a", 250)]))
        account = _read(store)
        (lot,) = store.lots(CUSTOMER)
        held = store.hold(CUSTOMER, "ord-1")
        assert held is not None
        before = snapshot(store)
        stale = replace(account, version=account.version - 1)
        refused = {
            # a change made on an account read before the last write
            "replayed change": recording.changes[-1],
            # a new account over an existing one
            "second opening": Change(account=replace(account, version=0), at=NOW),
            # a lot changed since it was read
            "stale lot": Change(
                account=account,
                at=NOW,
                lots={lot.id: (lot.model_copy(update={"remaining": 0}), lot.remaining + 1)},
            ),
            # a new lot over an existing one
            "lot again": Change(account=account, at=NOW, lots={lot.id: (lot, None)}),
            # a hold whose status moved on
            "stale hold": Change(
                account=account, at=NOW, hold=(held.model_copy(update={"status": "released"}), "released")
            ),
            # a counter beyond its limit: refused alone; with a lost version too, read again (no verdict)
            "over the limit": Change(account=account, at=NOW, counters=[_goodwill("agent-a", 100)]),
            "over the limit and stale": Change(account=stale, at=NOW, counters=[_goodwill("agent-a", 100)]),
        }
        answers = {}
        for name, change in refused.items():
            # When it is committed
            try:
                store.commit(change)
            except ConditionFailed:
                answers[name] = "ConditionFailed"
            except Conflict as exc:
                answers[name] = exc.code
            # Then it is refused and nothing was written
            assert snapshot(store) == before, (type(store).__name__, name)
        assert answers == {
            "replayed change": "ConditionFailed",
            "second opening": "ConditionFailed",
            "stale lot": "ConditionFailed",
            "lot again": "ConditionFailed",
            "stale hold": "ConditionFailed",
            "over the limit": "goodwill_limit_reached",
            "over the limit and stale": "ConditionFailed",
        }, type(store).__name__
        # And a change on what was read goes through, once. A first ADD beyond a limit is not refused
        # by the write's condition (attribute_not_exists): the logic refuses such an amount before it.
        store.commit(Change(account=account, at=NOW, counters=[_goodwill("agent-b", 400)]))
        assert _read(store).version == account.version + 1
        with pytest.raises(ConditionFailed):
            store.commit(Change(account=account, at=NOW))

"""The ledger's state machine in the unit tier: random sequences of every ledger operation, run by
``services.rewards.logic.ledger`` against an in-memory store (``memory_ledger``), each step checked
against a small model of the rules, entry by entry and draw by draw.

The model holds the rules as docs/services/rewards.md ("The ledger"), ARCHITECTURE ("Points
ledger") and the ledger's docstrings state them:

1. A credit pays an old debt first; what is left becomes a new lot with its own expiry (no lot
   when all of it paid the debt). One PointsEarned says what was credited and what paid the debt.
2. A spend (a redemption, a negative adjustment, a hold) needs that many unexpired points; it draws
   the soonest-expiring unexpired lots first (ties by lot id), emptying each before the next.
3. A refund takes back exactly what its purchase credited (the debt it paid too): from the
   purchase's own lot first, even when that lot is not the soonest-expiring or is past its expiry,
   then the soonest-expiring lots (past expiry too); what is still missing becomes a debt. A
   purchase is reversed once, whatever the refund's id.
4. A hold draws like a spend and counts as held; a capture redeems all or part and gives the rest
   back to the lots the hold drew, latest-expiring first; a release gives all of it back; a hold
   past its expiry cannot be captured: it is released as expired.
5. A lot past its expiry leaves the balance once (a claw-back for a pre-grant); a hold past its
   expiry is released as expired; nothing is due before its time.
6. One effect per source: a replay returns the first entry and changes nothing; the same source
   with other points is refused (``source_reused``, ``order_id_reused``).
7. An agent's goodwill stays within their daily limit, refused in the same transaction.
8. An erased customer's account keeps its numbers and takes nothing new: holds, goodwill and spends
   are refused (``customer_erased``); what was booked before still replays, refunds still reverse.
9. Counters move with the ledger: a month's qualifying spend and points, a pre-grant job's used,
   clawed-back points and the purchases made while it is open.

After every step the store must agree with the model: balance, held, debt and lifetime points;
every lot's points, remaining and expiry; every hold; the counters; the account view's expiring
points; and ``verify`` finds no drift. An operation may also race another (run inside its commit,
or between its lots read and its account read): the result must be the two in that order.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import ClassVar, Literal, Protocol

import hypothesis.strategies as st
import pytest
from hypothesis import HealthCheck, settings
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from services.rewards.logic import ledger
from services.rewards.models.events import LotKind, PointsBalanceChanged, PointsEarned, PointsExpired
from services.rewards.models.ledger import Entry, Hold, lot_sort_key
from shared.dynamo import ConditionFailed, TransactionConflict
from shared.errors import DangolError
from shared.events import DomainEvent
from tests.unit.rewards.memory_ledger import CounterKey, InMemoryLedgerStore

CUSTOMER = "cus_01JD5Z8Q6M3X7N2P4R9T0V1W2Y"
START = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
GOODWILL_LIMIT = 300
CURRENCY = "KRW"
CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

# CI's size: 200 sequences of up to 50 operations.
MACHINE = settings(
    max_examples=200,
    stateful_step_count=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)

Draws = tuple[tuple[str, int], ...]  # (lot id, points), in the order taken or given back
Outcome = tuple[object, ...]
EventFacts = tuple[object, ...]


class CountingIds:
    """The ledger's ``ulid``, counting up from zero in every example: ids follow creation order and
    an example replays identically (hypothesis shrinks it). Spaced so that a transaction's
    successive entry ids (``_successor``) never meet the next id."""

    def __init__(self) -> None:
        self.issued = 0

    def reset(self) -> None:
        self.issued = 0

    def __call__(self, now_ms: int | None = None) -> str:
        self.issued += 1
        value = self.issued << 16
        return "".join(CROCKFORD[(value >> (5 * i)) & 31] for i in reversed(range(26)))


# -- the model ------------------------------------------------------------------------------------


@dataclass
class ModelLot:
    id: str
    kind: LotKind
    points: int
    remaining: int
    expires_at: datetime
    job: str | None


@dataclass
class ModelHold:
    order: str
    points: int
    draws: Draws
    expires_at: datetime
    status: str = "held"
    captured: int = 0
    released: int = 0


@dataclass(frozen=True)
class Credited:
    lot: str | None  # None: all of it paid a debt
    month: str | None  # purchases: the qualifying month
    spend: int
    debt_settled: int


@dataclass(frozen=True)
class Line:
    """An entry as the model expects it (its id and times aside)."""

    type: str
    points: int
    balance: int
    held_change: int = 0
    draws: Draws = ()
    restores: Draws = ()
    debt_settled: int = 0
    debt_added: int = 0
    kind: str | None = None
    makes_lot: bool = False


def line_of(entry: Entry) -> Line:
    return Line(
        type=entry.type,
        points=entry.points,
        balance=entry.balance,
        held_change=entry.held_change,
        draws=tuple((d.lot_id, d.points) for d in entry.draws),
        restores=tuple((r.lot_id, r.points) for r in entry.restores),
        debt_settled=entry.debt_settled,
        debt_added=entry.debt_added,
        kind=entry.kind,
        makes_lot=entry.lot_id is not None,
    )


def _moves(events: list[DomainEvent]) -> tuple[list[DomainEvent], list[PointsBalanceChanged]]:
    """The events apart from the balance's moves, and the moves."""
    moves = [e for e in events if isinstance(e, PointsBalanceChanged)]
    return [e for e in events if not isinstance(e, PointsBalanceChanged)], moves


def facts_of(event: DomainEvent) -> EventFacts:
    if isinstance(event, PointsEarned):
        return ("PointsEarned", event.kind, event.points, event.debt_settled, event.balance, event.source)
    if isinstance(event, PointsExpired):
        return ("PointsExpired", event.points, event.clawed_back, event.balance)
    return (event.detail_type(),)


@dataclass
class Expected:
    """What one operation must answer, book and publish; ``bind`` learns the ids it got."""

    outcome: Outcome
    lines: list[Line] = field(default_factory=list)
    events: list[EventFacts] = field(default_factory=list)
    bind: Callable[[list[Entry]], None] | None = None


def refused(code: str) -> Expected:
    return Expected(("refused", code))


class Rules:
    """The model: lots, holds, debt and counters, moved by the rules in the module docstring."""

    def __init__(self) -> None:
        self.lots: dict[str, ModelLot] = {}
        self.holds: dict[str, ModelHold] = {}
        self.debt = 0
        self.held = 0
        self.lifetime = 0
        self.claims: dict[str, tuple[int, str]] = {}  # source -> (points asked, entry id)
        self.credits: dict[str, Credited] = {}  # by source
        self.reversals: dict[str, str] = {}  # earned source -> the reversal's entry id
        self.qual: dict[str, dict[str, int]] = {}
        self.jobs: dict[str, dict[str, int]] = {}
        self.job_until: dict[str, datetime] = {}
        self.goodwill: dict[str, int] = {}
        self.erased = False
        self._placeholders = 0

    @property
    def balance(self) -> int:
        return sum(lot.remaining for lot in self.lots.values())

    def debt_payers(self) -> list[str]:
        """Purchases not refunded yet that paid a debt when they were credited."""
        return [
            source
            for source, credit in self.credits.items()
            if source.startswith("purchase:") and credit.debt_settled and source not in self.reversals
        ]

    def spendable(self, now: datetime) -> int:
        return sum(lot.remaining for lot in self.lots.values() if lot.expires_at > now)

    def _count(self, table: dict[str, dict[str, int]], key: str, attr: str, add: int) -> None:
        totals = table.setdefault(key, {})
        totals[attr] = totals.get(attr, 0) + add

    # rule 2 (and rule 3 with ``own`` and ``expired_too``)
    def plan(self, points: int, now: datetime, *, own: str | None = None, expired_too: bool = False) -> Draws:
        """The draws that take ``points``: the own lot first, then the soonest-expiring (ties by id),
        skipping lots past their expiry unless ``expired_too``; each lot emptied before the next."""
        eligible = [
            lot
            for lot in self.lots.values()
            if lot.remaining > 0 and (lot.id == own or expired_too or lot.expires_at > now)
        ]
        eligible.sort(key=lambda lot: (lot.id != own, lot.expires_at, lot.id))
        draws: list[tuple[str, int]] = []
        left = points
        for lot in eligible:
            if left == 0:
                break
            taken = min(lot.remaining, left)
            draws.append((lot.id, taken))
            left -= taken
        return tuple(draws)

    def take(self, draws: Draws) -> None:
        for lot_id, points in draws:
            lot = self.lots[lot_id]
            assert lot.remaining >= points
            lot.remaining -= points
            if lot.job is not None:
                self._count(self.jobs, lot.job, "used_points", points)

    def give(self, restores: Draws) -> None:
        for lot_id, points in restores:
            lot = self.lots[lot_id]
            lot.remaining += points
            if lot.job is not None:
                self._count(self.jobs, lot.job, "used_points", -points)

    def give_back_plan(self, hold: ModelHold, points: int) -> Draws:
        """Rule 4: back to the hold's own draws, latest-expiring first."""
        restores: list[tuple[str, int]] = []
        left = points
        for lot_id, drawn in sorted(
            hold.draws, key=lambda d: (self.lots[d[0]].expires_at, d[0]), reverse=True
        ):
            if left == 0:
                break
            restores.append((lot_id, min(drawn, left)))
            left -= restores[-1][1]
        return tuple(restores)

    def replay(self, source: str, points: int) -> Expected | None:
        """Rule 6: the first effect again, or a refusal when the points differ."""
        if source not in self.claims:
            return None
        asked, entry_id = self.claims[source]
        return Expected(("applied", "replay", entry_id)) if asked == points else refused("source_reused")

    def claimed(self, *sources: str) -> Callable[[list[Entry]], None]:
        def bind(entries: list[Entry]) -> None:
            for source in sources:
                self.claims[source] = (self.claims[source][0], entries[0].id)

        return bind

    # rule 1
    def credit(
        self,
        now: datetime,
        *,
        source: str,
        points: int,
        kind: LotKind,
        expires_at: datetime,
        job: str | None = None,
        purchase: ledger.Purchase | None = None,
    ) -> Expected:
        replayed = self.replay(source, points)
        if replayed is not None:
            return replayed
        settled = min(self.debt, points)
        rest = points - settled
        self.debt -= settled
        self.lifetime += points
        placeholder = None
        if rest:
            self._placeholders += 1
            placeholder = f"?{self._placeholders}"
            self.lots[placeholder] = ModelLot(placeholder, kind, rest, rest, expires_at, job)
        if purchase is not None:
            self._count(self.qual, purchase.month, "spend", purchase.qualifying_spend)
            self._count(self.qual, purchase.month, "points", points)
            for open_job, until in self.job_until.items():
                if until > now:
                    self._count(self.jobs, open_job, "purchases_while_open", 1)
                    self._count(self.jobs, open_job, f"spend_while_open#{purchase.currency}", purchase.total)
        if kind == "pregrant" and job is not None:
            self.job_until[job] = expires_at
        self.claims[source] = (points, "")
        entry_type = {"pregrant": "pre-grant", "adjust": "adjust"}.get(kind, "earn")

        def bind(entries: list[Entry]) -> None:
            (entry,) = entries
            self.claims[source] = (points, entry.id)
            lot_id = entry.lot_id
            self.credits[source] = Credited(
                lot_id,
                purchase.month if purchase else None,
                purchase.qualifying_spend if purchase else 0,
                settled,
            )
            if placeholder is not None:
                assert lot_id is not None
                lot = self.lots.pop(placeholder)
                lot.id = lot_id
                self.lots[lot_id] = lot

        return Expected(
            ("applied", "new"),
            [Line(entry_type, rest, self.balance, debt_settled=settled, kind=kind, makes_lot=rest > 0)],
            [("PointsEarned", kind, points, settled, self.balance, source)],
            bind,
        )

    # rules 2 and 7
    def spend(
        self,
        now: datetime,
        *,
        source: str,
        points: int,
        type_: Literal["redeem", "adjust"],
        agent_day: str | None,
    ) -> Expected:
        signed = points if type_ == "redeem" else -points
        replayed = self.replay(source, signed)
        if replayed is not None:
            return replayed
        if self.erased:
            return refused("customer_erased")
        if self.spendable(now) < points:
            return refused("insufficient_points")
        if agent_day is not None and self.goodwill.get(agent_day, 0) + points > GOODWILL_LIMIT:
            return refused("goodwill_limit_reached")
        if agent_day is not None:
            self.goodwill[agent_day] = self.goodwill.get(agent_day, 0) + points
        draws = self.plan(points, now)
        self.take(draws)
        self.claims[source] = (signed, "")
        return Expected(
            ("applied", "new"), [Line(type_, -points, self.balance, draws=draws)], [], self.claimed(source)
        )

    def goodwill_credit(
        self, now: datetime, *, source: str, points: int, agent_day: str, expires_at: datetime
    ) -> Expected:
        replayed = self.replay(source, points)
        if replayed is not None:
            return replayed
        if self.goodwill.get(agent_day, 0) + points > GOODWILL_LIMIT:
            return refused("goodwill_limit_reached")
        self.goodwill[agent_day] = self.goodwill.get(agent_day, 0) + points
        return self.credit(now, source=source, points=points, kind="adjust", expires_at=expires_at)

    # rule 3
    def reverse(self, now: datetime, *, earned_source: str, source: str) -> Expected:
        if earned_source not in self.claims:
            return Expected(("none",))
        credited = self.claims[earned_source][0]
        replayed = self.replay(source, credited)
        if replayed is not None:
            return replayed
        if earned_source in self.reversals:
            return Expected(("applied", "replay", self.reversals[earned_source]))
        earned = self.credits[earned_source]
        draws = self.plan(credited, now, own=earned.lot, expired_too=True)
        taken = sum(points for _, points in draws)
        self.take(draws)
        self.debt += credited - taken
        self.lifetime -= credited
        if earned.month is not None:
            self._count(self.qual, earned.month, "spend", -earned.spend)
            self._count(self.qual, earned.month, "points", -credited)
        once = f"reversal-of:{earned_source}"
        self.claims[source] = self.claims[once] = (credited, "")

        def bind(entries: list[Entry]) -> None:
            self.claimed(source, once)(entries)
            self.reversals[earned_source] = entries[0].id

        line = Line("reverse", -taken, self.balance, draws=draws, debt_added=credited - taken)
        return Expected(("applied", "new"), [line], [], bind)

    # rule 4
    def place_hold(self, now: datetime, *, order: str, points: int, expires_at: datetime) -> Expected:
        if self.erased:
            return refused("customer_erased")
        existing = self.holds.get(order)
        if existing is not None:
            if existing.points != points:
                return refused("order_id_reused")
            return Expected(("held", False, existing.status, existing.points))
        if self.spendable(now) < points:
            return refused("insufficient_points")
        draws = self.plan(points, now)
        self.take(draws)
        self.held += points
        self.holds[order] = ModelHold(order, points, draws, expires_at)
        line = Line("hold", -points, self.balance, held_change=points, draws=draws)
        return Expected(("held", True, "held", points), [line])

    def capture(self, now: datetime, *, order: str, points: int | None) -> Expected:
        hold = self.holds.get(order)
        if hold is None:
            return refused("hold_not_found")
        if hold.status == "captured":
            return Expected(("hold", hold.status, hold.captured, hold.released))
        if hold.status != "held":
            return refused("hold_not_active")
        if hold.expires_at <= now:
            released = self.release(now, order=order, expired=True)
            return replace(released, outcome=("refused", "hold_expired"))
        taken = hold.points if points is None else points
        self.held -= hold.points
        lines = [Line("capture", 0, self.balance, held_change=-taken)]
        rest = hold.points - taken
        if rest:
            restores = self.give_back_plan(hold, rest)
            self.give(restores)
            lines.append(Line("release", rest, self.balance, held_change=-rest, restores=restores))
        hold.status, hold.captured, hold.released = "captured", taken, rest
        return Expected(("hold", "captured", taken, rest), lines)

    def release(self, now: datetime, *, order: str, expired: bool = False) -> Expected:
        hold = self.holds.get(order)
        if hold is None:
            return refused("hold_not_found")
        if hold.status in ("released", "expired"):
            return Expected(("hold", hold.status, hold.captured, hold.released))
        if hold.status == "captured":
            return refused("hold_not_active")
        self.held -= hold.points
        restores = self.give_back_plan(hold, hold.points)
        self.give(restores)
        hold.status, hold.released = ("expired" if expired else "released"), hold.points
        line = Line("release", hold.points, self.balance, held_change=-hold.points, restores=restores)
        return Expected(("hold", hold.status, 0, hold.points), [line])

    # rule 5
    def expire_hold(self, now: datetime, *, order: str) -> Expected:
        hold = self.holds.get(order)
        if hold is None or hold.status != "held" or hold.expires_at > now:
            return Expected(("none",))
        return self.release(now, order=order, expired=True)

    def expire_lot(self, now: datetime, *, lot_id: str) -> Expected:
        lot = self.lots[lot_id]
        if lot.remaining <= 0 or lot.expires_at > now:
            return Expected(("none",))
        gone = lot.remaining
        lot.remaining = 0
        clawed = lot.kind == "pregrant"
        if clawed and lot.job is not None:
            self._count(self.jobs, lot.job, "clawed_back_points", gone)
            self.job_until.pop(lot.job, None)
        line = Line("claw-back" if clawed else "expire", -gone, self.balance, draws=((lot.id, gone),))
        return Expected(("applied", "new"), [line], [("PointsExpired", gone, clawed, self.balance)])


# -- the operations: each calls the ledger and asks the model what it must do ---------------------


class Op(Protocol):
    def call(self, store: InMemoryLedgerStore, now: datetime) -> object: ...
    def expect(self, rules: Rules, now: datetime) -> Expected: ...


@dataclass(frozen=True)
class Credit:
    source: str
    points: int
    kind: LotKind
    expires_at: datetime
    job: str | None = None
    purchase: ledger.Purchase | None = None

    def call(self, store: InMemoryLedgerStore, now: datetime) -> object:
        return ledger.credit(
            store,
            customer_id=CUSTOMER,
            points=self.points,
            kind=self.kind,
            source=self.source,
            expires_at=self.expires_at,
            actor="system",
            reason=self.kind,
            now=now,
            purchase=self.purchase,
            job_id=self.job,
        )

    def expect(self, rules: Rules, now: datetime) -> Expected:
        return rules.credit(
            now,
            source=self.source,
            points=self.points,
            kind=self.kind,
            expires_at=self.expires_at,
            job=self.job,
            purchase=self.purchase,
        )


@dataclass(frozen=True)
class Redeem:
    source: str
    points: int

    def call(self, store: InMemoryLedgerStore, now: datetime) -> object:
        return ledger.redeem(
            store,
            customer_id=CUSTOMER,
            points=self.points,
            source=self.source,
            actor="pos",
            reason="redeem",
            now=now,
        )

    def expect(self, rules: Rules, now: datetime) -> Expected:
        return rules.spend(now, source=self.source, points=self.points, type_="redeem", agent_day=None)


@dataclass(frozen=True)
class Goodwill:
    source: str
    points: int  # signed: a credit or a correction
    agent: str
    expires_at: datetime

    def call(self, store: InMemoryLedgerStore, now: datetime) -> object:
        return ledger.adjust(
            store,
            customer_id=CUSTOMER,
            points=self.points,
            source=self.source,
            actor=self.agent,
            reason="goodwill",
            now=now,
            expires_at=self.expires_at,
            allowance=ledger.Allowance(self.agent, now.date().isoformat(), GOODWILL_LIMIT),
        )

    def expect(self, rules: Rules, now: datetime) -> Expected:
        if abs(self.points) > GOODWILL_LIMIT:
            return refused("goodwill_limit_reached")
        day = f"{self.agent}#{now.date().isoformat()}"
        if self.points > 0 and rules.erased:
            return refused("customer_erased")
        if self.points < 0:
            return rules.spend(now, source=self.source, points=-self.points, type_="adjust", agent_day=day)
        return rules.goodwill_credit(
            now, source=self.source, points=self.points, agent_day=day, expires_at=self.expires_at
        )


@dataclass(frozen=True)
class Refund:
    earned_source: str
    source: str

    def call(self, store: InMemoryLedgerStore, now: datetime) -> object:
        return ledger.reverse(
            store,
            customer_id=CUSTOMER,
            earned_source=self.earned_source,
            source=self.source,
            actor="system",
            reason="refund",
            now=now,
        )

    def expect(self, rules: Rules, now: datetime) -> Expected:
        return rules.reverse(now, earned_source=self.earned_source, source=self.source)


@dataclass(frozen=True)
class PlaceHold:
    order: str
    points: int
    expires_at: datetime

    def call(self, store: InMemoryLedgerStore, now: datetime) -> object:
        return ledger.place_hold(
            store,
            customer_id=CUSTOMER,
            order_id=self.order,
            points=self.points,
            expires_at=self.expires_at,
            actor="pos",
            now=now,
        )

    def expect(self, rules: Rules, now: datetime) -> Expected:
        return rules.place_hold(now, order=self.order, points=self.points, expires_at=self.expires_at)


@dataclass(frozen=True)
class Capture:
    order: str
    points: int | None

    def call(self, store: InMemoryLedgerStore, now: datetime) -> object:
        return ledger.capture(
            store, customer_id=CUSTOMER, order_id=self.order, points=self.points, actor="pos", now=now
        )

    def expect(self, rules: Rules, now: datetime) -> Expected:
        return rules.capture(now, order=self.order, points=self.points)


@dataclass(frozen=True)
class Release:
    order: str

    def call(self, store: InMemoryLedgerStore, now: datetime) -> object:
        return ledger.release(store, customer_id=CUSTOMER, order_id=self.order, actor="pos", now=now)

    def expect(self, rules: Rules, now: datetime) -> Expected:
        return rules.release(now, order=self.order)


@dataclass(frozen=True)
class ExpireHold:
    order: str

    def call(self, store: InMemoryLedgerStore, now: datetime) -> object:
        return ledger.expire_hold(store, customer_id=CUSTOMER, order_id=self.order, now=now)

    def expect(self, rules: Rules, now: datetime) -> Expected:
        return rules.expire_hold(now, order=self.order)


@dataclass(frozen=True)
class ExpireLot:
    lot_id: str
    expires_at: datetime

    def call(self, store: InMemoryLedgerStore, now: datetime) -> object:
        sort_key = lot_sort_key(self.expires_at, self.lot_id)
        return ledger.expire_lot(store, customer_id=CUSTOMER, lot_sk=sort_key, now=now)

    def expect(self, rules: Rules, now: datetime) -> Expected:
        return rules.expire_lot(now, lot_id=self.lot_id)


Booking = Credit | Redeem | Goodwill | Refund | PlaceHold


def outcome_of(call: Callable[[], object], journal: list[Entry]) -> Outcome:
    """The operation's answer, comparable with the model's (a refusal is its code)."""
    try:
        result = call()
    except (ConditionFailed, TransactionConflict):
        raise  # a lost condition must never leave ``run``
    except DangolError as exc:
        return ("refused", exc.code)
    if result is None:
        return ("none",)
    if isinstance(result, ledger.Applied):
        if result.created:
            assert result.entry in journal  # what it answers is what it booked
            return ("applied", "new")
        return ("applied", "replay", result.entry.id)
    if isinstance(result, Hold):
        return ("hold", result.status, result.captured_points, result.released_points)
    assert isinstance(result, tuple)
    hold, created = result
    assert isinstance(hold, Hold)
    return ("held", created, hold.status, hold.points)


def nonzero(counters: dict[CounterKey, dict[str, int]]) -> dict[CounterKey, dict[str, int]]:
    """Counters without their zero totals (an ADD of 0 and no ADD read the same)."""
    kept = {key: {attr: n for attr, n in totals.items() if n} for key, totals in counters.items()}
    return {key: totals for key, totals in kept.items() if totals}


# -- the machine ----------------------------------------------------------------------------------

EXPIRY_HOURS = st.one_of(st.integers(1, 60).map(lambda days: days * 24), st.integers(-48, 1440), st.just(0))
POINTS = st.integers(1, 300)


class LedgerMachine(RuleBasedStateMachine):
    ids: ClassVar[CountingIds] = CountingIds()

    def __init__(self) -> None:
        super().__init__()
        self.ids.reset()
        self.store = InMemoryLedgerStore()
        self.model = Rules()
        self.now = START
        self.count = 0
        self.purchases: list[str] = []
        self.orders: list[str] = []
        self.done: list[Booking] = []  # operations that booked something: replayed later
        assert ledger.open_account(self.store, CUSTOMER, now=self.now)

    def _next(self, what: str) -> str:
        self.count += 1
        return f"{what}-{self.count}"

    # -- running one operation (or two racing) and checking it against the model ---------------

    def _check(
        self, expected: Expected, outcome: Outcome, entries: list[Entry], events: list[DomainEvent]
    ) -> None:
        assert outcome == expected.outcome
        assert [line_of(e) for e in entries] == expected.lines
        assert [facts_of(e) for e in events] == expected.events
        if expected.bind is not None:
            expected.bind(entries)

    def perform(self, op: Op) -> Outcome:
        entries, events = len(self.store.journal), len(self.store.published)
        outcome = outcome_of(lambda: op.call(self.store, self.now), self.store.journal)
        before = self.model.balance
        expected = op.expect(self.model, self.now)
        published, moves = _moves(self.store.published[events:])
        self._check(expected, outcome, self.store.journal[entries:], published)
        # And a balance that moved is told once, with where it went (the campaigns' "points")
        after = self.model.balance
        assert [(m.balance, m.change) for m in moves] == (
            [(after, after - before)] if after != before else []
        )
        if expected.lines and isinstance(op, Credit | Redeem | Goodwill | Refund | PlaceHold):
            self.done.append(op)
        return outcome

    def perform_raced(self, op: Op, other: Op, where: Literal["commit", "read"]) -> None:
        """``other`` commits while ``op`` runs: inside ``op``'s first commit, or between its lots read
        and its account read. ``op`` must end as if it ran after ``other``."""
        raced: list[Outcome] = []

        def interfere() -> None:
            raced.append(outcome_of(lambda: other.call(self.store, self.now), self.store.journal))

        if where == "commit":
            self.store.interpose_at_commit = interfere
        else:
            self.store.interpose_after_open_lots = interfere
        entries, events = len(self.store.journal), len(self.store.published)
        outcome = outcome_of(lambda: op.call(self.store, self.now), self.store.journal)
        self.store.interpose_at_commit = self.store.interpose_after_open_lots = None
        new_entries, (new_events, moves) = self.store.journal[entries:], _moves(self.store.published[events:])
        assert all(m.change for m in moves)
        if raced:
            first = other.expect(self.model, self.now)
            n, m = len(first.lines), len(first.events)
            self._check(first, raced[0], new_entries[:n], new_events[:m])
            new_entries, new_events = new_entries[n:], new_events[m:]
        self._check(op.expect(self.model, self.now), outcome, new_entries, new_events)

    # -- building operations ---------------------------------------------------------------------

    def _earn(self, points: int, hours: int) -> Credit:
        source = f"purchase:{self._next('pur')}"
        spend = points * 100
        month = self.now.strftime("%Y-%m")
        return Credit(
            source,
            points,
            "earn",
            self.now + timedelta(hours=hours),
            purchase=ledger.Purchase(source, CURRENCY, spend, spend, month),
        )

    def _hold(self, points: int, minutes: int) -> PlaceHold:
        return PlaceHold(self._next("ord"), points, self.now + timedelta(minutes=minutes))

    def _refund(self, data: st.DataObject) -> Refund:
        recent = data.draw(st.booleans(), label="a recent purchase")  # more likely to have paid a debt
        choices = self.purchases[-2:] if recent else [*self.purchases, "purchase:never-credited"]
        earned = data.draw(st.sampled_from(choices), label="purchase")
        again = data.draw(st.booleans(), label="another refund id")
        return Refund(earned, f"refund:{earned}" + (":again" if again else ""))

    # -- credits ---------------------------------------------------------------------------------

    @rule(points=POINTS, hours=EXPIRY_HOURS)
    def earn(self, points: int, hours: int) -> None:
        op = self._earn(points, hours)
        self.purchases.append(op.source)
        self.perform(op)

    @rule(points=POINTS, hours=EXPIRY_HOURS, kind=st.sampled_from(["signup", "award"]))
    def award(self, points: int, hours: int, kind: LotKind) -> None:
        self.perform(Credit(self._next(kind), points, kind, self.now + timedelta(hours=hours)))

    @rule(points=st.integers(1, 100), hours=st.integers(1, 120))
    def pregrant(self, points: int, hours: int) -> None:
        job = self._next("job")
        self.perform(Credit(f"grant:{job}", points, "pregrant", self.now + timedelta(hours=hours), job=job))

    @rule(
        points=st.one_of(st.integers(-250, -1), st.integers(1, 250), st.integers(301, 400)),
        agent=st.sampled_from(["agent-a", "agent-b"]),
        hours=st.integers(24, 2400),
    )
    def goodwill(self, points: int, agent: str, hours: int) -> None:
        self.perform(Goodwill(self._next("adjust"), points, agent, self.now + timedelta(hours=hours)))

    # -- spends and holds ------------------------------------------------------------------------

    @rule(points=st.integers(1, 400))
    def redeem(self, points: int) -> None:
        self.perform(Redeem(self._next("order"), points))

    @precondition(lambda self: self.model.spendable(self.now) > 0)
    @rule(percent=st.integers(50, 100))
    def redeem_most(self, percent: int) -> None:
        """Spend most of what is left, so that refunds run into debt and the next credits settle it."""
        points = max(1, self.model.spendable(self.now) * percent // 100)
        self.perform(Redeem(self._next("order"), points))

    @rule(data=st.data(), minutes=st.one_of(st.just(15), st.integers(1, 1440)))
    def hold(self, data: st.DataObject, minutes: int) -> None:
        affordable = st.integers(1, max(1, self.model.spendable(self.now)))
        op = self._hold(data.draw(affordable | POINTS, label="points"), minutes)
        self.orders.append(op.order)
        self.perform(op)

    def _order(self, data: st.DataObject) -> str:
        """Mostly an order still held; else any order, closed or refused ones too."""
        held = [order for order, hold in self.model.holds.items() if hold.status == "held"]
        from_held = bool(held) and data.draw(st.booleans(), label="a held order")
        return data.draw(st.sampled_from(held if from_held else self.orders), label="order")

    @precondition(lambda self: self.orders)
    @rule(data=st.data(), part=st.one_of(st.none(), st.integers(1, 100)))
    def capture(self, data: st.DataObject, part: int | None) -> None:
        order = self._order(data)
        held = self.model.holds.get(order)
        points = None if part is None or held is None else max(1, held.points * part // 100)
        self.perform(Capture(order, points))

    @precondition(lambda self: self.orders)
    @rule(data=st.data())
    def release(self, data: st.DataObject) -> None:
        self.perform(Release(self._order(data)))

    # -- refunds ---------------------------------------------------------------------------------

    @precondition(lambda self: self.purchases)
    @rule(data=st.data())
    def refund(self, data: st.DataObject) -> None:
        self.perform(self._refund(data))

    def _unrefunded(self) -> list[str]:
        return [p for p in self.purchases if p in self.model.credits and p not in self.model.reversals]

    @precondition(lambda self: self._unrefunded())
    @rule(data=st.data())
    def spend_all_then_refund(self, data: st.DataObject) -> None:
        """The points of a purchase are spent, then it is refunded: what is missing becomes a debt."""
        earned = data.draw(st.sampled_from(self._unrefunded()), label="purchase")
        if self.model.spendable(self.now):
            self.perform(Redeem(self._next("order"), self.model.spendable(self.now)))
        self.perform(Refund(earned, f"refund:{earned}"))

    @precondition(lambda self: self.model.debt > 0)
    @rule(points=POINTS, hours=EXPIRY_HOURS)
    def earn_in_debt(self, points: int, hours: int) -> None:
        """A purchase while in debt: it pays the debt first."""
        self.earn(points, hours)

    @precondition(lambda self: self.model.debt_payers())
    @rule(data=st.data())
    def refund_a_debt_payer(self, data: st.DataObject) -> None:
        """A refund of a purchase that paid a debt: it takes back what it credited, debt included."""
        earned = data.draw(st.sampled_from(self.model.debt_payers()), label="purchase")
        self.perform(Refund(earned, f"refund:{earned}"))

    # -- time and expiry -------------------------------------------------------------------------

    @rule(hours=st.one_of(st.integers(1, 48), st.integers(49, 720)))
    def time_passes(self, hours: int) -> None:
        self.now += timedelta(hours=hours)

    def _expiries_ahead(self) -> list[datetime]:
        ahead = {lot.expires_at for lot in self.model.lots.values()}
        ahead |= {hold.expires_at for hold in self.model.holds.values()}
        return sorted(at for at in ahead if at > self.now)

    @precondition(lambda self: self._expiries_ahead())
    @rule(data=st.data())
    def time_reaches_an_expiry(self, data: st.DataObject) -> None:
        """Time stops at the very second a lot or a hold expires: from then on it is expired."""
        self.now = data.draw(st.sampled_from(self._expiries_ahead()), label="expiry")

    @precondition(lambda self: self.model.lots or self.model.holds)
    @rule(data=st.data())
    def expiry_run(self, data: st.DataObject) -> None:
        """The expiry job over some lots and holds, due or not, in any order."""
        targets: list[Op] = [ExpireLot(lot.id, lot.expires_at) for lot in self.model.lots.values()]
        targets += [ExpireHold(order) for order in self.model.holds]
        for op in data.draw(st.lists(st.sampled_from(targets), unique=True, max_size=6), label="due"):
            self.perform(op)
            self.perform(op)  # a second run finds nothing to do

    # -- erasure --------------------------------------------------------------------------------

    @precondition(lambda self: not self.model.erased and len(self.store.journal) >= 20)
    @rule()
    def erase(self) -> None:
        """The person is erased (late in a sequence, so that most of it runs on a live account)."""
        ledger.pseudonymise(self.store, CUSTOMER, now=self.now)
        self.model.erased = True

    # -- replays, reused sources and races -------------------------------------------------------

    @precondition(lambda self: self.done)
    @rule(data=st.data())
    def replay(self, data: st.DataObject) -> None:
        op = data.draw(st.sampled_from(self.done), label="replayed")
        assert self.perform(op)[0] in ("applied", "held", "refused")  # refused: erased since

    @precondition(lambda self: self.done)
    @rule(data=st.data(), more=st.integers(1, 50))
    def reuse_source(self, data: st.DataObject, more: int) -> None:
        op = data.draw(st.sampled_from(self.done), label="reused")
        if isinstance(op, Refund):
            return  # a refund's points are its purchase's, not the caller's
        self.perform(replace(op, points=op.points + more if op.points > 0 else op.points - more))

    @rule(
        data=st.data(),
        kind=st.sampled_from(["earn", "redeem", "hold", "refund", "goodwill"]),
        rival=st.sampled_from(["same", "earn", "redeem"]),
        where=st.sampled_from(["commit", "read"]),
        points=POINTS,
    )
    def race(
        self, data: st.DataObject, kind: str, rival: str, where: Literal["commit", "read"], points: int
    ) -> None:
        if kind == "refund" and not self.purchases:
            return
        op: Op
        if kind == "earn":
            op = self._earn(points, 24 * 30)
            self.purchases.append(op.source)
        elif kind == "redeem":
            op = Redeem(self._next("order"), points)
        elif kind == "hold":
            op = self._hold(points, 15)
            self.orders.append(op.order)
        elif kind == "refund":
            op = self._refund(data)
        else:
            op = Goodwill(self._next("adjust"), points, "agent-a", self.now + timedelta(days=30))
        other: Op
        if rival == "same":  # a racing duplicate, goodwill's too (once refused instead of replayed)
            other = op
        elif rival in ("earn", "same"):
            other = self._earn(data.draw(POINTS, label="rival points"), 24 * 10)
            self.purchases.append(other.source)
        else:
            other = Redeem(self._next("order"), data.draw(POINTS, label="rival points"))
        self.perform_raced(op, other, where)

    # -- after every step ------------------------------------------------------------------------

    @invariant()
    def the_store_agrees_with_the_rules(self) -> None:
        rules, store = self.model, self.store
        account = store.account(CUSTOMER)
        assert account is not None
        assert (account.balance, account.held, account.debt, account.lifetime_earned) == (
            rules.balance,
            rules.held,
            rules.debt,
            rules.lifetime,
        )
        assert min(account.balance, account.held, account.debt) >= 0
        assert {
            lot.id: (lot.kind, lot.points, lot.remaining, lot.expires_at, lot.job_id)
            for lot in store.lots(CUSTOMER)
        } == {
            lot.id: (lot.kind, lot.points, lot.remaining, lot.expires_at, lot.job)
            for lot in rules.lots.values()
        }
        assert {
            h.order_id: (
                h.points,
                h.status,
                tuple((d.lot_id, d.points) for d in h.draws),
                h.captured_points,
                h.released_points,
            )
            for h in store.holds(CUSTOMER)
        } == {h.order: (h.points, h.status, h.draws, h.captured, h.released) for h in rules.holds.values()}

    @invariant()
    def the_counters_agree_with_the_rules(self) -> None:
        expected = {("qual", CUSTOMER, month): totals for month, totals in self.model.qual.items()}
        expected |= {("job", "", job): totals for job, totals in self.model.jobs.items()}
        expected |= {("goodwill", "", day): {"granted": n} for day, n in self.model.goodwill.items()}
        assert nonzero(self.store.counters) == nonzero(expected)

    @invariant()
    def the_view_and_the_audit_agree(self) -> None:
        view = ledger.account(self.store, CUSTOMER, now=self.now)
        open_lots = [lot for lot in self.model.lots.values() if lot.remaining > 0]
        soon = self.now + ledger.EXPIRING_WINDOW
        assert view.expiring_within_30_days == sum(
            lot.remaining for lot in open_lots if lot.expires_at <= soon
        )
        assert view.next_expiry == min((lot.expires_at for lot in open_lots), default=None)
        drift = ledger.verify(self.store, CUSTOMER)
        assert drift.ok, drift


def test_random_operation_sequences_follow_the_rules_lot_by_lot(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given the ledger's logic over an in-memory store, with ids that follow creation order
    monkeypatch.setattr(ledger, "ulid", LedgerMachine.ids)
    machine = LedgerMachine.TestCase
    machine.settings = MACHINE
    # When 200 random sequences of up to 50 operations run
    machine().runTest()
    # Then every step matched the model (the machine's checks and invariants)


def test_a_goodwill_adjustment_racing_its_own_duplicate_answers_the_replay(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given an agent's goodwill of 200 (limit 300) whose duplicate commits while it is being written
    monkeypatch.setattr(ledger, "ulid", CountingIds())
    store = InMemoryLedgerStore()
    ledger.open_account(store, CUSTOMER, now=START)
    goodwill = Goodwill("adjust-1", 200, "agent-a", START + timedelta(days=30))
    duplicate: list[object] = []
    store.interpose_at_commit = lambda: duplicate.append(goodwill.call(store, START))
    # When the first write finds the duplicate already committed
    answer = goodwill.call(store, START)
    # Then it answers the duplicate's entry, as a replay, and the agent has used 200 of the day
    assert isinstance(answer, ledger.Applied)
    assert isinstance(duplicate[0], ledger.Applied)
    assert (answer.created, answer.entry) == (False, duplicate[0].entry)
    assert store.counter("goodwill", f"agent-a#{START.date().isoformat()}") == {"granted": 200}

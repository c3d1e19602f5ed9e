"""The points ledger's operations: pure decisions over a store port.

Each operation reads the account, decides what to write (a ``Change``: entries, lots, the hold,
counters, events) and hands it to ``store.commit``, which writes it as ONE transaction
conditioned on the account's ``version``; ``store.run`` re-runs the whole read-decide-commit when
a concurrent operation got there first. Every operation is idempotent per (customer, source): a
``SRC#<source>`` claim is written with the change, and a replay returns the first entry. A source
that must be answered once whatever happens (a case's goodwill, ``logic/goodwill.py``) may instead
be claimed with its refusal (``store.refuse``, its answer in the same write): it is never applied
after (409 ``source_refused``), and a refused one is never claimed again.

Spends draw the soonest-expiring unexpired open lots first; the balance is always the sum of the
open lots' remaining points and never negative.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Protocol, TypeVar

from services.rewards.models.events import LotKind, PointsBalanceChanged, PointsEarned, PointsExpired
from services.rewards.models.ledger import (
    AccountState,
    AccountView,
    Change,
    Claim,
    Counter,
    Draw,
    Entry,
    EntryType,
    Hold,
    Lot,
    StaleRead,
)
from shared.clock import iso
from shared.errors import BadRequest, Conflict, NotFound, Unprocessable
from shared.events import DomainEvent
from shared.ids import ulid

T = TypeVar("T")
MAX_ACTIONS = 100  # DynamoDB's limit on one transaction
EXPIRING_WINDOW = timedelta(days=30)
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


class LedgerStore(Protocol):
    """What the operations need from storage (``dal.ledger.DynamoLedgerStore``)."""

    def account(self, customer_id: str) -> AccountState | None: ...
    def open_lots(self, customer_id: str) -> list[Lot]: ...
    def lots(self, customer_id: str) -> list[Lot]: ...
    def lot(self, customer_id: str, sort_key: str) -> Lot | None: ...
    def claim(self, customer_id: str, source: str) -> Claim | None: ...
    def entry(self, customer_id: str, entry_id: str) -> Entry | None: ...
    def entries(
        self, customer_id: str, *, after: str | None, limit: int
    ) -> tuple[list[Entry], str | None]: ...
    def all_entries(self, customer_id: str) -> list[Entry]: ...
    def hold(self, customer_id: str, order_id: str) -> Hold | None: ...
    def holds(self, customer_id: str) -> list[Hold]: ...
    def commit(self, change: Change) -> None: ...
    def refuse(
        self, customer_id: str, claim: Claim, events: Sequence[DomainEvent], *, at: datetime
    ) -> bool: ...
    def run(self, attempt: Callable[[], T]) -> T: ...
    def pseudonymise(self, customer_id: str, *, now: datetime) -> None: ...


@dataclass(frozen=True)
class Purchase:
    """What a purchase credit knows for tiers and the pre-grant report."""

    purchase_id: str
    currency: str
    total: int  # minor units
    qualifying_spend: int  # minor units counted for tiers
    month: str  # "YYYY-MM" of the purchase (UTC)


@dataclass(frozen=True)
class Applied:
    entry: Entry
    created: bool  # False: a replay, nothing changed


@dataclass(frozen=True)
class Allowance:
    """An agent's goodwill allowance for one UTC day."""

    agent_id: str
    day: str  # "YYYY-MM-DD"
    limit: int


@dataclass(frozen=True)
class Drift:
    """An account recomputed from its entries and lots; ``ok`` when everything agrees."""

    customer_id: str
    balance_stored: int
    balance_from_entries: int
    balance_from_lots: int
    debt_stored: int
    debt_from_entries: int
    held_stored: int
    held_from_entries: int
    held_from_holds: int
    lots_consistent: bool  # lots: points - drawn + restored == remaining; draws name real lots and add up
    ok: bool


# -- errors ---------------------------------------------------------------------------------


def _no_account() -> NotFound:
    return NotFound("This customer has no points account.", code="account_not_found")


def _live(account: AccountState | None) -> AccountState:
    """The account, if it exists and its person was not erased: 404 ``account_not_found``, or 422
    ``customer_erased`` (an erased account keeps its numbers for the books and takes nothing new)."""
    if account is None:
        raise _no_account()
    if account.erased_at:
        raise Unprocessable(
            "This customer was erased; the account takes nothing new.", code="customer_erased"
        )
    return account


def _insufficient() -> Conflict:
    return Conflict("Not enough points.", code="insufficient_points")


# -- building one change ----------------------------------------------------------------------


def _successor(ulid_text: str) -> str:
    value = 0
    for char in ulid_text:
        value = value * 32 + _CROCKFORD.index(char)
    value += 1
    return "".join(_CROCKFORD[(value >> (5 * i)) & 31] for i in reversed(range(26)))


class _Tx:
    """The change one operation makes, built step by step over the account as read."""

    def __init__(self, account: AccountState | None, customer_id: str, now: datetime) -> None:
        self.read = account or AccountState(customer_id=customer_id, version=0, created_at=iso(now))
        self.now = now
        self.balance, self.held, self.debt = self.read.balance, self.read.held, self.read.debt
        self.lifetime_earned = self.read.lifetime_earned
        self.pregrants = dict(self.read.pregrants)
        self.change = Change(account=self.read, at=now)
        self._last_id: str | None = None
        self._jobs: dict[str, dict[str, int]] = {}

    def next_id(self) -> str:
        self._last_id = ulid() if self._last_id is None else _successor(self._last_id)
        return self._last_id

    def current(self, lot: Lot) -> Lot:
        return self.change.lots[lot.id][0] if lot.id in self.change.lots else lot

    def add_lot(self, lot: Lot) -> None:
        self.change.lots[lot.id] = (lot, None)

    def _set_remaining(self, lot: Lot, remaining: int) -> None:
        was = self.change.lots[lot.id][1] if lot.id in self.change.lots else lot.remaining
        self.change.lots[lot.id] = (self.current(lot).model_copy(update={"remaining": remaining}), was)

    def take(self, lot: Lot, points: int) -> Draw:
        current = self.current(lot)
        self._set_remaining(current, current.remaining - points)
        self.balance -= points
        self.job_add(current.job_id, "used_points", points)
        return Draw(lot_id=lot.id, expires_at=lot.expires_at, points=points)

    def give(self, lot: Lot, points: int) -> Draw:
        current = self.current(lot)
        self._set_remaining(current, current.remaining + points)
        self.balance += points
        self.job_add(current.job_id, "used_points", -points)
        return Draw(lot_id=lot.id, expires_at=lot.expires_at, points=points)

    def draw(
        self, lots: Iterable[Lot], points: int, *, first: str | None = None, expired_too: bool = False
    ) -> list[Draw]:
        """Take up to ``points`` from the open lots, soonest-expiring first (``first`` before all)."""
        spendable = sorted(
            (self.current(lot) for lot in lots),
            key=lambda lot: (lot.id != first, lot.expires_at, lot.id),
        )
        draws: list[Draw] = []
        for lot in spendable:
            left = points - sum(d.points for d in draws)
            if left <= 0:
                break
            if lot.remaining <= 0 or (lot.expires_at <= self.now and not expired_too and lot.id != first):
                continue
            draws.append(self.take(lot, min(lot.remaining, left)))
        return draws

    def job_add(self, job_id: str | None, attr: str, points: int) -> None:
        if job_id is not None and points:
            counts = self._jobs.setdefault(job_id, {})
            counts[attr] = counts.get(attr, 0) + points

    def entry(
        self, type_: EntryType, *, points: int, actor: str, reason: str, source: str, **more: object
    ) -> Entry:
        entry = Entry.model_validate(
            {
                "id": more.pop("id", None) or self.next_id(),
                "customer_id": self.read.customer_id,
                "type": type_,
                "points": points,
                "balance": self.balance,
                "actor": actor,
                "reason": reason,
                "source": source,
                "at": self.now,
                **more,
            }
        )
        self.change.entries.append(entry)
        return entry

    def finish(self, claim: Claim | None = None) -> Change:
        if self.balance < 0 or self.held < 0 or self.debt < 0:  # a bug, never an input
            raise AssertionError("the ledger would go negative")
        if self.balance != self.read.balance:
            self.change.events.append(
                PointsBalanceChanged(
                    customer_id=self.read.customer_id,
                    balance=self.balance,
                    change=self.balance - self.read.balance,
                    account_version=self.read.version + 1,
                )
            )
        pregrants = {job: at for job, at in self.pregrants.items() if at > iso(self.now)}
        self.change.account = replace(
            self.read,
            balance=self.balance,
            held=self.held,
            debt=self.debt,
            lifetime_earned=self.lifetime_earned,
            pregrants=pregrants,
        )
        if claim is not None:
            self.change.claims.append(claim)
        self.change.counters += [
            Counter("job", job, add) for job, add in self._jobs.items() if any(add.values())
        ]
        actions = (
            1
            + len(self.change.entries)
            + len(self.change.lots)
            + (self.change.hold is not None)
            + len(self.change.claims)
            + len(self.change.counters)
            + len(self.change.events)
        )
        if actions > MAX_ACTIONS:
            raise Conflict(
                "This would touch too many lots at once; use a smaller amount.", code="too_many_lots"
            )
        return self.change


def _replay(store: LedgerStore, customer_id: str, source: str, points: int) -> Applied | None:
    claim = store.claim(customer_id, source)
    if claim is None:
        return None
    if claim.points != points:
        raise Conflict("This source was already used with other points.", code="source_reused")
    if claim.entry_id is None:  # answered for good with a refusal (``refuse``): never applied after
        raise Conflict("This source was refused.", code="source_refused")
    entry = store.entry(customer_id, claim.entry_id)
    if entry is None:  # written in the claim's transaction: only erasure could remove it, and it does not
        raise Conflict("The source's entry is missing.", code="source_reused")
    return Applied(entry, False)


def _consistent(account: AccountState, lots: list[Lot]) -> AccountState:
    """The account, if it agrees with the lots read just before it (else read both again)."""
    if sum(lot.remaining for lot in lots) != account.balance:
        raise StaleRead
    return account


def _spendable(lots: Iterable[Lot], now: datetime) -> int:
    return sum(lot.remaining for lot in lots if lot.remaining > 0 and lot.expires_at > now)


def _entry_type(kind: LotKind) -> EntryType:
    return {"pregrant": "pre-grant", "adjust": "adjust"}.get(kind, "earn")  # type: ignore[return-value]


# -- credits --------------------------------------------------------------------------------


def open_account(store: LedgerStore, customer_id: str, *, now: datetime) -> bool:
    """Open the account if it does not exist; True if this call opened it."""

    def attempt() -> bool:
        if store.account(customer_id) is not None:
            return False
        store.commit(_Tx(None, customer_id, now).finish())
        return True

    return store.run(attempt)


def credit(
    store: LedgerStore,
    *,
    customer_id: str,
    points: int,
    kind: LotKind,
    source: str,
    expires_at: datetime,
    actor: str,
    reason: str,
    now: datetime,
    rule_version: int | None = None,
    purchase: Purchase | None = None,
    job_id: str | None = None,
    counted: bool = False,
) -> Applied:
    """Credit points as a new lot (an old debt is paid first); opens the account if missing.
    ``counted``: the grant ``job_id`` names counts the credit on its report in the same
    transaction (issued, customers, and what paid a debt as used), as its lot's spends and
    claw-back are counted."""
    if points < 1:
        raise BadRequest("Points must be at least 1.", code="invalid_points")

    def attempt() -> Applied:
        replay = _replay(store, customer_id, source, points)
        if replay is not None:
            return replay
        account = store.account(customer_id)  # read last: the less time for another to change it
        tx = _Tx(account, customer_id, now)
        entry = _credit_into(
            tx,
            points,
            kind,
            source=source,
            expires_at=expires_at,
            actor=actor,
            reason=reason,
            rule_version=rule_version,
            purchase=purchase,
            job_id=job_id,
        )
        if counted and job_id is not None:
            tx.job_add(job_id, "issued_points", points)
            tx.job_add(job_id, "customers", 1)
            tx.job_add(job_id, "used_points", entry.debt_settled)
        store.commit(tx.finish(Claim(source, entry.id, points)))
        return Applied(entry, True)

    return store.run(attempt)


def _credit_into(
    tx: _Tx,
    points: int,
    kind: LotKind,
    *,
    source: str,
    expires_at: datetime,
    actor: str,
    reason: str,
    rule_version: int | None = None,
    purchase: Purchase | None = None,
    job_id: str | None = None,
    case_id: str | None = None,
) -> Entry:
    entry_id = tx.next_id()
    settled = min(tx.debt, points)
    rest = points - settled
    tx.debt -= settled
    tx.lifetime_earned += points
    lot_id = None
    if rest:
        lot_id = ulid()
        tx.add_lot(
            Lot(
                id=lot_id,
                customer_id=tx.read.customer_id,
                kind=kind,
                points=rest,
                remaining=rest,
                expires_at=expires_at,
                source=source,
                entry_id=entry_id,
                job_id=job_id,
                created_at=tx.now,
            )
        )
        tx.balance += rest
    if purchase is not None:
        tx.change.counters.append(
            Counter("qual", purchase.month, {"spend": purchase.qualifying_spend, "points": points})
        )
        for job, until in sorted(tx.pregrants.items()):
            if until > iso(tx.now):
                tx.job_add(job, "purchases_while_open", 1)
                tx.job_add(job, f"spend_while_open#{purchase.currency}", purchase.total)
    if kind == "pregrant" and job_id is not None:
        tx.pregrants[job_id] = iso(expires_at)
    entry = tx.entry(
        _entry_type(kind),
        id=entry_id,
        points=rest,
        actor=actor,
        reason=reason,
        source=source,
        rule_version=rule_version,
        kind=kind,
        lot_id=lot_id,
        expires_at=expires_at,
        debt_settled=settled,
        month=purchase.month if purchase else None,
        qualifying_spend=purchase.qualifying_spend if purchase else 0,
        case_id=case_id,
    )
    tx.change.events.append(
        PointsEarned(
            customer_id=tx.read.customer_id,
            entry_id=entry_id,
            kind=kind,
            points=points,
            debt_settled=settled,
            balance=tx.balance,
            expires_at=expires_at,
            source=source,
        )
    )
    return entry


def reverse(
    store: LedgerStore,
    *,
    customer_id: str,
    earned_source: str,
    source: str,
    actor: str,
    reason: str,
    now: datetime,
) -> Applied | None:
    """Take back exactly what ``earned_source`` credited: from its own lot first, then the
    soonest-expiring lots; what is missing becomes a debt. None if nothing was credited.
    A purchase is reversed once, whatever the source of a second reversal."""

    def attempt() -> Applied | None:
        account = store.account(customer_id)
        earned_claim = store.claim(customer_id, earned_source) if account else None
        earned_id = earned_claim.entry_id if earned_claim else None
        earned = store.entry(customer_id, earned_id) if earned_id else None
        if account is None or earned is None:
            return None
        replay = _replay(store, customer_id, source, earned.credited)
        if replay is not None:
            return replay
        once = store.claim(customer_id, _reversal_of(earned_source))
        if once is not None:
            first = store.entry(customer_id, once.entry_id) if once.entry_id else None
            return Applied(first, False) if first else None
        lots = store.open_lots(customer_id)
        tx = _Tx(_consistent(store.account(customer_id) or account, lots), customer_id, now)
        draws = tx.draw(lots, earned.credited, first=earned.lot_id, expired_too=True)
        taken = sum(d.points for d in draws)
        shortfall = earned.credited - taken
        tx.debt += shortfall
        tx.lifetime_earned -= earned.credited
        entry = tx.entry(
            "reverse",
            points=-taken,
            actor=actor,
            reason=reason,
            source=source,
            draws=draws,
            debt_added=shortfall,
            month=earned.month,
            qualifying_spend=-earned.qualifying_spend,
        )
        if earned.month is not None:
            add = {"spend": -earned.qualifying_spend, "points": -earned.credited}
            tx.change.counters.append(Counter("qual", earned.month, add))
        tx.change.claims.append(Claim(_reversal_of(earned_source), entry.id, earned.credited))
        store.commit(tx.finish(Claim(source, entry.id, earned.credited)))
        return Applied(entry, True)

    return store.run(attempt)


def _reversal_of(earned_source: str) -> str:
    return f"reversal-of:{earned_source}"


# -- spends ---------------------------------------------------------------------------------


def redeem(
    store: LedgerStore, *, customer_id: str, points: int, source: str, actor: str, reason: str, now: datetime
) -> Applied:
    """Spend points, soonest-expiring lots first; 409 ``insufficient_points`` if there are not enough."""
    if points < 1:
        raise BadRequest("Points must be at least 1.", code="invalid_points")
    return store.run(
        lambda: _spend_once(
            store,
            "redeem",
            customer_id=customer_id,
            points=points,
            source=source,
            actor=actor,
            reason=reason,
            now=now,
            limit=None,
        )
    )


def adjust(
    store: LedgerStore,
    *,
    customer_id: str,
    points: int,
    source: str,
    actor: str,
    reason: str,
    now: datetime,
    expires_at: datetime,
    allowance: Allowance | None = None,
    case_id: str | None = None,
    answer: Callable[[Entry], DomainEvent] | None = None,
) -> Applied:
    """Goodwill or a correction: positive credits a lot of kind ``adjust``, negative spends.
    With an allowance, the agent's day total must stay within its limit, in the same transaction.
    ``case_id``: the complaint case the goodwill was granted on, kept on the entry; ``answer``: an
    event made from the new entry, written (outbox) in the same transaction; a replay makes none."""
    if points == 0:
        raise BadRequest("Points must not be zero.", code="invalid_points")
    if allowance is not None and abs(points) > allowance.limit:
        raise Conflict("That is more than your daily goodwill limit.", code="goodwill_limit_reached")
    limit = (
        Counter(
            "goodwill",
            f"{allowance.agent_id}#{allowance.day}",
            {"granted": abs(points)},
            limit_attr="granted",
            limit=allowance.limit,
            refusal="goodwill_limit_reached",
        )
        if allowance
        else None
    )
    if points < 0:
        return store.run(
            lambda: _spend_once(
                store,
                "adjust",
                customer_id=customer_id,
                points=-points,
                source=source,
                actor=actor,
                reason=reason,
                now=now,
                limit=limit,
                case_id=case_id,
                answer=answer,
            )
        )

    def attempt() -> Applied:
        account = _live(store.account(customer_id))
        replay = _replay(store, customer_id, source, points)
        if replay is not None:
            return replay
        tx = _Tx(account, customer_id, now)
        entry = _credit_into(
            tx,
            points,
            "adjust",
            source=source,
            expires_at=expires_at,
            actor=actor,
            reason=reason,
            case_id=case_id,
        )
        if answer is not None:
            tx.change.events.append(answer(entry))
        if limit is not None:
            tx.change.counters.append(limit)
        store.commit(tx.finish(Claim(source, entry.id, points)))
        return Applied(entry, True)

    return store.run(attempt)


def _spend_once(
    store: LedgerStore,
    type_: EntryType,
    *,
    customer_id: str,
    points: int,
    source: str,
    actor: str,
    reason: str,
    now: datetime,
    limit: Counter | None,
    case_id: str | None = None,
    answer: Callable[[Entry], DomainEvent] | None = None,
) -> Applied:
    signed = points if type_ == "redeem" else -points  # a claim remembers what was asked
    replay = _replay(store, customer_id, source, signed)
    if replay is not None:
        return replay
    lots = store.open_lots(customer_id)  # each lot's write is conditioned on what is read here
    account = _live(store.account(customer_id))
    _consistent(account, lots)
    if _spendable(lots, now) < points:
        raise _insufficient()
    tx = _Tx(account, customer_id, now)
    draws = tx.draw(lots, points)
    entry = tx.entry(
        type_, points=-points, actor=actor, reason=reason, source=source, draws=draws, case_id=case_id
    )
    if answer is not None:
        tx.change.events.append(answer(entry))
    if limit is not None:
        tx.change.counters.append(limit)
    store.commit(tx.finish(Claim(source, entry.id, signed)))
    return Applied(entry, True)


# -- holds ----------------------------------------------------------------------------------


def place_hold(
    store: LedgerStore,
    *,
    customer_id: str,
    order_id: str,
    points: int,
    expires_at: datetime,
    actor: str,
    now: datetime,
    store_id: str | None = None,
) -> tuple[Hold, bool]:
    """Draw points for an order; the same order and points again is a replay (False)."""
    if points < 1:
        raise BadRequest("Points must be at least 1.", code="invalid_points")

    def attempt() -> tuple[Hold, bool]:
        account = _live(store.account(customer_id))
        existing = store.hold(customer_id, order_id)
        if existing is not None:
            if existing.points != points or existing.actor != actor:
                raise Conflict("This order already holds other points.", code="order_id_reused")
            return existing, False
        lots = store.open_lots(customer_id)
        account = _consistent(store.account(customer_id) or account, lots)
        if _spendable(lots, now) < points:
            raise _insufficient()
        tx = _Tx(account, customer_id, now)
        draws = tx.draw(lots, points)
        tx.held += points
        hold = Hold(
            customer_id=customer_id,
            order_id=order_id,
            points=points,
            status="held",
            draws=draws,
            expires_at=expires_at,
            store_id=store_id,
            actor=actor,
            created_at=now,
        )
        tx.entry(
            "hold",
            points=-points,
            held_change=points,
            actor=actor,
            reason="hold",
            source=f"hold:{order_id}",
            draws=draws,
            order_id=order_id,
        )
        tx.change.hold = (hold, None)
        store.commit(tx.finish())
        return hold, True

    return store.run(attempt)


def _held(store: LedgerStore, customer_id: str, order_id: str) -> tuple[AccountState, Hold]:
    account = store.account(customer_id)
    hold = store.hold(customer_id, order_id) if account else None
    if account is None or hold is None:
        raise NotFound("No hold for this order.", code="hold_not_found")
    return account, hold


def _give_back(store: LedgerStore, tx: _Tx, hold: Hold, points: int) -> list[Draw]:
    """Return ``points`` of a hold to the lots it drew, latest-expiring first."""
    restores: list[Draw] = []
    for draw in sorted(hold.draws, key=lambda d: (d.expires_at, d.lot_id), reverse=True):
        left = points - sum(r.points for r in restores)
        if left <= 0:
            break
        lot = store.lot(hold.customer_id, f"LOT#{iso(draw.expires_at)}#{draw.lot_id}")
        if lot is None:  # lots are never deleted
            raise Conflict("A lot of this hold is missing.", code="concurrent_update")
        restores.append(tx.give(lot, min(draw.points, left)))
    return restores


def capture(
    store: LedgerStore, *, customer_id: str, order_id: str, points: int | None, actor: str, now: datetime
) -> Hold:
    """Redeem all (or ``points``) of a hold; the rest goes back to its lots. A captured hold is
    returned as it is; a released one is 409 ``hold_not_active``; an overdue one is released
    as expired and 409 ``hold_expired``."""

    def attempt() -> Hold:
        account, hold = _held(store, customer_id, order_id)
        if hold.status == "captured":
            return hold
        if hold.status != "held":
            raise Conflict("This hold was released.", code="hold_not_active")
        if hold.expires_at <= now:
            return hold
        taken = hold.points if points is None else points
        if not 1 <= taken <= hold.points:
            raise BadRequest("Capture at most the points held.", code="invalid_points")
        tx = _Tx(account, customer_id, now)
        tx.held -= hold.points
        tx.entry(
            "capture",
            points=0,
            held_change=-taken,
            actor=actor,
            reason="capture",
            source=f"capture:{order_id}",
            order_id=order_id,
        )
        rest = hold.points - taken
        if rest:
            restores = _give_back(store, tx, hold, rest)
            tx.entry(
                "release",
                points=rest,
                held_change=-rest,
                actor=actor,
                reason="capture",
                source=f"capture:{order_id}",
                restores=restores,
                order_id=order_id,
            )
        closed = hold.model_copy(
            update={"status": "captured", "captured_points": taken, "released_points": rest, "closed_at": now}
        )
        tx.change.hold = (closed, "held")
        store.commit(tx.finish())
        return closed

    captured = store.run(attempt)
    if captured.status == "held":  # past its expiry: it goes back, and the capture is refused
        release(store, customer_id=customer_id, order_id=order_id, actor=actor, now=now, expired=True)
        raise Conflict("This hold expired; its points were given back.", code="hold_expired")
    return captured


def release(
    store: LedgerStore, *, customer_id: str, order_id: str, actor: str, now: datetime, expired: bool = False
) -> Hold:
    """Give a hold's points back to the exact lots it drew; a released hold is returned as it is."""

    def attempt() -> Hold:
        account, hold = _held(store, customer_id, order_id)
        if hold.status in ("released", "expired"):
            return hold
        if hold.status == "captured":
            raise Conflict("This hold was captured.", code="hold_not_active")
        tx = _Tx(account, customer_id, now)
        tx.held -= hold.points
        restores = _give_back(store, tx, hold, hold.points)
        why = "expired" if expired else "release"
        tx.entry(
            "release",
            points=hold.points,
            held_change=-hold.points,
            actor=actor,
            reason=why,
            source=f"release:{order_id}",
            restores=restores,
            order_id=order_id,
        )
        status = "expired" if expired else "released"
        closed = hold.model_copy(update={"status": status, "released_points": hold.points, "closed_at": now})
        tx.change.hold = (closed, "held")
        store.commit(tx.finish())
        return closed

    return store.run(attempt)


def expire_hold(store: LedgerStore, *, customer_id: str, order_id: str, now: datetime) -> Hold | None:
    """Release an overdue hold as expired; None if it is not held or not yet due."""
    hold = store.hold(customer_id, order_id)
    if hold is None or hold.status != "held" or hold.expires_at > now:
        return None
    return release(store, customer_id=customer_id, order_id=order_id, actor="system", now=now, expired=True)


# -- expiry ---------------------------------------------------------------------------------


def expire_lot(store: LedgerStore, *, customer_id: str, lot_sk: str, now: datetime) -> Applied | None:
    """Take a due lot's remaining points out of the balance (a claw-back for a pre-grant).
    None if the lot is missing, closed or not due: a lot's points never leave twice."""

    def attempt() -> Applied | None:
        lot = store.lot(customer_id, lot_sk)
        account = store.account(customer_id)
        if lot is None or account is None or lot.remaining <= 0 or lot.expires_at > now:
            return None
        tx = _Tx(account, customer_id, now)
        gone = lot.remaining
        draws = [tx.take(lot, gone)]
        tx.job_add(lot.job_id, "used_points", -gone)  # leaving unused is not a use
        clawed = lot.kind == "pregrant"
        if clawed and lot.job_id is not None:
            tx.job_add(lot.job_id, "clawed_back_points", gone)
            tx.pregrants.pop(lot.job_id, None)
        entry = tx.entry(
            "claw-back" if clawed else "expire",
            points=-gone,
            actor="system",
            reason="expired",
            source=f"lot:{lot.id}",
            draws=draws,
        )
        tx.change.events.append(
            PointsExpired(
                customer_id=customer_id,
                entry_id=entry.id,
                points=gone,
                clawed_back=clawed,
                balance=tx.balance,
            )
        )
        store.commit(tx.finish())
        return Applied(entry, True)

    return store.run(attempt)


# -- reads ----------------------------------------------------------------------------------


def account(store: LedgerStore, customer_id: str, *, now: datetime) -> AccountView:
    """The customer's points; 404 ``account_not_found`` if there is no account."""
    state = store.account(customer_id)
    if state is None:
        raise _no_account()
    lots = [lot for lot in store.open_lots(customer_id) if lot.remaining > 0]
    return AccountView(
        customer_id=customer_id,
        balance=state.balance,
        held=state.held,
        debt=state.debt,
        lifetime_earned=state.lifetime_earned,
        tier=state.tier,
        tier_since=date.fromisoformat(state.tier_since[:10]) if state.tier_since else None,
        expiring_within_30_days=sum(lot.remaining for lot in lots if lot.expires_at <= now + EXPIRING_WINDOW),
        next_expiry=min((lot.expires_at for lot in lots), default=None),
    )


def history(
    store: LedgerStore, customer_id: str, *, after: str | None, limit: int
) -> tuple[list[Entry], str | None]:
    """A page of entries, newest first; the second value is the ``after`` of the next page."""
    if store.account(customer_id) is None:
        raise _no_account()
    return store.entries(customer_id, after=after, limit=limit)


def verify(store: LedgerStore, customer_id: str) -> Drift:
    """Recompute the account from its entries, lots and holds (re-read while it changes)."""
    for _ in range(3):
        before = store.account(customer_id)
        entries, lots, holds = (
            store.all_entries(customer_id),
            store.lots(customer_id),
            store.holds(customer_id),
        )
        after = store.account(customer_id)
        if before == after:
            break
    if after is None:
        raise _no_account()
    moved: dict[str, int] = {lot.id: 0 for lot in lots}
    named = True
    for entry in entries:
        for sign, draws in ((-1, entry.draws), (1, entry.restores)):
            for draw in draws:
                named &= draw.lot_id in moved
                moved[draw.lot_id] = moved.get(draw.lot_id, 0) + sign * draw.points
    traced = all(  # every spend, hold, release and expiry is exactly its draws and restores
        entry.kind is not None
        or sum(d.points for d in entry.draws) - sum(r.points for r in entry.restores) == -entry.points
        for entry in entries
    )
    consistent = named and traced and all(lot.points + moved[lot.id] == lot.remaining >= 0 for lot in lots)
    drift = Drift(
        customer_id=customer_id,
        balance_stored=after.balance,
        balance_from_entries=sum(e.points for e in entries),
        balance_from_lots=sum(lot.remaining for lot in lots),
        debt_stored=after.debt,
        debt_from_entries=sum(e.debt_added - e.debt_settled for e in entries),
        held_stored=after.held,
        held_from_entries=sum(e.held_change for e in entries),
        held_from_holds=sum(h.points for h in holds if h.status == "held"),
        lots_consistent=consistent,
        ok=False,
    )
    ok = (
        consistent
        and drift.balance_stored == drift.balance_from_entries == drift.balance_from_lots >= 0
        and drift.debt_stored == drift.debt_from_entries >= 0
        and drift.held_stored == drift.held_from_entries == drift.held_from_holds >= 0
    )
    return replace(drift, ok=ok)


def pseudonymise(store: LedgerStore, customer_id: str, *, now: datetime) -> None:
    """Erasure: entries lose their free text, the login link goes; the numbers stay. Re-runnable."""
    store.pseudonymise(customer_id, now=now)

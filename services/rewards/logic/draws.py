"""Scheduled draws of a gift: committed before their entries close, drawn from the committed seed,
verifiable by anyone after. No boto3 here: the store, the clock's now and the seed maker are
passed in.

- **Commit** (``DrawScheduled``): the draw gets a seed of 32 random bytes (``secrets``) and its
  commitment, the seed's SHA-256, is published at once (``DrawCommitted``), before any entry of
  the draw closes. Once per (gift, draw): a redelivery changes nothing, the seed never changes.
- **Draw** (``DrawDue``, at or after ``closes_at``): the entries are the gift's entries made at or
  before ``closes_at`` (the qualifying purchase's time) that have not won the gift, of customers
  whose account is open (an erased customer's entry is left out); the winners follow from the seed and the
  entries sorted by entry id (``pick``, described in ``ALGORITHM``), at most the winners wanted,
  the entries and the stock left. Entries and winners are stored once (the plan) before anyone is
  granted: a redelivery, or a run after a crash, grants the same winners, never others. Each
  winner is granted the gift as any draw winner is (``GiftGranted``); then the seed is revealed
  (``DrawCompleted``).
- **Verify**: anyone can recompute the winners from the published seed and entries, and the
  seed's SHA-256 against the commitment published before the entries closed.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Literal, Protocol

from services.rewards.logic.gifts import GiftStore
from services.rewards.models import inbound
from services.rewards.models.draws import DrawRecord, DrawVerification, Entrant, MyDrawEntry, PublicDraw
from services.rewards.models.events import DrawCommitted, DrawCompleted, DrawWinner
from shared.errors import Conflict, NotFound

SEED_BYTES = 32
ALGORITHM = (
    "Sort the entry ids in ascending order: e[0..n-1]. For i = 0, 1, ..., k-1: h = HMAC-SHA256(key = "
    "the 32-byte seed, message = i written in ASCII decimal digits), read as a 256-bit big-endian "
    "unsigned integer; j = i + (h mod (n - i)); swap e[i] and e[j]. The winners are e[0..k-1] in that "
    "order: a Fisher-Yates shuffle driven by the seed and stopped after k steps, so no entry is picked "
    "twice (the bias of the modulo is below 2^-230). k = min(winners wanted, n, the gift's stock left "
    "when drawn). The commitment, published when the draw was scheduled, is SHA-256(seed) in "
    "lower-case hex; the seed is published, in hex, once drawn."
)
ScheduleStatus = Literal["committed", "committed_late", "duplicate", "gift_not_found", "not_a_draw"]
RunStatus = Literal["drawn", "duplicate", "gift_not_found"]


class NotYet(Exception):
    """The draw cannot run yet (it is not scheduled, or its entries are still open): the message
    is retried later, and ends in the dead-letter queue if it never can."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


class DrawStore(GiftStore, Protocol):
    def schedule(self, draw: DrawRecord, event: DrawCommitted, *, at: datetime) -> bool: ...
    def draw(self, gift_id: str, number: int) -> DrawRecord | None: ...
    def open_entrants(self, gift_id: str, *, closes_at: datetime) -> list[Entrant]: ...
    def plan(
        self, draw: DrawRecord, entries: Sequence[str], picks: Sequence[DrawWinner], *, at: datetime
    ) -> DrawRecord: ...
    def entry_ids(self, draw: DrawRecord) -> list[str]: ...
    def not_won(self, gift_id: str, customer_ids: Sequence[str]) -> set[str]: ...
    def reveal(self, draw: DrawRecord, event: DrawCompleted, *, at: datetime) -> bool: ...
    def my_entries(
        self, customer_id: str, *, after: str | None, limit: int
    ) -> tuple[list[MyDrawEntry], str | None]: ...


# -- the algorithm (pure) ---------------------------------------------------------------------


def commitment_of(seed: bytes) -> str:
    return hashlib.sha256(seed).hexdigest()


def pick(seed: bytes, entries: Sequence[str], count: int) -> list[str]:
    """``count`` winners among ``entries``, in the order picked (see ``ALGORITHM``)."""
    pool = sorted(entries)
    if not 0 <= count <= len(pool):
        raise ValueError("count must be between 0 and the number of entries")
    for i in range(count):
        digest = hmac.new(seed, str(i).encode("ascii"), hashlib.sha256).digest()
        j = i + int.from_bytes(digest, "big") % (len(pool) - i)
        pool[i], pool[j] = pool[j], pool[i]
    return pool[:count]


# -- commit and draw ----------------------------------------------------------------------------


def schedule(
    store: DrawStore,
    event: inbound.DrawScheduled,
    *,
    now: datetime,
    make_seed: Callable[[int], bytes] = secrets.token_bytes,
) -> ScheduleStatus:
    """Create the draw with a fresh secret seed and publish its commitment; or say why not."""
    gift = store.gift(event.gift_id)
    if gift is None:
        return "gift_not_found"
    if gift.mode != "draw":
        return "not_a_draw"
    seed = make_seed(SEED_BYTES)
    record = DrawRecord(
        gift_id=gift.id,
        draw=event.draw,
        closes_at=event.closes_at,
        winners_wanted=event.winners,
        seed=seed.hex(),
        commitment=commitment_of(seed),
        status="committed",
        scheduled_at=now,
    )
    committed = DrawCommitted(
        gift_id=gift.id,
        draw=event.draw,
        commitment=record.commitment,
        closes_at=event.closes_at,
        winners=event.winners,
    )
    if not store.schedule(record, committed, at=now):
        return "duplicate"
    return "committed" if now < event.closes_at else "committed_late"  # its entries were known


def run(store: DrawStore, event: inbound.DrawDue, *, now: datetime) -> RunStatus:
    """Draw the winners once, grant them the gift, reveal the seed. ``NotYet`` while the draw is
    not scheduled or its entries are open."""
    record = store.draw(event.gift_id, event.draw)
    gift = store.gift(event.gift_id)
    if gift is None:
        return "gift_not_found"
    if record is None:
        raise NotYet("draw_not_scheduled")  # its DrawScheduled may still be on its way
    if record.status == "drawn":
        return "duplicate"
    if now < record.closes_at:
        raise NotYet("draw_not_closed")
    if record.status == "committed":
        entrants = store.open_entrants(gift.id, closes_at=record.closes_at)
        erased = store.accounts_among([e.customer_id for e in entrants])  # customer -> erased
        customer_of = {e.entry_id: e.customer_id for e in entrants if erased.get(e.customer_id) is False}
        count = min(record.winners_wanted, len(customer_of), max(gift.remaining, 0))
        picked = pick(bytes.fromhex(record.seed), list(customer_of), count)
        picks = [DrawWinner(customer_id=customer_of[e], entry_id=e) for e in picked]
        record = store.plan(record, sorted(customer_of), picks, at=now)  # or the plan stored first
    waiting = store.not_won(gift.id, [p.customer_id for p in record.picks])  # a rerun resumes
    remaining = gift.remaining
    for chosen in record.picks:
        if chosen.customer_id not in waiting:
            continue
        status = store.claim(
            gift,
            chosen.customer_id,
            via="draw",
            source=f"draw:{record.draw}",
            seen_remaining=remaining,
            at=now,
        )
        if status == "granted":
            remaining -= 1
    completed = DrawCompleted(
        gift_id=gift.id,
        draw=record.draw,
        commitment=record.commitment,
        seed=record.seed,
        entries=record.entries,
        winners=record.picks,
    )
    store.reveal(record, completed, at=now)
    return "drawn"


# -- what anyone may check ----------------------------------------------------------------------


def _draw(store: DrawStore, gift_id: str, number: int) -> DrawRecord:
    found = store.draw(gift_id, number)
    if found is None:
        raise NotFound("No such draw.", code="draw_not_found")
    return found


def public(store: DrawStore, gift_id: str, number: int, *, now: datetime) -> PublicDraw:
    """The draw without customer ids: its commitment always, its entries once they closed, its
    seed and winners once drawn."""
    record = _draw(store, gift_id, number)
    drawn = record.status == "drawn"
    entries: list[str] | None = None
    if record.status != "committed":
        entries = store.entry_ids(record)
    elif now >= record.closes_at:  # closed, not drawn yet: who is in it so far
        entries = sorted(e.entry_id for e in store.open_entrants(gift_id, closes_at=record.closes_at))
    return PublicDraw(
        gift_id=record.gift_id,
        draw=record.draw,
        closes_at=record.closes_at,
        winners_wanted=record.winners_wanted,
        commitment=record.commitment,
        status="drawn" if drawn else "committed",
        seed=record.seed if drawn else None,
        entries=entries,
        winners=[p.entry_id for p in record.picks] if drawn else None,
        algorithm=ALGORITHM,
    )


def verify(store: DrawStore, gift_id: str, number: int) -> DrawVerification:
    """The draw recomputed from what it published: 409 ``draw_not_drawn`` while its seed is secret."""
    record = _draw(store, gift_id, number)
    if record.status != "drawn":
        raise Conflict("The draw has not run: its seed is still secret.", code="draw_not_drawn")
    seed, entries = bytes.fromhex(record.seed), store.entry_ids(record)
    winners = [p.entry_id for p in record.picks]
    possible = len(winners) <= min(record.winners_wanted, len(entries))
    recomputed = pick(seed, entries, len(winners)) if possible else []
    commitment_matches = hmac.compare_digest(commitment_of(seed), record.commitment)
    return DrawVerification(
        gift_id=record.gift_id,
        draw=record.draw,
        commitment_matches=commitment_matches,
        recomputed_winners=recomputed,
        matches=commitment_matches and possible and recomputed == winners,
    )


def my_entries(
    store: DrawStore, customer_id: str, *, after: str | None, limit: int
) -> tuple[list[MyDrawEntry], str | None]:
    """A page of the customer's entries in gifts' draws, latest gift first."""
    return store.my_entries(customer_id, after=after, limit=limit)

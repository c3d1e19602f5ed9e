"""Limited-stock gifts: granted to qualifying purchases while stock lasts, or drawn among the
customers whose purchases entered the draw. No boto3 here: the store and clock are passed in.

Every grant is one transaction that takes a unit of stock only while ``remaining > 0`` and
counts the customer's units only while under ``per_customer_limit``: the stock never goes
below zero and the limit holds under any concurrency. A purchase has one effect per gift
(its claim item); a draw entrant wins at most once. Sold out, limit reached, or a customer
without a rewards account are outcomes, not errors.
"""

from __future__ import annotations

import random
import secrets
from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from services.rewards.logic.coupons import AccountLookup
from services.rewards.models.offers import (
    ClaimStatus,
    DrawResult,
    Gift,
    GiftCreate,
    GiftOutcome,
    GrantVia,
    WonGift,
)
from shared.clock import Clock
from shared.errors import Conflict, NotFound

_SYSTEM_RANDOM = secrets.SystemRandom()


class GiftStore(AccountLookup, Protocol):
    def create_gift(self, gift: Gift) -> None: ...
    def gift(self, gift_id: str) -> Gift | None: ...
    def gifts(self, *, after: str | None, limit: int) -> tuple[list[Gift], str | None]: ...
    def live_gifts(self, at: datetime) -> list[Gift]: ...
    def enter(self, gift: Gift, customer_id: str, *, at: datetime) -> bool: ...
    def entrants_not_won(self, gift_id: str) -> list[str]: ...
    def claim(
        self, gift: Gift, customer_id: str, *, via: GrantVia, source: str, seen_remaining: int, at: datetime
    ) -> ClaimStatus: ...
    def won_gifts(
        self, customer_id: str, *, after: str | None, limit: int
    ) -> tuple[list[WonGift], str | None]: ...


def create_gift(store: GiftStore, data: GiftCreate, *, clock: Clock, new_id: Callable[[], str]) -> Gift:
    created = Gift(
        **data.model_dump(),
        id=new_id(),
        remaining=data.stock,
        created_at=clock(),
        entrants=0,
        winners=0,
    )
    store.create_gift(created)
    return created


def gift(store: GiftStore, gift_id: str) -> Gift:
    found = store.gift(gift_id)
    if found is None:
        raise NotFound("No gift has this id.", code="gift_not_found")
    return found


def gifts(store: GiftStore, *, after: str | None, limit: int) -> tuple[list[Gift], str | None]:
    """A page of gifts, latest-ending first, and where the next page starts (or None)."""
    return store.gifts(after=after, limit=limit)


def on_purchase(
    store: GiftStore,
    *,
    customer_id: str,
    purchase_id: str,
    store_id: str | None,
    currency: str,
    total: int,
    at: datetime,
) -> list[GiftOutcome]:
    """What a recorded purchase does for each live gift it qualifies for: an instant gift is
    granted (or sold out, or over the customer's limit), a draw gift is entered. Replaying the
    purchase has no further effect (``duplicate``, or ``entered`` again)."""
    outcomes: list[GiftOutcome] = []
    for live in store.live_gifts(at):
        if not live.qualifies(store_id=store_id, currency=currency, total=total, at=at):
            continue
        if live.mode == "draw":
            entered = store.enter(live, customer_id, at=at)
            outcomes.append(GiftOutcome(live.id, "entered" if entered else "no_account"))
        elif live.remaining <= 0:
            outcomes.append(GiftOutcome(live.id, "sold_out"))
        else:
            status = store.claim(
                live, customer_id, via="purchase", source=purchase_id, seen_remaining=live.remaining, at=at
            )
            outcomes.append(GiftOutcome(live.id, status))
    return outcomes


def draw(
    store: GiftStore, gift_id: str, winners: int, *, clock: Clock, rng: random.Random = _SYSTEM_RANDOM
) -> DrawResult:
    """Up to ``winners`` winners, uniformly at random among the entrants who have not won,
    never beyond the remaining stock; each is granted a unit as a purchase would be."""
    current = gift(store, gift_id)
    if current.mode != "draw":
        raise Conflict("This gift is granted to purchases, not drawn.", code="not_a_draw")
    if current.remaining <= 0:
        raise Conflict("The gift's stock is gone.", code="gift_sold_out")
    candidates = store.entrants_not_won(current.id)
    rng.shuffle(candidates)
    now = clock()
    won: list[str] = []
    remaining = current.remaining
    for customer_id in candidates:
        if len(won) == winners or remaining <= 0:
            break
        status = store.claim(
            current, customer_id, via="draw", source="draw", seen_remaining=remaining, at=now
        )
        if status == "granted":
            won.append(customer_id)
            remaining -= 1
        elif status == "sold_out":
            remaining = 0
    after = store.gift(current.id)
    return DrawResult(gift_id=current.id, winners=won, remaining=after.remaining if after else remaining)


def won_gifts(
    store: GiftStore, customer_id: str, *, after: str | None, limit: int
) -> tuple[list[WonGift], str | None]:
    return store.won_gifts(customer_id, after=after, limit=limit)

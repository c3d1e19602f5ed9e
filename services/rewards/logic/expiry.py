"""The expiry run (every 5 minutes): lots past their expiry leave the balance (unused pre-grants
are clawed back), holds past theirs are released, and customers are warned ahead.

- Due items are read from the ``by-due`` index, day by day and shard by shard, up to now; a
  week back is read too, so that a run that failed for days catches up. Each lot or hold is
  changed by the ledger under conditions, so a second run (or two at once) never touches it twice.
- Warnings look ``lead_days`` ahead, over the slice of time no run has looked at yet: each
  customer is warned once per expiry day, with the points of that day's lots. Lots shorter-lived
  than the lead (pre-grants of a few days) are not warned: the customer was told their expiry
  when they were granted.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Protocol

from services.rewards.logic import ledger
from services.rewards.models.events import PointsExpiring

LOOKBACK_DAYS = 7
FIRST_WARNING_SLICE = timedelta(minutes=5)


class ExpiryStore(Protocol):
    def due(self, day: date, low: datetime | None, high: datetime) -> Iterator[tuple[str, str]]: ...

    def expiring_on(self, customer_id: str, day: date) -> int: ...

    def warn(self, customer_id: str, event: PointsExpiring, *, now: datetime) -> bool: ...

    def warned_until(self) -> datetime | None: ...

    def set_warned_until(self, until: datetime) -> None: ...


@dataclass(frozen=True)
class Summary:
    lots_expired: int
    holds_released: int
    warned: int


def _days(first: date, last: date) -> Iterator[date]:
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)


def run(store: ExpiryStore, ledger_store: ledger.LedgerStore, *, now: datetime, lead_days: int) -> Summary:
    lots = holds = 0
    for day in _days((now - timedelta(days=LOOKBACK_DAYS)).date(), now.date()):
        for customer_id, sk in list(store.due(day, None, now)):
            if sk.startswith("LOT#"):
                lots += (
                    ledger.expire_lot(ledger_store, customer_id=customer_id, lot_sk=sk, now=now) is not None
                )
            elif sk.startswith("HOLD#"):
                released = ledger.expire_hold(
                    ledger_store, customer_id=customer_id, order_id=sk.removeprefix("HOLD#"), now=now
                )
                holds += released is not None
    return Summary(
        lots_expired=lots, holds_released=holds, warned=warn_ahead(store, now=now, lead_days=lead_days)
    )


def warn_ahead(store: ExpiryStore, *, now: datetime, lead_days: int) -> int:
    """Warn the customers whose lots expire in the slice of time no run has looked at yet."""
    high = now + timedelta(days=lead_days)
    low = store.warned_until() or high - FIRST_WARNING_SLICE
    if low >= high:
        return 0
    warned = 0
    seen: set[tuple[str, date]] = set()
    for day in _days(low.date(), high.date()):
        for customer_id, sk in list(store.due(day, low, high)):
            if not sk.startswith("LOT#") or (customer_id, day) in seen:
                continue
            seen.add((customer_id, day))
            points = store.expiring_on(customer_id, day)
            if points > 0:
                event = PointsExpiring(
                    customer_id=customer_id, points=points, expires_on=day, lead_days=lead_days
                )
                warned += store.warn(customer_id, event, now=now)
    store.set_warned_until(high)
    return warned

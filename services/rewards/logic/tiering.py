"""Placing a customer in their tier: after every purchase credit or reversal, and nightly.

The decision itself is ``logic.tiers.decide`` (pure); this reads the account's tier state and the
months in the program's window, writes a changed state conditioned on ``tier_version``, and
publishes ``TierChanged`` through the outbox in the same write. Re-running it changes nothing.
"""

from __future__ import annotations

import datetime as dt
from typing import Protocol

from services.rewards.logic import tiers
from services.rewards.models.events import TierChanged
from services.rewards.models.programs import TierProgram, TierProgress, TierRecord, TierState
from shared.errors import Conflict

ATTEMPTS = 5


class TierStore(Protocol):
    def record(self, customer_id: str) -> TierRecord | None: ...

    def months(self, customer_id: str, first: str, last: str) -> dict[str, tuple[int, int]]: ...

    def save(
        self,
        customer_id: str,
        *,
        tier: str | None,
        since: dt.date | None,
        below_since: dt.date | None,
        expected_version: int,
        event: TierChanged | None,
        now: dt.datetime,
    ) -> bool: ...


def measure(store: TierStore, program: TierProgram, customer_id: str, today: dt.date) -> int:
    """The customer's rolling qualifying measure (spend or points) as the program defines it."""
    window = tiers.window_months(today, program.window_months)
    return tiers.qualifying(program, store.months(customer_id, window[0], window[-1]), today)


def progress(
    store: TierStore, program: TierProgram, customer_id: str, *, now: dt.datetime
) -> TierProgress | None:
    """Where the customer stands (None without an account or a tier yet)."""
    record = store.record(customer_id)
    if record is None or record.tier is None:
        return None
    today = now.astimezone(dt.UTC).date()
    measured = measure(store, program, customer_id, today)
    return tiers.progress(program, record.tier, measured, below_since=record.below_since)


def reevaluate(
    store: TierStore, program: TierProgram, customer_id: str, *, now: dt.datetime
) -> TierChanged | None:
    """Decide the customer's tier today and record it; the TierChanged published, if any.
    None also when the customer has no account."""
    today = now.astimezone(dt.UTC).date()
    for _ in range(ATTEMPTS):
        record = store.record(customer_id)
        if record is None:
            return None
        qualifying = measure(store, program, customer_id, today)
        state = TierState(tier=record.tier, since=record.since, below_since=record.below_since)
        decision = tiers.decide(program, state, qualifying, today)
        if decision.state == state:
            return None
        event = None
        if decision.changed and decision.direction is not None and decision.state.tier is not None:
            reached = next(t for t in program.tiers if t.id == decision.state.tier)
            event = TierChanged(
                customer_id=customer_id,
                previous=decision.previous,
                tier=decision.state.tier,
                direction=decision.direction,
                qualifying=qualifying,
                program_version=program.version,
                tier_name=reached.name,
                earn_multiplier_pct=reached.earn_multiplier_pct,
                perks=list(reached.perks),
            )
        if store.save(
            customer_id,
            tier=decision.state.tier,
            since=decision.state.since,
            below_since=decision.state.below_since,
            expected_version=record.version,
            event=event,
            now=now,
        ):
            return event
    raise Conflict("The tier changed concurrently too often; retry.", code="concurrent_update")

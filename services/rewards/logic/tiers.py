"""Tiers: the rolling qualifying measure, the decision (up at once, down after the grace period)
and the progress to the next tier. Pure: the measure's months and "today" are passed in.

- The measure is the sum, over this month and the ``window_months - 1`` months before it, of the
  account's ``QUAL#<yyyy-mm>`` spend (basis "spend") or points earned (basis "points"); never the
  balance, which falls when a customer redeems. Refunds may make a month negative; the measure
  never goes below 0.
- A customer earns the highest tier whose threshold the measure reaches. Up: at once. Down: only
  once the measure has stayed below the current tier's threshold for ``grace_days`` (counted from
  ``below_since``, the first day it was seen below; a recovery clears it), then to the tier the
  measure earns that day. A tier the program no longer has (or none yet) is re-placed at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from typing import Literal

from services.rewards.models.programs import Tier, TierDecision, TierProgram, TierProgress, TierState

X1 = 100


def month_key(day: date) -> str:
    """The ``YYYY-MM`` of a day (the suffix of its ``QUAL#`` item)."""
    return f"{day.year:04d}-{day.month:02d}"


def window_months(today: date, months: int) -> list[str]:
    """The ``YYYY-MM`` keys of the window ending with today's month, oldest first."""
    if months < 1:
        raise ValueError("a window holds at least one month")
    last = today.year * 12 + today.month - 1
    return [f"{m // 12:04d}-{m % 12 + 1:02d}" for m in range(last - months + 1, last + 1)]


def qualifying(program: TierProgram, months: Mapping[str, tuple[int, int]], today: date) -> int:
    """The measure over the program's window; ``months`` maps ``YYYY-MM`` to (spend, points)."""
    column = 0 if program.basis == "spend" else 1
    window = window_months(today, program.window_months)
    return max(0, sum(months[key][column] for key in window if key in months))


def tier_of(program: TierProgram, tier_id: str | None) -> Tier | None:
    return next((t for t in program.tiers if t.id == tier_id), None)


def placement(program: TierProgram, measure: int) -> Tier:
    """The highest tier whose threshold ``measure`` reaches (the first tier's is 0)."""
    return [t for t in program.tiers if t.threshold <= max(measure, 0)][-1]


def earn_multiplier_pct(program: TierProgram, tier_id: str | None) -> int:
    """The earn multiplier of a tier (x1 for none or one the program no longer has)."""
    tier = tier_of(program, tier_id)
    return tier.earn_multiplier_pct if tier else X1


def decide(program: TierProgram, state: TierState, qualifying: int, today: date) -> TierDecision:
    """The tier state after evaluating ``qualifying`` today (see the module docstring)."""
    measure = max(qualifying, 0)
    earned = placement(program, measure)
    ranks = {t.id: i for i, t in enumerate(program.tiers)}
    previous = state.tier
    moved = TierState(tier=earned.id, since=today)
    if previous not in ranks:
        direction: Literal["up"] | None = "up" if ranks[earned.id] > 0 else None
        return TierDecision(moved, changed=True, direction=direction, previous=previous)
    current = program.tiers[ranks[previous]]
    if ranks[earned.id] > ranks[previous]:
        return TierDecision(moved, changed=True, direction="up", previous=previous)
    if measure >= current.threshold:
        kept = TierState(tier=previous, since=state.since)
        return TierDecision(kept, changed=False, direction=None, previous=previous)
    below_since = state.below_since or today
    if (today - below_since).days >= program.grace_days:
        return TierDecision(moved, changed=True, direction="down", previous=previous)
    waiting = TierState(tier=previous, since=state.since, below_since=below_since)
    return TierDecision(waiting, changed=False, direction=None, previous=previous)


def progress(
    program: TierProgram, tier: str | None, qualifying: int, *, below_since: date | None = None
) -> TierProgress:
    """Where a customer in ``tier`` (placed by the measure if None or gone) stands; with the
    state's ``below_since``, the day the tier drops unless the measure recovers."""
    measure = max(qualifying, 0)
    current = tier_of(program, tier) or placement(program, measure)
    rank = program.tiers.index(current)
    following = program.tiers[rank + 1] if rank + 1 < len(program.tiers) else None
    downgrade_on = None
    if below_since is not None and measure < current.threshold:
        downgrade_on = below_since + timedelta(days=program.grace_days)
    return TierProgress(
        tier=current.id,
        tier_name=current.name,
        benefits=current.benefits,
        basis=program.basis,
        qualifying=measure,
        next_tier=following.id if following else None,
        next_threshold=following.threshold if following else None,
        remaining=max(0, following.threshold - measure) if following else 0,
        percent=min(100, 100 * measure // following.threshold) if following else 100,
        downgrade_on=downgrade_on,
    )

"""Points for a purchase under the earn rules: exact integer and fraction arithmetic, floored once.

    eligible = sum(line amount x its category pct / 100)   (lines short of the total: the rest at x1;
                                                            lines above it: scaled down to the total)
    earned   = floor(eligible x rate.points / rate.per x tier pct x store pct x window pcts / 100 each)
    points   = min(earned + the highest bonus reached in the purchase's currency, the cap)

A currency without a base rate earns nothing (no bonus either). Every matching window applies,
so overlapping promotions stack. Pure: no clock, no I/O.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from fractions import Fraction
from typing import Any

from services.rewards.models.programs import EarnQuote, EarnRules

X1 = 100  # a multiplier of x1, in percent


@dataclass(frozen=True)
class PurchaseFacts:
    """What earning reads from a purchase; amounts in minor units of ``currency``."""

    currency: str
    total: int
    store_id: str
    local_date: date
    lines: tuple[tuple[str, int], ...] = ()  # (category, amount)

    def __post_init__(self) -> None:
        if self.total < 0 or any(amount < 0 for _, amount in self.lines):
            raise ValueError("purchase amounts must not be negative")


def eligible_amount(rules: EarnRules, facts: PurchaseFacts) -> Fraction:
    """The total with each line weighted by its category multiplier (minor units)."""
    line_sum = sum(amount for _, amount in facts.lines)
    weighted = sum(amount * rules.category_multipliers.get(c, X1) for c, amount in facts.lines)
    if line_sum > facts.total:  # e.g. a discount on the whole order: spread it over the lines
        return Fraction(weighted * facts.total, line_sum * X1)
    return Fraction(weighted + (facts.total - line_sum) * X1, X1)


def points_for_purchase(
    rules: EarnRules, facts: PurchaseFacts, *, tier_multiplier_pct: int = X1
) -> EarnQuote:
    """The points ``facts`` earns under ``rules`` for a customer whose tier multiplies by
    ``tier_multiplier_pct``, with a deterministic breakdown of how."""
    if tier_multiplier_pct < 0:
        raise ValueError("a multiplier must not be negative")
    breakdown: dict[str, Any] = {"currency": facts.currency, "total": facts.total}
    rate = rules.base_rates.get(facts.currency)
    if rate is None:
        return EarnQuote(0, rules.version, {**breakdown, "rate": None, "points": 0})
    store_pct = rules.store_multipliers.get(facts.store_id, X1)
    windows = [w for w in rules.windows if w.applies(facts.store_id, facts.local_date)]
    factor = Fraction(rate.points, rate.per) * Fraction(tier_multiplier_pct, X1) * Fraction(store_pct, X1)
    for window in windows:
        factor *= Fraction(window.pct, X1)
    earned = math.floor(eligible_amount(rules, facts) * factor)
    bonus = max(
        (b.points for b in rules.bonuses if b.currency == facts.currency and b.min_total <= facts.total),
        default=0,
    )
    points = min(earned + bonus, rules.max_points_per_purchase)
    categories = sorted({c for c, _ in facts.lines if c in rules.category_multipliers})
    breakdown |= {
        "rate": {"points": rate.points, "per": rate.per},
        "base": math.floor(Fraction(facts.total * rate.points, rate.per)),
        "multipliers": {
            "categories": {c: rules.category_multipliers[c] for c in categories},
            "tier": tier_multiplier_pct,
            "store": store_pct,
            "windows": [{"name": w.name, "pct": w.pct} for w in windows],
        },
        "earned": earned,
        "bonus": bonus,
        "capped": earned + bonus > rules.max_points_per_purchase,
        "points": points,
    }
    return EarnQuote(points, rules.version, breakdown)

"""A campaign's result against its control group: what the message did, and how sure we are.

A conversion is a purchase within the attribution window after the message; for a held-out
customer, after the moment they would have got it. The caller counts, for each group, its
customers, those who converted (once per message) and what they spent; this module turns the
counts into rates, a lift with its 95% confidence interval, and incremental revenue.

The interval is Newcombe's hybrid score interval for the difference of two independent
proportions (method 10 of Newcombe, "Interval estimation for the difference between independent
proportions: comparison of eleven methods", Statistics in Medicine 17, 1998), built from the
Wilson score interval of each rate. Not the textbook Wald interval (difference ± 1.96 standard
errors): at the rates a campaign sees (a few percent) and a control group of a few hundred, Wald's
coverage falls well below 95%, and when nobody in a group converts its interval has zero width.
Newcombe's is closed-form, never leaves [-1, 1], stays sensible at 0 and at 100% conversion,
and its coverage is close to 95%; it reproduces the paper's worked examples to 4 decimals
(tests/unit/campaigns/test_results.py).

Too small to tell: when either group has fewer than ``MIN_GROUP`` (30) customers the result says
``too_small``, with the reason, and shows no lift and no incremental figures. Below that the 95%
interval spans most of the possible range (2 converted out of 18 sent against 0 out of 2 held out
gives -0.55 to +0.33), so any lift printed would be noise that marketing would read as a finding.
Even at 30 a group's rate is known only to about ±17 points; the rule stops the worst of it, and
the interval shows the rest.

Revenue is in minor units of one currency (the caller converts or splits by currency).
Incremental revenue is ``round((revenue per recipient - control revenue per recipient) x
recipients)``, computed in exact fractions so that a half rounds the same way on every run
(half to even, as Python's ``round``).

``to_csv`` writes the export marketing opens in Excel. A text cell that starts with ``=``, ``+``,
``-``, ``@`` (or a tab or carriage return) would be read by Excel as a formula: a campaign named
``=HYPERLINK(...)`` could then run when opened. Such a cell is prefixed with a single quote
(OWASP's advice for CSV injection); numbers are left alone, so a negative lift stays a number.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction

from services.campaigns.models.campaigns import Campaign
from services.campaigns.models.results import Lift, Result, Results

MIN_GROUP = 30  # customers in each group below which the result is "too small to tell"
Z_95 = 1.959963984540054  # the standard normal's 97.5th percentile: a two-sided 95% interval
METHOD = "Newcombe hybrid score interval (Wilson), 95%"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

CSV_HEADER = (
    "campaign_id",
    "campaign_name",
    "period",
    "currency",
    "recipients",
    "conversions",
    "conversion_rate",
    "control",
    "control_conversions",
    "control_rate",
    "lift",
    "lift_low",
    "lift_high",
    "relative_lift",
    "revenue",
    "revenue_per_recipient",
    "control_revenue_per_recipient",
    "incremental_revenue",
    "verdict",
    "reason",
    "method",
)


@dataclass(frozen=True)
class Group:
    """One side of the comparison, as the caller counted it."""

    recipients: int
    conversions: int
    revenue: int  # minor units of `currency`

    def __post_init__(self) -> None:
        # A count that cannot be is a bug in the caller's counting: better a loud error than a rate
        # above 100% in marketing's report.
        if self.recipients < 0 or not 0 <= self.conversions <= self.recipients:
            raise ValueError(
                f"{self.conversions} conversions of {self.recipients} recipients: "
                "need 0 <= conversions <= recipients"
            )


def wilson(successes: int, n: int, z: float = Z_95) -> tuple[float, float]:
    """The Wilson score interval of ``successes / n`` (n >= 1), clamped to [0, 1] and around the
    rate itself, so that rounding never puts the rate outside its own interval."""
    if n < 1 or not 0 <= successes <= n:
        raise ValueError(f"{successes} of {n}: need n >= 1 and 0 <= successes <= n")
    p = successes / n
    z2 = z * z
    denominator = 1 + z2 / n
    centre = (p + z2 / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denominator
    return min(p, max(0.0, centre - half)), max(p, min(1.0, centre + half))


def newcombe(x1: int, n1: int, x2: int, n2: int, z: float = Z_95) -> tuple[float, float, float]:
    """``x1/n1 - x2/n2`` and its interval by Newcombe's hybrid score method (method 10): each end
    combines the distances from each rate to the near end of its own Wilson interval."""
    l1, u1 = wilson(x1, n1, z)
    l2, u2 = wilson(x2, n2, z)
    p1, p2 = x1 / n1, x2 / n2
    difference = float(Fraction(x1, n1) - Fraction(x2, n2))  # exact: 56/70 - 48/80 is 0.2, not 0.2000...07
    low = difference - math.hypot(p1 - l1, u2 - p2)
    high = difference + math.hypot(u1 - p1, p2 - l2)
    return difference, max(-1.0, low), min(1.0, high)


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _too_small(treatment: Group, control: Group) -> str | None:
    reasons = [
        f"{name} group of {group.recipients} (at least {MIN_GROUP} needed)"
        for name, group in (("treatment", treatment), ("control", control))
        if group.recipients < MIN_GROUP
    ]
    return "; ".join(reasons) or None


def result(treatment: Group, control: Group, *, currency: str, period: str | None = None) -> Result:
    """One period's result (``period`` None: the whole campaign)."""
    reason = _too_small(treatment, control)
    # Validated (not model_construct): the model's bounds keep a NaN or an impossible rate out.
    base: dict[str, object] = {
        "period": period,
        "currency": currency,
        "recipients": treatment.recipients,
        "control": control.recipients,
        "conversions": treatment.conversions,
        "control_conversions": control.conversions,
        "conversion_rate": _rate(treatment.conversions, treatment.recipients),
        "control_rate": _rate(control.conversions, control.recipients),
        "revenue": treatment.revenue,
        "control_revenue": control.revenue,
        "revenue_per_recipient": _rate(treatment.revenue, treatment.recipients),
        "control_revenue_per_recipient": _rate(control.revenue, control.recipients),
    }
    if reason is not None:
        return Result.model_validate({**base, "verdict": "too_small", "reason": reason})
    n_t, n_c = treatment.recipients, control.recipients
    absolute, low, high = newcombe(treatment.conversions, n_t, control.conversions, n_c)
    # Exact: (x_t/n_t - x_c/n_c) x n_t = (x_t n_c - x_c n_t) / n_c, likewise for revenue.
    extra_conversions = Fraction(treatment.conversions * n_c - control.conversions * n_t, n_c)
    extra_revenue = Fraction(treatment.revenue * n_c - control.revenue * n_t, n_c)
    control_rate = Fraction(control.conversions, n_c)
    lift = Lift(
        absolute=absolute,
        low=low,
        high=high,
        relative=float(extra_conversions / n_t / control_rate) if control_rate else None,
        method=METHOD,
    )
    return Result.model_validate(
        {
            **base,
            "verdict": "measured",
            "lift": lift,
            "incremental_revenue": round(extra_revenue),
            "incremental_conversions": float(extra_conversions),
        }
    )


def _text(value: str) -> str:
    return f"'{value}" if value.startswith(FORMULA_STARTS) else value


def _cell(value: float | int | None) -> str | float | int:
    return "" if value is None else value


def to_csv(campaign_id: str, campaign_name: str, results: Sequence[Result]) -> str:
    """The results as CSV (RFC 4180, header first): the whole campaign first, as period ``all``,
    then each period in the order given."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_HEADER)
    ordered = sorted(results, key=lambda r: r.period is not None)  # stable: periods keep their order
    for r in ordered:
        lift = r.lift
        writer.writerow(
            [
                _text(campaign_id),
                _text(campaign_name),
                r.period or "all",
                r.currency,
                r.recipients,
                r.conversions,
                _cell(r.conversion_rate),
                r.control,
                r.control_conversions,
                _cell(r.control_rate),
                _cell(lift.absolute if lift else None),
                _cell(lift.low if lift else None),
                _cell(lift.high if lift else None),
                _cell(lift.relative if lift else None),
                r.revenue,
                _cell(r.revenue_per_recipient),
                _cell(r.control_revenue_per_recipient),
                _cell(r.incremental_revenue),
                r.verdict,
                _text(r.reason or ""),
                lift.method if lift else "",
            ]
        )
    return out.getvalue()


# -- from the campaign's counters ------------------------------------------------------------------

DEFAULT_CURRENCY = "KRW"


def period_of(at: dt.datetime) -> str:
    """The month a triggered campaign's result is reported in (UTC)."""
    return at.astimezone(dt.UTC).strftime("%Y-%m")


def counter(name: str, *, group: str, period: str | None = None, currency: str | None = None) -> str:
    """A result counter's name on the campaign's ``STAT#`` shards: ``r:<group>:<name>`` for the whole
    campaign, ``r:<period>:<group>:<name>`` per month; revenue by currency (``...:revenue:KRW``).
    ``group``: ``t`` (sent the message) or ``c`` (the control group)."""
    parts = ["r", *([period] if period else []), group, name, *([currency] if currency else [])]
    return ":".join(parts)


def exposure_counters(group: str, at: dt.datetime) -> tuple[str, str]:
    """What one exposure adds 1 to: the campaign's recipients (or control) and its month's."""
    return counter("recipients", group=group), counter("recipients", group=group, period=period_of(at))


def _group(counts: Mapping[str, int], prefix: str, currency: str) -> Group:
    recipients = max(0, int(counts.get(f"{prefix}recipients", 0)))
    conversions = min(recipients, max(0, int(counts.get(f"{prefix}conversions", 0))))
    return Group(recipients, conversions, max(0, int(counts.get(f"{prefix}revenue:{currency}", 0))))


def of_campaign(campaign: Campaign, counts: Mapping[str, int]) -> Results:
    """The result from the campaign's result counters (``dal.journeys.counter``: ``r:t:recipients``,
    ``r:2026-12:c:conversions``, ``r:t:revenue:KRW``...). Revenue is reported in the currency most
    of it came in (one brand, one currency, as a rule); per month only for a triggered campaign."""
    revenue = {k.rsplit(":", 1)[1]: v for k, v in counts.items() if k.startswith("r:t:revenue:")}
    currency = max(revenue, key=lambda c: revenue[c]) if revenue else DEFAULT_CURRENCY
    overall = result(_group(counts, "r:t:", currency), _group(counts, "r:c:", currency), currency=currency)
    periods: list[Result] = []
    if campaign.schedule.get("kind") == "trigger":
        months = sorted({k.split(":")[1] for k in counts if k.startswith("r:") and k.count(":") >= 3})
        months = [m for m in months if len(m) == 7 and m[4] == "-"]
        periods = [
            result(
                _group(counts, f"r:{m}:t:", currency),
                _group(counts, f"r:{m}:c:", currency),
                currency=currency,
                period=m,
            )
            for m in months
        ]
    return Results(
        campaign_id=campaign.id,
        name=campaign.name,
        attribution_days=campaign.attribution_days,
        overall=overall,
        periods=periods,
    )

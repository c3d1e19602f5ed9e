"""Insights, pure: the counters a mention adds to its week, and the digest a week's counters and
cases make.

A week is the ISO week in Seoul (the market's Monday to Sunday). Counters are flat names (``theme:
wait``, ``product_request:latte``, ``theme_segment:wait:top``...) so that one update adds a
mention to all of them at once.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from services.feedback.logic import sla
from services.feedback.logic.cases import CaseRecord
from services.feedback.models.insights import Digest, Row, SlaFigures
from services.feedback.models.intake import Classified

MARKET = ZoneInfo("Asia/Seoul")
TOP = 20  # rows per table in a digest
SAMPLES = 5


def week_of(at: datetime) -> str:
    year, week, _ = at.astimezone(MARKET).isocalendar()
    return f"{year}-W{week:02d}"


def week_bounds(week: str) -> tuple[datetime, datetime]:
    year, number = int(week[:4]), int(week[6:])
    monday = datetime.fromisocalendar(year, number, 1).date()
    start = datetime.combine(monday, time(0), tzinfo=MARKET)
    return start.astimezone(UTC), (start + timedelta(days=7)).astimezone(UTC)


def previous_week(now: datetime) -> str:
    return week_of(now - timedelta(days=7))


def counters(found: Classified, segment: str | None) -> dict[str, int]:
    c = found.found
    out: dict[str, int] = {"mentions": 1, f"sentiment:{c.sentiment}": 1, f"source:{found.mention.source}": 1}
    flags = {"complaint": c.complaint, "request": c.request}
    for flag, on in flags.items():
        if on:
            out[f"{flag}s"] = 1
    out[f"segment:{segment or 'unlinked'}"] = 1
    for kind, values in (("theme", c.themes), ("product", c.products), ("store", c.stores)):
        for value in dict.fromkeys(values):
            out[f"{kind}:{value}"] = 1
            for flag, on in flags.items():
                if on:
                    out[f"{kind}_{flag}:{value}"] = 1
            if segment:
                out[f"{kind}_segment:{value}:{segment}"] = 1
    return out


def _rows(counts: Mapping[str, int], kind: str) -> list[Row]:
    rows = []
    for name, n in counts.items():
        if not name.startswith(f"{kind}:"):
            continue
        key = name.split(":", 1)[1]
        segments = {
            k.rsplit(":", 1)[1]: v for k, v in counts.items() if k.startswith(f"{kind}_segment:{key}:")
        }
        rows.append(
            Row(
                key=key,
                mentions=int(n),
                complaints=int(counts.get(f"{kind}_complaint:{key}", 0)),
                requests=int(counts.get(f"{kind}_request:{key}", 0)),
                segments=dict(sorted(segments.items())),
            )
        )
    rows.sort(key=lambda r: (-r.mentions, r.key))
    return rows[:TOP]


def _prefixed(counts: Mapping[str, int], prefix: str) -> dict[str, int]:
    return {k.split(":", 1)[1]: int(v) for k, v in sorted(counts.items()) if k.startswith(f"{prefix}:")}


def sla_figures(cases: Iterable[CaseRecord]) -> SlaFigures:
    found = list(cases)
    figures = sla.figures(c.clock for c in found)
    resolved = [c for c in found if c.resolved_at is not None]
    scored = [c.csat for c in found if c.csat is not None]
    return SlaFigures(
        cases=len(found),
        first_response_met_pct=figures.first_response_met_pct,
        resolution_met_pct=figures.resolution_met_pct,
        first_response_median_s=figures.first_response_median_s,
        resolution_median_s=figures.resolution_median_s,
        one_stop_pct=round(100 * sum(c.one_stop for c in resolved) / len(resolved), 1) if resolved else None,
        breached=sum(1 for c in found if c.clock.breached),
        csat_avg=round(statistics.fmean(scored), 2) if scored else None,
    )


def digest(
    week: str,
    counts: Mapping[str, int],
    cases: Iterable[CaseRecord],
    samples: Iterable[str],
    *,
    now: datetime,
) -> Digest:
    starts, ends = week_bounds(week)
    themes, products = _rows(counts, "theme"), _rows(counts, "product")
    needs = [r for r in [*themes, *products] if r.requests]
    needs.sort(key=lambda r: (-r.requests, r.key))
    return Digest(
        week=week,
        starts=starts,
        ends=ends,
        generated_at=now,
        mentions=int(counts.get("mentions", 0)),
        complaints=int(counts.get("complaints", 0)),
        requests=int(counts.get("requests", 0)),
        sentiment=_prefixed(counts, "sentiment"),
        sources=_prefixed(counts, "source"),
        segments=_prefixed(counts, "segment"),
        themes=themes,
        products=products,
        stores=_rows(counts, "store"),
        unmet_needs=needs[:TOP],
        request_samples=[s[:200] for s in list(samples)[:SAMPLES]],
        sla=sla_figures(cases),
    )


def mail_text(found: Digest) -> str:
    """The digest as a plain-text e-mail for the staff who subscribed."""
    lines = [
        f"dangol weekly digest {found.week}",
        f"{found.mentions} mentions, {found.complaints} complaints, {found.requests} requests",
        "",
        "Themes:",
        *[
            f"  {r.key}: {r.mentions} (complaints {r.complaints}, requests {r.requests})"
            + (f" segments {r.segments}" if r.segments else "")
            for r in found.themes[:10]
        ],
        "",
        "Unmet needs:",
        *[f"  {r.key}: asked {r.requests} times" for r in found.unmet_needs[:10]],
        "",
        f"SLA: {found.sla.cases} cases, first response met {found.sla.first_response_met_pct}%,"
        f" resolution met {found.sla.resolution_met_pct}%, one stop {found.sla.one_stop_pct}%",
    ]
    return "\n".join(lines)

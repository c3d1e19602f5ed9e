"""The value score and segment, and the segmenter that keeps them (and the lifestyle groups)
up to date. No boto3 here: the store and the clock are passed in.

The value model (``CONFIG / VALUE_MODEL``, versioned; the defaults below until marketing
stores one with ``PUT /admin/value-model``) turns the ``STATS`` item the intake keeps into
a score of 0..100 and a segment:

1. Three RFM scores, 1..5, each against four ascending thresholds:
   - recency: days since the last purchase; at most 30 days: 5, 90: 4, 180: 3, 365: 2,
     more: 1;
   - frequency: net purchases per year since the first purchase, counted over at least
     ``frequency_min_span_days`` (90), so that two purchases on day one are not 730 a
     year: at least 2 a year: 2, 6: 3, 12: 4, 52: 5 (below 2: 1);
   - monetary: net lifetime spend in the home currency (KRW by default; other currencies
     are not converted and do not count), minor units: from 50,000: 2, 200,000: 3,
     500,000: 4, 1,500,000: 5.
2. Base = sum of weight x (score - 1) / 4 over the three, with weights summing to 100
   (35 / 30 / 35): 0 when all are 1, 100 when all are 5; rounded half up.
3. Adjustments, each rounded half up:
   - tenure: the points of the highest step reached (365 days: +3, 1,095 days: +5), tenure
     counted from sign-up or the first purchase, whichever came first;
   - premium-service use: up to +5, in proportion to the share of purchases with a premium
     service, full at 20 %;
   - payment record: down to -10, in proportion to the share of late payments, full at
     50 %; none with fewer than 3 payments on record.
4. Score = base + adjustments, clamped to 0..100. It never decreases when spend, frequency
   or recency improve (property-tested).
5. Segment: ``lapsed`` when the last purchase is more than ``lapsed_after_days`` (365) ago,
   whatever the score; otherwise the first of top (80), loyal (60), regular (40),
   occasional (20) whose lowest score is reached, else ``lapsed``. The thresholds are
   validated strictly decreasing, the bands strictly ascending, the weights to sum 100.

A customer without a purchase has no assessment yet (``GET /customers/{id}/value`` is a 404
``value_not_assessed``) and no segment for group rules.

The assessment is stored at ``CUSTOMER#<id> / VALUE`` (score, segment, model version,
components, assessed_at, revision). It keeps only components that change with a purchase
or when a threshold is crossed (no day counts), so that re-running on the same data writes
nothing and publishes nothing. Every write asserts what it read: the ``VALUE`` revision and
the profile's version (and its stored groups), in one transaction with the events (the
outbox); a lost race reads again. A change of segment publishes ``ValueSegmentChanged``.
``VALUE`` is read before ``STATS``, so an assessment never goes back to older statistics.

The segmenter re-evaluates a customer (value first, then groups, since a group may use the
segment) on ``PurchaseRecorded`` / ``PurchaseRefunded`` and on profile events. It needs no
message de-duplication: the evaluation depends only on the stored state, so a duplicate or
replayed message finds nothing to change. A changed value model applies to each customer
at their next evaluation, and to everyone at the next nightly run.

The nightly run pages through the ``customer-list`` index (100 ids a query, never a scan),
reads each page's PROFILE, STATS and VALUE items with batch reads (eventually consistent:
only a filter), and re-evaluates with consistent reads and conditional writes only the
customers whose assessment or groups changed, 8 at a time on threads. Estimate for 100,000
customers (the figure the 900 s timeout is checked against):

- listing and reading: 1,000 pages x (1 Query + 3 BatchGetItem of 100 keys) = 4,000 calls at
  20-30 ms = 80-120 s, plus parsing 300,000 items (about 0.1 ms each) = 30 s;
- scoring and group rules: 0.16 ms a customer with 48 groups (measured) = 16 s;
- writes: a changed customer costs 2 reads and 1 transaction, about 40 ms. On an ordinary
  night 1-2 % change (a recency or tenure threshold crossed, a birthday): 2,000 x 40 ms / 8
  threads = 10 s. After a value-model change everyone changes: 100,000 x 40 ms / 8 = 500 s.

So about 150 s on an ordinary night and about 650 s after a model change. If time runs
short anyway (throttling), the run stops between pages and records where; the next run (the
schedule's retry, a manual re-run or the next night) goes on from there. It is re-runnable:
a run over unchanged data writes nothing but its summary (``CONFIG / NIGHTLY_RUN``: counts).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction
from typing import Protocol

from services.profile.logic.groups import GroupStore, facts_of, live_groups, members
from services.profile.models.events import LifestyleGroupsChanged, ValueSegmentChanged
from services.profile.models.segments import (
    SCORED_SEGMENTS,
    Assessment,
    CustomerState,
    CustomerValue,
    LifestyleGroup,
    PurchaseStats,
    RunSummary,
    Segment,
    Stale,
    StoredValue,
    ValueComponents,
    ValueModel,
    ValueModelSpec,
)
from shared.clock import Clock
from shared.errors import Conflict, NotFound, PreconditionFailed
from shared.events import DomainEvent

DEFAULT_MODEL = ValueModel(version=0)
ATTEMPTS = 5
DAY_S = 86_400

# -- scoring (pure) ------------------------------------------------------------------------------


def _half_up(value: Fraction) -> int:
    return math.floor(value + Fraction(1, 2))


def recency_score(days: int, bands: Sequence[int]) -> int:
    """5 within ``bands[0]`` days, one less past each band, 1 past the last."""
    return 5 - sum(1 for limit in bands if days > limit)


def rising_score(value: Fraction | int, bands: Sequence[int]) -> int:
    """1 below ``bands[0]``, one more at each band reached, 5 from the last."""
    return 1 + sum(1 for limit in bands if value >= limit)


def purchases_per_year(stats: PurchaseStats, *, now: datetime, min_span_days: int) -> Fraction:
    first = stats.first_purchase_at or stats.last_purchase_at
    if first is None or stats.purchase_count <= 0:
        return Fraction(0)
    span_s = max(int((now - first).total_seconds()), min_span_days * DAY_S)
    return Fraction(stats.purchase_count * 365 * DAY_S, span_s)


def segment_of(score: int, days_since_purchase: int, model: ValueModelSpec) -> Segment:
    if model.lapsed_after_days is not None and days_since_purchase > model.lapsed_after_days:
        return "lapsed"
    thresholds = model.segments
    for name in SCORED_SEGMENTS:
        if score >= getattr(thresholds, name):
            return name
    return "lapsed"


def assess(
    stats: PurchaseStats, *, created_at: datetime, now: datetime, model: ValueModel
) -> Assessment | None:
    """The customer's score, segment and components; None before their first purchase."""
    last = stats.last_purchase_at
    if last is None:
        return None
    days_since = max((now - last).days, 0)
    count = max(stats.purchase_count, 0)
    spend = max(int(stats.spend.get(model.home_currency, 0)), 0)
    recency = recency_score(days_since, model.recency_days)
    frequency = rising_score(
        purchases_per_year(stats, now=now, min_span_days=model.frequency_min_span_days),
        model.frequency_per_year,
    )
    monetary = rising_score(spend, model.monetary)
    w = model.weights
    base = _half_up(
        Fraction(w.recency * (recency - 1) + w.frequency * (frequency - 1) + w.monetary * (monetary - 1), 4)
    )
    first = stats.first_purchase_at or last
    tenure_days = max((now - min(created_at, first)).days, 0)
    tenure = max((s.points for s in model.tenure_bonus if tenure_days >= s.days), default=0)
    premium = 0
    if count:
        share = Fraction(max(stats.premium_count, 0) * 100, count * model.premium_share_pct)
        premium = _half_up(model.premium_points * min(Fraction(1), share))
    penalty = 0
    payments = max(stats.payments_on_time, 0) + max(stats.payments_late, 0)
    if payments >= model.min_payments:
        late = Fraction(max(stats.payments_late, 0) * 100, payments * model.late_share_pct)
        penalty = _half_up(model.late_payment_points * min(Fraction(1), late))
    score = min(max(base + tenure + premium - penalty, 0), 100)
    components = ValueComponents(
        recency=recency,
        frequency=frequency,
        monetary=monetary,
        base=base,
        tenure_points=tenure,
        premium_points=premium,
        payment_points=-penalty,
        spend=spend,
        purchase_count=count,
        last_purchase_at=last,
    )
    return Assessment(
        score=score,
        segment=segment_of(score, days_since, model),
        model_version=model.version,
        components=components,
    )


# -- the stores this logic works with -------------------------------------------------------------


class ModelStore(Protocol):
    def value_model(self) -> ValueModel | None: ...
    def put_value_model(self, model: ValueModel, *, previous_version: int) -> None: ...


class SegmentStore(ModelStore, GroupStore, Protocol):
    def stored_value(self, customer_id: str) -> StoredValue | None: ...
    def has_profile(self, customer_id: str) -> bool: ...
    def customer_state(self, customer_id: str) -> CustomerState: ...
    def customer_states(self, customer_ids: Sequence[str]) -> list[CustomerState]: ...
    def customer_ids(self, *, after: str | None, limit: int) -> tuple[list[str], bool]: ...
    def apply(
        self,
        state: CustomerState,
        *,
        value: Assessment | None,
        groups: tuple[str, ...] | None,
        events: Sequence[DomainEvent],
        at: datetime,
    ) -> None: ...
    def last_run(self) -> RunSummary | None: ...
    def save_run(self, summary: RunSummary) -> None: ...


# -- the value model (the admin API) --------------------------------------------------------------


def current_model(store: ModelStore) -> ValueModel:
    return store.value_model() or DEFAULT_MODEL


def change_model(
    store: ModelStore, spec: ValueModelSpec, *, expected_version: int | None, clock: Clock
) -> ValueModel:
    """Store a new version of the model; a stale ``If-Match`` is 412 (``"0"``: the defaults)."""
    for _ in range(ATTEMPTS):
        current = current_model(store)
        if expected_version is not None and current.version != expected_version:
            raise PreconditionFailed()
        changed = ValueModel(**spec.model_dump(), version=current.version + 1, updated_at=clock())
        try:
            store.put_value_model(changed, previous_version=current.version)
        except Stale:
            if expected_version is not None:
                raise PreconditionFailed() from None
            continue
        return changed
    raise Conflict("The value model kept changing; retry.", code="concurrent_update")


def customer_value(store: SegmentStore, customer_id: str) -> CustomerValue:
    if not store.has_profile(customer_id):
        raise NotFound("No profile exists for this customer.", code="profile_not_found")
    stored = store.stored_value(customer_id)
    if stored is None:
        raise NotFound(
            "The customer has no purchase yet: their value is assessed after the first one.",
            code="value_not_assessed",
        )
    a = stored.assessment
    return CustomerValue(
        customer_id=customer_id,
        score=a.score,
        segment=a.segment,
        components=a.components,
        model_version=a.model_version,
        assessed_at=stored.assessed_at,
    )


# -- evaluating one customer ----------------------------------------------------------------------


@dataclass(frozen=True)
class Definitions:
    """The value model and the live groups, read once per batch (segmenter) or per run (nightly)."""

    model: ValueModel
    groups: tuple[LifestyleGroup, ...]


def definitions(store: SegmentStore) -> Definitions:
    return Definitions(current_model(store), tuple(live_groups(store)))


@dataclass(frozen=True)
class Plan:
    """What an evaluation changes: a new assessment, new groups, and their events."""

    value: Assessment | None = None
    groups: tuple[str, ...] | None = None
    events: tuple[DomainEvent, ...] = ()

    @property
    def writes(self) -> bool:
        return self.value is not None or self.groups is not None


def plan(state: CustomerState, defs: Definitions, *, now: datetime) -> Plan:
    """Compare what the customer's data says now with what is stored (pure)."""
    profile = state.profile
    if profile is None:
        return Plan()
    stored = state.value.assessment if state.value else None
    assessment = assess(state.stats, created_at=profile.created_at, now=now, model=defs.model)
    events: list[DomainEvent] = []
    new_value = None
    if assessment is not None and not assessment.same_as(stored):
        new_value = assessment
        if stored is None or stored.segment != assessment.segment:
            events.append(
                ValueSegmentChanged(
                    customer_id=state.customer_id,
                    previous=stored.segment if stored else None,
                    segment=assessment.segment,
                    score=assessment.score,
                    model_version=assessment.model_version,
                )
            )
    current = assessment or stored
    facts = facts_of(
        profile,
        segment=current.segment if current else None,
        first_purchase_at=state.stats.first_purchase_at,
        now=now,
    )
    wanted = members(defs.groups, facts)
    new_groups = None
    if list(wanted) != (profile.stored_groups or []) or (profile.stored_groups is None and wanted):
        new_groups = wanted
        before, after = set(profile.groups), set(wanted)
        if before != after:
            events.append(
                LifestyleGroupsChanged(
                    customer_id=state.customer_id,
                    groups=list(wanted),
                    joined=sorted(after - before),
                    left=sorted(before - after),
                )
            )
    return Plan(new_value, new_groups, tuple(events))


def refresh(store: SegmentStore, customer_id: str, defs: Definitions, *, now: datetime) -> Plan:
    """Re-evaluate one customer and write what changed; returns what was written."""
    for _ in range(ATTEMPTS):
        state = store.customer_state(customer_id)
        change = plan(state, defs, now=now)
        if not change.writes:
            return change
        try:
            store.apply(state, value=change.value, groups=change.groups, events=change.events, at=now)
        except Stale:
            continue
        return change
    raise Conflict("The customer kept changing; retry.", code="concurrent_update")


# -- the nightly run ---------------------------------------------------------------------------------


def _record(summary: RunSummary, written: Plan) -> None:
    summary.values_written += written.value is not None
    summary.segments_changed += sum(isinstance(e, ValueSegmentChanged) for e in written.events)
    summary.groups_changed += sum(isinstance(e, LifestyleGroupsChanged) for e in written.events)


Mapper = Callable[[Callable[[str], Plan | None], Sequence[str]], Iterable[Plan | None]]


def one_by_one(work: Callable[[str], Plan | None], ids: Sequence[str]) -> list[Plan | None]:
    return [work(i) for i in ids]


def nightly(
    store: SegmentStore,
    defs: Definitions,
    *,
    clock: Clock,
    should_stop: Callable[[], bool],
    page_size: int = 100,
    checkpoint_pages: int = 10,
    each: Mapper = one_by_one,
) -> RunSummary:
    """Re-evaluate every customer (see the module's docstring); writes only what changed.
    ``each`` runs the re-evaluations of a page's changed customers (the handler runs them on
    a few threads); a customer that keeps changing under the run is counted as failed."""
    now = clock()
    previous = store.last_run()
    after = previous.resume_after if previous and not previous.complete else None
    summary = RunSummary(started_at=now, resumed_from=after)

    def reevaluate(customer_id: str) -> Plan | None:
        try:
            return refresh(store, customer_id, defs, now=now)
        except Conflict:
            return None

    pages = 0
    while True:
        ids, more = store.customer_ids(after=after, limit=page_size)
        changed = []
        for state in store.customer_states(ids) if ids else []:
            summary.customers += 1
            if state.profile is None:
                summary.skipped += 1
            elif plan(state, defs, now=now).writes:
                changed.append(state.customer_id)
        for written in each(reevaluate, changed):
            if written is None:
                summary.failed += 1
            else:
                _record(summary, written)
        after = ids[-1] if ids else after
        pages += 1
        if not more:
            summary.complete, summary.resume_after = True, None
            break
        summary.resume_after = after
        if should_stop():
            break
        if pages % checkpoint_pages == 0:
            store.save_run(summary)  # a crash resumes from here
    summary.finished_at = clock()
    store.save_run(summary)
    return summary

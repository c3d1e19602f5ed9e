"""The segmenter's logic over an in-memory store: a customer is re-evaluated (value first, then
groups), only what changed is written, events come once, lost races are re-read, and the
nightly run covers everyone page by page, resumes where it stopped and is re-runnable."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from pydantic import TypeAdapter

from services.profile.logic.value import DEFAULT_MODEL, Definitions, nightly, plan, refresh
from services.profile.models.events import LifestyleGroupsChanged, ValueSegmentChanged
from services.profile.models.segments import (
    Assessment,
    Catalog,
    Condition,
    CustomerState,
    LifestyleGroup,
    ProfileFacts,
    PurchaseStats,
    RunSummary,
    Stale,
    StoredValue,
    ValueModel,
)
from shared.errors import Conflict
from shared.events import DomainEvent

NOW = datetime(2025, 3, 14, 9, 0, tzinfo=UTC)
RULE: TypeAdapter[Any] = TypeAdapter(Condition)


def customer(n: int) -> str:
    """A customer id of the service's form (``cus_<ULID>``, as its events carry): ids sort as ``n``."""
    return f"cus_{n:026d}"


CUSTOMER, PARENT, GONE, ERASED = (customer(n) for n in (90_001, 90_002, 90_003, 99_999))


def group(group_id: str, *rules: dict[str, Any]) -> LifestyleGroup:
    return LifestyleGroup(
        id=group_id,
        name=group_id,
        description="",
        rules=[RULE.validate_python(r) for r in rules],
        version=1,
        created_at=NOW,
        updated_at=NOW,
    )


PARENTS = group("parents", {"field": "anniversary", "op": "has", "value": "child_birthday"})
VIPS = group("vips", {"field": "segment", "op": "in", "value": ["top"]})
THIRTIES = group("thirties", {"field": "age", "op": "between", "value": [30, 39]})
DEFS = Definitions(DEFAULT_MODEL, (PARENTS, VIPS, THIRTIES))


def bought(*, spend: int, count: int, days_ago: int = 1, first_days_ago: int = 365) -> PurchaseStats:
    return PurchaseStats(
        spend={"KRW": spend},
        purchase_count=count,
        first_purchase_at=NOW - timedelta(days=first_days_ago),
        last_purchase_at=NOW - timedelta(days=days_ago),
    )


class FakeSegmentStore:
    """Customers' profile facts, STATS and VALUE in memory, with the DAL's conditions."""

    def __init__(self) -> None:
        self.profiles: dict[str, ProfileFacts] = {}
        self.stats: dict[str, PurchaseStats] = {}
        self.values: dict[str, tuple[StoredValue, int]] = {}
        self.published: list[DomainEvent] = []
        self.applies = 0
        self.interference: list[Any] = []  # callables run just before the next write (a racing writer)
        self.runs: list[RunSummary] = []
        self.pages_read = 0

    def add(self, customer_id: str, *, stats: PurchaseStats | None = None, **facts: Any) -> None:
        base: dict[str, Any] = {"version": 1, "stored_groups": [], "created_at": NOW - timedelta(days=30)}
        self.profiles[customer_id] = ProfileFacts(**{**base, **facts})
        if stats:
            self.stats[customer_id] = stats

    def customer_state(self, customer_id: str) -> CustomerState:
        stored = self.values.get(customer_id)
        return CustomerState(
            customer_id=customer_id,
            profile=self.profiles.get(customer_id),
            stats=self.stats.get(customer_id, PurchaseStats()),
            value=stored[0] if stored else None,
            value_revision=stored[1] if stored else 0,
        )

    def customer_states(self, customer_ids: Sequence[str]) -> list[CustomerState]:
        return [self.customer_state(c) for c in customer_ids]

    def customer_ids(self, *, after: str | None, limit: int) -> tuple[list[str], bool]:
        self.pages_read += 1
        ids = sorted(i for i in self.profiles if after is None or i > after)
        return ids[:limit], len(ids) > limit

    def apply(
        self,
        state: CustomerState,
        *,
        value: Assessment | None,
        groups: tuple[str, ...] | None,
        events: Sequence[DomainEvent],
        at: datetime,
    ) -> None:
        if self.interference:
            self.interference.pop(0)()
        self.applies += 1
        profile = self.profiles.get(state.customer_id)
        stored = self.values.get(state.customer_id)
        if profile is None or state.profile is None or profile.version != state.profile.version:
            raise Stale
        if groups is not None and profile.stored_groups != state.profile.stored_groups:
            raise Stale
        if (stored[1] if stored else 0) != state.value_revision:
            raise Stale
        if value is not None:
            self.values[state.customer_id] = (StoredValue(value, at), state.value_revision + 1)
        if groups is not None:
            self.profiles[state.customer_id] = dataclasses.replace(profile, stored_groups=list(groups))
        self.published += events

    def last_run(self) -> RunSummary | None:
        return self.runs[-1] if self.runs else None

    def save_run(self, summary: RunSummary) -> None:
        self.runs.append(dataclasses.replace(summary))

    # unused by these tests (definitions are passed in)
    def value_model(self) -> ValueModel | None:
        return None

    def put_value_model(self, model: ValueModel, *, previous_version: int) -> None:
        raise NotImplementedError

    def catalog(self) -> Catalog:
        return Catalog()

    def groups(self, ids: Sequence[str]) -> list[LifestyleGroup]:
        return []


def events_of(store: FakeSegmentStore, kind: type[DomainEvent]) -> list[Any]:
    return [e for e in store.published if isinstance(e, kind)]


# --- one customer -------------------------------------------------------------------------------------


def test_a_first_purchase_assesses_the_customer_once_and_announces_the_segment_once() -> None:
    # Given a customer who just made a first, big purchase
    store = FakeSegmentStore()
    store.add(CUSTOMER, stats=bought(spend=2_000_000, count=60))
    # When they are re-evaluated, twice (a duplicate message)
    first = refresh(store, CUSTOMER, DEFS, now=NOW)
    again = refresh(store, CUSTOMER, DEFS, now=NOW)
    # Then the value was written once and ValueSegmentChanged published once, from nothing to top
    assert first.value is not None
    assert not again.writes
    (changed,) = events_of(store, ValueSegmentChanged)
    assert (changed.previous, changed.segment, changed.model_version) == (None, "top", 0)
    assert changed.score == first.value.score
    # And the segment put them in the top-customers group, in the same write
    (joined,) = events_of(store, LifestyleGroupsChanged)
    assert (joined.groups, joined.joined, joined.left) == (["vips"], ["vips"], [])
    assert store.profiles[CUSTOMER].stored_groups == ["vips"]
    assert store.applies == 1


def test_a_new_score_in_the_same_segment_is_stored_without_an_event() -> None:
    # Given an assessed customer
    store = FakeSegmentStore()
    store.add(CUSTOMER, stats=bought(spend=600_000, count=20))
    refresh(store, CUSTOMER, DEFS, now=NOW)
    before = store.values[CUSTOMER][0].assessment
    # When a small purchase moves the score but not the segment
    store.stats[CUSTOMER] = bought(spend=600_000, count=60)
    written = refresh(store, CUSTOMER, DEFS, now=NOW)
    # Then the new score is stored, and no event is published for it
    assert written.value is not None
    assert written.value.segment == before.segment
    assert written.value.score != before.score
    assert len(events_of(store, ValueSegmentChanged)) == 1  # the first assessment's only


def test_no_purchase_no_assessment_but_groups_are_evaluated() -> None:
    # Given a parent in their thirties who has not bought anything
    store = FakeSegmentStore()
    store.add(PARENT, birthday=date(1990, 1, 1), anniversary_kinds=frozenset({"child_birthday"}))
    # When re-evaluated (CustomerRegistered)
    written = refresh(store, PARENT, DEFS, now=NOW)
    # Then there is no value yet, and they joined the parents and thirties groups
    assert written.value is None
    assert PARENT not in store.values
    assert store.profiles[PARENT].stored_groups == ["parents", "thirties"]
    (changed,) = store.published
    assert isinstance(changed, LifestyleGroupsChanged)
    assert changed.joined == ["parents", "thirties"]


def test_a_retired_group_is_left_at_the_next_evaluation() -> None:
    store = FakeSegmentStore()
    store.add(
        PARENT, stored_groups=["parents", "retired-one"], anniversary_kinds=frozenset({"child_birthday"})
    )
    refresh(store, PARENT, DEFS, now=NOW)
    (changed,) = store.published
    assert isinstance(changed, LifestyleGroupsChanged)
    assert (changed.groups, changed.joined, changed.left) == (["parents"], [], ["retired-one"])


def test_an_erased_customer_is_not_brought_back_by_a_late_event() -> None:
    # Given a purchase event for a customer whose profile is gone
    store = FakeSegmentStore()
    store.stats[GONE] = bought(spend=1_000_000, count=5)
    # When it is processed
    written = refresh(store, GONE, DEFS, now=NOW)
    # Then nothing is written or published
    assert not written.writes
    assert store.values == {}
    assert store.published == []


def test_a_lost_race_is_read_again_and_nothing_is_published_twice() -> None:
    # Given two segmenters evaluating the same first purchase at once
    store = FakeSegmentStore()
    store.add(CUSTOMER, stats=bought(spend=2_000_000, count=60))

    def the_other_one_wins() -> None:
        refresh(store, CUSTOMER, DEFS, now=NOW)

    store.interference.append(the_other_one_wins)
    # When this one writes after the other
    written = refresh(store, CUSTOMER, DEFS, now=NOW)
    # Then its write failed its condition, it read again and found nothing left to do
    assert not written.writes
    assert len(events_of(store, ValueSegmentChanged)) == 1
    assert len(events_of(store, LifestyleGroupsChanged)) == 1


def test_a_customer_who_keeps_changing_gives_up_with_a_409_for_a_retry() -> None:
    store = FakeSegmentStore()
    store.add(CUSTOMER, stats=bought(spend=2_000_000, count=60))

    def bump() -> None:
        profile = store.profiles[CUSTOMER]
        store.profiles[CUSTOMER] = dataclasses.replace(profile, version=profile.version + 1)

    store.interference.extend([bump] * 10)
    with pytest.raises(Conflict):
        refresh(store, CUSTOMER, DEFS, now=NOW)
    assert store.published == []


def test_a_changed_value_model_reassesses_with_its_version() -> None:
    store = FakeSegmentStore()
    store.add(CUSTOMER, stats=bought(spend=600_000, count=20))
    refresh(store, CUSTOMER, DEFS, now=NOW)
    stricter = Definitions(ValueModel(version=3, monetary=[10**9, 10**10, 10**11, 10**12]), DEFS.groups)
    written = refresh(store, CUSTOMER, stricter, now=NOW)
    assert written.value is not None
    assert (written.value.model_version, written.value.components.monetary) == (3, 1)


def test_plan_is_pure_and_empty_once_applied() -> None:
    store = FakeSegmentStore()
    store.add(CUSTOMER, stats=bought(spend=2_000_000, count=60), birthday=date(1990, 1, 1))
    state = store.customer_state(CUSTOMER)
    assert plan(state, DEFS, now=NOW) == plan(state, DEFS, now=NOW)
    refresh(store, CUSTOMER, DEFS, now=NOW)
    assert not plan(store.customer_state(CUSTOMER), DEFS, now=NOW).writes


# --- the nightly run ---------------------------------------------------------------------------------


def populate(store: FakeSegmentStore, n: int) -> None:
    for i in range(n):
        store.add(customer(i), stats=bought(spend=100_000 * (i % 20), count=i % 40 + 1, days_ago=i % 300))


def test_the_nightly_run_covers_everyone_and_a_rerun_changes_nothing() -> None:
    # Given 250 customers, never assessed
    store = FakeSegmentStore()
    populate(store, 250)
    # When the nightly run goes through them, 100 at a time
    first = nightly(store, DEFS, clock=lambda: NOW, should_stop=lambda: False, page_size=100)
    # Then everyone was assessed and announced once, in three pages
    assert (first.customers, first.values_written, first.segments_changed, first.complete) == (
        250,
        250,
        250,
        True,
    )
    assert len(events_of(store, ValueSegmentChanged)) == 250
    assert store.pages_read == 3
    # When it runs again on the same day
    published = len(store.published)
    again = nightly(store, DEFS, clock=lambda: NOW, should_stop=lambda: False, page_size=100)
    # Then it changed nothing and published nothing
    assert (again.customers, again.values_written, again.segments_changed, again.groups_changed) == (
        250,
        0,
        0,
        0,
    )
    assert len(store.published) == published


def test_time_alone_makes_a_customer_lapse_at_night() -> None:
    store = FakeSegmentStore()
    store.add(CUSTOMER, stats=bought(spend=600_000, count=20, days_ago=360))
    nightly(store, DEFS, clock=lambda: NOW, should_stop=lambda: False)
    later = NOW + timedelta(days=10)
    summary = nightly(store, DEFS, clock=lambda: later, should_stop=lambda: False)
    assert summary.segments_changed == 1
    assert events_of(store, ValueSegmentChanged)[-1].segment == "lapsed"


def test_a_run_that_runs_out_of_time_stops_between_pages_and_the_next_goes_on() -> None:
    # Given 250 customers and a run that has time for one page only
    store = FakeSegmentStore()
    populate(store, 250)
    short = nightly(store, DEFS, clock=lambda: NOW, should_stop=lambda: True, page_size=100)
    # Then it stopped after 100 customers and recorded where
    assert (short.customers, short.complete, short.resume_after) == (100, False, customer(99))
    # When the next run starts
    rest = nightly(store, DEFS, clock=lambda: NOW, should_stop=lambda: False, page_size=100)
    # Then it went on from there to the end, and the run after starts from the beginning
    assert (rest.resumed_from, rest.customers, rest.complete) == (customer(99), 150, True)
    assert len(events_of(store, ValueSegmentChanged)) == 250
    full = nightly(store, DEFS, clock=lambda: NOW, should_stop=lambda: False, page_size=100)
    assert (full.resumed_from, full.customers, full.values_written) == (None, 250, 0)


def test_an_erased_customer_is_skipped_and_a_contended_one_counted_as_failed() -> None:
    store = FakeSegmentStore()
    populate(store, 3)
    store.customer_states = lambda ids: [  # type: ignore[method-assign]
        *FakeSegmentStore.customer_states(store, ids),
        CustomerState(ERASED, None, PurchaseStats(), None),
    ]

    def bump() -> None:
        profile = store.profiles[customer(1)]
        store.profiles[customer(1)] = dataclasses.replace(profile, version=profile.version + 1)

    original = store.apply

    def contended(state: CustomerState, **kw: Any) -> None:
        if state.customer_id == customer(1):
            bump()
        original(state, **kw)

    store.apply = contended  # type: ignore[method-assign]
    summary = nightly(store, DEFS, clock=lambda: NOW, should_stop=lambda: False)
    assert (summary.customers, summary.skipped, summary.failed, summary.values_written) == (4, 1, 1, 2)

"""Lifestyle groups: rule validation (unknown field or operator refused), evaluation against a
customer's facts, the four-group example, and the definition changes (an in-memory store)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from services.profile.logic.groups import (
    Facts,
    age_on,
    create_group,
    facts_of,
    group,
    matches,
    members,
    page_of_groups,
    retire_group,
    update_group,
)
from services.profile.models.segments import (
    MAX_GROUPS,
    Catalog,
    Condition,
    GroupCreate,
    GroupExists,
    GroupUpdate,
    LifestyleGroup,
    ProfileFacts,
    Stale,
)
from shared.errors import Conflict, NotFound, PreconditionFailed
from tests.unit.fakes import FakeClock

NOW = datetime(2025, 3, 14, 9, 0, tzinfo=UTC)
CONDITION: TypeAdapter[Any] = TypeAdapter(Condition)


def rule(**kw: Any) -> Any:
    return CONDITION.validate_python(kw)


def defined(group_id: str, *rules: dict[str, Any], name: str = "x") -> LifestyleGroup:
    return LifestyleGroup(
        id=group_id,
        name=name,
        description="",
        rules=[rule(**r) for r in rules],
        version=1,
        created_at=NOW,
        updated_at=NOW,
    )


def facts(**kw: Any) -> Facts:
    base: dict[str, Any] = {
        "age": 30,
        "tenure_days": 100,
        "anniversary_kinds": frozenset(),
        "locale": "ko-KR",
        "segment": None,
    }
    return Facts(**{**base, **kw})


# --- the telecom's four groups, by age band and life stage -----------------------------------------

FOUR_GROUPS = [
    defined("students", {"field": "age", "op": "between", "value": [15, 24]}),
    defined(
        "young-professionals",
        {"field": "age", "op": "between", "value": [25, 39]},
        {"field": "anniversary", "op": "lacks", "value": "child_birthday"},
    ),
    defined("parents", {"field": "anniversary", "op": "has", "value": "child_birthday"}),
    defined("seniors", {"field": "age", "op": "gte", "value": 60}),
]


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        (facts(age=19), ("students",)),
        (facts(age=31), ("young-professionals",)),
        (facts(age=31, anniversary_kinds=frozenset({"child_birthday", "wedding"})), ("parents",)),
        (facts(age=45, anniversary_kinds=frozenset({"child_birthday"})), ("parents",)),
        (facts(age=67, anniversary_kinds=frozenset({"child_birthday"})), ("parents", "seniors")),
        (facts(age=50), ()),
        (facts(age=None), ()),
    ],
    ids=["student", "professional", "young parent", "parent", "grandparent", "none", "no birthday"],
)
def test_the_four_example_groups(who: Facts, expected: tuple[str, ...]) -> None:
    # Given the four groups (students 15-24; young professionals 25-39 without children;
    # parents; seniors 60+) and a customer
    # When they are evaluated
    # Then the customer is in exactly the groups whose every rule holds, sorted
    assert members(FOUR_GROUPS, who) == expected


# --- single rules ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("condition", "who", "holds"),
    [
        ({"field": "age", "op": "gte", "value": 30}, facts(age=30), True),
        ({"field": "age", "op": "lte", "value": 29}, facts(age=30), False),
        ({"field": "age", "op": "between", "value": [30, 30]}, facts(age=30), True),
        ({"field": "age", "op": "lte", "value": 150}, facts(age=None), False),
        ({"field": "tenure_days", "op": "gte", "value": 365}, facts(tenure_days=364), False),
        ({"field": "tenure_days", "op": "gte", "value": 365}, facts(tenure_days=365), True),
        ({"field": "anniversary", "op": "has", "value": "wedding"}, facts(), False),
        ({"field": "anniversary", "op": "lacks", "value": "wedding"}, facts(), True),
        (
            {"field": "anniversary", "op": "has", "value": "wedding"},
            facts(anniversary_kinds=frozenset({"wedding"})),
            True,
        ),
        ({"field": "locale", "op": "in", "value": ["ko"]}, facts(locale="ko-KR"), True),
        ({"field": "locale", "op": "in", "value": ["ko-KR"]}, facts(locale="ko"), False),
        ({"field": "locale", "op": "in", "value": ["en-US", "ja"]}, facts(locale="ko-KR"), False),
        ({"field": "locale", "op": "not_in", "value": ["ko"]}, facts(locale="kok-IN"), True),
        ({"field": "segment", "op": "in", "value": ["top", "loyal"]}, facts(segment="loyal"), True),
        ({"field": "segment", "op": "in", "value": ["top"]}, facts(segment=None), False),
        ({"field": "segment", "op": "not_in", "value": ["top"]}, facts(segment=None), True),
        ({"field": "segment", "op": "not_in", "value": ["top"]}, facts(segment="top"), False),
    ],
)
def test_each_rule(condition: dict[str, Any], who: Facts, holds: bool) -> None:
    # Given one rule and a customer's facts
    # When the rule is evaluated
    # Then it holds exactly as documented
    assert matches(rule(**condition), who) is holds


@pytest.mark.parametrize(
    ("condition", "error"),
    [
        ({"field": "income", "op": "gte", "value": 1}, "union_tag_invalid"),
        ({"op": "gte", "value": 1}, "union_tag_not_found"),
        ({"field": "age", "op": "over", "value": 1}, "literal_error"),
        ({"field": "anniversary", "op": "in", "value": "wedding"}, "literal_error"),
        ({"field": "anniversary", "op": "has", "value": "divorce"}, "enum"),
        ({"field": "age", "op": "between", "value": 30}, "value_error"),
        ({"field": "age", "op": "between", "value": [40, 30]}, "value_error"),
        ({"field": "age", "op": "between", "value": [1, 2, 3]}, "value_error"),
        ({"field": "age", "op": "gte", "value": [30, 40]}, "value_error"),
        ({"field": "age", "op": "gte", "value": 151}, "value_error"),
        ({"field": "tenure_days", "op": "gte", "value": -1}, "value_error"),
        ({"field": "age", "op": "gte", "value": "30"}, "int_type"),
        ({"field": "age", "op": "gte", "value": True}, "int_type"),
        ({"field": "segment", "op": "in", "value": ["vip"]}, "value_error"),
        ({"field": "segment", "op": "in", "value": []}, "too_short"),
        ({"field": "locale", "op": "in", "value": ["Korean"]}, "value_error"),
        ({"field": "age", "op": "gte", "value": 1, "unit": "years"}, "extra_forbidden"),
    ],
)
def test_bad_rules_are_refused(condition: dict[str, Any], error: str) -> None:
    # Given a rule with an unknown field or operator, or a value that does not fit it
    # When it is validated
    with pytest.raises(ValidationError) as refused:
        rule(**condition)
    # Then it is refused with a machine-readable reason
    assert error in {e["type"] for e in refused.value.errors()} or error in str(refused.value)


@pytest.mark.parametrize(
    "body",
    [
        {"id": "x", "name": "x", "rules": [{"field": "age", "op": "gte", "value": 1}]},  # id too short
        {"id": "Parents", "name": "x", "rules": [{"field": "age", "op": "gte", "value": 1}]},
        {"id": "parents", "name": "", "rules": [{"field": "age", "op": "gte", "value": 1}]},
        {"id": "parents", "name": "x", "rules": []},
        {"id": "parents", "name": "x", "rules": [{"field": "age", "op": "gte", "value": 1}] * 11},
        {"id": "parents", "name": "x", "rules": [{"field": "age", "op": "gte", "value": 1}], "owner": "me"},
    ],
)
def test_bad_group_definitions_are_refused(body: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        GroupCreate.model_validate(body)


# --- facts from the profile --------------------------------------------------------------------------


def test_age_counts_whole_years_and_a_leap_day_birthday_on_28_february() -> None:
    # Given a customer born on 29 February 2000
    born = date(2000, 2, 29)
    # Then they are 24 on 27 February 2025 and 25 from 28 February (a common year)
    assert age_on(born, date(2025, 2, 27)) == 24
    assert age_on(born, date(2025, 2, 28)) == 25
    # And in a leap year they turn on the 29th
    assert age_on(born, date(2028, 2, 28)) == 27
    assert age_on(born, date(2028, 2, 29)) == 28
    assert age_on(date(1990, 3, 14), date(1990, 3, 1)) == 0


def test_age_is_taken_in_the_customers_time_zone() -> None:
    # Given a customer born on 14 March 1990, and the instant that is 00:30 on 14 March in Seoul
    now = datetime(2025, 3, 13, 15, 30, tzinfo=UTC)
    seoul = ProfileFacts(
        version=1, stored_groups=None, created_at=NOW, time_zone="Asia/Seoul", birthday=date(1990, 3, 14)
    )
    utc = ProfileFacts(
        version=1, stored_groups=None, created_at=NOW, time_zone="UTC", birthday=date(1990, 3, 14)
    )
    # Then in Seoul it is already their 35th birthday, in UTC not yet
    assert facts_of(seoul, segment=None, first_purchase_at=None, now=now).age == 35
    assert facts_of(utc, segment=None, first_purchase_at=None, now=now).age == 34


def test_tenure_counts_from_sign_up_or_the_first_purchase_whichever_came_first() -> None:
    profile = ProfileFacts(version=1, stored_groups=None, created_at=datetime(2025, 1, 1, tzinfo=UTC))
    assert facts_of(profile, segment=None, first_purchase_at=None, now=NOW).tenure_days == 72
    early = datetime(2024, 3, 14, 9, tzinfo=UTC)
    assert facts_of(profile, segment=None, first_purchase_at=early, now=NOW).tenure_days == 365


# --- definitions: create, change, retire ---------------------------------------------------------


class FakeGroupStore:
    def __init__(self) -> None:
        self.items: dict[str, LifestyleGroup] = {}
        self.revision = 0
        self.races = 0

    def _race(self) -> None:
        if self.races:
            self.races -= 1
            self.revision += 1
            raise Stale

    def catalog(self) -> Catalog:
        return Catalog(tuple(sorted(self.items)), self.revision)

    def group(self, group_id: str) -> LifestyleGroup | None:
        return self.items.get(group_id)

    def groups(self, ids: list[str]) -> list[LifestyleGroup]:
        return [self.items[i] for i in reversed(ids) if i in self.items]  # order is not kept

    def create_group(self, created: LifestyleGroup, catalog: Catalog) -> None:
        self._race()
        if created.id in self.items:
            raise GroupExists
        if catalog.revision != self.revision:
            raise Stale
        self.items[created.id] = created
        self.revision += 1

    def replace_group(self, changed: LifestyleGroup, *, previous_version: int) -> None:
        self._race()
        if self.items[changed.id].version != previous_version:
            raise Stale
        self.items[changed.id] = changed

    def retire_group(self, retired: LifestyleGroup, catalog: Catalog) -> None:
        self._race()
        if catalog.revision != self.revision or self.items[retired.id].version != retired.version:
            raise Stale
        del self.items[retired.id]
        self.revision += 1


PARENTS = {
    "id": "parents",
    "name": "Parents",
    "rules": [{"field": "anniversary", "op": "has", "value": "child_birthday"}],
}


def test_a_group_is_created_changed_with_if_match_and_retired() -> None:
    # Given marketing defines a group
    store, clock = FakeGroupStore(), FakeClock()
    created = create_group(store, GroupCreate.model_validate(PARENTS), clock=clock)
    assert (created.version, created.created_at) == (1, clock.now)
    # When they change it with the current version, then with the old one
    change = GroupUpdate.model_validate({"name": "Mums and dads", "rules": PARENTS["rules"]})
    changed = update_group(store, "parents", change, expected_version=1, clock=clock)
    # Then the first is version 2 and the second is refused
    assert (changed.version, changed.name, changed.created_at) == (2, "Mums and dads", created.created_at)
    with pytest.raises(PreconditionFailed):
        update_group(store, "parents", change, expected_version=1, clock=clock)
    # And retiring it with a stale version is refused, with the current one it is gone
    with pytest.raises(PreconditionFailed):
        retire_group(store, "parents", expected_version=1)
    retire_group(store, "parents", expected_version=2)
    with pytest.raises(NotFound):
        group(store, "parents")
    with pytest.raises(NotFound):
        retire_group(store, "parents", expected_version=None)


def test_a_group_id_is_unique_and_at_most_50_groups_live() -> None:
    store, clock = FakeGroupStore(), FakeClock()
    create_group(store, GroupCreate.model_validate(PARENTS), clock=clock)
    # When the same id is defined again
    with pytest.raises(Conflict) as twice:
        create_group(store, GroupCreate.model_validate(PARENTS), clock=clock)
    assert twice.value.code == "group_exists"
    # When 50 groups live and a 51st is defined
    for i in range(MAX_GROUPS - 1):
        create_group(store, GroupCreate.model_validate({**PARENTS, "id": f"group-{i:02d}"}), clock=clock)
    with pytest.raises(Conflict) as full:
        create_group(store, GroupCreate.model_validate({**PARENTS, "id": "one-more"}), clock=clock)
    # Then it is refused until one is retired
    assert full.value.code == "group_limit_reached"
    retire_group(store, "group-00", expected_version=None)
    assert create_group(store, GroupCreate.model_validate({**PARENTS, "id": "one-more"}), clock=clock).id


def test_a_lost_race_on_the_catalog_is_retried() -> None:
    store, clock = FakeGroupStore(), FakeClock()
    store.races = 2
    assert create_group(store, GroupCreate.model_validate(PARENTS), clock=clock).id == "parents"
    store.races = 100
    with pytest.raises(Conflict) as busy:
        create_group(store, GroupCreate.model_validate({**PARENTS, "id": "other"}), clock=clock)
    assert busy.value.code == "concurrent_update"


def test_groups_are_listed_in_id_order_a_page_at_a_time() -> None:
    store, clock = FakeGroupStore(), FakeClock()
    for group_id in ("delta", "alpha", "charlie", "bravo", "echo"):
        create_group(store, GroupCreate.model_validate({**PARENTS, "id": group_id}), clock=clock)
    first, after = page_of_groups(store, after=None, limit=2)
    second, after2 = page_of_groups(store, after=after, limit=2)
    third, end = page_of_groups(store, after=after2, limit=2)
    assert [g.id for g in first + second + third] == ["alpha", "bravo", "charlie", "delta", "echo"]
    assert (after, after2, end) == ("bravo", "delta", None)

"""Lifestyle groups: rule-based groups that marketing defines and every customer is evaluated
against. No boto3 here: the store and the clock are passed in.

A group (``GROUP#<id> / GROUP``) has an id (a slug), a name, a description and up to
``MAX_CONDITIONS`` rules; a customer is in the group when ALL its rules hold. The rules
read these facts of a customer:

- ``age`` (whole years from the birthday, in the customer's time zone; a 29 February
  birthday counts on 28 February in common years, as anniversaries do; no birthday: an age
  rule never matches): ``gte`` / ``lte`` a number, or ``between`` [low, high] inclusive;
- ``tenure_days`` (days since the customer's first sign-up or purchase, whichever came first):
  the same operators;
- ``anniversary``: ``has`` / ``lacks`` a kind (``wedding``, ``membership``,
  ``child_birthday``, ``custom``); ``has child_birthday`` stands for parents;
- ``locale``: ``in`` / ``not_in`` a list (``ko`` matches every ``ko-*`` locale);
- ``segment`` (the value segment): ``in`` / ``not_in`` a list; a customer not assessed yet
  has no segment, so ``in`` never matches them and ``not_in`` always does.

An unknown field or operator, a bound out of range or a malformed value is a 422 and
nothing is stored. At most ``MAX_GROUPS`` (50) groups live at once. Example (the
telecom's four groups, tested in ``tests/unit/profile/test_groups.py``): students (age 15..24),
young professionals (age 25..39, no child), parents (has a child's birthday) and seniors
(age 60 or more).

When it applies: the segmenter evaluates a customer on every profile event
(``CustomerRegistered``, ``CustomerImported``, ``ProfileUpdated``) and after each purchase
or refund (a group may use the value segment), reading the definitions afresh for each
batch of messages; the nightly run evaluates everyone (ages change with the date). So a
new, changed or retired group takes effect for every customer at the next nightly run, and
for a customer who changes before that, at once. A retired (deleted) group is gone from
the definitions: its members leave it at their next evaluation.

The customer's groups are stored sorted on the profile item's ``groups`` attribute, written
without bumping the profile's ``version`` and without a ``ProfileUpdated`` event (that
event feeds the segmenter: it would loop); a change publishes ``LifestyleGroupsChanged``
(joined, left) through the outbox in the same transaction as the write.

The live groups are listed by one catalog item, ``CONFIG / GROUPS`` (their ids, and a
revision that each create and retire moves), written in the same transaction as the group
itself: listing them never scans the table.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from services.profile.logic.anniversaries import occurs_on
from services.profile.models.segments import (
    MAX_GROUPS,
    AnniversaryCondition,
    Catalog,
    ChoiceCondition,
    Condition,
    GroupCreate,
    GroupExists,
    GroupUpdate,
    LifestyleGroup,
    ProfileFacts,
    RangeCondition,
    Stale,
)
from shared.clock import Clock
from shared.errors import Conflict, NotFound, PreconditionFailed

ATTEMPTS = 5  # each round one of the racing writers wins


# -- evaluation (pure) ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Facts:
    age: int | None
    tenure_days: int
    anniversary_kinds: frozenset[str]
    locale: str
    segment: str | None


def local_today(time_zone: str, now: datetime) -> date:
    try:
        return now.astimezone(ZoneInfo(time_zone)).date()
    except (ZoneInfoNotFoundError, ValueError):
        return now.date()


def age_on(birthday: date, today: date) -> int:
    """Whole years; a 29 February birthday is reached on 28 February in common years."""
    years = today.year - birthday.year
    if today < occurs_on(birthday, today.year):
        years -= 1
    return max(years, 0)


def facts_of(
    profile: ProfileFacts, *, segment: str | None, first_purchase_at: datetime | None, now: datetime
) -> Facts:
    today = local_today(profile.time_zone, now)
    start = min(profile.created_at, first_purchase_at) if first_purchase_at else profile.created_at
    return Facts(
        age=age_on(profile.birthday, today) if profile.birthday else None,
        tenure_days=max((now - start).days, 0),
        anniversary_kinds=profile.anniversary_kinds,
        locale=profile.locale,
        segment=segment,
    )


def _locale_matches(locale: str, wanted: str) -> bool:
    return locale == wanted or ("-" not in wanted and locale.startswith(f"{wanted}-"))


def matches(condition: Condition, facts: Facts) -> bool:
    if isinstance(condition, RangeCondition):
        value = facts.age if condition.field == "age" else facts.tenure_days
        if value is None:
            return False
        bounds = condition.value if isinstance(condition.value, list) else [condition.value]
        if condition.op == "gte":
            return value >= bounds[0]
        if condition.op == "lte":
            return value <= bounds[0]
        return bounds[0] <= value <= bounds[1]
    if isinstance(condition, AnniversaryCondition):
        has = condition.value.value in facts.anniversary_kinds
        return has if condition.op == "has" else not has
    if isinstance(condition, ChoiceCondition):
        if condition.field == "locale":
            found = any(_locale_matches(facts.locale, v) for v in condition.value)
        else:
            found = facts.segment in condition.value
        return found if condition.op == "in" else not found
    raise TypeError(f"unknown condition {type(condition).__name__}")  # pragma: no cover


def members(groups: Sequence[LifestyleGroup], facts: Facts) -> tuple[str, ...]:
    """The ids of the groups whose every rule holds, sorted."""
    return tuple(sorted(g.id for g in groups if all(matches(rule, facts) for rule in g.rules)))


# -- definitions (the admin API) -----------------------------------------------------------------


class GroupStore(Protocol):
    def catalog(self) -> Catalog: ...
    def group(self, group_id: str) -> LifestyleGroup | None: ...
    def groups(self, ids: Sequence[str]) -> list[LifestyleGroup]: ...
    def create_group(self, group: LifestyleGroup, catalog: Catalog) -> None: ...
    def replace_group(self, group: LifestyleGroup, *, previous_version: int) -> None: ...
    def retire_group(self, group: LifestyleGroup, catalog: Catalog) -> None: ...


def _not_found() -> NotFound:
    return NotFound("No lifestyle group has this id.", code="group_not_found")


def _busy() -> Conflict:
    return Conflict("The lifestyle groups kept changing; retry.", code="concurrent_update")


def live_groups(store: GroupStore) -> list[LifestyleGroup]:
    """Every live group, in id order (two reads: the catalog, then the groups)."""
    catalog = store.catalog()
    found = store.groups(catalog.ids) if catalog.ids else []
    return sorted(found, key=lambda g: g.id)


def page_of_groups(
    store: GroupStore, *, after: str | None, limit: int
) -> tuple[list[LifestyleGroup], str | None]:
    """Up to ``limit`` groups after the id ``after``, and the id to continue after (or None)."""
    ids = [i for i in store.catalog().ids if after is None or i > after]
    chosen = ids[:limit]
    found = sorted(store.groups(chosen) if chosen else [], key=lambda g: g.id)
    return found, (chosen[-1] if len(ids) > limit else None)


def group(store: GroupStore, group_id: str) -> LifestyleGroup:
    found = store.group(group_id)
    if found is None:
        raise _not_found()
    return found


def create_group(store: GroupStore, data: GroupCreate, *, clock: Clock) -> LifestyleGroup:
    for _ in range(ATTEMPTS):
        catalog = store.catalog()
        if data.id in catalog.ids:
            raise Conflict(f"A lifestyle group '{data.id}' exists already.", code="group_exists")
        if len(catalog.ids) >= MAX_GROUPS:
            raise Conflict(
                f"At most {MAX_GROUPS} lifestyle groups may live at once; retire one first.",
                code="group_limit_reached",
            )
        now = clock()
        created = LifestyleGroup(**data.model_dump(), version=1, created_at=now, updated_at=now)
        try:
            store.create_group(created, catalog)
        except GroupExists:
            raise Conflict(f"A lifestyle group '{data.id}' exists already.", code="group_exists") from None
        except Stale:
            continue
        return created
    raise _busy()


def update_group(
    store: GroupStore, group_id: str, data: GroupUpdate, *, expected_version: int | None, clock: Clock
) -> LifestyleGroup:
    """Replace the group's definition; a stale ``If-Match`` is 412."""
    for _ in range(ATTEMPTS):
        current = group(store, group_id)
        if expected_version is not None and current.version != expected_version:
            raise PreconditionFailed()
        changed = LifestyleGroup(
            **data.model_dump(),
            id=current.id,
            version=current.version + 1,
            created_at=current.created_at,
            updated_at=clock(),
        )
        try:
            store.replace_group(changed, previous_version=current.version)
        except Stale:
            if expected_version is not None:
                raise PreconditionFailed() from None
            continue
        return changed
    raise _busy()


def retire_group(store: GroupStore, group_id: str, *, expected_version: int | None) -> None:
    """Delete the definition; its members leave the group at their next evaluation."""
    for _ in range(ATTEMPTS):
        current = group(store, group_id)
        if expected_version is not None and current.version != expected_version:
            raise PreconditionFailed()
        try:
            store.retire_group(current, store.catalog())
        except Stale:
            continue
        return
    raise _busy()

"""Segment rules turned into fast predicates over ``CustomerView``s (no boto3, no pydantic calls).

``compile_rule`` walks a validated rule once and builds nested closures: sets for ``in`` and
``contains_any``, thresholds and ``timedelta``s are made at compile time, and what depends on
``now`` or on the customer's time zone (the start of a local date, today's local date) is kept
between calls, so a predicate evaluated over a batch with one ``now`` does little but read
attributes and compare. ``all`` / ``any`` try their cheap children first (a windowed
``purchase_count`` or ``spend`` sums the view's day buckets: it goes last); nested ``all`` in
``all`` (``any`` in ``any``) are flattened and ``not`` of ``not`` cancels out.

``time_dependent`` says whether a rule's truth can change with time alone (a standing segment
using one is re-evaluated daily); ``fields_used`` which view fields a rule reads.
"""

from __future__ import annotations

import datetime as dt
import functools
import operator
from collections.abc import Callable
from zoneinfo import ZoneInfo

from services.campaigns.models.segments import (
    AllOf,
    AnyOf,
    Condition,
    ConsentCondition,
    GroupsContain,
    GroupsContainSome,
    GroupsEmptiness,
    InstantDate,
    InstantPresence,
    InstantWithin,
    Node,
    Not,
    NumberBetween,
    NumberIs,
    PurchaseCountBetween,
    PurchaseCountIs,
    SegmentRule,
    SpendBetween,
    SpendIs,
    TextIn,
    TextIs,
    TextPresence,
    conditions,
)
from services.campaigns.models.view import CustomerView

Predicate = Callable[[CustomerView, dt.datetime], bool]
Measure = Callable[[CustomerView, dt.datetime], int]
TodayOf = Callable[[str, dt.datetime], dt.date]

FALLBACK_ZONE = "Asia/Seoul"
_MAX_ZONES = 1024  # per cache: time zone names come from customers' settings


@functools.lru_cache(maxsize=_MAX_ZONES)
def zone(name: str) -> ZoneInfo:
    """The IANA zone ``name``, or Asia/Seoul when there is no such zone (cached either way)."""
    try:
        return ZoneInfo(name)
    except (KeyError, ValueError, OSError):  # ZoneInfoNotFoundError is a KeyError
        return ZoneInfo(FALLBACK_ZONE)


def local_date(instant: dt.datetime, zone_name: str) -> dt.date:
    """The date of ``instant`` in the zone ``zone_name`` (Asia/Seoul if there is no such zone)."""
    return instant.astimezone(zone(zone_name)).date()


def _day_starts(day: dt.date) -> tuple[dict[str, dt.datetime], Callable[[str], dt.datetime]]:
    """The first instant of ``day`` in a zone, in UTC: a dict per zone name, and the function
    that fills it. A local date is at or after ``day`` exactly when the instant is at or after
    this one (a midnight skipped by a clock change maps, fold 0, to the change itself; a
    repeated one to its first occurrence)."""
    starts: dict[str, dt.datetime] = {}

    def fill(zone_name: str) -> dt.datetime:
        if len(starts) >= _MAX_ZONES:
            starts.clear()
        midnight = dt.datetime.combine(day, dt.time(), tzinfo=zone(zone_name))
        at = starts[zone_name] = midnight.astimezone(dt.UTC)
        return at

    return starts, fill


def _today_of() -> TodayOf:
    """Today's date in a zone at ``now``, remembered per zone name for as long as ``now`` is
    the same (one batch). The pair (now, dates) is replaced in one assignment: thread-safe."""
    last: list[tuple[dt.datetime | None, dict[str, dt.date]]] = [(None, {})]

    def today(zone_name: str, now: dt.datetime) -> dt.date:
        seen, dates = last[0]
        if seen is not now and seen != now:
            if now.tzinfo is None:
                raise ValueError("now must be an aware datetime")
            dates = {}
            last[0] = (now, dates)
        day = dates.get(zone_name)
        if day is None:
            day = dates[zone_name] = now.astimezone(zone(zone_name)).date()
        return day

    return today


# -- conditions -------------------------------------------------------------------------------------


def _text(node: TextIs | TextIn | TextPresence) -> Predicate:
    get: Callable[[CustomerView], str | None] = operator.attrgetter(node.field)
    if isinstance(node, TextIs):
        value = node.value
        if node.op == "eq":
            return lambda view, _now: get(view) == value
        return lambda view, _now: get(view) != value
    if isinstance(node, TextIn):
        values = frozenset(node.values)
        if node.op == "in":
            return lambda view, _now: get(view) in values
        return lambda view, _now: get(view) not in values
    if node.op == "exists":
        return lambda view, _now: get(view) is not None
    return lambda view, _now: get(view) is None


def _groups(node: GroupsContain | GroupsContainSome | GroupsEmptiness) -> Predicate:
    if isinstance(node, GroupsContain):
        value = node.value
        return lambda view, _now: value in view.groups
    if isinstance(node, GroupsContainSome):
        wanted = frozenset(node.values)
        if node.op == "contains_any":
            return lambda view, _now: not wanted.isdisjoint(view.groups)
        required = tuple(wanted)

        def contains_all(view: CustomerView, _now: dt.datetime) -> bool:
            groups = view.groups
            for group in required:  # noqa: SIM110 (a loop: no generator per call)
                if group not in groups:
                    return False
            return True

        return contains_all
    if node.op == "empty":
        return lambda view, _now: not view.groups
    return lambda view, _now: bool(view.groups)


def _consent(node: ConsentCondition) -> Predicate:
    key = node.value
    if node.op == "granted":
        return lambda view, _now: view.consents.get(key) is True
    return lambda view, _now: view.consents.get(key) is not True


def _within(node: InstantWithin) -> Predicate:
    get: Callable[[CustomerView], dt.datetime | None] = operator.attrgetter(node.field)
    delta = dt.timedelta(days=node.value)
    # (now, now - delta) of the last call, replaced in one assignment
    last: list[tuple[dt.datetime | None, dt.datetime]] = [(None, dt.datetime.min.replace(tzinfo=dt.UTC))]

    def since(now: dt.datetime) -> dt.datetime:
        if now.tzinfo is None:
            raise ValueError("now must be an aware datetime")
        at = now - delta
        last[0] = (now, at)
        return at

    if node.op == "within_days":

        def within(view: CustomerView, now: dt.datetime) -> bool:
            at = get(view)
            if at is None:
                return False
            seen, edge = last[0]
            return at >= (edge if seen is now else since(now))

        return within

    def not_within(view: CustomerView, now: dt.datetime) -> bool:
        at = get(view)
        if at is None:
            return True
        seen, edge = last[0]
        return at < (edge if seen is now else since(now))

    return not_within


def _dated(node: InstantDate) -> Predicate:
    get: Callable[[CustomerView], dt.datetime | None] = operator.attrgetter(node.field)
    if node.op == "before":
        starts, fill = _day_starts(node.date)

        def before(view: CustomerView, _now: dt.datetime) -> bool:
            at = get(view)
            return at is not None and at < (starts.get(view.time_zone) or fill(view.time_zone))

        return before
    next_starts, next_fill = _day_starts(node.date + dt.timedelta(days=1))

    def after(view: CustomerView, _now: dt.datetime) -> bool:
        at = get(view)
        return at is not None and at >= (next_starts.get(view.time_zone) or next_fill(view.time_zone))

    return after


def _present(node: InstantPresence) -> Predicate:
    get: Callable[[CustomerView], dt.datetime | None] = operator.attrgetter(node.field)
    if node.op == "exists":
        return lambda view, _now: get(view) is not None
    return lambda view, _now: get(view) is None


def _compare(measure: Measure, op: str, value: int) -> Predicate:
    if op == "eq":
        return lambda view, now: measure(view, now) == value
    if op == "ne":
        return lambda view, now: measure(view, now) != value
    if op == "gt":
        return lambda view, now: measure(view, now) > value
    if op == "gte":
        return lambda view, now: measure(view, now) >= value
    if op == "lt":
        return lambda view, now: measure(view, now) < value
    return lambda view, now: measure(view, now) <= value  # lte


def _numeric(
    node: PurchaseCountIs | PurchaseCountBetween | SpendIs | SpendBetween | NumberIs | NumberBetween,
    today: TodayOf,
) -> Predicate:
    measure: Measure
    if isinstance(node, PurchaseCountIs | PurchaseCountBetween):
        days = node.window_days

        def count(view: CustomerView, now: dt.datetime) -> int:
            return view.purchase_count(days, today(view.time_zone, now))

        measure = count
    elif isinstance(node, SpendIs | SpendBetween):
        days, currency = node.window_days, node.currency

        def spend(view: CustomerView, now: dt.datetime) -> int:
            return view.spend(days, currency, today(view.time_zone, now))

        measure = spend
    else:
        get: Callable[[CustomerView], int] = operator.attrgetter(node.field)
        if isinstance(node, NumberIs):  # no window: compare the attribute without a second call
            return _compare_attribute(get, node.op, node.value)
        low, high = node.min, node.max
        return lambda view, _now: low <= get(view) <= high
    if isinstance(node, PurchaseCountIs | SpendIs):
        return _compare(measure, node.op, node.value)
    low, high = node.min, node.max
    return lambda view, now: low <= measure(view, now) <= high


def _compare_attribute(get: Callable[[CustomerView], int], op: str, value: int) -> Predicate:
    if op == "eq":
        return lambda view, _now: get(view) == value
    if op == "ne":
        return lambda view, _now: get(view) != value
    if op == "gt":
        return lambda view, _now: get(view) > value
    if op == "gte":
        return lambda view, _now: get(view) >= value
    if op == "lt":
        return lambda view, _now: get(view) < value
    return lambda view, _now: get(view) <= value  # lte


def _condition(node: Condition, today: TodayOf) -> Predicate:
    if isinstance(node, TextIs | TextIn | TextPresence):
        return _text(node)
    if isinstance(node, GroupsContain | GroupsContainSome | GroupsEmptiness):
        return _groups(node)
    if isinstance(node, ConsentCondition):
        return _consent(node)
    if isinstance(node, InstantWithin):
        return _within(node)
    if isinstance(node, InstantDate):
        return _dated(node)
    if isinstance(node, InstantPresence):
        return _present(node)
    return _numeric(node, today)


# -- all, any, not --------------------------------------------------------------------------------


def _cost(node: Node) -> int:
    """A rough relative cost, to try cheap children first (every predicate is pure)."""
    if isinstance(node, AllOf | AnyOf | Not):
        kids = node.all if isinstance(node, AllOf) else node.any if isinstance(node, AnyOf) else [node.not_]
        return sum(_cost(kid) for kid in kids)
    if isinstance(node, PurchaseCountIs | PurchaseCountBetween | SpendIs | SpendBetween):
        return 50
    if isinstance(node, InstantWithin | InstantDate):
        return 3
    return 1


def _flattened(kind: type[AllOf] | type[AnyOf], kids: list[Node]) -> list[Node]:
    out: list[Node] = []
    for kid in kids:
        if isinstance(kid, AllOf) and kind is AllOf:
            out.extend(_flattened(kind, kid.all))
        elif isinstance(kid, AnyOf) and kind is AnyOf:
            out.extend(_flattened(kind, kid.any))
        else:
            out.append(kid)
    return sorted(out, key=_cost)


def _all(parts: list[Predicate]) -> Predicate:
    if len(parts) == 1:
        return parts[0]
    if len(parts) == 2:
        first, second = parts
        return lambda view, now: first(view, now) and second(view, now)
    every = tuple(parts)

    def all_of(view: CustomerView, now: dt.datetime) -> bool:
        for part in every:  # noqa: SIM110 (a loop: no generator per call)
            if not part(view, now):
                return False
        return True

    return all_of


def _any(parts: list[Predicate]) -> Predicate:
    if len(parts) == 1:
        return parts[0]
    if len(parts) == 2:
        first, second = parts
        return lambda view, now: first(view, now) or second(view, now)
    each = tuple(parts)

    def any_of(view: CustomerView, now: dt.datetime) -> bool:
        for part in each:  # noqa: SIM110 (a loop: no generator per call)
            if part(view, now):
                return True
        return False

    return any_of


def _compile(node: Node, today: TodayOf) -> Predicate:
    if isinstance(node, AllOf):
        return _all([_compile(kid, today) for kid in _flattened(AllOf, node.all)])
    if isinstance(node, AnyOf):
        return _any([_compile(kid, today) for kid in _flattened(AnyOf, node.any)])
    if isinstance(node, Not):
        if isinstance(node.not_, Not):  # not not x is x
            return _compile(node.not_.not_, today)
        inner = _compile(node.not_, today)
        return lambda view, now: not inner(view, now)
    return _condition(node, today)


def _root(rule: SegmentRule | Node) -> Node:
    return rule.root if isinstance(rule, SegmentRule) else rule


def compile_rule(rule: SegmentRule | Node) -> Predicate:
    """A predicate ``(view, now) -> bool`` for a validated rule; ``now`` is an aware instant
    (UTC). Evaluate a batch with one ``now``: what depends on it is computed once."""
    return _compile(_root(rule), _today_of())


_TIMED_OPS = frozenset({"within_days", "not_within_days"})  # "before"/"after" a fixed date: never
_WINDOWED = (PurchaseCountIs, PurchaseCountBetween, SpendIs, SpendBetween)


def time_dependent(rule: SegmentRule | Node) -> bool:
    """Whether the rule's answer can change with time alone: it reads the clock (``within_days``,
    ``not_within_days``) or a rolling window (``purchase_count``, ``spend``). A standing segment
    with such a rule needs a daily re-evaluation; ``before``/``after`` a fixed date does not."""
    return any(isinstance(cond, _WINDOWED) or cond.op in _TIMED_OPS for cond in conditions(_root(rule)))


def fields_used(rule: SegmentRule | Node) -> frozenset[str]:
    """The view fields the rule's conditions name (``consent``, ``purchase_count``, ...)."""
    return frozenset(cond.field for cond in conditions(_root(rule)))

"""Segment rules: what marketing may write (every base rule accepted, then one thing broken at a
time, the 422 naming the path to it), how each field and operator evaluates on hand-built
views (window edges, local dates across midnight, never-bought, absent consent), what makes a
rule time-dependent, and a property against a deliberately naive evaluator."""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from services.campaigns.logic.segments import compile_rule, fields_used, time_dependent
from services.campaigns.models.segments import SegmentDefinition, SegmentRule
from services.campaigns.models.view import CustomerView, DayBucket

# 01:00 on 15 March in Seoul, still 14 March (16:00) in UTC
NOW = datetime(2025, 3, 14, 16, 0, tzinfo=UTC)
KST = timezone(timedelta(hours=9))

# The story, written here and not read back from the code under test
STORY = {
    "all": [
        {"field": "last_purchase_at", "op": "not_within_days", "value": 60},
        {"field": "consent", "op": "granted", "value": "email.marketing"},
    ]
}

# One valid rule for each field and operator family
BASE: list[dict[str, Any]] = [
    STORY,
    {"field": "locale", "op": "eq", "value": "ko-KR"},
    {"field": "time_zone", "op": "ne", "value": "Asia/Seoul"},
    {"field": "value_segment", "op": "in", "values": ["top", "loyal"]},
    {"field": "tier", "op": "not_in", "values": ["gold"]},
    {"field": "tier", "op": "exists"},
    {"field": "value_segment", "op": "missing"},
    {"field": "groups", "op": "contains", "value": "runners"},
    {"field": "groups", "op": "contains_any", "values": ["runners", "cyclists"]},
    {"field": "groups", "op": "contains_all", "values": ["runners", "cyclists"]},
    {"field": "groups", "op": "empty"},
    {"field": "groups", "op": "not_empty"},
    {"field": "consent", "op": "not_granted", "value": "sms.night"},
    {"field": "registered_at", "op": "within_days", "value": 30},
    {"field": "last_visit_at", "op": "before", "date": "2025-01-01"},
    {"field": "last_visit_at", "op": "after", "date": "2025-01-01"},
    {"field": "last_purchase_at", "op": "exists"},
    {"field": "registered_at", "op": "missing"},
    {"field": "purchase_count", "window_days": 30, "op": "gte", "value": 3},
    {"field": "purchase_count", "window_days": 365, "op": "between", "min": 1, "max": 5},
    {"field": "spend", "window_days": 90, "currency": "KRW", "op": "lt", "value": 100_000},
    {"field": "spend", "window_days": 7, "currency": "USD", "op": "between", "min": 0, "max": 0},
    {"field": "browsing_s", "op": "gt", "value": 600},
    {"field": "points_expiring", "op": "between", "min": 100, "max": 1000},
    {"not": {"field": "groups", "op": "contains", "value": "staff"}},
    {"any": [STORY, {"all": [{"field": "tier", "op": "eq", "value": "gold"}, {"not": STORY}]}]},
]


def definition(rule: Any) -> dict[str, Any]:
    return {"name": "Lapsed", "rule": rule}


def refused(rule: Any) -> list[dict[str, Any]]:
    with pytest.raises(ValidationError) as raised:
        SegmentDefinition.model_validate(definition(rule))
    return [dict(e) for e in raised.value.errors()]


def view(**kw: Any) -> CustomerView:
    return CustomerView(customer_id="cus_1", **kw)


def holds(rule: dict[str, Any], who: CustomerView, now: datetime = NOW) -> bool:
    return compile_rule(SegmentRule.model_validate(rule))(who, now)


def nested_nots(levels: int) -> dict[str, Any]:
    node: dict[str, Any] = {"field": "tier", "op": "exists"}
    for _ in range(levels):
        node = {"not": node}
    return node


def with_nodes(count: int) -> dict[str, Any]:
    """An ``all`` of 20 ``any``s holding ``count - 21`` conditions between them."""
    leaves = count - 21
    cond = {"field": "tier", "op": "exists"}
    sizes = [leaves // 20 + (1 if i < leaves % 20 else 0) for i in range(20)]
    return {"all": [{"any": [cond] * size} for size in sizes]}


# --- what is accepted ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "rule", BASE, ids=lambda r: str(r.get("field", next(iter(r)))) + str(r.get("op", ""))
)
def test_every_base_rule_is_accepted_and_dumps_back_to_what_was_written(rule: dict[str, Any]) -> None:
    # Given a valid rule, in a definition and alone
    # When it is validated
    defined = SegmentDefinition.model_validate(definition(rule))
    alone = SegmentRule.model_validate(rule)

    # Then it is accepted, and dumps back to the same JSON
    assert defined.rule.model_dump(mode="json", exclude_none=True) == rule
    assert alone.model_dump(mode="json", exclude_none=True) == rule
    assert defined.model_dump(mode="json", exclude_none=True) == definition(rule)


def test_the_definition_examples_are_accepted_and_one_is_the_story() -> None:
    # Given the examples the definition's schema shows
    examples = SegmentDefinition.model_json_schema()["examples"]

    # Then each is accepted, and the story rule is one of them
    for example in examples:
        SegmentDefinition.model_validate(example)
    assert STORY in [e["rule"] for e in examples]


def test_the_limits_themselves_are_accepted() -> None:
    # Given a rule 6 nodes deep and one of exactly 100 nodes
    # Then both are accepted
    SegmentDefinition.model_validate(definition(nested_nots(5)))
    SegmentDefinition.model_validate(definition(with_nodes(100)))
    SegmentDefinition.model_validate(definition({"all": [STORY] * 20}))


# --- one thing broken at a time ----------------------------------------------------------------------


def story_with(index: int, **change: Any) -> dict[str, Any]:
    rule = copy.deepcopy(STORY)
    rule["all"][index].update(change)
    return rule


def story_without(index: int, key: str) -> dict[str, Any]:
    rule = copy.deepcopy(STORY)
    del rule["all"][index][key]
    return rule


LPA = ("rule", "all", 0, "last_purchase_at", "not_within_days")
CONSENT = ("rule", "all", 1, "consent")
COUNT = {"field": "purchase_count", "window_days": 30, "op": "gte", "value": 3}
SPEND = {"field": "spend", "window_days": 90, "currency": "KRW", "op": "lt", "value": 100_000}


@pytest.mark.parametrize(
    ("rule", "loc", "kind"),
    [
        pytest.param(story_with(0, value="60"), (*LPA, "value"), "int_type", id="60-as-a-string"),
        pytest.param(story_with(0, value=60.0), (*LPA, "value"), "int_type", id="60-as-a-float"),
        pytest.param(story_with(0, value=True), (*LPA, "value"), "int_type", id="true-as-a-number"),
        pytest.param(story_with(0, value=0), (*LPA, "value"), "greater_than_equal", id="zero-days"),
        pytest.param(story_with(0, value=3651), (*LPA, "value"), "less_than_equal", id="ten-years-and-a-day"),
        pytest.param(story_with(0, field="last_buy_at"), ("rule", "all", 0), "rule_node", id="unknown-field"),
        pytest.param(story_with(0, op="older_than"), LPA[:-1], "union_tag_invalid", id="unknown-op"),
        pytest.param(story_without(0, "op"), LPA[:-1], "union_tag_not_found", id="missing-op"),
        pytest.param(story_without(0, "value"), (*LPA, "value"), "missing", id="missing-operand"),
        pytest.param(story_with(0, date="2025-01-01"), (*LPA, "date"), "extra_forbidden", id="extra-operand"),
        pytest.param(story_without(1, "value"), (*CONSENT, "value"), "missing", id="consent-without-value"),
        pytest.param(
            story_with(1, value="email.ads"), (*CONSENT, "value"), "literal_error", id="unknown-consent"
        ),
        pytest.param(story_with(1, op="eq"), (*CONSENT, "op"), "literal_error", id="consent-eq"),
        pytest.param(
            {**COUNT, "window_days": 14},
            ("rule", "purchase_count", "gte", "window_days"),
            "value_error",
            id="window-14",
        ),
        pytest.param(
            {**COUNT, "window_days": "30"},
            ("rule", "purchase_count", "gte", "window_days"),
            "int_type",
            id="window-as-a-string",
        ),
        pytest.param(
            {k: v for k, v in COUNT.items() if k != "window_days"},
            ("rule", "purchase_count", "gte", "window_days"),
            "missing",
            id="no-window",
        ),
        pytest.param(
            {**SPEND, "currency": "krw"},
            ("rule", "spend", "lt", "currency"),
            "string_pattern_mismatch",
            id="currency-krw",
        ),
        pytest.param(
            {**COUNT, "value": -1},
            ("rule", "purchase_count", "gte", "value"),
            "greater_than_equal",
            id="negative-count",
        ),
        pytest.param(
            {"field": "browsing_s", "op": "between", "min": 5, "max": 4},
            ("rule", "browsing_s", "between"),
            "value_error",
            id="min-above-max",
        ),
        pytest.param(
            {"field": "browsing_s", "op": "between", "min": 5},
            ("rule", "browsing_s", "between", "max"),
            "missing",
            id="between-without-max",
        ),
        pytest.param(
            {"field": "tier", "op": "in", "values": []},
            ("rule", "tier", "in", "values"),
            "too_short",
            id="empty-values",
        ),
        pytest.param(
            {"field": "tier", "op": "in", "values": ["x"] * 101},
            ("rule", "tier", "in", "values"),
            "too_long",
            id="101-values",
        ),
        pytest.param(
            {"field": "tier", "op": "eq", "value": ""},
            ("rule", "tier", "eq", "value"),
            "string_too_short",
            id="empty-value",
        ),
        pytest.param(
            {"field": "tier", "op": "eq", "value": "gold", "values": ["gold"]},
            ("rule", "tier", "eq", "values"),
            "extra_forbidden",
            id="values-for-eq",
        ),
        pytest.param(
            {"field": "groups", "op": "empty", "value": "x"},
            ("rule", "groups", "empty", "value"),
            "extra_forbidden",
            id="operand-for-empty",
        ),
        pytest.param(
            {"field": "last_visit_at", "op": "before", "date": "2025-3-1"},
            ("rule", "last_visit_at", "before", "date"),
            "date_format",
            id="date-not-iso",
        ),
        pytest.param(
            {"field": "last_visit_at", "op": "before", "date": 20250301},
            ("rule", "last_visit_at", "before", "date"),
            "date_format",
            id="date-as-a-number",
        ),
        pytest.param({"all": []}, ("rule", "all"), "too_short", id="empty-all"),
        pytest.param({"any": [STORY] * 21}, ("rule", "any"), "too_long", id="21-children"),
        pytest.param(
            {"all": STORY["all"], "any": STORY["all"]},
            ("rule", "all", "any"),
            "extra_forbidden",
            id="all-and-any-in-one-node",
        ),
        pytest.param("tier exists", ("rule",), "rule_node", id="a-string"),
        pytest.param(nested_nots(6), ("rule",), "value_error", id="depth-7"),
        pytest.param(with_nodes(101), ("rule",), "value_error", id="101-nodes"),
    ],
)
def test_a_broken_rule_is_refused_naming_the_path_to_what_is_wrong(
    rule: Any, loc: tuple[Any, ...], kind: str
) -> None:
    # When a definition with the broken rule is validated
    errors = refused(rule)

    # Then the one error names the path and the kind
    assert [(e["loc"], e["type"]) for e in errors] == [(loc, kind)]


def test_the_limits_say_which_limit() -> None:
    # When a rule 7 nodes deep and one of 101 nodes are validated
    too_deep = refused(nested_nots(6))[0]["msg"]
    too_big = refused(with_nodes(101))[0]["msg"]

    # Then each message names its limit
    assert "depth limit" in too_deep
    assert "6" in too_deep
    assert "node limit" in too_big
    assert "100" in too_big


def test_a_bad_op_deep_inside_is_named_by_its_index_path() -> None:
    # Given a bad operator under all[1] > any[1] > not > all[0]
    bad = {"field": "last_purchase_at", "op": "older_than", "value": 3}
    rule = {"all": [STORY, {"any": [STORY, {"not": {"all": [bad, STORY]}}]}]}

    # When it is validated, in a definition and alone
    errors = refused(rule)
    with pytest.raises(ValidationError) as alone:
        SegmentRule.model_validate(rule)

    # Then the error walks the index path to it, names the field, and tells the known operators
    path = ("all", 1, "any", 1, "not", "all", 0, "last_purchase_at")
    assert [e["loc"] for e in errors] == [("rule", *path)]
    assert errors[0]["type"] == "union_tag_invalid"
    assert errors[0]["ctx"]["tag"] == "older_than"
    assert "not_within_days" in errors[0]["msg"]
    assert [e["loc"] for e in alone.value.errors()] == [path]


def test_a_deep_bad_operand_and_an_unknown_field_are_each_reported() -> None:
    # Given a string for a number deep inside, and an unknown field beside it
    rule = {"any": [{"not": {"field": "browsing_s", "op": "gte", "value": "60"}}, {"field": "age"}]}

    # When it is validated
    errors = refused(rule)

    # Then both are reported at their own paths
    assert [(e["loc"], e["type"]) for e in errors] == [
        (("rule", "any", 0, "not", "browsing_s", "gte", "value"), "int_type"),
        (("rule", "any", 1), "rule_node"),
    ]


@pytest.mark.parametrize(
    ("change", "loc", "kind"),
    [
        ({"name": ""}, ("name",), "string_too_short"),
        ({"name": "x" * 101}, ("name",), "string_too_long"),
        ({"description": "x" * 501}, ("description",), "string_too_long"),
        ({"owner": "me"}, ("owner",), "extra_forbidden"),
    ],
)
def test_a_broken_definition_is_refused(change: dict[str, Any], loc: tuple[str, ...], kind: str) -> None:
    # Given the story's definition, which is accepted
    SegmentDefinition.model_validate(definition(STORY))

    # When one thing is broken
    with pytest.raises(ValidationError) as raised:
        SegmentDefinition.model_validate({**definition(STORY), **change})

    # Then the error names it
    assert [(e["loc"], e["type"]) for e in raised.value.errors()] == [(loc, kind)]


def test_a_ten_thousand_deep_rule_is_refused_without_a_crash() -> None:
    # When a rule nested far past any limit is validated
    errors = refused(nested_nots(10_000))

    # Then it is a validation error, not a recursion error
    assert len(errors) == 1


# --- evaluation: strings, groups, consent ------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "who", "expected"),
    [
        ({"field": "locale", "op": "eq", "value": "ko-KR"}, view(), True),
        ({"field": "locale", "op": "eq", "value": "ko-KR"}, view(locale="en-US"), False),
        ({"field": "locale", "op": "ne", "value": "ko-KR"}, view(locale="en-US"), True),
        ({"field": "time_zone", "op": "in", "values": ["UTC", "Asia/Seoul"]}, view(), True),
        ({"field": "time_zone", "op": "not_in", "values": ["UTC", "Asia/Seoul"]}, view(), False),
        ({"field": "tier", "op": "eq", "value": "gold"}, view(tier="gold"), True),
        ({"field": "tier", "op": "eq", "value": "gold"}, view(), False),
        ({"field": "tier", "op": "ne", "value": "gold"}, view(), True),  # no tier is not gold
        ({"field": "tier", "op": "in", "values": ["gold"]}, view(), False),
        ({"field": "tier", "op": "not_in", "values": ["gold"]}, view(), True),
        ({"field": "tier", "op": "exists"}, view(tier="gold"), True),
        ({"field": "tier", "op": "exists"}, view(), False),
        ({"field": "value_segment", "op": "missing"}, view(), True),
        ({"field": "value_segment", "op": "missing"}, view(value_segment="top"), False),
        ({"field": "groups", "op": "contains", "value": "runners"}, view(groups=["runners"]), True),
        ({"field": "groups", "op": "contains", "value": "runners"}, view(groups=["cyclists"]), False),
        ({"field": "groups", "op": "contains_any", "values": ["a", "b"]}, view(groups=["b", "c"]), True),
        ({"field": "groups", "op": "contains_any", "values": ["a", "b"]}, view(groups=["c"]), False),
        ({"field": "groups", "op": "contains_all", "values": ["a", "b"]}, view(groups=["b", "a", "c"]), True),
        ({"field": "groups", "op": "contains_all", "values": ["a", "b"]}, view(groups=["a", "c"]), False),
        ({"field": "groups", "op": "empty"}, view(), True),
        ({"field": "groups", "op": "empty"}, view(groups=["a"]), False),
        ({"field": "groups", "op": "not_empty"}, view(groups=["a"]), True),
        ({"field": "consent", "op": "granted", "value": "email.marketing"}, view(), False),  # absent
        ({"field": "consent", "op": "not_granted", "value": "email.marketing"}, view(), True),
        (
            {"field": "consent", "op": "granted", "value": "email.marketing"},
            view(consents={"email.marketing": False}),
            False,
        ),
        (
            {"field": "consent", "op": "granted", "value": "email.marketing"},
            view(consents={"email.marketing": True}),
            True,
        ),
        (
            {"field": "consent", "op": "granted", "value": "sms.marketing"},
            view(consents={"email.marketing": True}),
            False,
        ),
        ({"field": "browsing_s", "op": "between", "min": 10, "max": 20}, view(browsing_s=10), True),
        ({"field": "browsing_s", "op": "between", "min": 10, "max": 20}, view(browsing_s=20), True),
        ({"field": "browsing_s", "op": "between", "min": 10, "max": 20}, view(browsing_s=21), False),
    ],
)
def test_each_string_group_consent_and_number_condition(
    rule: dict[str, Any], who: CustomerView, expected: bool
) -> None:
    # When the rule is evaluated for the customer
    # Then it holds as expected
    assert holds(rule, who) is expected


@pytest.mark.parametrize(
    ("op", "expected"),
    [
        ("eq", [False, True, False]),
        ("ne", [True, False, True]),
        ("gt", [False, False, True]),
        ("gte", [False, True, True]),
        ("lt", [True, False, False]),
        ("lte", [True, True, False]),
    ],
)
def test_the_comparisons_on_either_side_of_the_value(op: str, expected: list[bool]) -> None:
    # Given customers with 99, 100 and 101 points expiring
    rule = {"field": "points_expiring", "op": op, "value": 100}

    # Then each comparison holds as expected
    assert [holds(rule, view(points_expiring=n)) for n in (99, 100, 101)] == expected


# --- evaluation: instants ------------------------------------------------------------------------


def test_within_days_includes_the_instant_exactly_that_many_days_ago() -> None:
    # Given purchases exactly 60 days ago and a microsecond earlier
    edge = NOW - timedelta(days=60)
    within = {"field": "last_purchase_at", "op": "within_days", "value": 60}
    lapsed = {"field": "last_purchase_at", "op": "not_within_days", "value": 60}

    # Then the first is within 60 days, the second not
    assert holds(within, view(last_purchase_at=edge))
    assert not holds(lapsed, view(last_purchase_at=edge))
    assert not holds(within, view(last_purchase_at=edge - timedelta(microseconds=1)))
    assert holds(lapsed, view(last_purchase_at=edge - timedelta(microseconds=1)))
    # And an instant in another offset compares as the same instant
    assert holds(within, view(last_purchase_at=edge.astimezone(KST)))


def test_a_customer_who_never_bought_has_not_bought_within_any_days() -> None:
    # Given a customer who never bought, and the story (no purchase for 60 days, e-mail consent)
    never = view(consents={"email.marketing": True})

    # Then they are not within 60 days, are not_within 60 days, and are in the story's segment
    assert not holds({"field": "last_purchase_at", "op": "within_days", "value": 60}, never)
    assert holds({"field": "last_purchase_at", "op": "not_within_days", "value": 60}, never)
    assert holds(STORY, never)
    # And one who bought yesterday, or who did not consent, is not
    assert not holds(
        STORY, view(consents={"email.marketing": True}, last_purchase_at=NOW - timedelta(days=1))
    )
    assert not holds(STORY, view(last_purchase_at=NOW - timedelta(days=61)))
    assert holds(STORY, view(consents={"email.marketing": True}, last_purchase_at=NOW - timedelta(days=61)))


def test_the_same_predicate_follows_now() -> None:
    # Given one compiled rule and a purchase 10 days before NOW
    predicate = compile_rule(
        SegmentRule.model_validate({"field": "last_purchase_at", "op": "within_days", "value": 30})
    )
    who = view(last_purchase_at=NOW - timedelta(days=10))

    # Then it holds at NOW, not 21 days later, and again at NOW
    assert predicate(who, NOW)
    assert not predicate(who, NOW + timedelta(days=21))
    assert predicate(who, NOW)


def test_a_naive_now_is_refused() -> None:
    predicate = compile_rule(
        SegmentRule.model_validate({"field": "last_purchase_at", "op": "within_days", "value": 30})
    )
    with pytest.raises(ValueError, match="aware"):
        predicate(view(last_purchase_at=NOW), NOW.replace(tzinfo=None))


def test_before_and_after_compare_the_date_in_the_customers_own_zone() -> None:
    # Given a visit at 15:30 UTC on 1 March: 00:30 on 2 March in Seoul
    visit = datetime(2025, 3, 1, 15, 30, tzinfo=UTC)
    seoul, london = view(last_visit_at=visit), view(last_visit_at=visit, time_zone="UTC")

    def at(op: str, day: str, who: CustomerView) -> bool:
        return holds({"field": "last_visit_at", "op": op, "date": day}, who)

    # Then for the Seoul customer it was on 2 March: after 1 March, not before 2 March
    assert at("after", "2025-03-01", seoul)
    assert not at("before", "2025-03-02", seoul)
    assert not at("after", "2025-03-02", seoul)  # strictly later
    assert at("before", "2025-03-03", seoul)
    # And for the UTC customer on 1 March: before 2 March, not after 1 March
    assert at("before", "2025-03-02", london)
    assert not at("after", "2025-03-01", london)
    assert not at("before", "2025-03-01", london)  # strictly earlier
    # And a customer with no visit is neither before nor after anything
    assert not at("before", "2030-01-01", view())
    assert not at("after", "2000-01-01", view())


def test_an_unknown_time_zone_falls_back_to_seoul() -> None:
    # Given the same visit for a customer whose zone is not an IANA name
    visit = datetime(2025, 3, 1, 15, 30, tzinfo=UTC)
    who = view(last_visit_at=visit, time_zone="Mars/Olympus")

    # Then dates are taken in Seoul (the visit was on 2 March)
    assert holds({"field": "last_visit_at", "op": "after", "date": "2025-03-01"}, who)


@pytest.mark.parametrize(
    ("instant", "local_day"),
    [
        # 2018-11-04: Sao Paulo skipped from 00:00 to 01:00 (-03:00 -> -02:00)
        (datetime(2018, 11, 4, 2, 59, tzinfo=UTC), date(2018, 11, 3)),
        (datetime(2018, 11, 4, 3, 0, tzinfo=UTC), date(2018, 11, 4)),
        # 2019-02-17: at 00:00 (-02:00) clocks went back to 23:00 on the 16th (-03:00)
        (datetime(2019, 2, 17, 1, 59, tzinfo=UTC), date(2019, 2, 16)),
        (datetime(2019, 2, 17, 2, 30, tzinfo=UTC), date(2019, 2, 16)),
        (datetime(2019, 2, 17, 3, 0, tzinfo=UTC), date(2019, 2, 17)),
    ],
)
def test_local_dates_hold_across_a_midnight_clock_change(instant: datetime, local_day: date) -> None:
    # Given a Sao Paulo customer who registered around a clock change at midnight
    who = view(registered_at=instant, time_zone="America/Sao_Paulo")
    assert instant.astimezone(ZoneInfo("America/Sao_Paulo")).date() == local_day

    def at(op: str, day: date) -> bool:
        return holds({"field": "registered_at", "op": op, "date": day.isoformat()}, who)

    # Then the registration is after the day before its local date and before the day after, only
    assert at("after", local_day - timedelta(days=1))
    assert not at("after", local_day)
    assert at("before", local_day + timedelta(days=1))
    assert not at("before", local_day)


def test_exists_and_missing_instants() -> None:
    registered = view(registered_at=NOW)
    assert holds({"field": "registered_at", "op": "exists"}, registered)
    assert not holds({"field": "registered_at", "op": "missing"}, registered)
    assert holds({"field": "last_visit_at", "op": "missing"}, registered)


# --- evaluation: purchase windows ------------------------------------------------------------------


def bought(*days: str, krw: int = 10_000, **kw: Any) -> CustomerView:
    return view(purchases={d: DayBucket(count=1, spend={"KRW": krw, "USD": 7}) for d in days}, **kw)


def test_a_purchase_window_counts_local_days_and_includes_today() -> None:
    # Given NOW is 15 March in Seoul (14 March in UTC), and purchases on 8, 9 and 15 March
    week = {"field": "purchase_count", "window_days": 7, "op": "eq", "value": 0}
    days = ("2025-03-08", "2025-03-09", "2025-03-15")
    seoul = bought(*days)
    utc = bought(*days[:2], time_zone="UTC")

    def count(who: CustomerView) -> int:
        return next(n for n in range(5) if holds({**week, "value": n}, who))

    # Then the Seoul week (9..15 March) holds two, the UTC week (8..14 March) both earlier ones
    assert count(seoul) == 2
    assert count(utc) == 2
    assert count(bought("2025-03-08")) == 0
    assert count(bought("2025-03-08", time_zone="UTC")) == 1


def test_spend_counts_its_currency_over_the_window_and_between_is_inclusive() -> None:
    # Given 10,000 KRW spent on each of three days within 30 days and one day before the window
    who = bought("2025-03-15", "2025-03-01", "2025-02-14", "2025-02-13")  # window: 14 Feb..15 Mar

    def spend(op: str, **operands: Any) -> bool:
        return holds({"field": "spend", "window_days": 30, "currency": "KRW", "op": op, **operands}, who)

    # Then 30,000 KRW counts, inclusive at both ends; USD is counted apart
    assert spend("eq", value=30_000)
    assert spend("between", min=30_000, max=30_000)
    assert not spend("between", min=30_001, max=40_000)
    assert holds({"field": "spend", "window_days": 30, "currency": "USD", "op": "eq", "value": 21}, who)
    assert holds({"field": "spend", "window_days": 30, "currency": "EUR", "op": "eq", "value": 0}, who)
    assert holds({"field": "purchase_count", "window_days": 365, "op": "between", "min": 4, "max": 4}, who)


# --- evaluation: not, all, any --------------------------------------------------------------------


def test_not_all_and_any_combine() -> None:
    gold = {"field": "tier", "op": "eq", "value": "gold"}
    runner = {"field": "groups", "op": "contains", "value": "runners"}
    rich = {"field": "points_expiring", "op": "gte", "value": 100}
    who = view(tier="gold", groups=["cyclists"], points_expiring=500)

    assert holds({"all": [gold, rich]}, who)
    assert not holds({"all": [gold, runner, rich]}, who)
    assert holds({"any": [runner, rich]}, who)
    assert not holds({"any": [runner, {"not": rich}]}, who)
    assert holds({"not": runner}, who)
    assert not holds({"not": {"not": runner}}, who)
    assert holds({"all": [{"any": [runner, gold]}, {"not": {"all": [runner, rich]}}]}, who)
    assert holds({"all": [{"all": [gold, {"all": [rich]}]}, {"any": [{"any": [runner]}, gold]}]}, who)
    assert not holds({"any": [{"any": [runner]}, {"all": [gold, {"not": gold}]}]}, who)


# --- time_dependent and fields_used ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        (STORY, True),
        ({"field": "consent", "op": "granted", "value": "email.marketing"}, False),
        ({"field": "last_visit_at", "op": "exists"}, False),
        ({"field": "last_visit_at", "op": "after", "date": "2025-01-01"}, False),  # a fixed date
        ({"field": "registered_at", "op": "within_days", "value": 7}, True),
        ({"not": {"any": [{"field": "tier", "op": "exists"}, COUNT]}}, True),
        ({"all": [{"field": "tier", "op": "exists"}, SPEND]}, True),
        ({"field": "points_expiring", "op": "gt", "value": 0}, False),
        (
            {
                "any": [
                    {"field": "groups", "op": "empty"},
                    {"not": {"field": "locale", "op": "eq", "value": "ko"}},
                ]
            },
            False,
        ),
    ],
)
def test_time_dependent(rule: dict[str, Any], expected: bool) -> None:
    assert time_dependent(SegmentRule.model_validate(rule)) is expected


def test_fields_used() -> None:
    rule = SegmentRule.model_validate({"any": [STORY, {"not": {"all": [COUNT, SPEND, COUNT]}}]})
    assert fields_used(rule) == {"last_purchase_at", "consent", "purchase_count", "spend"}
    assert fields_used(rule.root) == fields_used(rule)


# --- the property: the compiled predicate agrees with a naive evaluator ------------------------------


def naive_zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except Exception:
        return ZoneInfo("Asia/Seoul")


def naive(node: dict[str, Any], who: CustomerView, now: datetime) -> bool:
    """Every rule read the slowest, plainest way."""
    if "all" in node:
        return all(naive(kid, who, now) for kid in node["all"])
    if "any" in node:
        return any(naive(kid, who, now) for kid in node["any"])
    if "not" in node:
        return not naive(node["not"], who, now)
    field, op = node["field"], node["op"]
    if field == "consent":
        return bool(who.consents.get(node["value"], False)) == (op == "granted")
    if field == "groups":
        return {
            "contains": lambda: node.get("value") in who.groups,
            "contains_any": lambda: any(g in who.groups for g in node.get("values", [])),
            "contains_all": lambda: all(g in who.groups for g in node.get("values", [])),
            "empty": lambda: len(who.groups) == 0,
            "not_empty": lambda: len(who.groups) > 0,
        }[op]()
    zone = naive_zone(who.time_zone)
    today = now.astimezone(zone).date()
    if field in ("purchase_count", "spend"):
        first = today - timedelta(days=node["window_days"] - 1)
        buckets = [b for d, b in who.purchases.items() if first <= date.fromisoformat(d) <= today]
        if field == "purchase_count":
            number = sum(b.count for b in buckets)
        else:
            number = sum(b.spend.get(node["currency"], 0) for b in buckets)
    else:
        number = getattr(who, field)
    if op in ("exists", "missing"):
        return (number is None) == (op == "missing")
    if op in ("within_days", "not_within_days"):
        recent = number is not None and now - number <= timedelta(days=node["value"])
        return recent == (op == "within_days")
    if op in ("before", "after"):
        if number is None:
            return False
        day, edge = number.astimezone(zone).date(), date.fromisoformat(node["date"])
        return day < edge if op == "before" else day > edge
    if op == "between":
        return node["min"] <= number <= node["max"]
    if op == "in":
        return number in node["values"]
    if op == "not_in":
        return number not in node["values"]
    compare = {
        "eq": lambda a, b: a == b,
        "ne": lambda a, b: a != b,
        "gt": lambda a, b: a > b,
        "gte": lambda a, b: a >= b,
        "lt": lambda a, b: a < b,
        "lte": lambda a, b: a <= b,
    }
    return compare[op](number, node["value"])


ZONES = ["Asia/Seoul", "UTC", "America/Los_Angeles", "America/Sao_Paulo", "Mars/Olympus"]
TIERS = [None, "gold", "silver"]
GROUPS = ["a", "b", "c"]
CONSENTS = ["email.marketing", "sms.marketing", "push.night"]
SPAN = (datetime(2016, 1, 1), datetime(2026, 1, 1))  # noqa: DTZ001 (bounds for aware draws)

instants = st.none() | st.datetimes(*SPAN, timezones=st.sampled_from([UTC, KST]))
nows = st.datetimes(datetime(2018, 1, 1), datetime(2026, 1, 1), timezones=st.just(UTC))  # noqa: DTZ001


@st.composite
def customers(draw: st.DrawFn, now: datetime) -> CustomerView:
    time_zone = draw(st.sampled_from(ZONES))
    today = now.astimezone(naive_zone(time_zone)).date()
    ago = draw(st.lists(st.integers(0, 399), max_size=6, unique=True))
    return view(
        time_zone=time_zone,
        locale=draw(st.sampled_from(["ko-KR", "en-US"])),
        tier=draw(st.sampled_from(TIERS)),
        value_segment=draw(st.sampled_from(TIERS)),
        groups=draw(st.lists(st.sampled_from(GROUPS), max_size=3, unique=True)),
        consents=draw(st.dictionaries(st.sampled_from(CONSENTS), st.booleans())),
        registered_at=draw(instants),
        last_purchase_at=draw(instants),
        last_visit_at=draw(instants),
        browsing_s=draw(st.integers(0, 5)),
        points_expiring=draw(st.integers(0, 5)),
        purchases={
            (today - timedelta(days=n)).isoformat(): DayBucket(
                count=draw(st.integers(1, 2)),
                spend={draw(st.sampled_from(["KRW", "USD"])): draw(st.integers(0, 3))},
            )
            for n in ago
        },
    )


def numeric_ops(base: dict[str, Any], top: int) -> st.SearchStrategy[dict[str, Any]]:
    compared = st.builds(
        lambda op, value: {**base, "op": op, "value": value},
        st.sampled_from(["eq", "ne", "gt", "gte", "lt", "lte"]),
        st.integers(0, top),
    )
    between = st.builds(
        lambda a, b: {**base, "op": "between", "min": min(a, b), "max": max(a, b)},
        st.integers(0, top),
        st.integers(0, top),
    )
    return compared | between


def windowed(field: str) -> st.SearchStrategy[dict[str, Any]]:
    extra = {"currency": "KRW"} if field == "spend" else {}
    return st.sampled_from([7, 30, 90, 365]).flatmap(
        lambda days: numeric_ops({"field": field, "window_days": days, **extra}, 8)
    )


texts = st.sampled_from(["gold", "silver", "ko-KR", "Asia/Seoul", "UTC"])
text_conditions = st.sampled_from(["locale", "time_zone", "value_segment", "tier"]).flatmap(
    lambda field: st.one_of(
        st.builds(lambda op, v: {"field": field, "op": op, "value": v}, st.sampled_from(["eq", "ne"]), texts),
        st.builds(
            lambda op, vs: {"field": field, "op": op, "values": vs},
            st.sampled_from(["in", "not_in"]),
            st.lists(texts, min_size=1, max_size=3),
        ),
        st.sampled_from([{"field": field, "op": "exists"}, {"field": field, "op": "missing"}]),
    )
)
group_conditions = st.one_of(
    st.builds(lambda v: {"field": "groups", "op": "contains", "value": v}, st.sampled_from(GROUPS)),
    st.builds(
        lambda op, vs: {"field": "groups", "op": op, "values": vs},
        st.sampled_from(["contains_any", "contains_all"]),
        st.lists(st.sampled_from([*GROUPS, "z"]), min_size=1, max_size=3),
    ),
    st.sampled_from([{"field": "groups", "op": "empty"}, {"field": "groups", "op": "not_empty"}]),
)
instant_conditions = st.sampled_from(["registered_at", "last_purchase_at", "last_visit_at"]).flatmap(
    lambda field: st.one_of(
        st.builds(
            lambda op, v: {"field": field, "op": op, "value": v},
            st.sampled_from(["within_days", "not_within_days"]),
            st.integers(1, 3650),
        ),
        st.builds(
            lambda op, d: {"field": field, "op": op, "date": d.isoformat()},
            st.sampled_from(["before", "after"]),
            st.dates(date(2016, 1, 1), date(2026, 1, 1)),
        ),
        st.sampled_from([{"field": field, "op": "exists"}, {"field": field, "op": "missing"}]),
    )
)
conditions = st.one_of(
    text_conditions,
    group_conditions,
    st.builds(
        lambda op, v: {"field": "consent", "op": op, "value": v},
        st.sampled_from(["granted", "not_granted"]),
        st.sampled_from(CONSENTS),
    ),
    instant_conditions,
    windowed("purchase_count"),
    windowed("spend"),
    st.sampled_from(["browsing_s", "points_expiring"]).flatmap(lambda f: numeric_ops({"field": f}, 6)),
)
rules = st.recursive(
    conditions,
    lambda kids: st.one_of(
        st.builds(lambda ks: {"all": ks}, st.lists(kids, min_size=1, max_size=3)),
        st.builds(lambda ks: {"any": ks}, st.lists(kids, min_size=1, max_size=3)),
        st.builds(lambda k: {"not": k}, kids),
    ),
    max_leaves=8,
)


def depth(node: dict[str, Any]) -> int:
    kids = node.get("all") or node.get("any") or ([node["not"]] if "not" in node else [])
    return 1 + max((depth(k) for k in kids), default=0)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), rule=rules, now=nows)
def test_the_compiled_rule_agrees_with_a_naive_evaluator(
    data: st.DataObject, rule: dict[str, Any], now: datetime
) -> None:
    # Given a random rule within the depth limit (accepted), and a few customers at one instant
    assume(depth(rule) <= 4)
    who = data.draw(st.lists(customers(now), min_size=1, max_size=4))
    predicate = compile_rule(SegmentRule.model_validate(rule))
    twice_negated = compile_rule(SegmentRule.model_validate({"not": {"not": rule}}))

    # Then the compiled predicate agrees with the naive reading for each, and not-not is the rule
    for customer in who:
        expected = naive(rule, customer, now)
        assert predicate(customer, now) is expected
        assert twice_negated(customer, now) is expected


def test_a_number_beyond_any_real_amount_is_refused() -> None:
    # Given the largest amount a rule may name, accepted (the base case)
    SegmentRule.model_validate(
        {"field": "spend", "window_days": 365, "currency": "KRW", "op": "gte", "value": 10**15}
    )
    # When one more is asked for, Then it is refused at the value
    with pytest.raises(ValidationError) as refused:
        SegmentRule.model_validate({"field": "browsing_s", "op": "gte", "value": 10**15 + 1})
    assert refused.value.errors()[0]["type"] == "less_than_equal"

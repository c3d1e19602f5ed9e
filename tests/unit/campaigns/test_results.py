"""A campaign's result against its control group: Newcombe's interval against the paper's worked
examples and against simulated campaigns, "too small to tell", the revenue figures, the edge cases
that must not divide by zero, and the CSV export marketing opens in Excel."""

from __future__ import annotations

import csv
import io
import math
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.campaigns.logic.results import (
    CSV_HEADER,
    METHOD,
    MIN_GROUP,
    Group,
    newcombe,
    result,
    to_csv,
)
from services.campaigns.models.results import Result, Results

# Newcombe 1998, Table II: 95% intervals by method 10 (hybrid score, no continuity correction).
NEWCOMBE_TABLE_II = [
    ((56, 70, 48, 80), 0.2000, 0.0524, 0.3339),
    ((9, 10, 3, 10), 0.6000, 0.1705, 0.8090),
    ((0, 10, 0, 20), 0.0000, -0.1611, 0.2775),  # nobody converts on either side
    ((10, 10, 0, 20), 1.0000, 0.6791, 1.0000),  # everybody against nobody
]


@pytest.mark.parametrize(("counts", "difference", "low", "high"), NEWCOMBE_TABLE_II)
def test_the_interval_reproduces_newcombes_published_examples(
    counts: tuple[int, int, int, int], difference: float, low: float, high: float
) -> None:
    # Given the paper's counts (x1 of n1 against x2 of n2)
    # When the interval is computed
    got = newcombe(*counts)
    # Then it is the published one to 4 decimals
    assert [round(v, 4) for v in got] == [difference, low, high]


def test_a_result_carries_the_published_example_as_its_lift() -> None:
    # Given 56 of 70 recipients and 48 of 80 held-out customers converted
    r = result(Group(70, 56, 0), Group(80, 48, 0), currency="KRW")
    # Then the lift is 20 points, 0.0524 to 0.3339, a third more than the control's 60%
    assert r.verdict == "measured"
    assert r.lift is not None
    assert (r.lift.absolute, round(r.lift.low, 4), round(r.lift.high, 4)) == (0.2, 0.0524, 0.3339)
    assert r.lift.relative == pytest.approx(1 / 3)
    assert r.lift.method == METHOD == "Newcombe hybrid score interval (Wilson), 95%"
    assert r.incremental_conversions == 14.0  # (0.8 - 0.6) x 70


def _simulated(rng: random.Random, *, recipients: int = 2000, control_share: float = 0.1) -> Result:
    control = round(recipients * control_share)
    treated = recipients - control
    conversions = sum(rng.random() < 0.20 for _ in range(treated))
    control_conversions = sum(rng.random() < 0.10 for _ in range(control))
    return result(Group(treated, conversions, 0), Group(control, control_conversions, 0), currency="KRW")


def test_the_interval_covers_the_true_effect_about_95_percent_of_the_time() -> None:
    # Given 200 simulated campaigns of 2,000 customers, 10% held out, converting at 10% without
    # the message and 20% with it (a true effect of 0.10)
    rng = random.Random(20261224)  # noqa: S311 - a seeded simulation, not a secret
    runs = [_simulated(rng) for _ in range(200)]
    # When each reports its interval
    covered = sum(r.lift is not None and r.lift.low <= 0.10 <= r.lift.high for r in runs)
    # Then about 95% of them contain the true effect
    assert 0.90 <= covered / len(runs) <= 0.99


def test_one_simulated_campaign_reports_an_interval_around_the_true_effect() -> None:
    # Given one simulated campaign (fixed seed) with a true effect of 0.10
    r = _simulated(random.Random(7))  # noqa: S311 - a seeded simulation, not a secret
    # Then it is measured, with 1,800 recipients against 200 held out, and its interval holds 0.10
    assert (r.verdict, r.recipients, r.control) == ("measured", 1800, 200)
    assert r.lift is not None
    assert r.lift.low <= 0.10 <= r.lift.high
    assert r.lift.low > 0  # and it shows the message worked


def test_a_campaign_of_twenty_is_too_small_to_tell() -> None:
    # Given 18 recipients and 2 held out
    r = result(Group(18, 3, 45_000), Group(2, 0, 0), currency="KRW", period="2026-12")
    # Then it says so, why, and prints no lift nor incremental figures
    assert r.verdict == "too_small"
    assert r.reason == (
        f"treatment group of 18 (at least {MIN_GROUP} needed); control group of 2 (at least 30 needed)"
    )
    assert (r.lift, r.incremental_revenue, r.incremental_conversions) == (None, None, None)
    # but still the counts and rates it has
    assert (r.period, r.conversions, r.conversion_rate, r.control_rate) == ("2026-12", 3, 3 / 18, 0.0)


def test_a_small_control_group_alone_is_too_small() -> None:
    # Given plenty of recipients but a control group of 29
    r = result(Group(5000, 400, 0), Group(MIN_GROUP - 1, 2, 0), currency="KRW")
    # Then only the control group is named
    assert (r.verdict, r.reason) == ("too_small", "control group of 29 (at least 30 needed)")
    # and at exactly MIN_GROUP it is measured
    assert result(Group(5000, 400, 0), Group(MIN_GROUP, 2, 0), currency="KRW").verdict == "measured"


def test_revenue_per_recipient_and_incremental_revenue_are_exact() -> None:
    # Given 1,000 recipients spending ₩3,000,000 against 100 held out spending ₩150,000
    r = result(Group(1000, 120, 3_000_000), Group(100, 8, 150_000), currency="KRW")
    # Then ₩3,000 and ₩1,500 per customer, ₩1,500 more for each of 1,000 recipients
    assert (r.revenue_per_recipient, r.control_revenue_per_recipient) == (3000.0, 1500.0)
    assert r.incremental_revenue == 1_500_000
    assert r.incremental_conversions == 40.0  # (12% - 8%) x 1,000
    assert r.lift is not None
    assert r.lift.relative == 0.5


def test_incremental_revenue_rounds_to_a_minor_unit() -> None:
    # Given 31 recipients spending 100 cents and 30 held out spending 7
    r = result(Group(31, 5, 100), Group(30, 1, 7), currency="USD")
    # Then (100/31 - 7/30) x 31 = 92.77 cents rounds to 93
    assert r.incremental_revenue == 93
    assert r.revenue_per_recipient == pytest.approx(100 / 31)
    # and a loss is a negative figure: 30 cents against 9,000 / 30 x 31 = 9,300
    assert result(Group(31, 1, 30), Group(30, 1, 9000), currency="USD").incremental_revenue == -9270


def test_nobody_converting_gives_a_zero_lift_and_still_an_interval() -> None:
    # Given nobody converted on either side
    r = result(Group(500, 0, 0), Group(50, 0, 0), currency="KRW")
    # Then the lift is 0 with a real interval around it, and no relative lift (the control's rate is 0)
    assert r.lift is not None
    assert r.lift.absolute == 0.0
    assert r.lift.low < 0 < r.lift.high
    assert r.lift.relative is None
    assert (r.conversion_rate, r.control_rate, r.incremental_revenue) == (0.0, 0.0, 0)


def test_everybody_converting_stays_within_bounds() -> None:
    # Given everybody converted on both sides
    r = result(Group(40, 40, 4000), Group(30, 30, 3000), currency="KRW")
    # Then the lift is 0, the interval within [-1, 1], nothing is NaN
    assert r.lift is not None
    assert (r.lift.absolute, r.lift.relative) == (0.0, 0.0)
    assert -1 <= r.lift.low < 0 < r.lift.high <= 1
    assert "NaN" not in r.model_dump_json()


@pytest.mark.parametrize(
    ("treatment", "control", "reason"),
    [
        (Group(100, 10, 1000), Group(0, 0, 0), "control group of 0 (at least 30 needed)"),
        (Group(0, 0, 0), Group(100, 10, 1000), "treatment group of 0 (at least 30 needed)"),
        (
            Group(0, 0, 0),
            Group(0, 0, 0),
            "treatment group of 0 (at least 30 needed); control group of 0 (at least 30 needed)",
        ),
    ],
)
def test_an_empty_group_divides_nothing_by_zero(treatment: Group, control: Group, reason: str) -> None:
    # Given a group nobody is in (no control configured, or nobody sent yet)
    r = result(treatment, control, currency="KRW")
    # Then it is too small, and that group's rates are null rather than NaN or an error
    assert (r.verdict, r.reason, r.lift) == ("too_small", reason, None)
    if control.recipients == 0:
        assert (r.control_rate, r.control_revenue_per_recipient) == (None, None)
    if treatment.recipients == 0:
        assert (r.conversion_rate, r.revenue_per_recipient) == (None, None)
    assert "NaN" not in r.model_dump_json()
    cells = [cell.lower() for row in _rows(to_csv("cmp_1", "x", [r])) for cell in row.values()]
    assert not {"nan", "inf", "-inf"} & set(cells)


@pytest.mark.parametrize(("recipients", "conversions"), [(-1, 0), (10, 11), (10, -1)])
def test_impossible_counts_are_refused(recipients: int, conversions: int) -> None:
    # Given a count that cannot be (a bug in the caller's counting)
    # Then it is refused rather than shown as a rate outside 0-100%
    with pytest.raises(ValueError, match="conversions"):
        Group(recipients, conversions, 0)


def _group(max_n: int = 5000) -> st.SearchStrategy[tuple[int, int]]:
    return st.integers(1, max_n).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n)))


@given(treatment=_group(), control=_group())
def test_the_interval_holds_the_estimate_and_stays_within_minus_one_and_one(
    treatment: tuple[int, int], control: tuple[int, int]
) -> None:
    # Given any counts on either side
    # When the interval is computed
    absolute, low, high = newcombe(*treatment, *control)
    # Then it contains the estimate, within [-1, 1], and nothing is NaN
    assert -1 <= low <= absolute <= high <= 1
    assert not any(math.isnan(v) for v in (absolute, low, high))


@given(treatment=_group(500), control=_group(500), factor=st.integers(2, 20))
def test_the_interval_narrows_as_the_groups_grow(
    treatment: tuple[int, int], control: tuple[int, int], factor: int
) -> None:
    # Given the same rates on both sides, from groups `factor` times larger
    (x1, n1), (x2, n2) = treatment, control
    _, low, high = newcombe(x1, n1, x2, n2)
    _, big_low, big_high = newcombe(x1 * factor, n1 * factor, x2 * factor, n2 * factor)
    # Then the interval is narrower
    assert big_high - big_low < high - low


@given(treatment=_group(), control=_group())
def test_a_measured_result_is_consistent(treatment: tuple[int, int], control: tuple[int, int]) -> None:
    # Given any counts (and revenue of ₩1,000 a conversion)
    (x1, n1), (x2, n2) = treatment, control
    r = result(Group(n1, x1, x1 * 1000), Group(n2, x2, x2 * 1000), currency="KRW")
    # Then a result is measured exactly when both groups reach MIN_GROUP, and then holds its estimate
    assert (r.verdict == "measured") == (min(n1, n2) >= MIN_GROUP)
    if r.lift is not None:
        assert r.lift.low <= r.lift.absolute <= r.lift.high
        assert r.incremental_conversions == pytest.approx(r.lift.absolute * n1)
        assert r.incremental_revenue == pytest.approx(r.lift.absolute * n1 * 1000, abs=0.5)


def _rows(text: str) -> list[dict[str, str]]:
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert tuple(rows[0]) == CSV_HEADER
    return [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]


def test_the_csv_round_trips_overall_first_then_each_period() -> None:
    # Given a triggered campaign's results, a name with a comma and quotes, a too-small month
    overall = result(Group(1000, 120, 3_000_000), Group(100, 8, 150_000), currency="KRW")
    december = result(Group(900, 100, 2_500_000), Group(90, 7, 140_000), currency="KRW", period="2026-12")
    january = result(Group(20, 2, 50_000), Group(2, 0, 0), currency="KRW", period="2027-01")
    name = 'Winback, 60 days "no purchase"'
    # When it is exported (overall given last)
    rows = _rows(to_csv("cmp_01JD6Y8A4D1N9V2Q7Y3G5K8M0P", name, [december, january, overall]))
    # Then csv.reader reads back the overall row first, as "all", then the months in order
    assert [r["period"] for r in rows] == ["all", "2026-12", "2027-01"]
    first = rows[0]
    assert (first["campaign_id"], first["campaign_name"], first["currency"]) == (
        "cmp_01JD6Y8A4D1N9V2Q7Y3G5K8M0P",
        name,
        "KRW",
    )
    assert overall.lift is not None
    assert float(first["lift"]) == overall.lift.absolute
    assert float(first["lift_low"]) == overall.lift.low  # no precision lost
    assert (first["relative_lift"], first["incremental_revenue"], first["revenue"]) == (
        "0.5",
        "1500000",
        "3000000",
    )
    assert (first["revenue_per_recipient"], first["control_revenue_per_recipient"]) == ("3000.0", "1500.0")
    assert (first["verdict"], first["reason"], first["method"]) == ("measured", "", METHOD)
    # and the too-small month has its reason and empty lift cells
    small = rows[2]
    assert small["verdict"] == "too_small"
    assert (
        small["reason"]
        == "treatment group of 20 (at least 30 needed); control group of 2 (at least 30 needed)"
    )
    assert [small[c] for c in ("lift", "lift_low", "lift_high", "relative_lift", "incremental_revenue")] == [
        ""
    ] * 5


@pytest.mark.parametrize("name", ['=HYPERLINK("http://evil","x")', "+1+2", "-2+3", "@SUM(A1)", "\t=1"])
def test_a_name_excel_would_read_as_a_formula_is_quoted(name: str) -> None:
    # Given a campaign named like a formula
    r = result(Group(100, 10, 0), Group(100, 5, 0), currency="KRW")
    # When it is exported
    (row,) = _rows(to_csv("cmp_1", name, [r]))
    # Then the name is prefixed with a single quote, so Excel shows it as text
    assert row["campaign_name"] == "'" + name
    # while a negative number stays a number
    assert float(row["lift_low"]) < 0


def test_an_ordinary_name_is_left_alone() -> None:
    r = result(Group(100, 10, 0), Group(100, 5, 0), currency="KRW")
    (row,) = _rows(to_csv("cmp_1", "단골 winback 3+1", [r]))
    assert row["campaign_name"] == "단골 winback 3+1"


def test_the_model_refuses_nan_and_documents_its_fields() -> None:
    # Given a result with a NaN slipped in
    good = result(Group(100, 10, 0), Group(100, 5, 0), currency="KRW")
    # Then validation refuses it
    with pytest.raises(ValueError, match="finite"):
        Result.model_validate({**good.model_dump(), "revenue_per_recipient": float("nan")})
    # and the OpenAPI schema explains every field of a result
    schema = Results.model_json_schema()
    for model in (schema, schema["$defs"]["Result"], schema["$defs"]["Lift"]):
        properties = model["properties"]
        assert all("description" in p for p in properties.values()), model["title"]
    assert (
        Results(campaign_id="cmp_1", name="x", attribution_days=7, overall=good, periods=[]).overall.verdict
        == "measured"
    )

"""Insights (``logic.insights``): the week of a mention in Seoul, the counters it adds (joined with
its customer's value segment), the digest a week's counters and cases make. Intake
(``logic.intake``): a delivery claimed before anything is kept, released when taking it fails, each
mention kept once and published once."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta

from services.feedback.logic import cases, insights, intake
from services.feedback.models.intake import Classified
from services.feedback.models.mention import Classification, Mention

AT = datetime(2026, 12, 6, 16, 0, tzinfo=UTC)  # Monday 7 December, 01:00 in Seoul
C1, C2 = "cus_01JF0000000000000000000001", "cus_01JF0000000000000000000002"


def classified(*, complaint: bool = True, request: bool = False, customer: str | None = None) -> Classified:
    return Classified(
        mention=Mention(source="x", external_id="1", author_handle="minji", text="t", posted_at=AT),
        found=Classification(
            language="ko",
            sentiment="negative",
            complaint=complaint,
            request=request,
            score=-0.5,
            themes=("wait", "quality"),
            products=("latte",),
            stores=("gangnam",),
        ),
        customer_id=customer,
        received_at=AT,
    )


def test_a_mention_counts_in_its_week_in_seoul_monday_to_sunday() -> None:
    # Sunday 15:59 UTC is Monday 00:59 in Seoul: the next ISO week
    assert insights.week_of(AT) == "2026-W50"
    assert insights.week_of(AT - timedelta(hours=1, minutes=1)) == "2026-W49"
    starts, ends = insights.week_bounds("2026-W50")
    assert (starts, ends - starts) == (datetime(2026, 12, 6, 15, 0, tzinfo=UTC), timedelta(days=7))


def test_the_counters_of_a_complaint_of_a_linked_customer_carry_their_value_segment() -> None:
    counts = insights.counters(classified(customer=C1), "top")
    assert counts["mentions"] == counts["complaints"] == counts["segment:top"] == 1
    assert counts["theme:wait"] == counts["theme_complaint:wait"] == counts["theme_segment:wait:top"] == 1
    assert counts["product:latte"] == counts["store:gangnam"] == 1
    assert "requests" not in counts
    assert insights.counters(classified(), None)["segment:unlinked"] == 1


def test_the_digest_ranks_themes_shows_unmet_needs_and_the_sla_figures() -> None:
    counts: Counter[str] = Counter()
    for found, segment in [
        (classified(customer=C1), "top"),
        (classified(customer=C2), "loyal"),
        (classified(complaint=False, request=True), None),
    ]:
        counts.update(insights.counters(found, segment))
    opened = cases.open_case(
        case_id="case_01JF0000000000000000000000",
        origin="mention",
        customer_id=C1,
        subject="s",
        description=None,
        category="service",
        store_id=None,
        priority="normal",
        by="system",
        now=AT,
    ).case
    resolved = cases.transition(
        opened, "resolved", by="a", now=AT + timedelta(hours=1), resolution="r", one_stop=True
    )
    digest = insights.digest("2026-W50", counts, [resolved.case], ["말차 라떼 다시 팔아주세요"], now=AT)
    assert [r.key for r in digest.themes] == ["quality", "wait"]  # most mentioned first, ties by name
    wait = digest.themes[1]
    assert (wait.key, wait.mentions, wait.complaints, wait.requests) == ("wait", 3, 2, 1)
    assert wait.segments == {"loyal": 1, "top": 1}
    assert [r.key for r in digest.unmet_needs][:2] == ["quality", "wait"] or digest.unmet_needs[
        0
    ].requests == 1
    assert digest.request_samples == ["말차 라떼 다시 팔아주세요"]
    assert (digest.sla.cases, digest.sla.one_stop_pct, digest.sla.first_response_met_pct) == (1, 100.0, 100.0)


# -- intake -------------------------------------------------------------------------------------


class Store:
    def __init__(self) -> None:
        self.claims: set[str] = set()
        self.kept: dict[str, Classified] = {}
        self.published: list[str] = []

    def keep(self, delivery: str, found: Sequence[Classified], now: datetime) -> list[Classified]:
        if delivery in self.claims:
            raise PermissionError("replayed")
        fresh = [c for c in found if c.key not in self.kept]
        self.claims.add(delivery)
        self.kept |= {c.key: c for c in fresh}
        return fresh

    def publish(self, found: Classified) -> None:
        self.published.append(found.key)


class Handles:
    def customers(self, handles: Sequence[tuple[str, str]]) -> Mapping[tuple[str, str], str]:
        return (
            {("x", "minji_eats"): "cus_01JF0000000000000000000009"} if ("x", "minji_eats") in handles else {}
        )


class Parsed:
    def __init__(self, *mentions: Mention) -> None:
        self.mentions, self.failures, self.skipped = list(mentions), [], 0


def mention(external_id: str, handle: str = "minji_eats") -> Mention:
    return Mention(
        source="x", external_id=external_id, author_handle=handle, text="라떼가 식었어요. 최악", posted_at=AT
    )


def test_a_delivery_keeps_each_new_mention_once_links_it_and_publishes_it() -> None:
    store = Store()
    taken = intake.take(
        Parsed(mention("1"), mention("2", "Other")), delivery="d1", store=store, handles=Handles(), now=AT
    )
    assert (taken.accepted, taken.duplicates) == (2, 0)
    assert store.kept["x#1"].customer_id == "cus_01JF0000000000000000000009"
    assert store.kept["x#2"].customer_id is None
    assert store.published == ["x#1", "x#2"]
    # the same mention in another delivery: counted, not kept or published again
    again = intake.take(Parsed(mention("1")), delivery="d2", store=store, handles=Handles(), now=AT)
    assert (again.accepted, again.duplicates) == (0, 1)
    assert store.published == ["x#1", "x#2"]

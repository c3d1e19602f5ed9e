"""Goodwill granted on a complaint case (the feedback service's ``GoodwillRequested``), credited by
``services.rewards.logic.goodwill`` over the in-memory ledger store: once per grant, with the case
on the entry, within the agent's daily limit (one counter with the staff route's goodwill), and
answered once, by ``GoodwillCredited`` or ``GoodwillRefused``, in the same write as its effect."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from services.rewards.logic import goodwill, ledger
from services.rewards.models import inbound
from services.rewards.models.events import GoodwillCredited, GoodwillRefused, PointsEarned
from shared.errors import Conflict
from shared.events import DomainEvent
from shared.ids import new_id
from tests.unit.rewards.memory_ledger import InMemoryLedgerStore

CUSTOMER = "cus_01JD5Z8Q6M3X7N2P4R9T0V1W2Y"
AGENT = "agent-kim"
LIMIT = 500
NOW = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
DAY = "2026-03-10"


def request(points: int = 100, **more: object) -> inbound.GoodwillRequested:
    data = {
        "grant_id": new_id("gw"),
        "case_id": new_id("case"),
        "customer_id": CUSTOMER,
        "agent_id": AGENT,
        "points": points,
        "reason": "late delivery, apologies",
        "requested_at": NOW - timedelta(minutes=1),
        **more,
    }
    return inbound.GoodwillRequested.model_validate(data)


@pytest.fixture
def store() -> InMemoryLedgerStore:
    memory = InMemoryLedgerStore()
    assert ledger.open_account(memory, CUSTOMER, now=NOW - timedelta(days=30))
    return memory


def grant(store: InMemoryLedgerStore, req: inbound.GoodwillRequested, now: datetime = NOW) -> str:
    return goodwill.case_grant(store, req, limit=LIMIT, now=now)


def staff_goodwill(store: InMemoryLedgerStore, points: int, *, now: datetime = NOW) -> ledger.Applied:
    """What ``POST /customers/{id}/points/adjustments`` does (``handlers/api.py``)."""
    return ledger.adjust(
        store,
        customer_id=CUSTOMER,
        points=points,
        source=f"adjust:{new_id('key')}",
        actor=AGENT,
        reason="staff goodwill",
        now=now,
        expires_at=now + goodwill.GOODWILL_VALID,
        allowance=goodwill.allowance(AGENT, now, LIMIT),
    )


def answers(store: InMemoryLedgerStore) -> list[DomainEvent]:
    return [e for e in store.published if isinstance(e, GoodwillCredited | GoodwillRefused)]


def balance(store: InMemoryLedgerStore) -> int:
    account = store.account(CUSTOMER)
    assert account is not None
    return account.balance


def granted_today(store: InMemoryLedgerStore, day: str = DAY) -> int:
    return store.counter("goodwill", f"{AGENT}#{day}").get("granted", 0)


def test_a_grant_within_the_limit_is_credited_with_the_case_on_its_entry(store: InMemoryLedgerStore) -> None:
    # Given an agent's grant of 120 points on a case
    req = request(120)
    # When the rewards service acts on it
    assert grant(store, req) == "credited"
    # Then one goodwill entry credits them, by the agent, with the reason, the grant and the case
    (entry,) = store.all_entries(CUSTOMER)
    assert (entry.type, entry.kind, entry.points, entry.actor) == ("adjust", "adjust", 120, AGENT)
    assert (entry.source, entry.case_id, entry.reason) == (
        f"goodwill:{req.grant_id}",
        req.case_id,
        req.reason,
    )
    assert entry.expires_at == NOW + goodwill.GOODWILL_VALID  # as the staff route's goodwill
    assert balance(store) == 120
    # And the agent's day counts them
    assert granted_today(store) == 120
    # And GoodwillCredited answers the grant, in the credit's own write (with PointsEarned)
    (answer,) = answers(store)
    assert answer == GoodwillCredited(
        grant_id=req.grant_id,
        case_id=req.case_id,
        customer_id=CUSTOMER,
        points=120,
        entry_id=entry.id,
        credited_at=NOW,
    )
    assert any(isinstance(e, PointsEarned) and e.source == entry.source for e in store.published)


def test_a_redelivered_grant_credits_nothing_twice_and_publishes_nothing_new(
    store: InMemoryLedgerStore,
) -> None:
    # Given a grant credited once
    req = request(100)
    assert grant(store, req) == "credited"
    published = len(store.published)
    # When the same request comes again (at once, and the next day)
    assert grant(store, req) == "duplicate"
    assert grant(store, req, NOW + timedelta(days=1)) == "duplicate"
    # Then nothing more is credited, counted or published
    assert len(store.all_entries(CUSTOMER)) == 1
    assert (balance(store), granted_today(store)) == (100, 100)
    assert len(store.published) == published


def test_a_redelivery_racing_its_original_credits_once(store: InMemoryLedgerStore) -> None:
    # Given a grant whose redelivery commits while the first delivery is committing
    req = request(100)
    outcomes: list[str] = []
    store.interpose_at_commit = lambda: outcomes.append(grant(store, req))
    # When the first delivery commits (loses its condition, reads again and finds the credit)
    outcomes.append(grant(store, req))
    # Then one delivery credited, the other found it: one entry, one answer
    assert outcomes == ["credited", "duplicate"]
    assert len(store.all_entries(CUSTOMER)) == 1
    assert len(answers(store)) == 1


def test_a_grant_over_the_limit_is_refused_with_no_credit(store: InMemoryLedgerStore) -> None:
    # Given an agent who granted 450 of their 500 today on another case
    assert grant(store, request(450)) == "credited"
    # When they grant 60 more on a case
    req = request(60)
    # Then it is refused: nothing credited, nothing counted
    assert grant(store, req) == "goodwill_limit_reached"
    assert (balance(store), granted_today(store)) == (450, 450)
    assert len(store.all_entries(CUSTOMER)) == 1
    # And GoodwillRefused answers it
    assert answers(store)[-1] == GoodwillRefused(
        grant_id=req.grant_id,
        case_id=req.case_id,
        customer_id=CUSTOMER,
        reason="goodwill_limit_reached",
        refused_at=NOW,
    )


def test_a_grant_above_the_whole_limit_is_refused_before_anything_is_written(
    store: InMemoryLedgerStore,
) -> None:
    # When one grant asks for more than the agent may give in a day
    assert grant(store, request(LIMIT + 1)) == "goodwill_limit_reached"
    # Then nothing was credited or counted, and the refusal is the one answer
    assert (balance(store), granted_today(store)) == (0, 0)
    assert [type(e) for e in answers(store)] == [GoodwillRefused]


def test_a_refusal_is_answered_once_and_the_grant_is_never_credited_after(store: InMemoryLedgerStore) -> None:
    # Given a grant refused at the limit
    assert grant(store, request(LIMIT)) == "credited"
    req = request(50)
    assert grant(store, req) == "goodwill_limit_reached"
    published = len(store.published)
    # When it comes again the next day, when the agent's new day has room
    assert grant(store, req, NOW + timedelta(days=1)) == "duplicate"
    # Then it is still the refusal: nothing credited, nothing published
    assert balance(store) == LIMIT
    assert len(store.published) == published
    # And the ledger itself will not credit its source (a redelivery racing the refusal)
    with pytest.raises(Conflict) as refused:
        ledger.adjust(
            store,
            customer_id=CUSTOMER,
            points=50,
            source=goodwill.grant_source(req.grant_id),
            actor=AGENT,
            reason=req.reason,
            now=NOW,
            expires_at=NOW + goodwill.GOODWILL_VALID,
        )
    assert refused.value.code == "source_refused"


def test_the_staff_route_and_the_cases_share_one_daily_limit(store: InMemoryLedgerStore) -> None:
    # Given an agent who gave 300 points through the staff route today
    staff_goodwill(store, 300)
    # When they grant 250 on a case, then 200
    over, within = request(250), request(200)
    # Then the first would pass the day's 500 and is refused; the second fits and is credited
    assert grant(store, over) == "goodwill_limit_reached"
    assert grant(store, within) == "credited"
    assert (balance(store), granted_today(store)) == (500, 500)
    # And the staff route now finds the day full too
    with pytest.raises(Conflict) as refused:
        staff_goodwill(store, 1)
    assert refused.value.code == "goodwill_limit_reached"


def test_a_grant_counts_on_the_utc_day_it_was_made_not_the_day_it_arrives(
    store: InMemoryLedgerStore,
) -> None:
    # Given an agent who used their whole day through the staff route
    staff_goodwill(store, LIMIT)
    # When a grant they made late that day (23:59 UTC, 08:59 in Seoul the next day) arrives after midnight
    made = datetime(2026, 3, 10, 23, 59, tzinfo=UTC).astimezone(ZoneInfo("Asia/Seoul"))
    assert grant(store, request(10, requested_at=made), NOW + timedelta(hours=16)) == "goodwill_limit_reached"
    # Then it was refused by that day's limit; a grant made the next day counts on that day
    assert (
        grant(store, request(10, requested_at=NOW + timedelta(days=1)), NOW + timedelta(days=1)) == "credited"
    )
    assert (granted_today(store), granted_today(store, "2026-03-11")) == (LIMIT, 10)


def test_a_customer_without_an_account_is_refused_and_stays_refused() -> None:
    # Given a customer with no points account yet
    store = InMemoryLedgerStore()
    req = request(100)
    # When a grant for them arrives
    assert grant(store, req) == "account_not_found"
    # Then it is refused (no account is opened for it), and answered so
    assert store.account(CUSTOMER) is None
    (answer,) = answers(store)
    assert isinstance(answer, GoodwillRefused)
    assert answer.reason == "account_not_found"
    # And once their account opens, a redelivery still credits nothing: the grant was answered
    ledger.open_account(store, CUSTOMER, now=NOW)
    assert grant(store, req) == "duplicate"
    assert (balance(store), len(answers(store))) == (0, 1)


def test_an_erased_customer_is_refused(store: InMemoryLedgerStore) -> None:
    # Given a customer whose person was erased
    ledger.pseudonymise(store, CUSTOMER, now=NOW)
    # When a grant for them arrives
    # Then it is refused as the staff route refuses it, and nothing is credited
    assert grant(store, request(100)) == "customer_erased"
    assert balance(store) == 0
    assert [getattr(e, "reason", None) for e in answers(store)] == ["customer_erased"]


def test_a_credited_grant_stays_answered_after_the_customer_is_erased(store: InMemoryLedgerStore) -> None:
    # Given a grant credited, then the customer erased
    req = request(100)
    assert grant(store, req) == "credited"
    ledger.pseudonymise(store, CUSTOMER, now=NOW)
    # When the request comes again
    # Then it is the same answer: nothing new is published (no refusal after the credit)
    assert grant(store, req) == "duplicate"
    assert [type(e) for e in answers(store)] == [GoodwillCredited]
    # And the entry keeps its case (an id, not free text), its reason gone
    (entry,) = store.all_entries(CUSTOMER)
    assert (entry.case_id, entry.reason) == (req.case_id, "erased")


def test_a_grant_id_sent_again_with_other_points_changes_nothing(store: InMemoryLedgerStore) -> None:
    # Given a grant credited
    req = request(100)
    assert grant(store, req) == "credited"
    published = len(store.published)
    # When the same grant id comes with other points (a producer's bug)
    # Then nothing changes and nothing is published: the grant was answered
    assert grant(store, req.model_copy(update={"points": 150})) == "grant_reused"
    assert (balance(store), len(store.published)) == (100, published)

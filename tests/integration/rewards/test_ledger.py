"""The points ledger's operations on moto: credits make lots, spends draw the soonest-expiring
lots first, refunds reverse exactly what was earned (a debt for what was spent), holds draw and
give back to the exact lots, expiry never touches a lot twice, every replay has no effect, and
``verify`` finds no drift."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.rewards.dal.identity import customer_id_of, link_subject
from services.rewards.dal.keys import account_key, job_key
from services.rewards.dal.ledger import DynamoLedgerStore
from services.rewards.logic import ledger
from services.rewards.logic.ledger import Allowance, Purchase
from services.rewards.topology import REWARDS
from shared import aws
from shared.dynamo import Backoff
from shared.errors import BadRequest, Conflict, NotFound
from shared.events import EventPublisher
from shared.ids import new_id
from tests.integration.conftest import scan_all, table

NOW = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
SOON = NOW + timedelta(days=10)
LATER = NOW + timedelta(days=200)


@pytest.fixture
def store(tables: dict[str, str], bus: str) -> DynamoLedgerStore:
    return make_store(bus)


def make_store(bus: str) -> DynamoLedgerStore:
    publisher = EventPublisher(bus, "dangol.rewards", aws.client("events"))
    return DynamoLedgerStore(table(REWARDS), publisher, backoff=Backoff(base_s=0.02, cap_s=2.0, attempts=30))


def earn(
    store: DynamoLedgerStore,
    customer: str,
    points: int,
    source: str,
    *,
    expires_at: datetime = LATER,
    **more: Any,
) -> ledger.Applied:
    return ledger.credit(
        store,
        customer_id=customer,
        points=points,
        kind=more.pop("kind", "earn"),
        source=source,
        expires_at=expires_at,
        actor="system",
        reason="purchase",
        now=more.pop("now", NOW),
        **more,
    )


def spend(
    store: DynamoLedgerStore, customer: str, points: int, source: str, now: datetime = NOW
) -> ledger.Applied:
    return ledger.redeem(
        store, customer_id=customer, points=points, source=source, actor="till", reason="redeem", now=now
    )


def assert_no_drift(store: DynamoLedgerStore, customer: str) -> None:
    drift = ledger.verify(store, customer)
    assert drift.ok, drift


def raw_items(prefix: str) -> list[dict[str, Any]]:
    return [i for i in scan_all(REWARDS) if i["sk"]["S"].startswith(prefix)]


# --- credits -------------------------------------------------------------------------------------


def test_a_credit_opens_the_account_makes_a_lot_on_the_due_index_and_publishes(
    store: DynamoLedgerStore,
) -> None:
    # Given a new customer
    customer = new_id("cus")
    # When a purchase earns 120 points
    buy = Purchase("pur_1", "KRW", 12_000, 12_000, "2026-03")
    applied = earn(store, customer, 120, "purchase:pur_1", purchase=buy, rule_version=3)
    # Then the account holds them in one lot that the expiry job can find
    assert applied.created
    assert (applied.entry.type, applied.entry.points, applied.entry.balance) == ("earn", 120, 120)
    assert applied.entry.rule_version == 3
    (lot,) = store.open_lots(customer)
    assert (lot.points, lot.remaining, lot.expires_at, lot.entry_id) == (120, 120, LATER, applied.entry.id)
    (item,) = raw_items("LOT#")
    assert item["due_day"]["S"].startswith(LATER.date().isoformat())
    # ... the month's qualifying totals count it, and PointsEarned left the outbox
    qual = table(REWARDS).get({"pk": f"ACCT#{customer}", "sk": "QUAL#2026-03"})
    assert qual is not None
    assert (qual["spend"], qual["points"]) == (12_000, 120)
    assert not [i for i in scan_all(REWARDS) if i["pk"]["S"].startswith("OUTBOX#")]
    view = ledger.account(store, customer, now=NOW)
    assert (view.balance, view.lifetime_earned, view.next_expiry) == (120, 120, LATER)
    assert_no_drift(store, customer)


def test_a_replayed_credit_has_no_effect_and_a_reused_source_is_refused(store: DynamoLedgerStore) -> None:
    # Given a credit
    customer = new_id("cus")
    first = earn(store, customer, 50, "purchase:pur_2")
    # When the same event arrives again
    again = earn(store, customer, 50, "purchase:pur_2")
    # Then the first entry comes back and nothing changed
    assert (again.created, again.entry) == (False, first.entry)
    assert ledger.account(store, customer, now=NOW).balance == 50
    assert len(raw_items("ENTRY#")) == 1
    # And the same source with other points is a conflict
    with pytest.raises(Conflict) as refused:
        earn(store, customer, 60, "purchase:pur_2")
    assert refused.value.code == "source_reused"


def test_zero_points_are_refused_and_open_account_is_idempotent(store: DynamoLedgerStore) -> None:
    customer = new_id("cus")
    with pytest.raises(BadRequest) as refused:
        earn(store, customer, 0, "purchase:none")
    assert refused.value.code == "invalid_points"
    assert ledger.open_account(store, customer, now=NOW) is True
    assert ledger.open_account(store, customer, now=NOW) is False
    assert ledger.account(store, customer, now=NOW).balance == 0


# --- spends --------------------------------------------------------------------------------------


def test_a_redemption_draws_the_soonest_expiring_unexpired_lots_first(store: DynamoLedgerStore) -> None:
    # Given three lots: one already past its expiry (not yet expired by the job), one soon, one later
    customer = new_id("cus")
    old = earn(store, customer, 30, "p:old", expires_at=NOW - timedelta(hours=1), now=NOW - timedelta(days=1))
    soon = earn(store, customer, 40, "p:soon", expires_at=SOON)
    later = earn(store, customer, 100, "p:later", expires_at=LATER)
    # When 70 points are redeemed
    applied = spend(store, customer, 70, "order:1")
    # Then the soon lot is used up first, the rest comes from the later lot; the expired one is untouched
    draws = [(d.lot_id, d.points) for d in applied.entry.draws]
    assert draws == [(soon.entry.lot_id, 40), (later.entry.lot_id, 30)]
    assert (applied.entry.points, applied.entry.balance) == (-70, 100)
    remaining = {lot.id: lot.remaining for lot in store.open_lots(customer)}
    assert remaining == {old.entry.lot_id: 30, later.entry.lot_id: 70}
    # ... and the emptied lot left the due index
    emptied = [i for i in raw_items("LOT#") if i["id"]["S"] == soon.entry.lot_id]
    assert "due_day" not in emptied[0]
    assert_no_drift(store, customer)


def test_a_redemption_beyond_the_spendable_points_is_refused_and_writes_nothing(
    store: DynamoLedgerStore,
) -> None:
    customer = new_id("cus")
    earn(store, customer, 30, "p:a")
    earn(store, customer, 20, "p:expired", expires_at=NOW - timedelta(minutes=1), now=NOW - timedelta(days=1))
    before = scan_all(REWARDS)
    # When 40 are asked but only 30 are unexpired
    with pytest.raises(Conflict) as refused:
        spend(store, customer, 40, "order:too-much")
    # Then it is refused and nothing was written
    assert refused.value.code == "insufficient_points"
    assert scan_all(REWARDS) == before
    with pytest.raises(NotFound) as unknown:
        spend(store, new_id("cus"), 1, "order:x")
    assert unknown.value.code == "account_not_found"


# --- refunds -------------------------------------------------------------------------------------


def test_a_refund_reverses_its_own_lot_first_and_records_the_shortfall_as_debt(
    store: DynamoLedgerStore,
) -> None:
    # Given a purchase that earned 100 points, 80 of them since redeemed, and another lot of 10
    customer = new_id("cus")
    buy = Purchase("pur_3", "KRW", 10_000, 9_000, "2026-03")
    earned = earn(store, customer, 100, "purchase:pur_3", purchase=buy, expires_at=SOON)
    earn(store, customer, 10, "p:other", expires_at=LATER)
    spend(store, customer, 80, "order:2")
    # When the purchase is refunded
    reverse = ledger.reverse(
        store,
        customer_id=customer,
        earned_source="purchase:pur_3",
        source="refund:r1",
        actor="system",
        reason="refund",
        now=NOW,
    )
    # Then its own lot's 20 and the other lot's 10 are taken, and the missing 70 become a debt
    assert reverse is not None
    entry = reverse.entry
    assert (entry.draws[0].lot_id, entry.draws[0].points) == (earned.entry.lot_id, 20)
    assert (-entry.points, entry.debt_added, -entry.points + entry.debt_added) == (30, 70, 100)
    view = ledger.account(store, customer, now=NOW)
    assert (view.balance, view.debt) == (0, 70)
    qual = table(REWARDS).get({"pk": f"ACCT#{customer}", "sk": "QUAL#2026-03"})
    assert qual is not None
    assert (qual["spend"], qual["points"]) == (0, 0)
    # And a second refund of the same purchase (even another refund id) has no effect
    again = ledger.reverse(
        store,
        customer_id=customer,
        earned_source="purchase:pur_3",
        source="refund:r2",
        actor="system",
        reason="refund",
        now=NOW,
    )
    assert again is not None
    assert (again.created, again.entry.id) == (False, entry.id)
    # And the next earn pays the debt first
    paid = earn(store, customer, 100, "purchase:pur_4")
    assert (paid.entry.debt_settled, paid.entry.points, paid.entry.balance) == (70, 30, 30)
    assert ledger.account(store, customer, now=NOW).debt == 0
    assert_no_drift(store, customer)


def test_a_refund_of_a_purchase_that_earned_nothing_is_none(store: DynamoLedgerStore) -> None:
    customer = new_id("cus")
    earn(store, customer, 5, "p:x")
    assert (
        ledger.reverse(
            store,
            customer_id=customer,
            earned_source="purchase:none",
            source="refund:r",
            actor="system",
            reason="refund",
            now=NOW,
        )
        is None
    )


def test_an_earn_entirely_paying_a_debt_makes_no_lot(store: DynamoLedgerStore) -> None:
    customer = new_id("cus")
    earn(store, customer, 50, "purchase:a")
    spend(store, customer, 50, "order:a")
    ledger.reverse(
        store,
        customer_id=customer,
        earned_source="purchase:a",
        source="refund:a",
        actor="s",
        reason="r",
        now=NOW,
    )
    paid = earn(store, customer, 20, "purchase:b")
    assert (paid.entry.points, paid.entry.debt_settled, paid.entry.lot_id) == (0, 20, None)
    assert ledger.account(store, customer, now=NOW).debt == 30
    assert_no_drift(store, customer)


# --- goodwill ------------------------------------------------------------------------------------


def test_goodwill_stays_within_the_agents_daily_limit_in_the_same_transaction(
    store: DynamoLedgerStore,
) -> None:
    customer = new_id("cus")
    ledger.open_account(store, customer, now=NOW)
    allowance = Allowance("agent-1", "2026-03-10", 100)

    def grant(points: int, source: str) -> ledger.Applied:
        return ledger.adjust(
            store,
            customer_id=customer,
            points=points,
            source=source,
            actor="agent-1",
            reason="sorry",
            now=NOW,
            expires_at=LATER,
            allowance=allowance,
        )

    # Given the agent granted 70 and took back 20 today
    assert grant(70, "adjust:1").entry.type == "adjust"
    taken = grant(-20, "adjust:2")
    assert (taken.entry.points, taken.entry.balance) == (-20, 50)
    # When they try 20 more (70 + 20 + 20 > 100)
    before = scan_all(REWARDS)
    with pytest.raises(Conflict) as refused:
        grant(20, "adjust:3")
    # Then it is refused and nothing was written; 10 still fit
    assert refused.value.code == "goodwill_limit_reached"
    assert scan_all(REWARDS) == before
    grant(10, "adjust:4")
    day = table(REWARDS).get({"pk": "AGENT#agent-1", "sk": "GOODWILL#2026-03-10"})
    assert day is not None
    assert day["granted"] == 100
    # And a replay of an earlier grant counts nothing again
    assert grant(70, "adjust:1").created is False
    assert ledger.account(store, customer, now=NOW).balance == 60
    assert_no_drift(store, customer)


# --- holds ---------------------------------------------------------------------------------------


def hold(store: DynamoLedgerStore, customer: str, order: str, points: int, **more: Any) -> tuple[Any, bool]:
    return ledger.place_hold(
        store,
        customer_id=customer,
        order_id=order,
        points=points,
        expires_at=more.pop("expires_at", NOW + timedelta(minutes=15)),
        actor="pos",
        now=more.pop("now", NOW),
    )


def test_a_partial_capture_redeems_part_and_gives_the_rest_back_latest_expiring_first(
    store: DynamoLedgerStore,
) -> None:
    # Given 40 soon and 100 later points, and a hold of 60 (40 soon + 20 later)
    customer = new_id("cus")
    soon = earn(store, customer, 40, "p:soon", expires_at=SOON)
    later = earn(store, customer, 100, "p:later", expires_at=LATER)
    held, created = hold(store, customer, "ord-1", 60)
    assert created
    assert [(d.lot_id, d.points) for d in held.draws] == [(soon.entry.lot_id, 40), (later.entry.lot_id, 20)]
    view = ledger.account(store, customer, now=NOW)
    assert (view.balance, view.held) == (80, 60)
    # When 50 are captured
    captured = ledger.capture(store, customer_id=customer, order_id="ord-1", points=50, actor="pos", now=NOW)
    # Then 10 go back to the later lot and nothing is held
    assert (captured.status, captured.captured_points, captured.released_points) == ("captured", 50, 10)
    remaining = {lot.id: lot.remaining for lot in store.open_lots(customer)}
    assert remaining == {later.entry.lot_id: 90}
    view = ledger.account(store, customer, now=NOW)
    assert (view.balance, view.held) == (90, 0)
    # And a replayed capture returns the same hold; a release of it is refused
    again = ledger.capture(store, customer_id=customer, order_id="ord-1", points=None, actor="pos", now=NOW)
    assert again == captured
    with pytest.raises(Conflict) as refused:
        ledger.release(store, customer_id=customer, order_id="ord-1", actor="pos", now=NOW)
    assert refused.value.code == "hold_not_active"
    assert_no_drift(store, customer)


def test_a_hold_is_idempotent_per_order_and_a_release_restores_the_exact_lots(
    store: DynamoLedgerStore,
) -> None:
    customer = new_id("cus")
    earn(store, customer, 100, "p:1")
    first, _ = hold(store, customer, "ord-2", 30)
    again, created = hold(store, customer, "ord-2", 30)
    assert (again, created) == (first, False)
    with pytest.raises(Conflict) as reused:
        hold(store, customer, "ord-2", 31)
    assert reused.value.code == "order_id_reused"
    released = ledger.release(store, customer_id=customer, order_id="ord-2", actor="pos", now=NOW)
    assert released.status == "released"
    assert ledger.release(store, customer_id=customer, order_id="ord-2", actor="pos", now=NOW) == released
    assert [lot.remaining for lot in store.open_lots(customer)] == [100]
    with pytest.raises(Conflict) as inactive:
        ledger.capture(store, customer_id=customer, order_id="ord-2", points=None, actor="pos", now=NOW)
    assert inactive.value.code == "hold_not_active"
    with pytest.raises(NotFound) as missing:
        ledger.capture(store, customer_id=customer, order_id="nope", points=None, actor="pos", now=NOW)
    assert missing.value.code == "hold_not_found"
    assert_no_drift(store, customer)


def test_an_overdue_hold_cannot_be_captured_it_is_released_as_expired(store: DynamoLedgerStore) -> None:
    customer = new_id("cus")
    earn(store, customer, 100, "p:1")
    hold(store, customer, "ord-3", 30)
    late = NOW + timedelta(minutes=16)
    with pytest.raises(Conflict) as expired:
        ledger.capture(store, customer_id=customer, order_id="ord-3", points=None, actor="pos", now=late)
    assert expired.value.code == "hold_expired"
    found = store.hold(customer, "ord-3")
    assert found is not None
    assert found.status == "expired"
    assert ledger.expire_hold(store, customer_id=customer, order_id="ord-3", now=late) is None
    assert ledger.account(store, customer, now=late).balance == 100
    assert_no_drift(store, customer)


def test_a_hold_released_after_its_lot_expired_puts_the_points_back_due_now(store: DynamoLedgerStore) -> None:
    # Given a hold drawn from a lot that expires while it is held
    customer = new_id("cus")
    lot = earn(store, customer, 50, "p:short", expires_at=NOW + timedelta(minutes=5))
    hold(store, customer, "ord-4", 50, expires_at=NOW + timedelta(minutes=15))
    # When the hold is released after the lot's expiry
    after = NOW + timedelta(minutes=10)
    ledger.release(store, customer_id=customer, order_id="ord-4", actor="pos", now=after)
    # Then the lot is open again, due now, and the next expiry run takes it
    (item,) = [i for i in raw_items("LOT#") if i["id"]["S"] == lot.entry.lot_id]
    assert item["due_at"]["S"].startswith("2026-03-10T09:10:00Z")
    sk = item["sk"]["S"]
    gone = ledger.expire_lot(store, customer_id=customer, lot_sk=sk, now=after)
    assert gone is not None
    assert (gone.entry.type, gone.entry.points) == ("expire", -50)
    assert_no_drift(store, customer)


# --- expiry --------------------------------------------------------------------------------------


def test_expiry_takes_a_due_lot_once_and_claws_back_an_unused_pregrant(store: DynamoLedgerStore) -> None:
    # Given a pre-grant of 30 (job j1) of which 10 were used, and an earn lot
    customer = new_id("cus")
    job = "job_1"
    table(REWARDS).put({**job_key(job), "type": "job"})
    pre = earn(store, customer, 30, f"grant:{job}", kind="pregrant", job_id=job, expires_at=SOON)
    assert pre.entry.type == "pre-grant"
    account = table(REWARDS).get(account_key(customer))
    assert account is not None
    assert account["pregrants"] == {job: "2026-03-20T09:00:00Z"}
    buy = Purchase("pur_9", "KRW", 5_000, 5_000, "2026-03")
    earn(store, customer, 5, "purchase:pur_9", purchase=buy)
    spend(store, customer, 10, "order:p")
    sk = next(lot.sort_key for lot in store.open_lots(customer) if lot.kind == "pregrant")
    # When it is not yet due, nothing happens
    assert ledger.expire_lot(store, customer_id=customer, lot_sk=sk, now=NOW) is None
    # When it is due
    due = SOON + timedelta(seconds=1)
    clawed = ledger.expire_lot(store, customer_id=customer, lot_sk=sk, now=due)
    # Then its 20 unused points are clawed back, once
    assert clawed is not None
    assert (clawed.entry.type, clawed.entry.points) == ("claw-back", -20)
    assert ledger.expire_lot(store, customer_id=customer, lot_sk=sk, now=due) is None
    report = table(REWARDS).get(job_key(job))
    assert report is not None
    assert (report["used_points"], report["clawed_back_points"]) == (10, 20)
    assert (report["purchases_while_open"], report["spend_while_open#KRW"]) == (1, 5_000)
    account = table(REWARDS).get(account_key(customer))
    assert account is not None
    assert account["pregrants"] == {}
    assert_no_drift(store, customer)


# --- reads, identity, erasure ---------------------------------------------------------------------


def test_history_pages_newest_first(store: DynamoLedgerStore) -> None:
    customer = new_id("cus")
    ids = [earn(store, customer, n + 1, f"p:{n}").entry.id for n in range(5)]
    first, after = ledger.history(store, customer, after=None, limit=2)
    second, after2 = ledger.history(store, customer, after=after, limit=2)
    third, end = ledger.history(store, customer, after=after2, limit=2)
    assert [e.id for e in first + second + third] == ids[::-1]
    assert end is None
    view = ledger.account(store, customer, now=NOW)
    assert view.expiring_within_30_days == 0


def test_erasure_drops_free_text_and_the_login_link_but_keeps_the_numbers(store: DynamoLedgerStore) -> None:
    customer = new_id("cus")
    earn(store, customer, 10, "p:1")
    link_subject(table(REWARDS), "sub-1", customer)
    assert customer_id_of(table(REWARDS), "sub-1") == customer
    ledger.pseudonymise(store, customer, now=NOW)
    ledger.pseudonymise(store, customer, now=NOW)
    assert customer_id_of(table(REWARDS), "sub-1") is None
    assert {e.reason for e in store.all_entries(customer)} == {"erased"}
    assert ledger.account(store, customer, now=NOW).balance == 10
    assert_no_drift(store, customer)

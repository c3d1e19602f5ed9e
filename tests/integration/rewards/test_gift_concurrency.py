"""Limited-stock gifts under concurrency: the stock never goes below zero and the per-customer
limit holds, however many qualifying purchases arrive at once.

Each thread is a separate consumer with its own store; ``serialized_moto`` answers one call at a
time, so the races exercised are between our transactions (their conditions), not inside moto.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.rewards.dal.keys import account_key
from services.rewards.dal.offers import DynamoOfferStore
from services.rewards.logic import gifts
from services.rewards.models.offers import GiftCreate, GiftOutcome
from services.rewards.topology import REWARDS
from shared.events import EventPublisher
from shared.ids import new_id
from tests.integration.conftest import scan_all, table

pytestmark = pytest.mark.usefixtures("serialized_moto")
NOW = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


def offers(bus: str) -> DynamoOfferStore:
    return DynamoOfferStore(table(REWARDS), EventPublisher(bus, "dangol.rewards"))


def instant_gift(bus: str, *, stock: int, per_customer_limit: int) -> str:
    spec = GiftCreate(
        name="Limited tumbler",
        stock=stock,
        per_customer_limit=per_customer_limit,
        mode="instant",
        starts_at=NOW - timedelta(days=1),
        ends_at=NOW + timedelta(days=1),
        min_total=10000,
        currency="KRW",
    )
    return gifts.create_gift(offers(bus), spec, clock=lambda: NOW, new_id=lambda: new_id("gft")).id


def with_accounts(customers: list[str]) -> None:
    table(REWARDS).batch_write(puts=[{**account_key(c), "customer_id": c} for c in customers])


def all_at_once(bus: str, purchases: list[tuple[str, str]]) -> list[GiftOutcome]:
    """Every (customer, purchase) recorded at the same moment, each by its own consumer."""
    barrier = threading.Barrier(len(purchases))

    def record(customer: str, purchase: str) -> list[GiftOutcome]:
        store = offers(bus)
        barrier.wait(timeout=30)
        return gifts.on_purchase(
            store,
            customer_id=customer,
            purchase_id=purchase,
            store_id="s1",
            currency="KRW",
            total=15000,
            at=NOW,
        )

    with ThreadPoolExecutor(max_workers=len(purchases)) as pool:
        futures = [pool.submit(record, c, p) for c, p in purchases]
        return [o for f in futures for o in f.result(timeout=120)]


def items(prefix: str) -> list[dict[str, Any]]:
    return [i for i in scan_all(REWARDS) if i["sk"]["S"].startswith(prefix)]


def remaining(bus: str, gift_id: str) -> int:
    found = offers(bus).gift(gift_id)
    assert found is not None
    return found.remaining


def test_200_customers_claiming_a_stock_of_10_at_once_get_exactly_10(
    tables: dict[str, str], bus: str
) -> None:
    # Given an instant gift with a stock of 10, one per customer, and 200 customers with accounts
    gift_id = instant_gift(bus, stock=10, per_customer_limit=1)
    customers = [new_id("cus") for _ in range(200)]
    with_accounts(customers)
    # When all 200 make a qualifying purchase at the same moment
    outcomes = all_at_once(bus, [(c, f"pur-{n}") for n, c in enumerate(customers)])
    # Then exactly 10 won, the others found it sold out, and the stock is 0, never below
    statuses = [o.status for o in outcomes]
    assert (statuses.count("granted"), statuses.count("sold_out")) == (10, 190)
    assert remaining(bus, gift_id) == 0
    # And the grants on record agree: 10 claims, 10 customers holding one each
    assert len(items("CLAIM#")) == 10
    holders = items(f"GIFTS#{gift_id}")
    assert len(holders) == 10
    assert {int(h["count"]["N"]) for h in holders} == {1}


def test_one_customer_with_20_purchases_at_once_gets_no_more_than_the_limit(
    tables: dict[str, str], bus: str
) -> None:
    # Given an instant gift with a stock of 10 and a limit of 2 per customer
    gift_id = instant_gift(bus, stock=10, per_customer_limit=2)
    customer = new_id("cus")
    with_accounts([customer])
    # When the customer's 20 different purchases are recorded at once
    outcomes = all_at_once(bus, [(customer, f"pur-{n}") for n in range(20)])
    # Then exactly 2 were granted, and the stock lost exactly 2
    statuses = [o.status for o in outcomes]
    assert (statuses.count("granted"), statuses.count("limit_reached")) == (2, 18)
    assert remaining(bus, gift_id) == 8
    (holding,) = items(f"GIFTS#{gift_id}")
    assert int(holding["count"]["N"]) == 2


def test_the_same_purchase_replayed_at_once_wins_once(tables: dict[str, str], bus: str) -> None:
    # Given an instant gift with a generous limit
    gift_id = instant_gift(bus, stock=10, per_customer_limit=5)
    customer = new_id("cus")
    with_accounts([customer])
    # When one purchase is delivered ten times at once (a retried event)
    outcomes = all_at_once(bus, [(customer, "pur-once")] * 10)
    # Then it won once; the others were duplicates
    statuses = [o.status for o in outcomes]
    assert (statuses.count("granted"), statuses.count("duplicate")) == (1, 9)
    assert remaining(bus, gift_id) == 9


def test_no_grant_leaves_an_event_behind_in_the_outbox(tables: dict[str, str], bus: str) -> None:
    # Given grants made concurrently
    instant_gift(bus, stock=3, per_customer_limit=1)
    customers = [new_id("cus") for _ in range(5)]
    with_accounts(customers)
    outcomes = all_at_once(bus, [(c, f"pur-{n}") for n, c in enumerate(customers)])
    assert [o.status for o in outcomes].count("granted") == 3
    # Then each GiftGranted was published at once (the outbox is empty)
    assert [i for i in scan_all(REWARDS) if i["pk"]["S"].startswith("OUTBOX#")] == []

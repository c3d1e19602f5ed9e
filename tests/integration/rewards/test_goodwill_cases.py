"""Goodwill granted on a complaint case, on moto, delivered as AWS delivers it: the feedback
service's ``GoodwillRequested`` on the bus (source ``dangol.feedback``), the rule
``rewards-feedback-events``, the ``rewards-events`` consumer. Credited once whatever is
redelivered, with the case on the ledger entry, within the agent's daily limit (shared with the
staff route), and answered once on the bus by ``GoodwillCredited`` or ``GoodwillRefused``."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

from infra.local import provision
from infra.topology import SYSTEM
from services.rewards.dal.ledger import DynamoLedgerStore
from services.rewards.logic import goodwill, ledger
from services.rewards.models.events import GoodwillRefused
from services.rewards.models.ledger import Claim
from services.rewards.topology import API, EVENTS, EVENTS_QUEUE, GRANTER, GRANTS_QUEUE, PROGRAMS_API, REWARDS
from shared.clock import iso
from shared.errors import Conflict
from shared.events import Envelope, EventPublisher, RecordedEvent
from shared.ids import new_id
from shared.topology import Function
from tests.integration.apigw import Invoker
from tests.integration.conftest import FROZEN_AT, STAGE, BusWatch, QueueDrain, table
from tests.integration.rewards_world import WATCHED, Rewards, items

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish:UserWarning")

AGENT = "agent-kim"
LIMIT = 5000  # GOODWILL_DAILY_LIMIT in the topology
ADJUSTMENTS = "/customers/{customer_id}/points/adjustments"
HISTORY = "/customers/{customer_id}/points/history"


@pytest.fixture
def world(moto: None, bus: str, lambda_function: Callable[[Function], Invoker], frozen_clock: Any) -> Rewards:
    """The rewards service on moto (every function's clock at FROZEN_AT), watching its goodwill
    answers on the bus too."""
    clients = (boto3.client("sqs"), boto3.client("sns"), boto3.client("events"))
    messaging = provision.create_messaging(clients, SYSTEM, stage=STAGE, bus=bus)  # type: ignore[arg-type]
    return Rewards(
        bus=bus,
        api=lambda_function(API),
        programs=lambda_function(PROGRAMS_API),
        events=QueueDrain(lambda_function(EVENTS), messaging, EVENTS_QUEUE),
        grants=QueueDrain(lambda_function(GRANTER), messaging, GRANTS_QUEUE),
        published=BusWatch(bus, [*WATCHED, "GoodwillCredited", "GoodwillRefused"]).data,
    )


def goodwill_requested(world: Rewards, customer_id: str, points: int, **changes: Any) -> dict[str, Any]:
    """An agent grants points on a case: the feedback service publishes GoodwillRequested."""
    data = {
        "grant_id": new_id("gw"),
        "case_id": new_id("case"),
        "customer_id": customer_id,
        "agent_id": AGENT,
        "points": points,
        "reason": "The cake arrived crushed; sorry.",
        "requested_at": iso(FROZEN_AT),
        **changes,
    }
    event = RecordedEvent("GoodwillRequested", "1", data)
    EventPublisher(world.bus, "dangol.feedback").publish([Envelope(event, occurred_at=datetime.now(UTC))])
    return data


def staff_goodwill(world: Rewards, customer_id: str, points: int) -> int:
    """The same agent's goodwill through the staff route: the response's status."""
    return world.call(
        world.api,
        "POST",
        ADJUSTMENTS,
        {"customer_id": customer_id},
        body={"points": points, "reason": "on the phone"},
        groups="agent",
        sub=AGENT,
        headers={"Idempotency-Key": new_id("key")},
    ).status


def history(world: Rewards, customer_id: str) -> list[dict[str, Any]]:
    response = world.call(world.api, "GET", HISTORY, {"customer_id": customer_id}, groups="agent")
    assert response.status == 200, response.body
    return list(response.json()["items"])


def test_a_case_grant_is_credited_once_with_its_case_and_answered_once(world: Rewards) -> None:
    # Given a registered customer (1,000 sign-up points)
    customer_id = world.register()
    world.published("PointsEarned")
    # When an agent grants 300 points on a case, the request is published twice (the producer's
    # retry) and every message is delivered again (SQS's at-least-once)
    grant = goodwill_requested(world, customer_id, 300)
    goodwill_requested(world, customer_id, 300, grant_id=grant["grant_id"], case_id=grant["case_id"])
    assert world.events() == 2
    world.events.deliver(world.events.delivered[-2:])
    # Then the points are credited once
    assert world.points(customer_id)["balance"] == 1300
    (entry,) = [e for e in items(customer_id, "ENTRY#") if e["source"] == f"goodwill:{grant['grant_id']}"]
    # And one GoodwillCredited answers the grant, naming the ledger entry
    (credited,) = world.published("GoodwillCredited")
    assert credited == {
        "grant_id": grant["grant_id"],
        "case_id": grant["case_id"],
        "customer_id": customer_id,
        "points": 300,
        "entry_id": entry["id"],
        "credited_at": iso(FROZEN_AT),
    }
    assert world.published("GoodwillRefused") == []
    assert len(world.published("PointsEarned")) == 1
    # And the staff's history shows the entry with its case, its agent and its reason
    (shown,) = [e for e in history(world, customer_id) if e["id"] == entry["id"]]
    assert (shown["type"], shown["points"], shown["case_id"]) == ("adjust", 300, grant["case_id"])
    assert (shown["actor"], shown["reason"]) == (AGENT, grant["reason"])
    # And so does the customer's own
    mine = world.call(world.api, "GET", "/me/points/history", groups="customer", sub=f"sub-{customer_id}")
    assert [e["case_id"] for e in mine.json()["items"] if e["id"] == entry["id"]] == [grant["case_id"]]


def test_a_case_grant_over_the_agents_daily_limit_is_refused_and_answered_once(world: Rewards) -> None:
    # Given an agent who gave 4,900 of their 5,000 points today through the staff route
    customer_id = world.register()
    assert staff_goodwill(world, customer_id, LIMIT - 100) == 201
    before = world.points(customer_id)["balance"]
    # When they grant 200 on a case (delivered twice)
    grant = goodwill_requested(world, customer_id, 200)
    world.events()
    world.events.deliver(world.events.delivered[-1:])
    # Then nothing is credited
    assert world.points(customer_id)["balance"] == before
    assert not [e for e in items(customer_id, "ENTRY#") if e["source"].startswith("goodwill:")]
    # And one GoodwillRefused says why
    (refused,) = world.published("GoodwillRefused")
    assert refused == {
        "grant_id": grant["grant_id"],
        "case_id": grant["case_id"],
        "customer_id": customer_id,
        "reason": "goodwill_limit_reached",
        "refused_at": iso(FROZEN_AT),
    }
    assert world.published("GoodwillCredited") == []
    # And 100 more on a case still fit the day, after which the staff route finds it full
    goodwill_requested(world, customer_id, 100)
    world.events()
    assert len(world.published("GoodwillCredited")) == 1
    assert world.points(customer_id)["balance"] == before + 100
    assert staff_goodwill(world, customer_id, 1) == 409


def test_a_grant_for_a_customer_without_an_account_is_refused_and_consumed(world: Rewards) -> None:
    # When a grant arrives for a customer the rewards service does not know
    customer_id = new_id("cus")
    grant = goodwill_requested(world, customer_id, 100)
    # Then the message is consumed (no failure: a refusal is an answer), and answered
    world.events(expect_failures=0)
    (refused,) = world.published("GoodwillRefused")
    assert (refused["grant_id"], refused["reason"]) == (grant["grant_id"], "account_not_found")
    # And no account was opened for it
    assert items(customer_id, "ENTRY#") == []


def test_a_malformed_grant_is_a_bad_event(world: Rewards) -> None:
    # When a GoodwillRequested comes without its case (a contract break)
    customer_id = world.register()
    data = {
        "grant_id": new_id("gw"),
        "customer_id": customer_id,
        "agent_id": AGENT,
        "points": 100,
        "reason": "sorry",
        "requested_at": iso(FROZEN_AT),
    }
    event = RecordedEvent("GoodwillRequested", "1", data)
    EventPublisher(world.bus, "dangol.feedback").publish([Envelope(event, occurred_at=datetime.now(UTC))])
    # Then it fails (to the DLQ after its receives), crediting nothing and answering nothing
    world.events(expect_failures=1)
    assert world.points(customer_id)["balance"] == 1000
    assert world.published("GoodwillCredited") == world.published("GoodwillRefused") == []


def test_the_store_claims_a_grant_once_credited_or_refused(world: Rewards) -> None:
    # Given the ledger store on moto, a customer, one grant credited and one not yet answered
    store = DynamoLedgerStore(table(REWARDS), EventPublisher(world.bus, "dangol.rewards"))
    customer_id = world.register()
    credited = goodwill_requested(world, customer_id, 100)
    world.events()
    world.published("GoodwillCredited")
    fresh = goodwill.grant_source(new_id("gw"))

    def refusal(source: str) -> tuple[Claim, list[GoodwillRefused]]:
        answer = GoodwillRefused(
            grant_id=source.removeprefix("goodwill:"),
            case_id=new_id("case"),
            customer_id=customer_id,
            reason="goodwill_limit_reached",
            refused_at=FROZEN_AT,
        )
        return Claim(source, None, 100, refused="goodwill_limit_reached"), [answer]

    # When each is refused, the fresh one twice
    # Then only the fresh one's first refusal is written and published
    assert store.refuse(customer_id, *refusal(fresh), at=FROZEN_AT)
    assert not store.refuse(customer_id, *refusal(fresh), at=FROZEN_AT)
    assert not store.refuse(customer_id, *refusal(goodwill.grant_source(credited["grant_id"])), at=FROZEN_AT)
    assert [r["grant_id"] for r in world.published("GoodwillRefused")] == [fresh.removeprefix("goodwill:")]
    assert store.claim(customer_id, fresh) == Claim(fresh, None, 100, refused="goodwill_limit_reached")
    # And the refused source is never credited after
    with pytest.raises(Conflict) as refused:
        ledger.adjust(
            store,
            customer_id=customer_id,
            points=100,
            source=fresh,
            actor=AGENT,
            reason="again",
            now=FROZEN_AT,
            expires_at=FROZEN_AT + goodwill.GOODWILL_VALID,
        )
    assert refused.value.code == "source_refused"
    assert world.points(customer_id)["balance"] == 1100

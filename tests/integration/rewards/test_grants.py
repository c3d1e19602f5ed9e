"""Story 5, "predicted points": marketing awards points to many customers in one call, or grants
them ahead of a purchase with a short expiry; what is unused is clawed back, and the report says
what the grant did."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.rewards.dal.expiry import DynamoExpiryStore
from services.rewards.dal.ledger import DynamoLedgerStore
from services.rewards.logic import expiry
from services.rewards.topology import REWARDS
from shared.events import EventPublisher
from tests.integration.conftest import table
from tests.integration.rewards_world import Rewards, items, rewards

__all__ = ["rewards"]
pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish:UserWarning")
GRANTS = "/admin/point-grants"


def start(rewards: Rewards, body: dict[str, Any], *, key: str = "grant-1") -> dict[str, Any]:
    response = rewards.call(rewards.programs, "POST", GRANTS, body=body, headers={"Idempotency-Key": key})
    assert response.status == 202, response.body
    return dict(response.json())


def job(rewards: Rewards, job_id: str, suffix: str = "") -> dict[str, Any]:
    response = rewards.call(rewards.programs, "GET", GRANTS + "/{job_id}" + suffix, {"job_id": job_id})
    assert response.status == 200, response.body
    return dict(response.json())


def run_expiry(rewards: Rewards, now: datetime) -> expiry.Summary:
    publisher = EventPublisher(rewards.bus, "dangol.rewards")
    return expiry.run(
        DynamoExpiryStore(table(REWARDS), publisher),
        DynamoLedgerStore(table(REWARDS), publisher),
        now=now,
        lead_days=7,
    )


def test_an_award_to_many_grants_each_known_customer_once(rewards: Rewards) -> None:
    # Given two customers, and an id no account has
    first, second = rewards.register(), rewards.register()
    unknown = "cus_01JUNKNOWN000000000000000X"
    # When marketing awards 500 points to the three
    body = {"kind": "award", "customer_ids": [first, second, unknown], "points": 500, "reason": "오픈 기념"}
    started = start(rewards, body)
    assert (started["status"], started["customers"]) == ("queued", 3)
    # And the grants queue is worked off
    rewards.grants()
    # Then each known customer has 500 more points, and the unknown one is reported
    assert rewards.points(first)["balance"] == rewards.points(second)["balance"] == 1500
    done = job(rewards, started["job_id"])
    assert (done["status"], done["granted"], done["rejected"], done["rejected_ids"]) == (
        "completed",
        2,
        1,
        [unknown],
    )
    # And the same request again (same Idempotency-Key) is the same job, granting nothing more
    assert start(rewards, body)["job_id"] == started["job_id"]
    rewards.grants()
    assert rewards.points(first)["balance"] == 1500


def test_a_pre_grant_is_spent_like_any_points_and_what_is_left_is_clawed_back(rewards: Rewards) -> None:
    # Given two customers with their sign-up points
    spender, idle = rewards.register(), rewards.register()
    # When marketing pre-grants 2,000 points valid for 3 days to both
    body = {
        "kind": "pregrant",
        "customer_ids": [spender, idle],
        "points": 2000,
        "valid_days": 3,
        "reason": "예측",
    }
    job_id = start(rewards, body)["job_id"]
    rewards.grants()
    # And one of them buys for 50,000 won and redeems 2,500 points at the counter while it is open
    rewards.purchase(spender, 50_000)
    assert rewards.hold(spender, "order-pg", 2500).status == 201
    assert rewards.capture(spender, "order-pg").status == 200
    # Then the redemption drew the pre-grant first (it expires first)
    report = job(rewards, job_id, "/report")
    assert (report["issued_points"], report["used_points"], report["open"]) == (4000, 2000, True)
    assert report["purchases_while_open"] == {"count": 1, "spend": {"KRW": 50_000}}
    # When the pre-grant expires
    summary = run_expiry(rewards, datetime.now(UTC) + timedelta(days=3, minutes=1))
    # Then the idle customer's unused 2,000 are clawed back with an entry that says so
    assert summary.lots_expired == 1
    claw = [e for e in items(idle, "ENTRY#") if e["type"] == "claw-back"]
    assert [e["points"] for e in claw] == [-2000]
    assert rewards.points(idle)["balance"] == 1000
    # And the report shows issued, used and clawed back
    report = job(rewards, job_id, "/report")
    assert (report["used_points"], report["clawed_back_points"], report["open_points"]) == (2000, 2000, 0)
    # And a second expiry run touches nothing
    assert run_expiry(rewards, datetime.now(UTC) + timedelta(days=3, minutes=2)).lots_expired == 0


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (
            {
                "kind": "pregrant",
                "customer_ids": ["cus_01JA0000000000000000000000"],
                "points": 10,
                "reason": "x",
            },
            422,
        ),
        (
            {
                "kind": "pregrant",
                "customer_ids": ["cus_01JA0000000000000000000000"],
                "points": 10,
                "valid_days": 31,
                "reason": "x",
            },
            422,
        ),
        ({"kind": "award", "customer_ids": [], "points": 10, "reason": "x"}, 422),
        (
            {
                "kind": "award",
                "customer_ids": ["cus_01JA0000000000000000000000"] * 2,
                "points": 10,
                "reason": "x",
            },
            422,
        ),
        (
            {"kind": "award", "customer_ids": ["cus_01JA0000000000000000000000"], "points": 0, "reason": "x"},
            422,
        ),
        (
            {"kind": "gift", "customer_ids": ["cus_01JA0000000000000000000000"], "points": 10, "reason": "x"},
            422,
        ),
    ],
)
def test_a_bad_grant_is_refused_and_queues_nothing(rewards: Rewards, body: dict[str, Any], code: int) -> None:
    response = rewards.call(rewards.programs, "POST", GRANTS, body=body)
    assert (response.status, response.error["code"]) == (code, "validation_error")
    assert rewards.grants() == 0


def test_only_marketing_grants_and_unknown_jobs_are_404(rewards: Rewards) -> None:
    body = {"kind": "award", "customer_ids": ["cus_01JA0000000000000000000000"], "points": 10, "reason": "x"}
    for role in ("agent", "customer", "machine"):
        assert rewards.call(rewards.programs, "POST", GRANTS, body=body, groups=role).status == 403
    missing = rewards.call(
        rewards.programs, "GET", GRANTS + "/{job_id}", {"job_id": "pgj_01JA0000000000000000000000"}
    )
    assert (missing.status, missing.error["code"]) == (404, "job_not_found")

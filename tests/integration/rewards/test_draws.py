"""A campaign's scheduled draws of a gift on moto, delivered as AWS delivers them: the seed is
committed before the entries close (``DrawCommitted``), the winners follow from it and the sorted
entries, the seed is revealed after (``DrawCompleted``), and anyone can check the draw on the public
routes. Redelivered events change nothing; a winner of one draw is not drawn again."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest

from services.rewards.logic import draws
from services.rewards.topology import OFFERS_API
from shared.clock import iso
from shared.topology import Function
from tests.integration.apigw import ApiResponse, Invoker, api_event
from tests.integration.conftest import FROZEN_AT
from tests.integration.rewards_world import Rewards, rewards

__all__ = ["rewards"]
pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish:UserWarning")

CLOSES = FROZEN_AT + timedelta(days=1)
MUG: dict[str, Any] = {
    "name": "Anniversary mug",
    "stock": 10,
    "mode": "draw",
    "starts_at": iso(FROZEN_AT - timedelta(days=1)),
    "ends_at": iso(FROZEN_AT + timedelta(days=30)),
    "min_total": 10_000,
    "currency": "KRW",
}


@pytest.fixture
def offers(
    rewards: Rewards, lambda_function: Callable[[Function], Invoker], frozen_clock: Callable[[datetime], None]
) -> Invoker:
    """The offers API; every function's clock stands at FROZEN_AT until a test moves it."""
    return lambda_function(OFFERS_API)


def new_gift(rewards: Rewards, offers: Invoker, **changes: Any) -> str:
    created = rewards.call(offers, "POST", "/admin/gifts", body={**MUG, **changes})
    assert created.status == 201, created.body
    return str(created.json()["id"])


def entrants(rewards: Rewards, count: int, *, at: datetime) -> list[str]:
    """``count`` customers who each made a qualifying purchase at ``at``."""
    customers = [rewards.register() for _ in range(count)]
    for customer_id in customers:
        rewards.purchase(customer_id, 20_000, at=at)
    return customers


def schedule(rewards: Rewards, gift_id: str, draw: int, winners: int, closes_at: datetime = CLOSES) -> None:
    data = {"gift_id": gift_id, "draw": draw, "closes_at": iso(closes_at), "winners": winners}
    rewards.campaign_event("DrawScheduled", data)


def due(rewards: Rewards, gift_id: str, draw: int, **kw: Any) -> None:
    rewards.campaign_event("DrawDue", {"gift_id": gift_id, "draw": draw}, **kw)


def public(offers: Invoker, gift_id: str, draw: int, suffix: str = "") -> ApiResponse:
    """A public draw route, called as API Gateway passes it on: no authorizer, no token."""
    resource = "/draws/{gift_id}/{draw}" + suffix
    params = {"gift_id": gift_id, "draw": str(draw)}
    return offers(
        api_event("profile_get_me", method="GET", resource=resource, path_parameters=params, claims=None)
    )


def shown(offers: Invoker, gift_id: str, draw: int) -> dict[str, Any]:
    response = public(offers, gift_id, draw)
    assert response.status == 200, response.body
    return dict(response.json())


def my_entries(rewards: Rewards, offers: Invoker, customer_id: str) -> list[dict[str, Any]]:
    response = rewards.call(offers, "GET", "/me/draw-entries", groups="customer", sub=f"sub-{customer_id}")
    assert response.status == 200, response.body
    return list(response.json()["items"])


def test_a_draw_is_committed_before_its_entries_close_and_verifiable_after(
    rewards: Rewards, offers: Invoker, frozen_clock: Callable[[datetime], None]
) -> None:
    # Given a draw gift that five customers entered before the draw closes, and one after
    gift_id = new_gift(rewards, offers)
    early = entrants(rewards, 5, at=FROZEN_AT)
    (late,) = entrants(rewards, 1, at=CLOSES + timedelta(seconds=1))
    # When the campaign schedules draw 1 for 2 winners, and the event is delivered again
    schedule(rewards, gift_id, 1, 2)
    rewards.events.deliver(rewards.events.delivered)
    # Then one DrawCommitted published its commitment, before the entries closed
    (committed,) = rewards.published("DrawCommitted")
    assert (committed["gift_id"], committed["draw"], committed["winners"]) == (gift_id, 1, 2)
    before = shown(offers, gift_id, 1)
    assert (before["status"], before["commitment"]) == ("committed", committed["commitment"])
    assert (before["seed"], before["entries"], before["winners"]) == (None, None, None)
    # When the draw is due (the clock past its close), and that event is delivered again
    frozen_clock(CLOSES + timedelta(minutes=1))
    due(rewards, gift_id, 1)
    rewards.events.deliver(rewards.events.delivered)
    # Then it drew once: the seed is revealed and matches the commitment
    (completed,) = rewards.published("DrawCompleted")
    assert hashlib.sha256(bytes.fromhex(completed["seed"])).hexdigest() == committed["commitment"]
    assert completed["commitment"] == committed["commitment"]
    # And the entries were the five made before the close, the late one left out
    ids = {e["entry_id"]: c for c in [*early, late] for e in my_entries(rewards, offers, c)}
    drawn = shown(offers, gift_id, 1)
    assert drawn["entries"] == sorted(e for e, c in ids.items() if c != late)
    assert completed["entries"] == 5
    # And the winners are what the seed picks among them, granted the gift once each
    expected = draws.pick(bytes.fromhex(completed["seed"]), drawn["entries"], 2)
    assert drawn["winners"] == expected == [w["entry_id"] for w in completed["winners"]]
    assert [ids[e] for e in expected] == [w["customer_id"] for w in completed["winners"]]
    granted = rewards.published("GiftGranted")
    assert sorted(g["customer_id"] for g in granted) == sorted(ids[e] for e in expected)
    assert {g["via"] for g in granted} == {"draw"}
    # And the public answer names no customer, and the verification recomputes the same
    assert not any(c in str(drawn) for c in [*early, late])
    check = public(offers, gift_id, 1, "/verification")
    assert check.status == 200, check.body
    assert check.json() == {
        "gift_id": gift_id,
        "draw": 1,
        "commitment_matches": True,
        "recomputed_winners": expected,
        "matches": True,
    }
    assert (drawn["status"], drawn["seed"], drawn["algorithm"]) == (
        "drawn",
        completed["seed"],
        draws.ALGORITHM,
    )


def test_each_draw_of_a_gift_has_its_own_commitment_and_a_winner_is_not_drawn_again(
    rewards: Rewards, offers: Invoker, frozen_clock: Callable[[datetime], None]
) -> None:
    # Given a gift entered by four customers and three weekly draws of one winner each
    gift_id = new_gift(rewards, offers)
    customers = entrants(rewards, 4, at=FROZEN_AT)
    closes = [CLOSES + timedelta(days=7 * n) for n in range(3)]
    for number, closes_at in enumerate(closes, start=1):
        schedule(rewards, gift_id, number, 1, closes_at)
    commitments = {c["draw"]: c["commitment"] for c in rewards.published("DrawCommitted")}
    assert sorted(commitments) == [1, 2, 3]
    assert len(set(commitments.values())) == 3
    # When each draw falls due in turn
    winners: list[str] = []
    for number, closes_at in enumerate(closes, start=1):
        frozen_clock(closes_at + timedelta(minutes=1))
        due(rewards, gift_id, number)
        (completed,) = rewards.published("DrawCompleted")
        assert completed["commitment"] == commitments[number]
        # Then each draws among those who have not won yet
        assert completed["entries"] == 4 - (number - 1)
        winners += [w["customer_id"] for w in completed["winners"]]
    # And three different customers won, each granted the gift once
    assert len(set(winners)) == 3
    assert set(winners) <= set(customers)
    assert sorted(g["customer_id"] for g in rewards.published("GiftGranted")) == sorted(winners)
    for number in (1, 2, 3):
        assert public(offers, gift_id, number, "/verification").json()["matches"] is True


def test_a_draw_that_cannot_run_yet_is_retried_and_an_unknown_gift_is_consumed(
    rewards: Rewards, offers: Invoker, frozen_clock: Callable[[datetime], None]
) -> None:
    # Given a draw gift, and one entrant
    gift_id = new_gift(rewards, offers)
    entrants(rewards, 1, at=FROZEN_AT)
    # When a draw is due before it was scheduled, or before its entries close
    due(rewards, gift_id, 1, deliver=False)
    rewards.events(expect_failures=1)  # failed: SQS delivers it again later
    schedule(rewards, gift_id, 1, 1)
    assert len(rewards.published("DrawCommitted")) == 1
    due(rewards, gift_id, 1, deliver=False)
    rewards.events(expect_failures=1)
    # Then nothing was drawn, and the draw still hides its seed
    assert rewards.published("DrawCompleted") == []
    assert shown(offers, gift_id, 1)["status"] == "committed"
    # When draws of a gift that does not exist are scheduled and due
    stranger = "gft_01JK2M3N4P5Q6R7S8T9V0W1X2Z"
    schedule(rewards, stranger, 1, 1)
    due(rewards, stranger, 1)
    # Then they are consumed without effect, and the draw is unknown to the public routes
    assert rewards.published("DrawCommitted") == rewards.published("DrawCompleted") == []
    for suffix in ("", "/verification"):
        missing = public(offers, stranger, 1, suffix)
        assert (missing.status, missing.error["code"]) == (404, "draw_not_found")
    # And a scheduled draw is not verifiable before it is drawn
    hidden = public(offers, gift_id, 1, "/verification")
    assert (hidden.status, hidden.error["code"]) == (409, "draw_not_drawn")


def test_a_customer_finds_their_own_entries(rewards: Rewards, offers: Invoker) -> None:
    # Given a customer who entered two draw gifts (one of them twice)
    first, second = new_gift(rewards, offers), new_gift(rewards, offers, name="Tote bag")
    (customer_id,) = entrants(rewards, 1, at=FROZEN_AT)
    rewards.purchase(customer_id, 30_000, at=FROZEN_AT)
    # When they list their entries
    mine = my_entries(rewards, offers, customer_id)
    # Then they see one entry per gift, latest gift first, each with its own id
    assert [(e["gift_id"], e["name"]) for e in mine] == [(second, "Tote bag"), (first, "Anniversary mug")]
    assert len({e["entry_id"] for e in mine}) == 2
    assert all(e["entry_id"].startswith("ent_") for e in mine)

"""Draw schedules: several draws of one gift during an event, each closing its entries at its
instant. Made once per gift; each draw is announced to the rewards service at once
(``DrawScheduled``: it commits to a secret seed before the entries close) and again when its
entries close (``DrawDue``: it draws, reveals the seed, and names the winners, whom a triggered
campaign on ``draw_won`` tells)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from services.campaigns.models.draws import DrawSchedule, DrawScheduleRequest, DrawSlot
from shared.errors import Unprocessable

MIN_LEAD = dt.timedelta(minutes=5)  # time for the commitment to be published before a close


class DrawStore(Protocol):
    def create(self, gift_id: str, slots: Sequence[DrawSlot], at: dt.datetime) -> dict[str, Any]: ...


def _bad(index: int, message: str, code: str) -> Unprocessable:
    loc: list[str | int] = ["body", "draws", index, "closes_at"]
    return Unprocessable(message, code=code, details=[{"loc": loc, "msg": message, "type": code}])


def schedule(store: DrawStore, request: DrawScheduleRequest, *, now: dt.datetime) -> DrawSchedule:
    """Draws in the order of their closes, each at least ``MIN_LEAD`` ahead and after the one before."""
    previous: dt.datetime | None = None
    for index, slot in enumerate(request.draws):
        if slot.closes_at < now + MIN_LEAD:
            raise _bad(index, "A draw closes at least five minutes ahead.", "schedule_in_past")
        if slot.closes_at > now + dt.timedelta(days=366):
            raise _bad(index, "At most a year ahead.", "schedule_too_far")
        if previous is not None and slot.closes_at <= previous:
            raise _bad(index, "Each draw closes after the one before.", "draws_out_of_order")
        previous = slot.closes_at
    return shown(store.create(request.gift_id, request.draws, now))


def shown(item: Mapping[str, Any]) -> DrawSchedule:
    gift_id = str(item["gift_id"])
    draws = []
    for number, draw in sorted(((int(n), d) for n, d in (item.get("draws") or {}).items())):
        status = "drawn" if draw.get("seed") else "committed" if draw.get("commitment") else "scheduled"
        draws.append(
            {
                "draw": number,
                "closes_at": draw["closes_at"],
                "winners": int(draw["winners"]),
                "status": status,
                "commitment": draw.get("commitment"),
                "seed": draw.get("seed"),
                "winners_drawn": draw.get("winners_drawn"),
                "verification": f"/draws/{gift_id}/{number}/verification",
            }
        )
    return DrawSchedule.model_validate({"gift_id": gift_id, "created_at": item["created_at"], "draws": draws})

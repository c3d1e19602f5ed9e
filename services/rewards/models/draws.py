"""Scheduled draws of a gift, committed before their entries close and verifiable by anyone after:
the record the store keeps, what the public routes show, and a customer's own entries.

A draw's seed is 32 random bytes chosen when it is scheduled; its SHA-256 (the commitment) is
public at once, the seed only after the draw. No customer id is ever in a public answer: entries
and winners are shown by their entry ids, which only their customers can tie to themselves
(``GET /me/draw-entries``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from services.rewards.models.events import ENTRY_ID_PATTERN, GIFT_ID_PATTERN, HEX_256, MAX_DRAWS, DrawWinner

DRAW_NUMBER_PATTERN = r"^([1-9]|[1-4][0-9]|50)$"  # 1..MAX_DRAWS, as a path segment
DrawStatus = Literal["committed", "drawing", "drawn"]  # drawing: winners chosen, not all granted yet


class _Output(BaseModel):
    model_config = ConfigDict(defer_build=True, frozen=True)


class DrawRecord(_Output):
    """A draw as stored. ``seed`` is secret until ``status`` is ``drawn``; ``picks`` (the winners,
    in the order the seed picked them) and the entry list are fixed once, when it is planned."""

    gift_id: str = Field(pattern=GIFT_ID_PATTERN)
    draw: int = Field(ge=1, le=MAX_DRAWS)
    closes_at: dt.datetime
    winners_wanted: int
    seed: str = Field(pattern=HEX_256)
    commitment: str = Field(pattern=HEX_256)
    status: DrawStatus
    scheduled_at: dt.datetime
    plan_id: str | None = None  # names the stored entry list (its chunks)
    entry_chunks: int = 0
    entries: int = 0
    picks: list[DrawWinner] = Field(default_factory=list)
    planned_at: dt.datetime | None = None
    drawn_at: dt.datetime | None = None


@dataclass(frozen=True)
class Entrant:
    """An entry in a gift's draws: one per customer and gift, made by their first qualifying purchase."""

    entry_id: str
    customer_id: str


class PublicDraw(_Output):
    """A draw as anyone may check it (no customer ids)."""

    gift_id: str
    draw: int
    closes_at: dt.datetime
    winners_wanted: int
    commitment: str = Field(description="SHA-256 of the seed, hex: public since the draw was scheduled")
    status: Literal["committed", "drawn"]
    seed: str | None = Field(description="The seed, hex: shown once drawn")
    entries: list[str] | None = Field(
        description="The entry ids drawn among, sorted: shown once the entries closed (until the draw, "
        "the entries so far that have not won the gift)"
    )
    winners: list[str] | None = Field(description="The winning entry ids, in the order picked: once drawn")
    algorithm: str = Field(description="How the winners follow from the seed and the entries")


class DrawVerification(_Output):
    """The draw recomputed from what it published: the seed against the commitment, and the winners
    from the seed and the sorted entries."""

    gift_id: str
    draw: int
    commitment_matches: bool = Field(description="SHA-256 of the published seed is the commitment")
    recomputed_winners: list[str]
    matches: bool = Field(
        description="The commitment matches and the recomputed winners are the published ones"
    )


class MyDrawEntry(_Output):
    """One of the caller's entries: its id is how they find themselves among a draw's entries and
    winners."""

    gift_id: str
    name: str
    entry_id: str = Field(pattern=ENTRY_ID_PATTERN)
    entered_at: dt.datetime

"""A gift's draw schedule as marketing defines it and as the API shows it: several draws during an
event, each closing its entries at its instant. The rewards service, where the gifts live, commits
to each draw's secret seed when the schedule is made (before its entries close), draws at the close
and reveals the seed; anyone can then recompute the winners (``GET /draws/{gift_id}/{draw}/verification``).
A triggered campaign on ``draw_won`` announces each draw's winners."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StrictInt, StrictStr, StringConstraints

from shared.ids import prefixed_pattern

GIFT_ID_PATTERN = prefixed_pattern("gft")
MAX_SCHEDULED_DRAWS = 20


class _Input(BaseModel):
    model_config = ConfigDict(defer_build=True, extra="forbid", frozen=True)


class DrawSlot(_Input):
    closes_at: AwareDatetime = Field(
        description="Entries close and the draw is made", examples=["2026-12-24T12:00:00+09:00"]
    )
    winners: StrictInt = Field(ge=1, le=1000, examples=[3])


class DrawScheduleRequest(_Input):
    gift_id: Annotated[StrictStr, StringConstraints(pattern=GIFT_ID_PATTERN)] = Field(
        examples=["gft_01JD6Y8A4D1N9V2Q7Y3G5K8M0P"]
    )
    draws: list[DrawSlot] = Field(
        min_length=1,
        max_length=MAX_SCHEDULED_DRAWS,
        examples=[[{"closes_at": "2026-12-24T12:00:00+09:00", "winners": 3}]],
    )


class ScheduledDraw(BaseModel):
    model_config = ConfigDict(defer_build=True, frozen=True)

    draw: int
    closes_at: AwareDatetime
    winners: int = Field(description="Winners wanted")
    status: Literal["scheduled", "committed", "drawn"]
    commitment: str | None = Field(
        default=None, description="SHA-256 of the secret seed, published before the close"
    )
    seed: str | None = Field(default=None, description="The seed, revealed once drawn")
    winners_drawn: int | None = None
    verification: str = Field(description="The public route that recomputes the draw's winners")


class DrawSchedule(BaseModel):
    model_config = ConfigDict(defer_build=True, frozen=True)

    gift_id: str
    created_at: AwareDatetime
    draws: list[ScheduledDraw]

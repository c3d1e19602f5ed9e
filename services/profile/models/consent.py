"""Consent per channel and purpose: an append-only log and the state derived from it.
No consent recorded means no consent."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool

Channel = Literal["email", "sms", "push"]
Purpose = Literal["marketing", "service"]
Source = Literal["app", "web", "store", "call_center", "import"]
CHANNELS: tuple[Channel, ...] = ("email", "sms", "push")
PURPOSES: tuple[Purpose, ...] = ("marketing", "service")


def consent_key(channel: str, purpose: str) -> str:
    return f"{channel}.{purpose}"


class ConsentChange(BaseModel):
    model_config = ConfigDict(defer_build=True, extra="forbid", frozen=True)

    channel: Channel
    purpose: Purpose
    granted: StrictBool
    source: Source = "app"


class ConsentRecord(BaseModel):
    """One entry of the log: what changed, when, how and by whom."""

    model_config = ConfigDict(defer_build=True, frozen=True)

    channel: Channel
    purpose: Purpose
    granted: bool
    source: Source
    actor: Literal["customer", "staff", "system"]
    at: datetime


class ConsentState(BaseModel):
    model_config = ConfigDict(defer_build=True, frozen=True)

    customer_id: str
    consents: dict[str, bool] = Field(
        description="channel.purpose -> granted, for every channel and purpose (false when never given)"
    )
    version: int = 0
    history: list[ConsentRecord] = Field(default_factory=list, description="Newest first (staff view)")

    @staticmethod
    def complete(granted: dict[str, bool]) -> dict[str, bool]:
        return {
            consent_key(c, p): bool(granted.get(consent_key(c, p), False)) for c in CHANNELS for p in PURPOSES
        }

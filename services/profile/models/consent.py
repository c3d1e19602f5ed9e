"""Consent per channel and purpose: an append-only log and the state derived from it.
No consent recorded means no consent."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, model_validator

Channel = Literal["email", "sms", "push"]
# night: Korea's separate consent to advertisements by SMS or push between 21:00 and 08:00 local
# time (정보통신망법 제50조 제3항); e-mail is exempt (시행령 제61조 제3항), so there is no email.night.
Purpose = Literal["marketing", "service", "night"]
# unsubscribe_link: the customer followed the opt-out link of a message (``POST /unsubscribe/{token}``).
Source = Literal["app", "web", "store", "call_center", "import", "unsubscribe_link"]
CHANNELS: tuple[Channel, ...] = ("email", "sms", "push")
PURPOSES: tuple[Purpose, ...] = ("marketing", "service", "night")
KINDS: tuple[tuple[Channel, Purpose], ...] = tuple(
    (c, p) for c in CHANNELS for p in PURPOSES if (c, p) != ("email", "night")
)


def consent_key(channel: str, purpose: str) -> str:
    return f"{channel}.{purpose}"


class ConsentChange(BaseModel):
    model_config = ConfigDict(defer_build=True, extra="forbid", frozen=True)

    channel: Channel
    purpose: Purpose
    granted: StrictBool
    source: Source = "app"

    @model_validator(mode="after")
    def _a_kind_that_exists(self) -> ConsentChange:
        if (self.channel, self.purpose) not in KINDS:
            raise ValueError("night-time consent is for sms and push only: e-mail needs none")
        return self


class ProfileGone(Exception):
    """The customer's profile is gone (erased, or never created): no consent is recorded for it."""


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
        return {consent_key(c, p): bool(granted.get(consent_key(c, p), False)) for c, p in KINDS}


class Unsubscribed(BaseModel):
    """The answer to an opt-out link's one click: the consent it withdrew (as the link names it).
    The same whether it was withdrawn now, before, or its customer is gone."""

    model_config = ConfigDict(defer_build=True, frozen=True)

    channel: Channel
    purpose: Purpose
    granted: Literal[False] = False

"""A customer's contact card, as the campaigns service reads it from the profile service at send
time (the function ``profile-contacts``, invoked directly: it has no public route, and only the
functions the topology names may invoke it). The campaigns service keeps its own copy of the
shape (it never imports the profile service); ``tests/unit/contracts`` holds the two together.

Nothing of a card is stored or logged: the sender renders, sends, and records only ids and the
decision.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

CardPurpose = Literal["send", "preview"]
MAX_CARDS = 100  # customer ids per request


class CardRequest(BaseModel):
    """What the caller asks: up to ``MAX_CARDS`` customers. ``preview`` (a marketer's preview of a
    template) returns the name, locale and zone only: no address, token or opt-out link."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    customer_ids: list[str] = Field(min_length=1, max_length=MAX_CARDS)
    purpose: CardPurpose = "send"


class CardDevice(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    device_id: str
    platform: str  # ios | android | web
    token: str
    verified: bool


class ContactCard(BaseModel):
    """One customer. ``status`` is ``unknown`` for an id the profile service never had, ``erased``
    for one it erased (every other field then empty)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    customer_id: str
    status: Literal["active", "erased", "unknown"]
    name: str | None = None
    locale: str | None = None
    time_zone: str | None = None
    usual: str | None = None  # the customer's usual order, a text ("아메리카노")
    email: str | None = None
    email_verified: bool = False
    phone: str | None = None  # E.164
    phone_verified: bool = False
    devices: list[CardDevice] = Field(default_factory=list)
    # The consent state now: "email.marketing" -> granted (absent: never granted).
    consents: dict[str, bool] = Field(default_factory=dict)
    # A signed one-click opt-out per "channel.purpose", to put in the message: the profile
    # service's public route withdraws that consent when the link is followed (POST).
    unsubscribe_urls: dict[str, str] = Field(default_factory=dict)


class CardResponse(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    cards: list[ContactCard]

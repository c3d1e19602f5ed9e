"""Contact cards: what the campaigns sender asks of the profile service at the moment it sends
(the function ``profile-contacts``, invoked directly, never through the API), and what it gets.

The campaigns service keeps its own copy of these shapes (services never import each other);
``tests/unit/contracts/test_card_contracts.py`` holds the two together.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

CardPurpose = Literal["send", "preview"]
CardStatus = Literal["active", "erased", "unknown"]
MAX_CARDS = 100  # customer ids per request: one BatchGetItem's worth of profiles
# An id is only looked up: one that is no customer's gets an ``unknown`` card, not a refusal.
AskedId = Annotated[str, StringConstraints(min_length=1, max_length=64)]


class CardRequest(BaseModel):
    """Up to ``MAX_CARDS`` customers, in the order their cards are wanted. ``preview`` (a marketer's
    preview of a template) gets the name, locale, zone and usual only: no address, token or consent."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    customer_ids: list[AskedId] = Field(min_length=1, max_length=MAX_CARDS)
    purpose: CardPurpose = "send"


class CardDevice(BaseModel):
    model_config = ConfigDict(frozen=True)

    device_id: str
    platform: str  # ios | android | web
    token: str
    verified: bool


class ContactCard(BaseModel):
    """One customer, as they are now. ``unknown``: an id the service never had; ``erased``: one it
    erased (every other field then empty)."""

    model_config = ConfigDict(frozen=True)

    customer_id: str
    status: CardStatus
    name: str | None = None
    locale: str | None = None
    time_zone: str | None = None
    usual: str | None = None  # the name of their most bought usual item, if they have one
    email: str | None = None
    email_verified: bool = False
    phone: str | None = None  # E.164
    phone_verified: bool = False
    devices: list[CardDevice] = Field(default_factory=list)
    consents: dict[str, bool] = Field(default_factory=dict)  # "channel.purpose" -> granted now
    # "channel.marketing" -> the opt-out link its marketing messages carry (a signed, public URL),
    # for each channel the customer consented to and has an address on; none on a preview card
    unsubscribe_urls: dict[str, str] = Field(default_factory=dict)


class CardResponse(BaseModel):
    model_config = ConfigDict(frozen=True)

    cards: list[ContactCard]

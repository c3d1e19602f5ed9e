"""Contact cards: one per asked customer, in the asked order, as the profile holds them now.

The campaigns sender asks at the moment it sends (``profile-contacts``, invoked directly) and keeps
nothing of a card but ids. A card is ``active`` (the customer's profile), ``erased`` (a tombstone:
nothing but the id) or ``unknown`` (no such customer). ``preview`` cards carry the name, locale,
zone and usual only. "The usual" is the customer's strongest habit: their most bought usual item
of any daypart (``logic.behaviour.rank_usual``), by name. A ``send`` card carries, per marketing
channel the customer has consented to and can be reached on, the opt-out link its message must
carry (``logic.optout``). No boto3 here: the store and the link maker are passed in.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from services.profile.logic.behaviour import rank_usual
from services.profile.models.behaviour import UsualItem
from services.profile.models.cards import CardDevice, CardPurpose, CardRequest, CardResponse, ContactCard
from services.profile.models.consent import Channel, ConsentState, consent_key

# (customer id, channel) -> the opt-out URL of that channel's marketing consent
LinkMaker = Callable[[str, Channel], str]


@dataclass(frozen=True)
class Person:
    """What a card needs of one customer's profile."""

    name: str
    locale: str
    time_zone: str
    email: str | None = None
    email_verified: bool = False
    phone: str | None = None
    phone_verified: bool = False
    devices: tuple[CardDevice, ...] = ()


@dataclass(frozen=True)
class Found:
    """What one read found of the asked customers: their profiles, consent states and tombstones."""

    people: dict[str, Person] = field(default_factory=dict)
    consents: dict[str, dict[str, bool]] = field(default_factory=dict)  # as stored (granted only, or all)
    erased: frozenset[str] = frozenset()


class CardStore(Protocol):
    def find(self, customer_ids: Sequence[str]) -> Found: ...
    def usual(self, customer_id: str) -> list[UsualItem]: ...


def the_usual(items: Sequence[UsualItem]) -> str | None:
    """The name of the customer's most bought usual item, of any daypart (None: no habit yet)."""
    top = rank_usual(items, limit=1)
    return top[0].name if top else None


def reachable(person: Person) -> tuple[Channel, ...]:
    """The channels the customer has an address on (a device for push)."""
    has = {"email": bool(person.email), "sms": bool(person.phone), "push": bool(person.devices)}
    return tuple(c for c in ("email", "sms", "push") if has[c])


def opt_out_links(
    customer_id: str, person: Person, consents: dict[str, bool], links: LinkMaker
) -> dict[str, str]:
    """``channel.marketing`` -> its opt-out URL, for each channel consented to and reachable."""
    return {
        consent_key(channel, "marketing"): links(customer_id, channel)
        for channel in reachable(person)
        if consents.get(consent_key(channel, "marketing"))
    }


def _card(
    customer_id: str,
    found: Found,
    usual: dict[str, str | None],
    purpose: CardPurpose,
    links: LinkMaker | None = None,
) -> ContactCard:
    person = found.people.get(customer_id)
    if person is None:
        status = "erased" if customer_id in found.erased else "unknown"
        return ContactCard(customer_id=customer_id, status=status)
    shown = ContactCard(
        customer_id=customer_id,
        status="active",
        name=person.name,
        locale=person.locale,
        time_zone=person.time_zone,
        usual=usual.get(customer_id),
    )
    if purpose == "preview":
        return shown
    consents = ConsentState.complete(found.consents.get(customer_id, {}))
    return shown.model_copy(
        update={
            "email": person.email,
            "email_verified": person.email_verified,
            "phone": person.phone,
            "phone_verified": person.phone_verified,
            "devices": list(person.devices),
            "consents": consents,
            "unsubscribe_urls": opt_out_links(customer_id, person, consents, links) if links else {},
        }
    )


def contact_cards(store: CardStore, request: CardRequest, links: LinkMaker | None = None) -> CardResponse:
    """One card per asked id, in the asked order (an id asked twice gets two cards, read once).
    ``links`` makes the opt-out URLs of ``send`` cards (None: none)."""
    unique = list(dict.fromkeys(request.customer_ids))
    found = store.find(unique)
    usual = {customer_id: the_usual(store.usual(customer_id)) for customer_id in found.people}
    return CardResponse(cards=[_card(i, found, usual, request.purpose, links) for i in request.customer_ids])

"""The events the profile service emits on the bus. They carry ids and settings, never
names, e-mails or phones: a consumer that needs personal data asks the API for it."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from shared.events import DomainEvent


class CustomerRegistered(DomainEvent):
    customer_id: str
    locale: str
    time_zone: str


class ProfileUpdated(DomainEvent):
    customer_id: str
    changed: list[str]
    version: int


class ConsentChanged(DomainEvent):
    """A change in the consent log, with the whole resulting state so a projection can be
    rebuilt from any one event (``email.marketing`` false: no marketing e-mail)."""

    customer_id: str
    channel: Literal["email", "sms", "push"]
    purpose: Literal["marketing", "service"]
    granted: bool
    consents: dict[str, bool]


class AnniversaryUpcoming(DomainEvent):
    """A customer's anniversary (or birthday) is ``lead_days`` ahead of their local today."""

    customer_id: str
    kind: str  # wedding, membership, child_birthday, custom or birthday
    label: str | None
    date: dt.date  # the original date
    occurs_on: dt.date  # this year's day (28 February for a 29 February one in common years)
    years: int
    lead_days: int

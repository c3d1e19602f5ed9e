"""The contact log and dedicated managers: what staff send and what they get back.

A contact is one touch between the business and a customer (a call, an e-mail, a visit, a
letter), recorded by staff with its direction, outcome and an optional note. The note is free
text about a person: personal data, never logged, never put in an event, erased with the
customer. ``occurred_at`` defaults to the time of recording and may be back-dated, never
future-dated (a few minutes of clock skew between the caller and us are tolerated).

A dedicated manager is a staff member, named by their Cognito subject (what
``GET /staff/me/customers`` lists by), assigned to a customer.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from shared.clock import utc_now
from shared.ids import prefixed_pattern

CONTACT_ID_PATTERN = prefixed_pattern("con")
MAX_NOTE_CHARS = 2000
CLOCK_SKEW = timedelta(minutes=5)  # a caller's clock a little ahead of ours is not "the future"
EARLIEST_CONTACT = date(2000, 1, 1)
# A Cognito subject is a UUID; other staff directories' ids are short, visible ASCII.
MANAGER_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:@+-]{0,127}$"


class ContactChannel(StrEnum):
    CALL = "call"
    EMAIL = "email"
    VISIT = "visit"
    POST = "post"


class ContactDirection(StrEnum):
    INBOUND = "inbound"  # the customer reached out
    OUTBOUND = "outbound"  # we reached out


class ContactOutcome(StrEnum):
    REACHED = "reached"  # spoke with (or met) the customer
    NO_ANSWER = "no_answer"
    LEFT_MESSAGE = "left_message"  # voicemail, a note at the door, an unanswered e-mail
    RESOLVED = "resolved"  # the customer's request or issue was settled
    FOLLOW_UP = "follow_up"  # something is still to do
    DECLINED = "declined"  # the customer said no (an offer, a call)
    BOUNCED = "bounced"  # the e-mail or letter came back undelivered


def _not_future(moment: datetime) -> datetime:
    if moment > utc_now() + CLOCK_SKEW:
        raise ValueError("must not be in the future")
    if moment.date() < EARLIEST_CONTACT:
        raise ValueError(f"must be on or after {EARLIEST_CONTACT.isoformat()}")
    return moment


PastMoment = Annotated[AwareDatetime, AfterValidator(_not_future)]
Note = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_NOTE_CHARS),
    Field(description="Free text (personal data: never logged)", examples=["생일 케이크 예약 문의"]),
]


class _Input(BaseModel):
    model_config = ConfigDict(defer_build=True, extra="forbid", frozen=True)


class ContactCreate(_Input):
    channel: ContactChannel
    direction: ContactDirection
    outcome: ContactOutcome
    note: Note | None = None
    occurred_at: PastMoment | None = Field(
        default=None,
        description="When it happened, with its UTC offset; defaults to now; never in the future",
        examples=["2025-03-14T09:30:00+09:00"],
    )


class Contact(BaseModel):
    """One entry of a customer's contact log."""

    model_config = ConfigDict(defer_build=True, frozen=True)

    contact_id: str = Field(pattern=CONTACT_ID_PATTERN)
    customer_id: str
    channel: ContactChannel
    direction: ContactDirection
    outcome: ContactOutcome
    note: str | None = None
    occurred_at: datetime
    recorded_by: str = Field(description="The staff member's subject")
    recorded_at: datetime


class ManagerAssign(_Input):
    manager_id: Annotated[str, StringConstraints(pattern=MANAGER_ID_PATTERN)] = Field(
        description="The staff member's Cognito subject", examples=["8f14e45f-ceea-467f-a0e6-1f2a3b4c5d6e"]
    )


class ManagerAssignment(BaseModel):
    model_config = ConfigDict(defer_build=True, frozen=True)

    customer_id: str
    manager_id: str
    assigned_at: datetime
    assigned_by: str = Field(description="The subject of the staff member who assigned")


class ManagedCustomer(BaseModel):
    """What a manager sees of one of their customers in their list."""

    model_config = ConfigDict(defer_build=True, frozen=True)

    customer_id: str
    display_name: str
    email: str | None = None
    phone: str | None = None
    locale: str
    time_zone: str
    manager_assigned_at: datetime | None = None


# -- what the store tells the logic (``logic.contacts.ContactStore``) -----------------------------


class CustomerNotFound(Exception):
    """No profile exists for this customer id (never created, or erased)."""

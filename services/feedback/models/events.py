"""The events the feedback service emits on the bus (source ``dangol.feedback``). Ids, codes and
numbers: never the text of a mention, a note or a reply, never a handle.

Each field is as strict as what the service puts in it (``shared.ids`` patterns, aware instants),
so a consumer may rely on the model.
"""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, Field

from shared.events import DomainEvent
from shared.ids import prefixed_pattern

CUSTOMER_ID_PATTERN = prefixed_pattern("cus")  # the profile service's ids
CASE_ID_PATTERN = prefixed_pattern("case")
GRANT_ID_PATTERN = prefixed_pattern("gw")  # one goodwill grant on a case
AGENT_ID = r"^[A-Za-z0-9._@-]{1,128}$"  # the agent's login (Cognito sub)
MAX_GOODWILL_POINTS = 100_000  # what one grant may be at most; the agent's daily limit is rewards'
GOODWILL_REASON = 200


class GoodwillRequested(DomainEvent):
    """An agent grants the customer goodwill points on a case. The rewards service credits them
    once per ``grant_id``, with the case on the ledger entry, within the agent's daily goodwill
    limit, and answers ``GoodwillCredited`` or ``GoodwillRefused``."""

    grant_id: str = Field(pattern=GRANT_ID_PATTERN)
    case_id: str = Field(pattern=CASE_ID_PATTERN)
    customer_id: str = Field(pattern=CUSTOMER_ID_PATTERN)
    agent_id: str = Field(pattern=AGENT_ID)
    points: int = Field(ge=1, le=MAX_GOODWILL_POINTS)
    reason: str = Field(min_length=1, max_length=GOODWILL_REASON)
    requested_at: AwareDatetime


class CaseOpened(DomainEvent):
    """A complaint case was opened (from a mention, by the customer, or by an agent)."""

    case_id: str = Field(pattern=CASE_ID_PATTERN)
    customer_id: str | None = Field(default=None, pattern=CUSTOMER_ID_PATTERN)
    origin: Literal["mention", "customer", "agent"]
    opened_at: AwareDatetime


class CaseClosed(DomainEvent):
    """A case closed: confirmed by the customer (in the app, or through an agent on the phone, by
    e-mail or post) or by the confirmation timeout; ``csat`` if the customer scored it by then."""

    case_id: str = Field(pattern=CASE_ID_PATTERN)
    customer_id: str | None = Field(default=None, pattern=CUSTOMER_ID_PATTERN)
    confirmed_by: Literal["app", "phone", "email", "post", "timeout"]
    one_stop: bool
    breached: bool
    closed_at: AwareDatetime

"""Complaint cases: what the API takes and answers.

A case lives ``new → acknowledged → in_progress → resolved → closed``, may wait for the customer
(``waiting``, its resolution clock paused) and may be ``reopened`` (by the customer who says it is
not solved, or by an agent). ``logic.cases`` holds the rules; these are the shapes.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StrictBool, StrictInt, StringConstraints

from services.feedback.models.events import (
    AGENT_ID,
    CASE_ID_PATTERN,
    CUSTOMER_ID_PATTERN,
    GOODWILL_REASON,
    GRANT_ID_PATTERN,
    MAX_GOODWILL_POINTS,
)
from services.feedback.models.mention import Source
from shared.types import Timestamp

Status = Literal["new", "acknowledged", "in_progress", "waiting", "resolved", "closed", "reopened"]
STATUSES: tuple[Status, ...] = (
    "new",
    "acknowledged",
    "in_progress",
    "waiting",
    "resolved",
    "closed",
    "reopened",
)
Team = Literal["frontline", "follow_up"]
Priority = Literal["normal", "high"]
Origin = Literal["mention", "customer", "agent"]
Channel = Literal["phone", "email", "post"]
ConfirmedBy = Literal["app", "phone", "email", "post", "timeout"]
Target = Literal["acknowledged", "in_progress", "waiting", "resolved", "reopened"]
Category = Literal["product", "service", "store", "app", "delivery", "points", "payment", "other"]

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
Subject = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
StoreId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,39}$")]
CONFIRMATION_DAYS = 7  # a resolved case the customer never answers closes itself after this


class _In(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class CaseRequest(_In):
    """A complaint the customer raises in the app."""

    subject: Subject
    description: Text
    category: Category = "other"
    store_id: StoreId | None = Field(default=None, examples=["gangnam"])
    order_id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9._:-]{1,64}$", examples=["order-1"])


class AgentCaseRequest(CaseRequest):
    """A case an agent opens for a customer (a call, a letter, a visit at the counter)."""

    customer_id: str = Field(pattern=CUSTOMER_ID_PATTERN, examples=["cus_01M82AEKG51WJP0K379AYG4E2W"])
    channel: Literal["phone", "email", "post", "store", "other"] = "phone"


class Transition(_In):
    """Where the case goes. ``resolved`` needs the resolution the customer will read; ``one_stop``
    says it was solved at the first contact."""

    to: Target
    resolution: Text | None = None
    one_stop: StrictBool = False
    note: Text | None = None


class Assignment(_In):
    agent_id: str = Field(pattern=AGENT_ID, examples=["agent-sooyeon"])


class Escalation(_In):
    reason: Text


class NoteRequest(_In):
    """``internal``: agents only; ``customer``: a reply the customer reads in the app."""

    text: Text
    visibility: Literal["internal", "customer"] = "internal"


class CustomerReply(_In):
    text: Text


class AgentConfirmation(_In):
    """The customer said it is solved, on the phone, by e-mail or by post, at ``confirmed_at``."""

    channel: Channel
    confirmed_at: Timestamp
    solved: StrictBool = True
    note: Text | None = None


class CustomerConfirmation(_In):
    solved: StrictBool
    comment: Text | None = None


class Satisfaction(_In):
    score: StrictInt = Field(ge=1, le=5)
    comment: Text | None = None


class GoodwillRequest(_In):
    points: StrictInt = Field(ge=1, le=MAX_GOODWILL_POINTS)
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=GOODWILL_REASON)]


# -- what is answered ------------------------------------------------------------------------------


class TimerView(BaseModel):
    """One SLA clock: its deadline while it runs, when it was met or breached."""

    target_s: int
    due_at: AwareDatetime | None
    met_at: AwareDatetime | None
    breached_at: AwareDatetime | None
    paused: bool


class LogEntry(BaseModel):
    """A line of the case's timeline."""

    at: AwareDatetime
    kind: str
    by: str
    visibility: Literal["internal", "customer"]
    text: str | None = None
    data: dict[str, Any] = {}


class Grant(BaseModel):
    grant_id: str = Field(pattern=GRANT_ID_PATTERN)
    points: int
    reason: str
    agent_id: str
    status: Literal["requested", "credited", "refused"]
    requested_at: AwareDatetime
    entry_id: str | None = None  # the rewards ledger entry, once credited
    refusal: str | None = None


class MentionRef(BaseModel):
    source: Source
    external_id: str
    url: str | None
    posted_at: AwareDatetime
    reach: int
    sentiment: str
    themes: list[str]


class Case(BaseModel):
    """A case as agents see it."""

    case_id: str = Field(pattern=CASE_ID_PATTERN)
    version: int
    status: Status
    origin: Origin
    customer_id: str | None
    subject: str
    description: str | None
    category: Category
    store_id: str | None
    team: Team
    priority: Priority
    assignee: str | None
    escalated: bool
    escalated_by: Literal["agent", "sla"] | None
    one_stop: bool
    reopened: int
    opened_at: AwareDatetime
    resolved_at: AwareDatetime | None
    closed_at: AwareDatetime | None
    confirmed_by: ConfirmedBy | None
    confirmed_at: AwareDatetime | None
    resolution: str | None
    csat: int | None
    first_response: TimerView
    resolution_sla: TimerView
    mention: MentionRef | None
    grants: list[Grant]
    timeline: list[LogEntry]


class MyCase(BaseModel):
    """A case as its customer sees it: no internal notes, no agents' names."""

    case_id: str
    status: Status
    subject: str
    description: str | None
    opened_at: AwareDatetime
    resolved_at: AwareDatetime | None
    closed_at: AwareDatetime | None
    resolution: str | None
    csat: int | None
    awaiting_confirmation: bool
    replies: list[LogEntry]


class CaseSummary(BaseModel):
    case_id: str
    status: Status
    team: Team
    priority: Priority
    subject: str
    customer_id: str | None
    assignee: str | None
    opened_at: AwareDatetime
    queued_at: AwareDatetime

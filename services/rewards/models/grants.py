"""Awards and pre-grants to many customers: the request, the job and its report."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum
from typing import Self

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from shared.ids import prefixed_pattern

CUSTOMER_ID_PATTERN = prefixed_pattern("cus")
JOB_ID_PATTERN = prefixed_pattern("pgj")
CAMPAIGN_ID_PATTERN = prefixed_pattern("cmp")  # the campaigns service's, whose offers pre-grant points
MAX_CUSTOMERS = 10_000
CHUNK = 100  # customers per queue message


class GrantKind(StrEnum):
    AWARD = "award"  # points as any earned points (the earn rules' validity unless given)
    PREGRANT = "pregrant"  # predicted points ahead of a purchase: a short expiry, clawed back if unused


class GrantRequest(BaseModel):
    model_config = ConfigDict(defer_build=True, extra="forbid", frozen=True)

    kind: GrantKind
    customer_ids: list[str] = Field(min_length=1, max_length=MAX_CUSTOMERS)
    points: int = Field(ge=1, le=1_000_000, description="Points per customer")
    valid_days: int | None = Field(
        default=None,
        ge=1,
        le=730,
        description="Pre-grants: 1..30 days (required). Awards: the rules' default",
    )
    reason: str = Field(min_length=1, max_length=500, description="Shown to staff; never logged")

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.kind is GrantKind.PREGRANT and (self.valid_days is None or self.valid_days > 30):
            raise ValueError("a pre-grant needs valid_days between 1 and 30")
        if len(set(self.customer_ids)) != len(self.customer_ids):
            raise ValueError("customer_ids must be unique")
        return self


class JobStatus(StrEnum):
    QUEUED = "queued"
    COMPLETED = "completed"


class GrantJob(BaseModel):
    """A grant job's progress: each customer is granted once, however often a chunk is delivered."""

    model_config = ConfigDict(defer_build=True)

    job_id: str
    kind: GrantKind
    status: JobStatus
    points: int
    customers: int
    granted: int = Field(description="Customers granted by this job")
    rejected: int = Field(description="Customers with no rewards account (unknown or erased)")
    rejected_ids: list[str] = Field(description="The first 100 rejected customer ids")
    expires_at: AwareDatetime
    created_at: AwareDatetime
    created_by: str
    reason: str
    completed_at: AwareDatetime | None = None


class PurchasesWhileOpen(BaseModel):
    model_config = ConfigDict(defer_build=True)

    count: int
    spend: dict[str, int] = Field(description="Total per currency, minor units")


class GrantReport(BaseModel):
    """What a grant did: points issued, used (spent from its lots), clawed back (expired unused),
    still open, and the purchases its customers made while their points were open."""

    model_config = ConfigDict(defer_build=True)

    job_id: str
    kind: GrantKind
    status: JobStatus
    customers_granted: int
    issued_points: int
    used_points: int
    clawed_back_points: int
    open_points: int
    expires_at: AwareDatetime
    open: bool
    purchases_while_open: PurchasesWhileOpen
    as_of: dt.datetime


class PointCampaignReport(BaseModel):
    """What a campaign's points offers did: the points pre-granted, spent from their lots (or paying
    an old debt), clawed back unused, and still held. ``issued = used + clawed_back + outstanding``
    always; lots past their expiry count as outstanding until the expiry run (every 5 minutes)
    claws them back."""

    model_config = ConfigDict(defer_build=True)

    campaign_id: str
    customers: int = Field(description="Offers credited (a customer with two offers counts twice)")
    issued: int
    used: int
    clawed_back: int
    outstanding: int


# -- what the store tells the logic (``logic.grants.GrantStore``) ---------------------------------


@dataclass(frozen=True)
class JobRecord:
    """A job as stored: the job, how many chunks it was split into and which are counted, and what
    its customers did with the points while it was open (the report's counters)."""

    job: GrantJob
    chunks: int
    chunks_done: frozenset[int]
    used_points: int
    clawed_back_points: int
    purchases_while_open: int
    spend_while_open: dict[str, int]


@dataclass(frozen=True)
class CampaignCounts:
    """A campaign's points offers as counted in the ledger's transactions (``CAMPAIGN#<id>``)."""

    customers: int
    issued: int
    used: int
    clawed_back: int

"""The weekly digest: what customers talked about, complained of and asked for, by theme, product
and store, who they were (value segments), and how the cases were handled (SLA figures)."""

from __future__ import annotations

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field


class Row(BaseModel):
    """A theme, product or store: how often it came up, in complaints and in requests, and among
    which value segments (mentions linked to a customer)."""

    key: str
    mentions: int
    complaints: int
    requests: int
    segments: dict[str, int] = {}


class SlaFigures(BaseModel):
    cases: int
    first_response_met_pct: float | None
    resolution_met_pct: float | None
    first_response_median_s: int | None = Field(description="Business seconds, median")
    resolution_median_s: int | None = Field(description="Business seconds, median")
    one_stop_pct: float | None = Field(description="Of the cases resolved")
    breached: int
    csat_avg: float | None


class Digest(BaseModel):
    week: str = Field(pattern=r"^\d{4}-W\d{2}$")
    starts: AwareDatetime
    ends: AwareDatetime
    generated_at: AwareDatetime
    mentions: int
    complaints: int
    requests: int
    sentiment: dict[str, int]
    sources: dict[str, int]
    segments: dict[str, int] = Field(description="Mentions by the value segment of their customer")
    themes: list[Row]
    products: list[Row]
    stores: list[Row]
    unmet_needs: list[Row] = Field(description="Themes and products asked for, most asked first")
    request_samples: list[str] = Field(
        description="A few requests as written (linked customers erased drop out)"
    )
    sla: SlaFigures


class DigestSummary(BaseModel):
    week: str
    mentions: int
    complaints: int
    generated_at: AwareDatetime


class SubscriptionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: str = Field(
        pattern=r"^[^@\s]{1,64}@[^@\s]{1,190}\.[^@\s]{2,63}$", max_length=254, examples=["cx-lead@dangol.dev"]
    )


class Subscription(BaseModel):
    email: str
    since: AwareDatetime

"""A segment as the API shows it: its rule in force, its version, its members' count."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from shared.ids import prefixed_pattern

SEGMENT_ID_PATTERN = prefixed_pattern("seg")
PREVIEW_ID_PATTERN = prefixed_pattern("spv")
PREVIEW_SAMPLE = 20  # customer ids a preview shows at most


class Segment(BaseModel):
    model_config = ConfigDict(defer_build=True, frozen=True)

    id: str = Field(examples=["seg_01JD6Y8A4D1N9V2Q7Y3G5K8M0P"])
    name: str
    description: str | None = None
    rule: dict[str, Any] = Field(description="The rule in force (see POST /admin/segments)")
    version: int
    count: int = Field(description="Members now (kept as events arrive)")
    status: Literal["evaluating", "ready"] = Field(
        description="evaluating: this version's members are being computed over every customer"
    )
    evaluated: int = Field(description="Customers the evaluation of this version has looked at so far")
    time_dependent: bool = Field(
        description="The rule's answer changes with time alone (relative dates, windows)"
    )
    created_at: AwareDatetime
    updated_at: AwareDatetime


class SegmentVersion(BaseModel):
    model_config = ConfigDict(defer_build=True, frozen=True)

    id: str
    version: int
    name: str
    description: str | None = None
    rule: dict[str, Any]
    created_at: AwareDatetime


class Member(BaseModel):
    model_config = ConfigDict(defer_build=True, frozen=True)

    customer_id: str


class SegmentPreview(BaseModel):
    """A draft rule's preview: a job over every customer view, a page at a time (no segment is
    kept, no member written); the job is kept a day."""

    model_config = ConfigDict(defer_build=True, frozen=True)

    id: str = Field(examples=["spv_01JD6Y8A4D1N9V2Q7Y3G5K8M0P"])
    rule: dict[str, Any] = Field(description="The rule previewed")
    status: Literal["running", "done"] = Field(
        description="running: customer views are still being looked at; done: count is final"
    )
    looked_at: int = Field(description="Customer views looked at so far")
    count: int = Field(description="Customers the rule matched so far")
    sample: list[str] = Field(
        description=f"Up to {PREVIEW_SAMPLE} matching customer ids (the first found, in id order)"
    )
    created_at: AwareDatetime
    updated_at: AwareDatetime = Field(description="When the job last moved on")
    expires_at: AwareDatetime = Field(description="When the job is forgotten")

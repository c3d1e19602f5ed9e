"""A segment as the API shows it: its rule in force, its version, its members' count."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from shared.ids import prefixed_pattern

SEGMENT_ID_PATTERN = prefixed_pattern("seg")


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

"""The profile and rewards services' events as the feedback service reads them: its own copy of
each contract (the services never import each other). Unknown fields are ignored so that a
producer can add to its events; what feedback relies on is checked by the contract tests."""

from __future__ import annotations

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

ID = r"^[a-z]{2,8}_[0-9A-HJKMNP-TV-Z]{26}$"


class _Inbound(BaseModel):
    model_config = ConfigDict(defer_build=True, frozen=True, extra="ignore")


class CustomerRegistered(_Inbound):
    customer_id: str = Field(pattern=ID)
    subject: str | None = Field(default=None, min_length=1, max_length=128)  # the login's sub (/me/cases)


class ValueSegmentChanged(_Inbound):
    customer_id: str = Field(pattern=ID)
    segment: str = Field(pattern=r"^[a-z_]{1,32}$")  # top, loyal, regular, occasional, lapsed


class CustomerErased(_Inbound):
    customer_id: str = Field(pattern=ID)


class GoodwillCredited(_Inbound):
    grant_id: str = Field(pattern=ID)
    case_id: str = Field(pattern=ID)
    customer_id: str = Field(pattern=ID)
    points: int
    entry_id: str = Field(min_length=1, max_length=64)
    credited_at: AwareDatetime


class GoodwillRefused(_Inbound):
    grant_id: str = Field(pattern=ID)
    case_id: str = Field(pattern=ID)
    customer_id: str = Field(pattern=ID)
    reason: str = Field(min_length=1, max_length=64)
    refused_at: AwareDatetime

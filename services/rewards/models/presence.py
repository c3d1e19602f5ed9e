"""Member codes: what the customer's app shows at the counter, so the till can show that the
customer is there before it holds their points or redeems their coupon."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

MEMBER_CODE_PATTERN = r"^[0-9A-Za-z]{5}-?[0-9A-Za-z]{5}$"


class MemberCode(BaseModel):
    """A fresh code: valid a few minutes, for one checkout (one order at one till)."""

    model_config = ConfigDict(defer_build=True, frozen=True)

    code: str = Field(description="Ten characters, `XXXXX-XXXXX`; the till may type it without the dash")
    qr: str = Field(description="What the app draws as a QR code for the till's scanner")
    expires_at: datetime


class MemberCodeLookup(BaseModel):
    """A code the till scanned or typed (a bearer secret for minutes: it stays out of URLs and logs)."""

    model_config = ConfigDict(defer_build=True, frozen=True, extra="forbid")

    member_code: str = Field(pattern=MEMBER_CODE_PATTERN)


class MemberAtCounter(BaseModel):
    """Who the code shows at the counter (the till learns the customer id, nothing else)."""

    model_config = ConfigDict(defer_build=True, frozen=True)

    customer_id: str
    expires_at: datetime

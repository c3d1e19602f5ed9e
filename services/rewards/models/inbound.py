"""The profile service's events as the rewards service reads them: its own copy of the contract
(the services never import each other). Unknown fields are ignored so that the profile service
can add to its events without breaking this consumer; what rewards relies on is checked."""

from __future__ import annotations

import datetime as dt

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

ID = r"^[a-z]{2,8}_[0-9A-HJKMNP-TV-Z]{26}$"
CURRENCY = r"^[A-Z]{3}$"


class _Inbound(BaseModel):
    model_config = ConfigDict(defer_build=True, frozen=True, extra="ignore")


class CustomerRegistered(_Inbound):
    customer_id: str = Field(pattern=ID)
    subject: str | None = Field(default=None, min_length=1, max_length=128)  # the login's sub
    returning: bool = False  # the person had an erased login: no second sign-up bonus


class CustomerImported(_Inbound):
    customer_id: str = Field(pattern=ID)


class CustomerErased(_Inbound):
    customer_id: str = Field(pattern=ID)


class PurchaseLine(_Inbound):
    sku: str = Field(min_length=1, max_length=64)
    category: str = Field(min_length=1, max_length=64)
    quantity: int = Field(ge=1)
    amount: int = Field(ge=0)


class PurchaseRecorded(_Inbound):
    purchase_id: str = Field(pattern=ID)
    customer_id: str = Field(pattern=ID)
    store_id: str = Field(min_length=1, max_length=64)
    currency: str = Field(pattern=CURRENCY)
    total: int = Field(ge=0)
    lines: list[PurchaseLine] = Field(max_length=500)
    purchased_at: AwareDatetime
    local_date: dt.date


class PurchaseRefunded(_Inbound):
    purchase_id: str = Field(pattern=ID)
    refund_id: str = Field(min_length=1, max_length=128)
    customer_id: str = Field(pattern=ID)
    refunded_at: AwareDatetime

"""The campaigns service's events as the profile service reads them: its own copy of the contract
(the services never import each other; ``tests/unit/contracts/`` holds both sides together).
Unknown fields are ignored so that the campaigns service can add to its events."""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from services.profile.models.profile import DEVICE_ID_PATTERN
from shared.ids import prefixed_pattern

CUSTOMER_ID = prefixed_pattern("cus")


class _Inbound(BaseModel):
    model_config = ConfigDict(defer_build=True, frozen=True, extra="ignore")


class EmailUndeliverable(_Inbound):
    """An e-mail to the customer's address bounced permanently or drew a complaint (SES)."""

    customer_id: str = Field(pattern=CUSTOMER_ID)
    reason: Literal["bounce", "complaint"]
    at: AwareDatetime


class PushTokenDisabled(_Inbound):
    """The push provider refused the device's token: it is dead."""

    customer_id: str = Field(pattern=CUSTOMER_ID)
    device_id: str = Field(pattern=DEVICE_ID_PATTERN)
    at: AwareDatetime

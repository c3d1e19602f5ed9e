"""The events the campaigns service emits on the bus (source ``dangol.campaigns``): what it learnt
about a customer's channels while sending. Ids only, never an address or a token: the profile
service, which owns them, marks them unverified.

Each field is as strict as what the service puts in it (``shared.ids`` patterns, aware instants),
so a consumer may rely on the model.
"""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, Field

from shared.events import DomainEvent
from shared.ids import prefixed_pattern

CUSTOMER_ID_PATTERN = prefixed_pattern("cus")  # the profile service's ids, as on its cards
DEVICE_ID_PATTERN = r"^[A-Za-z0-9._:-]{1,64}$"  # the profile service's device ids (its cards carry them)


class EmailUndeliverable(DomainEvent):
    """SES reported a permanent bounce of, or a complaint about, an e-mail to the customer's
    address: SES's suppression list already refuses it; the address should be treated as
    unverified."""

    customer_id: str = Field(pattern=CUSTOMER_ID_PATTERN)
    reason: Literal["bounce", "complaint"]
    at: AwareDatetime = Field(description="When SES saw the bounce or the complaint")


class PushTokenDisabled(DomainEvent):
    """The push provider refused the device's token (SNS: ``EndpointDisabled``): it is dead."""

    customer_id: str = Field(pattern=CUSTOMER_ID_PATTERN)
    device_id: str = Field(pattern=DEVICE_ID_PATTERN)
    at: AwareDatetime = Field(description="When the push was refused")

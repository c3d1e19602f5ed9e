"""An offer as the customer's app shows it (``GET /me/offers``)."""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from shared.ids import prefixed_pattern

OFFER_ID_PATTERN = prefixed_pattern("ofr")


class MyOffer(BaseModel):
    model_config = ConfigDict(defer_build=True, frozen=True)

    id: str = Field(examples=["ofr_01JD6Y8A4D1N9V2Q7Y3G5K8M0P"])
    campaign_id: str
    kind: Literal["coupon", "content", "points"]
    title: str = Field(examples=["A free cake for your anniversary"])
    description: str | None = None
    url: str | None = None
    points: int | None = Field(default=None, description="Pre-granted points (kind points)")
    coupon_id: str | None = Field(
        default=None, description="The coupon in the wallet (kind coupon), once the rewards service issued it"
    )
    offered_at: AwareDatetime
    expires_at: AwareDatetime
    opened_at: AwareDatetime | None = None
    redeemed_at: AwareDatetime | None = None
    status: Literal["waiting", "opened", "redeemed", "expired"]


class MyOffers(BaseModel):
    model_config = ConfigDict(defer_build=True, frozen=True)

    items: list[MyOffer]

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


# -- offers and draws: what campaigns asks of the rewards service -----------------------------

OFFER_ID_PATTERN = prefixed_pattern("ofr")  # new_id("ofr"): one offer to one customer
CAMPAIGN_ID_PATTERN = prefixed_pattern("cmp")
COUPON_TEMPLATE_PATTERN = prefixed_pattern("ctp")  # the rewards service's coupon templates
GIFT_ID_PATTERN = prefixed_pattern("gft")  # the rewards service's gifts
MAX_DRAWS = 50  # draws one schedule may hold
MAX_WINNERS = 1000  # winners one draw may pick


class OfferCouponRequested(DomainEvent):
    """A campaign attached a coupon to its message for this customer: the rewards service issues
    one coupon of the template to them, once per ``offer_id`` whatever is redelivered, valid at
    most until ``valid_until`` (``CouponIssued`` then says ``source = "offer:<offer_id>"``)."""

    offer_id: str = Field(pattern=OFFER_ID_PATTERN)
    customer_id: str = Field(pattern=CUSTOMER_ID_PATTERN)
    campaign_id: str = Field(pattern=CAMPAIGN_ID_PATTERN)
    coupon_template_id: str = Field(pattern=COUPON_TEMPLATE_PATTERN)
    valid_until: AwareDatetime


class PointsOfferRequested(DomainEvent):
    """A campaign pre-grants points to this customer: the rewards service credits ``points`` as a
    pre-grant lot that expires at ``expires_at`` (what is unused then is clawed back), once per
    ``offer_id``; its report per campaign counts what was issued, used and clawed back."""

    offer_id: str = Field(pattern=OFFER_ID_PATTERN)
    customer_id: str = Field(pattern=CUSTOMER_ID_PATTERN)
    campaign_id: str = Field(pattern=CAMPAIGN_ID_PATTERN)
    points: int = Field(ge=1, le=1_000_000)
    expires_at: AwareDatetime


class DrawScheduled(DomainEvent):
    """A draw of a gift is on a campaign's schedule: entries close at ``closes_at``. The rewards
    service commits to a secret seed at once (``DrawCommitted``), before the entries close."""

    gift_id: str = Field(pattern=GIFT_ID_PATTERN)
    draw: int = Field(ge=1, le=MAX_DRAWS)
    closes_at: AwareDatetime
    winners: int = Field(ge=1, le=MAX_WINNERS)


class DrawDue(DomainEvent):
    """The draw's entries have closed: the rewards service draws its winners from the seed it
    committed to, reveals the seed and announces them (``DrawCompleted``)."""

    gift_id: str = Field(pattern=GIFT_ID_PATTERN)
    draw: int = Field(ge=1, le=MAX_DRAWS)


class CampaignLaunchRequested(DomainEvent):
    """Marketing asks for a campaign's launch by an event on the bus, e.g. from the AWS console's
    EventBridge "Send events" page (source ``dangol.campaigns``, detail-type
    ``CampaignLaunchRequested``). Recorded like an API launch, and as idempotent: a campaign
    already launched stays as it is."""

    campaign_id: str = Field(pattern=CAMPAIGN_ID_PATTERN)
    requested_by: str = Field(
        min_length=1, max_length=100, description="Who asked (an operator's name or role, for the record)"
    )

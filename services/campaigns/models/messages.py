"""A message template as the API shows it (its content in force, its version), and its preview."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StrictStr, StringConstraints

from services.campaigns.models.templates import Channel, Locale, Purpose, Rendered
from shared.ids import prefixed_pattern
from shared.params import CUSTOMER_ID_PATTERN

TEMPLATE_ID_PATTERN = prefixed_pattern("tpl")


class Template(BaseModel):
    """A template in force: what was saved (``POST /admin/templates``), its id and version."""

    model_config = ConfigDict(defer_build=True, frozen=True)

    id: str = Field(examples=["tpl_01JD6Y8A4D1N9V2Q7Y3G5K8M0P"])
    version: int
    name: str
    channel: Channel
    purpose: Purpose
    sender: str
    opt_out: str | None = None
    locales: dict[str, dict[str, str]]
    default_locale: str
    created_at: AwareDatetime
    updated_at: AwareDatetime


class TemplateVersion(BaseModel):
    """One saved version, never changed."""

    model_config = ConfigDict(defer_build=True, frozen=True)

    id: str
    version: int
    name: str
    channel: Channel
    purpose: Purpose
    sender: str
    opt_out: str | None = None
    locales: dict[str, dict[str, str]]
    default_locale: str
    created_at: AwareDatetime = Field(description="When this version was saved")


class SampleOffer(BaseModel):
    """The ``offer`` a preview renders with (a campaign will give its own)."""

    model_config = ConfigDict(defer_build=True, extra="forbid", frozen=True)

    title: Annotated[StrictStr, StringConstraints(min_length=1, max_length=100)] = "아메리카노 1+1"
    code: Annotated[StrictStr, StringConstraints(min_length=1, max_length=40)] = "DANGOL-1234"
    expires_on: dt.date = dt.date(2025, 12, 31)
    url: Annotated[StrictStr, StringConstraints(pattern=r"^https://\S{1,490}$")] = (
        "https://dangol.example/o/1234"
    )


class PreviewRequest(BaseModel):
    """Whom to render for: a customer (their view and contact card), or the sample customer."""

    model_config = ConfigDict(defer_build=True, extra="forbid", frozen=True)

    customer_id: Annotated[StrictStr, StringConstraints(pattern=CUSTOMER_ID_PATTERN)] | None = Field(
        default=None, description="A customer (cus_…); absent or null: the sample customer"
    )
    locale: Locale | None = Field(
        default=None, description="The locale to render in (else the customer's), with fallback"
    )
    offer: SampleOffer | None = Field(
        default=None,
        description="The offer's variables (else the sample offer)",
        examples=[
            {
                "title": "아메리카노 1+1",
                "code": "DANGOL-1234",
                "expires_on": "2025-12-31",
                "url": "https://dangol.example/o/1234",
            }
        ],
    )


class Preview(BaseModel):
    """The message as a customer would get it, and what the sender would decide about it."""

    model_config = ConfigDict(defer_build=True, frozen=True)

    template_id: str
    version: int
    customer_id: str | None = Field(description="None: rendered for the sample customer")
    sample: bool = Field(description="Rendered with the sample customer's data")
    locale: str = Field(description="The locale actually used (after fallback)")
    message: Rendered
    advertisement_marked: bool = Field(
        description="Marked as an advertisement for Korea: (광고), the sender, the free opt-out"
    )
    night_rule: bool = Field(
        description="Korea's night rule applies (a marketing SMS or push to a customer in Korea):"
        " between 21:00 and 08:00 local time it needs the separate night consent"
    )

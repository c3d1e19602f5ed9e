"""A campaign's result against its control group, as the API and the CSV export show it.

The treatment group got the message; the control group was held out (``logic.sending.in_control``)
from the same eligible customers, so the difference between the two conversion rates is what the
message did, give or take chance. ``logic.results`` computes it and says how sure it is (a 95%
interval), or says the groups are too small to tell.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Verdict = Literal["measured", "too_small"]
Period = Annotated[str, StringConstraints(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")]
Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]


class _Output(BaseModel):
    # allow_inf_nan=False: a NaN or an infinity in a result is a bug upstream, not a number to show.
    model_config = ConfigDict(defer_build=True, frozen=True, allow_inf_nan=False)


class Lift(_Output):
    """What the message added to the conversion rate, with its 95% confidence interval."""

    absolute: float = Field(
        ge=-1,
        le=1,
        description="Conversion rate of the treatment group minus that of the control group, as a fraction "
        "(0.04 = four percentage points)",
        examples=[0.04],
    )
    low: float = Field(
        ge=-1, le=1, description="Lower end of the 95% confidence interval of `absolute`", examples=[0.0121]
    )
    high: float = Field(
        ge=-1, le=1, description="Upper end of the 95% confidence interval of `absolute`", examples=[0.0611]
    )
    relative: float | None = Field(
        description="`absolute` over the control group's rate (0.5 = half as many again); null when the "
        "control group did not convert at all",
        examples=[0.5],
    )
    method: str = Field(
        description="How the interval was computed",
        examples=["Newcombe hybrid score interval (Wilson), 95%"],
    )


class Result(_Output):
    """One campaign's result for one period (a month of a triggered campaign) or for all of it."""

    period: Period | None = Field(
        description="The month (YYYY-MM) of a triggered campaign's sends; null for the whole campaign",
        examples=["2026-12", None],
    )
    currency: Currency = Field(description="ISO 4217 currency of every revenue figure", examples=["KRW"])
    recipients: int = Field(
        ge=0, description="Customers sent the message (the treatment group)", examples=[1800]
    )
    control: int = Field(ge=0, description="Customers held out (the control group)", examples=[200])
    conversions: int = Field(
        ge=0,
        description="Recipients who bought within the attribution window after the message (each once per "
        "message)",
        examples=[216],
    )
    control_conversions: int = Field(
        ge=0,
        description="Held-out customers who bought within the attribution window after the moment they would "
        "have got it",
        examples=[16],
    )
    conversion_rate: float | None = Field(
        ge=0, le=1, description="conversions / recipients; null when nobody was sent it", examples=[0.12]
    )
    control_rate: float | None = Field(
        ge=0,
        le=1,
        description="control_conversions / control; null when nobody was held out",
        examples=[0.08],
    )
    revenue: int = Field(
        description="What the converted recipients spent in the window, in minor units of `currency`",
        examples=[5_400_000],
    )
    control_revenue: int = Field(
        description="What the converted held-out customers spent in the window, in minor units of `currency`",
        examples=[300_000],
    )
    revenue_per_recipient: float | None = Field(
        description="revenue / recipients, in minor units; null when nobody was sent it", examples=[3000.0]
    )
    control_revenue_per_recipient: float | None = Field(
        description="control_revenue / control, in minor units; null when nobody was held out",
        examples=[1500.0],
    )
    verdict: Verdict = Field(
        description="`measured`, or `too_small` when a group is too small for the lift to mean anything",
        examples=["measured"],
    )
    reason: str | None = Field(
        default=None,
        description="Why it is too small; null when measured",
        examples=["control group of 2 (at least 30 needed)"],
    )
    lift: Lift | None = Field(default=None, description="The lift in conversion rate; null when too small")
    incremental_revenue: int | None = Field(
        default=None,
        description="Revenue the message added: (revenue_per_recipient - control_revenue_per_recipient) x "
        "recipients, rounded to a minor unit; null when too small",
        examples=[2_700_000],
    )
    incremental_conversions: float | None = Field(
        default=None,
        description="Conversions the message added: lift.absolute x recipients; null when too small",
        examples=[72.0],
    )


class Results(_Output):
    """A campaign's results: over its whole life and, for a triggered campaign, month by month."""

    campaign_id: str = Field(description="The campaign", examples=["cmp_01JD6Y8A4D1N9V2Q7Y3G5K8M0P"])
    name: str = Field(description="The campaign's name", examples=["Winback: 60 days without a purchase"])
    attribution_days: int = Field(
        ge=1,
        description="A purchase this many days after the message (or the held-out moment) counts as a "
        "conversion",
        examples=[7],
    )
    overall: Result = Field(description="The whole campaign (period null)")
    periods: list[Result] = Field(
        default_factory=list, description="Month by month for a triggered campaign; empty for a one-off"
    )

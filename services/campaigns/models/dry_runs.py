"""A campaign's dry run: what launching it now would do, as the sender would decide it, with
nothing written (``logic.dry_runs``).

What it shows of a customer is what marketing may see: the id, the decision and its reason, the
address masked (``j***@example.com``, ``***5678``) and the message's first line as it would be
rendered for them (the templates' preview shows as much). No full address, no token.
"""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StrictInt

DEFAULT_SAMPLE = 10
MAX_SAMPLE = 50  # one contact-card request (at most 100) and well inside the API's 10 s

# The sender's decisions (``models.campaigns.Decision``) as they would be made now; ``send`` where
# the sender would go on to send (it cannot know ``sent`` or ``failed`` at the channel before it
# tries). ``failed`` only for what fails before the channel: the template missing or not rendering.
DryDecision = Literal["send", "control", "deferred", "no_consent", "no_address", "erased", "capped", "failed"]


class DryRunRequest(BaseModel):
    """How many of the audience to decide for (``{}``: the default)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    sample: StrictInt = Field(
        default=DEFAULT_SAMPLE,
        ge=1,
        le=MAX_SAMPLE,
        examples=[DEFAULT_SAMPLE],
        description="Customers of the audience to show the sender's decision for",
    )


class DryRunAudience(BaseModel):
    """Who it would reach. A segment campaign: its segment's members now. A triggered one: whoever
    its trigger's event concerns when it comes (``count`` null: nobody can be counted ahead)."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["segment", "trigger"]
    count: int | None = Field(description="Customers it would reach now (null for a triggered campaign)")
    segment_id: str | None = None
    trigger: str | None = Field(default=None, description="A triggered campaign's event (e.g. anniversary)")


class DryRunLine(BaseModel):
    """One sampled customer: the decision the sender would make now, and why."""

    model_config = ConfigDict(frozen=True)

    customer_id: str
    decision: DryDecision
    reason: str | None = Field(
        default=None, description="The reason the sender would log (email.marketing, quiet_hours, ...)"
    )
    until: AwareDatetime | None = Field(default=None, description="When a deferred message would go")
    channel: str
    address: str | None = Field(default=None, description="Where it would go, masked")
    locale: str | None = Field(default=None, description="The locale it would be rendered in")
    preview: str | None = Field(
        default=None, description="Its subject (e-mail), title (push) or first words (SMS), as rendered"
    )


class DryRun(BaseModel):
    model_config = ConfigDict(defer_build=True, frozen=True)

    campaign_id: str
    status: str = Field(description="The campaign's status now (a dry run changes nothing)")
    channel: str
    purpose: str = Field(description="marketing or service: which consent, caps and quiet hours hold")
    at: AwareDatetime = Field(description="The moment the decisions were made for")
    audience: DryRunAudience
    control: int | None = Field(
        description="Of the audience, those in the control group (held out once eligible); "
        "null for a triggered campaign"
    )
    control_percent: int
    control_exact: bool = Field(
        description="false: the audience is too large to page in one request; control is then "
        "control_percent of it, rounded"
    )
    sample: list[DryRunLine]
    summary: dict[str, int] = Field(description="The sample's decisions, counted")

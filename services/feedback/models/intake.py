"""What goes on the mentions topic, and what the intake answers a source."""

from __future__ import annotations

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from services.feedback.models.events import CUSTOMER_ID_PATTERN
from services.feedback.models.mention import Classification, Mention


class Classified(BaseModel):
    """A mention as the topic carries it to the queues: what the source said, what the classifier
    read, and the customer behind the handle if they linked it in their profile."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    mention: Mention
    found: Classification
    customer_id: str | None = Field(default=None, pattern=CUSTOMER_ID_PATTERN)
    received_at: AwareDatetime

    @property
    def key(self) -> str:
        return self.mention.key


class Failure(BaseModel):
    """An item of a delivery that could not be read: its code and where it was, never its text."""

    code: str
    index: int | None = None
    external_id: str | None = None


class Accepted(BaseModel):
    """What a source is answered: how many mentions were new, already known, skipped or unreadable."""

    accepted: int
    duplicates: int
    skipped: int
    failures: list[Failure]

"""A mention of the brand, as every source's adapter hands it over: one model for X, Instagram,
Facebook, Naver and the app stores (``logic.sources``), classified (``logic.classify``) and then
published to the mentions topic with its message attributes (``attributes``).

A mention is public text someone wrote about the brand. It is stored by the feedback service only,
never logged (the logs carry its source, external id and codes), and erased with the customer it
is linked to.
"""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

Source = Literal["x", "instagram", "facebook", "naver_blog", "naver_cafe", "app_store", "google_play"]
SOURCES: tuple[Source, ...] = (
    "x",
    "instagram",
    "facebook",
    "naver_blog",
    "naver_cafe",
    "app_store",
    "google_play",
)
Language = Literal["ko", "en", "other"]
Sentiment = Literal["negative", "neutral", "positive"]

EXTERNAL_ID = r"^[A-Za-z0-9._:@/-]{1,128}$"  # a post, comment, review or article id at its source
HANDLE = r"^[A-Za-z0-9._-]{1,64}$"  # an account's handle or id at its source, without the '@'
MAX_TEXT = 4000  # X allows 4,000 characters to subscribers; a review or blog summary fits


class Mention(BaseModel):
    """What a source said, normalised. ``reach`` is the audience the author can reach (followers,
    subscribers; 0 when the source does not say)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    source: Source
    external_id: str = Field(pattern=EXTERNAL_ID)
    author_handle: str | None = Field(default=None, pattern=HANDLE)
    author_id: str | None = Field(default=None, pattern=EXTERNAL_ID)
    text: str = Field(min_length=1, max_length=MAX_TEXT)
    url: str | None = Field(default=None, max_length=512)
    posted_at: AwareDatetime
    reach: int = Field(default=0, ge=0)
    rating: int | None = Field(default=None, ge=1, le=5)  # app-store reviews: the stars given
    in_reply_to: str | None = Field(default=None, pattern=EXTERNAL_ID)

    @property
    def key(self) -> str:
        """The mention's identity across redeliveries: (source, external id)."""
        return f"{self.source}#{self.external_id}"


class Classification(BaseModel):
    """What ``logic.classify`` read in a mention's text."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    language: Language
    sentiment: Sentiment
    complaint: bool
    request: bool = False  # asks for something the brand does not offer yet (an unmet need)
    score: float = Field(ge=-1.0, le=1.0)  # < 0 negative, > 0 positive
    themes: tuple[str, ...] = ()  # lexicon themes it touches (``service``, ``wait``, ``price``...)
    products: tuple[str, ...] = ()  # product terms it names, normalised (``croissant``, ``latte``...)
    stores: tuple[str, ...] = ()  # store names it names, normalised


ALERT_REACH = 1000  # a negative mention this loud is told to the person on duty at once


def attributes(mention: Mention, found: Classification) -> dict[str, dict[str, str]]:
    """The SNS message attributes the subscriptions filter on (``topology``: cases, alerts, insights)."""
    return {
        "source": {"DataType": "String", "StringValue": mention.source},
        "language": {"DataType": "String", "StringValue": found.language},
        "sentiment": {"DataType": "String", "StringValue": found.sentiment},
        "complaint": {"DataType": "String", "StringValue": "true" if found.complaint else "false"},
        "reach": {"DataType": "Number", "StringValue": str(mention.reach)},
    }

"""Profile models: what clients send, what they get back, and the stored record."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, model_validator

from shared.ids import prefixed_pattern

CUSTOMER_ID_PATTERN = prefixed_pattern("cus")


def _zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError("not a known IANA time zone") from None
    return name


DisplayName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Email = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True,
        max_length=254,
        pattern=r"^[^@\s\x00-\x1f]{1,64}@[^@\s\x00-\x1f]+\.[^@\s\x00-\x1f]+$",
    ),
]
Phone = Annotated[str, StringConstraints(pattern=r"^\+[1-9][0-9]{6,14}$")]  # E.164
Locale = Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}(-[A-Z][a-z]{3})?(-([A-Z]{2}|[0-9]{3}))?$")]
TimeZone = Annotated[str, StringConstraints(min_length=1, max_length=64), AfterValidator(_zone)]


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ProfileCreate(_Input):
    display_name: DisplayName = Field(examples=["김민지"])
    email: Email | None = Field(default=None, examples=["minji@example.com"])
    phone: Phone | None = Field(default=None, description="E.164", examples=["+821012345678"])
    locale: Locale = Field(default="ko-KR", description="BCP 47 language tag")
    time_zone: TimeZone = Field(default="Asia/Seoul", description="IANA time zone")


class ProfileUpdate(_Input):
    """Only the fields sent change; ``null`` clears an optional contact point."""

    display_name: DisplayName | None = None
    email: Email | None = None
    phone: Phone | None = None
    locale: Locale | None = None
    time_zone: TimeZone | None = None

    @model_validator(mode="after")
    def _some_change(self) -> ProfileUpdate:
        if not self.model_fields_set:
            raise ValueError("at least one field must be given")
        for required in ("display_name", "locale", "time_zone"):
            if required in self.model_fields_set and getattr(self, required) is None:
                raise ValueError(f"{required} cannot be null")
        return self

    def changes(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in sorted(self.model_fields_set)}


class Profile(BaseModel):
    model_config = ConfigDict(frozen=True)

    customer_id: str = Field(pattern=CUSTOMER_ID_PATTERN)
    display_name: str
    email: str | None = None
    phone: str | None = None
    locale: str
    time_zone: str
    version: int = Field(ge=1, description="Increases with every change; send it back as If-Match.")
    created_at: datetime
    updated_at: datetime

"""Profile models: what clients send, what they get back, and the stored record."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from services.profile.models.handles import Network, SocialHandlesChange
from shared.clock import utc_now
from shared.ids import prefixed_pattern

CUSTOMER_ID_PATTERN = prefixed_pattern("cus")


def _zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError("not a known IANA time zone") from None
    return name


DisplayName = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100), Field(examples=["김민지"])
]
Email = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True,
        max_length=254,
        pattern=r"^[^@\s\x00-\x1f]{1,64}@[^@\s\x00-\x1f]+\.[^@\s\x00-\x1f]+$",
    ),
    Field(examples=["minji@example.com"]),
]
PHONE_PATTERN = r"^\+[1-9][0-9]{6,14}$"  # E.164
Phone = Annotated[
    str, StringConstraints(pattern=PHONE_PATTERN), Field(description="E.164", examples=["+821012345678"])
]
Locale = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z]{2,3}(-[A-Z][a-z]{3})?(-([A-Z]{2}|[0-9]{3}))?$"),
    Field(description="BCP 47 language tag", examples=["ko-KR"]),
]
TimeZone = Annotated[
    str,
    StringConstraints(min_length=1, max_length=64),
    AfterValidator(_zone),
    Field(description="IANA time zone", examples=["Asia/Seoul"]),
]


class _Input(BaseModel):
    model_config = ConfigDict(defer_build=True, extra="forbid", frozen=True)


def _not_future(day: date) -> date:
    if day > utc_now().date():
        raise ValueError("must not be in the future")
    return day


def _iso_text(value: Any) -> Any:
    # pydantic would read a number as a Unix time; a date here is always YYYY-MM-DD.
    if isinstance(value, bool | int | float):
        raise ValueError("must be a date as YYYY-MM-DD")
    return value


PastDate = Annotated[
    date, BeforeValidator(_iso_text), Field(ge=date(1900, 1, 1)), AfterValidator(_not_future)
]
MAX_ANNIVERSARIES = 10


class AnniversaryKind(StrEnum):
    WEDDING = "wedding"
    MEMBERSHIP = "membership"
    CHILD_BIRTHDAY = "child_birthday"
    CUSTOM = "custom"


class Anniversary(_Input):
    """A day that matters to the customer; a 29 February one falls on 28 February in other years."""

    kind: AnniversaryKind
    date: PastDate = Field(examples=["2023-05-20"])
    label: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50)] | None = (
        Field(default=None, description="Required for custom anniversaries", examples=["첫 데이트"])
    )

    @model_validator(mode="after")
    def _custom_needs_a_label(self) -> Anniversary:
        if self.kind == AnniversaryKind.CUSTOM and not self.label:
            raise ValueError("a custom anniversary needs a label")
        return self


Anniversaries = Annotated[list[Anniversary], Field(max_length=MAX_ANNIVERSARIES)]


class ProfileCreate(_Input):
    display_name: DisplayName
    email: Email | None = None
    phone: Phone | None = None
    locale: Locale = "ko-KR"
    time_zone: TimeZone = "Asia/Seoul"
    birthday: PastDate | None = Field(default=None, examples=["1990-03-14"])
    anniversaries: Anniversaries = Field(default_factory=list)


class ProfileUpdate(_Input):
    """Only the fields sent change; ``null`` clears an optional contact point."""

    display_name: DisplayName | None = None
    email: Email | None = None
    phone: Phone | None = None
    locale: Locale | None = None
    time_zone: TimeZone | None = None
    birthday: PastDate | None = None
    anniversaries: Anniversaries | None = Field(default=None, description="Replaces the whole list")
    social_handles: SocialHandlesChange | None = Field(
        default=None,
        description="Per network: a handle links it (409 handle_taken if another customer linked it),"
        " null unlinks it, a network not sent stays; null here unlinks every network",
    )

    @model_validator(mode="after")
    def _some_change(self) -> ProfileUpdate:
        if not self.model_fields_set:
            raise ValueError("at least one field must be given")
        for required in ("display_name", "locale", "time_zone", "anniversaries"):
            if required in self.model_fields_set and getattr(self, required) is None:
                raise ValueError(f"{required} cannot be null")
        return self

    def changes(self) -> dict[str, Any]:
        """The fields sent, as stored (dates as ISO text, anniversaries as plain maps); the social
        handles as the networks sent (``SocialHandlesChange.changes``, None: unlink every one),
        which the logic merges into the handles linked."""
        dumped = self.model_dump(mode="json")
        changes = {name: dumped[name] for name in sorted(self.model_fields_set)}
        if "social_handles" in changes:
            sent = self.social_handles
            changes["social_handles"] = sent.changes() if sent is not None else None
        return changes


class Platform(StrEnum):
    IOS = "ios"
    ANDROID = "android"
    WEB = "web"


DEVICE_ID_PATTERN = r"^[A-Za-z0-9._:-]{1,64}$"
MAX_DEVICES = 10


class DeviceRegistration(_Input):
    platform: Platform
    token: Annotated[str, StringConstraints(min_length=8, max_length=4096, pattern=r"^[\x21-\x7e]+$")] = (
        Field(description="The push provider's token (APNs, FCM or a Web Push endpoint key)")
    )


class Device(BaseModel):
    """A push token of one of the customer's devices."""

    model_config = ConfigDict(defer_build=True, frozen=True)

    device_id: str = Field(pattern=DEVICE_ID_PATTERN)
    platform: Platform
    token: str
    verified: bool = Field(default=False, description="True once a push to this token was delivered")
    registered_at: datetime
    last_seen_at: datetime


class Profile(BaseModel):
    model_config = ConfigDict(defer_build=True, frozen=True)

    customer_id: str = Field(pattern=CUSTOMER_ID_PATTERN)
    display_name: str
    email: str | None = None
    phone: str | None = None
    locale: str
    time_zone: str
    birthday: date | None = None
    anniversaries: list[Anniversary] = Field(default_factory=list)
    email_verified: bool = Field(default=False, description="Reset to false whenever the e-mail changes")
    phone_verified: bool = Field(default=False, description="Reset to false whenever the phone changes")
    devices: list[Device] = Field(default_factory=list, description="Push tokens, one per device")
    groups: list[str] = Field(default_factory=list, description="Lifestyle groups the customer is in")
    manager_id: str | None = Field(default=None, description="The customer's dedicated manager")
    social_handles: dict[Network, str] = Field(
        default_factory=dict,
        description="Linked social-media handles by network, as stored: no @, lower-case",
        examples=[{"x": "minji_kim", "instagram": "minji.kim"}],
    )
    version: int = Field(ge=1, description="Increases with every change; send it back as If-Match.")
    created_at: datetime
    updated_at: datetime


# -- what the store tells the logic (``logic.profiles.ProfileStore``) -----------------------------


class ProfileExists(Exception):
    """The subject already has a profile."""


class VersionMismatch(Exception):
    """The profile changed since the version the caller holds (or is gone)."""


class HandleTaken(Exception):
    """Another customer linked the handle first."""

    def __init__(self, network: str) -> None:
        super().__init__(network)
        self.network = network

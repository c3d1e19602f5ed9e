"""A message template as marketing writes it: Liquid, per channel, per locale.

Variables a template may read (anything else is refused when it is saved, not when it is sent):
``customer.name``, ``customer.first_name``, ``customer.tier``, ``customer.points``,
``customer.usual`` (the customer's usual order, a text), and ``offer.title``, ``offer.code``,
``offer.expires_on``, ``offer.url``, and ``brand``.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictStr,
    StringConstraints,
    ValidationError,
    model_validator,
)

Channel = Literal["email", "sms", "push"]
# marketing: an advertisement (consent for marketing, Korea's "(광고)" marking and night rule);
# service: a transactional message the customer needs (a receipt, an expiry warning).
Purpose = Literal["marketing", "service"]
Locale = Annotated[StrictStr, StringConstraints(pattern=r"^[a-z]{2}(-[A-Z]{2})?$")]
FALLBACK_LOCALE = "ko-KR"

VARIABLES = frozenset(
    {
        "customer.name",
        "customer.first_name",
        "customer.tier",
        "customer.points",
        "customer.usual",
        "offer.title",
        "offer.code",
        "offer.expires_on",
        "offer.url",
        "brand",
    }
)

MAX_SUBJECT = 150
MAX_PUSH_TITLE = 65  # what iOS and Android show on a lock screen before cutting
MAX_PUSH_BODY = 240
MAX_SMS_SEGMENTS = 6  # a long SMS is at most 6 parts (Korean: 6 x 67 = 402 characters)


class _Input(BaseModel):
    model_config = ConfigDict(defer_build=True, extra="forbid", frozen=True)


class EmailContent(_Input):
    subject: Annotated[StrictStr, StringConstraints(min_length=1, max_length=1000)]
    html: Annotated[StrictStr, StringConstraints(min_length=1, max_length=100_000)]
    text: Annotated[StrictStr, StringConstraints(min_length=1, max_length=50_000)]


class SmsContent(_Input):
    body: Annotated[StrictStr, StringConstraints(min_length=1, max_length=2000)]


class PushContent(_Input):
    title: Annotated[StrictStr, StringConstraints(min_length=1, max_length=500)]
    body: Annotated[StrictStr, StringConstraints(min_length=1, max_length=2000)]


Content = EmailContent | SmsContent | PushContent
CONTENT: dict[str, type[EmailContent] | type[SmsContent] | type[PushContent]] = {
    "email": EmailContent,
    "sms": SmsContent,
    "push": PushContent,
}


class TemplateDefinition(_Input):
    """One message in several locales. ``sender`` is who the customer sees it from (the brand);
    ``opt_out`` how to stop advertisements for free (a number for SMS, said in the message)."""

    name: Annotated[StrictStr, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    channel: Channel
    purpose: Purpose
    sender: Annotated[StrictStr, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]
    opt_out: (
        Annotated[StrictStr, StringConstraints(strip_whitespace=True, min_length=1, max_length=80)] | None
    ) = None
    locales: dict[Locale, dict[str, StrictStr]] = Field(min_length=1, max_length=20)
    default_locale: Locale = FALLBACK_LOCALE

    @model_validator(mode="after")
    def _consistent(self) -> TemplateDefinition:
        if self.default_locale not in self.locales:
            raise ValueError(f"default_locale {self.default_locale} has no content in locales")
        kind = CONTENT[self.channel]
        for locale, content in self.locales.items():  # each locale holds exactly the channel's fields
            try:
                kind.model_validate(content)
            except ValidationError as bad:
                what = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in bad.errors())
                raise ValueError(f"locales.{locale} ({self.channel}): {what}") from None
        if self.purpose == "marketing" and self.channel == "sms" and self.opt_out is None:
            raise ValueError("an advertising SMS must say how to opt out for free: give opt_out")
        return self


class Rendered(BaseModel):
    """A message ready for its channel, and what it measures."""

    model_config = ConfigDict(frozen=True)

    channel: Channel
    locale: str
    subject: str | None = None
    html: str | None = None
    text: str | None = None
    title: str | None = None
    body: str | None = None
    encoding: Literal["GSM-7", "UCS-2"] | None = None  # SMS
    length: int | None = None  # SMS: characters as the encoding counts them
    segments: int | None = None  # SMS parts

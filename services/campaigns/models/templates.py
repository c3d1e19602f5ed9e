"""A message template as marketing writes it: Liquid, per channel, per locale.

Variables a template may read (anything else is refused when it is saved, not when it is sent):
``customer.name``, ``customer.first_name``, ``customer.tier``, ``customer.points``,
``customer.usual`` (the customer's usual order, a text), and ``offer.title``, ``offer.code``,
``offer.expires_on``, ``offer.url``, ``offer.points``, and ``brand``; and what a triggered
campaign's event says (empty or 0 otherwise): ``trigger.kind``, ``trigger.years``,
``trigger.occurs_on`` (an anniversary), ``trigger.tier``, ``trigger.previous``,
``trigger.tier_name``, ``trigger.perks`` (comma-separated), ``trigger.earn_multiplier_pct`` (a tier gained),
``trigger.points``, ``trigger.expires_on`` (points expiring), ``trigger.minutes`` (browsing),
``trigger.draw`` (a draw won).
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
        "offer.points",
        "trigger.kind",
        "trigger.years",
        "trigger.occurs_on",
        "trigger.tier",
        "trigger.previous",
        "trigger.tier_name",
        "trigger.perks",
        "trigger.earn_multiplier_pct",
        "trigger.points",
        "trigger.expires_on",
        "trigger.minutes",
        "trigger.draw",
        "brand",
    }
)

# The Liquid a template may use: formatting filters and conditionals. No tag that loads another
# template (include, render) or loops (for, tablerow, cycle: a template's variables are plain
# values), and no filter that turns escaping off (safe) or decodes hidden text (base64_decode).
TAGS = frozenset({"if", "unless", "case", "assign", "capture", "comment", "#", "echo", "liquid", "raw"})
FILTERS = frozenset(
    {
        "abs", "append", "at_least", "at_most", "capitalize", "ceil", "date", "default", "divided_by",
        "downcase", "escape", "escape_once", "floor", "lstrip", "minus", "modulo", "newline_to_br",
        "plus", "prepend", "remove", "remove_first", "remove_last", "replace", "replace_first",
        "replace_last", "round", "rstrip", "size", "slice", "squish", "strip", "strip_html",
        "strip_newlines", "times", "truncate", "truncatewords", "upcase", "url_encode",
    }
)  # fmt: skip

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

    name: Annotated[StrictStr, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)] = (
        Field(examples=["Your usual"])
    )
    channel: Channel = Field(examples=["sms"])
    purpose: Purpose = Field(examples=["marketing"])
    sender: Annotated[StrictStr, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)] = (
        Field(examples=["단골베이커리"])
    )
    opt_out: (
        Annotated[StrictStr, StringConstraints(strip_whitespace=True, min_length=1, max_length=80)] | None
    ) = Field(default=None, examples=["무료수신거부 080-123-4567"])
    locales: dict[Locale, dict[str, StrictStr]] = Field(
        min_length=1,
        max_length=20,
        description="Per locale, the channel's fields as Liquid: email subject, html, text; sms body;"
        " push title, body",
        examples=[{"ko-KR": {"body": "{{ customer.first_name }}님, {{ customer.usual }} 한 잔 어떠세요?"}}],
    )
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
    sender: str | None = None  # who the customer sees it from (an e-mail's display name)
    advert: bool = False  # an advertisement as the customer's market defines it (marked so)
    subject: str | None = None
    html: str | None = None
    text: str | None = None
    title: str | None = None
    body: str | None = None
    encoding: Literal["GSM-7", "UCS-2"] | None = None  # SMS
    length: int | None = None  # SMS: characters as the encoding counts them
    segments: int | None = None  # SMS parts

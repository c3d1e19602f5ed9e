"""Templates: checked when saved, rendered per customer, measured per channel, marked per market.

Liquid (python-liquid) in strict mode: a variable outside ``models.templates.VARIABLES`` is
refused when the template is saved, and one missing at render time is an error, never an empty
string in a customer's message. Templates cannot call code or reach attributes of Python
objects: they see plain dicts of strings and numbers. HTML e-mail bodies are auto-escaped.

Korea (정보통신망법 제50조 제4항, 시행령 제61조): an advertisement starts with "(광고)" and the
sender's name and says how to refuse further ones for free. The night rule (제50조 제3항:
21:00-08:00 needs a separate prior consent) covers SMS and app push but not e-mail
(시행령 제61조 제3항 exempts 전자우편): ``needs_night_consent``.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from liquid import BoundTemplate, Environment, StrictUndefined
from liquid.exceptions import LiquidError
from markupsafe import escape

from services.campaigns.models.templates import (
    FALLBACK_LOCALE,
    FILTERS,
    MAX_PUSH_BODY,
    MAX_PUSH_TITLE,
    MAX_SMS_SEGMENTS,
    MAX_SUBJECT,
    TAGS,
    VARIABLES,
    Rendered,
    TemplateDefinition,
)

_HTML = Environment(undefined=StrictUndefined, autoescape=True)
_PLAIN = Environment(undefined=StrictUndefined, autoescape=False)
AD_MARK = "(광고)"
KOREA_ZONES = frozenset({"Asia/Seoul"})

# GSM 03.38: the basic set, and the extension set whose characters take two septets.
_GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_EXTENDED = frozenset("^{}\\[~]|€\f")


@dataclass(frozen=True)
class Problem:
    locale: str
    field: str
    message: str
    # What kind: liquid_syntax, unknown_variable, filter_not_allowed, tag_not_allowed, too_long,
    # render_failed (machine-readable: the 422's ``details[].type``).
    kind: str = "liquid_syntax"


class TemplateInvalid(ValueError):
    """What is wrong with a template, by locale and field."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(f"{len(problems)} problem(s) in the template")
        self.problems = problems


class MessageTooLong(ValueError):
    """A rendered message exceeds what its channel carries; ``field`` is the one that does."""

    def __init__(self, message: str, *, field: str = "body") -> None:
        super().__init__(message)
        self.field = field


def _environment(field: str) -> Environment:
    return _HTML if field == "html" else _PLAIN


@functools.lru_cache(maxsize=512)
def _compiled(field: str, source: str) -> BoundTemplate:
    """A field's template, parsed once per warm function (a campaign renders it per recipient)."""
    return _environment(field).from_string(source)


def check(definition: TemplateDefinition) -> None:
    """Every locale's every field parses, reads only the known variables and uses only the allowed
    tags and filters (``models.templates``: no tag that loads another template, no loop)."""
    problems: list[Problem] = []
    for locale, content in definition.locales.items():
        for field, source in content.items():
            try:
                template = _compiled(field, source)
                found = template.analyze(include_partials=False)
            except LiquidError as error:
                problems.append(Problem(locale, field, f"not valid Liquid: {str(error).splitlines()[0]}"))
                continue
            tags = sorted(set(found.tags) - TAGS)
            if tags:
                problems.append(
                    Problem(locale, field, f"tags not allowed: {', '.join(tags)}", "tag_not_allowed")
                )
            filters = sorted(set(found.filters) - FILTERS)
            if filters:
                problems.append(
                    Problem(locale, field, f"filters not allowed: {', '.join(filters)}", "filter_not_allowed")
                )
            unknown = sorted(set(template.global_variable_paths(include_partials=False)) - VARIABLES)
            if unknown:
                problems.append(
                    Problem(locale, field, f"unknown variables: {', '.join(unknown)}", "unknown_variable")
                )
    if problems:
        raise TemplateInvalid(problems)


def pick_locale(definition: TemplateDefinition, wanted: str | None) -> str:
    """The customer's locale, else one of the same language, else the template's default, else ko-KR."""
    locales = definition.locales
    if wanted in locales:
        return str(wanted)
    language = (wanted or "").split("-")[0]
    same = sorted(loc for loc in locales if loc.split("-")[0] == language)
    if same:
        return same[0]
    return definition.default_locale if definition.default_locale in locales else FALLBACK_LOCALE


def measure_sms(text: str) -> tuple[str, int, int]:
    """(encoding, length as the encoding counts it, segments): GSM-7 fits 160 (153 a part when
    split), anything else (Korean) is UCS-2: 70 (67 a part), counted in UTF-16 code units."""
    if all(c in _GSM_BASIC or c in _GSM_EXTENDED for c in text):
        length = sum(2 if c in _GSM_EXTENDED else 1 for c in text)
        single, part = 160, 153
        encoding = "GSM-7"
    else:
        length = len(text.encode("utf-16-le")) // 2
        single, part = 70, 67
        encoding = "UCS-2"
    segments = 1 if length <= single else -(-length // part)
    return encoding, length, segments


def is_korean_market(time_zone: str) -> bool:
    return time_zone in KOREA_ZONES


def needs_night_consent(channel: str, purpose: str, time_zone: str) -> bool:
    """Korea's night rule applies: an advertisement by SMS or push to a customer in Korea."""
    return purpose == "marketing" and channel in {"sms", "push"} and is_korean_market(time_zone)


def render(
    definition: TemplateDefinition,
    *,
    locale: str | None,
    context: Mapping[str, Any],
    time_zone: str = "Asia/Seoul",
    unsubscribe_url: str | None = None,
) -> Rendered:
    """The message for one customer: their locale (with fallback), the variables filled, an
    advertisement marked as the customer's market requires, measured against the channel."""
    chosen = pick_locale(definition, locale)
    values = {
        field: _compiled(field, source).render(**context)
        for field, source in definition.locales[chosen].items()
    }
    advert = definition.purpose == "marketing" and is_korean_market(time_zone)
    if definition.channel == "email":
        subject = f"{AD_MARK} {values['subject']}" if advert else values["subject"]
        if len(subject) > MAX_SUBJECT:
            raise MessageTooLong(
                f"the subject has {len(subject)} characters; at most {MAX_SUBJECT}", field="subject"
            )
        html, text = values["html"], values["text"]
        if definition.purpose == "marketing":
            link = unsubscribe_url or ""
            footer = (
                f"{definition.sender} · 수신거부 {link}"
                if advert
                else f"{definition.sender} · Unsubscribe {link}"
            )
            html = f"{html}\n<p>{escape(footer)}</p>"
            text = f"{text}\n\n{footer}"
        return Rendered(
            channel="email",
            locale=chosen,
            sender=definition.sender,
            advert=advert,
            subject=subject,
            html=html,
            text=text,
        )
    if definition.channel == "sms":
        body = values["body"]
        if advert:
            body = f"{AD_MARK}{definition.sender}\n{body}\n{definition.opt_out}"
        encoding, length, segments = measure_sms(body)
        if segments > MAX_SMS_SEGMENTS:
            raise MessageTooLong(f"the SMS needs {segments} parts ({encoding}); at most {MAX_SMS_SEGMENTS}")
        return Rendered(
            channel="sms",
            locale=chosen,
            sender=definition.sender,
            advert=advert,
            body=body,
            encoding=encoding,
            length=length,
            segments=segments,
        )
    title, body = values["title"], values["body"]
    if advert:
        title = f"{AD_MARK} {title}"
        body = f"{body}\n{definition.sender}" + (f" · {definition.opt_out}" if definition.opt_out else "")
    if len(title) > MAX_PUSH_TITLE or len(body) > MAX_PUSH_BODY:
        raise MessageTooLong(
            f"push title {len(title)}/{MAX_PUSH_TITLE}, body {len(body)}/{MAX_PUSH_BODY} characters",
            field="title" if len(title) > MAX_PUSH_TITLE else "body",
        )
    return Rendered(
        channel="push", locale=chosen, sender=definition.sender, advert=advert, title=title, body=body
    )

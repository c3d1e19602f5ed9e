"""Templates: refused when saved with a bad variable or bad Liquid, rendered per customer with
locale fallback and HTML escaping, SMS measured by its alphabet, advertisements marked for Korea."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from pydantic import ValidationError

from services.campaigns.logic import addressing, templates
from services.campaigns.logic.templates import MessageTooLong, TemplateInvalid
from services.campaigns.models.templates import TemplateDefinition

CUSTOMER = {
    "customer": {"name": "김민지", "first_name": "민지", "tier": "gold", "points": 3000, "usual": "라떼"}
}


def email(**over: Any) -> dict[str, Any]:
    return {
        "name": "Winback",
        "channel": "email",
        "purpose": "marketing",
        "sender": "단골베이커리",
        "locales": {
            "ko-KR": {
                "subject": "{{ customer.first_name }}님, 보고 싶었어요",
                "html": "<p>{{ customer.name }}님</p>",
                "text": "{{ customer.name }}님",
            },
            "en-US": {
                "subject": "We miss you, {{ customer.first_name }}",
                "html": "<p>Hi {{ customer.name }}</p>",
                "text": "Hi",
            },
        },
        **over,
    }


def sms(
    body: str = "{{ customer.first_name }}님, {{ customer.usual }} 한 잔 어떠세요?", **over: Any
) -> dict[str, Any]:
    return {
        "name": "Usual",
        "channel": "sms",
        "purpose": "marketing",
        "sender": "단골베이커리",
        "opt_out": "무료수신거부 080-123-4567",
        "locales": {"ko-KR": {"body": body}},
        **over,
    }


def test_valid_templates_are_accepted_and_pass_the_check() -> None:
    # Given an e-mail and an SMS template that read only known variables
    for raw in (email(), sms()):
        definition = TemplateDefinition.model_validate(raw)
        # Then they are accepted and their Liquid checks out
        templates.check(definition)


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        (sms("{{ customer.email }}"), "unknown variables: customer.email"),
        (sms("{{ customer.name.__class__ }}"), "unknown variables"),
        (sms("{% if customer.tier %}gold"), "not valid Liquid"),
    ],
)
def test_a_template_reading_outside_its_variables_or_broken_is_refused_with_where(
    raw: dict[str, Any], problem: str
) -> None:
    # Given a template whose body breaks one rule
    definition = TemplateDefinition.model_validate(raw)
    # When it is checked
    with pytest.raises(TemplateInvalid) as refused:
        templates.check(definition)
    # Then the problem names the locale and field
    (found,) = refused.value.problems
    assert (found.locale, found.field) == ("ko-KR", "body")
    assert problem in found.message


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"default_locale": "en-US", "locales": {"ko-KR": {"body": "x"}}}, "default_locale en-US"),
        ({"locales": {"ko-KR": {"subject": "x"}}}, r"locales.ko-KR \(sms\): body: Field required"),
        ({"opt_out": None}, "opt_out"),
        ({"locales": {"korean": {"body": "x"}}}, "pattern"),
    ],
)
def test_a_definition_that_cannot_be_sent_is_refused(change: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        TemplateDefinition.model_validate({**sms(), **change})


def test_an_email_is_rendered_in_the_customers_locale_escaped_and_marked_as_an_advertisement() -> None:
    definition = TemplateDefinition.model_validate(email())
    # When it is rendered for a Korean customer whose name holds markup
    context = {"customer": {**CUSTOMER["customer"], "name": "<b>민지</b>"}}
    out = templates.render(definition, locale="ko-KR", context=context, unsubscribe_url="https://x/u/1")
    # Then the HTML escapes it, the subject is marked, and the footer says who and how to refuse
    assert out.subject == "(광고) 민지님, 보고 싶었어요"
    assert "&lt;b&gt;민지&lt;/b&gt;님" in str(out.html)
    assert "단골베이커리 · 수신거부 https://x/u/1" in str(out.text)


@pytest.mark.parametrize(
    ("wanted", "chosen"), [("en-US", "en-US"), ("en-GB", "en-US"), ("ja-JP", "ko-KR"), (None, "ko-KR")]
)
def test_the_locale_falls_back_to_the_same_language_then_the_default(wanted: str | None, chosen: str) -> None:
    definition = TemplateDefinition.model_validate(email())
    assert templates.pick_locale(definition, wanted) == chosen


def test_a_korean_sms_is_ucs2_and_marked_with_sender_and_free_opt_out() -> None:
    definition = TemplateDefinition.model_validate(sms())
    out = templates.render(definition, locale="ko-KR", context=CUSTOMER)
    assert out.body == "(광고)단골베이커리\n민지님, 라떼 한 잔 어떠세요?\n무료수신거부 080-123-4567"
    assert (out.encoding, out.segments) == ("UCS-2", 1)
    assert out.length == len(str(out.body))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a" * 160, ("GSM-7", 160, 1)),
        ("a" * 161, ("GSM-7", 161, 2)),
        ("[" * 80, ("GSM-7", 160, 1)),  # extension characters take two septets
        ("가" * 70, ("UCS-2", 70, 1)),
        ("가" * 71, ("UCS-2", 71, 2)),
        ("가" * 134, ("UCS-2", 134, 2)),
        ("가" * 135, ("UCS-2", 135, 3)),
        ("😀" * 35, ("UCS-2", 70, 1)),  # outside the BMP: two UTF-16 units each
    ],
)
def test_sms_length_and_parts_follow_the_alphabet(text: str, expected: tuple[str, int, int]) -> None:
    assert templates.measure_sms(text) == expected


def test_a_message_longer_than_its_channel_carries_is_refused() -> None:
    definition = TemplateDefinition.model_validate(sms("가" * 500))
    with pytest.raises(MessageTooLong, match="parts"):
        templates.render(definition, locale="ko-KR", context=CUSTOMER)


def test_a_service_message_and_a_customer_abroad_get_no_advert_marking() -> None:
    definition = TemplateDefinition.model_validate(sms(purpose="service", opt_out=None))
    plain = templates.render(definition, locale="ko-KR", context=CUSTOMER)
    abroad = templates.render(
        TemplateDefinition.model_validate(sms()), locale="ko-KR", context=CUSTOMER, time_zone="Europe/Paris"
    )
    assert not str(plain.body).startswith("(광고)")
    assert not str(abroad.body).startswith("(광고)")


def test_a_missing_variable_at_render_time_is_an_error_not_an_empty_string() -> None:
    definition = TemplateDefinition.model_validate(sms())
    with pytest.raises(Exception, match="usual"):
        templates.render(definition, locale="ko-KR", context={"customer": {"first_name": "민지"}})


@pytest.mark.parametrize(
    ("channel", "purpose", "zone", "applies"),
    [
        ("sms", "marketing", "Asia/Seoul", True),
        ("push", "marketing", "Asia/Seoul", True),
        ("email", "marketing", "Asia/Seoul", False),  # 시행령 제61조 제3항: e-mail is exempt
        ("sms", "service", "Asia/Seoul", False),
        ("sms", "marketing", "America/New_York", False),
    ],
)
def test_koreas_night_rule_covers_advertising_sms_and_push(
    channel: str, purpose: str, zone: str, applies: bool
) -> None:
    assert templates.needs_night_consent(channel, purpose, zone) is applies


@pytest.mark.parametrize(
    ("local", "night"),
    [(dt.time(20, 59), False), (dt.time(21, 0), True), (dt.time(7, 59), True), (dt.time(8, 0), False)],
)
def test_the_night_is_21_to_8_local(local: dt.time, night: bool) -> None:
    assert addressing.in_night(local) is night

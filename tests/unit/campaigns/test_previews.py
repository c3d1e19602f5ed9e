"""A template's preview: the sample customer without a customer id, a real customer from the
campaigns' own view (tier, locale, zone) and the profile service's card (name, usual), Korea's
marking and night rule, 404 for a customer either side does not know; and how a name is
addressed."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from services.campaigns.logic import messages, previews
from services.campaigns.logic.projection import Stored
from services.campaigns.models.cards import CardPurpose, ContactCard
from services.campaigns.models.messages import PreviewRequest
from services.campaigns.models.templates import TemplateDefinition
from services.campaigns.models.view import CustomerView
from shared.errors import NotFound, Unprocessable

CUS = "cus_01M82AEKG51WJP0K379AYG4E2W"
PUSH: dict[str, Any] = {
    "name": "Usual",
    "channel": "push",
    "purpose": "marketing",
    "sender": "단골베이커리",
    "locales": {
        "ko-KR": {"title": "{{ customer.first_name }}님의 {{ customer.usual }}", "body": "{{ offer.title }}"},
        "en-US": {"title": "Your {{ customer.usual }}", "body": "{{ customer.tier }}: {{ offer.code }}"},
    },
}


class Views:
    def __init__(self, *views: CustomerView, erased: Sequence[str] = ()) -> None:
        self.views = {v.customer_id: v for v in views}
        self.erased = set(erased)

    def load(self, customer_id: str) -> Stored:
        if customer_id in self.erased:
            return Stored(view=None, version=0, erased=True)
        view = self.views.get(customer_id)
        return Stored(view=view, version=1 if view else 0, erased=False)


class Cards:
    def __init__(self, *cards: ContactCard) -> None:
        self.known = {c.customer_id: c for c in cards}
        self.asked: list[tuple[list[str], CardPurpose]] = []

    def cards(self, customer_ids: Sequence[str], purpose: CardPurpose) -> list[ContactCard]:
        self.asked.append((list(customer_ids), purpose))
        return [self.known.get(c, ContactCard(customer_id=c, status="unknown")) for c in customer_ids]


def _preview(request: dict[str, Any], views: Views, cards: Cards, template: dict[str, Any] = PUSH) -> Any:
    return previews.preview(
        TemplateDefinition.model_validate(template),
        PreviewRequest.model_validate(request),
        template_id="tpl_1",
        version=3,
        views=views,
        cards=cards,
    )


def test_without_a_customer_the_sample_customer_and_offer_are_used_and_no_card_is_asked() -> None:
    # Given no customer
    cards = Cards()
    # When a marketing push is previewed
    shown = _preview({}, Views(), cards)
    # Then the sample customer in Seoul gets it, marked, under the night rule
    assert (shown.sample, shown.locale, shown.version) == (True, "ko-KR", 3)
    assert shown.message.title == "(광고) 민지님의 아메리카노"
    assert str(shown.message.body).startswith("아메리카노 1+1\n단골베이커리")
    assert (shown.advertisement_marked, shown.night_rule) == (True, True)
    assert cards.asked == []


def test_a_customer_is_rendered_from_their_view_and_their_card() -> None:
    # Given a silver customer in New York (English) and their card
    view = CustomerView(customer_id=CUS, locale="en-US", time_zone="America/New_York", tier="silver")
    cards = Cards(ContactCard(customer_id=CUS, status="active", name="Jane Doe", usual="cold brew"))
    # When the push is previewed for them with an offer of the marketer's
    shown = _preview({"customer_id": CUS, "offer": {"code": "NY-10"}}, Views(view), cards)
    # Then it is in their locale, with their name, usual and tier, unmarked (not in Korea)
    assert (shown.sample, shown.customer_id, shown.locale) == (False, CUS, "en-US")
    assert (shown.message.title, shown.message.body) == ("Your cold brew", "silver: NY-10")
    assert (shown.advertisement_marked, shown.night_rule) == (False, False)
    # And only their card was asked for, for a preview
    assert cards.asked == [([CUS], "preview")]


def test_the_requested_locale_wins_and_falls_back_to_the_templates_default() -> None:
    view = CustomerView(customer_id=CUS, locale="en-US", tier="gold")
    cards = Cards(ContactCard(customer_id=CUS, status="active", name="이서연", usual="라떼"))
    shown = _preview({"customer_id": CUS, "locale": "ja-JP"}, Views(view), cards)
    assert (shown.locale, shown.message.title) == ("ko-KR", "(광고) 서연님의 라떼")


@pytest.mark.parametrize(
    ("views", "cards"),
    [
        (Views(), Cards(ContactCard(customer_id=CUS, status="active", name="A"))),  # no view
        (Views(erased=[CUS]), Cards(ContactCard(customer_id=CUS, status="active"))),  # erased here
        (Views(CustomerView(customer_id=CUS)), Cards()),  # the profile service does not know them
        (Views(CustomerView(customer_id=CUS)), Cards(ContactCard(customer_id=CUS, status="erased"))),
    ],
)
def test_a_customer_either_side_does_not_know_is_404(views: Views, cards: Cards) -> None:
    with pytest.raises(NotFound) as missing:
        _preview({"customer_id": CUS}, views, cards)
    assert missing.value.code == "customer_not_found"


def test_a_message_too_long_for_this_customer_is_a_422_at_its_field() -> None:
    # Given a customer whose usual is far longer than the sample's
    view = CustomerView(customer_id=CUS)
    cards = Cards(ContactCard(customer_id=CUS, status="active", name="김민지", usual="아" * 80))
    # When the push is previewed for them
    with pytest.raises(Unprocessable) as refused:
        _preview({"customer_id": CUS}, Views(view), cards)
    # Then the title is too long, said where
    assert refused.value.code == "message_too_long"
    assert refused.value.details[0]["loc"] == ["locales", "ko-KR", "title"]


@pytest.mark.parametrize(
    ("name", "addressed"),
    [
        ("김민지", "민지"),
        ("남궁", "남궁"),  # two syllables: the whole name
        ("김 민지", "민지"),
        ("Jane Doe", "Jane"),
        ("Prince", "Prince"),
        (None, None),
        ("  ", None),
    ],
)
def test_a_name_is_addressed_by_its_given_name(name: str | None, addressed: str | None) -> None:
    assert previews.first_name(name) == addressed


def test_saving_measures_every_locale_as_a_korean_advertisement() -> None:
    # Given a push whose English title fits but would not with "(광고) " in front of it
    template = {**PUSH, "locales": {**PUSH["locales"], "en-US": {"title": "x" * 61, "body": "ok"}}}
    # When it is validated for saving
    with pytest.raises(Unprocessable) as refused:
        messages.validate(TemplateDefinition.model_validate(template))
    # Then the one problem is that title, too long
    assert [(d["loc"], d["type"]) for d in refused.value.details] == [
        (["body", "locales", "en-US", "title"], "too_long")
    ]

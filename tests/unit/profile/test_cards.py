"""Contact cards: one per asked id in the asked order, what each status and purpose shows, and
a request the function refuses without a value of it in the answer or the log."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from services.profile.handlers import cards as handler
from services.profile.logic.cards import Found, Person, contact_cards, the_usual
from services.profile.models.behaviour import UsualItem
from services.profile.models.cards import MAX_CARDS, CardDevice, CardRequest
from tests.unit.fakes import FakeLambdaContext

MINJI = "cus_01JK2M3N4P5Q6R7S8T9V0W1X2Y"
ERASED = "cus_01JK2M3N4P5Q6R7S8T9V0W1X3Z"
NOBODY = "cus_01JK2M3N4P5Q6R7S8T9V0W1X4A"
EMAIL = "minji@example.com"
PHONE = "+821012345678"
AT = datetime(2026, 5, 1, 0, 0, tzinfo=UTC)


def _usual(sku: str, name: str, count: int) -> UsualItem:
    return UsualItem(sku=sku, name=name, category="coffee", count=count, quantity=count, last_at=AT)


@dataclass
class FakeCardStore:
    """The card store's port in memory; records what it was asked."""

    found: Found
    usual_of: dict[str, list[UsualItem]] = field(default_factory=dict)
    asked: list[list[str]] = field(default_factory=list)
    usual_asked: list[str] = field(default_factory=list)

    def find(self, customer_ids: Sequence[str]) -> Found:
        self.asked.append(list(customer_ids))
        return self.found

    def usual(self, customer_id: str) -> list[UsualItem]:
        self.usual_asked.append(customer_id)
        return self.usual_of.get(customer_id, [])


def _store() -> FakeCardStore:
    minji = Person(
        name="김민지",
        locale="ko-KR",
        time_zone="Asia/Seoul",
        email=EMAIL,
        email_verified=True,
        phone=PHONE,
        devices=(CardDevice(device_id="d1", platform="ios", token="tok-123456", verified=True),),
    )
    return FakeCardStore(
        Found(
            people={MINJI: minji},
            consents={MINJI: {"email.marketing": True}},
            erased=frozenset({ERASED}),
        ),
        usual_of={MINJI: [_usual("A1", "아메리카노", 5), _usual("L1", "라떼", 2), _usual("M1", "머핀", 1)]},
    )


def test_each_asked_id_gets_its_card_in_the_asked_order() -> None:
    # Given an active, an erased and an unknown customer, one of them asked twice
    store = _store()
    request = CardRequest(customer_ids=[NOBODY, MINJI, ERASED, MINJI])

    # When the cards are made
    cards = contact_cards(store, request).cards

    # Then there is one card per asked id, in order, each id read once
    assert [(c.customer_id, c.status) for c in cards] == [
        (NOBODY, "unknown"),
        (MINJI, "active"),
        (ERASED, "erased"),
        (MINJI, "active"),
    ]
    assert store.asked == [[NOBODY, MINJI, ERASED]]
    assert store.usual_asked == [MINJI]


def test_an_active_card_holds_the_contact_points_devices_consents_and_usual() -> None:
    # When an active customer's card is made for sending
    (card,) = contact_cards(_store(), CardRequest(customer_ids=[MINJI])).cards

    # Then it holds what the sender needs
    assert (card.name, card.locale, card.time_zone) == ("김민지", "ko-KR", "Asia/Seoul")
    assert (card.email, card.email_verified, card.phone, card.phone_verified) == (EMAIL, True, PHONE, False)
    assert [d.device_id for d in card.devices] == ["d1"]
    assert card.usual == "아메리카노"
    # And every consent's current state, false where never given
    assert card.consents["email.marketing"] is True
    assert card.consents["sms.marketing"] is False
    assert "email.night" not in card.consents
    assert card.unsubscribe_urls == {}


def test_a_preview_card_holds_no_contact_point_device_or_consent() -> None:
    # When an active customer's card is made for a preview
    (card,) = contact_cards(_store(), CardRequest(customer_ids=[MINJI], purpose="preview")).cards

    # Then it holds the name, locale, zone and usual only
    assert (card.name, card.locale, card.time_zone, card.usual) == (
        "김민지",
        "ko-KR",
        "Asia/Seoul",
        "아메리카노",
    )
    assert (card.email, card.phone, card.devices, card.consents) == (None, None, [], {})


def test_an_erased_or_unknown_card_holds_nothing_but_its_id_and_status() -> None:
    # When cards are made for an erased and an unknown id
    cards = contact_cards(_store(), CardRequest(customer_ids=[ERASED, NOBODY])).cards

    # Then nothing else is set
    for card in cards:
        assert card.model_dump(exclude={"customer_id", "status"}, exclude_defaults=True) == {}


def test_the_usual_is_the_most_bought_habit_and_a_single_purchase_is_none() -> None:
    # Then the strongest habit of any daypart wins; bought once is no habit
    assert the_usual([_usual("L1", "라떼", 2), _usual("A1", "아메리카노", 3)]) == "아메리카노"
    assert the_usual([_usual("M1", "머핀", 1)]) is None
    assert the_usual([]) is None


@pytest.mark.parametrize(
    "request_body",
    [
        {"customer_ids": []},
        {"customer_ids": [MINJI] * (MAX_CARDS + 1)},
        {"customer_ids": [MINJI], "purpose": "spam"},
        {"customer_ids": [MINJI], "extra": 1},
        {"customer_ids": ["x" * 65]},
        {},
    ],
)
def test_a_request_out_of_shape_is_refused(request_body: dict[str, object]) -> None:
    # Then the profile's own request model refuses it
    with pytest.raises(ValidationError):
        CardRequest.model_validate(request_body)


def test_the_function_answers_a_bad_request_with_an_error_naming_fields_not_values(
    caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a request with a personal value where an id list should be
    monkeypatch.setattr(handler.metrics.provider, "namespace", "dangol")  # as the topology's environment
    event = {"customer_ids": EMAIL, "purpose": PHONE}

    # When the function gets it (it fails before any AWS call)
    with caplog.at_level(logging.DEBUG):
        answer = handler.lambda_handler(event, FakeLambdaContext())

    # Then it answers an error naming the fields, with no value, and logs none
    assert answer["error"]["code"] == "invalid_request"
    assert {tuple(d["loc"]) for d in answer["error"]["details"]} == {("customer_ids",), ("purpose",)}
    assert EMAIL not in str(answer)
    assert PHONE not in str(answer)
    logged = caplog.text + capsys.readouterr().out
    assert "card request refused" in logged
    assert EMAIL not in logged
    assert PHONE not in logged

"""``profile-contacts`` on moto: the real entry point, invoked as Lambda invokes it, reads the cards
of the customers the campaigns sender asks for from the profile table (one BatchGetItem for the
profiles, consent states and tombstones, a Query for each one's usual)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from services.profile.dal.keys import tombstone_key
from services.profile.topology import CONTACTS, INTAKE_API
from shared import aws
from shared.topology import Function
from tests.integration.apigw import Invoker, LambdaContext, api_event
from tests.integration.conftest import PUBLIC_API_URL, table
from tests.integration.profile.test_intake_api import UNKNOWN_CUSTOMER, call, line, purchase, seoul_at

pytestmark = [
    pytest.mark.usefixtures("frozen_clock"),
    pytest.mark.filterwarnings("ignore:No application metrics to publish:UserWarning"),
]
EMAIL, PHONE = "card.holder@example.com", "+821055507777"
ERASED = "cus_01JK2M3N4P5Q6R7S8T9V0W1X9Z"


@pytest.fixture
def regular(profile_api: Invoker, lambda_function: Callable[[Function], Invoker]) -> str:
    """A customer with contact points, a device, an e-mail consent and a usual (lattes, twice)."""
    body = {"display_name": "김단골", "email": EMAIL, "phone": PHONE, "locale": "ko-KR"}
    created = profile_api(api_event("profile_create_me", sub="sub-card", body=body))
    assert created.status == 201, created.body
    customer_id = str(created.json()["customer_id"])
    me: dict[str, Any] = {"sub": "sub-card", "groups": "customer"}
    device = api_event(
        "profile_get_me",
        method="PUT",
        resource="/me/devices/{device_id}",
        path="/me/devices/phone-1",
        path_parameters={"device_id": "phone-1"},
        body={"platform": "android", "token": "fcm-token-0001"},
        **me,
    )
    assert profile_api(device).status in {200, 201}
    consent = api_event(
        "profile_get_me",
        method="POST",
        resource="/me/consents",
        path="/me/consents",
        body={"channel": "email", "purpose": "marketing", "granted": True},
        **me,
    )
    assert profile_api(consent).status in {200, 201}
    intake = lambda_function(INTAKE_API)
    for n, days_ago in enumerate((2, 1)):
        body = purchase(
            customer_id, f"card-{n}", at=seoul_at(days_ago, "08:00"), lines=[line("LATTE", name="라떼")]
        )
        assert call(intake, "POST", "/purchases", body=body).status == 201
    return customer_id


@pytest.fixture
def cards(lambda_function: Callable[[Function], Invoker], regular: str) -> Callable[[Any], dict[str, Any]]:
    table(CONTACTS.tables[0].table).put(
        {**tombstone_key(ERASED), "type": "erased", "erased_at": "2026-01-01T00:00:00Z"}
    )
    invoker = lambda_function(CONTACTS)
    return lambda event: dict(invoker.handler(event, LambdaContext.of(CONTACTS)))


@pytest.fixture
def dynamo_calls() -> Iterator[list[str]]:
    """The DynamoDB operations the function makes from now on."""
    made: list[str] = []
    client = aws.client("dynamodb")
    handler = lambda model, **_: made.append(model.name)  # noqa: E731
    client.meta.events.register("before-call.dynamodb", handler)
    yield made
    client.meta.events.unregister("before-call.dynamodb", handler)


def test_the_sender_gets_each_card_in_order_with_what_it_needs(
    cards: Callable[[Any], dict[str, Any]], regular: str, dynamo_calls: list[str]
) -> None:
    # When the sender asks for an unknown, the regular and an erased customer
    answer = cards({"customer_ids": [UNKNOWN_CUSTOMER, regular, ERASED], "purpose": "send"})

    # Then each asked id has its card, in order, with its status
    unknown, card, erased = answer["cards"]
    assert (unknown["customer_id"], unknown["status"]) == (UNKNOWN_CUSTOMER, "unknown")
    assert (erased["customer_id"], erased["status"], erased["email"]) == (ERASED, "erased", None)
    # And the regular's card holds their contact points, device, consents and usual
    assert (card["customer_id"], card["status"], card["name"]) == (regular, "active", "김단골")
    assert (card["email"], card["email_verified"], card["phone"]) == (EMAIL, False, PHONE)
    assert [(d["device_id"], d["platform"], d["token"]) for d in card["devices"]] == [
        ("phone-1", "android", "fcm-token-0001")
    ]
    assert card["consents"]["email.marketing"] is True
    assert card["consents"]["sms.marketing"] is False
    assert card["usual"] == "라떼"
    # And the one consented, reachable marketing channel (e-mail) has its opt-out link
    assert list(card["unsubscribe_urls"]) == ["email.marketing"]
    assert card["unsubscribe_urls"]["email.marketing"].startswith(f"{PUBLIC_API_URL}/unsubscribe/")
    # And it took one BatchGetItem for all three and one Query for the one customer found
    assert dynamo_calls == ["BatchGetItem", "Query"]


def test_a_preview_gets_the_name_locale_zone_and_usual_only(
    cards: Callable[[Any], dict[str, Any]], regular: str
) -> None:
    # When the templates' preview asks for the regular
    (card,) = cards({"customer_ids": [regular], "purpose": "preview"})["cards"]

    # Then it gets what a preview renders, and no contact point
    assert (card["name"], card["locale"], card["time_zone"], card["usual"]) == (
        "김단골",
        "ko-KR",
        "Asia/Seoul",
        "라떼",
    )
    assert (card["email"], card["phone"], card["devices"], card["consents"]) == (None, None, [], {})


def test_a_bad_request_is_an_error_answer_not_a_crash(
    cards: Callable[[Any], dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    # When the function is asked with no ids, a purpose it does not know and a personal value
    answer = cards({"customer_ids": [], "purpose": EMAIL})

    # Then it answers an error naming the fields, and neither answer nor log holds the value
    assert answer["error"]["code"] == "invalid_request"
    assert {tuple(d["loc"]) for d in answer["error"]["details"]} == {("customer_ids",), ("purpose",)}
    assert EMAIL not in str(answer)
    assert EMAIL not in capsys.readouterr().out

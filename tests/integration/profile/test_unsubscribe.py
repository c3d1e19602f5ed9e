"""One-click opt-out on moto: the contact card's signed links, ``POST /unsubscribe/{token}`` (RFC
8058) withdrawing the consent through the consent log, ``GET`` showing a page and changing nothing,
forged links refused, and an erased customer's link answered like any other."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import pytest

from services.profile.topology import CONTACTS
from shared.topology import Function
from tests.integration.apigw import ApiResponse, Invoker, LambdaContext, api_event
from tests.integration.conftest import PUBLIC_API_URL, BusWatch, scan_all
from tests.integration.profile.test_privacy import call, create

pytestmark = [
    pytest.mark.filterwarnings("ignore:No application metrics to publish:UserWarning"),
    pytest.mark.usefixtures("user_pool"),  # erasure reaches the login
]
FORM = "application/x-www-form-urlencoded"


def consent(api: Invoker, channel: str, granted: bool = True) -> None:
    body = {"channel": channel, "purpose": "marketing", "granted": granted}
    assert call(api, "POST", "/me/consents", body=body).status == 201


def link(api: Invoker, method: str, token: str, *, body: str | None = None, **headers: str) -> ApiResponse:
    """The link followed as API Gateway passes a public route on: no authorizer at all."""
    event = api_event(
        "profile_get_me",
        method=method,
        resource="/unsubscribe/{token}",
        path_parameters={"token": token},
        body=body,
        claims=None,
        headers={"Content-Type": FORM, **headers} if body is not None else headers,
    )
    return api(event)


def consents(api: Invoker) -> dict[str, bool]:
    return dict(call(api, "GET", "/me/consents").json()["consents"])


@pytest.fixture
def cards(lambda_function: Callable[[Function], Invoker]) -> Callable[[str], dict[str, Any]]:
    invoker = lambda_function(CONTACTS)
    return lambda customer_id: dict(
        invoker.handler({"customer_ids": [customer_id]}, LambdaContext.of(CONTACTS))["cards"][0]
    )


@pytest.fixture
def subscribed(profile_api: Invoker, cards: Callable[[str], dict[str, Any]]) -> tuple[str, dict[str, str]]:
    """A customer with an e-mail and a phone who consented to marketing e-mail and SMS (not push:
    no device); their card's links."""
    customer_id = create(profile_api)
    consent(profile_api, "email")
    consent(profile_api, "sms")
    return customer_id, dict(cards(customer_id)["unsubscribe_urls"])


def token_of(url: str) -> str:
    return urlsplit(url).path.rsplit("/", 1)[-1]


def test_the_card_carries_a_signed_link_for_each_consented_channel(
    subscribed: tuple[str, dict[str, str]],
) -> None:
    # Given the customer's card
    _, urls = subscribed
    # Then it has a link for e-mail and SMS marketing, on the public API, and none for push
    assert set(urls) == {"email.marketing", "sms.marketing"}
    assert all(u.startswith(f"{PUBLIC_API_URL}/unsubscribe/") for u in urls.values())
    assert urls["email.marketing"] != urls["sms.marketing"]


def test_one_click_withdraws_the_consent_once_and_publishes_it(
    profile_api: Invoker, bus: str, subscribed: tuple[str, dict[str, str]]
) -> None:
    customer_id, urls = subscribed
    watch = BusWatch(bus, ["ConsentChanged"])
    token = token_of(urls["email.marketing"])
    # When a mail client posts RFC 8058's one-click body to the e-mail link, and again
    first = link(profile_api, "POST", token, body="List-Unsubscribe=One-Click")
    again = link(profile_api, "POST", token, body="List-Unsubscribe=One-Click")
    # Then both are 200, saying what was withdrawn
    assert (first.status, first.json()) == (
        200,
        {"channel": "email", "purpose": "marketing", "granted": False},
    )
    assert (again.status, again.json()) == (first.status, first.json())
    # And marketing e-mail is withdrawn, SMS is not
    now = consents(profile_api)
    assert (now["email.marketing"], now["sms.marketing"]) == (False, True)
    # And one ConsentChanged was published, with the whole state
    (event,) = watch.data("ConsentChanged")
    assert (event["customer_id"], event["channel"], event["granted"]) == (customer_id, "email", False)
    assert event["consents"]["sms.marketing"] is True
    # And the log records one withdrawal by the customer, from the link
    staff = call(
        profile_api,
        "GET",
        "/customers/{customer_id}/consents",
        groups="agent",
        path_parameters={"customer_id": customer_id},
    ).json()
    withdrawals = [h for h in staff["history"] if not h["granted"]]
    assert [(h["channel"], h["source"], h["actor"]) for h in withdrawals] == [
        ("email", "unsubscribe_link", "customer")
    ]


def test_an_empty_post_and_a_browsers_post_withdraw_too(
    profile_api: Invoker, subscribed: tuple[str, dict[str, str]]
) -> None:
    _, urls = subscribed
    # When the SMS link is posted with no body, by a browser that wants a page
    response = link(profile_api, "POST", token_of(urls["sms.marketing"]), Accept="text/html")
    # Then it is withdrawn and the person sees a page saying so, not JSON
    assert response.status == 200
    assert (response.header("Content-Type") or "").startswith("text/html")
    assert "<script" not in response.body
    assert consents(profile_api)["sms.marketing"] is False


def test_a_get_shows_the_form_and_changes_nothing(
    profile_api: Invoker, bus: str, subscribed: tuple[str, dict[str, str]]
) -> None:
    _, urls = subscribed
    watch = BusWatch(bus, ["ConsentChanged"])
    before = scan_all(CONTACTS.tables[0].table)
    # When a link scanner (or the person) fetches the link
    response = link(profile_api, "GET", token_of(urls["email.marketing"]))
    # Then it is an HTML page with a button that POSTs, no script, never cached, no referrer
    assert response.status == 200
    assert (response.header("Content-Type") or "").startswith("text/html")
    assert '<form method="post">' in response.body
    assert "<script" not in response.body.lower()
    assert response.header("Cache-Control") == "no-store"
    assert response.header("Referrer-Policy") == "no-referrer"
    # And nothing changed, nothing was published
    assert consents(profile_api)["email.marketing"] is True
    assert scan_all(CONTACTS.tables[0].table) == before
    assert watch.data("ConsentChanged") == []


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_forged_or_tampered_link_is_404_with_its_code_and_changes_nothing(
    profile_api: Invoker, subscribed: tuple[str, dict[str, str]], method: str
) -> None:
    _, urls = subscribed
    token = token_of(urls["email.marketing"])
    payload, mac = token.split(".")
    before = scan_all(CONTACTS.tables[0].table)
    for forged in (f"{payload}.{'A' * len(mac)}", f"{payload[:-2]}xx.{mac}", "garbage", "a.b"):
        # When a forged link is followed
        response = link(
            profile_api, method, forged, body="List-Unsubscribe=One-Click" if method == "POST" else None
        )
        # Then it is 404 unsubscribe_link_invalid, never a 500, and nothing changed
        assert (response.status, response.error["code"]) == (404, "unsubscribe_link_invalid"), forged
    assert scan_all(CONTACTS.tables[0].table) == before


def test_an_erased_customers_link_answers_like_any_other_and_changes_nothing(
    profile_api: Invoker, bus: str, subscribed: tuple[str, dict[str, str]]
) -> None:
    # Given a customer who was erased after the message went out
    customer_id, urls = subscribed
    assert call(profile_api, "DELETE", "/me").status == 204
    watch = BusWatch(bus, ["ConsentChanged"])
    before = scan_all(CONTACTS.tables[0].table)
    # When their old link is followed (and its page fetched)
    response = link(profile_api, "POST", token_of(urls["email.marketing"]), body="List-Unsubscribe=One-Click")
    page = link(profile_api, "GET", token_of(urls["email.marketing"]))
    # Then the answers are those any customer gets: nothing says they are gone
    assert (response.status, response.json()) == (
        200,
        {"channel": "email", "purpose": "marketing", "granted": False},
    )
    assert page.status == 200
    # And nothing was written under their id and nothing published
    assert scan_all(CONTACTS.tables[0].table) == before
    assert not any(customer_id in str(i) and i["pk"]["S"].startswith("CUSTOMER#") for i in before)
    assert watch.data("ConsentChanged") == []


def test_a_json_body_is_refused_as_the_route_takes_a_form(
    profile_api: Invoker, subscribed: tuple[str, dict[str, str]]
) -> None:
    _, urls = subscribed
    response = link(
        profile_api,
        "POST",
        token_of(urls["email.marketing"]),
        body="{}",
        **{"Content-Type": "application/json"},
    )
    assert (response.status, response.error["code"]) == (415, "unsupported_media_type")
    assert consents(profile_api)["email.marketing"] is True

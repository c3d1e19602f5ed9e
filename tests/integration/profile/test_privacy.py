"""A customer's rights: a complete JSON export of their data, and erasure from every item of
the service (the profile, its indexes, consents, the login link), announced by CustomerErased."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import boto3
import pytest

from services.profile.dal.logins import pool_of
from services.profile.topology import PROFILES
from shared.dynamo import DynamoTable
from tests.integration.apigw import POOL, Invoker, api_event
from tests.integration.conftest import BusWatch, scan_all

pytestmark = [
    pytest.mark.filterwarnings("ignore:No application metrics to publish:UserWarning"),
    pytest.mark.usefixtures("user_pool"),  # erasure reaches the login
]
SUB, OTHER = "sub-privacy", "sub-privacy-other"
EMAIL, PHONE = "erase.me@example.com", "+821055501234"


def call(
    api: Invoker, method: str, resource: str, *, groups: str = "customer", sub: str = SUB, **kw: Any
) -> Any:
    if "path_parameters" not in kw:
        kw.setdefault("path", resource)
    return api(api_event("profile_get_me", method=method, resource=resource, sub=sub, groups=groups, **kw))


def sign_up(api: Invoker, sub: str = SUB, *, login_email: str | None = None) -> Any:
    """POST /me with the login's ID token (its ``email`` claim: ``login_email``)."""
    body = {
        "display_name": "지울 사람",
        "email": EMAIL,
        "phone": PHONE,
        "birthday": "1990-03-14",
        "anniversaries": [{"kind": "wedding", "date": "2015-05-20"}],
    }
    event = api_event("profile_create_me", sub=sub, body=body)
    if login_email is not None:
        event["requestContext"]["authorizer"]["claims"]["email"] = login_email
    return api(event)


def create(api: Invoker, sub: str = SUB) -> str:
    response = sign_up(api, sub)
    assert response.status == 201, response.body
    return str(response.json()["customer_id"])


def on_the_bus(bus: str, detail_type: str) -> Callable[[], list[dict[str, Any]]]:
    """The ``detail.data`` of each event of this type published from now on."""
    watch = BusWatch(bus, [detail_type])
    return lambda: watch.data(detail_type)


@pytest.fixture
def erased_events(bus: str) -> Callable[[], list[dict[str, Any]]]:
    return on_the_bus(bus, "CustomerErased")


def mentions(customer_id: str) -> list[dict[str, Any]]:
    """Every item that still holds the customer's id, e-mail or phone (outbox events aside)."""
    found = []
    for item in scan_all(PROFILES):
        text = json.dumps(item)
        if item["pk"]["S"].startswith("OUTBOX#"):
            continue
        if customer_id in text or EMAIL in text or PHONE in text:
            found.append(item)
    return found


def test_a_customer_exports_everything_the_service_holds_about_them(profile_api: Invoker) -> None:
    # Given a customer with a profile and a consent
    customer_id = create(profile_api)
    change = {"channel": "email", "purpose": "marketing", "granted": True, "source": "app"}
    assert call(profile_api, "POST", "/me/consents", body=change).status == 201
    # When they ask for their export
    response = call(profile_api, "GET", "/me/export")
    # Then it holds their profile and consent log and state, without storage keys
    assert response.status == 200, response.body
    export = response.json()
    assert export["customer_id"] == customer_id
    assert export["profile"]["email"] == EMAIL
    assert {"consent", "consents"} <= set(export["records"])
    assert all("pk" not in r and "sk" not in r for rs in export["records"].values() for r in rs)


def test_an_admin_exports_a_customer_and_others_may_not(profile_api: Invoker) -> None:
    # Given a customer
    customer_id = create(profile_api)
    path = {"customer_id": customer_id}
    # When an admin, an agent and a customer ask for the export
    admin = call(profile_api, "GET", "/customers/{customer_id}/export", groups="admin", path_parameters=path)
    agent = call(profile_api, "GET", "/customers/{customer_id}/export", groups="agent", path_parameters=path)
    other = call(profile_api, "GET", "/customers/{customer_id}/export", sub=OTHER, path_parameters=path)
    # Then only the admin gets it
    assert (admin.status, admin.json()["customer_id"]) == (200, customer_id)
    assert (agent.status, agent.error["code"]) == (403, "forbidden")
    assert (other.status, other.error["code"]) == (403, "forbidden")


def test_erasure_removes_the_person_from_every_item_and_publishes_customer_erased(
    profile_api: Invoker, erased_events: Any
) -> None:
    # Given a customer with anniversaries, a consent and a lookup index entry
    customer_id = create(profile_api)
    change = {"channel": "sms", "purpose": "marketing", "granted": True, "source": "app"}
    assert call(profile_api, "POST", "/me/consents", body=change).status == 201
    assert mentions(customer_id)
    # When they erase themselves
    response = call(profile_api, "DELETE", "/me")
    # Then nothing but the pseudonymous tombstone mentions them, and CustomerErased went out once
    assert response.status == 204, response.body
    left = mentions(customer_id)
    assert [i["pk"]["S"] for i in left] == [f"ERASED#{customer_id}"]
    assert EMAIL not in json.dumps(left)
    assert PHONE not in json.dumps(left)
    assert erased_events() == [{"customer_id": customer_id, "erased_by": "customer"}]
    # And their profile, export and lookups are gone
    assert call(profile_api, "GET", "/me").error["code"] == "profile_not_found"
    assert call(profile_api, "GET", "/me/export").status == 404
    found = call(profile_api, "GET", "/customers", groups="agent", query={"email": EMAIL})
    assert found.json()["items"] == []
    # And erasing again is a 404, not a second event
    assert call(profile_api, "DELETE", "/me").status == 404
    assert erased_events() == []


def test_erasure_deletes_the_login_and_the_same_person_returns_as_a_new_customer(
    profile_api: Invoker, bus: str
) -> None:
    # Given a login of the pool with its e-mail, and its customer
    idp, pool = boto3.client("cognito-idp"), pool_of(str(POOL.issuer))
    attributes = [{"Name": "email", "Value": "Erase.Me@Example.com"}]
    idp.admin_create_user(UserPoolId=pool, Username=SUB, UserAttributes=attributes, MessageAction="SUPPRESS")
    registered = on_the_bus(bus, "CustomerRegistered")
    first = sign_up(profile_api, login_email="Erase.Me@Example.com")
    assert first.status == 201, first.body
    # When they erase themselves
    assert call(profile_api, "DELETE", "/me").status == 204
    # Then the login is gone from the pool, e-mail and all
    with pytest.raises(idp.exceptions.UserNotFoundException):
        idp.admin_get_user(UserPoolId=pool, Username=SUB)
    # And its tokens, valid up to an hour after, make no new profile
    zombie = sign_up(profile_api, login_email="Erase.Me@Example.com")
    assert (zombie.status, zombie.json()["error"]["code"]) == (403, "login_erased")
    # When the same person signs up again with a new login (the e-mail typed in another case)
    second = sign_up(profile_api, "sub-privacy-again", login_email=" erase.me@example.COM")
    # Then they are a new customer, and the event says they return (no second sign-up bonus)
    assert second.status == 201, second.body
    assert second.json()["customer_id"] != first.json()["customer_id"]
    returning = {e["customer_id"]: e["returning"] for e in registered()}
    assert returning == {first.json()["customer_id"]: False, second.json()["customer_id"]: True}
    # And a stranger with another e-mail is not taken for them
    stranger = sign_up(profile_api, "sub-privacy-stranger", login_email="someone.else@example.com")
    assert stranger.status == 201
    assert registered()[0]["returning"] is False


def test_an_admin_erases_a_customer_and_agents_or_other_customers_may_not(profile_api: Invoker) -> None:
    # Given a customer
    customer_id = create(profile_api)
    path = {"customer_id": customer_id}
    # When an agent and another customer try, then an admin does
    agent = call(profile_api, "DELETE", "/customers/{customer_id}", groups="agent", path_parameters=path)
    other = call(profile_api, "DELETE", "/customers/{customer_id}", sub=OTHER, path_parameters=path)
    admin = call(profile_api, "DELETE", "/customers/{customer_id}", groups="admin", path_parameters=path)
    # Then only the admin's erasure happens, and the customer's login no longer finds a profile
    assert (agent.status, other.status, admin.status) == (403, 403, 204)
    assert call(profile_api, "GET", "/me").status == 404
    assert mentions(customer_id) == [i for i in mentions(customer_id) if i["pk"]["S"].startswith("ERASED#")]


def test_an_interrupted_erasure_is_finished_by_erasing_again(
    profile_api: Invoker, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an erasure that crashed after its first step (profile gone, consents still there)
    customer_id = create(profile_api)
    change = {"channel": "push", "purpose": "service", "granted": True, "source": "app"}
    assert call(profile_api, "POST", "/me/consents", body=change).status == 201

    def crash(*_: Any, **__: Any) -> int:
        raise ConnectionError("the function died here")

    with monkeypatch.context() as patch:
        patch.setattr(DynamoTable, "batch_write", crash)
        assert call(profile_api, "DELETE", "/me").status == 500
    assert call(profile_api, "GET", "/me").status == 404
    assert len(mentions(customer_id)) > 1
    # When the erasure is asked for again
    response = call(profile_api, "DELETE", "/me")
    # Then it finishes: only the tombstone is left
    assert response.status == 204, response.body
    assert [i["pk"]["S"] for i in mentions(customer_id)] == [f"ERASED#{customer_id}"]


@pytest.mark.parametrize("customer_id", ["nobody", "cus_" + "0" * 26, "cus_01AAAAAAAAAAAAAAAAAAAAAAAA"])
def test_erasing_or_exporting_an_unknown_customer_is_a_4xx(profile_api: Invoker, customer_id: str) -> None:
    # Given no such customer
    path = {"customer_id": customer_id}
    # When an admin erases or exports them
    erase = call(profile_api, "DELETE", "/customers/{customer_id}", groups="admin", path_parameters=path)
    export = call(profile_api, "GET", "/customers/{customer_id}/export", groups="admin", path_parameters=path)
    # Then both are 404 (a known id) or 422 (a malformed one), with a code
    assert erase.status in (404, 422)
    assert erase.error["code"]
    assert export.status == erase.status

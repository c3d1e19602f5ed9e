"""Trust around the data, over HTTP on the local runtime (issue 13's "done when"): a retried effect
needs its key, a till needs the customer's member code, staff see what their work needs, and an
erased customer's login and rewards account take nothing new."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

from tests.e2e.conftest import LocalSystem


def _eventually(check: Callable[[], Any], *, within_s: float = 10) -> Any:
    """The first truthy answer of ``check`` (the backbone delivers in about a second)."""
    deadline = time.monotonic() + within_s
    while not (answer := check()):
        assert time.monotonic() < deadline, "not within the time the backbone takes"
        time.sleep(0.1)
    return answer


def _points(local: LocalSystem, token: str) -> Any:
    answer = local.request("GET", "/me/points", token=token)
    return answer.json() if answer.status == 200 else None


def test_a_goodwill_grant_without_an_idempotency_key_is_428(local: LocalSystem) -> None:
    # Given a customer with an account
    token, customer_id = local.new_customer()
    _eventually(lambda: _points(local, token))
    # When an agent grants goodwill without a key, then with one
    path = f"/customers/{customer_id}/points/adjustments"
    body = {"points": 100, "reason": "late delivery"}
    bare = local.request("POST", path, token=local.token("agent"), body=body, headers={"Idempotency-Key": ""})
    keyed = local.request("POST", path, token=local.token("agent"), body=body)
    # Then the first is refused for want of a key, the second is granted
    assert (bare.status, bare.json()["error"]["code"]) == (428, "idempotency_key_required")
    assert keyed.status == 201, keyed.body


def test_a_till_holds_points_only_with_the_customers_own_member_code(local: LocalSystem) -> None:
    # Given two customers with points, and the first one's member code on their app
    token, customer_id = local.new_customer()
    other_token, other_id = local.new_customer()
    _eventually(lambda: _points(local, token) and _points(local, other_token))
    made = local.request("POST", "/me/member-code", token=token)
    assert made.status == 201, made.body
    code, till = made.json()["code"], local.token("machine")
    # When the till looks the code up, then holds with it for one order
    seen = local.request("POST", "/member-codes/lookup", token=till, body={"member_code": code})
    assert (seen.status, seen.json()["customer_id"]) == (200, customer_id)
    order = f"e2e-{uuid.uuid4().hex[:8]}"
    held = local.request(
        "PUT",
        f"/customers/{customer_id}/holds/{order}",
        token=till,
        body={"points": 100, "member_code": code},
    )
    assert held.status == 201, held.body
    # Then the same code serves no other order, and no other customer's account
    again = local.request(
        "PUT",
        f"/customers/{customer_id}/holds/{order}-2",
        token=till,
        body={"points": 1, "member_code": code},
    )
    assert (again.status, again.json()["error"]["code"]) == (409, "member_code_used")
    theirs = local.request(
        "PUT", f"/customers/{other_id}/holds/{order}-3", token=till, body={"points": 1, "member_code": code}
    )
    assert (theirs.status, theirs.json()["error"]["code"]) == (403, "member_code_invalid")
    # And a bare customer id shows no presence at all
    bare = local.request("PUT", f"/customers/{other_id}/holds/{order}-4", token=till, body={"points": 1})
    assert bare.status == 422


def test_staff_see_what_their_work_needs(local: LocalSystem) -> None:
    # Given a customer
    _, customer_id = local.new_customer()
    marketing, agent, admin = local.token("marketing"), local.token("agent"), local.token("admin")
    # Then marketing reads no one customer's data, while an agent does
    for path in (f"/customers/{customer_id}", f"/customers/{customer_id}/points"):
        assert local.request("GET", path, token=marketing).status == 403, path
    assert local.request("GET", f"/customers/{customer_id}", token=agent).status == 200
    # And listing every customer is an administrator's alone
    listing = local.request("GET", "/customers?limit=5", token=agent)
    assert (listing.status, listing.json()["error"]["code"]) == (403, "listing_not_allowed")
    assert local.request("GET", "/customers?limit=5", token=admin).status == 200


def test_erasure_deletes_the_login_and_the_same_person_returns_without_a_second_bonus(
    local: LocalSystem,
) -> None:
    # Given a customer who signed up and got the sign-up points
    email = f"erase-{uuid.uuid4().hex[:10]}@e2e.dangol.dev"
    first = local.sign_up(email)
    created = local.request("POST", "/me", token=first["id"], body={"display_name": "지울 사람"})
    assert created.status == 201, created.body
    customer_id = created.json()["customer_id"]
    _eventually(lambda: (_points(local, first["id"]) or {}).get("balance"))
    # When they erase themselves
    assert local.request("DELETE", "/me", token=first["id"]).status == 204
    # Then their login is gone: it cannot sign in, and its token makes no new profile
    try:
        local.idp(through_gateway=True).initiate_auth(
            ClientId=local.state["client_id"],
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": email, "PASSWORD": "Sign-up-pass-1"},
        )
        signed_in = True
    except Exception:
        signed_in = False
    assert not signed_in
    zombie = local.request("POST", "/me", token=first["id"], body={"display_name": "다시"})
    assert (zombie.status, zombie.json()["error"]["code"]) == (403, "login_erased")
    # And once the rewards service has erased them too, the account takes no goodwill
    history = f"/customers/{customer_id}/points/history"
    agent = local.token("agent")
    _eventually(
        lambda: all(
            e["reason"] == "erased" for e in local.request("GET", history, token=agent).json()["items"]
        )
    )
    goodwill = local.request(
        "POST",
        f"/customers/{customer_id}/points/adjustments",
        token=agent,
        body={"points": 10, "reason": "x"},
    )
    assert (goodwill.status, goodwill.json()["error"]["code"]) == (422, "customer_erased")
    # When the same person signs up again with the same e-mail
    second = local.sign_up(email)
    again = local.request("POST", "/me", token=second["id"], body={"display_name": "돌아온 사람"})
    # Then they are a new customer, with an account but no second sign-up bonus
    assert again.status == 201, again.body
    assert again.json()["customer_id"] != customer_id
    _eventually(lambda: _points(local, second["id"]))
    time.sleep(1.5)  # the first sign-up's points came within a second of its account
    assert _points(local, second["id"])["balance"] == 0

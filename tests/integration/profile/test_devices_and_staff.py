"""Push tokens per device on the customer's own profile; staff edit a customer through
/customers/{id} under the same rules; staff list every customer page by page."""

from __future__ import annotations

from typing import Any

import pytest

from services.profile.topology import PROFILES
from tests.integration.apigw import Invoker, api_event
from tests.integration.conftest import CURSOR_KEY, scan_all

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish:UserWarning")
SUB = "sub-devices"
TOKEN = "fcm:" + "a1b2c3d4" * 8


def call(
    api: Invoker, method: str, resource: str, *, groups: str = "customer", sub: str = SUB, **kw: Any
) -> Any:
    if "path_parameters" not in kw:
        kw.setdefault("path", resource)
    return api(api_event("profile_get_me", method=method, resource=resource, sub=sub, groups=groups, **kw))


def create(api: Invoker, sub: str = SUB, name: str = "기기") -> str:
    response = api(api_event("profile_create_me", sub=sub, body={"display_name": name}))
    assert response.status == 201, response.body
    return str(response.json()["customer_id"])


def put_device(api: Invoker, device_id: str, body: Any, **kw: Any) -> Any:
    return call(
        api, "PUT", "/me/devices/{device_id}", path_parameters={"device_id": device_id}, body=body, **kw
    )


# --- devices ---------------------------------------------------------------------------------


def test_a_customer_registers_a_push_token_per_device_unverified(profile_api: Invoker) -> None:
    # Given a customer
    create(profile_api)
    # When they register two devices
    phone = put_device(profile_api, "iphone-15", {"platform": "ios", "token": TOKEN})
    tablet = put_device(profile_api, "tab-s9", {"platform": "android", "token": TOKEN + "x"})
    # Then both are on the profile, unverified, and each change bumped the version
    assert (phone.status, tablet.status) == (200, 200)
    devices = tablet.json()["devices"]
    assert [(d["device_id"], d["platform"], d["verified"]) for d in devices] == [
        ("iphone-15", "ios", False),
        ("tab-s9", "android", False),
    ]
    assert tablet.json()["version"] == 3


def test_a_token_moves_with_its_device_and_the_oldest_device_goes_beyond_ten(profile_api: Invoker) -> None:
    # Given a customer with ten devices
    create(profile_api)
    for n in range(10):
        assert put_device(profile_api, f"d{n:02d}", {"platform": "web", "token": f"{TOKEN}{n}"}).status == 200
    # When the token of d03 shows up on a new device id, and an eleventh device registers
    moved = put_device(profile_api, "d03-new", {"platform": "web", "token": f"{TOKEN}3"})
    eleventh = put_device(profile_api, "d99", {"platform": "ios", "token": TOKEN + "new"})
    # Then the token is only on the new id, and a device seen longest ago was dropped
    before = {d["device_id"]: d["last_seen_at"] for d in moved.json()["devices"]}
    assert "d03" not in before
    assert len(before) == 10
    after = {d["device_id"] for d in eleventh.json()["devices"]}
    dropped = set(before) - after
    assert len(after) == 10
    assert "d99" in after
    assert len(dropped) == 1
    assert before[dropped.pop()] == min(before.values())


def test_forgetting_a_device_removes_its_token_and_an_unknown_device_is_404(profile_api: Invoker) -> None:
    # Given a customer with a device
    create(profile_api)
    put_device(profile_api, "pixel", {"platform": "android", "token": TOKEN})
    path = {"device_id": "pixel"}
    # When they forget it twice
    first = call(profile_api, "DELETE", "/me/devices/{device_id}", path_parameters=path)
    second = call(profile_api, "DELETE", "/me/devices/{device_id}", path_parameters=path)
    # Then it is gone, and the second time is a 404 with its code
    assert first.status == 204
    assert call(profile_api, "GET", "/me").json()["devices"] == []
    assert (second.status, second.error["code"]) == (404, "device_not_found")


@pytest.mark.parametrize(
    ("device_id", "body"),
    [
        ("ok", {"platform": "blackberry", "token": TOKEN}),
        ("ok", {"platform": "ios", "token": "short"}),
        ("ok", {"platform": "ios", "token": "has spaces in it"}),
        ("ok", {"platform": "ios"}),
        ("ok", {"platform": "ios", "token": TOKEN, "verified": True}),
        ("ok", [TOKEN]),
        ("bad id!", {"platform": "ios", "token": TOKEN}),
        ("x" * 65, {"platform": "ios", "token": TOKEN}),
    ],
)
def test_bad_device_registrations_are_422_and_change_nothing(
    profile_api: Invoker, device_id: str, body: Any
) -> None:
    # Given a customer
    create(profile_api)
    # When they register a bad device
    response = put_device(profile_api, device_id, body)
    # Then it is a 422 and the profile is unchanged
    assert (response.status, response.error["code"]) == (422, "validation_error")
    me = call(profile_api, "GET", "/me").json()
    assert (me["devices"], me["version"]) == ([], 1)


def test_staff_and_machines_cannot_register_devices_and_no_profile_is_404(profile_api: Invoker) -> None:
    # Given a staff token, and a customer without a profile
    body = {"platform": "ios", "token": TOKEN}
    # When each registers a device
    staff = put_device(profile_api, "d", body, groups="agent")
    nobody = put_device(profile_api, "d", body, sub="sub-no-profile")
    # Then staff are refused and the customer without a profile gets a 404
    assert (staff.status, staff.error["code"]) == (403, "forbidden")
    assert (nobody.status, nobody.error["code"]) == (404, "profile_not_found")


# --- staff edits -----------------------------------------------------------------------------


def staff_patch(api: Invoker, customer_id: str, body: Any, *, groups: str = "agent", **kw: Any) -> Any:
    return call(
        api,
        "PATCH",
        "/customers/{customer_id}",
        path_parameters={"customer_id": customer_id},
        body=body,
        groups=groups,
        sub="staff-1",
        **kw,
    )


def test_an_agent_corrects_a_customers_phone_which_is_then_unverified(profile_api: Invoker) -> None:
    # Given a customer
    customer_id = create(profile_api)
    # When an agent sets their phone with the current version
    response = staff_patch(profile_api, customer_id, {"phone": "+821099998888"}, headers={"If-Match": '"1"'})
    # Then it changed, unverified, at version 2
    assert response.status == 200, response.body
    body = response.json()
    assert (body["phone"], body["phone_verified"], body["version"]) == ("+821099998888", False, 2)
    assert response.header("ETag") == '"2"'


def test_a_stale_staff_edit_is_412_and_a_customer_may_not_edit_another(profile_api: Invoker) -> None:
    # Given a customer at version 1 and another customer
    customer_id = create(profile_api)
    create(profile_api, sub="sub-other")
    # When staff send a stale If-Match, and the other customer tries the staff route
    stale = staff_patch(profile_api, customer_id, {"locale": "en-US"}, headers={"If-Match": '"7"'})
    other = staff_patch(profile_api, customer_id, {"locale": "en-US"}, groups="customer")
    # Then neither changed anything
    assert (stale.status, stale.error["code"]) == (412, "precondition_failed")
    assert (other.status, other.error["code"]) == (403, "forbidden")
    assert call(profile_api, "GET", "/me").json()["version"] == 1


@pytest.mark.parametrize(
    "body", [{}, {"time_zone": "Mars/Olympus"}, {"display_name": None}, {"customer_id": "cus_x"}, "[]"]
)
def test_bad_staff_edits_are_422(profile_api: Invoker, body: Any) -> None:
    customer_id = create(profile_api)
    response = staff_patch(profile_api, customer_id, body)
    assert (response.status, response.error["code"]) == (422, "validation_error")


def test_a_staff_edit_of_an_unknown_customer_is_404(profile_api: Invoker) -> None:
    response = staff_patch(profile_api, "cus_01AAAAAAAAAAAAAAAAAAAAAAAA", {"locale": "en-US"})
    assert (response.status, response.error["code"]) == (404, "profile_not_found")


# --- the customer list -----------------------------------------------------------------------


def list_page(api: Invoker, groups: str = "admin", **query: str) -> Any:
    return call(api, "GET", "/customers", groups=groups, sub="staff-1", query=query or None)


def test_an_admin_pages_through_every_customer_in_sign_up_order_and_each_page_is_audited(
    profile_api: Invoker,
) -> None:
    # Given seven customers
    created = [create(profile_api, sub=f"sub-list-{n}", name=f"고객{n}") for n in range(7)]
    # When an administrator reads them three at a time
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        query = {"limit": "3", **({"cursor": cursor} if cursor else {})}
        response = list_page(profile_api, **query)
        assert response.status == 200, response.body
        seen += [p["customer_id"] for p in response.json()["items"]]
        cursor = response.json()["next_cursor"]
        pages += 1
        if not cursor:
            break
    # Then each customer appears once, in sign-up order, over three pages
    assert seen == created
    assert pages == 3
    # And the access audit records each page read: who, what, which page (never the data)
    audit = [i for i in scan_all(PROFILES) if i["pk"]["S"].startswith("AUDIT#")]
    assert len(audit) == 3
    assert {(i["actor"]["S"], i["action"]["S"]) for i in audit} == {("staff-1", "list-customers")}
    assert not any("고객" in str(i) for i in audit)


@pytest.mark.parametrize(("groups", "code"), [("agent", "listing_not_allowed"), ("marketing", "forbidden")])
def test_only_an_admin_lists_everyone_while_agents_find_one_by_e_mail(
    profile_api: Invoker, groups: str, code: str
) -> None:
    # Given a customer
    create(profile_api, sub="sub-find-1", name="찾을 고객")
    # When an agent or marketing asks for every customer
    listing = list_page(profile_api, groups=groups)
    # Then it is refused (an agent finds one customer by e-mail or phone), and nothing is audited
    assert (listing.status, listing.error["code"]) == (403, code)
    assert not [i for i in scan_all(PROFILES) if i["pk"]["S"].startswith("AUDIT#")]


@pytest.mark.parametrize("limit", ["0", "101", "-1", "ten"])
def test_a_bad_page_size_is_a_4xx_with_a_code(profile_api: Invoker, limit: str) -> None:
    response = list_page(profile_api, limit=limit)
    assert response.status in (400, 422)
    assert response.error["code"] in ("invalid_limit", "validation_error")


def test_a_tampered_or_foreign_cursor_is_400_invalid_cursor(profile_api: Invoker) -> None:
    # Given a real cursor of the list
    for n in range(3):
        create(profile_api, sub=f"sub-cursor-{n}")
    cursor = list_page(profile_api, limit="1").json()["next_cursor"]
    from shared.pagination import encode_cursor

    forged = encode_cursor({"pk": "CUSTOMER#x", "sk": "PROFILE"}, scope="GET /elsewhere", key=CURSOR_KEY)
    # When it is altered, or one of another list is sent
    altered = list_page(profile_api, cursor=cursor[:-2] + ("A" if cursor[-2] != "A" else "B") + cursor[-1])
    foreign = list_page(profile_api, cursor=str(forged))
    # Then both are refused
    assert (altered.status, altered.error["code"]) == (400, "invalid_cursor")
    assert (foreign.status, foreign.error["code"]) == (400, "invalid_cursor")


def test_customers_may_not_list_customers(profile_api: Invoker) -> None:
    response = list_page(profile_api, groups="customer")
    assert (response.status, response.error["code"]) == (403, "forbidden")

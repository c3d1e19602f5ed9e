"""Staff find customers by exact e-mail or phone through an index; anniversaries and birthday
are on the profile; a changed contact point is unverified again."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.apigw import Invoker, api_event

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish:UserWarning")

STAFF_SUB = "0b7e5a2c-1111-4c3d-a9e6-7b8c9d0e1f2a"


def create(api: Invoker, sub: str, **body: Any) -> dict[str, Any]:
    response = api(api_event("profile_create_me", sub=sub, body={"display_name": "고객", **body}))
    assert response.status == 201, response.body
    return dict(response.json())


def find(api: Invoker, groups: str = "agent", **query: str) -> Any:
    return api(
        api_event(
            "profile_get_customer",
            resource="/customers",
            path="/customers",
            path_parameters=None,
            query=query,
            sub=STAFF_SUB,
            groups=groups,
        )
    )


def test_staff_find_a_customer_by_e_mail_in_any_case_and_by_phone(profile_api: Invoker) -> None:
    # Given two customers
    minji = create(profile_api, "sub-minji", email="Minji.Kim@Example.com", phone="+821012345678")
    create(profile_api, "sub-jisoo", email="jisoo@example.com")
    # When an agent looks them up
    by_email = find(profile_api, email="minji.kim@example.COM")
    by_phone = find(profile_api, phone="+821012345678")
    nobody = find(profile_api, email="nobody@example.com")
    # Then each lookup finds exactly the customer, and an unknown one finds nobody
    assert [p["customer_id"] for p in by_email.json()["items"]] == [minji["customer_id"]]
    assert [p["customer_id"] for p in by_phone.json()["items"]] == [minji["customer_id"]]
    assert (nobody.status, nobody.json()["items"]) == (200, [])


def test_a_lookup_takes_one_contact_point_not_both(profile_api: Invoker) -> None:
    # Given both contact points
    # When an agent looks up
    response = find(profile_api, email="a@b.co", phone="+821012345678")
    # Then it is a 400 with its code
    assert (response.status, response.error["code"]) == (400, "invalid_query")


def test_customers_cannot_look_customers_up(profile_api: Invoker) -> None:
    # Given a customer's token
    # When it asks for a lookup
    response = find(profile_api, groups="customer", email="a@b.co")
    # Then it is forbidden
    assert (response.status, response.error["code"]) == (403, "forbidden")


def test_a_changed_e_mail_is_unverified_and_found_only_by_its_new_value(profile_api: Invoker) -> None:
    # Given a customer
    create(profile_api, "sub-junho", email="junho@example.com")
    # When they change their e-mail
    changed = profile_api(
        api_event("profile_update_me", sub="sub-junho", body={"email": "junho@new.example"})
    )
    # Then it is unverified, the old address finds nobody and the new one finds them
    assert changed.status == 200
    assert changed.json()["email_verified"] is False
    assert find(profile_api, email="junho@example.com").json()["items"] == []
    assert len(find(profile_api, email="junho@new.example").json()["items"]) == 1
    # And clearing it removes them from the e-mail index
    cleared = profile_api(
        api_event("profile_update_me", sub="sub-junho", body={"email": None}, headers={"If-Match": '"2"'})
    )
    assert cleared.status == 200, cleared.body
    assert find(profile_api, email="junho@new.example").json()["items"] == []


def test_birthday_and_anniversaries_are_kept_on_the_profile(profile_api: Invoker) -> None:
    # Given a father with a leap-day wedding and his child's birthday
    anniversaries = [
        {"kind": "wedding", "date": "2024-02-29"},
        {"kind": "child_birthday", "date": "2025-06-01", "label": "하윤"},
    ]
    created = create(profile_api, "sub-father", birthday="1988-10-03", anniversaries=anniversaries)
    # When he reads his profile
    me = profile_api(api_event("profile_get_me", sub="sub-father")).json()
    # Then both are there as given
    assert created["birthday"] == me["birthday"] == "1988-10-03"
    assert [a["date"] for a in me["anniversaries"]] == ["2024-02-29", "2025-06-01"]
    assert me["anniversaries"][1]["label"] == "하윤"


@pytest.mark.parametrize(
    "anniversary",
    [
        {"kind": "custom", "date": "2020-01-01"},  # a custom one needs a label
        {"kind": "wedding", "date": "2999-01-01"},  # not in the future
        {"kind": "wedding", "date": "2023-02-29"},  # not a date
        {"kind": "graduation", "date": "2020-01-01"},  # not a kind
        {"kind": "wedding", "date": "1850-01-01"},  # too early
    ],
)
def test_bad_anniversaries_are_422_and_write_nothing(
    profile_api: Invoker, anniversary: dict[str, str]
) -> None:
    # Given a bad anniversary
    # When a customer registers with it
    response = profile_api(
        api_event(
            "profile_create_me", sub="sub-bad", body={"display_name": "x", "anniversaries": [anniversary]}
        )
    )
    # Then it is refused and no profile exists
    assert (response.status, response.error["code"]) == (422, "validation_error")
    assert profile_api(api_event("profile_get_me", sub="sub-bad")).status == 404


def test_more_than_ten_anniversaries_are_refused(profile_api: Invoker) -> None:
    # Given eleven anniversaries
    many = [{"kind": "custom", "date": "2020-01-01", "label": f"day {i}"} for i in range(11)]
    # When a customer registers with them
    response = profile_api(
        api_event("profile_create_me", sub="sub-many", body={"display_name": "x", "anniversaries": many})
    )
    # Then it is a 422
    assert response.status == 422


@pytest.mark.parametrize(
    "query", [{"email": ""}, {"phone": ""}, {"phone": "010-1234-5678"}, {"email": "a" * 300}]
)
def test_malformed_contact_points_in_a_lookup_are_4xx(profile_api: Invoker, query: dict[str, str]) -> None:
    # Given an empty, malformed or oversized contact point (found by schemathesis: an empty e-mail was a 500)
    # When an agent looks it up
    response = find(profile_api, **query)
    # Then it is refused with a code, never a 5xx
    assert 400 <= response.status < 500
    assert response.error["code"]


@pytest.mark.parametrize("birthday", [0, 1700000000, True, 19900314.0, "1990/03/14", "tomorrow"])
def test_a_birthday_must_be_an_iso_date_not_a_number(profile_api: Invoker, birthday: object) -> None:
    # Given a birthday given as a Unix time, a boolean or another format (the fuzzer found 0 accepted)
    # When a customer registers with it
    body = {"display_name": "x", "birthday": birthday}
    response = profile_api(api_event("profile_create_me", sub="sub-bday", body=body))
    # Then it is a 422
    assert (response.status, response.error["code"]) == (422, "validation_error")

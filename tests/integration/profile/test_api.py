"""The profile API, driven through its real Lambda entry point with API Gateway REST events."""

from __future__ import annotations

import base64
import json
import re
from typing import Any

import boto3
import pytest

from services.profile.models.profile import CUSTOMER_ID_PATTERN
from services.profile.topology import ME_CREATE, PROFILES
from tests.integration.apigw import ApiResponse, Invoker, api_event, sample
from tests.integration.conftest import scan_all

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish:UserWarning")

CUSTOMER = sample("profile_get_me")["requestContext"]["authorizer"]["claims"]["sub"]
OTHER_CUSTOMER = "5d1e7a0c-8f2b-4c3d-a9e6-7b8c9d0e1f2a"
STAFF = sample("profile_get_customer")["requestContext"]["authorizer"]["claims"]["sub"]
UNKNOWN_ID = "cus_01JK2M3N4P5Q6R7S8T9V0W1X2Y"
PROFILE_FIELDS = {
    "customer_id",
    "display_name",
    "email",
    "phone",
    "locale",
    "time_zone",
    "birthday",
    "anniversaries",
    "devices",
    "groups",
    "manager_id",
    "social_handles",
    "email_verified",
    "phone_verified",
    "version",
    "created_at",
    "updated_at",
}


def create_profile(api: Invoker, sub: str = CUSTOMER, **overrides: object) -> ApiResponse:
    response = api(api_event("profile_create_me", sub=sub, **overrides))  # type: ignore[arg-type]
    assert response.status == 201, response.body
    return response


def get_customer(api: Invoker, customer_id: str, groups: str = "[agent]", sub: str = STAFF) -> ApiResponse:
    return api(
        api_event(
            "profile_get_customer", path_parameters={"customer_id": customer_id}, sub=sub, groups=groups
        )
    )


# --- the customer's own profile ----------------------------------------------------------------


def test_a_customer_creates_their_profile_and_gets_201_with_etag_1(profile_api: Invoker) -> None:
    # Given a customer without a profile
    event = api_event("profile_create_me")

    # When they POST /me
    response = profile_api(event)

    # Then the profile is created, version 1, with a new customer id
    assert response.status == 201
    assert response.header("ETag") == '"1"'
    assert response.header("Content-Type") == "application/json"
    body = response.json()
    assert set(body) == PROFILE_FIELDS
    assert re.fullmatch(CUSTOMER_ID_PATTERN, body["customer_id"])
    assert body["version"] == 1
    assert body["display_name"] == "김민지"
    assert body["email"] == "minji@example.com"
    assert body["created_at"] == body["updated_at"]
    assert body["created_at"].endswith("Z")


def test_creating_a_profile_stores_the_profile_and_the_identity_link(profile_api: Invoker) -> None:
    # Given an empty profiles table
    assert scan_all(PROFILES) == []

    # When a customer creates their profile
    customer_id = create_profile(profile_api).json()["customer_id"]

    # Then the table holds exactly the profile and the link from the subject to it
    keys = {(i["pk"]["S"], i["sk"]["S"]) for i in scan_all(PROFILES)}
    assert keys == {(f"CUSTOMER#{customer_id}", "PROFILE"), (f"IDENTITY#{CUSTOMER}", "IDENTITY")}


def test_a_created_profile_takes_the_defaults_for_locale_and_time_zone(profile_api: Invoker) -> None:
    # Given a customer who sends only a display name
    event = api_event("profile_create_me", body={"display_name": "Kim"})

    # When they create their profile
    response = profile_api(event)

    # Then the optional contacts are null and locale and time zone take their defaults
    assert response.status == 201
    body = response.json()
    assert (body["email"], body["phone"]) == (None, None)
    assert (body["locale"], body["time_zone"]) == ("ko-KR", "Asia/Seoul")


def test_a_customer_reads_their_own_profile(profile_api: Invoker) -> None:
    # Given a customer who created a profile
    created = create_profile(profile_api).json()

    # When they GET /me
    response = profile_api(api_event("profile_get_me"))

    # Then they get that profile with its version as ETag
    assert response.status == 200
    assert response.header("ETag") == '"1"'
    assert response.json() == created


def test_a_customer_only_ever_sees_their_own_profile(profile_api: Invoker) -> None:
    # Given two customers with a profile each
    mine = create_profile(profile_api, sub=CUSTOMER).json()
    theirs = create_profile(profile_api, sub=OTHER_CUSTOMER).json()

    # When each reads /me
    read_mine = profile_api(api_event("profile_get_me", sub=CUSTOMER)).json()
    read_theirs = profile_api(api_event("profile_get_me", sub=OTHER_CUSTOMER)).json()

    # Then each gets their own
    assert mine["customer_id"] != theirs["customer_id"]
    assert read_mine == mine
    assert read_theirs == theirs


def test_a_customer_updates_their_profile_and_the_version_becomes_2(profile_api: Invoker) -> None:
    # Given a customer with a profile at version 1
    created = create_profile(profile_api).json()

    # When they PATCH /me with If-Match "1"
    response = profile_api(api_event("profile_update_me"))

    # Then only the fields sent change, the version is 2 and so is the ETag
    assert response.status == 200
    assert response.header("ETag") == '"2"'
    updated = response.json()
    assert updated["version"] == 2
    assert updated["display_name"] == "김민지 (Minji)"
    assert updated["locale"] == "en-US"
    assert updated["email"] == created["email"]
    assert updated["customer_id"] == created["customer_id"]
    assert updated["created_at"] == created["created_at"]
    assert profile_api(api_event("profile_get_me")).json() == updated


def test_patch_without_if_match_updates_unconditionally(profile_api: Invoker) -> None:
    # Given a customer with a profile
    create_profile(profile_api)

    # When they PATCH /me without If-Match
    response = profile_api(api_event("profile_update_me", headers={"If-Match": None}))

    # Then the update applies
    assert response.status == 200
    assert response.json()["version"] == 2


def test_patch_with_null_clears_an_optional_contact_point(profile_api: Invoker) -> None:
    # Given a customer whose profile has an e-mail address
    assert create_profile(profile_api).json()["email"] == "minji@example.com"

    # When they PATCH the e-mail to null
    response = profile_api(api_event("profile_update_me", body={"email": None}))

    # Then the e-mail is gone and everything else stays
    assert response.status == 200
    assert response.json()["email"] is None
    assert response.json()["phone"] == "+821012345678"
    stored = [i for i in scan_all(PROFILES) if i["sk"]["S"] == "PROFILE"]
    assert "email" not in stored[0]


@pytest.mark.parametrize("if_match", ['"1"', 'W/"1"', "1"])
def test_if_match_accepts_strong_weak_and_bare_versions(profile_api: Invoker, if_match: str) -> None:
    # Given a profile at version 1
    create_profile(profile_api)

    # When the customer updates it with If-Match in this form
    response = profile_api(api_event("profile_update_me", headers={"If-Match": if_match}))

    # Then the update applies
    assert response.status == 200
    assert response.json()["version"] == 2


def test_a_second_post_me_is_409_profile_exists(profile_api: Invoker) -> None:
    # Given a customer who already has a profile
    first = create_profile(profile_api).json()

    # When they POST /me again
    response = profile_api(api_event("profile_create_me", body={"display_name": "Someone else"}))

    # Then it is refused and the first profile is untouched
    assert response.status == 409
    assert response.error["code"] == "profile_exists"
    assert len(scan_all(PROFILES)) == 2
    assert profile_api(api_event("profile_get_me")).json() == first


def test_get_me_without_a_profile_is_404_profile_not_found(profile_api: Invoker) -> None:
    # Given a customer who never created a profile
    event = api_event("profile_get_me", sub=OTHER_CUSTOMER)

    # When they GET /me
    response = profile_api(event)

    # Then there is nothing to show
    assert response.status == 404
    assert response.error["code"] == "profile_not_found"


def test_patch_me_without_a_profile_is_404_profile_not_found(profile_api: Invoker) -> None:
    # Given a customer who never created a profile
    event = api_event("profile_update_me", sub=OTHER_CUSTOMER)

    # When they PATCH /me
    response = profile_api(event)

    # Then there is nothing to update, and nothing is written
    assert response.status == 404
    assert response.error["code"] == "profile_not_found"
    assert scan_all(PROFILES) == []


def test_patch_with_a_stale_if_match_is_412_and_changes_nothing(profile_api: Invoker) -> None:
    # Given a profile that was updated to version 2
    create_profile(profile_api)
    current = profile_api(api_event("profile_update_me")).json()
    assert current["version"] == 2

    # When the customer sends another update still holding version 1
    response = profile_api(api_event("profile_update_me", body={"display_name": "Stale"}))

    # Then it is refused and the profile stays at version 2
    assert response.status == 412
    assert response.error["code"] == "precondition_failed"
    assert profile_api(api_event("profile_get_me")).json() == current


@pytest.mark.parametrize("if_match", ["abc", '"v1"', '"1.5"', '"-1"', '"' + "9" * 13 + '"'])
def test_a_bad_if_match_is_400_invalid_if_match(profile_api: Invoker, if_match: str) -> None:
    # Given a customer with a profile
    create_profile(profile_api)

    # When they PATCH with an If-Match that is not a version
    response = profile_api(api_event("profile_update_me", headers={"If-Match": if_match}))

    # Then the request is malformed and nothing changes
    assert response.status == 400
    assert response.error["code"] == "invalid_if_match"
    assert profile_api(api_event("profile_get_me")).json()["version"] == 1


# --- staff reads -------------------------------------------------------------------------------


# How API Gateway (and Cognito) may render ``cognito:groups`` for a caller in group {g}.
GROUP_ENCODINGS = {
    "single": "{g}",
    "bracketed": "[{g}]",
    "bracketed-list": "[customer {g}]",
    "comma-list": "customer,{g}",
    "json-list": '["customer", "{g}"]',
}


@pytest.mark.parametrize("role", ["agent", "admin"])
@pytest.mark.parametrize("encoding", GROUP_ENCODINGS)
def test_agents_and_admins_read_a_customer_by_id_in_every_groups_encoding(
    profile_api: Invoker, encoding: str, role: str
) -> None:
    # Given a customer with a profile, and a staff member whose groups claim is encoded this way
    created = create_profile(profile_api).json()
    groups = GROUP_ENCODINGS[encoding].replace("{g}", role)

    # When the staff member reads it by id
    response = get_customer(profile_api, created["customer_id"], groups=groups)

    # Then they get the profile with its ETag
    assert response.status == 200
    assert response.header("ETag") == '"1"'
    assert response.json() == created


@pytest.mark.parametrize("whose", ["their own", "another customer's"])
def test_a_customer_may_not_read_profiles_by_id(profile_api: Invoker, whose: str) -> None:
    # Given two customers with profiles
    own = create_profile(profile_api, sub=CUSTOMER).json()["customer_id"]
    other = create_profile(profile_api, sub=OTHER_CUSTOMER).json()["customer_id"]
    customer_id = own if whose == "their own" else other

    # When a customer calls the staff route GET /customers/{id}
    response = get_customer(profile_api, customer_id, groups="customer", sub=CUSTOMER)

    # Then their role may not call it, even for their own id
    assert response.status == 403
    assert response.error["code"] == "forbidden"
    assert customer_id not in response.body


@pytest.mark.parametrize("groups", [None, "", "[]", "vip", "Customers"])
def test_a_caller_without_a_known_role_is_403(profile_api: Invoker, groups: str | None) -> None:
    # Given an authenticated caller without a known role
    event = api_event("profile_get_me")
    claims = event["requestContext"]["authorizer"]["claims"]
    if groups is None:
        del claims["cognito:groups"]
    else:
        claims["cognito:groups"] = groups

    # When they call a customer route
    response = profile_api(event)

    # Then the role check refuses them
    assert response.status == 403
    assert response.error["code"] == "forbidden"


def test_staff_reading_an_unknown_id_get_404_profile_not_found(profile_api: Invoker) -> None:
    # Given no profile with this (well-formed) id
    customer_id = UNKNOWN_ID

    # When staff read it
    response = get_customer(profile_api, customer_id)

    # Then it is not found
    assert response.status == 404
    assert response.error["code"] == "profile_not_found"


@pytest.mark.parametrize(
    "customer_id",
    [
        "cus_123",
        "01JK2M3N4P5Q6R7S8T9V0W1X2Y",
        "cus_01jk2m3n4p5q6r7s8t9v0w1x2y",
        "usr_01JK2M3N4P5Q6R7S8T9V0W1X2Y",
    ],
)
def test_a_malformed_customer_id_is_422_validation_error(profile_api: Invoker, customer_id: str) -> None:
    # Given an id that is not a customer id
    # When staff read it
    response = get_customer(profile_api, customer_id)

    # Then the path parameter is named as the problem
    assert response.status == 422
    error = response.error
    assert error["code"] == "validation_error"
    assert [d["loc"] for d in error["details"]] == [["path", "customer_id"]]


# --- authentication and routing ----------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["profile_create_me", "profile_get_me", "profile_update_me", "profile_get_customer"]
)
def test_a_request_without_claims_is_401_unauthorized(profile_api: Invoker, name: str) -> None:
    # Given a request that reached the function with no authorizer claims
    event = api_event(name, claims=None)

    # When it is handled
    response = profile_api(event)

    # Then the caller is unauthenticated and nothing is written
    assert response.status == 401
    assert response.error["code"] == "unauthorized"
    assert scan_all(PROFILES) == []


def test_claims_without_a_subject_are_401_invalid_token(profile_api: Invoker) -> None:
    # Given claims that carry groups but no subject
    event = api_event("profile_get_me", claims={"cognito:groups": "customer", "token_use": "access"})

    # When the request is handled
    response = profile_api(event)

    # Then the token is not accepted
    assert response.status == 401
    assert response.error["code"] == "invalid_token"


@pytest.mark.parametrize(
    ("method", "resource"),
    [("POST", "/me/export"), ("PUT", "/me"), ("GET", "/nowhere"), ("GET", "/admin/{proxy+}")],
)
def test_a_route_not_declared_is_404_route_not_found(
    profile_api: Invoker, method: str, resource: str
) -> None:
    # Given a request for a method and resource the profile function does not declare
    event = api_event(
        "profile_get_me", method=method, resource=resource, path=resource.split("{", maxsplit=1)[0]
    )

    # When it is handled
    response = profile_api(event)

    # Then no route matches
    assert response.status == 404
    assert response.error["code"] == "route_not_found"


# --- the request body --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "application/xml"]
)
def test_a_body_that_is_not_json_is_415(profile_api: Invoker, content_type: str) -> None:
    # Given a POST /me whose body is declared as something other than JSON
    event = api_event("profile_create_me", headers={"Content-Type": content_type})

    # When it is handled
    response = profile_api(event)

    # Then the media type is refused and nothing is written
    assert response.status == 415
    assert response.error["code"] == "unsupported_media_type"
    assert scan_all(PROFILES) == []


def test_json_with_a_charset_parameter_is_accepted(profile_api: Invoker) -> None:
    # Given a POST /me with Content-Type "application/json; charset=utf-8"
    event = api_event("profile_create_me", headers={"content-type": "application/json; charset=UTF-8"})

    # When it is handled
    response = profile_api(event)

    # Then the profile is created
    assert response.status == 201


def test_a_body_above_the_routes_limit_is_413(profile_api: Invoker) -> None:
    # Given a body one byte over the route's limit
    limit = ME_CREATE.max_body_bytes
    body = json.dumps({"display_name": "x"})
    body = body.replace('"x"', '"' + "x" * (limit - len(body) + 2) + '"')
    assert len(body.encode()) == limit + 1

    # When it is posted
    response = profile_api(api_event("profile_create_me", body=body))

    # Then it is too large, whatever it contains
    assert response.status == 413
    assert response.error["code"] == "payload_too_large"
    assert scan_all(PROFILES) == []


def test_the_body_limit_counts_bytes_not_characters(profile_api: Invoker) -> None:
    # Given a body under the limit in characters but over it in UTF-8 bytes
    limit = ME_CREATE.max_body_bytes
    body = json.dumps({"display_name": "김" * (limit // 2)}, ensure_ascii=False)
    assert len(body) < limit < len(body.encode())

    # When it is posted
    response = profile_api(api_event("profile_create_me", body=body))

    # Then it is too large
    assert response.status == 413


def test_a_body_exactly_at_the_limit_passes_the_size_check(profile_api: Invoker) -> None:
    # Given a body of exactly the route's limit (an over-long display name)
    limit = ME_CREATE.max_body_bytes
    body = json.dumps({"display_name": "x"})
    body = body.replace('"x"', '"' + "x" * (limit - len(body) + 1) + '"')
    assert len(body.encode()) == limit

    # When it is posted
    response = profile_api(api_event("profile_create_me", body=body))

    # Then the size is fine and the schema is what refuses it
    assert response.status == 422
    assert response.error["details"][0]["loc"] == ["body", "display_name"]


def test_a_base64_body_is_measured_decoded(profile_api: Invoker) -> None:
    # Given a base64-encoded body whose decoded size is over the limit
    raw = json.dumps({"display_name": "x" * ME_CREATE.max_body_bytes}).encode()
    event = api_event("profile_create_me", body=base64.b64encode(raw).decode(), base64=True)

    # When it is posted
    response = profile_api(event)

    # Then it is too large
    assert response.status == 413


def test_a_body_that_is_not_valid_base64_is_400(profile_api: Invoker) -> None:
    # Given a body flagged as base64 that is not
    event = api_event("profile_create_me", body="not base64!", base64=True)

    # When it is posted
    response = profile_api(event)

    # Then it is malformed
    assert response.status == 400
    assert response.error["code"] == "malformed_body"


def test_a_base64_encoded_json_body_is_accepted(profile_api: Invoker) -> None:
    # Given a valid JSON body that API Gateway passed base64-encoded
    raw = json.dumps({"display_name": "Kim"}).encode()
    event = api_event("profile_create_me", body=base64.b64encode(raw).decode(), base64=True)

    # When it is posted
    response = profile_api(event)

    # Then the profile is created from the decoded body
    assert response.status == 201
    assert response.json()["display_name"] == "Kim"


@pytest.mark.parametrize(
    "body", ['{"display_name": "Kim"', "{'display_name': 'Kim'}", "display_name=Kim", "{,}"]
)
def test_malformed_json_is_400_malformed_json(profile_api: Invoker, body: str) -> None:
    # Given a body that is not JSON
    event = api_event("profile_create_me", body=body)

    # When it is posted
    response = profile_api(event)

    # Then it is malformed (not a schema problem), with one detail
    assert response.status == 400
    error = response.error
    assert error["code"] == "malformed_json"
    assert len(error["details"]) == 1
    assert scan_all(PROFILES) == []


def test_unknown_fields_and_wrong_types_are_422_with_a_detail_per_field(profile_api: Invoker) -> None:
    # Given a body with a wrong type, an invalid phone, an unknown time zone and an unknown field
    body = {"display_name": 42, "phone": "010-1234-5678", "time_zone": "Mars/Olympus", "nickname": "mj"}

    # When it is posted
    response = profile_api(api_event("profile_create_me", body=body))

    # Then each problem is listed with its location, type and message
    assert response.status == 422
    error = response.error
    assert error["code"] == "validation_error"
    details = {tuple(d["loc"]): d for d in error["details"]}
    assert set(details) == {
        ("body", "display_name"),
        ("body", "phone"),
        ("body", "time_zone"),
        ("body", "nickname"),
    }
    for detail in error["details"]:
        assert set(detail) == {"loc", "type", "msg"}
        assert detail["type"]
        assert detail["msg"]
    assert details[("body", "display_name")]["type"] == "string_type"
    assert details[("body", "nickname")]["type"] == "extra_forbidden"
    assert scan_all(PROFILES) == []


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({}, ["body"]),
        ({"display_name": None}, ["body"]),
        ({"version": 7}, ["body", "version"]),
        ({"email": "not-an-email"}, ["body", "email"]),
    ],
)
def test_an_invalid_patch_is_422_and_changes_nothing(
    profile_api: Invoker, body: object, loc: list[str]
) -> None:
    # Given a customer with a profile
    create_profile(profile_api)

    # When they PATCH /me with an invalid change
    response = profile_api(api_event("profile_update_me", body=body))

    # Then it is refused and the profile stays at version 1
    assert response.status == 422
    assert response.error["code"] == "validation_error"
    assert [d["loc"] for d in response.error["details"]] == [loc]
    assert profile_api(api_event("profile_get_me")).json()["version"] == 1


def test_a_post_without_a_body_is_422(profile_api: Invoker) -> None:
    # Given a POST /me with no body at all
    event = api_event("profile_create_me", body=None)

    # When it is handled
    response = profile_api(event)

    # Then the missing body is a validation error
    assert response.status == 422
    assert response.error["code"] == "validation_error"
    assert scan_all(PROFILES) == []


# --- failures that are not the client's --------------------------------------------------------


def test_when_the_table_is_unavailable_the_api_answers_503(
    profile_api: Invoker, tables: dict[str, str]
) -> None:
    # Given the profiles table is gone (deleted, or not yet created)
    boto3.client("dynamodb").delete_table(TableName=tables[PROFILES.id])

    # When a customer reads their profile
    response = profile_api(api_event("profile_get_me"))

    # Then the API says a dependency is unavailable, in the error envelope
    assert response.status == 503
    assert response.error["code"] == "dependency_unavailable"


def test_a_function_missing_its_table_variable_answers_500_configuration_error(
    profile_api: Invoker, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the function was deployed without its table's environment variable
    monkeypatch.delenv(PROFILES.env_var)

    # When a request arrives
    response = profile_api(api_event("profile_get_me"))

    # Then it is a configuration error, without naming the variable to the client
    assert response.status == 500
    assert response.error["code"] == "configuration_error"
    assert PROFILES.env_var not in response.body


# --- known bugs ---------------------------------------------------------------------------------


def test_deeply_nested_json_within_the_size_limit_is_400_malformed_json(profile_api: Invoker) -> None:
    # Given a small body (within the route's limit) of JSON arrays nested 4000 deep (Python's
    # parser gives up at 1000)
    body = "[" * 4000 + "]" * 4000
    assert len(body) < ME_CREATE.max_body_bytes

    # When it is posted
    response = profile_api(api_event("profile_create_me", body=body))

    # Then the client is told the body is unusable (no client input reaches the 500)
    assert response.status == 400
    assert response.error["code"] == "malformed_json"


@pytest.mark.parametrize(
    ("overrides", "status"),
    [
        ({"claims": None}, 401),
        ({"groups": "agent"}, 403),
        ({"body": {"display_name": "x" * 20_000}}, 413),
        ({"headers": {"Content-Type": "text/plain"}}, 415),
    ],
    ids=["401", "403", "413", "415"],
)
def test_every_error_carries_the_cors_headers_of_successful_responses(
    profile_api: Invoker, overrides: dict[str, Any], status: int
) -> None:
    # Given a browser request (with an Origin) that the route's guard refuses
    origin = {"Origin": "https://app.dangol.example"}
    headers = {**origin, **overrides.pop("headers", {})}
    event = api_event("profile_create_me", headers=headers, **overrides)
    # (a request the handler refuses carries CORS headers, for comparison)
    handler_error = profile_api(api_event("profile_create_me", headers=origin, body="{"))
    assert handler_error.status == 400
    assert handler_error.header("Access-Control-Allow-Origin") == "*"

    # When it is handled
    response = profile_api(event)

    # Then the error, too, may be read by the browser
    assert response.status == status
    assert response.header("Access-Control-Allow-Origin") == "*"

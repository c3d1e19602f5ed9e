"""Idempotency-Key on POST /me and PATCH /me, through the real Lambda entry point."""

from __future__ import annotations

import json
from typing import Any

import pytest

from services.profile.topology import PROFILES
from tests.integration.apigw import ApiResponse, Invoker, api_event
from tests.integration.conftest import scan_all

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish:UserWarning")

KEY = "5b0f3a8e-9c1d-4e2f-8a7b-6c5d4e3f2a1b"
OTHER_SUBJECT = "5d1e7a0c-8f2b-4c3d-a9e6-7b8c9d0e1f2a"


def create(api: Invoker, key: str | None = KEY, **overrides: Any) -> ApiResponse:
    return api(api_event("profile_create_me", headers={"Idempotency-Key": key}, **overrides))


def update(api: Invoker, key: str | None = KEY, **overrides: Any) -> ApiResponse:
    headers = {"Idempotency-Key": key, **overrides.pop("headers", {})}
    return api(api_event("profile_update_me", headers=headers, **overrides))


def idempotency_records() -> list[dict[str, Any]]:
    return [i for i in scan_all(PROFILES) if i["pk"]["S"].startswith("IDEMPOTENCY#")]


def business_items() -> list[dict[str, Any]]:
    return [i for i in scan_all(PROFILES) if not i["pk"]["S"].startswith("IDEMPOTENCY#")]


# --- replays -----------------------------------------------------------------------------------


def test_a_replayed_post_returns_the_first_response_byte_for_byte_and_writes_nothing(
    profile_api: Invoker,
) -> None:
    # Given a profile created with an Idempotency-Key
    first = create(profile_api)
    assert first.status == 201
    assert first.header("Idempotent-Replayed") is None
    stored = scan_all(PROFILES)

    # When the client retries the very same request
    replay = create(profile_api)

    # Then it gets the first response again, marked as a replay, and nothing more is written
    assert replay.status == 201
    assert replay.body == first.body
    assert replay.header("ETag") == '"1"'
    assert replay.header("Content-Type") == "application/json"
    assert replay.header("Idempotent-Replayed") == "true"
    assert scan_all(PROFILES) == stored
    assert len(business_items()) == 2


def test_a_replayed_patch_returns_the_first_response_even_though_the_version_moved_on(
    profile_api: Invoker,
) -> None:
    # Given a profile updated once with an Idempotency-Key (If-Match "1", now at version 2)
    create(profile_api, key=None)
    first = update(profile_api)
    assert first.status == 200
    stored = scan_all(PROFILES)

    # When the client retries the same PATCH (its If-Match "1" is stale by now)
    replay = update(profile_api)

    # Then it gets the first 200 again instead of a 412, and the version stays 2
    assert replay.status == 200
    assert replay.body == first.body
    assert replay.header("ETag") == '"2"'
    assert replay.header("Idempotent-Replayed") == "true"
    assert scan_all(PROFILES) == stored
    assert profile_api(api_event("profile_get_me")).json()["version"] == 2


def test_the_same_json_with_other_formatting_is_a_replay(profile_api: Invoker) -> None:
    # Given a profile created with a key
    body = {"display_name": "Kim", "locale": "en-US"}
    first = create(profile_api, body=json.dumps(body))

    # When the same JSON is resent with other key order and spacing
    replay = create(profile_api, body='{ "locale" : "en-US",\n  "display_name": "Kim" }')

    # Then it is the same request
    assert replay.status == 201
    assert replay.body == first.body
    assert replay.header("Idempotent-Replayed") == "true"


def test_the_idempotency_key_header_name_is_case_insensitive(profile_api: Invoker) -> None:
    # Given a profile created with "Idempotency-Key"
    first = create(profile_api)

    # When the retry spells the header "idempotency-key" (as HTTP/2 clients do)
    replay = profile_api(api_event("profile_create_me", headers={"idempotency-key": KEY}))

    # Then it is recognised as a replay
    assert replay.status == 201
    assert replay.header("Idempotent-Replayed") == "true"
    assert replay.body == first.body


def test_without_a_key_a_retry_is_a_new_request(profile_api: Invoker) -> None:
    # Given a profile created without an Idempotency-Key
    create(profile_api, key=None)

    # When the request is sent again without a key
    again = create(profile_api, key=None)

    # Then it is handled afresh (and refused: the profile exists), and no key was stored
    assert again.status == 409
    assert again.error["code"] == "profile_exists"
    assert idempotency_records() == []


# --- misuse ------------------------------------------------------------------------------------


def test_the_same_key_with_a_different_body_is_422_idempotency_key_reused(profile_api: Invoker) -> None:
    # Given a profile created with a key
    first = create(profile_api)
    stored = scan_all(PROFILES)

    # When the same key comes with a different body
    reused = create(profile_api, body={"display_name": "Somebody else"})

    # Then it is refused and nothing changes
    assert reused.status == 422
    assert reused.error["code"] == "idempotency_key_reused"
    assert reused.header("Idempotent-Replayed") is None
    assert scan_all(PROFILES) == stored
    assert profile_api(api_event("profile_get_me")).body == first.body


def test_a_patch_key_reused_with_a_different_body_is_422(profile_api: Invoker) -> None:
    # Given a profile updated with a key
    create(profile_api, key=None)
    assert update(profile_api).status == 200

    # When the same key comes with another change
    reused = update(profile_api, body={"display_name": "Other"}, headers={"If-Match": '"2"'})

    # Then it is refused and the version stays 2
    assert reused.status == 422
    assert reused.error["code"] == "idempotency_key_reused"
    assert profile_api(api_event("profile_get_me")).json()["version"] == 2


def test_keys_are_scoped_per_caller(profile_api: Invoker) -> None:
    # Given a customer who created a profile with a key
    mine = create(profile_api)

    # When another customer sends the same request with the same key
    theirs = create(profile_api, sub=OTHER_SUBJECT)

    # Then theirs is a new request that creates their own profile
    assert theirs.status == 201
    assert theirs.header("Idempotent-Replayed") is None
    assert theirs.json()["customer_id"] != mine.json()["customer_id"]
    assert len(business_items()) == 4
    assert len(idempotency_records()) == 2


def test_keys_are_scoped_per_route(profile_api: Invoker) -> None:
    # Given a profile created with a key
    create(profile_api)

    # When the same key is used for a PATCH
    patched = update(profile_api)

    # Then the PATCH is its own request
    assert patched.status == 200
    assert patched.header("Idempotent-Replayed") is None
    assert patched.json()["version"] == 2


@pytest.mark.parametrize(
    "key",
    ["k" * 256, "k" * 300, "has space", "tab\tkey", "키"],
    ids=["256-chars", "300-chars", "space", "tab", "non-ascii"],
)
def test_an_invalid_key_is_400_invalid_idempotency_key(profile_api: Invoker, key: str) -> None:
    # Given a POST /me whose Idempotency-Key is not 1-255 visible ASCII characters
    event = api_event("profile_create_me", headers={"Idempotency-Key": key})

    # When it is handled
    response = profile_api(event)

    # Then it is refused before anything is written
    assert response.status == 400
    assert response.error["code"] == "invalid_idempotency_key"
    assert scan_all(PROFILES) == []


def test_a_key_of_255_visible_characters_is_accepted(profile_api: Invoker) -> None:
    # Given the longest key allowed, using every kind of visible ASCII character
    key = ("!~azAZ09#/" * 26)[:255]

    # When it is used twice
    first = create(profile_api, key=key)
    replay = create(profile_api, key=key)

    # Then the second is a replay of the first
    assert first.status == 201
    assert replay.header("Idempotent-Replayed") == "true"
    assert replay.body == first.body


# --- failures release the key ------------------------------------------------------------------


def test_a_failed_post_releases_its_key(profile_api: Invoker) -> None:
    # Given a customer who already has a profile
    create(profile_api, key=None)

    # When they POST /me with a key and it fails with 409
    failed = create(profile_api)

    # Then the key is not kept: no record, and a retry with another body is handled afresh
    assert failed.status == 409
    assert failed.error["code"] == "profile_exists"
    assert idempotency_records() == []
    retry = create(profile_api, body={"display_name": "Another try"})
    assert retry.status == 409
    assert retry.error["code"] == "profile_exists"


def test_a_patch_that_failed_with_412_can_be_retried_with_the_same_key(profile_api: Invoker) -> None:
    # Given a PATCH with a key that failed because If-Match was stale
    create(profile_api, key=None)
    failed = update(profile_api, headers={"If-Match": '"7"'})
    assert failed.status == 412

    # When the client retries with the same key and body and the right version
    retry = update(profile_api, headers={"If-Match": '"1"'})

    # Then the retry is executed, not answered from the failure
    assert retry.status == 200
    assert retry.header("Idempotent-Replayed") is None
    assert retry.json()["version"] == 2


def test_a_request_refused_by_validation_does_not_take_the_key(profile_api: Invoker) -> None:
    # Given a POST with a key whose body is invalid
    invalid = create(profile_api, body={"display_name": ""})
    assert invalid.status == 422

    # When the client fixes the body and retries with the same key
    fixed = create(profile_api)

    # Then it is created (not 422 idempotency_key_reused)
    assert fixed.status == 201
    assert fixed.header("Idempotent-Replayed") is None


def test_a_bad_if_match_with_a_key_releases_it(profile_api: Invoker) -> None:
    # Given a PATCH with a key and a malformed If-Match (an error raised inside the route)
    create(profile_api, key=None)
    bad = update(profile_api, headers={"If-Match": "version-one"})
    assert bad.status == 400

    # When it is retried with the same key and a valid If-Match
    retry = update(profile_api, headers={"If-Match": '"1"'})

    # Then it runs
    assert retry.status == 200
    assert retry.header("Idempotent-Replayed") is None

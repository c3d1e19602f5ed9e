"""The API's pure helpers: If-Match versions and the one error body."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.api import (
    CORS_MAX_AGE_S,
    CORS_ORIGIN_ENV,
    CORS_REQUEST_HEADERS,
    error_response,
    etag,
    make_resolver,
    parse_if_match,
)
from shared.errors import BadRequest, Conflict, DangolError, NotFound, Throttled, Unprocessable
from tests.unit.fakes import PROPERTIES


@pytest.mark.parametrize("header", ['"3"', 'W/"3"', "3", ' "3" '])
def test_if_match_accepts_strong_weak_and_bare_versions(header: str) -> None:
    # Given an If-Match header for version 3 in any accepted form
    # When it is parsed
    version = parse_if_match(header)

    # Then it is 3
    assert version == 3


@pytest.mark.parametrize("header", [None, "", "   "])
def test_an_absent_if_match_means_no_expected_version(header: str | None) -> None:
    # Given no If-Match header
    # When it is parsed
    version = parse_if_match(header)

    # Then there is no expected version
    assert version is None


@pytest.mark.parametrize("header", ["abc", '"abc"', '"-1"', '"3.0"', "*", '"1234567890123"', 'W/""'])
def test_a_malformed_if_match_is_a_bad_request(header: str) -> None:
    # Given an If-Match that is not a version
    # When it is parsed
    # Then it is a 400 invalid_if_match
    with pytest.raises(BadRequest) as raised:
        parse_if_match(header)
    assert raised.value.code == "invalid_if_match"


def test_an_if_match_with_a_superscript_digit_is_a_bad_request() -> None:
    # Given an If-Match whose "digit" is a superscript two (a Latin-1 character)
    header = '"²"'

    # When it is parsed
    # Then it is a 400 invalid_if_match like any other malformed version
    with pytest.raises(BadRequest):
        parse_if_match(header)


@PROPERTIES
@given(version=st.integers(min_value=0, max_value=10**12 - 1))
def test_the_etag_of_a_version_parses_back_to_that_version(version: int) -> None:
    # Given the ETag of a version, as a client sends it back (strong or weak)
    tag = etag(version)

    # When it is parsed as If-Match
    # Then it is that version
    assert parse_if_match(tag) == version
    assert parse_if_match(f"W/{tag}") == version


@pytest.mark.parametrize(
    "error",
    [
        NotFound("No profile exists.", code="profile_not_found"),
        Unprocessable(details=[{"loc": ["body", "email"], "type": "string_pattern_mismatch", "msg": "bad"}]),
        Conflict(),
        DangolError(),
    ],
    ids=["not found", "unprocessable", "conflict", "internal"],
)
def test_an_error_renders_as_the_one_error_body(error: DangolError) -> None:
    # Given an error of ours
    # When it is rendered
    response = error_response(error)

    # Then the status is the error's, and the JSON body is {"error": {code, message, details}}
    assert response.status_code == error.status
    assert response.headers["Content-Type"] == "application/json"
    assert json.loads(response.body) == {
        "error": {"code": error.code, "message": error.message, "details": error.details}
    }


def test_an_errors_headers_are_sent_with_it() -> None:
    # Given a throttling error (it tells the client when to retry)
    error = Throttled(retry_after_s=7)

    # When it is rendered
    response = error_response(error)

    # Then the Retry-After header is on the response
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "7"


def test_non_ascii_messages_are_sent_as_they_are() -> None:
    # Given an error message in Korean
    error = NotFound("프로필이 없습니다.")

    # When it is rendered
    response = error_response(error)

    # Then the body carries the text itself, not escapes
    assert "프로필이 없습니다." in response.body


@pytest.mark.parametrize("origin", ["https://app.dangol.example", "*"])
def test_a_functions_cors_answers_use_the_stages_origin_and_the_gateways_headers(
    monkeypatch: pytest.MonkeyPatch, origin: str
) -> None:
    # Given the stage's origin in the function's environment (as the stacks and the runtime set it)
    monkeypatch.setenv(CORS_ORIGIN_ENV, origin)
    # When a function's resolver is made
    from services.profile.topology import API, SERVICE

    cors = make_resolver(SERVICE, API)._cors
    assert cors is not None
    # Then, asked from the stage's web app, it answers with that origin and the preflight's headers
    answer = cors.to_dict(cors.allowed_origin("https://app.dangol.example"))
    assert answer["Access-Control-Allow-Origin"] == origin
    assert set(answer["Access-Control-Allow-Headers"].split(",")) >= set(CORS_REQUEST_HEADERS)
    assert answer["Access-Control-Max-Age"] == str(CORS_MAX_AGE_S)
    # And another site gets no origin from a stage that names one
    if origin != "*":
        assert cors.allowed_origin("https://evil.example") is None

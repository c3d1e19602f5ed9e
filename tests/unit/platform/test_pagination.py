"""Cursors are opaque, bound to their list, and tamper-proof; page sizes are bounded."""

from __future__ import annotations

import string
from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from shared.errors import BadRequest
from shared.pagination import (
    DEFAULT_PAGE_SIZE,
    MAX_CURSOR_CHARS,
    MAX_PAGE_SIZE,
    _b64,
    _sign,
    decode_cursor,
    encode_cursor,
    page_size,
)
from tests.unit.fakes import PROPERTIES

KEY = "cursor-signing-key-" + "x" * 20
SCOPE = "GET /customers?segment=vip"
URLSAFE = string.ascii_uppercase + string.ascii_lowercase + string.digits + "-_"  # base64url, in order

_last_keys = st.dictionaries(
    st.text(min_size=1, max_size=10),
    st.one_of(st.text(max_size=40), st.integers(min_value=-(2**63), max_value=2**63)),
    min_size=1,
    max_size=4,
)


def _rejection(cursor: str, *, scope: str = SCOPE, key: str = KEY) -> str | None:
    """The error code decoding the cursor fails with, or None if it is accepted."""
    try:
        decode_cursor(cursor, scope=scope, key=key)
    except BadRequest as exc:
        return exc.code
    return None


@PROPERTIES
@given(last_key=_last_keys)
def test_a_cursor_decodes_to_the_last_key_it_was_made_from(last_key: dict[str, Any]) -> None:
    # Given a cursor for a list's last evaluated key
    cursor = encode_cursor(last_key, scope=SCOPE, key=KEY)

    # When it comes back for the same list
    decoded = decode_cursor(cursor, scope=SCOPE, key=KEY)

    # Then it is that key
    assert decoded == last_key


def test_a_cursor_is_opaque() -> None:
    # Given a last key with readable values
    last_key = {"pk": "CUSTOMER#cus_1", "sk": "PROFILE"}

    # When it is encoded
    cursor = encode_cursor(last_key, scope=SCOPE, key=KEY)

    # Then the cursor is URL-safe text that does not show the key's values
    assert cursor is not None
    assert set(cursor) <= set(URLSAFE)
    assert "CUSTOMER" not in cursor
    assert "PROFILE" not in cursor


def test_a_cursor_from_one_list_is_rejected_by_another() -> None:
    # Given a cursor of one list
    cursor = encode_cursor({"pk": "CUSTOMER#1"}, scope="GET /customers?segment=vip", key=KEY)
    assert cursor is not None

    # When it is used with a list of other filters
    # Then it is an invalid cursor
    assert _rejection(cursor, scope="GET /customers?segment=new") == "invalid_cursor"


def test_an_invalid_cursor_is_a_400() -> None:
    # Given a cursor that was tampered with
    # When it is decoded
    # Then it is a 400 with the code invalid_cursor
    with pytest.raises(BadRequest) as raised:
        decode_cursor("tampered", scope=SCOPE, key=KEY)
    assert (raised.value.status, raised.value.code) == (400, "invalid_cursor")


def test_a_cursor_signed_with_another_key_is_rejected() -> None:
    # Given a cursor signed with another stage's key
    cursor = encode_cursor({"pk": "CUSTOMER#1"}, scope=SCOPE, key="another-key-" + "y" * 30)
    assert cursor is not None

    # When it is decoded with this stage's key
    # Then it is an invalid cursor
    assert _rejection(cursor) == "invalid_cursor"


@PROPERTIES
@given(last_key=_last_keys, data=st.data())
def test_changing_any_character_but_the_last_is_rejected(
    last_key: dict[str, Any], data: st.DataObject
) -> None:
    # Given a valid cursor
    cursor = encode_cursor(last_key, scope=SCOPE, key=KEY)
    assert cursor is not None

    # When one character (not the last: see the test below) is replaced by another
    position = data.draw(st.integers(min_value=0, max_value=len(cursor) - 2), label="position")
    replacement = data.draw(st.sampled_from(URLSAFE + "=!.~ %"), label="replacement")
    assume(replacement != cursor[position])
    tampered = cursor[:position] + replacement + cursor[position + 1 :]

    # Then the cursor is rejected
    assert _rejection(tampered) == "invalid_cursor"


def _cursor_with_padding_bits() -> str:
    cursor = encode_cursor({"pk": "CUSTOMER#1", "sk": "PROFILE"}, scope=SCOPE, key=KEY)
    assert cursor is not None
    assert len(cursor) % 4 != 0, "the final character must carry unused bits"
    return cursor


def test_changing_the_unused_bits_of_the_final_character_is_rejected() -> None:
    # Given a valid cursor whose last base64 character carries unused padding bits
    cursor = _cursor_with_padding_bits()

    # When only those unused bits of the final character are changed
    tampered = cursor[:-1] + URLSAFE[URLSAFE.index(cursor[-1]) ^ 1]

    # Then the changed cursor is rejected, like any other change
    assert tampered != cursor
    assert _rejection(tampered) == "invalid_cursor"


def test_replacing_a_url_safe_character_with_its_standard_base64_twin_is_rejected() -> None:
    # Given a valid cursor containing '-' or '_'
    cursors = (encode_cursor({"pk": f"CUSTOMER#{i}"}, scope=SCOPE, key=KEY) or "" for i in range(500))
    cursor = next(c for c in cursors if set(c[:-1]) & {"-", "_"})
    position = next(i for i, ch in enumerate(cursor) if ch in "-_")

    # When that character is replaced by its standard-alphabet twin ('+' or '/')
    tampered = cursor[:position] + {"-": "+", "_": "/"}[cursor[position]] + cursor[position + 1 :]

    # Then the changed cursor is rejected
    assert _rejection(tampered) == "invalid_cursor"


def _signed(payload: bytes) -> str:
    return _b64(_sign(KEY, SCOPE, payload) + payload)


@pytest.mark.parametrize(
    "cursor",
    [
        pytest.param("not a cursor!", id="not base64"),
        pytest.param("AAAA", id="shorter than a signature"),
        pytest.param("A" * 43, id="zero signature and payload"),
        pytest.param("A" * (MAX_CURSOR_CHARS + 1), id="overlong"),
        pytest.param(_signed(b"[1,2]"), id="signed JSON list"),
        pytest.param(_signed(b'"pk"'), id="signed JSON string"),
        pytest.param(_signed(b"42"), id="signed JSON number"),
        pytest.param(_signed(b"null"), id="signed JSON null"),
        pytest.param(_signed(b"{not json"), id="signed garbage"),
        pytest.param(_signed(b"\xff\xfe"), id="signed non-UTF-8"),
    ],
)
def test_garbage_overlong_and_non_object_cursors_are_rejected(cursor: str) -> None:
    # Given a cursor that is garbage, too long, or a correctly signed non-object
    # When it is decoded
    # Then it is an invalid cursor
    assert _rejection(cursor) == "invalid_cursor"


def test_a_correctly_signed_object_is_accepted() -> None:
    # Given a payload signed the way the module signs (the counterpart of the non-object cases)
    cursor = _signed(b'{"pk":"CUSTOMER#1"}')

    # When it is decoded
    decoded = decode_cursor(cursor, scope=SCOPE, key=KEY)

    # Then it is the object
    assert decoded == {"pk": "CUSTOMER#1"}


@pytest.mark.parametrize("cursor", [None, ""])
def test_no_cursor_means_the_first_page(cursor: str | None) -> None:
    # Given no cursor (first request)
    # When it is decoded
    decoded = decode_cursor(cursor, scope=SCOPE, key=KEY)

    # Then there is no start key
    assert decoded is None


@pytest.mark.parametrize("last_key", [None, {}])
def test_no_last_key_means_no_next_cursor(last_key: dict[str, Any] | None) -> None:
    # Given the store returned no last evaluated key (the last page)
    # When a cursor is made
    cursor = encode_cursor(last_key, scope=SCOPE, key=KEY)

    # Then there is no next cursor
    assert cursor is None


def test_page_size_defaults_when_no_limit_is_given() -> None:
    # Given no limit
    # When the page size is chosen
    size = page_size(None)

    # Then it is the default
    assert size == DEFAULT_PAGE_SIZE == 25


@PROPERTIES
@given(limit=st.integers(min_value=1, max_value=MAX_PAGE_SIZE))
def test_a_limit_within_bounds_is_the_page_size(limit: int) -> None:
    # Given a limit from 1 to 100
    # When the page size is chosen
    size = page_size(limit)

    # Then it is that limit
    assert size == limit


@PROPERTIES
@given(limit=st.integers(max_value=0) | st.integers(min_value=MAX_PAGE_SIZE + 1))
def test_a_limit_out_of_bounds_is_a_bad_request(limit: int) -> None:
    # Given a limit below 1 or above 100
    # When the page size is chosen
    # Then it is a 400 invalid_limit
    with pytest.raises(BadRequest) as raised:
        page_size(limit)
    assert raised.value.code == "invalid_limit"

"""Opaque, tamper-checked cursors for every list.

A cursor is the store's last evaluated key, JSON-encoded, bound to the list it
came from (its ``scope``: route and filters) and signed with HMAC-SHA256. A
client cannot read, forge or move a cursor to another list: any change is a
400 ``invalid_cursor``. Page sizes are capped at ``MAX_PAGE_SIZE``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from shared.errors import BadRequest

MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 25
MAX_CURSOR_CHARS = 2048
_SIG_BYTES = 16

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """A page of a list; pass ``next_cursor`` back as ``cursor`` for the next one."""

    model_config = ConfigDict(frozen=True)

    items: list[T]
    next_cursor: str | None = Field(default=None, description="Opaque; absent on the last page.")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign(key: str, scope: str, payload: bytes) -> bytes:
    return hmac.new(key.encode(), scope.encode() + b"\x00" + payload, hashlib.sha256).digest()[:_SIG_BYTES]


def encode_cursor(last_key: Mapping[str, Any] | None, *, scope: str, key: str) -> str | None:
    if not last_key:
        return None
    payload = json.dumps(dict(last_key), separators=(",", ":"), sort_keys=True, default=_jsonable).encode()
    return _b64(_sign(key, scope, payload) + payload)


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else str(value)
    raise TypeError(f"cursor keys hold strings and numbers, not {type(value).__name__}")


def decode_cursor(cursor: str | None, *, scope: str, key: str) -> dict[str, Any] | None:
    if cursor is None or cursor == "":
        return None
    invalid = BadRequest("The cursor is not valid for this list.", code="invalid_cursor")
    if len(cursor) > MAX_CURSOR_CHARS:
        raise invalid
    try:
        raw = _unb64(cursor)
    except (binascii.Error, ValueError):
        raise invalid from None
    if _b64(raw) != cursor:  # one canonical spelling: no alias alphabets or stray padding bits
        raise invalid
    sig, payload = raw[:_SIG_BYTES], raw[_SIG_BYTES:]
    if len(sig) != _SIG_BYTES or not hmac.compare_digest(sig, _sign(key, scope, payload)):
        raise invalid
    try:
        decoded = json.loads(payload)
    except ValueError:
        raise invalid from None
    if not isinstance(decoded, dict):
        raise invalid
    return decoded


def page_size(limit: int | None) -> int:
    if limit is None:
        return DEFAULT_PAGE_SIZE
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise BadRequest(f"limit must be between 1 and {MAX_PAGE_SIZE}.", code="invalid_limit")
    return limit


def resume_after(cursor: str | None, *, scope: str, key: str) -> str | None:
    """For lists that resume after a sort key: the key in a cursor this very list signed (None on
    the first page); 400 ``invalid_cursor`` for anything else."""
    start = decode_cursor(cursor, scope=scope, key=key)
    after = start.get("after") if start else None
    if start is not None and not isinstance(after, str):
        raise BadRequest("The cursor is not valid for this list.", code="invalid_cursor")
    return after


def cursor_after(last: str | None, *, scope: str, key: str) -> str | None:
    """The next page's cursor for such a list: resume after ``last`` (None: the list ended)."""
    return encode_cursor({"after": last} if last else None, scope=scope, key=key)

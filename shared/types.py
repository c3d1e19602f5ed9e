"""Field types every service's API models share (domain-free)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field

MAX_OFFSET = timedelta(hours=14)  # UTC-12 .. UTC+14 are the offsets in use
_ISO_WITH_OFFSET = re.compile(r"^\d{4}-\d\d-\d\d[T ]\d\d:\d\d(:\d\d(\.\d{1,6})?)?(Z|z|[+-]\d\d:?\d\d)$")


def _iso_text_with_offset(value: Any) -> Any:
    # pydantic would read a number (or a numeric string) as a Unix time, in UTC: refuse it.
    # (A datetime comes from our own code, never from JSON: its offset is checked after.)
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not _ISO_WITH_OFFSET.fullmatch(value):
        raise ValueError("must be an ISO 8601 timestamp with its UTC offset, like 2025-03-14T08:10:00+09:00")
    return value


def _real_offset(value: datetime) -> datetime:
    offset = value.utcoffset()
    if offset is None or abs(offset) > MAX_OFFSET:
        raise ValueError("must carry a UTC offset between -14:00 and +14:00")
    return value


Timestamp = Annotated[
    datetime,
    BeforeValidator(_iso_text_with_offset),
    AfterValidator(_real_offset),
    Field(description="ISO 8601 with its UTC offset", examples=["2025-03-14T08:10:00+09:00"]),
]
"""An instant as clients send it: ISO 8601 text with its UTC offset (never a bare number)."""

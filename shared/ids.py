"""Sortable, unguessable identifiers (ULID layout: 48-bit time, 80 random bits)."""

from __future__ import annotations

import os
import re
import time

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32
ULID_PATTERN = "[0-9A-HJKMNP-TV-Z]{26}"


def ulid(now_ms: int | None = None) -> str:
    value = ((now_ms if now_ms is not None else time.time_ns() // 1_000_000) << 80) | int.from_bytes(
        os.urandom(10), "big"
    )
    out = []
    for _ in range(26):
        out.append(_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(out))


def prefixed_pattern(prefix: str) -> str:
    return f"^{re.escape(prefix)}_{ULID_PATTERN}$"


def new_id(prefix: str) -> str:
    return f"{prefix}_{ulid()}"

"""What every campaigns function may need of a customer's wall clock and name, without the
template engine: python-liquid is imported by the functions that render (the sender, the
templates' routes), never at the cold start of the planner, the releaser or the API."""

from __future__ import annotations

import datetime as dt
import unicodedata

NIGHT = (dt.time(21, 0), dt.time(8, 0))  # Korea's night for advertisements, local time


def in_night(local: dt.time) -> bool:
    start, end = NIGHT
    return local >= start or local < end


def first_name(name: str | None) -> str | None:
    """How a message addresses someone: a Korean name without spaces loses its one-syllable family
    name (김민지 -> 민지); a name with spaces is its given name (the last part of a Korean one,
    the first of any other)."""
    if not name or not name.strip():
        return None
    parts = name.split()
    hangul = all(unicodedata.name(c, "").startswith("HANGUL") for c in "".join(parts))
    if len(parts) > 1:
        return parts[-1] if hangul else parts[0]
    if hangul and 3 <= len(name) <= 4:
        return name[1:]
    return name

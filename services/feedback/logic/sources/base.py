"""What every source's adapter promises, and the pieces they share.

A **webhook** source (X, Meta) pushes deliveries: ``verify`` checks the delivery's signature and
its replay window before anything is read, ``challenge`` answers the source's subscription
handshake, ``parse`` reads the mentions out of a verified body. A **polled** source (Naver, the app
stores) is asked: ``request`` says what to GET from where the last poll stopped (its cursor),
``parse`` reads the answer and says where the next poll starts.

Rules every adapter keeps:

- Pure: no network, no AWS, no clock of its own (``now`` is passed in).
- Whole-delivery problems are errors with a machine-readable code (``shared.errors``):
  ``webhook_unsigned``, ``webhook_bad_signature``, ``webhook_stale`` and
  ``webhook_bad_verify_token`` are 401; ``malformed_payload`` and ``malformed_challenge`` are 400;
  ``webhook_not_configured`` (our secret is empty) is 503.
- One item that cannot be read is a ``Failure`` (its code and its index or external id, never its
  text); the rest of the batch goes on. Items that are not mentions at all (likes, follows, the
  brand's own posts, edits) are only counted as ``skipped``.
- The replay window is checked against the event times *in the body* (neither X nor Meta sends a
  timestamp header): the latest of them must lie within ``REPLAY_WINDOW`` of ``now``, either side,
  ends included; a body with no event time is stale. The signature covers the body, so the times
  cannot be moved; a replay inside the window is the intake's to refuse (it claims each delivery).
- Text longer than ``MAX_TEXT`` is cut at a character boundary rather than refused.
- Nothing here logs, and ``Parsed``/``Polled``/``PollRequest`` print no text and no credentials.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import unicodedata
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, ParamSpec

from pydantic import ValidationError

from services.feedback.models.intake import Failure
from services.feedback.models.mention import EXTERNAL_ID, HANDLE, MAX_TEXT, Mention, Source
from shared.errors import BadRequest, ServiceUnavailable, Unauthorized

REPLAY_WINDOW = timedelta(minutes=5)
_P = ParamSpec("_P")

# Why one item of a batch was not taken (a ``Failure``'s code; never an HTTP error).
MALFORMED_ITEM = "malformed_item"  # not the shape the source documents (no id, no time, bad type)
MISSING_TEXT = "missing_text"  # a comment, post or review with no words in it
UNSUPPORTED_EVENT = "unsupported_event"  # a body or item of a kind no adapter reads
NEEDS_FETCH = "needs_fetch"  # the source told us where the mention is, not what it says (Instagram @mentions)
FAILURE_CODES = frozenset({MALFORMED_ITEM, MISSING_TEXT, UNSUPPORTED_EVENT, NEEDS_FETCH})

_EXTERNAL_ID = re.compile(EXTERNAL_ID)
_HANDLE = re.compile(HANDLE)
_DIGITS = re.compile(r"^[0-9]{1,20}$")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS_THRESHOLD = 100_000_000_000  # an epoch this large is in milliseconds (year 5138 in seconds)
_READING_ERRORS = (ValueError, TypeError, KeyError, AttributeError, OverflowError, OSError)


# -- what an adapter hands over ---------------------------------------------------------------------


@dataclass(frozen=True, repr=False)
class Parsed:
    """What a webhook delivery held: its mentions, the items that could not be read, and how many
    items were not mentions at all. Its repr counts the mentions and never prints their text."""

    mentions: tuple[Mention, ...] = ()
    failures: tuple[Failure, ...] = ()
    skipped: int = 0

    def __repr__(self) -> str:
        name, failures = type(self).__name__, list(self.failures)
        return f"{name}(mentions={len(self.mentions)}, failures={failures!r}, skipped={self.skipped})"


@dataclass(frozen=True, repr=False)
class Polled(Parsed):
    """What one poll read, and the cursor the next poll starts from (``None``: nothing to keep)."""

    cursor: str | None = None

    def __repr__(self) -> str:
        return f"{super().__repr__()[:-1]}, cursor={self.cursor!r})"


@dataclass(frozen=True)
class PollRequest:
    """What to GET. The headers carry credentials and are left out of the repr."""

    url: str
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)
    params: Mapping[str, str | int] = field(default_factory=dict)


class SourceConfigError(ValueError):
    """A polled source's configuration lacks what the request needs (names the keys, never values)."""


class Unreadable(Exception):
    """Raised by an adapter's item reader: this item becomes a ``Failure`` with ``code``."""

    def __init__(self, code: str, external_id: str | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.external_id = external_id if external_id and _EXTERNAL_ID.fullmatch(external_id) else None


# -- the adapters' contracts ------------------------------------------------------------------------


class WebhookAdapter(ABC):
    """A source that pushes signed deliveries to ``/webhooks/{name}``."""

    name: ClassVar[str]  # the URL segment
    signature_header: ClassVar[str]  # lower case

    @abstractmethod
    def sign(self, body: bytes, secret: str) -> str:
        """The signature header's value the source sends for ``body``."""

    @abstractmethod
    def event_times(self, payload: Any) -> list[datetime]:
        """The event times the (signed) body carries, for the replay window."""

    @abstractmethod
    def challenge(
        self, query: Mapping[str, str], secret: str, verify_token: str | None
    ) -> dict[str, str] | str:
        """The answer to the source's subscription check: JSON (a dict) or plain text (a str)."""

    @abstractmethod
    def parse(self, body: bytes, now: datetime) -> Parsed:
        """The mentions of a verified body; ``malformed_payload`` (400) if it is not a JSON object."""

    def verify(self, headers: Mapping[str, str], body: bytes, secret: str, now: datetime) -> None:
        """Refuse an unsigned, forged or stale delivery (401 with its code); a body that is signed
        but not JSON is ``malformed_payload`` (400). Header names are matched in any case."""
        given = header(headers, self.signature_header)
        if not given:
            raise Unauthorized("The delivery is not signed.", code="webhook_unsigned")
        if not secret:
            raise ServiceUnavailable("The source's secret is not configured.", code="webhook_not_configured")
        expected = self.sign(body, secret)
        if not hmac.compare_digest(expected.encode(), given.encode("utf-8", "replace")):
            raise Unauthorized("The delivery's signature does not match.", code="webhook_bad_signature")
        check_window(self.event_times(load_json(body)), now)


class PolledAdapter(ABC):
    """A source the ``feedback-poll`` function reads on a schedule."""

    source: Source

    @abstractmethod
    def request(self, cursor: str | None, config: Mapping[str, Any]) -> PollRequest:
        """What to GET; ``config`` is the source's settings and credentials merged.
        ``SourceConfigError`` if a key it needs is missing."""

    @abstractmethod
    def parse(self, body: bytes, cursor: str | None, now: datetime) -> Polled:
        """The new mentions of an answer, and the next cursor (items the cursor has seen are skipped)."""


# -- signatures, the replay window, JSON ------------------------------------------------------------


def hmac_sha256(secret: str, message: bytes) -> bytes:
    return hmac.new(secret.encode(), message, hashlib.sha256).digest()


def sha256_base64(secret: str, message: bytes) -> str:
    """X's scheme: ``sha256=`` and the base64 of the HMAC."""
    return "sha256=" + base64.b64encode(hmac_sha256(secret, message)).decode()


def sha256_hex(secret: str, message: bytes) -> str:
    """Meta's scheme: ``sha256=`` and the lower-case hex of the HMAC."""
    return "sha256=" + hmac_sha256(secret, message).hex()


def header(headers: Mapping[str, str], name: str) -> str | None:
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return None


def check_window(times: Iterable[datetime], now: datetime, window: timedelta = REPLAY_WINDOW) -> None:
    """``webhook_stale`` (401) unless the latest of ``times`` is within ``window`` of ``now``."""
    if now.tzinfo is None:
        raise ValueError("now must be aware")
    latest = max(times, default=None)
    if latest is None or abs(latest - now) > window:
        raise Unauthorized("The delivery is outside the replay window.", code="webhook_stale")


def load_json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (ValueError, RecursionError):  # not UTF-8, not JSON, or nested beyond reading
        raise BadRequest("The body is not JSON.", code="malformed_payload") from None


def load_object(body: bytes) -> dict[str, Any]:
    payload = load_json(body)
    if not isinstance(payload, dict):
        raise BadRequest("The body is not a JSON object.", code="malformed_payload")
    return payload


def config_int(config: Mapping[str, Any], key: str, *, default: int, low: int, high: int) -> int:
    """A number from a polled source's configuration, held within ``[low, high]``."""
    value = config.get(key, default)
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool):
        raise SourceConfigError(f"{key} must be a whole number")
    return max(low, min(high, value))


# -- reading untrusted JSON -------------------------------------------------------------------------


def obj(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def seq(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def text_of(value: object) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def id_of(value: object) -> str | None:
    """A source's id as text, if it is a valid external id (ints are read as their digits)."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    return value if isinstance(value, str) and _EXTERNAL_ID.fullmatch(value) else None


def stable_id(value: object, prefix: str) -> str | None:
    """An external id for any non-empty string: itself if valid, else ``prefix`` + a digest of it."""
    if not isinstance(value, str) or not value.strip():
        return None
    value = value.strip()
    if _EXTERNAL_ID.fullmatch(value):
        return value
    return f"{prefix}:{hashlib.sha256(value.encode('utf-8', 'replace')).hexdigest()[:40]}"


def handle_of(value: object) -> str | None:
    """An account handle if the source gave one we can keep (``@`` dropped), else ``None``."""
    if not isinstance(value, str):
        return None
    value = value.removeprefix("@")
    return value if _HANDLE.fullmatch(value) else None


def count_of(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


def rating_of(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 5 else None


def epoch(value: object, *, unit: str = "auto") -> datetime | None:
    """An epoch number or digit string as an aware UTC datetime. ``unit``: ``s``, ``ms`` or
    ``auto`` (seconds, unless the number is too large to be seconds)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and _DIGITS.fullmatch(value):
        value = int(value)
    if not isinstance(value, int):
        return None
    millis = unit == "ms" or (unit == "auto" and value >= _MS_THRESHOLD)
    try:
        return _EPOCH + (timedelta(milliseconds=value) if millis else timedelta(seconds=value))
    except OverflowError:
        return None


def iso(value: object) -> datetime | None:
    """An ISO 8601 instant with its offset (``Z`` included), in UTC; ``None`` if absent or naive."""
    if not isinstance(value, str):
        return None
    try:
        found = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return found.astimezone(UTC) if found.tzinfo is not None else None


_SURROGATE = re.compile("[\ud800-\udfff]")  # a str holds only lone ones: pairs are decoded as one
_JOINERS = frozenset({"\u200d", "\ufe0e", "\ufe0f"})


def _joins(char: str) -> bool:
    """Whether ``char`` belongs to the character before it (a combining mark, a joiner, a variation
    selector or an emoji skin tone): a cut must not fall just before it."""
    return char in _JOINERS or unicodedata.combining(char) > 0 or "\U0001f3fb" <= char <= "\U0001f3ff"


def clean(text: str, limit: int = MAX_TEXT) -> str:
    """Text as a mention keeps it: stripped, lone surrogates replaced (they cannot be stored), and
    cut to ``limit`` characters without splitting a character from its marks or joiners."""
    text = _SURROGATE.sub("\ufffd", text).strip()
    if len(text) <= limit:
        return text
    cut = limit
    while cut > limit - 16 and (_joins(text[cut]) or text[cut - 1] == "\u200d"):
        cut -= 1
    return text[:cut].rstrip()


def mention(**fields: Any) -> Mention:
    """A ``Mention``, or ``Unreadable(malformed_item)``: the validation error (which would quote the
    text) never leaves this function."""
    try:
        return Mention(**fields)
    except ValidationError:
        external_id = fields.get("external_id")
        raise Unreadable(MALFORMED_ITEM, external_id if isinstance(external_id, str) else None) from None


# -- building a batch -------------------------------------------------------------------------------


@dataclass
class Batch:
    """Mentions, failures and skips as an adapter reads them; ``read`` takes one item."""

    mentions: list[Mention] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    skipped: int = 0
    _keys: set[str] = field(default_factory=set, repr=False)

    def fail(self, code: str, index: int | None = None, external_id: str | None = None) -> None:
        self.failures.append(Failure(code=code, index=index, external_id=external_id))

    def read(
        self, index: int, reader: Callable[_P, Mention | None], *args: _P.args, **kwargs: _P.kwargs
    ) -> None:
        """Run ``reader(*args, **kwargs)`` for item ``index``: a mention is kept (once per external
        id), ``None`` is a skip, ``Unreadable`` a failure with its code; any other reading error (a
        value of the wrong type deep inside the item) is ``malformed_item``."""
        try:
            found = reader(*args, **kwargs)
        except Unreadable as unreadable:
            self.fail(unreadable.code, index, unreadable.external_id)
        except _READING_ERRORS:
            self.fail(MALFORMED_ITEM, index)
        else:
            if found is None or found.key in self._keys:
                self.skipped += 1
            else:
                self._keys.add(found.key)
                self.mentions.append(found)

    def parsed(self) -> Parsed:
        return Parsed(tuple(self.mentions), tuple(self.failures), self.skipped)

    def polled(self, cursor: str | None) -> Polled:
        return Polled(tuple(self.mentions), tuple(self.failures), self.skipped, cursor)


# -- cursors ----------------------------------------------------------------------------------------


def _load_cursor(cursor: str | None) -> dict[str, Any]:
    """A cursor as written by ``encode``; an unreadable one reads as no cursor (the intake's
    once-per-key store still keeps a mention from being taken twice)."""
    if not cursor:
        return {}
    try:
        return obj(json.loads(cursor))
    except (ValueError, RecursionError):
        return {}


@dataclass(frozen=True)
class SeenIds:
    """A cursor for a source with no usable order (Naver: a day at best, cafés not even that):
    the ids of the newest ``KEEP`` items seen, newest first. Larger than any page, so an item still
    on the first page is always remembered."""

    ids: tuple[str, ...] = ()
    KEEP: ClassVar[int] = 500

    @classmethod
    def decode(cls, cursor: str | None) -> SeenIds:
        return cls(tuple(i for i in seq(_load_cursor(cursor).get("seen")) if isinstance(i, str)))

    def __contains__(self, external_id: object) -> bool:
        return external_id in self.ids

    def with_new(self, newest_first: Iterable[str]) -> SeenIds:
        return SeenIds(tuple(dict.fromkeys([*newest_first, *self.ids]))[: self.KEEP])

    def encode(self) -> str | None:
        return json.dumps({"seen": list(self.ids)}, separators=(",", ":")) if self.ids else None


@dataclass(frozen=True)
class Watermark:
    """A cursor for a source whose items carry a time (the app stores): the latest time seen and
    the ids seen at exactly that time. An item is new if it is later, or as late and not seen."""

    at: datetime | None = None
    ids: frozenset[str] = frozenset()

    @classmethod
    def decode(cls, cursor: str | None) -> Watermark:
        raw = _load_cursor(cursor)
        at = iso(raw.get("at"))
        return cls(at, frozenset(i for i in seq(raw.get("ids")) if isinstance(i, str))) if at else cls()

    def is_new(self, at: datetime, external_id: str) -> bool:
        return self.at is None or at > self.at or (at == self.at and external_id not in self.ids)

    def with_seen(self, seen: Iterable[tuple[datetime, str]]) -> Watermark:
        mark = self
        for at, external_id in seen:
            if mark.at is None or at > mark.at:
                mark = Watermark(at, frozenset({external_id}))
            elif at == mark.at:
                mark = Watermark(at, mark.ids | {external_id})
        return mark

    def encode(self) -> str | None:
        if self.at is None:
            return None
        return json.dumps(
            {"at": self.at.astimezone(UTC).isoformat(), "ids": sorted(self.ids)}, separators=(",", ":")
        )

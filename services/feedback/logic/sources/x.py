"""X: the Account Activity API's webhooks, and a filtered-stream relay (``/webhooks/x``).

Both are signed the same way: ``x-twitter-webhooks-signature: sha256=<base64 HMAC-SHA256 of the
raw body, keyed with the app's consumer secret>``. The CRC handshake (``GET ?crc_token=``) is
answered ``{"response_token": "sha256=<base64 HMAC-SHA256 of crc_token, same key>"}``.

Account Activity bodies: ``{"for_user_id", "tweet_create_events": [v1.1 tweets], ...}``. Each
tweet that is not the brand's own (``user.id_str == for_user_id``) and not a plain retweet (which
carries no words of its author) is a mention; every other event list (``favorite_events``,
``follow_events``, ``tweet_delete_events``, direct messages...) is counted as skipped. Event
times: each event's ``timestamp_ms`` (or ``created_timestamp``).

Filtered-stream relay bodies (X API v2): ``{"data": {"id", "text", "author_id", "created_at",
"referenced_tweets"?, "note_tweet"?}, "includes": {"users": [{"id", "username",
"public_metrics": {"followers_count"}}]}, "matching_rules": [...]}`` (``data`` may also be a
list). Event time: the post's ``created_at``. The relay cannot tell the brand's own posts (the
stream's rule should exclude them: ``-from:<brand>``).

X escapes ``&``, ``<`` and ``>`` in post text as HTML entities; they are unescaped.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar

from services.feedback.logic.sources.base import (
    MALFORMED_ITEM,
    MISSING_TEXT,
    UNSUPPORTED_EVENT,
    Batch,
    Parsed,
    Unreadable,
    WebhookAdapter,
    clean,
    count_of,
    epoch,
    handle_of,
    id_of,
    iso,
    load_object,
    mention,
    obj,
    seq,
    sha256_base64,
    text_of,
)
from services.feedback.models.mention import Mention
from shared.errors import BadRequest, ServiceUnavailable

TWEETS = "tweet_create_events"
_CRC_TOKEN = re.compile(r"^[\x21-\x7e]{1,512}$")  # printable ASCII, as X sends it
_V1_DATE = "%a %b %d %H:%M:%S %z %Y"  # "Wed Oct 10 20:19:24 +0000 2018"


def status_url(handle: str | None, tweet_id: str) -> str:
    return f"https://x.com/{handle}/status/{tweet_id}" if handle else f"https://x.com/i/web/status/{tweet_id}"


def _v1_date(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.strptime(value, _V1_DATE).astimezone(UTC)
    except ValueError:
        return None


def _is_stream(payload: Mapping[str, Any]) -> bool:
    return "data" in payload and "for_user_id" not in payload


def _stream_posts(payload: Mapping[str, Any]) -> list[Any]:
    data = payload.get("data")
    return data if isinstance(data, list) else [data]


class XWebhook(WebhookAdapter):
    name: ClassVar[str] = "x"
    signature_header: ClassVar[str] = "x-twitter-webhooks-signature"

    def sign(self, body: bytes, secret: str) -> str:
        return sha256_base64(secret, body)

    def challenge(
        self, query: Mapping[str, str], secret: str, verify_token: str | None
    ) -> dict[str, str] | str:
        token = query.get("crc_token")
        if not token or not _CRC_TOKEN.fullmatch(token):
            raise BadRequest("The CRC check needs a crc_token.", code="malformed_challenge")
        if not secret:
            raise ServiceUnavailable("The source's secret is not configured.", code="webhook_not_configured")
        return {"response_token": sha256_base64(secret, token.encode())}

    def event_times(self, payload: Any) -> list[datetime]:
        if not isinstance(payload, dict):
            return []
        if _is_stream(payload):
            return [t for post in _stream_posts(payload) if (t := iso(obj(post).get("created_at")))]
        times = []
        for key, events in payload.items():
            if key.endswith("_events"):
                for event in map(obj, seq(events)):
                    found = epoch(event.get("timestamp_ms"), unit="ms") or epoch(
                        event.get("created_timestamp"), unit="ms"
                    )
                    if found:
                        times.append(found)
        return times

    def parse(self, body: bytes, now: datetime) -> Parsed:
        payload = load_object(body)
        batch = Batch()
        if _is_stream(payload):
            users = {
                u["id"]: u
                for u in map(obj, seq(obj(payload.get("includes")).get("users")))
                if isinstance(u.get("id"), str)
            }
            for index, post in enumerate(_stream_posts(payload)):
                batch.read(index, _stream_post, post, users)
            return batch.parsed()
        brand = id_of(payload.get("for_user_id"))
        known = False
        for key, events in payload.items():
            if key == TWEETS:
                known = True
                for index, tweet in enumerate(seq(events)):
                    batch.read(index, _tweet, tweet, brand)
            elif key.endswith("_events"):
                known = True
                batch.skipped += len(seq(events))
            elif key == "user_event":  # a user revoked the app's access
                known = True
                batch.skipped += 1
        if not known:
            batch.fail(UNSUPPORTED_EVENT)
        return batch.parsed()


def _tweet(raw: object, brand: str | None) -> Mention | None:
    """A v1.1 tweet of ``tweet_create_events``; ``None`` for the brand's own and plain retweets."""
    if not isinstance(raw, dict):
        raise Unreadable(MALFORMED_ITEM)
    tweet_id = id_of(raw.get("id_str")) or id_of(raw.get("id"))
    if tweet_id is None:
        raise Unreadable(MALFORMED_ITEM)
    user = obj(raw.get("user"))
    author_id = id_of(user.get("id_str")) or id_of(user.get("id"))
    if author_id is None:  # whose it is decides whether it is the brand's own
        raise Unreadable(MALFORMED_ITEM, tweet_id)
    if (brand is not None and author_id == brand) or "retweeted_status" in raw:
        return None
    text = (
        text_of(obj(raw.get("extended_tweet")).get("full_text"))
        or text_of(raw.get("full_text"))
        or text_of(raw.get("text"))
    )
    if text is None:
        raise Unreadable(MISSING_TEXT, tweet_id)
    posted_at = epoch(raw.get("timestamp_ms"), unit="ms") or _v1_date(raw.get("created_at"))
    if posted_at is None:
        raise Unreadable(MALFORMED_ITEM, tweet_id)
    handle = handle_of(user.get("screen_name"))
    return mention(
        source="x",
        external_id=tweet_id,
        author_handle=handle,
        author_id=author_id,
        text=clean(html.unescape(text)),
        url=status_url(handle, tweet_id),
        posted_at=posted_at,
        reach=count_of(user.get("followers_count")),
        in_reply_to=id_of(raw.get("in_reply_to_status_id_str")),
    )


def _stream_post(raw: object, users: Mapping[str, dict[str, Any]]) -> Mention | None:
    """A v2 post of a filtered-stream relay; ``None`` for a retweet."""
    if not isinstance(raw, dict):
        raise Unreadable(MALFORMED_ITEM)
    post_id = id_of(raw.get("id"))
    if post_id is None:
        raise Unreadable(MALFORMED_ITEM)
    references = {obj(r).get("type"): obj(r).get("id") for r in seq(raw.get("referenced_tweets"))}
    if "retweeted" in references:
        return None
    text = text_of(obj(raw.get("note_tweet")).get("text")) or text_of(raw.get("text"))
    if text is None:
        raise Unreadable(MISSING_TEXT, post_id)
    posted_at = iso(raw.get("created_at"))
    if posted_at is None:
        raise Unreadable(MALFORMED_ITEM, post_id)
    author_id = id_of(raw.get("author_id"))
    user = users.get(author_id, {}) if author_id else {}
    handle = handle_of(user.get("username"))
    return mention(
        source="x",
        external_id=post_id,
        author_handle=handle,
        author_id=author_id,
        text=clean(html.unescape(text)),
        url=status_url(handle, post_id),
        posted_at=posted_at,
        reach=count_of(obj(user.get("public_metrics")).get("followers_count")),
        in_reply_to=id_of(references.get("replied_to")),
    )

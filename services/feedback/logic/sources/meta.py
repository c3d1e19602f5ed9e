"""Meta: Instagram's and Facebook Pages' Graph API webhooks, one app secret (``/webhooks/meta``).

Signed ``X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body, keyed with the app
secret>`` (the older SHA-1 ``X-Hub-Signature`` is not accepted). The subscription check
(``GET ?hub.mode=subscribe&hub.verify_token=...&hub.challenge=...``) is answered with the
challenge as plain text when the verify token is ours.

Bodies: ``{"object": "instagram" | "page", "entry": [{"id", "time", "changes": [{"field",
"value"}]}]}``; ``entry.time`` (unix seconds; milliseconds are recognised too) is the event time
the replay window reads.

- Instagram ``comments`` (and ``live_comments``): ``value = {"id", "text", "from": {"id",
  "username"}, "media": {"id", "media_product_type"}, "parent_id"?}`` is a mention, posted at
  ``entry.time`` (a comment's value has no time of its own); the brand's own comments (``from.id
  == entry.id``) are skipped.
- Instagram ``mentions``: ``value = {"media_id", "comment_id"}`` names where the brand was
  @mentioned but not what was said: a ``needs_fetch`` failure carrying the comment (or media) id.
- Page ``feed``: ``value = {"item", "verb", "post_id", "comment_id"?, "parent_id"?, "message",
  "from": {"id", "name"}, "created_time"}``. Only ``verb == "add"`` of a ``comment``, ``post`` or
  ``status`` with a message becomes a mention (source ``facebook``); edits, removals, reactions,
  likes, shares, a photo or sticker with no words, and the Page's own posts are skipped. ``from``
  gives a display name only, so the handle stays empty and ``from.id`` is the author id.
- Any other field, and Messenger's ``messaging`` events, are skipped.

A failure's ``index`` is the change's position in the delivery, counting every entry's changes in
order (an entry that cannot be read counts as one).
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any, ClassVar

from services.feedback.logic.sources.base import (
    MALFORMED_ITEM,
    MISSING_TEXT,
    NEEDS_FETCH,
    UNSUPPORTED_EVENT,
    Batch,
    Parsed,
    Unreadable,
    WebhookAdapter,
    clean,
    epoch,
    handle_of,
    id_of,
    iso,
    load_object,
    mention,
    obj,
    seq,
    sha256_hex,
    text_of,
)
from services.feedback.models.mention import Mention
from shared.errors import BadRequest, ServiceUnavailable, Unauthorized

_CHALLENGE = re.compile(r"^[A-Za-z0-9._~-]{1,256}$")  # Meta sends a number; nothing else is echoed
INSTAGRAM_COMMENTS = frozenset({"comments", "live_comments"})
FEED_ITEMS = frozenset({"comment", "post", "status"})


class MetaWebhook(WebhookAdapter):
    name: ClassVar[str] = "meta"
    signature_header: ClassVar[str] = "x-hub-signature-256"

    def sign(self, body: bytes, secret: str) -> str:
        return sha256_hex(secret, body)

    def challenge(
        self, query: Mapping[str, str], secret: str, verify_token: str | None
    ) -> dict[str, str] | str:
        answer = query.get("hub.challenge")
        if query.get("hub.mode") != "subscribe" or not answer or not _CHALLENGE.fullmatch(answer):
            raise BadRequest(
                "The subscription check needs hub.mode=subscribe and hub.challenge.",
                code="malformed_challenge",
            )
        if not verify_token:
            raise ServiceUnavailable("The verify token is not configured.", code="webhook_not_configured")
        given = query.get("hub.verify_token") or ""
        if not hmac.compare_digest(given.encode("utf-8", "replace"), verify_token.encode()):
            raise Unauthorized("The verify token is not ours.", code="webhook_bad_verify_token")
        return answer

    def event_times(self, payload: Any) -> list[datetime]:
        return [t for entry in seq(obj(payload).get("entry")) if (t := epoch(obj(entry).get("time")))]

    def parse(self, body: bytes, now: datetime) -> Parsed:
        payload = load_object(body)
        kind = payload.get("object")
        batch = Batch()
        if kind not in ("instagram", "page"):
            batch.fail(UNSUPPORTED_EVENT)
            return batch.parsed()
        reader = _instagram if kind == "instagram" else _facebook
        index = 0
        for entry in seq(payload.get("entry")):
            if not isinstance(entry, dict) or not isinstance(entry.get("changes", []), list):
                batch.fail(MALFORMED_ITEM, index)
                index += 1
                continue
            owner, sent = id_of(entry.get("id")), epoch(entry.get("time"))
            batch.skipped += len(seq(entry.get("messaging")))
            for change in seq(entry.get("changes")):
                batch.read(index, reader, obj(change), owner, sent)
                index += 1
        return batch.parsed()


def _instagram(change: dict[str, Any], owner: str | None, sent: datetime | None) -> Mention | None:
    field, value = change.get("field"), obj(change.get("value"))
    if field == "mentions":
        raise Unreadable(NEEDS_FETCH, id_of(value.get("comment_id")) or id_of(value.get("media_id")))
    if field not in INSTAGRAM_COMMENTS:
        return None
    comment_id = id_of(value.get("id"))
    if comment_id is None:
        raise Unreadable(MALFORMED_ITEM)
    author = obj(value.get("from"))
    author_id = id_of(author.get("id"))
    if owner is not None and author_id == owner:
        return None
    text = text_of(value.get("text"))
    if text is None:
        raise Unreadable(MISSING_TEXT, comment_id)
    if sent is None:
        raise Unreadable(MALFORMED_ITEM, comment_id)
    return mention(
        source="instagram",
        external_id=comment_id,
        author_handle=handle_of(author.get("username")),
        author_id=author_id,
        text=clean(text),
        posted_at=sent,
        in_reply_to=id_of(value.get("parent_id")) or id_of(obj(value.get("media")).get("id")),
    )


def _facebook(change: dict[str, Any], owner: str | None, sent: datetime | None) -> Mention | None:
    value = obj(change.get("value"))
    item = value.get("item")
    if change.get("field") != "feed" or item not in FEED_ITEMS or value.get("verb") != "add":
        return None
    post_id = id_of(value.get("post_id"))
    external_id = id_of(value.get("comment_id")) if item == "comment" else post_id
    if external_id is None:
        raise Unreadable(MALFORMED_ITEM)
    author_id = id_of(obj(value.get("from")).get("id"))
    if owner is not None and author_id == owner:
        return None
    text = text_of(value.get("message"))
    if text is None:
        return None  # a photo, a sticker or a share with no words: nothing to read, nothing wrong
    posted_at = epoch(value.get("created_time")) or iso(value.get("created_time")) or sent
    if posted_at is None:
        raise Unreadable(MALFORMED_ITEM, external_id)
    return mention(
        source="facebook",
        external_id=external_id,
        author_id=author_id,
        text=clean(text),
        url=f"https://www.facebook.com/{post_id}" if post_id else None,
        posted_at=posted_at,
        in_reply_to=(id_of(value.get("parent_id")) or post_id) if item == "comment" else None,
    )

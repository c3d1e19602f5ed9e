"""The app stores' customer reviews, polled: the App Store (``app_store``) and Google Play
(``google_play``). A review's stars go to ``Mention.rating``; its author gives a display name only,
so the handle and author id stay empty. Neither store has a public address per review: no url.

**App Store Connect API**: ``GET https://api.appstoreconnect.apple.com/v1/apps/{app_id}/
customerReviews?sort=-createdDate&limit=...`` with ``Authorization: Bearer <JWT>``
(configuration: ``app_id``, ``token``, ``limit``? up to 200; the JWT is minted elsewhere).
Answer (JSON:API): ``{"data": [{"type": "customerReviews", "id", "attributes": {"rating",
"title", "body", "reviewerNickname", "createdDate", "territory"}}], "links": {"next"}}``. Text:
the title and the body.

**Google Play Developer API**: ``GET https://androidpublisher.googleapis.com/androidpublisher/v3/
applications/{package_name}/reviews?maxResults=...`` with ``Authorization: Bearer <OAuth token>``
(configuration: ``package_name``, ``token``, ``max_results``?). Answer: ``{"reviews": [{"reviewId",
"authorName", "comments": [{"userComment": {"text", "lastModified": {"seconds", "nanos"},
"starRating", "reviewerLanguage"}}, {"developerComment": {...}}]}], "tokenPagination":
{"nextPageToken"}}``; only the last week's reviews are listed. Posted at: the user comment's
``lastModified``, so a review the user edits comes round again (same external id: the intake keeps
it once).

Cursor (both): a ``Watermark``, the latest review time seen and the ids seen at that time; each
poll reads the first page only (a page holds more reviews than the stores get in ten minutes).
"""

from __future__ import annotations

import re
from abc import abstractmethod
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, ClassVar

from services.feedback.logic.sources.base import (
    MALFORMED_ITEM,
    MISSING_TEXT,
    UNSUPPORTED_EVENT,
    Batch,
    Polled,
    PolledAdapter,
    PollRequest,
    SourceConfigError,
    Unreadable,
    Watermark,
    clean,
    config_int,
    epoch,
    iso,
    load_object,
    mention,
    obj,
    rating_of,
    seq,
    stable_id,
    text_of,
)
from services.feedback.models.mention import Mention, Source

APP_STORE_API = "https://api.appstoreconnect.apple.com/v1"
GOOGLE_PLAY_API = "https://androidpublisher.googleapis.com/androidpublisher/v3"
_APP_ID = re.compile(r"^[0-9]{1,20}$")
_PACKAGE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)+$")


def _title_and_body(title: object, body: object) -> str:
    return "\n".join(part.strip() for part in (text_of(title), text_of(body)) if part)


class _Reviews(PolledAdapter):
    """The reading both stores share: items with an id and a time, filtered by the watermark."""

    source: Source
    list_key: ClassVar[str]

    def parse(self, body: bytes, cursor: str | None, now: datetime) -> Polled:
        payload = load_object(body)
        mark = Watermark.decode(cursor)
        batch = Batch()
        items = payload.get(self.list_key, [])  # Google Play leaves an empty list out
        if not isinstance(items, list):
            batch.fail(UNSUPPORTED_EVENT)
            return batch.polled(mark.encode())
        seen: list[tuple[datetime, str]] = []
        for index, item in enumerate(items):
            found = self._identity(item)
            if found is None:
                batch.fail(MALFORMED_ITEM, index)
                continue
            at, external_id = found
            if not mark.is_new(at, external_id):
                batch.skipped += 1
                continue
            seen.append((at, external_id))  # seen even if unreadable: it would fail the same way again
            batch.read(index, self._review, item, at, external_id)
        return batch.polled(mark.with_seen(seen).encode())

    @abstractmethod
    def _identity(self, item: object) -> tuple[datetime, str] | None:
        """The review's time and external id, which the watermark needs; ``None`` if either is missing."""

    @abstractmethod
    def _review(self, item: dict[str, Any], at: datetime, external_id: str) -> Mention:
        """The review as a mention, or ``Unreadable``."""


class AppStoreReviews(_Reviews):
    source: Source = "app_store"
    list_key: ClassVar[str] = "data"

    def request(self, cursor: str | None, config: Mapping[str, Any]) -> PollRequest:
        app_id, token = (str(config.get(k) or "").strip() for k in ("app_id", "token"))
        if not _APP_ID.fullmatch(app_id) or not token:
            raise SourceConfigError("app_store needs a numeric app_id and a token")
        limit = config_int(config, "limit", default=100, low=1, high=200)
        return PollRequest(
            url=f"{APP_STORE_API}/apps/{app_id}/customerReviews",
            headers={"Authorization": f"Bearer {token}"},
            params={"sort": "-createdDate", "limit": limit},
        )

    def _identity(self, item: object) -> tuple[datetime, str] | None:
        item = obj(item)
        external_id = stable_id(item.get("id"), "asc")
        at = iso(obj(item.get("attributes")).get("createdDate"))
        return (at, external_id) if at and external_id else None

    def _review(self, item: dict[str, Any], at: datetime, external_id: str) -> Mention:
        if item.get("type", "customerReviews") != "customerReviews":
            raise Unreadable(UNSUPPORTED_EVENT, external_id)
        attributes = obj(item.get("attributes"))
        text = _title_and_body(attributes.get("title"), attributes.get("body"))
        if not text:
            raise Unreadable(MISSING_TEXT, external_id)
        return mention(
            source="app_store",
            external_id=external_id,
            text=clean(text),
            posted_at=at,
            rating=rating_of(attributes.get("rating")),
        )


class GooglePlayReviews(_Reviews):
    source: Source = "google_play"
    list_key: ClassVar[str] = "reviews"

    def request(self, cursor: str | None, config: Mapping[str, Any]) -> PollRequest:
        package, token = (str(config.get(k) or "").strip() for k in ("package_name", "token"))
        if not _PACKAGE.fullmatch(package) or not token:
            raise SourceConfigError("google_play needs a package_name and a token")
        max_results = config_int(config, "max_results", default=100, low=1, high=100)
        return PollRequest(
            url=f"{GOOGLE_PLAY_API}/applications/{package}/reviews",
            headers={"Authorization": f"Bearer {token}"},
            params={"maxResults": max_results},
        )

    @staticmethod
    def _user_comment(item: object) -> dict[str, Any]:
        comments = (obj(c).get("userComment") for c in seq(obj(item).get("comments")))
        return next((obj(c) for c in comments if isinstance(c, dict)), {})

    def _identity(self, item: object) -> tuple[datetime, str] | None:
        external_id = stable_id(obj(item).get("reviewId"), "gp")
        modified = obj(self._user_comment(item).get("lastModified"))
        at = epoch(modified.get("seconds"), unit="s")
        nanos = modified.get("nanos")
        if at and isinstance(nanos, int) and not isinstance(nanos, bool) and 0 <= nanos < 1_000_000_000:
            at += timedelta(microseconds=nanos // 1000)
        return (at, external_id) if at and external_id else None

    def _review(self, item: dict[str, Any], at: datetime, external_id: str) -> Mention:
        comment = self._user_comment(item)
        text = text_of(comment.get("text"))
        if text is None:
            raise Unreadable(MISSING_TEXT, external_id)
        return mention(
            source="google_play",
            external_id=external_id,
            text=clean(text),
            posted_at=at,
            rating=rating_of(comment.get("starRating")),
        )

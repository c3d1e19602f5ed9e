"""Naver Search API, polled: blog posts (``naver_blog``) and café articles (``naver_cafe``).

``GET https://openapi.naver.com/v1/search/blog.json`` (or ``cafearticle.json``) with the
``X-Naver-Client-Id`` and ``X-Naver-Client-Secret`` headers and ``query``, ``display`` (at most
100), ``start=1``, ``sort=date`` (newest first). Configuration (``FEEDBACK_POLL_SOURCES`` merged
with the ``naver`` credentials): ``query``, ``client_id``, ``client_secret``, ``display``?.

Answer: ``{"lastBuildDate", "total", "start", "display", "items": [{"title", "link",
"description", "bloggername", "bloggerlink", "postdate": "YYYYMMDD"}]}`` for blogs;
café items have ``cafename`` and ``cafeurl`` and no date.

- Text: the title and the description (a summary), with Naver's ``<b>`` highlighting and any other
  tag removed and HTML entities decoded.
- External id: the link without its scheme (``blog.naver.com/<blog>/<post>``; ``m.`` and
  ``PostView`` links read the same), or a digest of the link when that is not a valid id.
- Posted at: the post date at 00:00 Asia/Seoul; café articles carry no date: ``now``.
- Author: ``bloggername`` is a display name, so the handle stays empty; a blog's address
  (``blog.naver.com/<blog>``) is kept as the author id. A café's address names the café, not the
  author: no author id.
- Cursor: the ids of the newest items seen (``SeenIds``). Naver gives no id order and at best a
  day, and posts are indexed late, so "newer than" cannot be trusted; "not seen yet" can.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Any, ClassVar, Literal
from urllib.parse import parse_qs, urlsplit

from services.feedback.logic.sources.base import (
    MALFORMED_ITEM,
    MISSING_TEXT,
    UNSUPPORTED_EVENT,
    Batch,
    Polled,
    PolledAdapter,
    PollRequest,
    SeenIds,
    SourceConfigError,
    Unreadable,
    clean,
    config_int,
    id_of,
    load_object,
    mention,
    seq,
    stable_id,
    text_of,
)
from services.feedback.models.mention import Mention

API = "https://openapi.naver.com/v1/search"
MAX_DISPLAY = 100
MAX_URL = 512  # Mention.url
KST = timezone(timedelta(hours=9), "KST")  # Asia/Seoul: no DST since 1988
_TAG = re.compile(r"<[^>]*>")
_SPACE = re.compile(r"\s+")
_POSTDATE = re.compile(r"^[0-9]{8}$")


def strip_html(value: str) -> str:
    """Tags removed first, then entities decoded (so an escaped ``&lt;b&gt;`` stays as text)."""
    return _SPACE.sub(" ", html.unescape(_TAG.sub("", value))).strip()


def link_id(link: object) -> str | None:
    """A stable id for a Naver link: host and path without the scheme or ``m.``; a blog's
    ``PostView?blogId=&logNo=`` link reads as ``blog.naver.com/<blogId>/<logNo>``."""
    if not isinstance(link, str) or not link.strip():
        return None
    parts = urlsplit(link.strip() if "//" in link else "https://" + link.strip())
    host = (parts.hostname or "").removeprefix("m.")
    if not host:
        return stable_id(link, "naver")
    query = parse_qs(parts.query)
    if "blogId" in query and "logNo" in query:
        path = f"/{query['blogId'][0]}/{query['logNo'][0]}"
    else:
        path = parts.path.rstrip("/")
    return id_of(host + path) or stable_id(link, "naver")


def _postdate(value: object) -> datetime | None:
    if not isinstance(value, str) or not _POSTDATE.fullmatch(value):
        return None
    try:
        day = date(int(value[:4]), int(value[4:6]), int(value[6:]))
    except ValueError:
        return None
    return datetime.combine(day, time(0, 0), tzinfo=KST).astimezone(UTC)


class NaverSearch(PolledAdapter):
    ENDPOINTS: ClassVar[dict[str, str]] = {"naver_blog": "blog", "naver_cafe": "cafearticle"}

    def __init__(self, source: Literal["naver_blog", "naver_cafe"]) -> None:
        self.source = source
        self.endpoint = f"{API}/{self.ENDPOINTS[source]}.json"

    def request(self, cursor: str | None, config: Mapping[str, Any]) -> PollRequest:
        query, client_id, secret = (
            str(config.get(k) or "").strip() for k in ("query", "client_id", "client_secret")
        )
        if not (query and client_id and secret):
            raise SourceConfigError(f"{self.source} needs query, client_id and client_secret")
        display = config_int(config, "display", default=MAX_DISPLAY, low=1, high=MAX_DISPLAY)
        return PollRequest(
            url=self.endpoint,
            headers={"X-Naver-Client-Id": client_id, "X-Naver-Client-Secret": secret},
            params={"query": query, "display": display, "start": 1, "sort": "date"},
        )

    def parse(self, body: bytes, cursor: str | None, now: datetime) -> Polled:
        payload = load_object(body)
        seen = SeenIds.decode(cursor)
        batch = Batch()
        if not isinstance(payload.get("items"), list):
            batch.fail(UNSUPPORTED_EVENT)
            return batch.polled(seen.encode())
        new: list[str] = []
        for index, item in enumerate(seq(payload.get("items"))):
            external_id = link_id(item.get("link")) if isinstance(item, dict) else None
            if external_id is None:
                batch.fail(MALFORMED_ITEM, index)
                continue
            if external_id in seen or external_id in new:
                batch.skipped += 1
                continue
            new.append(external_id)  # seen even if unreadable: it would fail the same way again
            batch.read(index, self._item, item, external_id, now)
        return batch.polled(seen.with_new(new).encode())

    def _item(self, item: dict[str, Any], external_id: str, now: datetime) -> Mention:
        title = strip_html(text_of(item.get("title")) or "")
        summary = strip_html(text_of(item.get("description")) or "")
        text = "\n".join(part for part in (title, summary) if part)
        if not text:
            raise Unreadable(MISSING_TEXT, external_id)
        posted_at = _postdate(item.get("postdate"))
        if posted_at is None:
            if self.source == "naver_blog":
                raise Unreadable(MALFORMED_ITEM, external_id)
            posted_at = now
        link = str(item.get("link")).strip()
        return mention(
            source=self.source,
            external_id=external_id,
            author_id=link_id(item.get("bloggerlink")) if self.source == "naver_blog" else None,
            text=clean(text),
            url=link if link.startswith(("https://", "http://")) and len(link) <= MAX_URL else None,
            posted_at=posted_at,
        )

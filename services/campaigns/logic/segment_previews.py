"""A draft rule's preview: how many customers it would hold now and a sample of them, computed as
a job over every customer view, a page per step (the segmenter's queue, like a segment's
evaluation), with its progress readable while it runs. Nothing is written to any segment.

A step counts once: its progress is written on condition that the job is still where the step
started (``looked_at`` and the page's cursor), so a redelivered step finds it moved on and counts
nothing. A step redelivered after it recorded its progress but before it marked the next step sent
sends that next step again (the next step's own condition makes a second copy harmless).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, Protocol

from services.campaigns.logic.audiences import PAGE, Views
from services.campaigns.logic.segments import compile_rule
from services.campaigns.models.audiences import PREVIEW_SAMPLE, SegmentPreview
from services.campaigns.models.segments import PreviewDefinition, SegmentRule
from shared.errors import NotFound
from shared.ids import new_id

KEPT = dt.timedelta(days=1)  # a preview job is forgotten a day after it started
START = ""  # the cursor of a job's first page (DynamoDB conditions compare strings, not nulls)


class PreviewStore(Protocol):
    def create(self, item: dict[str, Any]) -> None: ...
    def get(self, preview_id: str) -> dict[str, Any] | None: ...
    def advance(self, preview_id: str, *, cursor: str, before: int, progress: dict[str, Any]) -> bool: ...
    def next_sent(self, preview_id: str, *, looked_at: int) -> None: ...


class PreviewJobs(Protocol):
    def preview(self, preview_id: str, *, after: str | None, looked_at: int) -> None: ...


def _shown(item: dict[str, Any]) -> SegmentPreview:
    return SegmentPreview(
        id=item["id"],
        rule=item["rule"],
        status=item["status"],
        looked_at=int(item["looked_at"]),
        count=int(item["count"]),
        sample=[str(c) for c in item.get("sample", [])],
        created_at=dt.datetime.fromisoformat(item["created_at"]),
        updated_at=dt.datetime.fromisoformat(item["updated_at"]),
        expires_at=dt.datetime.fromisoformat(item["expires_at"]),
    )


def start(
    store: PreviewStore, jobs: PreviewJobs, definition: PreviewDefinition, *, clock: Callable[[], dt.datetime]
) -> SegmentPreview:
    """The job, written running at nothing looked at yet, and its first step queued."""
    now = clock()
    item: dict[str, Any] = {
        "id": new_id("spv"),
        "rule": definition.rule.model_dump(mode="json", exclude_none=True),
        "status": "running",
        "looked_at": 0,
        "count": 0,
        "sample": [],
        "cursor": START,
        "created_at": now.isoformat(),
        "updated_at": now.isoformat(),
        "expires_at": (now + KEPT).isoformat(),
    }
    store.create(item)
    jobs.preview(item["id"], after=None, looked_at=0)
    return _shown(item)


def get(store: PreviewStore, preview_id: str, *, now: dt.datetime) -> SegmentPreview:
    item = store.get(preview_id)
    # DynamoDB deletes an expired item within a few days, not at once: past its day it is gone.
    if item is None or dt.datetime.fromisoformat(item["expires_at"]) <= now:
        raise NotFound("No such segment preview (they are kept a day).", code="segment_preview_not_found")
    return _shown(item)


def step(
    store: PreviewStore,
    views: Views,
    jobs: PreviewJobs,
    preview_id: str,
    *,
    after: str | None,
    looked_at: int,
    now: dt.datetime,
) -> int | None:
    """One page of the preview: its matches counted, the first ones kept as the sample, the next
    step sent. How many views it looked at (None: the job is gone, done, or past this step)."""
    job = store.get(preview_id)
    if job is None or job["status"] != "running":
        return None
    cursor = after or START
    if job.get("cursor") != cursor or int(job["looked_at"]) != looked_at:
        _resend_if_lost(store, jobs, job, cursor)
        return None
    matches = compile_rule(SegmentRule.model_validate(job["rule"]))
    page, last = views.page(after=after, limit=PAGE)
    found = [view.customer_id for view in page if matches(view, now)]
    total = looked_at + len(page)
    progress = {
        "looked_at": total,
        "count": int(job["count"]) + len(found),
        "sample": ([str(c) for c in job.get("sample", [])] + found)[:PREVIEW_SAMPLE],
        "cursor": last or START,
        "from_cursor": cursor,
        "next_sent": last is None,
        "status": "running" if last is not None else "done",
        "updated_at": now.isoformat(),
    }
    if not store.advance(preview_id, cursor=cursor, before=looked_at, progress=progress):
        return None  # another delivery of this step counted it
    if last is not None:
        jobs.preview(preview_id, after=last, looked_at=total)
        store.next_sent(preview_id, looked_at=total)
    return len(page)


def _resend_if_lost(store: PreviewStore, jobs: PreviewJobs, job: dict[str, Any], cursor: str) -> None:
    """This step was counted already; if the function stopped before it marked the next step
    sent, the next step may never have been: send it (again)."""
    if job.get("from_cursor") == cursor and not job.get("next_sent"):
        following = str(job["cursor"])
        jobs.preview(str(job["id"]), after=following or None, looked_at=int(job["looked_at"]))
        store.next_sent(str(job["id"]), looked_at=int(job["looked_at"]))

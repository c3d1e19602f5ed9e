"""Segments as marketing manages them: define, change (a new version), read with the count, page
through members; and the evaluation job that computes a version's members over every view.

A standing segment's members are kept up to date as events arrive (``logic.projection``); a new
segment or a new version starts an evaluation over every customer view, a page per step, each
step sending the next (``SegmentJobs``). A step of an older version stops when a newer one exists.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, Protocol

from services.campaigns.logic.projection import ATTEMPTS, STANDING_CACHE_S, Members, Predicate, Stale, Stored
from services.campaigns.logic.segments import compile_rule, time_dependent
from services.campaigns.models.audiences import Segment, SegmentVersion
from services.campaigns.models.segments import SegmentDefinition, SegmentRule
from services.campaigns.models.view import CustomerView
from shared.errors import Conflict, NotFound, PreconditionFailed
from shared.ids import new_id

PAGE = 200  # views per evaluation step (and members per purge step)
MAX_SEGMENTS = 40
# A deleted segment's members are let go at once, and again this long after: by then no events
# function still holds it in its standing segments (cached 5 s) and no evaluation step that read
# it before the delete (120 s at most) can still add a member.
SETTLE_S = 150
# A new version's evaluation is passed over once more this long after its first pass: a customer
# whose view changed after the first pass read it, through an events function that did not know the
# version yet (its standing segments are cached 5 s), is then a member or not as they should be.
CATCH_UP_S = STANDING_CACHE_S + 5
FINISHED = frozenset({"done", "cancelled"})  # a campaign in any other status still reads its segment


class Catalog(Members, Protocol):
    def all(self) -> list[dict[str, Any]]: ...
    def get(self, segment_id: str) -> dict[str, Any] | None: ...
    def version(self, segment_id: str, version: int) -> dict[str, Any] | None: ...
    def create(self, item: dict[str, Any]) -> None: ...
    def replace(self, item: dict[str, Any], *, expected: int) -> None: ...
    def evaluated(self, segment_id: str, version: int, *, looked_at: int, done: bool) -> bool: ...
    def count(self, segment_id: str) -> int: ...
    def members(
        self, segment_id: str, *, shard: int, after: str | None, limit: int
    ) -> tuple[list[str], str | None]: ...


class SegmentJobs(Protocol):
    def start(
        self,
        segment_id: str,
        version: int,
        *,
        after: str | None,
        looked_at: int,
        catching_up: bool = False,
        delay_s: int = 0,
    ) -> None: ...


class Views(Protocol):
    def page(self, *, after: str | None, limit: int) -> tuple[list[CustomerView], str | None]: ...
    def versioned_page(
        self, *, after: str | None, limit: int
    ) -> tuple[list[tuple[CustomerView, int]], str | None]: ...
    def load(self, customer_id: str) -> Stored: ...


class Retiring(Protocol):
    """What deleting a segment needs of the catalog."""

    def get(self, segment_id: str) -> dict[str, Any] | None: ...
    def retire(self, segment_id: str, *, version: int) -> bool: ...
    def members(
        self, segment_id: str, *, shard: int, after: str | None, limit: int
    ) -> tuple[list[str], str | None]: ...
    def forget(self, segment_id: str, customer_ids: list[str]) -> None: ...
    def forget_counts(self, segment_id: str) -> None: ...


class Purges(Protocol):
    def purge(
        self, segment_id: str, *, shard: int, after: str | None, final: bool, delay_s: int = 0
    ) -> None: ...


class CampaignList(Protocol):
    def all(self) -> list[dict[str, Any]]: ...


def _shown(item: dict[str, Any], count: int) -> Segment:
    rule = SegmentRule.model_validate(item["rule"])
    return Segment(
        id=item["id"],
        name=item["name"],
        description=item.get("description"),
        rule=item["rule"],
        version=int(item["version"]),
        count=count,
        status=item["status"],
        evaluated=int(item.get("evaluated", 0)),
        time_dependent=time_dependent(rule),
        created_at=dt.datetime.fromisoformat(item["created_at"]),
        updated_at=dt.datetime.fromisoformat(item["updated_at"]),
    )


def _rule_json(definition: SegmentDefinition) -> dict[str, Any]:
    dumped: dict[str, Any] = definition.model_dump(mode="json", exclude_none=True)["rule"]
    return dumped


def create(
    catalog: Catalog, jobs: SegmentJobs, definition: SegmentDefinition, *, clock: Callable[[], dt.datetime]
) -> Segment:
    if len(catalog.all()) >= MAX_SEGMENTS:
        raise Conflict(
            f"At most {MAX_SEGMENTS} segments are kept up to date at once; change one of them instead.",
            code="segment_limit_reached",
        )
    at, segment_id = clock().isoformat(), new_id("seg")
    item = {
        "id": segment_id,
        "name": definition.name,
        "description": definition.description,
        "rule": _rule_json(definition),
        "version": 1,
        "status": "evaluating",
        "evaluated": 0,
        "created_at": at,
        "updated_at": at,
    }
    catalog.create(item)
    jobs.start(segment_id, 1, after=None, looked_at=0)
    return _shown(item, 0)


def change(
    catalog: Catalog,
    jobs: SegmentJobs,
    segment_id: str,
    definition: SegmentDefinition,
    *,
    expected_version: int | None,
    clock: Callable[[], dt.datetime],
) -> Segment:
    current = _found(catalog, segment_id)
    version = int(current["version"])
    if expected_version is not None and expected_version != version:
        raise PreconditionFailed(f"The segment is at version {version}.", code="version_mismatch")
    item = {
        **current,
        "name": definition.name,
        "description": definition.description,
        "rule": _rule_json(definition),
        "version": version + 1,
        "status": "evaluating",
        "evaluated": 0,
        "updated_at": clock().isoformat(),
    }
    catalog.replace(item, expected=version)
    jobs.start(segment_id, version + 1, after=None, looked_at=0)
    return _shown(item, catalog.count(segment_id))


def get(catalog: Catalog, segment_id: str) -> Segment:
    return _shown(_found(catalog, segment_id), catalog.count(segment_id))


def listed(catalog: Catalog) -> list[Segment]:
    return [_shown(item, catalog.count(item["id"])) for item in catalog.all()]


def version_of(catalog: Catalog, segment_id: str, version: int) -> SegmentVersion:
    item = catalog.version(segment_id, version)
    if item is None:
        raise NotFound("No such version of this segment.", code="segment_version_not_found")
    return SegmentVersion(
        id=segment_id,
        version=version,
        name=item["name"],
        description=item.get("description"),
        rule=item["rule"],
        created_at=dt.datetime.fromisoformat(item["updated_at"]),  # when this version was saved
    )


def delete(
    catalog: Retiring,
    campaigns: CampaignList,
    jobs: Purges,
    segment_id: str,
    *,
    expected_version: int | None,
) -> None:
    """The segment leaves the list at once (events stop checking it, its place is free); its
    members and counts are let go by the segmenter, a page at a time. Its versions stay. Refused
    while a campaign that is not done or cancelled names it."""
    current = catalog.get(segment_id)
    if current is None:
        raise NotFound("No such segment.", code="segment_not_found")
    version = int(current["version"])
    if expected_version is not None and expected_version != version:
        raise PreconditionFailed(f"The segment is at version {version}.", code="version_mismatch")
    using = sorted(
        str(c["id"])
        for c in campaigns.all()
        if c.get("segment_id") == segment_id and c.get("status") not in FINISHED
    )
    if using:
        message = f"Campaigns use this segment: {', '.join(using)}. Cancel them or let them finish first."
        raise Conflict(
            message,
            code="segment_in_use",
            details=[
                {
                    "loc": ["path", "segment_id"],
                    "type": "segment_in_use",
                    "msg": message,
                    "campaign_ids": using,
                }
            ],
        )
    if not catalog.retire(segment_id, version=version):
        if catalog.get(segment_id) is None:
            raise NotFound("No such segment.", code="segment_not_found")
        raise PreconditionFailed("The segment changed meanwhile; read it again.", code="version_mismatch")
    jobs.purge(segment_id, shard=0, after=None, final=False)


def purge_step(
    catalog: Retiring,
    jobs: Purges,
    segment_id: str,
    *,
    shard: int,
    after: str | None,
    final: bool,
    shards: int,
) -> int:
    """One page of a deleted segment's members let go; after the last shard, its counts, and then
    the same again ``SETTLE_S`` later for members added by those that had not heard of the delete.
    How many members it let go (a redelivered step finds fewer, or none: it changes nothing)."""
    if catalog.get(segment_id) is not None:
        return 0  # not deleted (ids are never reused): nothing to do
    ids, last = catalog.members(segment_id, shard=shard, after=after, limit=PAGE)
    catalog.forget(segment_id, ids)
    if last is not None:
        jobs.purge(segment_id, shard=shard, after=last, final=final)
    elif shard + 1 < shards:
        jobs.purge(segment_id, shard=shard + 1, after=None, final=final)
    else:
        catalog.forget_counts(segment_id)
        if not final:
            jobs.purge(segment_id, shard=0, after=None, final=True, delay_s=SETTLE_S)
    return len(ids)


def _found(catalog: Catalog, segment_id: str) -> dict[str, Any]:
    item = catalog.get(segment_id)
    if item is None:
        raise NotFound("No such segment.", code="segment_not_found")
    return item


# -- the evaluation job ------------------------------------------------------------------------


def evaluate_step(
    catalog: Catalog,
    views: Views,
    jobs: SegmentJobs,
    segment_id: str,
    version: int,
    *,
    after: str | None,
    looked_at: int,
    now: dt.datetime,
    catching_up: bool = False,
) -> int | None:
    """One page of a version's evaluation: each view joins or leaves; the next step is sent.
    Returns how many views this step looked at (None: the segment has moved on, or is gone).

    The first pass over every view is the version's evaluation (its progress, then ``ready``); a
    second, ``catching_up``, starts ``CATCH_UP_S`` after it and changes only members (``ready``
    stays): what the events functions missed while their standing segments lacked the version."""
    current = catalog.get(segment_id)
    if current is None or int(current["version"]) != version:
        return None
    matches = compile_rule(SegmentRule.model_validate(current["rule"]))
    page, last = views.versioned_page(after=after, limit=PAGE)
    for view, view_version in page:
        _decide(catalog, views, segment_id, matches=matches, view=view, view_version=view_version, now=now)
    total = looked_at + len(page)
    if not catching_up and not catalog.evaluated(segment_id, version, looked_at=total, done=last is None):
        return None
    if last is not None:
        jobs.start(segment_id, version, after=last, looked_at=total, catching_up=catching_up)
    elif not catching_up:
        jobs.start(segment_id, version, after=None, looked_at=0, catching_up=True, delay_s=CATCH_UP_S)
    return len(page)


def _decide(
    catalog: Catalog,
    views: Views,
    segment_id: str,
    *,
    matches: Predicate,
    view: CustomerView,
    view_version: int,
    now: dt.datetime,
) -> None:
    """One customer in or out, written only while their view is the one decided on: an event that
    changed it since the page was read (and whose function may have decided on the newer view)
    makes the step read it again and decide again, so a stale answer never overwrites a newer one."""
    for _ in range(ATTEMPTS):
        change = catalog.add if matches(view, now) else catalog.remove
        try:
            change(segment_id, view.customer_id, view_version=view_version)
            return
        except Stale:
            stored = views.load(view.customer_id)
            if stored.view is None:  # erased meanwhile: its erasure took it out of every segment
                return
            view, view_version = stored.view, stored.version
    raise Stale(f"the view of {view.customer_id} kept changing")


def refresh(catalog: Catalog, jobs: SegmentJobs) -> list[str]:
    """Start a new pass over every view for each segment whose answer changes with time alone
    (``time_dependent``): the customers a day's passing moved in or out are then members or not.
    Events keep every other segment right as they come. The ids of the segments refreshed."""
    refreshed = []
    for item in catalog.all():
        if time_dependent(SegmentRule.model_validate(item["rule"])):
            # every events function has long known these versions: the pass needs no catching up
            jobs.start(str(item["id"]), int(item["version"]), after=None, looked_at=0, catching_up=True)
            refreshed.append(str(item["id"]))
    return refreshed


def members(
    catalog: Catalog, segment_id: str, *, shard: int, after: str | None, limit: int, shards: int
) -> tuple[list[str], tuple[int, str | None] | None]:
    """A page of members: shard by shard, in id order within each. The position to resume from."""
    _found(catalog, segment_id)
    ids: list[str] = []
    while shard < shards and len(ids) < limit:
        found, last = catalog.members(segment_id, shard=shard, after=after, limit=limit - len(ids))
        ids += found
        if last is None:
            shard, after = shard + 1, None
        else:
            after = found[-1]
    return ids, ((shard, after) if shard < shards else None)

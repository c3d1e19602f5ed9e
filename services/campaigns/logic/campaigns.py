"""Campaigns as marketing manages them: define a draft, change it, launch it (idempotently),
pause, resume, cancel; when each run starts; and the report.

``draft`` → (launch) → ``scheduled`` (a run is due later) or ``sending`` (a run is under way) →
``done`` (every recipient of the last run has a final decision and no run is due). ``paused``
holds batches until ``resume``; ``cancelled`` stops everything not yet sent. A recurring
campaign goes back to ``scheduled`` after each run until its schedule ends.

Runs are started by ``campaigns-release`` (every minute) from due items, or at once by a launch
with ``{"kind": "now"}``: ``start_run`` is the one way, and a run starts once (its item is
written on condition that it is absent).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from services.campaigns.models.campaigns import (
    DECISIONS,
    MAX_AHEAD_DAYS,
    SUPPRESSED,
    Campaign,
    CampaignDefinition,
    Counts,
    Report,
    SendAt,
    SendAtLocalTime,
    SendNow,
    SendOnTrigger,
    SendRecurring,
    Status,
)
from shared.cron import next_occurrence, parse_expression
from shared.errors import Conflict, NotFound, PreconditionFailed, Unprocessable
from shared.ids import new_id

# The zones furthest ahead of and behind UTC: a local-time campaign's run starts when its hour
# comes to Kiritimati (UTC+14) and ends when it comes to Baker Island (UTC-12).
EARLIEST_OFFSET = dt.timedelta(hours=14)
LATEST_OFFSET = dt.timedelta(hours=-12)
EDITABLE: frozenset[Status] = frozenset({"draft"})
FINAL: frozenset[Status] = frozenset({"done", "cancelled"})


class CampaignStore(Protocol):
    def all(self) -> list[dict[str, Any]]: ...
    def get(self, campaign_id: str) -> dict[str, Any] | None: ...
    def create(self, item: dict[str, Any]) -> None: ...
    def replace(self, item: dict[str, Any], *, expected: int) -> None: ...
    def counts(self, campaign_id: str) -> dict[str, int]: ...
    def planned(self, campaign_id: str, runs: int) -> bool: ...
    def go_live(self, campaign_id: str, event: str, *, live: bool) -> None:
        """List (or unlist) a triggered campaign under its trigger's event."""
        ...


class Lookup(Protocol):
    def get(self, item_id: str) -> Mapping[str, Any] | None: ...


class Runs(Protocol):
    def start(self, campaign: Mapping[str, Any], run: int, *, at: dt.datetime) -> bool: ...
    def due(self, campaign_id: str, run: int, at: dt.datetime) -> None: ...


def _bad(loc: list[str | int], message: str, code: str) -> Unprocessable:
    return Unprocessable(message, code=code, details=[{"loc": ["body", *loc], "msg": message, "type": code}])


def first_run_at(definition: CampaignDefinition, now: dt.datetime) -> dt.datetime | None:
    """When the first run starts (None: at once). Refuses a schedule that cannot be kept."""
    schedule = definition.schedule
    horizon = now + dt.timedelta(days=MAX_AHEAD_DAYS)
    if isinstance(schedule, SendNow):
        return None
    if isinstance(schedule, SendAt):
        if schedule.at <= now:
            raise _bad(["schedule", "at"], "The instant has passed.", "schedule_in_past")
        if schedule.at > horizon:
            raise _bad(["schedule", "at"], "At most a year ahead.", "schedule_too_far")
        return schedule.at.astimezone(dt.UTC)
    if isinstance(schedule, SendAtLocalTime):
        wall = dt.datetime.combine(schedule.date, schedule.time, tzinfo=dt.UTC)
        earliest, latest = wall - EARLIEST_OFFSET, wall - LATEST_OFFSET
        if latest <= now:
            raise _bad(["schedule", "date"], "That local time has passed in every zone.", "schedule_in_past")
        if earliest > horizon:
            raise _bad(["schedule", "date"], "At most a year ahead.", "schedule_too_far")
        return earliest if earliest > now else None
    if isinstance(schedule, SendOnTrigger):
        if schedule.until is not None and schedule.until <= now:
            raise _bad(["schedule", "until"], "The instant has passed.", "schedule_in_past")
        return None
    return next_recurrence(schedule, now, loc=["schedule", "cron"])


def next_recurrence(
    schedule: SendRecurring, after: dt.datetime, *, loc: list[str | int] | None = None
) -> dt.datetime | None:
    """The next run of a recurring campaign after ``after``; with ``loc``, a cron that never fires
    again (or not before ``until``) is refused instead of ending the campaign."""
    try:
        expression = parse_expression(schedule.cron)
    except ValueError as bad:
        raise _bad(loc or ["schedule", "cron"], str(bad), "invalid_cron") from None
    if not schedule.cron.startswith("cron("):
        raise _bad(loc or ["schedule", "cron"], "A recurring campaign takes cron(...).", "invalid_cron")
    found = next_occurrence(expression, schedule.zone, after)
    if found is not None and schedule.until is not None and found > schedule.until:
        found = None
    if found is None and loc is not None:
        raise _bad(loc, "The expression never fires (again) in its zone.", "schedule_never_fires")
    return found


def _shown(item: Mapping[str, Any]) -> Campaign:
    def when(key: str) -> dt.datetime | None:
        value = item.get(key)
        return dt.datetime.fromisoformat(value) if value else None

    return Campaign.model_validate(
        {
            **{k: item[k] for k in Campaign.model_fields if k in item and not k.endswith("_at")},
            "created_at": when("created_at"),
            "updated_at": when("updated_at"),
            "launched_at": when("launched_at"),
            "next_run_at": when("next_run_at"),
        }
    )


def _references(definition: CampaignDefinition, segments: Lookup, templates: Lookup) -> Mapping[str, Any]:
    if definition.segment_id is not None and segments.get(definition.segment_id) is None:
        raise _bad(["segment_id"], "No such segment.", "unknown_segment")
    template = templates.get(definition.template_id)
    if template is None:
        raise _bad(["template_id"], "No such template.", "unknown_template")
    if template.get("channel") != definition.channel:
        raise _bad(
            ["channel"],
            f"The template is for {template.get('channel')}, not {definition.channel}.",
            "channel_mismatch",
        )
    return template


def _fields(definition: CampaignDefinition, template: Mapping[str, Any]) -> dict[str, Any]:
    return {
        **definition.model_dump(mode="json"),
        "purpose": template.get("purpose", "marketing"),
    }


def create(
    store: CampaignStore,
    segments: Lookup,
    templates: Lookup,
    definition: CampaignDefinition,
    *,
    clock: Callable[[], dt.datetime],
) -> Campaign:
    now = clock()
    template = _references(definition, segments, templates)
    first_run_at(definition, now)  # a schedule that cannot be kept is refused now, not at launch
    at = now.isoformat()
    item = {
        "id": new_id("cmp"),
        **_fields(definition, template),
        "status": "draft",
        "version": 1,
        "runs": 0,
        "created_at": at,
        "updated_at": at,
    }
    store.create(item)
    return _shown(item)


def change(
    store: CampaignStore,
    segments: Lookup,
    templates: Lookup,
    campaign_id: str,
    definition: CampaignDefinition,
    *,
    expected_version: int | None,
    clock: Callable[[], dt.datetime],
) -> Campaign:
    current = _found(store, campaign_id)
    _expect(current, expected_version)
    if current["status"] not in EDITABLE:
        raise Conflict(f"A {current['status']} campaign cannot be changed.", code="campaign_not_editable")
    now = clock()
    template = _references(definition, segments, templates)
    first_run_at(definition, now)
    item = {
        **current,
        **_fields(definition, template),
        "version": int(current["version"]) + 1,
        "updated_at": now.isoformat(),
    }
    store.replace(item, expected=int(current["version"]))
    return _shown(item)


def get(store: CampaignStore, campaign_id: str) -> Campaign:
    return _shown(_found(store, campaign_id))


def listed(store: CampaignStore) -> list[Campaign]:
    return [_shown(item) for item in store.all()]


def launch(
    store: CampaignStore,
    segments: Lookup,
    templates: Lookup,
    runs: Runs,
    campaign_id: str,
    *,
    clock: Callable[[], dt.datetime],
    via: str = "api",
    requested_by: str | None = None,
) -> Campaign:
    """Idempotent: a campaign already launched is answered as it is (200), never launched twice.
    ``via``: how it was asked for (``api``, or ``event:<event id>`` from the bus), kept with who asked."""
    current = _found(store, campaign_id)
    if current["status"] != "draft":
        if current["status"] == "cancelled":
            raise Conflict("The campaign was cancelled.", code="campaign_cancelled")
        return _shown(current)
    now = clock()
    definition = CampaignDefinition.model_validate(
        {k: current[k] for k in CampaignDefinition.model_fields if k in current}
    )
    template = _references(definition, segments, templates)
    segment = (segments.get(definition.segment_id) if definition.segment_id else None) or {}
    first = first_run_at(definition, now)
    current = {**current, "launched_via": via, "launched_by": requested_by}
    if isinstance(definition.schedule, SendOnTrigger):
        return _go_live(
            store, current, schedule=definition.schedule, template=template, segment=segment, now=now
        )
    item = {
        **current,
        "status": "scheduled" if first is not None else "sending",
        "runs": 0 if first is not None else 1,
        "template_version": int(template.get("version", 1)),
        "segment_version": int(segment.get("version", 1)),
        "next_run_at": first.isoformat() if first is not None else None,
        "launched_at": now.isoformat(),
        "updated_at": now.isoformat(),
        "version": int(current["version"]) + 1,
    }
    try:
        store.replace(item, expected=int(current["version"]))
    except PreconditionFailed:  # a concurrent launch won: answer what it made
        return _shown(_found(store, campaign_id))
    if first is None:
        runs.start(item, 1, at=now)
    else:
        runs.due(campaign_id, 1, first)
    return _shown(item)


def _go_live(
    store: CampaignStore,
    current: Mapping[str, Any],
    *,
    schedule: SendOnTrigger,
    template: Mapping[str, Any],
    segment: Mapping[str, Any],
    now: dt.datetime,
) -> Campaign:
    """A triggered campaign is live: listed under its event, so the events that concern a customer
    find it; each entry is a run of its own (``logic.journeys``)."""
    item = {
        **current,
        "status": "live",
        "runs": 0,
        "template_version": int(template.get("version", 1)),
        "segment_version": int(segment["version"]) if segment else None,
        "next_run_at": None,
        "launched_at": now.isoformat(),
        "updated_at": now.isoformat(),
        "version": int(current["version"]) + 1,
    }
    try:
        store.replace(item, expected=int(current["version"]))
    except PreconditionFailed:
        return _shown(_found(store, str(current["id"])))
    store.go_live(str(item["id"]), schedule.trigger.event, live=True)
    return _shown(item)


TRANSITIONS: dict[str, tuple[frozenset[str], str | None]] = {
    # action: (from, to; None: back to what it was before the pause)
    "pause": (frozenset({"scheduled", "sending", "live"}), "paused"),
    "resume": (frozenset({"paused"}), None),
    "cancel": (frozenset({"draft", "scheduled", "sending", "live", "paused"}), "cancelled"),
}


def transition(
    store: CampaignStore, campaign_id: str, action: str, *, clock: Callable[[], dt.datetime]
) -> Campaign:
    current = _found(store, campaign_id)
    allowed, target = TRANSITIONS[action]
    status = str(current["status"])
    if status == target or (action == "resume" and status in {"scheduled", "sending", "live"}):
        return _shown(current)  # already so: a retry changes nothing
    if status not in allowed:
        raise Conflict(
            f"A {status} campaign cannot be {action}d.",
            code="invalid_transition",
            details=[{"loc": ["status"], "msg": status, "type": "current_state"}],
        )
    to = target or str(current.get("paused_from") or "sending")
    item = {
        **current,
        "status": to,
        "paused_from": status if action == "pause" else None,
        "version": int(current["version"]) + 1,
        "updated_at": clock().isoformat(),
    }
    store.replace(item, expected=int(current["version"]))
    trigger = (current.get("schedule") or {}).get("trigger")
    if to == "cancelled" and trigger and current.get("launched_at"):
        store.go_live(campaign_id, str(trigger["event"]), live=False)
    return _shown(item)


def report(store: CampaignStore, campaign_id: str) -> Report:
    current = _found(store, campaign_id)
    counts = store.counts(campaign_id)
    values = {d: max(0, int(counts.get(d, 0))) for d in DECISIONS}
    decided = sum(v for d, v in values.items() if d != "deferred")
    shown = Counts(
        audience=int(counts.get("audience", 0)),
        delivered=int(counts.get("delivered", 0)),
        bounced=int(counts.get("bounced", 0)),
        complained=int(counts.get("complained", 0)),
        decided=decided,
        **values,
    )
    runs = int(current.get("runs", 0))
    return Report(
        campaign_id=campaign_id,
        status=current["status"],
        runs=runs,
        counts=shown,
        suppressed={d: values[d] for d in SUPPRESSED},
        planned=store.planned(campaign_id, runs) if runs else False,
        results=f"/admin/campaigns/{campaign_id}/results",
        points_report=(
            f"/admin/point-campaigns/{campaign_id}"
            if (current.get("offer") or {}).get("kind") == "points"
            else None
        ),
    )


def _found(store: CampaignStore, campaign_id: str) -> dict[str, Any]:
    item = store.get(campaign_id)
    if item is None:
        raise NotFound("No such campaign.", code="campaign_not_found")
    return item


def _expect(current: Mapping[str, Any], expected: int | None) -> None:
    if expected is not None and expected != int(current["version"]):
        raise PreconditionFailed(f"The campaign is at version {current['version']}.", code="version_mismatch")

"""The life of a complaint case, as pure functions: each takes the case as stored and an instant,
and answers the ``Change``: the case as it must be stored next, the lines its timeline gains, the
events it publishes and the SLA timers to set or cancel. ``dal.cases`` writes a change in one
transaction, conditioned on the version it was computed from.

The lifecycle (``TRANSITIONS``): ``new → acknowledged → in_progress → resolved → closed``;
``waiting`` (for the customer: the resolution clock pauses) from any open state and back to
``in_progress``; ``reopened`` from ``resolved`` or ``closed`` (the customer says it is not solved,
or an agent reopens it). A move the lifecycle does not allow is a 409 that names the current
state. ``closed`` is reached only by a confirmation (the customer in the app, or an agent who
records the channel: phone, e-mail or post, and when) or by the confirmation timeout
(``CONFIRMATION_DAYS`` after the resolution, with no answer).

The SLA (``logic.sla``): first response (met by an acknowledgement, a reply the customer sees,
work starting, or a resolution) and resolution, on the team's business-hours calendar. A case
keeps one one-time timer at a time, at its next deadline (``armed``), named ``<case id>-<timer>``:
the first response's while it runs, then the resolution's. A timer that
fires for a deadline the case no longer has (moved by an escalation, a pause) is ignored; a
breach escalates the case to the follow-up team and alerts, once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Literal

from services.feedback.logic import sla
from services.feedback.models.cases import (
    CONFIRMATION_DAYS,
    ConfirmedBy,
    Origin,
    Priority,
    Status,
    Target,
)
from services.feedback.models.events import CaseClosed, CaseOpened
from shared.errors import Conflict, Unprocessable
from shared.events import DomainEvent

TimerName = Literal["first_response", "resolution", "confirmation"]
OPEN: frozenset[Status] = frozenset({"new", "acknowledged", "in_progress", "waiting", "reopened"})
TRANSITIONS: Mapping[Status, frozenset[Target]] = {
    "new": frozenset({"acknowledged", "in_progress", "waiting", "resolved"}),
    "acknowledged": frozenset({"in_progress", "waiting", "resolved"}),
    "in_progress": frozenset({"waiting", "resolved"}),
    "waiting": frozenset({"in_progress", "resolved"}),
    "reopened": frozenset({"acknowledged", "in_progress", "waiting", "resolved"}),
    "resolved": frozenset({"reopened"}),
    "closed": frozenset({"reopened"}),
}


@dataclass(frozen=True)
class CaseRecord:
    """A case as stored (``dal.cases`` maps it to and from its item)."""

    case_id: str
    version: int
    status: Status
    origin: Origin
    customer_id: str | None
    subject: str
    description: str | None
    category: str
    store_id: str | None
    team: sla.TeamName
    priority: Priority
    opened_at: datetime
    clock: sla.SlaClock
    assignee: str | None = None
    escalated: bool = False
    escalated_by: Literal["agent", "sla"] | None = None
    one_stop: bool = False
    reopened: int = 0
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
    confirmed_by: ConfirmedBy | None = None
    confirmed_at: datetime | None = None
    resolution: str | None = None
    csat: int | None = None
    csat_comment: str | None = None
    mention_key: str | None = None
    alerted: bool = False  # a breach alerted the person on duty


@dataclass(frozen=True)
class LogLine:
    kind: str
    by: str
    at: datetime
    visibility: Literal["internal", "customer"] = "internal"
    text: str | None = None
    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SetTimer:
    name: str
    at: datetime
    payload: Mapping[str, Any]


@dataclass(frozen=True)
class CancelTimer:
    name: str


TimerOp = SetTimer | CancelTimer


@dataclass(frozen=True)
class Change:
    case: CaseRecord
    logs: tuple[LogLine, ...] = ()
    events: tuple[DomainEvent, ...] = ()
    timers: tuple[TimerOp, ...] = ()
    alert: str | None = None  # what to tell the person on duty (a breach), no personal data

    @property
    def changed(self) -> bool:
        return bool(self.logs or self.events or self.timers)


def timer_name(case_id: str, timer: TimerName) -> str:
    return f"{case_id}-{timer.replace('_', '-')}"


def armed(clock: sla.SlaClock) -> dict[TimerName, datetime]:
    """The deadlines a case keeps on the Scheduler: one timer at a time, the next deadline.

    The first response's while it runs; then (met or breached) the resolution's. The resolution's
    deadline is never the earlier while both run: they start together, the resolution's target is
    the longer at every priority (``sla.Targets``), and only the resolution clock pauses.
    """
    first = clock.due("first_response")
    if first is not None:
        return {"first_response": first}
    resolution = clock.due("resolution")
    return {"resolution": resolution} if resolution is not None else {}


def _timer_ops(before: sla.SlaClock | None, after: sla.SlaClock, case_id: str) -> tuple[TimerOp, ...]:
    """Set each armed timer whose deadline changed, cancel each that is armed no more."""
    old, new = (armed(before) if before is not None else {}), armed(after)
    ops: list[TimerOp] = []
    for timer in sla.TIMERS:
        was, due = old.get(timer), new.get(timer)
        if was == due:
            continue
        name = timer_name(case_id, timer)
        if due is None:
            ops.append(CancelTimer(name))
        else:
            ops.append(SetTimer(name, due, {"case_id": case_id, "timer": timer, "due": due.isoformat()}))
    return tuple(ops)


def _confirmation_timer(case_id: str, at: datetime) -> SetTimer:
    due = at + timedelta(days=CONFIRMATION_DAYS)
    return SetTimer(
        timer_name(case_id, "confirmation"),
        due,
        {"case_id": case_id, "timer": "confirmation", "due": due.isoformat()},
    )


# -- opening -------------------------------------------------------------------------------------


def open_case(
    *,
    case_id: str,
    origin: Origin,
    customer_id: str | None,
    subject: str,
    description: str | None,
    category: str,
    store_id: str | None,
    priority: Priority,
    by: str,
    now: datetime,
    mention_key: str | None = None,
) -> Change:
    clock = sla.SlaClock.start("frontline", priority, now)
    case = CaseRecord(
        case_id=case_id,
        version=1,
        status="new",
        origin=origin,
        customer_id=customer_id,
        subject=subject,
        description=description,
        category=category,
        store_id=store_id,
        team="frontline",
        priority=priority,
        opened_at=now,
        clock=clock,
        mention_key=mention_key,
    )
    event = CaseOpened(case_id=case_id, customer_id=customer_id, origin=origin, opened_at=now)
    log = LogLine("opened", by, now, "customer", None, {"origin": origin})
    return Change(case, (log,), (event,), _timer_ops(None, clock, case_id))


# -- moving through the lifecycle ------------------------------------------------------------------


def _bad_move(case: CaseRecord, to: str) -> Conflict:
    return Conflict(
        f"A case that is {case.status} cannot become {to}.",
        code="invalid_transition",
        details=[{"current": case.status, "requested": to, "allowed": sorted(TRANSITIONS[case.status])}],
    )


def _next(case: CaseRecord, clock: sla.SlaClock, **changes: Any) -> CaseRecord:
    return replace(case, clock=clock, version=case.version + 1, **changes)


def transition(
    case: CaseRecord,
    to: Target,
    *,
    by: str,
    now: datetime,
    resolution: str | None = None,
    one_stop: bool = False,
    note: str | None = None,
) -> Change:
    """An agent moves the case (or the customer, through ``confirm`` and ``customer_reply``)."""
    if to not in TRANSITIONS[case.status]:
        raise _bad_move(case, to)
    clock = case.clock
    timers: list[TimerOp] = []
    changes: dict[str, Any] = {"status": to}
    visibility: Literal["internal", "customer"] = "internal"
    text = note
    if to in ("acknowledged", "in_progress", "waiting", "resolved"):
        clock = clock.meet("first_response", now)
    if case.status == "waiting" and to != "waiting":
        clock = clock.resume(now)
    if to == "waiting":
        clock = clock.pause(now)
    if to == "resolved":
        if not resolution:
            raise Unprocessable(
                "A resolution says what was done, for the customer.", code="resolution_required"
            )
        if one_stop and case.reopened:
            raise Conflict(
                "A case that was reopened was not solved in one stop.",
                code="not_one_stop",
                details=[{"current": case.status, "reopened": case.reopened}],
            )
        clock = clock.meet("resolution", now)
        changes |= {"resolved_at": now, "resolution": resolution, "one_stop": one_stop}
        visibility, text = "customer", resolution
        timers.append(_confirmation_timer(case.case_id, now))
    if to == "reopened":
        changes |= {
            "reopened": case.reopened + 1,
            "closed_at": None,
            "confirmed_by": None,
            "confirmed_at": None,
        }
        timers.append(CancelTimer(timer_name(case.case_id, "confirmation")))
        visibility = "customer"
    updated = _next(case, clock, **changes)
    log = LogLine(
        to,
        by,
        now,
        visibility,
        text,
        {"from": case.status, "one_stop": one_stop} if to == "resolved" else {"from": case.status},
    )
    return Change(updated, (log,), (), _timer_ops(case.clock, clock, case.case_id) + tuple(timers))


def _require_open(case: CaseRecord, action: str) -> None:
    if case.status not in OPEN:
        raise Conflict(
            f"A case that is {case.status} cannot be {action}.",
            code="case_not_open",
            details=[{"current": case.status}],
        )


def assign(case: CaseRecord, agent_id: str, *, by: str, now: datetime) -> Change:
    _require_open(case, "assigned")
    if case.assignee == agent_id:
        return Change(case)
    updated = _next(case, case.clock, assignee=agent_id)
    return Change(updated, (LogLine("assigned", by, now, "internal", None, {"agent_id": agent_id}),))


def escalate(
    case: CaseRecord, *, by: str, now: datetime, reason: str | None, via: Literal["agent", "sla"]
) -> Change:
    """To the follow-up team, at high priority: the running clocks go on on its calendar."""
    _require_open(case, "escalated")
    if case.escalated:
        raise Conflict(
            "The case is with the follow-up team already.",
            code="already_escalated",
            details=[{"current": case.status, "team": case.team}],
        )
    clock = case.clock.move("follow_up", now)
    updated = _next(
        case, clock, team="follow_up", priority="high", escalated=True, escalated_by=via, assignee=None
    )
    log = LogLine("escalated", by, now, "internal", reason, {"via": via, "team": "follow_up"})
    return Change(updated, (log,), (), _timer_ops(case.clock, clock, case.case_id))


def note(
    case: CaseRecord, text: str, *, visibility: Literal["internal", "customer"], by: str, now: datetime
) -> Change:
    """A note; one the customer sees is a reply, and a first response."""
    if case.status == "closed" and visibility == "customer":
        raise Conflict(
            "The case is closed: reopen it to write to the customer.",
            code="case_not_open",
            details=[{"current": case.status}],
        )
    clock = case.clock.meet("first_response", now) if visibility == "customer" else case.clock
    updated = _next(case, clock)
    log = LogLine("reply" if visibility == "customer" else "note", by, now, visibility, text)
    return Change(updated, (log,), (), _timer_ops(case.clock, clock, case.case_id))


def customer_reply(case: CaseRecord, text: str, *, by: str, now: datetime) -> Change:
    """The customer writes: a case waiting for them goes back to work (its clock resumes)."""
    if case.status == "closed":
        raise Conflict("The case is closed.", code="case_not_open", details=[{"current": case.status}])
    clock, changes = case.clock, {}
    if case.status == "waiting":
        clock, changes = clock.resume(now), {"status": "in_progress"}
    updated = _next(case, clock, **changes)
    log = LogLine("customer_reply", by, now, "customer", text)
    return Change(updated, (log,), (), _timer_ops(case.clock, clock, case.case_id))


def confirm(
    case: CaseRecord,
    *,
    solved: bool,
    via: ConfirmedBy,
    confirmed_at: datetime,
    by: str,
    now: datetime,
    comment: str | None = None,
) -> Change:
    """The customer's answer to a resolution: solved closes the case, not solved reopens it."""
    if case.status != "resolved":
        raise Conflict(
            "Only a resolved case awaits the customer's confirmation.",
            code="not_awaiting_confirmation",
            details=[{"current": case.status}],
        )
    if not solved:
        reopened = transition(case, "reopened", by=by, now=now, note=comment)
        return replace(
            reopened,
            logs=(*reopened.logs, LogLine("not_solved", by, now, "customer", comment, {"via": via})),
        )
    updated = _next(
        case, case.clock, status="closed", closed_at=now, confirmed_by=via, confirmed_at=confirmed_at
    )
    event = CaseClosed(
        case_id=case.case_id,
        customer_id=case.customer_id,
        confirmed_by=via,
        one_stop=case.one_stop,
        breached=case.clock.breached,
        closed_at=now,
    )
    log = LogLine(
        "closed",
        by,
        now,
        "customer",
        comment,
        {"confirmed_by": via, "confirmed_at": confirmed_at.isoformat()},
    )
    return Change(updated, (log,), (event,), (CancelTimer(timer_name(case.case_id, "confirmation")),))


def score(case: CaseRecord, value: int, comment: str | None, *, by: str, now: datetime) -> Change:
    if case.status != "closed":
        raise Conflict(
            "A case is scored once it is closed.", code="case_not_closed", details=[{"current": case.status}]
        )
    if case.csat is not None:
        raise Conflict(
            "The case is scored already.",
            code="already_scored",
            details=[{"current": case.status, "csat": case.csat}],
        )
    updated = _next(case, case.clock, csat=value, csat_comment=comment)
    return Change(updated, (LogLine("satisfaction", by, now, "customer", comment, {"score": value}),))


# -- the timers ------------------------------------------------------------------------------------


def timer_fired(case: CaseRecord, timer: str, due: str, *, now: datetime) -> Change:
    """A timer fired. A stale one (the deadline moved, the clock was met or paused, the case moved
    on) changes nothing; an SLA deadline passed breaches it, escalates and alerts, once; the
    confirmation deadline closes a resolved case."""
    if timer == "confirmation":
        if case.status != "resolved" or case.resolved_at is None:
            return Change(case)
        if now < case.resolved_at + timedelta(days=CONFIRMATION_DAYS) - timedelta(seconds=1):
            return Change(case)
        return confirm(case, solved=True, via="timeout", confirmed_at=now, by="system", now=now)
    if timer not in sla.TIMERS:
        return Change(case)
    current = case.clock.due(timer)
    if current is None or current.isoformat() != due or now < current:
        return Change(case)
    clock, first = case.clock.breach(timer, now)
    if not first:
        return Change(case)
    breached = _next(case, clock)
    log = LogLine("sla_breached", "system", now, "internal", None, {"timer": timer})
    if case.escalated or case.status not in OPEN:
        return Change(
            breached, (log,), (), _timer_ops(case.clock, clock, case.case_id), alert=f"{timer} breached"
        )
    escalated = escalate(breached, by="system", now=now, reason=None, via="sla")
    return Change(
        escalated.case,
        (log, *escalated.logs),
        (),
        _timer_ops(case.clock, escalated.case.clock, case.case_id),
        alert=f"{timer} breached; escalated to follow_up",
    )


# -- goodwill ---------------------------------------------------------------------------------------


def goodwill(
    case: CaseRecord, grant_id: str, points: int, event: DomainEvent, *, by: str, now: datetime
) -> Change:
    """An agent grants goodwill points on the case: the rewards service is asked by ``event``
    (``GoodwillRequested``), written with the case in one transaction."""
    if case.customer_id is None:
        raise Conflict(
            "The case is linked to no customer.",
            code="case_without_customer",
            details=[{"current": case.status}],
        )
    log = LogLine("goodwill_requested", by, now, "internal", None, {"grant_id": grant_id, "points": points})
    return Change(_next(case, case.clock), (log,), (event,))


def goodwill_answered(
    case: CaseRecord, grant_id: str, *, credited: bool, now: datetime, detail: Mapping[str, Any]
) -> Change:
    """The rewards service credited (or refused) a grant: a line on the timeline (the customer sees
    the points they were given)."""
    kind = "goodwill_credited" if credited else "goodwill_refused"
    log = LogLine(
        kind, "rewards", now, "customer" if credited else "internal", None, {"grant_id": grant_id, **detail}
    )
    return Change(_next(case, case.clock), (log,))

"""What agents and customers are shown of a case, from what is stored (pure)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from services.feedback.logic import sla
from services.feedback.logic.cases import CaseRecord
from services.feedback.models.cases import Case, CaseSummary, Grant, LogEntry, MentionRef, MyCase, TimerView


def _log(item: Mapping[str, Any]) -> LogEntry:
    return LogEntry(
        at=datetime.fromisoformat(str(item["at"])),
        kind=str(item["kind"]),
        by=str(item["by"]),
        visibility=item["visibility"],
        text=item.get("text"),
        data=dict(item.get("data") or {}),
    )


def _timer(clock: sla.SlaClock, timer: sla.TimerName) -> TimerView:
    state = clock.view(timer)
    return TimerView(**state)


def agent_case(
    case: CaseRecord,
    timeline: Sequence[Mapping[str, Any]],
    grants: Sequence[Mapping[str, Any]],
    mention: Mapping[str, Any] | None,
) -> Case:
    ref = None
    if mention is not None:
        m, found = mention["mention"], mention["found"]
        ref = MentionRef(
            source=m["source"],
            external_id=m["external_id"],
            url=m.get("url"),
            posted_at=m["posted_at"],
            reach=int(m.get("reach", 0)),
            sentiment=found["sentiment"],
            themes=list(found.get("themes", [])),
        )
    return Case(
        case_id=case.case_id,
        version=case.version,
        status=case.status,
        origin=case.origin,
        customer_id=case.customer_id,
        subject=case.subject,
        description=case.description,
        category=case.category,
        store_id=case.store_id,
        team=case.team,
        priority=case.priority,
        assignee=case.assignee,
        escalated=case.escalated,
        escalated_by=case.escalated_by,
        one_stop=case.one_stop,
        reopened=case.reopened,
        opened_at=case.opened_at,
        resolved_at=case.resolved_at,
        closed_at=case.closed_at,
        confirmed_by=case.confirmed_by,
        confirmed_at=case.confirmed_at,
        resolution=case.resolution,
        csat=case.csat,
        first_response=_timer(case.clock, "first_response"),
        resolution_sla=_timer(case.clock, "resolution"),
        mention=ref,
        grants=[Grant.model_validate({k: v for k, v in g.items() if k not in ("pk", "sk")}) for g in grants],
        timeline=[_log(i) for i in timeline],
    )


def my_case(case: CaseRecord, timeline: Sequence[Mapping[str, Any]]) -> MyCase:
    replies = [_log(i) for i in timeline if i.get("visibility") == "customer"]
    return MyCase(
        case_id=case.case_id,
        status=case.status,
        subject=case.subject,
        description=case.description,
        opened_at=case.opened_at,
        resolved_at=case.resolved_at,
        closed_at=case.closed_at,
        resolution=case.resolution,
        csat=case.csat,
        awaiting_confirmation=case.status == "resolved",
        replies=[r.model_copy(update={"by": "you" if r.by == "customer" else "dangol"}) for r in replies],
    )


def summary(case: CaseRecord) -> CaseSummary:
    return CaseSummary(
        case_id=case.case_id,
        status=case.status,
        team=case.team,
        priority=case.priority,
        subject=case.subject,
        customer_id=case.customer_id,
        assignee=case.assignee,
        opened_at=case.opened_at,
        queued_at=case.opened_at,
    )

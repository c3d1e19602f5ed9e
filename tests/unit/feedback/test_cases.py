"""The life of a case (``logic.cases``): the lifecycle's moves and refusals (409 naming the current
state), the SLA timers each move sets or cancels, a breach that escalates once, confirmation before
close (the customer, an agent with the channel, or the timeout), the satisfaction score, goodwill."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.feedback.logic import cases
from services.feedback.logic.cases import CancelTimer, CaseRecord, SetTimer
from services.feedback.models.cases import CONFIRMATION_DAYS
from services.feedback.models.events import CaseClosed, CaseOpened, GoodwillRequested
from shared.errors import Conflict, Unprocessable

# Thursday 3 December 2026, 10:00 in Seoul: the front line works 09:00-21:00 every day.
OPENED = datetime(2026, 12, 3, 1, 0, tzinfo=UTC)
CASE_ID = "case_01JF0000000000000000000000"
CUSTOMER = "cus_01JF0000000000000000000001"


def opened(priority: str = "high", customer: str | None = CUSTOMER) -> CaseRecord:
    change = cases.open_case(
        case_id=CASE_ID,
        origin="mention",
        customer_id=customer,
        subject="x: wait",
        description="1시간 기다렸어요",
        category="service",
        store_id="gangnam",
        priority=priority,  # type: ignore[arg-type]
        by="system",
        now=OPENED,
        mention_key="x#1",
    )
    return change.case


def sets(change: cases.Change) -> dict[str, datetime]:
    return {op.name: op.at for op in change.timers if isinstance(op, SetTimer)}


def cancels(change: cases.Change) -> set[str]:
    return {op.name for op in change.timers if isinstance(op, CancelTimer)}


# -- opening ------------------------------------------------------------------------------------


def test_given_a_complaint_when_its_case_opens_then_it_is_new_with_both_sla_timers_and_an_event() -> None:
    change = cases.open_case(
        case_id=CASE_ID,
        origin="mention",
        customer_id=CUSTOMER,
        subject="x: wait",
        description=None,
        category="service",
        store_id=None,
        priority="high",
        by="system",
        now=OPENED,
    )
    assert change.case.status == "new"
    assert change.case.team == "frontline"
    assert change.case.version == 1
    # high priority: first response within 1 business hour, resolution within 8, on the front line's calendar
    assert change.case.clock.due("first_response") == OPENED + timedelta(hours=1)
    assert change.case.clock.due("resolution") == OPENED + timedelta(hours=8)
    # and one timer waits on the Scheduler: the next deadline, the first response's
    assert sets(change) == {f"{CASE_ID}-first-response": OPENED + timedelta(hours=1)}
    assert change.events == (
        CaseOpened(case_id=CASE_ID, customer_id=CUSTOMER, origin="mention", opened_at=OPENED),
    )


# -- the lifecycle --------------------------------------------------------------------------------


def test_given_a_new_case_when_acknowledged_then_the_first_response_is_met_and_the_resolution_armed() -> None:
    case = opened()
    change = cases.transition(case, "acknowledged", by="agent-1", now=OPENED + timedelta(minutes=5))
    assert change.case.status == "acknowledged"
    assert change.case.version == 2
    assert change.case.clock.first_response.met_at == OPENED + timedelta(minutes=5)
    # the first response's timer goes; the resolution's deadline is the next, and gets the timer
    assert cancels(change) == {f"{CASE_ID}-first-response"}
    assert sets(change) == {f"{CASE_ID}-resolution": OPENED + timedelta(hours=8)}


@pytest.mark.parametrize(
    ("status", "to"),
    [
        ("new", "reopened"),
        ("acknowledged", "acknowledged"),
        ("in_progress", "in_progress"),
        ("closed", "resolved"),
    ],
)
def test_given_a_move_the_lifecycle_does_not_allow_then_409_names_the_current_state(
    status: str, to: str
) -> None:
    case = CaseRecord(**{**vars(opened()), "status": status})
    with pytest.raises(Conflict) as refused:
        cases.transition(case, to, by="agent-1", now=OPENED)  # type: ignore[arg-type]
    assert refused.value.code == "invalid_transition"
    assert refused.value.details[0]["current"] == status


def test_given_waiting_for_the_customer_then_the_resolution_clock_pauses_and_resumes_with_what_was_left() -> (
    None
):
    case = cases.transition(opened(), "in_progress", by="a", now=OPENED + timedelta(hours=1)).case
    waiting = cases.transition(case, "waiting", by="a", now=OPENED + timedelta(hours=2))
    assert waiting.case.clock.resolution.paused
    assert cancels(waiting) == {f"{CASE_ID}-resolution"}
    # the customer answers 3 hours later: 6 business hours of resolution were left
    back = cases.customer_reply(
        waiting.case, "여기 영수증이요", by="customer", now=OPENED + timedelta(hours=5)
    )
    assert back.case.status == "in_progress"
    assert sets(back) == {f"{CASE_ID}-resolution": OPENED + timedelta(hours=11)}


def test_given_a_resolution_then_it_needs_its_text_meets_both_clocks_and_sets_the_confirmation_timeout() -> (
    None
):
    case = opened()
    with pytest.raises(Unprocessable):
        cases.transition(case, "resolved", by="a", now=OPENED)
    at = OPENED + timedelta(minutes=30)
    change = cases.transition(
        case, "resolved", by="a", now=at, resolution="새 음료로 교환해 드렸어요", one_stop=True
    )
    assert change.case.status == "resolved"
    assert change.case.one_stop
    assert change.case.resolved_at == at
    assert change.case.clock.first_response.met_at == at
    assert change.case.clock.resolution.met_at == at
    assert sets(change) == {f"{CASE_ID}-confirmation": at + timedelta(days=CONFIRMATION_DAYS)}
    assert cancels(change) == {f"{CASE_ID}-first-response"}  # the resolution's was never armed
    assert change.logs[0].visibility == "customer"
    assert change.logs[0].text == "새 음료로 교환해 드렸어요"


def test_given_a_reopened_case_then_it_cannot_be_called_one_stop() -> None:
    resolved = cases.transition(opened(), "resolved", by="a", now=OPENED, resolution="done").case
    reopened = cases.transition(resolved, "reopened", by="a", now=OPENED + timedelta(hours=1)).case
    with pytest.raises(Conflict) as refused:
        cases.transition(
            reopened, "resolved", by="a", now=OPENED + timedelta(hours=2), resolution="done", one_stop=True
        )
    assert refused.value.code == "not_one_stop"


# -- confirmation and satisfaction ---------------------------------------------------------------------


def test_given_a_resolved_case_when_the_customer_confirms_in_the_app_then_it_closes_and_is_scored_once() -> (
    None
):
    resolved = cases.transition(
        opened(), "resolved", by="a", now=OPENED, resolution="done", one_stop=True
    ).case
    at = OPENED + timedelta(hours=3)
    closed = cases.confirm(resolved, solved=True, via="app", confirmed_at=at, by="customer", now=at)
    assert closed.case.status == "closed"
    assert closed.case.confirmed_by == "app"
    assert isinstance(closed.events[0], CaseClosed)
    assert closed.events[0].one_stop
    assert cancels(closed) == {f"{CASE_ID}-confirmation"}
    scored = cases.score(closed.case, 5, "빨랐어요", by="customer", now=at)
    assert scored.case.csat == 5
    with pytest.raises(Conflict) as again:
        cases.score(scored.case, 4, None, by="customer", now=at)
    assert again.value.code == "already_scored"


def test_given_a_case_not_resolved_then_it_cannot_be_confirmed_nor_scored() -> None:
    with pytest.raises(Conflict) as refused:
        cases.confirm(opened(), solved=True, via="phone", confirmed_at=OPENED, by="a", now=OPENED)
    assert refused.value.code == "not_awaiting_confirmation"
    with pytest.raises(Conflict) as unscored:
        cases.score(opened(), 5, None, by="customer", now=OPENED)
    assert unscored.value.code == "case_not_closed"


def test_given_the_customer_says_it_is_not_solved_then_the_case_reopens() -> None:
    resolved = cases.transition(opened(), "resolved", by="a", now=OPENED, resolution="done").case
    change = cases.confirm(resolved, solved=False, via="app", confirmed_at=OPENED, by="customer", now=OPENED)
    assert change.case.status == "reopened"
    assert change.case.reopened == 1


def test_given_an_agent_records_a_phone_confirmation_then_the_channel_and_time_are_kept() -> None:
    resolved = cases.transition(opened(), "resolved", by="a", now=OPENED, resolution="done").case
    said = OPENED + timedelta(hours=1)
    change = cases.confirm(
        resolved, solved=True, via="phone", confirmed_at=said, by="agent-1", now=OPENED + timedelta(hours=2)
    )
    assert (change.case.confirmed_by, change.case.confirmed_at) == ("phone", said)


def test_given_no_answer_for_the_confirmation_period_then_the_timer_closes_the_case_by_timeout() -> None:
    resolved = cases.transition(opened(), "resolved", by="a", now=OPENED, resolution="done").case
    due = OPENED + timedelta(days=CONFIRMATION_DAYS)
    early = cases.timer_fired(resolved, "confirmation", due.isoformat(), now=due - timedelta(hours=1))
    assert not early.changed
    change = cases.timer_fired(resolved, "confirmation", due.isoformat(), now=due)
    assert change.case.status == "closed"
    assert change.case.confirmed_by == "timeout"


# -- the SLA timers ---------------------------------------------------------------------------------------


def test_given_no_first_response_in_time_then_the_breach_escalates_to_follow_up_once_and_alerts() -> None:
    case = opened()
    due = case.clock.due("first_response")
    assert due is not None
    change = cases.timer_fired(case, "first_response", due.isoformat(), now=due)
    assert change.case.escalated
    assert change.case.escalated_by == "sla"
    assert change.case.team == "follow_up"
    assert change.case.clock.first_response.breached_at == due
    assert change.alert
    assert [log.kind for log in change.logs] == ["sla_breached", "escalated"]
    # SQS brings the same firing again: nothing more
    again = cases.timer_fired(change.case, "first_response", due.isoformat(), now=due + timedelta(seconds=5))
    assert not again.changed
    assert again.alert is None


def test_given_a_timer_for_a_deadline_the_case_no_longer_has_then_nothing_happens() -> None:
    case = opened()
    due = case.clock.due("first_response")
    assert due is not None
    met = cases.transition(case, "acknowledged", by="a", now=OPENED + timedelta(minutes=1)).case
    assert not cases.timer_fired(met, "first_response", due.isoformat(), now=due).changed
    assert not cases.timer_fired(
        case, "first_response", (due - timedelta(minutes=1)).isoformat(), now=due
    ).changed
    assert not cases.timer_fired(case, "nonsense", due.isoformat(), now=due).changed


def test_given_an_escalated_case_then_escalating_again_is_409() -> None:
    escalated = cases.escalate(opened(), by="a", now=OPENED, reason="hard one", via="agent").case
    with pytest.raises(Conflict) as refused:
        cases.escalate(escalated, by="a", now=OPENED, reason="again", via="agent")
    assert refused.value.code == "already_escalated"


def test_given_a_reply_the_customer_sees_then_it_is_a_first_response_and_an_internal_note_is_not() -> None:
    note = cases.note(
        opened(), "check CCTV", visibility="internal", by="a", now=OPENED + timedelta(minutes=1)
    )
    assert note.case.clock.first_response.met_at is None
    reply = cases.note(
        opened(), "죄송합니다", visibility="customer", by="a", now=OPENED + timedelta(minutes=1)
    )
    assert reply.case.clock.first_response.met_at == OPENED + timedelta(minutes=1)


# -- goodwill -----------------------------------------------------------------------------------------------


def test_given_a_case_without_customer_then_goodwill_is_refused_and_with_one_the_request_is_its_event() -> (
    None
):
    event = GoodwillRequested(
        grant_id="gw_01JF0000000000000000000002",
        case_id=CASE_ID,
        customer_id=CUSTOMER,
        agent_id="agent-1",
        points=3000,
        reason="sorry",
        requested_at=OPENED,
    )
    with pytest.raises(Conflict) as refused:
        cases.goodwill(opened(customer=None), event.grant_id, 3000, event, by="agent-1", now=OPENED)
    assert refused.value.code == "case_without_customer"
    change = cases.goodwill(opened(), event.grant_id, 3000, event, by="agent-1", now=OPENED)
    assert change.events == (event,)
    assert change.logs[0].data["points"] == 3000

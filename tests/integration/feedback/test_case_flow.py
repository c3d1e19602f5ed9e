"""A complaint's whole way on moto, through the real functions: a classified mention on the mentions
topic is fanned out by the subscriptions' filter policies (a case, an alert, a count), the case is
worked by an agent through the API, its SLA timer breaches and escalates it once, goodwill is asked
of the rewards service by an event and its answer recorded, the customer confirms and scores it in
the app, and the week's digest shows the theme with the customer's value segment."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta

import boto3
import pytest

from services.feedback.dal.mentions import DynamoMentions, envelope
from services.feedback.handlers import api as api_handler
from services.feedback.logic.cases import CaseRecord
from services.feedback.models.intake import Classified
from services.feedback.models.mention import Classification, Mention, attributes
from services.feedback.topology import DIGEST, FEEDBACK, MENTIONS
from services.profile.models.events import CustomerRegistered, ValueSegmentChanged
from shared.ids import new_id, ulid
from shared.topology import Function
from tests.integration.apigw import Invoker, LambdaContext
from tests.integration.conftest import FROZEN_AT, BusWatch, scan_all, table
from tests.integration.feedback.conftest import Feedback

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish:UserWarning")
AGENT, SUB = "agent-sooyeon", "sub-minji"


def mention(
    *, complaint: bool, reach: int, handle: str = "minji_kim", customer: str | None = None
) -> Classified:
    return Classified(
        mention=Mention(
            source="x",
            external_id=new_id("tw"),
            author_handle=handle,
            text="강남점 라떼 40분 기다렸는데 식어서 나왔어요. 최악",
            url="https://x.com/minji_kim/status/1",
            posted_at=FROZEN_AT,
            reach=reach,
        ),
        found=Classification(
            language="ko",
            sentiment="negative",
            complaint=complaint,
            score=-0.8,
            themes=("wait", "quality"),
            products=("latte",),
            stores=("gangnam",),
        ),
        customer_id=customer,
        received_at=FROZEN_AT,
    )


def publish(feedback: Feedback, found: Classified) -> None:
    """As the intake does: kept once, then on the topic with its attributes."""
    DynamoMentions(table(FEEDBACK)).keep(new_id("delivery"), [found], FROZEN_AT)
    boto3.client("sns").publish(
        TopicArn=feedback.messaging.topic_arns[MENTIONS.id],
        Message=envelope(found),
        MessageAttributes=attributes(found.mention, found.found),  # type: ignore[arg-type]
    )
    feedback.drain()


@pytest.fixture
def customer(feedback: Feedback, frozen_clock: Callable[[datetime], None]) -> str:
    customer_id = new_id("cus")
    feedback.tell(
        "dangol.profile",
        CustomerRegistered(customer_id=customer_id, subject=SUB, locale="ko-KR", time_zone="Asia/Seoul"),
        ValueSegmentChanged(customer_id=customer_id, previous=None, segment="top", score=91, model_version=1),
    )
    return customer_id


def test_a_loud_complaint_becomes_one_case_one_alert_and_one_count(feedback: Feedback, customer: str) -> None:
    # Given a complaint of a linked customer reaching 1,500 people, and a mild remark
    loud = mention(complaint=True, reach=1500, customer=customer)
    # When the topic takes them (the complaint twice: SNS may deliver again)
    publish(feedback, loud)
    publish(feedback, loud)
    publish(feedback, mention(complaint=False, reach=10))
    # Then one case is open on the front line, high priority, linked to the customer
    answer = feedback.call("GET", "/cases", sub=AGENT, groups="agent", team="frontline", status="new")
    assert answer.status == 200, answer.body
    listed = answer.json()
    assert [(c["priority"], c["customer_id"]) for c in listed["items"]] == [("high", customer)]
    case = feedback.call(
        "GET", "/cases/{case_id}", sub=AGENT, groups="agent", case_id=listed["items"][0]["case_id"]
    ).json()
    assert case["mention"]["reach"] == 1500
    assert case["store_id"] == "gangnam"
    # and its next SLA deadline (the first response's) waits on the Scheduler, deleted once it fires
    timers = feedback.schedules()
    assert sorted(timers) == [f"{case['case_id']}-first-response"]
    assert all(t["after"] == "DELETE" and t["expression"].startswith("at(") for t in timers.values())


def test_a_case_breaches_escalates_once_is_resolved_in_one_stop_with_goodwill_and_confirmed(
    feedback: Feedback,
    customer: str,
    frozen_clock: Callable[[datetime], None],
    lambda_function: Callable[[Function], Invoker],
) -> None:
    watch = BusWatch(feedback.bus, ["GoodwillRequested", "CaseClosed"])
    publish(feedback, mention(complaint=True, reach=1500, customer=customer))
    case_id = feedback.call("GET", "/cases", sub=AGENT, groups="agent").json()["items"][0]["case_id"]
    # When nobody answers within the hour, the first-response timer fires (and SQS brings it twice)
    frozen_clock(FROZEN_AT + timedelta(hours=1))
    feedback.fire(f"{case_id}-first-response")
    feedback.sla.deliver(feedback.sla.delivered)
    # Then the case is breached and with the follow-up team, escalated once, by the SLA
    case = feedback.call("GET", "/cases/{case_id}", sub=AGENT, groups="agent", case_id=case_id).json()
    assert (case["team"], case["escalated_by"], case["priority"]) == ("follow_up", "sla", "high")
    assert case["first_response"]["breached_at"] is not None
    assert [e["kind"] for e in case["timeline"]].count("escalated") == 1
    # When the follow-up agent solves it in one stop and grants 3,000 points
    frozen_clock(FROZEN_AT + timedelta(hours=2))
    resolved = feedback.call(
        "POST",
        "/cases/{case_id}/transitions",
        sub=AGENT,
        groups="agent",
        case_id=case_id,
        body={"to": "resolved", "resolution": "새 라떼와 사과를 드렸어요", "one_stop": True},
    )
    assert resolved.status == 200, resolved.body
    granted = feedback.call(
        "POST",
        "/cases/{case_id}/goodwill",
        sub=AGENT,
        groups="agent",
        case_id=case_id,
        body={"points": 3000, "reason": "sorry"},
    )
    assert granted.status == 202
    assert granted.json()["status"] == "requested"
    [asked] = watch.data("GoodwillRequested")
    assert (asked["case_id"], asked["customer_id"], asked["points"]) == (case_id, customer, 3000)
    # and the rewards service answers (twice, as a redelivery would)
    from services.rewards.models.events import GoodwillCredited  # the producer's own model

    credited = GoodwillCredited(
        grant_id=asked["grant_id"],
        case_id=case_id,
        customer_id=customer,
        points=3000,
        entry_id=ulid(),
        credited_at=FROZEN_AT + timedelta(hours=2),
    )
    feedback.tell("dangol.rewards", credited)
    feedback.tell("dangol.rewards", credited)
    case = feedback.call("GET", "/cases/{case_id}", sub=AGENT, groups="agent", case_id=case_id).json()
    assert [(g["status"], g["points"]) for g in case["grants"]] == [("credited", 3000)]
    assert [e["kind"] for e in case["timeline"]].count("goodwill_credited") == 1
    # Then the customer sees it awaiting their word, confirms it and scores it
    mine = feedback.call("GET", "/me/cases/{case_id}", sub=SUB, groups="customer", case_id=case_id).json()
    assert mine["awaiting_confirmation"]
    assert mine["resolution"] == "새 라떼와 사과를 드렸어요"
    assert all(r["visibility"] == "customer" for r in mine["replies"])
    confirmed = feedback.call(
        "POST",
        "/me/cases/{case_id}/confirmation",
        sub=SUB,
        groups="customer",
        case_id=case_id,
        body={"solved": True},
    )
    assert confirmed.json()["status"] == "closed"
    scored = feedback.call(
        "POST",
        "/me/cases/{case_id}/satisfaction",
        sub=SUB,
        groups="customer",
        case_id=case_id,
        body={"score": 5},
    )
    assert scored.json()["csat"] == 5
    [closed] = watch.data("CaseClosed")
    assert closed["one_stop"]
    assert closed["breached"]
    assert closed["confirmed_by"] == "app"
    # and a move the lifecycle does not allow is a 409 naming where the case stands
    refused = feedback.call(
        "POST",
        "/cases/{case_id}/transitions",
        sub=AGENT,
        groups="agent",
        case_id=case_id,
        body={"to": "in_progress"},
    )
    assert refused.status == 409
    assert refused.error["details"][0]["current"] == "closed"
    # And the week's digest lists the theme with its count and the customer's value segment
    frozen_clock(FROZEN_AT + timedelta(days=7))
    digest_fn = lambda_function(DIGEST)
    week = digest_fn.handler({}, LambdaContext.of(DIGEST))["week"]
    digest = feedback.call("GET", "/insights/digests/{week}", sub=AGENT, groups="agent", week=week).json()
    wait = next(r for r in digest["themes"] if r["key"] == "wait")
    assert (wait["mentions"], wait["complaints"], wait["segments"]) == (1, 1, {"top": 1})
    assert digest["sla"]["cases"] == 1
    assert digest["sla"]["one_stop_pct"] == 100.0
    assert digest["sla"]["breached"] == 1


def test_another_customers_case_is_not_found_and_a_case_without_a_customer_takes_no_goodwill(
    feedback: Feedback, customer: str
) -> None:
    publish(feedback, mention(complaint=True, reach=5, handle="someone_else"))
    case_id = feedback.call("GET", "/cases", sub=AGENT, groups="agent").json()["items"][0]["case_id"]
    assert (
        feedback.call("GET", "/me/cases/{case_id}", sub=SUB, groups="customer", case_id=case_id).status == 404
    )
    refused = feedback.call(
        "POST",
        "/cases/{case_id}/goodwill",
        sub=AGENT,
        groups="agent",
        case_id=case_id,
        body={"points": 10, "reason": "x"},
    )
    assert refused.status == 409
    assert refused.error["code"] == "case_without_customer"
    assert feedback.call("GET", "/me/cases", sub=SUB, groups="customer").json()["items"] == []


def test_an_erased_customer_leaves_no_word_of_theirs_in_feedback(feedback: Feedback, customer: str) -> None:
    # Given her complaint on X, a case from it with a reply, and her own case from the app
    publish(feedback, mention(complaint=True, reach=5, customer=customer))
    case_id = feedback.call("GET", "/cases", sub=AGENT, groups="agent").json()["items"][0]["case_id"]
    replied = feedback.call(
        "POST",
        "/cases/{case_id}/notes",
        sub=AGENT,
        groups="agent",
        case_id=case_id,
        body={"text": "민지님, 죄송합니다", "visibility": "customer"},
    )
    assert replied.status == 201, replied.body
    raised = feedback.call(
        "POST",
        "/me/cases",
        sub=SUB,
        groups="customer",
        body={"subject": "환불", "description": "카드 결제가 두 번 됐어요"},
    )
    assert raised.status == 201, raised.body
    # When the profile service erases her
    from services.profile.models.events import CustomerErased  # the producer's own model

    feedback.tell("dangol.profile", CustomerErased(customer_id=customer, erased_by="customer"))
    # Then her login no longer reaches a case, and nothing she or the agent wrote to her is kept
    # (but in the agent's own stored answer to the reply, filed under the agent, for its 24 hours)
    assert feedback.call("GET", "/me/cases", sub=SUB, groups="customer").status == 404
    words = ("강남점", "민지님", "카드 결제", "환불")
    kept = [
        i["pk"]["S"] for i in scan_all(FEEDBACK) if any(w in json.dumps(i, ensure_ascii=False) for w in words)
    ]
    assert len(kept) == 1, kept
    assert kept[0].startswith(f"IDEMPOTENCY#{AGENT}#"), kept
    # And the cases stay, for the figures, with no customer
    case = feedback.call("GET", "/cases/{case_id}", sub=AGENT, groups="agent", case_id=case_id).json()
    assert (case["customer_id"], case["subject"], case["mention"]) == (None, "(erased)", None)


def test_changes_in_the_same_second_each_keep_their_timeline_line(feedback: Feedback, customer: str) -> None:
    # Given a case, and a clock that does not move (a script, or the simulated clock, is that fast)
    publish(feedback, mention(complaint=True, reach=5, customer=customer))
    case_id = feedback.call("GET", "/cases", sub=AGENT, groups="agent").json()["items"][0]["case_id"]
    # When the agent acknowledges it, writes to the customer, notes something and resolves it
    moves: list[tuple[str, dict[str, object]]] = [
        ("/cases/{case_id}/transitions", {"to": "acknowledged"}),
        ("/cases/{case_id}/notes", {"text": "새 라떼로 드릴게요", "visibility": "customer"}),
        ("/cases/{case_id}/notes", {"text": "store manager called", "visibility": "internal"}),
        ("/cases/{case_id}/transitions", {"to": "resolved", "resolution": "교환해 드렸어요"}),
    ]
    for resource, body in moves:
        answer = feedback.call("POST", resource, sub=AGENT, groups="agent", case_id=case_id, body=body)
        assert answer.status in (200, 201), answer.body
    # Then every one of them is on the timeline, in order: none overwrote another
    case = feedback.call("GET", "/cases/{case_id}", sub=AGENT, groups="agent", case_id=case_id).json()
    assert [(e["kind"], e["text"]) for e in case["timeline"]][1:] == [
        ("acknowledged", None),
        ("reply", "새 라떼로 드릴게요"),
        ("note", "store manager called"),
        ("resolved", "교환해 드렸어요"),
    ]


def test_a_case_the_system_changed_under_a_request_is_read_again_not_refused(
    feedback: Feedback, customer: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a case, read by the API the moment before something else changed it (a goodwill
    # credit, an SLA timer: here an agent's note)
    publish(feedback, mention(complaint=True, reach=5, customer=customer))
    case_id = feedback.call("GET", "/cases", sub=AGENT, groups="agent").json()["items"][0]["case_id"]
    cases_store = api_handler.dependencies().cases
    stale = cases_store.load(case_id)
    note = {"text": "store manager called", "visibility": "internal"}
    noted = feedback.call(
        "POST", "/cases/{case_id}/notes", sub=AGENT, groups="agent", case_id=case_id, body=note
    )
    assert noted.status == 201, noted.body
    reads: list[int] = []
    fresh_get = cases_store.get

    def first_read_stale(read_id: str) -> CaseRecord | None:
        reads.append(1)
        return stale if len(reads) == 1 else fresh_get(read_id)

    monkeypatch.setattr(cases_store, "get", first_read_stale)
    # When the agent acknowledges it (naming no version)
    moved = feedback.call(
        "POST", "/cases/{case_id}/transitions", sub=AGENT, groups="agent", case_id=case_id,
        body={"to": "acknowledged"},
    )  # fmt: skip
    # Then the API read it again and made the move on what it is now: no 409, both on the timeline
    assert moved.status == 200, moved.body
    assert len(reads) == 2
    kinds = [e["kind"] for e in moved.json()["timeline"]]
    assert kinds[-2:] == ["note", "acknowledged"], kinds

"""Campaigns end to end on moto: a draft, its launch, the planner's batches, the sender's
decisions (consent, address, control, quiet hours, caps), the e-mails SES took, the report and
the message log; redelivery and a crash between send and record never send twice."""

from __future__ import annotations

import email
import email.policy
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import boto3
import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from infra.local import provision
from infra.topology import SYSTEM
from services.campaigns.dal.campaigns import DynamoCampaigns, due_item
from services.campaigns.dal.segments import DynamoSegments
from services.campaigns.dal.templates import DynamoTemplates
from services.campaigns.handlers import sender as sender_module
from services.campaigns.logic.sending import in_control
from services.campaigns.models.cards import ContactCard
from services.campaigns.topology import API, CAMPAIGNS, PLAN_QUEUE, PLANNER, RELEASER, SEND_QUEUE, SENDER
from shared.ids import new_id
from shared.topology import Function, Queue
from tests.integration.apigw import ApiResponse, Invoker, LambdaContext, api_event
from tests.integration.conftest import EMAIL_SENDER, FROZEN_AT, REGION, STAGE, QueueDrain, table

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish:UserWarning")


KO_EN = {
    "ko-KR": {
        "subject": "{{ customer.name }}님, 다시 만나요",
        "html": "<p>{{ customer.name }}님</p>",
        "text": "{{ customer.name }}님",
    },
    "en-US": {
        "subject": "We miss you, {{ customer.name }}",
        "html": "<p>Hi {{ customer.name }}</p>",
        "text": "Hi {{ customer.name }}",
    },
}


@dataclass
class FakeCards:
    """The profile service's contact cards, as the tests give them (the real ones are invoked)."""

    cards_by_id: dict[str, ContactCard] = field(default_factory=dict)
    asked: list[list[str]] = field(default_factory=list)

    def cards(self, customer_ids: Sequence[str], purpose: str) -> list[ContactCard]:
        self.asked.append(list(customer_ids))
        return [self.cards_by_id.get(c) or ContactCard(customer_id=c, status="unknown") for c in customer_ids]


@dataclass
class World:
    api: Invoker
    planner: QueueDrain
    sender: QueueDrain
    releaser: Invoker
    cards: FakeCards
    clock: Callable[[datetime], None]
    now: datetime = FROZEN_AT

    def call(
        self, method: str, resource: str, params: dict[str, str] | None = None, **kw: Any
    ) -> ApiResponse:
        event = api_event(
            "profile_get_customer",
            method=method,
            resource=resource,
            path_parameters=params,
            path=None if params else resource,
            groups="marketing",
            sub="staff-1",
            **kw,
        )
        return self.api(event)

    def customer(
        self,
        *,
        consents: dict[str, bool] | None = None,
        zone: str = "Asia/Seoul",
        locale: str = "ko-KR",
        email_address: str | None = "",
        status: str = "active",
    ) -> str:
        customer_id = new_id("cus")
        address = f"{customer_id.lower()}@example.com" if email_address == "" else email_address
        self.cards.cards_by_id[customer_id] = ContactCard(
            customer_id=customer_id,
            status=status,  # type: ignore[arg-type]
            name=f"Kim {customer_id[-4:]}",
            locale=locale,
            time_zone=zone,
            email=address,
            consents={"email.marketing": True} if consents is None else consents,
            unsubscribe_urls={"email.marketing": f"https://api.dangol.test/unsubscribe/{customer_id}"},
        )
        return customer_id

    def segment(self, members: list[str]) -> str:
        segments = DynamoSegments(table(CAMPAIGNS))
        segment_id = new_id("seg")
        at = self.now.isoformat()
        segments.create(
            {
                "id": segment_id,
                "name": "lapsed",
                "rule": {"field": "tier", "op": "eq", "value": "gold"},
                "version": 1,
                "status": "ready",
                "evaluated": len(members),
                "created_at": at,
                "updated_at": at,
            }
        )
        for customer_id in members:
            segments.add(segment_id, customer_id)
        return segment_id

    def template(self, *, purpose: str = "marketing") -> str:
        template_id = new_id("tpl")
        at = self.now.isoformat()
        definition = {
            "name": "winback",
            "channel": "email",
            "purpose": purpose,
            "sender": "Dangol Bakery",
            "locales": KO_EN,
            "default_locale": "ko-KR",
        }
        DynamoTemplates(table(CAMPAIGNS)).create(
            {"id": template_id, "version": 1, "definition": definition, "created_at": at, "updated_at": at}
        )
        return template_id

    def campaign(self, segment_id: str, template_id: str, **overrides: Any) -> dict[str, Any]:
        body = {
            "name": "winback",
            "segment_id": segment_id,
            "template_id": template_id,
            "channel": "email",
            "control_percent": 10,
            "schedule": {"kind": "now"},
            **overrides,
        }
        created = self.call("POST", "/admin/campaigns", body=body)
        assert created.status == 201, created.body
        return dict(created.json())

    def launch(self, campaign_id: str) -> dict[str, Any]:
        launched = self.call("POST", "/admin/campaigns/{campaign_id}/launch", {"campaign_id": campaign_id})
        assert launched.status == 200, launched.body
        return dict(launched.json())

    def run(self) -> None:
        """The queues drained as Lambda drains them: the planner's steps, then the sender's batches."""
        while self.planner() + self.sender():
            pass

    def at(self, moment: datetime) -> None:
        """The clock moves to ``moment``; the releaser's schedule fires; the queues drain."""
        self.now = moment
        self.clock(moment)
        self.releaser.handler({}, LambdaContext.of(self.releaser.function))
        self.run()

    def report(self, campaign_id: str) -> dict[str, Any]:
        shown = self.call("GET", "/admin/campaigns/{campaign_id}/report", {"campaign_id": campaign_id})
        assert shown.status == 200, shown.body
        return dict(shown.json())

    def log(self, campaign_id: str, **query: str) -> list[dict[str, Any]]:
        lines: list[dict[str, Any]] = []
        cursor = None
        while True:
            page = self.call(
                "GET",
                "/admin/campaigns/{campaign_id}/messages",
                {"campaign_id": campaign_id},
                query={"limit": "7", **query, **({"cursor": cursor} if cursor else {})},
            )
            assert page.status == 200, page.body
            lines += page.json()["items"]
            cursor = page.json().get("next_cursor")
            if not cursor:
                return lines


def mails() -> list[email.message.Message]:
    """What SES took, parsed."""
    backend = ses_backends[DEFAULT_ACCOUNT_ID][REGION]
    return [email.message_from_string(m.raw_data, policy=email.policy.default) for m in backend.sent_messages]


def mails_to(customer_id: str) -> list[email.message.Message]:
    return [m for m in mails() if m["X-Dangol-Ref"].split("/")[1] == customer_id]


W = TypeVar("W", bound=World)


def make_world(
    bus_name: str,
    lambda_function: Callable[[Function], Invoker],
    frozen_clock: Callable[[datetime], None],
    monkeypatch: pytest.MonkeyPatch,
    *,
    kind: type[W],
    drains: Mapping[str, tuple[Function, Queue]] | None = None,
    **extra: Any,
) -> W:
    """The campaigns service's messaging on moto and its functions, as ``kind`` (``World`` or a
    subclass): ``drains`` names more queue consumers (field: (function, queue)), ``extra`` fields."""
    clients = (boto3.client("sqs"), boto3.client("sns"), boto3.client("events"))
    messaging = provision.create_messaging(clients, SYSTEM, stage=STAGE, bus=bus_name)  # type: ignore[arg-type]
    boto3.client("sesv2").create_email_identity(EmailIdentity=EMAIL_SENDER)
    monkeypatch.setenv("PRIORITY_STEP_S", "0")  # moto keeps a delayed message hidden in real time
    monkeypatch.setenv("SEND_RATE_PER_S", "1000")  # the pacing has its unit test
    sender = lambda_function(SENDER)
    cards = FakeCards()
    sender_module.dependencies().cards = cards  # the profile service's cards, as the test gives them
    more = {name: QueueDrain(lambda_function(f), messaging, q) for name, (f, q) in (drains or {}).items()}
    return kind(
        api=lambda_function(API),
        planner=QueueDrain(lambda_function(PLANNER), messaging, PLAN_QUEUE),
        sender=QueueDrain(sender, messaging, SEND_QUEUE),
        releaser=lambda_function(RELEASER),
        cards=cards,
        clock=frozen_clock,
        **more,
        **extra,
    )


@pytest.fixture
def world(
    moto: None,
    bus: str,
    lambda_function: Callable[[Function], Invoker],
    frozen_clock: Callable[[datetime], None],
    monkeypatch: pytest.MonkeyPatch,
) -> World:
    return make_world(bus, lambda_function, frozen_clock, monkeypatch, kind=World)


def test_every_consenting_customer_outside_the_control_group_gets_exactly_one_email(world: World) -> None:
    # Given 30 customers who allow marketing e-mail, one who does not, one erased, one with no e-mail
    # (every third in Los Angeles, in English, where it is 20:00; the rest in Seoul at noon)
    mailable = [
        world.customer(locale="en-US", zone="America/Los_Angeles") if i % 3 == 0 else world.customer()
        for i in range(30)
    ]
    silent = world.customer(consents={"email.marketing": False})
    erased = world.customer(status="erased")
    unreachable = world.customer(email_address=None)
    segment = world.segment([*mailable, silent, erased, unreachable])
    # And a campaign with a 10% control group, sent now
    campaign = world.campaign(segment, world.template())
    assert campaign["status"] == "draft"
    # When it is launched and the queues drain
    launched = world.launch(campaign["id"])
    assert launched["status"] == "sending"
    world.run()
    # Then every mailable customer outside the control group has exactly one e-mail, in their language
    control = {c for c in mailable if in_control(campaign["id"], c, 10)}
    for customer_id in mailable:
        got = mails_to(customer_id)
        assert len(got) == (0 if customer_id in control else 1), customer_id
    english = next(c for i, c in enumerate(mailable) if i % 3 == 0 and c not in control)
    (mail,) = mails_to(english)
    assert mail["Subject"] == f"We miss you, Kim {english[-4:]}"
    assert mail["List-Unsubscribe"] == f"<https://api.dangol.test/unsubscribe/{english}>"
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    korean = next(c for i, c in enumerate(mailable) if i % 3 and c not in control)
    (mail,) = mails_to(korean)
    assert mail["Subject"] == f"(광고) Kim {korean[-4:]}님, 다시 만나요"  # Korea: an advertisement says so
    # And nobody else got anything
    for customer_id in (silent, erased, unreachable):
        assert mails_to(customer_id) == []
    # And the log says why, one line each
    lines = {line["customer_id"]: line for line in world.log(campaign["id"])}
    assert len(lines) == 33
    assert (lines[silent]["decision"], lines[silent]["reason"]) == ("no_consent", "email.marketing")
    assert lines[erased]["decision"] == "erased"
    assert lines[unreachable]["decision"] == "no_address"
    assert {lines[c]["decision"] for c in control} <= {"control"}
    assert all(lines[c]["message_id"] for c in mailable if c not in control)
    # And the report matches the log line by line, and the campaign is done
    report = world.report(campaign["id"])
    counts = report["counts"]
    by_decision: dict[str, int] = {}
    for line in lines.values():
        by_decision[line["decision"]] = by_decision.get(line["decision"], 0) + 1
    assert {k: v for k, v in counts.items() if k in by_decision} == by_decision
    assert (counts["audience"], counts["decided"]) == (33, 33)
    assert report["suppressed"] == {
        "no_consent": 1,
        "capped": 0,
        "no_address": 1,
        "erased": 1,
        "excluded": 0,
        "exited": 0,
    }
    assert report["planned"] is True
    # And its result counts the recipients and the control group it measures against
    result = world.call("GET", "/admin/campaigns/{campaign_id}/results", {"campaign_id": campaign["id"]})
    overall = result.json()["overall"]
    assert (overall["recipients"], overall["control"]) == (counts["sent"], counts["control"])
    assert (
        world.call("GET", "/admin/campaigns/{campaign_id}", {"campaign_id": campaign["id"]}).json()["status"]
        == "done"
    )
    # And the log answers "why didn't this customer get it?" by reason and by customer
    assert [line["customer_id"] for line in world.log(campaign["id"], decision="no_consent")] == [silent]
    assert [line["decision"] for line in world.log(campaign["id"], customer_id=erased)] == ["erased"]


def test_a_redelivered_batch_and_a_second_launch_send_nothing_twice(world: World) -> None:
    # Given a campaign sent to five customers
    customers = [world.customer() for _ in range(5)]
    campaign = world.campaign(world.segment(customers), world.template(), control_percent=0)
    world.launch(campaign["id"])
    world.run()
    assert len(mails()) == 5
    # When every batch is delivered again, and marketing presses launch once more
    world.sender.deliver(world.sender.delivered)
    again = world.launch(campaign["id"])
    world.run()
    # Then nothing more was sent and the report still counts five
    assert len(mails()) == 5
    assert again["runs"] == 1
    assert world.report(campaign["id"])["counts"]["sent"] == 5


def test_a_crash_between_send_and_record_is_recorded_failed_never_sent_again(world: World) -> None:
    # Given a recipient whose send was claimed and never recorded (the function died in between)
    lost, fine = world.customer(), world.customer()
    campaign = world.campaign(world.segment([lost, fine]), world.template(), control_percent=0)
    DynamoCampaigns(table(CAMPAIGNS)).claim(campaign["id"], 1, lost, FROZEN_AT)
    # When the campaign runs
    world.launch(campaign["id"])
    world.run()
    # Then the claimed one gets nothing more (at most one send) and the log says why
    assert mails_to(lost) == []
    assert len(mails_to(fine)) == 1
    (line,) = world.log(campaign["id"], customer_id=lost)
    assert (line["decision"], line["reason"]) == ("failed", "interrupted")


def test_quiet_hours_defer_to_eight_in_the_morning_local_never_drop(world: World) -> None:
    # Given a customer in Chicago, where it is 22:00 (FROZEN_AT is 03:00 UTC), and one in Seoul (12:00)
    night = world.customer(zone="America/Chicago", locale="en-US")
    day = world.customer()
    campaign = world.campaign(world.segment([night, day]), world.template(), control_percent=0)
    # When the campaign is sent now
    world.launch(campaign["id"])
    world.run()
    # Then Seoul has it and Chicago waits until 08:00 there
    assert (len(mails_to(day)), len(mails_to(night))) == (1, 0)
    (line,) = world.log(campaign["id"], customer_id=night)
    assert (line["decision"], line["reason"]) == ("deferred", "quiet_hours")
    eight = datetime(2025, 6, 2, 13, 0, tzinfo=UTC)  # 08:00 CDT
    assert datetime.fromisoformat(line["deferred_until"]) == eight
    assert world.report(campaign["id"])["counts"]["deferred"] == 1
    # When the clock reaches a minute before: nothing; at 08:00 the releaser brings the recipient back
    world.at(eight - timedelta(minutes=1))
    assert mails_to(night) == []
    world.at(eight)
    assert len(mails_to(night)) == 1
    report = world.report(campaign["id"])
    assert (report["counts"]["deferred"], report["counts"]["sent"], report["status"]) == (0, 2, "done")


def test_a_recipient_whose_due_item_was_written_after_its_minute_was_released_still_goes(
    world: World,
) -> None:
    # Given two customers in Chicago deferred to 08:00 there, one of whose due items is not written
    # yet when the releaser passes 08:00 (a write that raced the release)
    on_time, late = (world.customer(zone="America/Chicago", locale="en-US") for _ in range(2))
    campaign = world.campaign(world.segment([on_time, late]), world.template(), control_percent=0)
    world.launch(campaign["id"])
    world.run()
    eight = datetime(2025, 6, 2, 13, 0, tzinfo=UTC)  # 08:00 CDT
    item = due_item(campaign["id"], 1, late, eight)
    table(CAMPAIGNS).delete({"pk": item["pk"], "sk": item["sk"]})
    world.at(eight)
    assert (len(mails_to(on_time)), len(mails_to(late))) == (1, 0)
    # When the item is written a minute late, and the releaser runs the next minute
    DynamoCampaigns(table(CAMPAIGNS)).defer(campaign["id"], 1, [late], eight)
    world.at(eight + timedelta(minutes=1))
    # Then it goes all the same (the releaser looks a few minutes back), once
    assert len(mails_to(late)) == 1
    world.at(eight + timedelta(minutes=2))
    assert len(mails_to(late)) == 1


def test_a_release_that_finds_the_minute_moved_on_while_it_worked_goes_on_to_it(world: World) -> None:
    # Given a customer in Chicago deferred to 08:00 there
    night = world.customer(zone="America/Chicago", locale="en-US")
    campaign = world.campaign(world.segment([night]), world.template(), control_percent=0)
    world.launch(campaign["id"])
    world.run()
    eight = datetime(2025, 6, 2, 13, 0, tzinfo=UTC)  # 08:00 CDT
    # When a release starts at 07:57 and the clock has reached 08:01 by the time it is done (the
    # firings of 07:58 to 08:01 found its lease taken and went away)
    from services.campaigns.handlers import release as release_module
    from services.campaigns.logic import delivery

    world.releaser.handler({}, LambdaContext.of(world.releaser.function))  # its environment, once
    deps = release_module.dependencies()
    world.clock(eight + timedelta(minutes=1))  # where the sender will find the clock
    readings = iter([eight - timedelta(minutes=3), eight + timedelta(minutes=1)])
    released = delivery.release(
        deps.campaigns,
        deps.segments,
        deps.work,
        clock=lambda: next(readings, eight + timedelta(minutes=1)),
        priority_step_s=0,
    )
    world.run()
    # Then it went on to 08:01: the customer has the message
    assert released == 1
    assert len(mails_to(night)) == 1


def test_a_second_campaign_the_same_local_day_is_capped_a_transactional_one_is_not(world: World) -> None:
    # Given two customers who got a marketing e-mail today (the daily cap is one)
    customers = [world.customer() for _ in range(2)]
    segment = world.segment(customers)
    first = world.campaign(segment, world.template(), control_percent=0)
    world.launch(first["id"])
    world.run()
    # When a second marketing campaign and a transactional one go to them the same day
    second = world.campaign(segment, world.template(), control_percent=0)
    world.launch(second["id"])
    notice = world.campaign(segment, world.template(purpose="service"), control_percent=0)
    for customer_id in customers:  # a service message needs consent for service mail
        card = world.cards.cards_by_id[customer_id]
        world.cards.cards_by_id[customer_id] = card.model_copy(
            update={"consents": {**card.consents, "email.service": True}}
        )
    world.launch(notice["id"])
    world.run()
    # Then the second is capped for both, with the reason; the transactional one reaches both
    assert {line["decision"] for line in world.log(second["id"])} == {"capped"}
    assert {line["reason"] for line in world.log(second["id"])} == {"frequency_cap"}
    assert world.report(notice["id"])["counts"]["sent"] == 2
    assert all(len(mails_to(c)) == 2 for c in customers)


def test_09_00_wherever_they_are(world: World) -> None:
    # Given a campaign for 13:00 local today: Seoul (now 12:00) and Bangkok (now 10:00)
    seoul = world.customer()
    bangkok = world.customer(zone="Asia/Bangkok")
    campaign = world.campaign(
        world.segment([seoul, bangkok]),
        world.template(),
        control_percent=0,
        schedule={"kind": "local_time", "date": "2025-06-02", "time": "13:00"},
    )
    # When it is launched: its hour has come to the zones furthest east, so it runs now
    assert world.launch(campaign["id"])["status"] == "sending"
    world.run()
    assert mails() == []
    # Then each customer gets it at 13:00 in their own zone
    world.at(datetime(2025, 6, 2, 4, 0, tzinfo=UTC))  # 13:00 in Seoul
    assert (len(mails_to(seoul)), len(mails_to(bangkok))) == (1, 0)
    world.at(datetime(2025, 6, 2, 6, 0, tzinfo=UTC))  # 13:00 in Bangkok
    assert len(mails_to(bangkok)) == 1


def test_a_scheduled_campaign_starts_at_its_instant_and_a_paused_one_holds(world: World) -> None:
    customers = [world.customer() for _ in range(3)]
    at = FROZEN_AT + timedelta(hours=2)
    campaign = world.campaign(
        world.segment(customers),
        world.template(),
        control_percent=0,
        schedule={"kind": "at", "at": at.isoformat()},
    )
    launched = world.launch(campaign["id"])
    assert launched["status"] == "scheduled"
    assert datetime.fromisoformat(launched["next_run_at"]) == at
    # When it is paused before its instant, nothing goes at the instant
    paused = world.call("POST", "/admin/campaigns/{campaign_id}/pause", {"campaign_id": campaign["id"]})
    assert paused.json()["status"] == "paused"
    world.at(at)
    assert mails() == []
    # When it is resumed, the run starts at the next look
    resumed = world.call("POST", "/admin/campaigns/{campaign_id}/resume", {"campaign_id": campaign["id"]})
    assert resumed.json()["status"] == "scheduled"
    world.at(at + timedelta(minutes=5))
    assert len(mails()) == 3
    assert world.report(campaign["id"])["status"] == "done"


def test_a_cancelled_campaign_sends_nothing_more_and_cannot_be_launched(world: World) -> None:
    customers = [world.customer() for _ in range(3)]
    campaign = world.campaign(world.segment(customers), world.template(), control_percent=0)
    world.launch(campaign["id"])
    cancelled = world.call("POST", "/admin/campaigns/{campaign_id}/cancel", {"campaign_id": campaign["id"]})
    assert cancelled.json()["status"] == "cancelled"
    world.run()
    assert mails() == []
    again = world.call("POST", "/admin/campaigns/{campaign_id}/pause", {"campaign_id": campaign["id"]})
    assert again.status == 409
    assert again.json()["error"]["code"] == "invalid_transition"
    assert again.json()["error"]["details"][0]["msg"] == "cancelled"


@pytest.mark.parametrize(
    ("change", "code", "loc"),
    [
        ({"segment_id": "seg_01JD6Y8A4D1N9V2Q7Y3G5K8M0P"}, "unknown_segment", ["body", "segment_id"]),
        ({"template_id": "tpl_01JD6Y8A4D1N9V2Q7Y3G5K8M0P"}, "unknown_template", ["body", "template_id"]),
        ({"channel": "sms"}, "channel_mismatch", ["body", "channel"]),
        (
            {"schedule": {"kind": "at", "at": "2020-01-01T00:00:00Z"}},
            "schedule_in_past",
            ["body", "schedule", "at"],
        ),
        (
            {"schedule": {"kind": "recurring", "cron": "cron(0 9 30 2 ? *)", "zone": "Asia/Seoul"}},
            "schedule_never_fires",
            ["body", "schedule", "cron"],
        ),
        (
            {"schedule": {"kind": "recurring", "cron": "cron(0 9 * * *)", "zone": "Asia/Seoul"}},
            "invalid_cron",
            ["body", "schedule", "cron"],
        ),
    ],
)
def test_a_campaign_that_cannot_be_kept_is_refused_with_what_to_fix(
    world: World, change: dict[str, Any], code: str, loc: list[str]
) -> None:
    body = {
        "name": "x",
        "segment_id": world.segment([]),
        "template_id": world.template(),
        "channel": "email",
        "schedule": {"kind": "now"},
        **change,
    }
    refused = world.call("POST", "/admin/campaigns", body=body)
    assert refused.status == 422, refused.body
    error = refused.json()["error"]
    assert error["code"] == code
    assert error["details"][0]["loc"] == loc


def test_a_zone_that_is_not_iana_is_refused(world: World) -> None:
    body = {
        "name": "x",
        "segment_id": world.segment([]),
        "template_id": world.template(),
        "channel": "email",
        "schedule": {"kind": "recurring", "cron": "cron(0 9 ? * MON *)", "zone": "KST"},
    }
    refused = world.call("POST", "/admin/campaigns", body=body)
    assert refused.status == 422
    assert refused.json()["error"]["details"][0]["loc"][:3] == ["body", "schedule", "recurring"]


def test_a_recurring_campaign_runs_on_its_cron_each_run_to_everyone_once(world: World) -> None:
    # Given a campaign every day at 13:00 in Seoul (FROZEN_AT is 12:00 there)
    customers = [world.customer() for _ in range(2)]
    schedule = {"kind": "recurring", "cron": "cron(0 13 * * ? *)", "zone": "Asia/Seoul"}
    campaign = world.campaign(
        world.segment(customers), world.template(), control_percent=0, schedule=schedule
    )
    launched = world.launch(campaign["id"])
    first = datetime(2025, 6, 2, 4, 0, tzinfo=UTC)
    assert launched["status"] == "scheduled"
    assert datetime.fromisoformat(launched["next_run_at"]) == first
    # When its first run comes, everyone gets it, and the next run is due the day after
    world.at(first)
    assert all(len(mails_to(c)) == 1 for c in customers)
    shown = world.call("GET", "/admin/campaigns/{campaign_id}", {"campaign_id": campaign["id"]}).json()
    assert (shown["status"], shown["runs"]) == ("scheduled", 1)
    assert datetime.fromisoformat(shown["next_run_at"]) == first + timedelta(days=1)
    # When the second run comes, everyone gets it once more (a new run, a new local day)
    world.at(first + timedelta(days=1))
    assert all(len(mails_to(c)) == 2 for c in customers)
    lines = world.log(campaign["id"])
    assert sorted((line["run"], line["decision"]) for line in lines) == [(1, "sent")] * 2 + [(2, "sent")] * 2

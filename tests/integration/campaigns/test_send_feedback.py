"""What the sender learns while sending, on moto: a push to a device whose SNS endpoint is disabled
(a dead token) is ``failed`` and announced once as ``PushTokenDisabled``; an e-mail carries the
tags SES's events will bring back (campaign, customer, run)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

import boto3
import pytest

from infra.local import provision
from infra.topology import SYSTEM
from services.campaigns.dal.templates import DynamoTemplates
from services.campaigns.handlers import sender as sender_module
from services.campaigns.models.cards import CardDevice, ContactCard
from services.campaigns.topology import API, CAMPAIGNS, PLAN_QUEUE, PLANNER, RELEASER, SEND_QUEUE, SENDER
from shared import aws
from shared.ids import new_id
from shared.topology import Function
from tests.integration.apigw import Invoker
from tests.integration.campaigns.test_sending import FakeCards, World
from tests.integration.conftest import EMAIL_SENDER, STAGE, BusWatch, QueueDrain, table

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish:UserWarning")
TOKEN = "fcm-token-0123456789abcdef"  # a device's push token


@pytest.fixture
def sending(
    moto: None,
    bus: str,
    lambda_function: Callable[[Function], Invoker],
    frozen_clock: Callable[[datetime], None],
    monkeypatch: pytest.MonkeyPatch,
) -> World:
    clients = (boto3.client("sqs"), boto3.client("sns"), boto3.client("events"))
    messaging = provision.create_messaging(clients, SYSTEM, stage=STAGE, bus=bus)  # type: ignore[arg-type]
    boto3.client("sesv2").create_email_identity(EmailIdentity=EMAIL_SENDER)
    monkeypatch.setenv("PRIORITY_STEP_S", "0")
    sender = lambda_function(SENDER)
    cards = FakeCards()
    sender_module.dependencies().cards = cards
    return World(
        api=lambda_function(API),
        planner=QueueDrain(lambda_function(PLANNER), messaging, PLAN_QUEUE),
        sender=QueueDrain(sender, messaging, SEND_QUEUE),
        releaser=lambda_function(RELEASER),
        cards=cards,
        clock=frozen_clock,
    )


def push_template(world: World) -> str:
    template_id = new_id("tpl")
    at = world.now.isoformat()
    definition = {
        "name": "coupon",
        "channel": "push",
        "purpose": "service",
        "sender": "Dangol Bakery",
        "locales": {"ko-KR": {"title": "쿠폰 도착", "body": "{{ customer.name }}님, 쿠폰이 왔어요"}},
        "default_locale": "ko-KR",
    }
    DynamoTemplates(table(CAMPAIGNS)).create(
        {"id": template_id, "version": 1, "definition": definition, "created_at": at, "updated_at": at}
    )
    return template_id


def test_a_dead_push_token_is_failed_and_announced_once(sending: World, bus: str) -> None:
    # Given an Android device whose SNS endpoint SNS has disabled (its token is dead)
    sns = boto3.client("sns")
    application = sns.create_platform_application(
        Name="dangol-android", Platform="GCM", Attributes={"PlatformCredential": "server-key"}
    )["PlatformApplicationArn"]
    endpoint = sns.create_platform_endpoint(PlatformApplicationArn=application, Token=TOKEN)["EndpointArn"]
    sns.set_endpoint_attributes(EndpointArn=endpoint, Attributes={"Enabled": "false"})
    sender_module.dependencies().channels.push_applications = {"android": application}  # type: ignore[attr-defined]
    customer_id = new_id("cus")
    sending.cards.cards_by_id[customer_id] = ContactCard(
        customer_id=customer_id,
        status="active",
        name="Kim Minji",
        locale="ko-KR",
        time_zone="Asia/Seoul",
        devices=[CardDevice(device_id="pixel-8", platform="android", token=TOKEN, verified=True)],
        consents={"push.service": True},
    )
    watch = BusWatch(bus, ["PushTokenDisabled"])
    # And a push campaign to them
    campaign = sending.campaign(
        sending.segment([customer_id]), push_template(sending), channel="push", control_percent=0
    )
    # When it is launched, and the sender's batch is delivered again
    sending.launch(campaign["id"])
    sending.run()
    assert sending.sender.deliver(sending.sender.delivered) == []
    # Then the recipient is failed with the device named, and counted once
    (line,) = sending.log(campaign["id"], customer_id=customer_id)
    assert (line["decision"], line["reason"]) == ("failed", "endpoint_disabled:pixel-8")
    assert sending.report(campaign["id"])["counts"]["failed"] == 1
    # And the profile service hears of the dead token once, with ids only
    (announced,) = watch.all()
    assert (announced["source"], announced["detail-type"]) == ("dangol.campaigns", "PushTokenDisabled")
    data = announced["detail"]["data"]
    assert (data["customer_id"], data["device_id"]) == (customer_id, "pixel-8")
    assert TOKEN not in json.dumps(announced)


def test_an_email_carries_the_tags_ses_events_bring_back(sending: World) -> None:
    # Given what the sender asks SES v2 for
    asked: list[dict[str, Any]] = []
    aws.client("sesv2").meta.events.register(
        "provide-client-params.sesv2.SendEmail", lambda params, **_: asked.append(dict(params))
    )
    customer_id = sending.customer()
    campaign = sending.campaign(sending.segment([customer_id]), sending.template(), control_percent=0)
    # When the campaign is sent (moto's SES takes the tags)
    sending.launch(campaign["id"])
    sending.run()
    # Then the one e-mail was tagged with its campaign, customer and run
    (request,) = asked
    assert request["EmailTags"] == [
        {"Name": "campaign", "Value": campaign["id"]},
        {"Name": "customer", "Value": customer_id},
        {"Name": "run", "Value": "1"},
    ]
    (line,) = sending.log(campaign["id"])
    assert line["decision"] == "sent"

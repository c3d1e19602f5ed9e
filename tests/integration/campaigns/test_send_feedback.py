"""What the sender learns while sending, on moto: a push to a device whose SNS endpoint is disabled
(a dead token) is ``failed`` and announced once as ``PushTokenDisabled``; an e-mail carries the
tags SES's events will bring back (campaign, customer, run)."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from services.campaigns.dal.templates import DynamoTemplates
from services.campaigns.handlers import sender as sender_module
from services.campaigns.models.cards import CardDevice, ContactCard
from services.campaigns.topology import CAMPAIGNS
from shared import aws
from shared.ids import new_id
from tests.integration.campaigns.test_sending import World
from tests.integration.conftest import BusWatch, table

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish:UserWarning")
TOKEN = "fcm-token-0123456789abcdef"  # a device's push token


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


def test_a_dead_push_token_is_failed_and_announced_once(world: World, bus: str) -> None:
    # Given an Android device whose SNS endpoint SNS has disabled (its token is dead)
    sns = boto3.client("sns")
    application = sns.create_platform_application(
        Name="dangol-android", Platform="GCM", Attributes={"PlatformCredential": "server-key"}
    )["PlatformApplicationArn"]
    endpoint = sns.create_platform_endpoint(PlatformApplicationArn=application, Token=TOKEN)["EndpointArn"]
    sns.set_endpoint_attributes(EndpointArn=endpoint, Attributes={"Enabled": "false"})
    sender_module.dependencies().channels.push_applications = {"android": application}  # type: ignore[attr-defined]
    customer_id = new_id("cus")
    world.cards.cards_by_id[customer_id] = ContactCard(
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
    campaign = world.campaign(
        world.segment([customer_id]), push_template(world), channel="push", control_percent=0
    )
    # When it is launched, and the sender's batch is delivered again
    world.launch(campaign["id"])
    world.run()
    assert world.sender.deliver(world.sender.delivered) == []
    # Then the recipient is failed with the device named, and counted once
    (line,) = world.log(campaign["id"], customer_id=customer_id)
    assert (line["decision"], line["reason"]) == ("failed", "endpoint_disabled:pixel-8")
    assert world.report(campaign["id"])["counts"]["failed"] == 1
    # And the profile service hears of the dead token once, with ids only
    (announced,) = watch.all()
    assert (announced["source"], announced["detail-type"]) == ("dangol.campaigns", "PushTokenDisabled")
    data = announced["detail"]["data"]
    assert (data["customer_id"], data["device_id"]) == (customer_id, "pixel-8")
    assert TOKEN not in json.dumps(announced)


def test_an_email_carries_the_tags_ses_events_bring_back(world: World) -> None:
    # Given what the sender asks SES v2 for
    asked: list[dict[str, Any]] = []
    aws.client("sesv2").meta.events.register(
        "provide-client-params.sesv2.SendEmail", lambda params, **_: asked.append(dict(params))
    )
    customer_id = world.customer()
    campaign = world.campaign(world.segment([customer_id]), world.template(), control_percent=0)
    # When the campaign is sent (moto's SES takes the tags)
    world.launch(campaign["id"])
    world.run()
    # Then the one e-mail was tagged with its campaign, customer and run
    (request,) = asked
    assert request["EmailTags"] == [
        {"Name": "campaign", "Value": campaign["id"]},
        {"Name": "customer", "Value": customer_id},
        {"Name": "run", "Value": "1"},
    ]
    (line,) = world.log(campaign["id"])
    assert line["decision"] == "sent"

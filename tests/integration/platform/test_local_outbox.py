"""The local outbox (``infra/local/outbox.py``): what the channels sent on moto, read back.

The channels are made as the local runtime makes them, the messages sent as the campaigns
sender sends them (``SnsSesChannels``: raw MIME through SES v2, SMS and push through SNS), and
the SMS's customer comes from the campaigns' message log, as locally.
"""

from __future__ import annotations

import json
import threading
from typing import Any

import boto3
import pytest

from infra.environment import messaging_environment
from infra.local import provision
from infra.local.outbox import LOCAL_SENDER, Outbox, campaign_log, create_channels, summary
from infra.topology import SYSTEM
from services.campaigns.dal.channels import SnsSesChannels
from services.campaigns.dal.keys import log_key
from services.campaigns.models.cards import ContactCard
from services.campaigns.models.templates import Rendered
from services.campaigns.topology import CAMPAIGNS
from shared.settings import MessagingSettings
from tests.integration.apigw import REGION

STAGE = "test"
CUSTOMER = "cus_01JOUTBOX00000000000000001"
OTHER = "cus_01JOUTBOX00000000000000002"
CAMPAIGN = "cmp_01JOUTBOX00000000000000001"


@pytest.fixture
def channels(moto: None) -> tuple[SnsSesChannels, dict[str, str]]:
    env = create_channels(boto3.client("sesv2"), boto3.client("sns"), prefix=f"{SYSTEM.name}-{STAGE}")
    base = {"STAGE": STAGE, "AWS_REGION": REGION, "POWERTOOLS_SERVICE_NAME": "campaigns"}
    settings = MessagingSettings.model_validate({**base, **env})  # as the sender reads them
    return (
        SnsSesChannels(
            sender_address=settings.email_sender,
            configuration_set=settings.email_configuration_set,
            push_applications=settings.push_applications,
        ),
        env,
    )


def _card(**fields: Any) -> ContactCard:
    return ContactCard.model_validate({"customer_id": CUSTOMER, "status": "active", **fields})


def _rendered(channel: str, **fields: Any) -> Rendered:
    return Rendered.model_validate({"channel": channel, "locale": "ko-KR", **fields})


def _log(table: str, customer_id: str, message_id: str, provider: str) -> None:
    boto3.client("dynamodb").put_item(
        TableName=table,
        Item={
            **{k: {"S": v} for k, v in log_key(CAMPAIGN, customer_id, 1).items()},
            "customer_id": {"S": customer_id},
            "run": {"N": "1"},
            "decision": {"S": "sent"},
            "decided_at": {"S": "2026-12-24T00:00:00+00:00"},
            "message_id": {"S": message_id},
            "provider": {"S": provider},
        },
    )


def test_the_channels_are_made_as_the_sender_reads_them(
    channels: tuple[SnsSesChannels, dict[str, str]],
) -> None:
    # Given the channels made on moto
    _, env = channels
    # Then the sender sends as the local address, in a configuration set, to iOS and Android apps
    assert env == messaging_environment(
        sender=LOCAL_SENDER,
        configuration_set=f"{SYSTEM.name}-{STAGE}",
        push_applications=json.loads(env["PUSH_APPLICATIONS"]),
    )
    assert set(json.loads(env["PUSH_APPLICATIONS"])) == {"ios", "android"}
    got = boto3.client("sesv2").get_configuration_set(ConfigurationSetName=env["EMAIL_CONFIGURATION_SET"])
    assert set(got["SuppressionOptions"]["SuppressedReasons"]) == {"BOUNCE", "COMPLAINT"}


def test_a_mail_an_sms_and_a_push_are_read_back_by_customer(
    channels: tuple[SnsSesChannels, dict[str, str]],
) -> None:
    sender, _ = channels
    provision.create_tables(boto3.client("dynamodb"), SYSTEM, STAGE)
    table = provision.table_name(SYSTEM, STAGE, CAMPAIGNS)
    ref = f"{CAMPAIGN}/{CUSTOMER}/1"
    # (the outbox as the runtime's watcher uses it: a look each second, here after each send)
    lock = threading.Lock()
    outbox = Outbox(
        region=REGION, lock=lambda: lock, log=lambda: campaign_log(boto3.client("dynamodb"), table)
    )
    # Given one mail, one SMS and one push to a customer, sent as the sender sends them
    mail = _rendered(
        "email",
        subject="12월 혜택",
        text="안녕하세요 지수님",
        html="<p>안녕하세요 <b>지수</b>님</p>",
        sender="단골",
    )
    _, mail_id = sender.send(
        mail, _card(email="jisoo@example.com"), unsubscribe_url="https://u.example/x", ref=ref
    )
    outbox.after(0)
    _, sms_id = sender.send(
        _rendered("sms", body="[광고] 단골 쿠폰"), _card(phone="+821012345678"), unsubscribe_url=None, ref=ref
    )
    outbox.after(0)
    device = {"device_id": "dev_1", "platform": "ios", "token": "a" * 64, "verified": True}
    _, push_id = sender.send(
        _rendered("push", title="단골", body="쿠폰이 도착했어요"),
        _card(devices=[device]),
        unsubscribe_url=None,
        ref=ref,
    )
    outbox.after(0)
    # and an SMS to another customer; the message log records both SMS, as the sender does
    _, other_sms = sender.send(
        _rendered("sms", body="hi"),
        _card(customer_id=OTHER, phone="+821099999999"),
        unsubscribe_url=None,
        ref=f"{CAMPAIGN}/{OTHER}/1",
    )
    outbox.after(0)
    _log(table, CUSTOMER, sms_id, "sns-sms")
    _log(table, OTHER, other_sms, "sns-sms")

    # When the customer's messages are read
    items = outbox.messages(CUSTOMER)

    # Then the three are there, in the order sent, rendered
    assert [(m["channel"], m["message_id"]) for m in items] == [
        ("email", mail_id),
        ("sms", sms_id),
        ("push", push_id),
    ]
    email, sms, push = items
    assert email["to"] == "jisoo@example.com"
    assert (email["customer_id"], email["campaign_id"], email["run"]) == (CUSTOMER, CAMPAIGN, 1)
    assert email["subject"] == "12월 혜택"
    assert email["text"].strip() == "안녕하세요 지수님"
    assert email["html"].strip() == "<p>안녕하세요 <b>지수</b>님</p>"
    assert email["headers"]["List-Unsubscribe"] == "<https://u.example/x>"
    assert email["headers"]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert (sms["to"], sms["body"], sms["campaign_id"], sms["run"]) == (
        "+821012345678",
        "[광고] 단골 쿠폰",
        CAMPAIGN,
        1,
    )
    assert sms["sent_at"] == "2026-12-24T00:00:00+00:00"  # the log's
    assert (push["to"], push["title"], push["body"]) == ("a" * 64, "단골", "쿠폰이 도착했어요")
    assert (push["customer_id"], push["campaign_id"]) == (CUSTOMER, CAMPAIGN)
    # And all of them, newest last, and the newest two
    assert [m["message_id"] for m in outbox.messages()] == [mail_id, sms_id, push_id, other_sms]
    assert [m["message_id"] for m in outbox.messages(limit=2)] == [push_id, other_sms]
    # And the terminal's line shortens the address
    assert summary(email) == f'✉ email → jisoo@… "12월 혜택" (campaign {CAMPAIGN})'
    assert summary(sms).startswith("✆ sms → +82…")


def test_the_outbox_reads_moto_under_the_lock_and_sees_each_message_once_after(
    channels: tuple[SnsSesChannels, dict[str, str]],
) -> None:
    sender, _ = channels
    taken: list[bool] = []
    lock = threading.Lock()

    class Watched:
        def __enter__(self) -> None:
            lock.acquire()
            taken.append(True)

        def __exit__(self, *exc: object) -> None:
            lock.release()

    outbox = Outbox(region=REGION, lock=Watched)
    # Given one SMS seen by the watcher
    sender.send(_rendered("sms", body="one"), _card(phone="+821011111111"), unsubscribe_url=None, ref="c/x/1")
    first, seen = outbox.after(0)
    # When another is sent
    sender.send(_rendered("sms", body="two"), _card(phone="+821022222222"), unsubscribe_url=None, ref="c/x/1")
    second, seen = outbox.after(seen)
    # Then each look reports only what is new, and every look took moto's lock
    assert [m["body"] for m in first] == ["one"]
    assert [m["body"] for m in second] == ["two"]
    assert seen == 2
    assert len(taken) == 2

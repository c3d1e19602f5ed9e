"""The campaigns service's news of a customer's channels, on moto: ``EmailUndeliverable`` and
``PushTokenDisabled`` published on the bus as the campaigns service publishes them, routed by the
profile service's rule to its queue, and applied by ``profile-deliverability``: the e-mail or the
device's token unverified, nothing else changed, once; an erased or unknown customer ignored."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import boto3
import pytest

from infra.local import provision
from infra.topology import SYSTEM
from services.profile.dal.keys import profile_key, tombstone_key
from services.profile.topology import CHANNEL_EVENTS_QUEUE, DELIVERABILITY, PROFILES
from shared.events import DomainEvent, EventPublisher
from shared.ids import new_id
from shared.topology import Function
from tests.integration.apigw import Invoker, api_event
from tests.integration.conftest import FROZEN_AT, STAGE, QueueDrain, table

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish:UserWarning")
SUB = "sub-deliverability"
TOKEN = "fcm:" + "a1b2c3d4" * 8


class EmailUndeliverable(DomainEvent):
    """The campaigns service's event, as it publishes it (the producer's model is its own: tests
    of one service import none of another's; the contract tests hold the two together)."""

    customer_id: str
    reason: str
    at: datetime


class PushTokenDisabled(DomainEvent):
    customer_id: str
    device_id: str
    at: datetime


class World:
    def __init__(self, api: Invoker, drain: QueueDrain, bus: str) -> None:
        self.api = api
        self.drain = drain
        self.campaigns = EventPublisher(bus, "dangol.campaigns")

    def customer(self, sub: str = SUB) -> str:
        created = self.api(
            api_event(
                "profile_create_me", sub=sub, body={"display_name": "김민지", "email": "minji@example.com"}
            )
        )
        assert created.status == 201, created.body
        for device_id in ("iphone-15", "pixel-8"):
            put = self.api(
                api_event(
                    "profile_get_me",
                    method="PUT",
                    resource="/me/devices/{device_id}",
                    path_parameters={"device_id": device_id},
                    body={"platform": "ios", "token": f"{TOKEN}{device_id}"},
                    sub=sub,
                    groups="customer",
                )
            )
            assert put.status == 200, put.body
        return str(created.json()["customer_id"])

    def verify_everything(self, customer_id: str) -> None:
        """As a delivery would have: the e-mail and both tokens verified (no route sets them yet)."""
        table(PROFILES).update(
            profile_key(customer_id),
            "SET email_verified = :t, devices[0].verified = :t, devices[1].verified = :t",
            values={":t": True},
        )

    def erase(self, customer_id: str) -> None:
        """What an erasure leaves (``dal.privacy``): no profile, a tombstone with no personal data."""
        table(PROFILES).delete(profile_key(customer_id))
        table(PROFILES).put(
            {**tombstone_key(customer_id), "type": "erased", "erased_at": FROZEN_AT.isoformat()}
        )

    def stored(self, customer_id: str) -> dict[str, Any] | None:
        return table(PROFILES).get(profile_key(customer_id))

    def send(self, *events: DomainEvent) -> None:
        self.campaigns.publish(list(events))
        self.drain()


@pytest.fixture
def world(
    moto: None, bus: str, lambda_function: Callable[[Function], Invoker], profile_api: Invoker
) -> World:
    clients = (boto3.client("sqs"), boto3.client("sns"), boto3.client("events"))
    messaging = provision.create_messaging(clients, SYSTEM, stage=STAGE, bus=bus)  # type: ignore[arg-type]
    return World(
        profile_api, QueueDrain(lambda_function(DELIVERABILITY), messaging, CHANNEL_EVENTS_QUEUE), bus
    )


def test_a_bounce_unverifies_the_email_once_and_nothing_else(world: World) -> None:
    # Given a customer whose e-mail and devices are verified
    customer_id = world.customer()
    world.verify_everything(customer_id)
    before = world.stored(customer_id)
    assert before is not None
    # When the campaigns service announces a permanent bounce, and the message comes again
    world.send(EmailUndeliverable(customer_id=customer_id, reason="bounce", at=FROZEN_AT))
    assert world.drain.deliver(world.drain.delivered) == []
    # Then the e-mail is unverified, the version moved once, and nothing else changed
    after = world.stored(customer_id)
    assert after is not None
    assert after["email_verified"] is False
    assert after["version"] == before["version"] + 1
    unchanged = {"email_verified", "version", "updated_at"}
    assert {k: v for k, v in after.items() if k not in unchanged} == {
        k: v for k, v in before.items() if k not in unchanged
    }


def test_a_dead_token_unverifies_that_device_only(world: World) -> None:
    # Given a customer with two verified devices
    customer_id = world.customer()
    world.verify_everything(customer_id)
    # When the campaigns service announces one device's token dead
    world.send(PushTokenDisabled(customer_id=customer_id, device_id="pixel-8", at=FROZEN_AT))
    # Then that device's token is unverified, the other's and the e-mail are not
    after = world.stored(customer_id)
    assert after is not None
    assert [(d["device_id"], d["verified"]) for d in after["devices"]] == [
        ("iphone-15", True),
        ("pixel-8", False),
    ]
    assert after["email_verified"] is True
    # And through the API the customer sees it the same way
    me = world.api(api_event("profile_get_me", sub=SUB, groups="customer"))
    assert [d["verified"] for d in me.json()["devices"]] == [True, False]


def test_an_unknown_device_an_unknown_customer_and_an_erased_one_change_nothing(world: World) -> None:
    # Given a customer, and another who was erased (no profile, a tombstone)
    customer_id = world.customer()
    world.verify_everything(customer_id)
    before = world.stored(customer_id)
    erased = world.customer(sub="sub-erased")
    world.erase(erased)
    # When news arrives of a device they do not have, of a customer nobody knows, and of the erased one
    world.send(
        PushTokenDisabled(customer_id=customer_id, device_id="old-phone", at=FROZEN_AT),
        EmailUndeliverable(customer_id=new_id("cus"), reason="complaint", at=FROZEN_AT),
        EmailUndeliverable(customer_id=erased, reason="bounce", at=FROZEN_AT),
        PushTokenDisabled(customer_id=erased, device_id="pixel-8", at=FROZEN_AT),
    )
    # Then no message failed, the known profile is as it was, and the erased one is not recreated
    assert world.stored(customer_id) == before
    assert world.stored(erased) is None

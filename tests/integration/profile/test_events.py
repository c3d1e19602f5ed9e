"""The profile service's domain events: recorded with each change in the same transaction
(the outbox), published to the bus right away, and published later by the sweep if the bus
failed at that moment. Events carry ids and settings, never personal data."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import boto3
import pytest

from infra.local import provision
from infra.topology import SYSTEM
from services.profile.topology import OUTBOX_SWEEPER, PROFILES
from shared.clock import utc_now
from shared.ids import new_id
from tests.integration.apigw import Invoker, LambdaContext, api_event
from tests.integration.conftest import STAGE, scan_all

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish:UserWarning")


@pytest.fixture
def captured(bus: str) -> Any:
    """A rule that sends every profile event on the bus to a queue the test reads."""
    sqs, events = boto3.client("sqs"), boto3.client("events")
    url = sqs.create_queue(QueueName="captured")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="capture", EventBusName=bus, EventPattern=json.dumps({"source": ["dangol.profile"]}))
    events.put_targets(Rule="capture", EventBusName=bus, Targets=[{"Id": "q", "Arn": arn}])

    def read() -> list[dict[str, Any]]:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        return [json.loads(m["Body"]) for m in messages]

    return read


def outbox_items() -> list[dict[str, Any]]:
    return [i for i in scan_all(PROFILES) if i["pk"]["S"].startswith("OUTBOX#")]


def test_registering_publishes_customer_registered_without_personal_data(
    profile_api: Invoker, captured: Any
) -> None:
    # Given a new customer
    # When they create their profile
    created = profile_api(api_event("profile_create_me"))
    assert created.status == 201
    # Then CustomerRegistered is on the bus with the customer's id and settings, and the outbox is empty
    (event,) = captured()
    assert event["source"] == "dangol.profile"
    assert event["detail-type"] == "CustomerRegistered"
    assert event["detail"]["data"] == {
        "customer_id": created.json()["customer_id"],
        "subject": "7c9e6679-7425-40de-944b-e07fc1f90ae7",
        "locale": created.json()["locale"],
        "time_zone": created.json()["time_zone"],
        "returning": False,
    }
    assert event["detail"]["metadata"]["schema_version"] == "1"
    assert created.json()["email"] not in json.dumps(event)
    assert outbox_items() == []


def test_an_update_publishes_profile_updated_with_the_changed_fields_and_version(
    profile_api: Invoker, captured: Any
) -> None:
    # Given a profile
    customer_id = profile_api(api_event("profile_create_me")).json()["customer_id"]
    captured()
    # When the customer changes their phone and locale
    body = {"phone": "+821099998888", "locale": "en-US"}
    assert profile_api(api_event("profile_update_me", body=body)).status == 200
    # Then ProfileUpdated names the fields (not their values) and the new version
    (event,) = captured()
    assert event["detail-type"] == "ProfileUpdated"
    assert event["detail"]["data"] == {
        "customer_id": customer_id,
        "changed": ["locale", "phone"],
        "version": 2,
    }
    assert "+821099998888" not in json.dumps(event)


def test_events_the_bus_refused_stay_in_the_outbox_until_the_sweep_publishes_them(
    profile_api: Invoker, bus: str, lambda_function: Any
) -> None:
    # Given a bus that is gone when the profile is created
    events = boto3.client("events")
    events.delete_event_bus(Name=bus)
    created = profile_api(api_event("profile_create_me"))
    # Then the request still succeeds and its event waits in the outbox
    assert created.status == 201
    (waiting,) = outbox_items()
    assert waiting["detail_type"]["S"] == "CustomerRegistered"
    # When the bus is back and the sweep runs
    provision.create_bus(events, SYSTEM, STAGE)
    sqs = boto3.client("sqs")
    url = sqs.create_queue(QueueName="after")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="after", EventBusName=bus, EventPattern=json.dumps({"source": ["dangol.profile"]}))
    events.put_targets(Rule="after", EventBusName=bus, Targets=[{"Id": "q", "Arn": arn}])
    lambda_function(OUTBOX_SWEEPER)
    from services.profile.handlers import outbox as sweeper

    outbox, publisher = sweeper.dependencies()
    published = outbox.sweep(publisher, older_than=utc_now() + timedelta(minutes=1))
    # Then the event is published with its original id and the outbox is empty
    assert published == 1
    (message,) = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    event = json.loads(message["Body"])
    assert event["detail"]["metadata"]["event_id"] == waiting["event_id"]["S"]
    assert event["detail"]["data"]["customer_id"] == created.json()["customer_id"]
    assert outbox_items() == []


def test_the_sweep_leaves_events_a_request_is_still_publishing(
    profile_api: Invoker, lambda_function: Any
) -> None:
    # Given an event written to the outbox a moment ago (as a request does before it publishes)
    start = lambda_function(OUTBOX_SWEEPER)
    from services.profile.handlers import outbox as sweeper

    outbox, _publisher = sweeper.dependencies()
    from services.profile.models.events import CustomerRegistered

    item = outbox.item(
        outbox.envelope(
            CustomerRegistered(customer_id=new_id("cus"), subject="sub-x", locale="ko-KR", time_zone="UTC"),
            utc_now(),
        )
    )
    outbox.table.put(item)
    # When the scheduled sweep runs now (its real entry point, as the schedule invokes it)
    result = start.handler({}, LambdaContext.of(OUTBOX_SWEEPER))
    # Then it leaves the young item alone
    assert result == {"published": 0}
    assert len(outbox_items()) == 1

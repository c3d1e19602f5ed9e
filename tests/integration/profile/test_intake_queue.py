"""The intake queue: store systems send purchases, refunds and visits to ``profile-purchases``;
the intake consumer applies them as the API does. Driven the way Lambda's event source does it
(the local runtime's poller: real SQS events from a real queue with its DLQ, on moto):
duplicates have one effect; a message that cannot succeed fails alone, is logged by code
without its content, and ends in the DLQ after maxReceiveCount receives."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import boto3
import pytest

from infra.local import provision
from infra.local.lambdas import Invocation
from infra.local.pollers import QueuePoller
from infra.topology import SYSTEM
from services.profile.topology import INTAKE, PURCHASES
from tests.integration.apigw import Invoker, LambdaContext
from tests.integration.conftest import STAGE
from tests.integration.profile.test_intake_api import (
    UNKNOWN_CUSTOMER,
    capture_events,
    item,
    items,
    line,
    new_customer,
    purchase,
    seoul_at,
    visit,
)

pytestmark = [
    pytest.mark.usefixtures("frozen_clock"),  # the functions' clock stands at NOW, where seoul_at counts from
    pytest.mark.filterwarnings("ignore:No application metrics to publish:UserWarning"),
]


@dataclass
class InProcess:
    """A function pool of one: the consumer's real entry point, called in this process."""

    handler: Callable[[dict[str, Any], Any], Any]

    def invoke(self, event: dict[str, Any]) -> Invocation:
        return Invocation(self.handler(event, LambdaContext.of(INTAKE)), False, 0.0)


@dataclass
class Intake:
    sqs: Any
    url: str
    dlq_url: str
    poller: QueuePoller

    def send(self, *bodies: dict[str, Any] | str) -> None:
        for body in bodies:
            text = body if isinstance(body, str) else json.dumps(body, ensure_ascii=False)
            self.sqs.send_message(QueueUrl=self.url, MessageBody=text)

    def drain(self, rounds: int = 20) -> None:
        """Poll until the queue is empty (failed messages come back at once: retry_after_s=0)."""
        for _ in range(rounds):
            if self.poller.poll_once() == 0:
                return
        raise AssertionError("the queue did not drain")

    def dead(self) -> list[str]:
        out = self.sqs.receive_message(QueueUrl=self.dlq_url, MaxNumberOfMessages=10)
        return sorted(m["Body"] for m in out.get("Messages", []))


@pytest.fixture
def intake_queue(lambda_function: Callable[..., Invoker]) -> Intake:
    """``profile-purchases`` and its DLQ as the topology declares them, polled into the consumer."""
    sqs = boto3.client("sqs")
    dlq_url = sqs.create_queue(QueueName=provision.queue_name(SYSTEM, STAGE, PURCHASES.dlq_id))["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    url = sqs.create_queue(
        QueueName=provision.queue_name(SYSTEM, STAGE, PURCHASES.id),
        Attributes=provision.queue_attributes(SYSTEM, PURCHASES, dlq_arn),  # type: ignore[arg-type]
    )["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    consumer = SYSTEM.consumer_of(PURCHASES)
    assert consumer is not None
    assert consumer.function == INTAKE
    handler = lambda_function(INTAKE).handler
    poller = QueuePoller(
        consumer,
        InProcess(handler),  # type: ignore[arg-type]
        sqs,
        queue_url=url,
        queue_arn=arn,
        region="ap-northeast-2",
        retry_after_s=0,
    )
    return Intake(sqs, url, dlq_url, poller)


@pytest.fixture
def bus_events(bus: str) -> Callable[[], list[dict[str, Any]]]:
    return capture_events(bus)


@pytest.fixture
def customer(profile_api: Invoker) -> str:
    return new_customer(profile_api, "sub-queue")


def as_message(kind: str, data: dict[str, Any]) -> dict[str, Any]:
    return {"kind": kind, "data": data}


def test_purchases_visits_and_refunds_through_the_queue(
    intake_queue: Intake, customer: str, bus_events: Callable[[], list[dict[str, Any]]]
) -> None:
    # Given a purchase and a visit on the queue
    intake_queue.send(
        as_message("purchase", purchase(customer, "q-1", lines=[line("LATTE", 2, 5000)])),
        as_message("visit", visit(customer, "q-door-1")),
    )
    # When the consumer has processed them
    intake_queue.drain()
    # Then both are recorded, counted and published, as through the API
    stats = item(f"CUSTOMER#{customer}", "STATS")
    assert stats is not None
    assert (stats["spend_KRW"], stats["purchase_count"], stats["visit_count"]) == (10_000, 1, 1)
    recorded = {e["type"]: e for e in bus_events()}
    assert recorded["PurchaseRecorded"]["total"] == 10_000
    assert recorded["PurchaseRecorded"]["local_date"] == seoul_at(1, "08:10")[:10]
    assert recorded["VisitRecorded"]["external_id"] == "q-door-1"
    # When its refund follows on the queue
    intake_queue.send(as_message("refund", {"external_id": "q-1", "refund_id": "q-refund-1"}))
    intake_queue.drain()
    # Then it is refunded and PurchaseRefunded went out
    stats = item(f"CUSTOMER#{customer}", "STATS")
    assert stats is not None
    assert (stats["spend_KRW"], stats["purchase_count"], stats["refund_count"]) == (0, 0, 1)
    assert [e["type"] for e in bus_events()][-1] == "PurchaseRefunded"
    assert intake_queue.poller.stats.failed == 0
    assert intake_queue.dead() == []


def test_duplicate_messages_have_one_effect(
    intake_queue: Intake, customer: str, bus_events: Callable[[], list[dict[str, Any]]]
) -> None:
    # Given the same purchase sent three times (a till retrying) and the same refund twice
    body = as_message("purchase", purchase(customer, "q-dup"))
    intake_queue.send(body, body, body)
    intake_queue.drain()
    refund = as_message("refund", {"external_id": "q-dup", "refund_id": "r-dup"})
    intake_queue.send(refund, refund)
    # When the consumer has processed them all
    intake_queue.drain()
    # Then every message succeeded, and the purchase and its refund each happened once
    assert (intake_queue.poller.stats.succeeded, intake_queue.poller.stats.failed) == (5, 0)
    stats = item(f"CUSTOMER#{customer}", "STATS")
    assert stats is not None
    assert (stats["purchase_count"], stats["refund_count"], stats["spend_KRW"]) == (0, 1, 0)
    assert sorted(e["type"] for e in bus_events()) == ["PurchaseRecorded", "PurchaseRefunded"]


def test_messages_that_cannot_succeed_fail_alone_and_end_in_the_dlq(
    intake_queue: Intake, customer: str, caplog: pytest.LogCaptureFixture
) -> None:
    # Given, around one good purchase, messages that can never succeed as they are
    poison = {
        "not json": "{kind: purchase",
        "unknown kind": json.dumps({"kind": "return", "data": {"external_id": "x"}}),
        "flat, not enveloped": json.dumps({"kind": "purchase", **purchase(customer, "q-flat")}),
        "invalid": json.dumps(as_message("purchase", {**purchase(customer, "q-bad"), "currency": "won"})),
        "unknown customer": json.dumps(as_message("purchase", purchase(UNKNOWN_CUSTOMER, "q-nobody"))),
        "personal data in a bad field": json.dumps(
            as_message("visit", visit(customer, "q-web", kind="page", place="/menu?email=minji@example.com"))
        ),
    }
    intake_queue.send(as_message("purchase", purchase(customer, "q-good")), *poison.values())
    caplog.set_level(logging.INFO)
    # When the consumer keeps receiving them (each failure comes back at once here)
    intake_queue.drain()
    # Then the good one was recorded once, and each bad one failed on every receive
    assert item("PURCHASEID#q-good", "PURCHASEID") is not None
    assert intake_queue.poller.stats.succeeded == 1
    assert intake_queue.poller.stats.failed == len(poison) * PURCHASES.max_receive_count
    # ... until the queue's maxReceiveCount put it in the DLQ, untouched, for an operator
    assert intake_queue.dead() == sorted(poison.values())
    # ... having written nothing
    assert [i for i in items() if str(i["pk"]).startswith(("PURCHASEID#", "VISITID#"))] == [
        item("PURCHASEID#q-good", "PURCHASEID")
    ]
    # ... and the log says why with a code, never with the content
    failures = [r for r in caplog.records if r.getMessage().startswith("record failed")]
    codes = {p["code"] for r in failures for p in (getattr(r, "problems", None) or []) if "code" in p}
    assert codes == {
        "malformed_json",
        "unknown_kind",
        "malformed_message",
        "validation_error",
        "customer_not_found",
    }
    assert {getattr(r, "error_type", None) for r in failures} == {"Rejected"}
    logged = "\n".join(f"{r.getMessage()} {vars(r)}" for r in caplog.records)
    assert "minji@example.com" not in logged
    assert "won" not in logged


def test_a_refund_that_overtakes_its_purchase_succeeds_on_a_later_receive(
    intake_queue: Intake, customer: str
) -> None:
    # Given a refund that arrives before its purchase (SQS does not keep order)
    intake_queue.send(as_message("refund", {"external_id": "q-late", "refund_id": "r-late"}))
    assert intake_queue.poller.poll_once() == 1
    assert intake_queue.poller.stats.failed == 1
    # When the purchase arrives and the refund comes back
    intake_queue.send(as_message("purchase", purchase(customer, "q-late")))
    intake_queue.drain()
    # Then the purchase is recorded and refunded, and nothing was dead-lettered
    stats = item(f"CUSTOMER#{customer}", "STATS")
    assert stats is not None
    assert (stats["purchase_count"], stats["refund_count"]) == (0, 1)
    assert intake_queue.dead() == []

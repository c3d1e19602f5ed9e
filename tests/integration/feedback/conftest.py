"""The feedback service on moto: its messaging (the mentions topic and its filtered subscriptions,
the bus's rules), its SLA timers' schedule group, and drains for its queues."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import boto3
import pytest

from infra.local import provision
from infra.topology import SYSTEM
from services.feedback import topology as fb
from shared.events import DomainEvent, Envelope, EventPublisher
from shared.topology import Function
from tests.integration.apigw import Invoker, api_event
from tests.integration.conftest import STAGE, QueueDrain


@dataclass
class Feedback:
    """The service's queues, each drained by its real consumer, and its API."""

    messaging: provision.Messaging
    bus: str
    api: Invoker
    cases: QueueDrain
    alerts: QueueDrain
    insights: QueueDrain
    sla: QueueDrain
    events: QueueDrain

    def drain(self) -> None:
        for drain in (self.events, self.cases, self.alerts, self.insights, self.sla):
            drain()

    def tell(self, source: str, *events: DomainEvent, at: datetime | None = None) -> None:
        """Put another service's events on the bus (as its publisher does), then drain."""
        publisher = EventPublisher(self.bus, source)
        publisher.publish([Envelope(e, occurred_at=at) if at else Envelope(e) for e in events])
        self.drain()

    def call(
        self, method: str, resource: str, *, sub: str, groups: str, body: Any = None, **params: Any
    ) -> Any:
        path_params = {k: v for k, v in params.items() if "{" + k + "}" in resource}
        query = {k: v for k, v in params.items() if k not in path_params}
        path = resource
        for name, value in path_params.items():
            path = path.replace("{" + name + "}", str(value))
        event = api_event(
            "profile_get_me",
            method=method,
            resource=resource,
            path=path,
            path_parameters=path_params or None,
            query=query or None,
            body=body if body is not None else None,
            sub=sub,
            groups=groups,
        )
        return self.api(event)

    def schedules(self) -> dict[str, dict[str, Any]]:
        """The SLA timers set on the Scheduler, by name, with their input."""
        client = boto3.client("scheduler")
        found = {}
        for summary in client.list_schedules().get("Schedules", []):
            schedule = client.get_schedule(Name=summary["Name"], GroupName=summary["GroupName"])
            found[schedule["Name"]] = {
                "expression": schedule["ScheduleExpression"],
                "input": json.loads(schedule["Target"]["Input"]),
                "after": schedule.get("ActionAfterCompletion"),
            }
        return found

    def fire(self, name: str) -> None:
        """What EventBridge Scheduler does at the timer's time: its input to the SLA queue."""
        timer = self.schedules()[name]
        boto3.client("sqs").send_message(
            QueueUrl=self.messaging.queue_urls[fb.SLA_QUEUE.id], MessageBody=json.dumps(timer["input"])
        )
        boto3.client("scheduler").delete_schedule(
            Name=name, GroupName=provision.timers_group_name(SYSTEM, STAGE, fb.SLA_TIMERS)
        )
        self.sla()


@pytest.fixture
def feedback(moto: None, bus: str, lambda_function: Callable[[Function], Invoker]) -> Feedback:
    clients = (boto3.client("sqs"), boto3.client("sns"), boto3.client("events"))
    messaging = provision.create_messaging(clients, SYSTEM, stage=STAGE, bus=bus)  # type: ignore[arg-type]
    provision.create_timers(boto3.client("scheduler"), SYSTEM, STAGE, messaging)

    def drain(function: Function, queue: Any) -> QueueDrain:
        return QueueDrain(lambda_function(function), messaging, queue)

    return Feedback(
        messaging=messaging,
        bus=bus,
        api=lambda_function(fb.API),
        cases=drain(fb.CASES, fb.CASES_QUEUE),
        alerts=drain(fb.ALERTS, fb.ALERTS_QUEUE),
        insights=drain(fb.INSIGHTS_FN, fb.INSIGHTS_QUEUE),
        sla=drain(fb.SLA, fb.SLA_QUEUE),
        events=drain(fb.EVENTS, fb.EVENTS_QUEUE),
    )

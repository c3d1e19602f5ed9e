"""The asynchronous backbone on the local runtime, with real semantics: bus -> rule -> queue ->
consumer, SNS filter policies, function targets, and faults (duplicates, poison, flaky and
slow consumers) with nothing lost and nothing applied twice."""

from __future__ import annotations

import json
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from infra.local import provision
from infra.local.runtime import Config, LocalRuntime
from shared.events import DomainEvent, EventPublisher
from tests.backbone.topology import CASES, EFFECTS, INBOX, INSIGHTS, MENTIONS, NAIVE_INBOX, TEST_SYSTEM
from tests.e2e.conftest import free_port

# The simulated clock moves only forward of the real one here (a schedule never fires twice for a
# minute it has fired): the dates are next year's.
YEAR = datetime.now(UTC).year + 1

STAGE = "local"


class PurchaseRecorded(DomainEvent):
    customer_id: str
    amount: int
    poison: bool = False


class CustomerRegistered(DomainEvent):
    customer_id: str
    poison: bool = False
    flaky: bool = False


# One worker, one runtime (it runs in this process: its pollers must be gone before a unit test
# turns sockets off, so it lives as long as the module).
pytestmark = pytest.mark.xdist_group("backbone")


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRuntime]:
    config = Config(
        port=free_port(),
        state_dir=tmp_path_factory.mktemp("backbone"),
        access_log=False,
        retry_after_s=1,
    )
    local = LocalRuntime(TEST_SYSTEM, config)
    local.start()
    yield local
    local.stop()


def client(runtime: LocalRuntime, service: str) -> Any:
    return runtime.client(service)


def applied(runtime: LocalRuntime, key: str) -> int:
    table = provision.table_name(TEST_SYSTEM, STAGE, EFFECTS)
    item = (
        client(runtime, "dynamodb").get_item(TableName=table, Key={"pk": {"S": f"EFFECT#{key}"}}).get("Item")
    )
    return int(item["applied"]["N"]) if item else 0


def wait_for(condition: Callable[[], bool], timeout_s: float = 30, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def publisher(runtime: LocalRuntime) -> EventPublisher:
    bus = provision.bus_name(TEST_SYSTEM, STAGE, TEST_SYSTEM.bus)
    return EventPublisher(bus, "dangol.test", client=client(runtime, "events"))


def drain(runtime: LocalRuntime, queue_id: str) -> list[dict[str, Any]]:
    assert runtime.messaging is not None
    sqs = client(runtime, "sqs")
    url = runtime.messaging.queue_urls[queue_id]
    found: list[dict[str, Any]] = []
    for _ in range(5):
        batch = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"])
        for message in batch.get("Messages", []):
            found.append(message)
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        if not batch.get("Messages"):
            break
    return found


def test_an_event_goes_bus_rule_queue_consumer_and_into_the_archive(runtime: LocalRuntime) -> None:
    # Given a purchase event published to the bus as a service publishes it
    event_id = publisher(runtime).publish([PurchaseRecorded(customer_id="cus_1", amount=4500)])[0]
    # When the rule routes it to the inbox queue and the poller feeds the consumer
    wait_for(lambda: applied(runtime, f"event:{event_id}") == 1, what="the consumer to apply the event")
    # Then it was applied once and the archive (GET /_local/events) holds it
    with urllib.request.urlopen(
        urllib.request.Request(
            f"{runtime.url}/_local/events?detail_type=PurchaseRecorded", headers=runtime.local_headers
        )
    ) as response:
        archived = json.load(response)["events"]
    assert event_id in {e["detail"]["metadata"]["event_id"] for e in archived}
    lines = (runtime.config.state_dir / "events.jsonl").read_text().splitlines()
    assert any(event_id in line for line in lines)


def test_a_rule_with_a_function_target_invokes_it_once(runtime: LocalRuntime) -> None:
    # Given a registration event, which a rule sends straight to a function
    event_id = publisher(runtime).publish([CustomerRegistered(customer_id="cus_2")])[0]
    # When the bus delivers it
    wait_for(lambda: applied(runtime, f"event:{event_id}") == 1, what="the function target")
    # Then the function applied it exactly once
    time.sleep(1)
    assert applied(runtime, f"event:{event_id}") == 1


def test_a_function_target_that_fails_once_is_retried_and_applied_once(runtime: LocalRuntime) -> None:
    # Given a registration whose function target fails on its first attempt
    event_id = publisher(runtime).publish([CustomerRegistered(customer_id="cus_3", flaky=True)])[0]
    # When the bus delivers it (EventBridge retries a failed asynchronous invocation)
    wait_for(lambda: applied(runtime, f"event:{event_id}") == 1, what="the retried delivery")
    # Then it was applied once
    time.sleep(1)
    assert applied(runtime, f"event:{event_id}") == 1


def test_a_function_target_that_always_fails_ends_in_the_rules_dlq(runtime: LocalRuntime) -> None:
    # Given a registration the function target can never process
    event_id = publisher(runtime).publish([CustomerRegistered(customer_id="cus_4", poison=True)])[0]
    # When the rule's retries are spent
    dlq: list[dict[str, Any]] = []

    def dead_lettered() -> bool:
        dlq.extend(drain(runtime, "registered-to-events-dlq"))
        return any(json.loads(m["Body"])["detail"]["metadata"]["event_id"] == event_id for m in dlq)

    wait_for(dead_lettered, what="the event in the rule's DLQ")
    # Then nothing was applied and the DLQ message says why
    assert applied(runtime, f"event:{event_id}") == 0
    message = next(m for m in dlq if event_id in m["Body"])
    assert message["MessageAttributes"]["ERROR_CODE"]["StringValue"]


def test_an_sns_message_reaches_only_the_queues_whose_filter_policy_matches(runtime: LocalRuntime) -> None:
    # Given the mentions topic: a complaints-only subscription (raw), a complaints+ideas one (enveloped)
    assert runtime.messaging is not None
    sns = client(runtime, "sns")
    topic = runtime.messaging.topic_arns[MENTIONS.id]
    # When a complaint, an idea and a praise are published
    for kind in ("complaint", "idea", "praise"):
        sns.publish(
            TopicArn=topic,
            Message=json.dumps({"kind": kind}),
            MessageAttributes={"kind": {"DataType": "String", "StringValue": kind}},
        )
    # Then cases got only the complaint, raw; insights got the complaint and the idea in SNS envelopes
    cases = [json.loads(m["Body"]) for m in drain(runtime, CASES.id)]
    insights = [json.loads(json.loads(m["Body"])["Message"]) for m in drain(runtime, INSIGHTS.id)]
    assert cases == [{"kind": "complaint"}]
    assert sorted(i["kind"] for i in insights) == ["complaint", "idea"]


def _send_twice(runtime: LocalRuntime, queue_id: str, bodies: list[dict[str, Any]]) -> None:
    assert runtime.messaging is not None
    sqs = client(runtime, "sqs")
    url = runtime.messaging.queue_urls[queue_id]
    for body in bodies:
        message = json.dumps({"detail": {"metadata": {"event_id": body["id"]}}, **body})
        for _ in range(2):  # every message delivered twice
            sqs.send_message(QueueUrl=url, MessageBody=message)


def test_faults_lose_nothing_apply_nothing_twice_and_dead_letter_only_the_poison(
    runtime: LocalRuntime, record_property: Callable[[str, object], None]
) -> None:
    # Given 20 good messages, 2 flaky (fail once), 1 slow (outlives the timeout once) and 2 poison,
    # every one of them sent twice
    good = [{"id": str(uuid.uuid4())} for _ in range(20)]
    flaky = [{"id": str(uuid.uuid4()), "flaky": True} for _ in range(2)]
    slow = [{"id": str(uuid.uuid4()), "slow": True}]
    poison = [{"id": str(uuid.uuid4()), "poison": True} for _ in range(2)]
    _send_twice(runtime, INBOX.id, good + flaky + slow + poison)
    survivors = good + flaky + slow
    # When the consumer has worked through them (failed ones come back after 1 s; poison after 4 receives)
    wait_for(
        lambda: all(applied(runtime, f"event:{m['id']}") >= 1 for m in survivors),
        timeout_s=90,
        what="every good message to be applied",
    )
    assert runtime.messaging is not None
    sqs = client(runtime, "sqs")
    dlq_url = runtime.messaging.queue_urls[INBOX.dlq_id]

    def dead_lettered() -> list[str]:
        attrs = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["ApproximateNumberOfMessages"])
        return attrs["Attributes"]["ApproximateNumberOfMessages"]

    wait_for(
        lambda: int(dead_lettered()) == 4, timeout_s=60, what="both copies of both poison messages in the DLQ"
    )
    # Then every survivor was applied exactly once, and the DLQ holds exactly the poison (both copies)
    assert [applied(runtime, f"event:{m['id']}") for m in survivors] == [1] * len(survivors)
    dlq = drain(runtime, INBOX.dlq_id)
    assert sorted(json.loads(m["Body"])["id"] for m in dlq) == sorted([p["id"] for p in poison] * 2)
    assert all(applied(runtime, f"event:{p['id']}") == 0 for p in poison)
    stats = next(p.stats for p in runtime.pollers if p.consumer.queue == INBOX)
    counts = {
        "sent": 2 * (len(survivors) + len(poison)),
        "applied": len(survivors),
        "duplicates_skipped": len(survivors),
        "dead_lettered": len(dlq),
        "deliveries": stats.delivered,
        "failed_deliveries": stats.failed,
    }
    record_property("fault_counts", counts)
    Path(runtime.config.state_dir / "fault-counts.json").write_text(json.dumps(counts))
    print("fault counts:", counts)  # noqa: T201 - the closing note quotes them


def test_without_deduplication_the_same_duplicates_are_applied_twice(runtime: LocalRuntime) -> None:
    # Given the same consumer without per-message deduplication (a control for the test above)
    messages = [{"id": str(uuid.uuid4())} for _ in range(3)]
    # When every message is delivered twice
    _send_twice(runtime, NAIVE_INBOX.id, messages)
    # Then each is applied twice: the fault test above would see it
    wait_for(
        lambda: all(applied(runtime, f"event:{m['id']}") == 2 for m in messages),
        what="the naive consumer to apply every copy",
    )


def test_the_poller_builds_real_sqs_events(runtime: LocalRuntime) -> None:
    # Given the records a poller hands to a function
    from infra.local.pollers import sqs_record

    message = {
        "MessageId": "m-1",
        "ReceiptHandle": "r-1",
        "Body": "{}",
        "Attributes": {"ApproximateReceiveCount": "2"},
        "MessageAttributes": {"kind": {"DataType": "String", "StringValue": "complaint"}},
    }
    # When one is built
    record = sqs_record(
        message, queue_arn="arn:aws:sqs:ap-northeast-2:123456789012:q", region="ap-northeast-2"
    )
    # Then it has the SQS event source's shape
    assert record["eventSource"] == "aws:sqs"
    assert record["attributes"]["ApproximateReceiveCount"] == "2"
    assert record["messageAttributes"]["kind"]["stringValue"] == "complaint"
    assert set(record) >= {"messageId", "receiptHandle", "body", "md5OfBody", "eventSourceARN", "awsRegion"}


def _clock(runtime: LocalRuntime, order: dict[str, Any]) -> dict[str, Any]:
    request = urllib.request.Request(
        f"{runtime.url}/_local/clock",
        data=json.dumps(order).encode(),
        method="POST",
        headers=runtime.local_headers,
    )
    with urllib.request.urlopen(request) as response:
        return dict(json.load(response))


def _fired(runtime: LocalRuntime, name: str) -> list[dict[str, Any]]:
    request = urllib.request.Request(
        f"{runtime.url}/_local/schedules?name={name}", headers=runtime.local_headers
    )
    with urllib.request.urlopen(request) as response:
        return list(json.load(response)["fired"])


def test_a_daily_seoul_schedule_fires_once_at_its_local_time_not_at_utcs(runtime: LocalRuntime) -> None:
    # Given the simulated clock frozen a minute before 09:00 in Seoul on Christmas Eve
    _clock(runtime, {"freeze": True})
    _clock(runtime, {"set": f"{YEAR}-12-24T08:59", "tz": "Asia/Seoul"})
    before = len(_fired(runtime, "daily-greeting"))
    # When the clock passes 09:00 Seoul (00:00 UTC)
    _clock(runtime, {"advance": "2m"})
    wait_for(lambda: len(_fired(runtime, "daily-greeting")) == before + 1, what="the 09:00 Seoul firing")
    fired = _fired(runtime, "daily-greeting")[-1]
    # Then it fired once, at 09:00 local = 00:00 UTC, and its function applied it once
    assert fired["scheduled_local"].startswith(f"{YEAR}-12-24T09:00:00+09:00")
    assert fired["scheduled_utc"].startswith(f"{YEAR}-12-24T00:00:00+00:00")
    wait_for(
        lambda: (
            fired["outcome"].startswith("invoked")
            or _fired(runtime, "daily-greeting")[-1]["outcome"].startswith("invoked")
        ),
        what="the invocation",
    )
    # And when the clock then reaches 09:00 UTC (18:00 in Seoul) nothing more fires
    _clock(runtime, {"set": f"{YEAR}-12-24T09:30", "tz": "UTC"})
    time.sleep(0.5)
    assert len(_fired(runtime, "daily-greeting")) == before + 1
    # And a whole simulated day later it fires exactly once more
    _clock(runtime, {"advance": "1d"})
    wait_for(lambda: len(_fired(runtime, "daily-greeting")) == before + 2, what="the next day's firing")
    assert _fired(runtime, "daily-greeting")[-1]["scheduled_local"].startswith(f"{YEAR}-12-25T09:00:00+09:00")
    _clock(runtime, {"reset": True})


def test_a_one_time_schedule_created_through_the_scheduler_api_fires(runtime: LocalRuntime) -> None:
    # Given a service creating a one-time schedule at run time (EventBridge Scheduler API, on moto)
    _clock(runtime, {"freeze": True})
    _clock(runtime, {"set": f"{YEAR}-12-31T23:00", "tz": "Asia/Seoul"})
    key = str(uuid.uuid4())
    client(runtime, "scheduler").create_schedule(
        Name=f"new-year-{key[:8]}",
        ScheduleExpression=f"at({YEAR + 1}-01-01T00:00:00)",
        ScheduleExpressionTimezone="Asia/Seoul",
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={
            "Arn": "arn:aws:lambda:ap-northeast-2:123456789012:function:backbone-events",
            "RoleArn": "arn:aws:iam::123456789012:role/scheduler",
            "Input": json.dumps({"id": key}),
        },
    )
    time.sleep(2.5)  # the runtime mirrors the Scheduler API's schedules every 2 s
    # When midnight passes in Seoul
    _clock(runtime, {"advance": "90m"})
    # Then the function ran once for it
    wait_for(lambda: applied(runtime, f"eventbridge:{key}") == 1, what="the one-time schedule's target")
    _clock(runtime, {"advance": "1d"})
    time.sleep(0.5)
    assert applied(runtime, f"eventbridge:{key}") == 1
    _clock(runtime, {"reset": True})

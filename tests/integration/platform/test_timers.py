"""One-time timers on EventBridge Scheduler (``shared.timers``), on moto: a timer is a schedule
``at(...)`` in UTC, deleted after it fires, with the group's retry policy; setting it again moves
it; an instant already past goes to the queue at once; cancelling one that is gone is fine."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import boto3
import pytest

from shared.queues import SqsSender
from shared.timers import Timers, TimersConfig

NOW = datetime(2026, 12, 3, 1, 0, 30, 250_000, tzinfo=UTC)


@pytest.fixture
def timers(moto: None) -> tuple[Timers, str]:
    sqs = boto3.client("sqs")
    url = sqs.create_queue(QueueName="timers-target")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    boto3.client("scheduler").create_schedule_group(Name="dangol-test-timers")
    config = TimersConfig(
        group="dangol-test-timers",
        role_arn="arn:aws:iam::123456789012:role/timers",
        target_arn=arn,
        target_url=url,
        dlq_arn="arn:aws:sqs:ap-northeast-2:123456789012:timers-dlq",
        retry_attempts=2,
    )
    sender = SqsSender(lambda: sqs, url, failure_code="timer_not_set")
    return Timers(config, lambda: boto3.client("scheduler"), sender), url


def _schedule(name: str) -> dict:  # type: ignore[type-arg]
    return boto3.client("scheduler").get_schedule(Name=name, GroupName="dangol-test-timers")


def test_a_timer_is_a_one_time_schedule_in_utc_deleted_after_it_fires(timers: tuple[Timers, str]) -> None:
    clock, _ = timers
    # When a timer is set for a moment with a fraction of a second
    assert clock.set("case-1-first-response", NOW + timedelta(hours=1), {"case_id": "c1"}, now=NOW)
    # Then it is at the next whole second, in UTC, with the input, the role, retries and the DLQ
    found = _schedule("case-1-first-response")
    assert found["ScheduleExpression"] == "at(2026-12-03T02:00:31)"
    assert found["ScheduleExpressionTimezone"] == "UTC"
    assert found["ActionAfterCompletion"] == "DELETE"
    assert json.loads(found["Target"]["Input"]) == {"case_id": "c1"}
    assert found["Target"]["RoleArn"].endswith(":role/timers")
    assert found["Target"]["RetryPolicy"]["MaximumRetryAttempts"] == 2
    assert found["Target"]["DeadLetterConfig"]["Arn"].endswith(":timers-dlq")


def test_setting_a_timer_again_moves_it_and_cancelling_twice_is_fine(timers: tuple[Timers, str]) -> None:
    clock, _ = timers
    clock.set("case-1-resolution", NOW + timedelta(hours=8), {"v": 1}, now=NOW)
    clock.set("case-1-resolution", NOW + timedelta(hours=9), {"v": 2}, now=NOW)
    found = _schedule("case-1-resolution")
    assert found["ScheduleExpression"] == "at(2026-12-03T10:00:31)"
    assert json.loads(found["Target"]["Input"]) == {"v": 2}
    clock.cancel("case-1-resolution")
    clock.cancel("case-1-resolution")
    assert boto3.client("scheduler").list_schedules(GroupName="dangol-test-timers")["Schedules"] == []


def test_a_moment_already_past_goes_to_the_queue_at_once(timers: tuple[Timers, str]) -> None:
    clock, url = timers
    clock.set("case-2-first-response", NOW + timedelta(hours=1), {"v": 1}, now=NOW)
    # When the same timer is set for a moment already past (a late resume, a long outage)
    assert not clock.set("case-2-first-response", NOW - timedelta(minutes=5), {"v": 2}, now=NOW)
    # Then its input is on the queue, and no schedule is left to fire it again
    messages = boto3.client("sqs").receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert [json.loads(m["Body"]) for m in messages] == [{"v": 2}]
    assert boto3.client("scheduler").list_schedules(GroupName="dangol-test-timers")["Schedules"] == []


def test_a_name_the_scheduler_would_refuse_is_refused_before_calling_it(timers: tuple[Timers, str]) -> None:
    clock, _ = timers
    with pytest.raises(ValueError, match="schedule name"):
        clock.set("case 1/first", NOW + timedelta(hours=1), {}, now=NOW)

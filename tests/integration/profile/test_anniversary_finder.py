"""The anniversary finder against moto: found through the month-day index, at the customer's
local morning, announced once per anniversary per year however often the job runs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest

from services.profile.topology import ANNIVERSARY_FINDER
from shared.clock import CLOCK_FILE_ENV
from tests.integration.apigw import Invoker, LambdaContext, api_event

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish:UserWarning")


@pytest.fixture
def announcements(bus: str) -> Any:
    sqs, events = boto3.client("sqs"), boto3.client("events")
    url = sqs.create_queue(QueueName="announcements")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    pattern = json.dumps({"detail-type": ["AnniversaryUpcoming"]})
    events.put_rule(Name="announcements", EventBusName=bus, EventPattern=pattern)
    events.put_targets(Rule="announcements", EventBusName=bus, Targets=[{"Id": "q", "Arn": arn}])

    def read() -> list[dict[str, Any]]:
        found = []
        while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
            found += [json.loads(m["Body"])["detail"]["data"] for m in batch]
            sqs.delete_message_batch(
                QueueUrl=url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)],
            )
        return found

    return read


@pytest.fixture
def at(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Freeze the functions' clock (shared.clock follows DANGOL_CLOCK_FILE) at a UTC instant."""
    clock = tmp_path / "clock.json"
    monkeypatch.setenv(CLOCK_FILE_ENV, str(clock))

    def set_time(iso_utc: str) -> None:
        clock.write_text(json.dumps({"frozen_at": iso_utc}))

    return set_time


def test_a_leap_day_wedding_is_announced_once_on_the_morning_of_27_february(
    profile_api: Invoker, lambda_function: Any, announcements: Any, at: Any
) -> None:
    # Given a Seoul father married on 2024-02-29, and a Los Angeles customer with the same date
    at("2025-01-10T00:00:00Z")
    body = {
        "display_name": "아빠",
        "time_zone": "Asia/Seoul",
        "anniversaries": [{"kind": "wedding", "date": "2024-02-29"}],
    }
    father = profile_api(api_event("profile_create_me", sub="sub-father", body=body)).json()
    la = {**body, "display_name": "LA", "time_zone": "America/Los_Angeles"}
    profile_api(api_event("profile_create_me", sub="sub-la", body=la))
    finder = lambda_function(ANNIVERSARY_FINDER)
    context = LambdaContext.of(ANNIVERSARY_FINDER)
    # When the finder runs at 08:45 in Seoul on 27 February 2025: nothing yet
    at("2025-02-26T23:45:00Z")
    assert finder.handler({}, context)["announced"] == 0
    # When it runs at 09:00 and again at 09:15 (twice, as a late or repeated run would)
    at("2025-02-27T00:00:00Z")
    first = finder.handler({}, context)
    at("2025-02-27T00:15:00Z")
    again = finder.handler({}, context)
    # Then the father's first anniversary (28 February) was announced exactly once; LA's not yet
    assert (first["announced"], again["announced"]) == (1, 0)
    (event,) = announcements()
    assert event == {
        "customer_id": father["customer_id"],
        "kind": "wedding",
        "label": None,
        "date": "2024-02-29",
        "occurs_on": "2025-02-28",
        "years": 1,
        "lead_days": 1,
    }
    # And it read only the index items of the month-days that could be due, never the table
    assert first["read"] == 2


def test_changing_the_anniversaries_moves_the_index_items(
    profile_api: Invoker, lambda_function: Any, announcements: Any, at: Any
) -> None:
    # Given a customer whose anniversary moves from 10 May to 11 May
    at("2026-01-01T00:00:00Z")
    body = {"display_name": "x", "anniversaries": [{"kind": "membership", "date": "2020-05-10"}]}
    profile_api(api_event("profile_create_me", sub="sub-move", body=body))
    moved = {"anniversaries": [{"kind": "membership", "date": "2020-05-11"}]}
    assert (
        profile_api(
            api_event("profile_update_me", sub="sub-move", body=moved, headers={"If-Match": None})
        ).status
        == 200
    )
    finder = lambda_function(ANNIVERSARY_FINDER)
    # When the finder runs on the morning of 9 May and of 10 May in Seoul
    at("2026-05-09T01:00:00Z")
    old_day = finder.handler({}, LambdaContext.of(ANNIVERSARY_FINDER))
    at("2026-05-10T01:00:00Z")
    new_day = finder.handler({}, LambdaContext.of(ANNIVERSARY_FINDER))
    # Then only the new date is announced
    assert (old_day["announced"], new_day["announced"]) == (0, 1)
    assert [e["occurs_on"] for e in announcements()] == ["2026-05-11"]

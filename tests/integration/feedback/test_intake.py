"""Mentions in through the sources' webhooks, on moto, through the real ``feedback-intake``: a
delivery signed with the stage's secret is taken, each mention once, classified and published to
the mentions topic, where the filter policies send the complaint to the cases queue; unsigned,
forged, stale or replayed deliveries are a 401 with their code and store nothing."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import boto3
import pytest

from infra.topology import SYSTEM
from services.feedback.topology import CASES_QUEUE, FEEDBACK, INSIGHTS_QUEUE, INTAKE, X_SECRET
from shared.topology import Function
from tests.integration.apigw import Invoker, api_event
from tests.integration.conftest import FROZEN_AT, STAGE, scan_all
from tests.integration.feedback.conftest import Feedback

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish:UserWarning")


def x_delivery(tweet_id: str, text: str, *, at: datetime, followers: int = 1520) -> bytes:
    """An X Account Activity delivery of one tweet mentioning the brand."""
    tweet = {
        "id_str": tweet_id,
        "text": text,
        "timestamp_ms": str(int(at.timestamp() * 1000)),
        "created_at": at.strftime("%a %b %d %H:%M:%S +0000 %Y"),
        "user": {"id_str": "1234567890", "screen_name": "minji_eats", "followers_count": followers},
    }
    return json.dumps({"for_user_id": "1480000000000000001", "tweet_create_events": [tweet]}).encode()


def x_secret() -> str:
    name = f"{SYSTEM.name}-{STAGE}-{X_SECRET.id}"
    return str(boto3.client("secretsmanager").get_secret_value(SecretId=name)["SecretString"])


def sign(body: bytes, secret: str) -> str:
    return "sha256=" + base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


@pytest.fixture
def intake(feedback: Feedback, lambda_function: Callable[[Function], Invoker]) -> Callable[..., Any]:
    invoker = lambda_function(INTAKE)

    def deliver(body: bytes, signature: str | None) -> Any:
        headers = {"x-twitter-webhooks-signature": signature} if signature else {}
        event = api_event(
            "profile_get_me",
            method="POST",
            resource="/webhooks/{source}",
            path_parameters={"source": "x"},
            body=body.decode(),
            headers={**headers, "Content-Type": "application/json"},
            claims=None,
        )
        return invoker(event)

    return deliver


def queued(feedback: Feedback, queue: Any) -> int:
    url = feedback.messaging.queue_urls[queue.id]
    attrs = boto3.client("sqs").get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"]
    )
    return int(attrs["Attributes"]["ApproximateNumberOfMessages"])


def test_a_signed_complaint_is_taken_once_and_fanned_out(
    feedback: Feedback, intake: Callable[..., Any], frozen_clock: Callable[[datetime], None]
) -> None:
    body = x_delivery(
        "1900000000000000101", "@dangol 강남점 라떼 40분 기다렸는데 식어서 나왔어요. 최악이에요", at=FROZEN_AT
    )
    # When X delivers it, signed with the stage's consumer secret
    taken = intake(body, sign(body, x_secret()))
    # Then it is taken, and the topic put it on the cases queue (a complaint) and the insights queue
    assert taken.status == 200, taken.body
    assert taken.json() == {"accepted": 1, "duplicates": 0, "skipped": 0, "failures": []}
    assert (queued(feedback, CASES_QUEUE), queued(feedback, INSIGHTS_QUEUE)) == (1, 1)
    # When the same delivery comes again (a replay), it is refused and nothing more is queued
    replayed = intake(body, sign(body, x_secret()))
    assert (replayed.status, replayed.error["code"]) == (401, "webhook_replayed")
    # and the same tweet in another delivery (X retries with new framing) is a duplicate
    again = json.loads(body)
    again["tweet_create_events"][0]["retweet_count"] = 0
    other = json.dumps(again).encode()
    assert intake(other, sign(other, x_secret())).json()["duplicates"] == 1
    assert (queued(feedback, CASES_QUEUE), queued(feedback, INSIGHTS_QUEUE)) == (1, 1)
    # And the case opens from it
    feedback.drain()
    assert len(feedback.call("GET", "/cases", sub="agent", groups="agent").json()["items"]) == 1


@pytest.mark.parametrize(
    ("signature", "at", "code"),
    [
        (None, FROZEN_AT, "webhook_unsigned"),
        ("sha256=" + base64.b64encode(b"0" * 32).decode(), FROZEN_AT, "webhook_bad_signature"),
        ("signed", FROZEN_AT - timedelta(minutes=6), "webhook_stale"),
    ],
)
@pytest.mark.usefixtures("frozen_clock")
def test_an_unsigned_forged_or_stale_delivery_is_401_and_stores_nothing(
    feedback: Feedback, intake: Callable[..., Any], signature: str | None, at: datetime, code: str
) -> None:
    body = x_delivery("1900000000000000102", "앱이 계속 꺼져요. 환불해 주세요", at=at)
    refused = intake(body, sign(body, x_secret()) if signature == "signed" else signature)
    assert (refused.status, refused.error["code"]) == (401, code)
    assert scan_all(FEEDBACK) == []
    assert queued(feedback, INSIGHTS_QUEUE) == 0

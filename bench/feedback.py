"""B8: a mention's way from the source's webhook to an open case, against a raw SNS publish and
SQS receive floor on the same moto.

    .venv/bin/python -m bench feedback [--mentions 200] [--json] [--check]

Ours, per mention: X's signed delivery through ``feedback-intake``'s real entry point (signature,
replay window, classification, the delivery's claim and the mention kept once in one transaction,
published to the mentions topic with its attributes, its pending marker deleted), then the
subscriptions' filter policies put it on the cases queue (and the insights queue, and the alerts
queue when loud), and ``feedback-cases``' real entry point takes it from there (ten records a
call, as Lambda's event source) and opens the case (case, claim, timeline and outbox in one
transaction) with the timer of its next SLA deadline (EventBridge Scheduler), the batch's
``CaseOpened`` events put on the bus together. The floor, per mention: one ``Publish`` of a
message of the same size with the same attributes to the same topic (so moto fans it out to the
same queues), then the cases queue received and deleted ten at a time. Both in one process, one
after the other, the queues drained between.

Reported: milliseconds per mention each way and their ratio (target at most 1.5), the cases opened
(one per complaint) and the AWS calls per mention (botocore's before-send events).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import importlib
import json
import os
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import boto3

from infra.environment import function_environment, messaging_environment
from infra.local import provision
from infra.local.gateway import Gateway
from infra.local.moto_server import MotoServer
from infra.local.pollers import sqs_record
from infra.local.runtime import LOCAL_CREDENTIALS
from infra.topology import SYSTEM
from services.feedback import topology as fb
from shared import aws, secrets

REGION = "ap-northeast-2"
STAGE = "bench"
TARGET = 1.5
TEXT = "@dangol 강남점 라떼 40분 기다렸는데 식어서 나왔어요. 최악이에요 #{n}"


class Context:
    function_name = "bench"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:ap-northeast-2:000000000000:function:bench"
    aws_request_id = "bench"


def _client(url: str, service: str) -> Any:
    return boto3.client(
        service,  # type: ignore[call-overload]
        endpoint_url=url,
        region_name=REGION,
        aws_access_key_id=LOCAL_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=LOCAL_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    )


def _delivery(n: int, at: datetime) -> bytes:
    tweet = {
        "id_str": str(1_900_000_000_000_000_000 + n),
        "text": TEXT.format(n=n),
        "timestamp_ms": str(int(at.timestamp() * 1000)),
        "user": {"id_str": str(1000 + n), "screen_name": f"fan_{n}", "followers_count": 120},
    }
    return json.dumps({"for_user_id": "1480000000000000001", "tweet_create_events": [tweet]}).encode()


def _drain(sqs: Any, url: str) -> int:
    count = 0
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        count += len(messages)
        entries = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)]
        sqs.delete_message_batch(QueueUrl=url, Entries=entries)
    return count


def _world(url: str) -> tuple[provision.Messaging, dict[str, str]]:
    clients = (_client(url, "sqs"), _client(url, "sns"), _client(url, "events"))
    provision.create_tables(_client(url, "dynamodb"), SYSTEM, STAGE)
    bus = provision.create_bus(_client(url, "events"), SYSTEM, STAGE)
    messaging = provision.create_messaging(clients, SYSTEM, stage=STAGE, bus=bus)
    timers = provision.create_timers(_client(url, "scheduler"), SYSTEM, STAGE, messaging)
    platform = provision.create_platform_secrets(_client(url, "secretsmanager"), SYSTEM, STAGE)
    cursor = provision.create_cursor_key_secret(_client(url, "secretsmanager"), SYSTEM, STAGE, "k" * 40)
    env: dict[str, str] = {
        **LOCAL_CREDENTIALS,
        "AWS_ENDPOINT_URL": url,
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "POWERTOOLS_METRICS_DISABLED": "true",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
    }
    for fn in (fb.INTAKE, fb.CASES):
        env |= function_environment(
            SYSTEM,
            fn,
            stage=STAGE,
            table_name=lambda t: provision.table_name(SYSTEM, STAGE, t),
            bus_name=lambda b: provision.bus_name(SYSTEM, STAGE, b),
            queue_url=lambda q: messaging.queue_urls[q.id],
            topic_arn=lambda t: messaging.topic_arns[t.id],
            cursor_key_secret=cursor,
            secret_arn=lambda x: platform[x.id],
            function_name=lambda f: f.id,
            messaging=messaging_environment(sender="a@b.c", configuration_set=None, push_applications={}),
            public_api_url="http://127.0.0.1",
            timers=lambda t: timers[t.id],
        )
    env["POWERTOOLS_LOG_LEVEL"] = "WARNING"
    env.pop("PROFILE_HANDLES_FUNCTION", None)  # no profile service here: mentions go unlinked
    return messaging, env


def _ours(
    mentions: int, messaging: provision.Messaging, secret: str, sqs: Any, *, first: int = 0
) -> dict[str, Any]:
    intake = importlib.import_module(fb.INTAKE.module)
    cases = importlib.import_module(fb.CASES.module)
    gateway = Gateway(SYSTEM.routes, {}, lambda: None, stage=STAGE, spec=dict)  # type: ignore[arg-type, return-value]
    cases_url = messaging.queue_urls[fb.CASES_QUEUE.id]
    cases_arn = messaging.queue_arns[fb.CASES_QUEUE.id]
    started = time.perf_counter()
    opened = refused = 0
    for n in range(first, first + mentions):
        body = _delivery(n, datetime.now(UTC))
        signature = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()
        event = gateway.event(
            fb.WEBHOOK_DELIVERY,
            path="/webhooks/x",
            query="",
            params={"source": "x"},
            headers=[
                ("Content-Type", "application/json"),
                ("x-twitter-webhooks-signature", f"sha256={signature}"),
            ],
            body=body,
            claims=None,
            source_ip="127.0.0.1",
        )
        answer = intake.lambda_handler(event, Context())
        refused += answer["statusCode"] != 200
        if n % 10 == 9 or n == first + mentions - 1:  # Lambda's event source: ten records a call
            while messages := sqs.receive_message(
                QueueUrl=cases_url, MaxNumberOfMessages=10, MessageSystemAttributeNames=["All"]
            ).get("Messages", []):
                records = [sqs_record(m, queue_arn=cases_arn, region=REGION) for m in messages]
                failed = cases.lambda_handler({"Records": records}, Context())["batchItemFailures"]
                opened += len(messages) - len(failed)
                entries = [
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)
                ]
                sqs.delete_message_batch(QueueUrl=cases_url, Entries=entries)
    return {"seconds": time.perf_counter() - started, "opened": opened, "refused": refused}


def _floor(mentions: int, messaging: provision.Messaging, sns: Any, sqs: Any) -> dict[str, Any]:
    topic = messaging.topic_arns[fb.MENTIONS.id]
    cases_url = messaging.queue_urls[fb.CASES_QUEUE.id]
    attributes = {
        "source": {"DataType": "String", "StringValue": "x"},
        "language": {"DataType": "String", "StringValue": "ko"},
        "sentiment": {"DataType": "String", "StringValue": "negative"},
        "complaint": {"DataType": "String", "StringValue": "true"},
        "reach": {"DataType": "Number", "StringValue": "120"},
    }
    received = 0
    started = time.perf_counter()
    for n in range(mentions):
        sns.publish(
            TopicArn=topic, Message=_delivery(n, datetime.now(UTC)).decode() * 2, MessageAttributes=attributes
        )
        if n % 10 == 9 or n == mentions - 1:
            received += _drain(sqs, cases_url)
    return {"seconds": time.perf_counter() - started, "received": received}


_CALLS = [0]  # the AWS calls this process made (``_count_requests``)


def _count_requests() -> None:
    """Count every AWS call this process makes (botocore's before-send event)."""
    import botocore.session  # noqa: PLC0415

    original = botocore.session.Session.create_client

    def create_client(self: Any, *args: Any, **kwargs: Any) -> Any:
        client = original(self, *args, **kwargs)
        client.meta.events.register("before-send", lambda **_: _CALLS.__setitem__(0, _CALLS[0] + 1))
        return client

    botocore.session.Session.create_client = create_client  # type: ignore[method-assign]


def run(mentions: int) -> dict[str, Any]:
    _count_requests()
    moto = MotoServer()
    url = moto.start()
    saved = dict(os.environ)
    try:
        messaging, env = _world(url)
        os.environ.update(env)
        aws.reset_clients()
        secrets.CACHE.forget()
        sns, sqs = _client(url, "sns"), _client(url, "sqs")
        secret = secrets.secret_string(env[fb.X_SECRET.env_var])
        _floor(10, messaging, sns, sqs)  # warm both paths (clients, moto's first calls)
        _ours(10, messaging, secret, sqs, first=10**6)  # other tweets than the measured ones
        for queue in (fb.INSIGHTS_QUEUE, fb.ALERTS_QUEUE, fb.CASES_QUEUE, fb.SLA_QUEUE):
            _drain(sqs, messaging.queue_urls[queue.id])
        floor = _floor(mentions, messaging, sns, sqs)
        for queue in (fb.INSIGHTS_QUEUE, fb.ALERTS_QUEUE):
            _drain(sqs, messaging.queue_urls[queue.id])
        calls_before = _CALLS[0]
        ours = _ours(mentions, messaging, secret, sqs)
        calls = _CALLS[0] - calls_before
        return {
            "aws_calls_per_mention": calls / mentions,
            "mentions": mentions,
            "ours_ms": ours["seconds"] * 1000 / mentions,
            "floor_ms": floor["seconds"] * 1000 / mentions,
            "ratio": ours["seconds"] / floor["seconds"],
            "cases_opened": ours["opened"],
            "refused": ours["refused"],
            "floor_received": floor["received"],
        }
    finally:
        os.environ.clear()
        os.environ.update(saved)
        aws.reset_clients()
        moto.stop()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench feedback", description=__doc__.splitlines()[0])
    parser.add_argument("--mentions", type=int, default=200, help="mentions delivered (200)")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--check", action="store_true", help=f"exit 1 unless the ratio is at most {TARGET}")
    args = parser.parse_args(argv)
    result = run(args.mentions)
    ok = result["ratio"] <= TARGET and result["cases_opened"] == args.mentions and not result["refused"]
    if args.json:
        print(json.dumps(result))
    else:
        print(
            f"feedback (B8): {args.mentions} mentions webhook → SNS → SQS → case in"
            f" {result['ours_ms']:.1f} ms each against a raw publish/receive floor at"
            f" {result['floor_ms']:.1f} ms: x{result['ratio']:.2f} (target at most {TARGET});"
            f" cases opened {result['cases_opened']}, refused {result['refused']};"
            f" {result['aws_calls_per_mention']:.1f} AWS calls a mention (the floor: 1.2)"
        )
    return 1 if args.check and not ok else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

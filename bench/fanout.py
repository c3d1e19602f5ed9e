"""B4: a campaign run's fan-out (its audience paged into the sender's batches) against a raw
floor on the same moto, with the queues drained as it runs.

    .venv/bin/python -m bench fanout [--recipients 10000] [--json] [--check]

The fan-out is what ``campaigns-release``/a launch and ``campaigns-planner`` do: the run's 16
planner steps queued (``SendMessageBatch``, ten a call), then each step reads a page of its
member shard (a DynamoDB Query), queues its recipients as batches of 50 (ten messages a call),
and records how far it got and the audience (one TransactWriteItems). The floor does the same
reads and queues the same bodies through a bare boto3 client, and records nothing. A thread
drains the sender's queue as both run (receive ten, delete ten), as the senders would.

Reported: seconds per 10,000 recipients each way, their ratio (target at most 1.5), and the
SQS calls per level against ⌈messages/10⌉.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import boto3

from infra.local import provision
from infra.local.moto_server import MotoServer
from infra.local.runtime import LOCAL_CREDENTIALS
from services.campaigns.dal import keys
from services.campaigns.dal.campaigns import DynamoCampaigns, QueuedWork
from services.campaigns.dal.segments import DynamoSegments
from services.campaigns.logic import delivery
from services.campaigns.topology import CAMPAIGNS
from shared.dynamo import DynamoTable
from shared.ids import new_id
from shared.platform import BUS
from shared.queues import SqsSender
from shared.topology import Service, System

SYSTEM = System(
    name="dangolbench",
    bus=BUS,
    services=(Service(name="campaigns", tables=(CAMPAIGNS,), functions=(), routes=()),),
)
REGION = "ap-northeast-2"
TARGET = 1.5
NOW = datetime(2026, 12, 2, 1, 0, tzinfo=UTC)


def _client(url: str, service: str) -> Any:
    return boto3.client(
        service,  # type: ignore[call-overload]
        endpoint_url=url,
        region_name=REGION,
        aws_access_key_id=LOCAL_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=LOCAL_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    )


class Drain:
    """The senders, as far as the queue sees them: receive ten, delete ten, until stopped."""

    def __init__(self, sqs: Any, url: str) -> None:
        self.sqs, self.url = sqs, url
        self.received = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            got = self.sqs.receive_message(QueueUrl=self.url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
            messages = got.get("Messages", [])
            if messages:
                self.received += len(messages)
                entries = [
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)
                ]
                self.sqs.delete_message_batch(QueueUrl=self.url, Entries=entries)

    def __enter__(self) -> Drain:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _audience(segments: DynamoSegments, table: DynamoTable, recipients: int) -> str:
    segment_id = new_id("seg")
    items = []
    for _ in range(recipients):
        customer_id = new_id("cus")
        items.append({**keys.member_key(segment_id, customer_id), "customer_id": customer_id})
    items.append({**keys.count_key(segment_id, 0), "members": recipients})
    table.batch_write(puts=items)
    return segment_id


def _campaign(campaigns: DynamoCampaigns, segment_id: str) -> dict[str, Any]:
    item = {
        "id": new_id("cmp"),
        "name": "bench",
        "segment_id": segment_id,
        "template_id": "tpl_X",
        "channel": "email",
        "priority": 10,
        "control_percent": 10,
        "schedule": {"kind": "now"},
        "status": "sending",
        "version": 1,
        "runs": 1,
    }
    campaigns.create(item)
    return item


def _ours(
    campaigns: DynamoCampaigns, segments: DynamoSegments, sqs: Any, urls: dict[str, str], segment_id: str
) -> dict[str, Any]:
    plan = SqsSender(lambda: sqs, urls["plan"], failure_code="x")
    send = SqsSender(lambda: sqs, urls["send"], failure_code="x")
    work = QueuedWork(plan, send)
    campaign = _campaign(campaigns, segment_id)
    started = time.perf_counter()
    delivery.start_run(campaigns, work, campaign, 1, audience=segments.count(segment_id), at=NOW)
    start_calls = plan.calls
    steps = 0
    while True:  # the planner, as Lambda feeds it: a message at a time until the queue is empty
        got = sqs.receive_message(QueueUrl=urls["plan"], MaxNumberOfMessages=1)
        messages = got.get("Messages", [])
        if not messages:
            break
        step = json.loads(messages[0]["Body"])
        delivery.plan_step(
            campaigns,
            segments,
            work,
            step["campaign_id"],
            run=step["run"],
            chain=step["chain"],
            step=step["step"],
            positions=step["positions"],
            priority_step_s=0,
        )
        sqs.delete_message(QueueUrl=urls["plan"], ReceiptHandle=messages[0]["ReceiptHandle"])
        steps += 1
    elapsed = time.perf_counter() - started
    audience = campaigns.counts(str(campaign["id"]))["audience"]
    return {
        "seconds": elapsed,
        "audience": audience,
        "plan_steps": steps,
        "start_calls": start_calls,
        "continuation_calls": plan.calls - start_calls,
        "batch_calls": send.calls,
    }


def _floor(
    dynamo: Any, sqs: Any, table_name: str, urls: dict[str, str], segment_id: str, *, chains: int
) -> dict[str, Any]:
    """The same messages and reads through a bare client: the chains' first steps queued, each
    step received, its members read (a page per shard in turn, up to ``PLAN_PAGE``), its batches
    queued ten to a call, the next step queued, the step deleted; nothing recorded."""
    started = time.perf_counter()
    steps = [{str(s): None for s in range(c, delivery.MEMBER_SHARDS, chains)} for c in range(chains)]
    entries = [{"Id": str(n), "MessageBody": json.dumps(step)} for n, step in enumerate(steps)]
    for first in range(0, len(entries), 10):
        sqs.send_message_batch(QueueUrl=urls["floor"], Entries=entries[first : first + 10])
    calls = recipients = 0
    while True:
        messages = sqs.receive_message(QueueUrl=urls["floor"], MaxNumberOfMessages=1).get("Messages", [])
        if not messages:
            break
        left = json.loads(messages[0]["Body"])
        ids: list[str] = []
        for shard in sorted(left, key=int):
            while len(ids) < delivery.PLAN_PAGE:
                after = left[shard]
                page = dynamo.query(
                    TableName=table_name,
                    KeyConditionExpression="pk = :pk" + (" AND sk > :after" if after else ""),
                    ExpressionAttributeValues={
                        ":pk": {"S": keys.member_pk(segment_id, int(shard))},
                        **({":after": {"S": after}} if after else {}),
                    },
                    Limit=delivery.PLAN_PAGE - len(ids),
                )
                got = [i["sk"]["S"] for i in page["Items"]]
                ids += got
                if not page.get("LastEvaluatedKey") or not got:
                    del left[shard]
                    break
                left[shard] = got[-1]
            if len(ids) >= delivery.PLAN_PAGE:
                break
        recipients += len(ids)
        bodies = [
            json.dumps(
                {"campaign_id": "c", "run": 1, "recipients": ids[i : i + delivery.RECIPIENTS_PER_MESSAGE]}
            )
            for i in range(0, len(ids), delivery.RECIPIENTS_PER_MESSAGE)
        ]
        for first in range(0, len(bodies), 10):
            batch = [{"Id": str(n), "MessageBody": b} for n, b in enumerate(bodies[first : first + 10])]
            sqs.send_message_batch(QueueUrl=urls["send"], Entries=batch)
            calls += 1
        if left:
            sqs.send_message(QueueUrl=urls["floor"], MessageBody=json.dumps(left))
        sqs.delete_message(QueueUrl=urls["floor"], ReceiptHandle=messages[0]["ReceiptHandle"])
    return {"seconds": time.perf_counter() - started, "recipients": recipients, "batch_calls": calls}


def run(recipients: int) -> dict[str, Any]:
    moto = MotoServer()
    url = moto.start()
    try:
        dynamo, sqs = _client(url, "dynamodb"), _client(url, "sqs")
        provision.create_tables(dynamo, SYSTEM, "local")
        table_name = provision.table_name(SYSTEM, "local", CAMPAIGNS)
        table = DynamoTable(table_name, dynamo)
        urls = {
            name: sqs.create_queue(QueueName=f"bench-{name}")["QueueUrl"]
            for name in ("plan", "send", "floor")
        }
        campaigns, segments = DynamoCampaigns(table), DynamoSegments(table, cache_s=0)
        segment_id = _audience(segments, table, recipients)
        chains = delivery.chains_for(recipients)
        with Drain(sqs, urls["send"]):  # warm both paths once (moto's partitions, the clients)
            _floor(dynamo, sqs, table_name, urls, segment_id, chains=chains)
            _ours(campaigns, segments, sqs, urls, segment_id)
        with Drain(sqs, urls["send"]) as drained:
            floor = _floor(dynamo, sqs, table_name, urls, segment_id, chains=chains)
            ours = _ours(campaigns, segments, sqs, urls, segment_id)
        messages = math.ceil(recipients / delivery.RECIPIENTS_PER_MESSAGE) if recipients else 0
        return {
            "recipients": recipients,
            "floor_s_per_10k": floor["seconds"] * 10_000 / recipients,
            "ours_s_per_10k": ours["seconds"] * 10_000 / recipients,
            "ratio": ours["seconds"] / floor["seconds"],
            "audience_counted": ours["audience"],
            "plan_steps": ours["plan_steps"],
            "chains": chains,
            "calls": {
                "start": {"calls": ours["start_calls"], "messages": chains},
                "batches": {
                    "calls": ours["batch_calls"],
                    "messages": messages,
                    "floor_calls": floor["batch_calls"],
                },
                "continuations": {"calls": ours["continuation_calls"]},
            },
            "drained_messages": drained.received,
        }
    finally:
        moto.stop()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench fanout", description=__doc__.splitlines()[0])
    parser.add_argument("--recipients", type=int, default=10_000, help="the audience (10,000)")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--check", action="store_true", help=f"exit 1 unless the ratio is at most {TARGET}")
    args = parser.parse_args(argv)
    result = run(args.recipients)
    calls = result["calls"]
    # Per level: the start queues 16 steps; the batches of each step go ten to a call. A step
    # whose page holds n batches needs ⌈n/10⌉ calls: the total may exceed ⌈all/10⌉ by one per step.
    bound = math.ceil(calls["start"]["messages"] / 10)
    ok = (
        result["ratio"] <= TARGET
        and result["audience_counted"] == args.recipients
        and calls["start"]["calls"] <= bound
        and calls["batches"]["calls"]
        <= math.ceil(calls["batches"]["messages"] / 10) + result["plan_steps"] - 1
    )
    if args.json:
        print(json.dumps(result))
    else:
        print(
            f"fanout: {args.recipients:,} recipients in {result['ours_s_per_10k']:.2f} s per 10k against "
            f"a raw query + SendMessageBatch floor at {result['floor_s_per_10k']:.2f} s: "
            f"x{result['ratio']:.2f} "
            f"(target at most {TARGET}); SQS calls: start {calls['start']['calls']} for "
            f"{calls['start']['messages']} chains (⌈n/10⌉ = {bound}), {result['plan_steps']} planner steps, "
            f"batches {calls['batches']['calls']} for "
            f"{calls['batches']['messages']} messages (floor {calls['batches']['floor_calls']}, "
            f"⌈n/10⌉ = {math.ceil(calls['batches']['messages'] / 10)}), continuations "
            f"{calls['continuations']['calls']}; audience counted {result['audience_counted']:,}"
        )
    return 1 if args.check and not ok else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
